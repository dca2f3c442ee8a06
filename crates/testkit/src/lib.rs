//! Test support for Gatehouse: spawn_app() on a random port, fixture keys, a stand-in OIDC provider. Its tests/ folder holds the HTTP integration suite.
