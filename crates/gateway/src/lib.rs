//! The Gatehouse gateway pipeline: match a route, authenticate, authorize, mutate identity headers, proxy. Typed outcomes, no status codes.
//!
//! Data flows one way through small, separately tested stages:
//!
//! 1. [`route::RouteTable`] — the configured routes, validated at load time; deny by default.
//! 2. authenticate — a Bearer token verified by Gatehouse itself (through the
//!    [`LocalTokens`] trait the server implements, so this crate needs no store) or by a
//!    [`issuer::TrustedIssuer`] whose keys come from [`jwks::KeyCache`]; the outcome is a
//!    [`Subject`] or a [`Denial`]. A Gatehouse token's revocation check is re-used only while
//!    the [`RevocationFeed`] says no revocation can have been missed.
//! 3. authorize — [`policy::Policy::authorize`] names what is missing.
//! 4. mutate — [`headers::IdentityHeaders`] strips client identity headers and writes the
//!    subject's.
//! 5. proxy — [`proxy::Proxy`] streams the request to the upstream.
//!
//! The server maps each outcome to HTTP; nothing here knows a status code.

pub mod authn;
pub mod cache;
pub mod config;
pub mod denial;
pub mod error;
pub mod gateway;
pub mod headers;
pub mod issuer;
pub mod jwks;
pub mod metrics;
pub mod policy;
mod pool;
pub mod proxy;
pub mod revocation;
pub mod route;
pub mod subject;
pub mod unverified;
pub mod upstream_token;

pub use authn::{Authentication, LocalToken, LocalTokens};
pub use denial::Denial;
pub use error::Error;
pub use gateway::{Decision, Gateway};
pub use revocation::RevocationFeed;
pub use subject::{Caller, IssuerName, Subject};
