//! The HTTP integration suite: one binary, one module per resource. Every test starts its own
//! server with its own database (`gatehouse_testkit::spawn_app`), and most run on both SQLite
//! and PostgreSQL through `both_backends!`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test bodies run inside both_backends!, outside a #[test] fn as clippy sees it"
)]

mod admin_ops;
mod admin_rbac;
mod admin_users;
mod auth_login;
mod auth_pyjwt;
mod auth_refresh;
mod auth_session;
mod auth_signup;
mod errors;
mod gateway_caddy;
mod gateway_forward_auth;
mod gateway_issuers;
mod gateway_metrics;
mod gateway_nginx;
mod gateway_policies;
mod gateway_reload;
mod gateway_revocation;
mod gateway_session;
mod gateway_streaming;
mod gateway_support;
mod health;
mod oauth_introspect;
mod oauth_token;
mod well_known;
