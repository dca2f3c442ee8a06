//! The Gatehouse HTTP server: axum app, handlers, extractors and the one place errors become HTTP responses.
//!
//! - [`Config`] is loaded and validated once ([`config`]); [`Server::build`] opens the store,
//!   binds the listener and builds the [`AppState`] (store, clock, key ring, auth service).
//! - [`routes::app`] assembles one router per resource (`routes/health.rs`, `routes/admin/…`).
//! - Handlers take [`extract::ApiJson`]/[`extract::ApiPath`]/[`extract::ApiQuery`] (their
//!   rejections are problem+json) and [`extract::AuthenticatedUser`] or
//!   [`extract::RequirePermission`] for the caller; they return [`ApiError`] on failure — the
//!   one type that becomes an error response.
//! - Time comes from the [`Clock`] in the state; [`SystemClock`] is the only reader of the
//!   wall clock.

pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod extract;
pub mod keys;
pub mod manage;
pub mod revocations;
pub mod routes;
mod server;
mod state;
pub mod web;
mod workers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use error::{ApiError, ProblemCode};
pub use server::{Server, shutdown_signal};
pub use state::{AppState, ReloadError, StartupError};
