//! The web UI suite: HTTP-level tests of sessions, CSRF and headers (`web_http`), and the
//! browser suite (`browser`), which drives headless Chromium through chromedriver. Every test
//! starts its own server, database and (for browser tests) its own Chromium profile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test bodies: a failed step must fail the test with its reason"
)]

mod browser;
mod support;
mod web_http;
