//! The gateway's one error type.

/// Everything that can go wrong inside the gateway crate.
///
/// Configuration variants name the offending entry and say how to fix it; they are produced once,
/// when the configuration is loaded, so a bad route never reaches a request. The proxy variants
/// are typed outcomes the server maps to 502/504.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `[[routes]]` entry is invalid.
    #[error("routes[{index}] (path `{path}`): {problem}")]
    InvalidRoute {
        /// Position of the entry in the `routes` array (0-based).
        index: usize,
        /// The entry's `path` as written.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// An `[[issuers]]` entry is invalid.
    #[error("issuers `{name}`: {problem}")]
    InvalidIssuer {
        /// The entry's `name` as written.
        name: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The `[identity_headers]` section is invalid.
    #[error("identity_headers.{key}: {problem}")]
    InvalidIdentityHeaders {
        /// The offending key.
        key: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The upstream could not be reached (connection refused, DNS, reset before a response).
    #[error("upstream {upstream} is unreachable")]
    UpstreamDown {
        /// The upstream's origin (`http://host:port`).
        upstream: String,
        /// The underlying transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The upstream did not answer with response headers in time.
    #[error("upstream {upstream} did not respond within {timeout:?}")]
    UpstreamTimeout {
        /// The upstream's origin (`http://host:port`).
        upstream: String,
        /// The read timeout that elapsed.
        timeout: std::time::Duration,
    },
    /// The upstream answered, but not with a valid HTTP response (reset mid-headers, …).
    #[error("upstream {upstream} failed")]
    UpstreamFailed {
        /// The upstream's origin (`http://host:port`).
        upstream: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request could not be turned into an upstream request (e.g. an invalid URI).
    #[error("the request cannot be forwarded: {0}")]
    BadForward(String),
    /// Fetching a JWK Set or discovery document failed.
    #[error("fetching keys for issuer `{issuer}` failed: {problem}")]
    KeyFetch {
        /// The trusted issuer's configured name.
        issuer: String,
        /// What went wrong (transport error, status, invalid JSON); never contains secrets.
        problem: String,
    },
}

impl Error {
    /// The configuration key a configuration error belongs to (`routes`, `issuers`,
    /// `identity_headers`); `None` for run-time errors.
    pub fn config_key(&self) -> Option<&'static str> {
        match self {
            Self::InvalidRoute { .. } => Some("routes"),
            Self::InvalidIssuer { .. } => Some("issuers"),
            Self::InvalidIdentityHeaders { .. } => Some("identity_headers"),
            _ => None,
        }
    }
}
