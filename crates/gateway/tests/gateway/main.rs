//! The gateway crate against real sockets: a proxy in front of stand-in upstreams, and trusted
//! issuers whose keys come from a stand-in provider. Everything binds 127.0.0.1:0.

// Helpers outside `#[test]` functions panic on broken fixtures, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod issuers;
mod local;
mod proxy;
mod support;
