//! Integration tests of the `gatehouse` binary: every command and exit-code path, and interop
//! with independent JWT implementations (PyJWT, joserfc). One test binary, modules by topic.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod inspect;
mod interop;
mod jwks_url;
mod keys;
mod operators;
mod sign_verify;
mod support;
