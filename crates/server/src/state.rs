//! [`AppState`]: everything a handler needs, built once from the config and shared by `Arc`.
//!
//! No globals: the store, keys, clock and config reach handlers only through this state, so a
//! test can build an app with its own database and a clock it controls.

use std::num::NonZeroUsize;
use std::sync::Arc;

use gatehouse_auth::{Auth, AuthConfig, HashingConfig, PasswordHasher};
use gatehouse_store::{NewAuditEvent, Store, StoreError};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::{Config, PublicUrl, SignupMode};
use crate::keys::{KeyRing, KeyRingError, KeyRingSettings};
use crate::routes::gateway::GatewayService;
use crate::web::WebContext;

/// Why the state could not be built at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The signing keys could not be loaded or created.
    #[error("loading the signing keys failed")]
    Keys(#[from] KeyRingError),
    /// The password hasher refused its parameters.
    #[error("setting up password hashing failed")]
    Auth(#[from] gatehouse_auth::AuthError),
    /// The database could not be opened or migrated.
    #[error("opening the database {url} failed")]
    Store {
        /// The database URL, password hidden.
        url: String,
        /// The store's error.
        source: gatehouse_store::StoreError,
    },
    /// The gateway configuration was refused (normally caught when the config is loaded).
    #[error("setting up the gateway failed")]
    Gateway(#[from] gatehouse_gateway::Error),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The web UI's cookie key could not be loaded or generated.
    #[error("setting up the web UI failed")]
    Web(#[from] crate::web::WebKeyError),
    /// The SQLite database's directory could not be created.
    #[error("cannot create the data directory {}", path.display())]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why a configuration reload (SIGHUP) was refused; the running gateway is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The configuration was built in code, not loaded from a file: nothing to re-read.
    #[error("the configuration was not loaded with Config::load; nothing to reload")]
    NoSource,
    /// The file (or environment) no longer gives a valid configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The gateway refused the new sections.
    #[error("the new gateway configuration was refused")]
    Gateway(#[from] gatehouse_gateway::Error),
}

/// The shared application state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    public_url: PublicUrl,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyRing>,
    auth: Auth,
    gateway: Arc<GatewayService>,
    web: Arc<WebContext>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.inner.public_url)
            .field("backend", &self.inner.store.backend())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state over an open store: loads (or creates) the signing keys and sets up the
    /// auth service. `public_url` is the issuer (the configured one, or derived from the bound
    /// address).
    pub async fn build(
        config: Config,
        public_url: PublicUrl,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let now = clock.now();
        let settings = KeyRingSettings::from_config(&config.tokens, public_url.issuer());
        let keys = Arc::new(KeyRing::load(Arc::clone(&store), settings, now).await?);
        let auth = build_auth(&config, &public_url, Arc::clone(&store))?;
        let web = WebContext::build(&config, store.as_ref()).await?;
        let gateway = Arc::new(GatewayService::build(
            &config,
            public_url.issuer(),
            Arc::clone(&keys),
            auth.clone(),
        )?);
        // Start-up never waits for (or fails on) an identity provider.
        let prefetch = Arc::clone(&gateway);
        tokio::spawn(async move { prefetch.current().gateway().prefetch_keys().await });
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                public_url,
                store,
                clock,
                keys,
                auth,
                gateway,
                web,
            }),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The public base URL; its string form is the token issuer.
    pub fn public_url(&self) -> &PublicUrl {
        &self.inner.public_url
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The current time, from the state's clock. Handlers pass this `now` down.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// The signing-key ring.
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.inner.keys
    }

    /// The gateway (routes, authenticators, proxy).
    pub fn gateway(&self) -> &GatewayService {
        &self.inner.gateway
    }

    /// Re-reads the configuration from where it was loaded (file, `env`, the original flags),
    /// validates all of it, and on success replaces the gateway: `[[routes]]`, `[[issuers]]`,
    /// `[identity_headers]`, `[proxy]` and `[cors]`. Requests in flight finish on the old
    /// gateway. On error nothing changes. Other sections need a restart. SIGHUP calls this
    /// (see [`crate::Server::run`]). Must run inside the Tokio runtime (keys are fetched in a task).
    pub fn reload_gateway(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ReloadError> {
        let source = self.inner.config.source().ok_or(ReloadError::NoSource)?;
        let config = Config::load(source.file.as_deref(), env, &source.flags)?;
        let live = self.inner.gateway.replace(&config)?;
        tracing::info!(
            routes = live.gateway().routes().len(),
            issuers = live.gateway().key_caches().len(),
            "gateway configuration reloaded"
        );
        // As at start-up: the new issuers' keys arrive in the background.
        tokio::spawn(async move { live.gateway().prefetch_keys().await });
        Ok(())
    }

    /// Accounts, passwords, sessions and token issuance.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The web UI: cookie key, browser sessions, OIDC providers.
    pub fn web(&self) -> &WebContext {
        &self.inner.web
    }

    /// Appends an audit event and writes it as a structured log line. `details` must never hold
    /// a password, secret or token.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<String>,
        ip: Option<String>,
        details: Value,
    ) -> Result<(), StoreError> {
        tracing::info!(
            target: "gatehouse::audit",
            action,
            actor,
            target = target.as_deref(),
            ip = ip.as_deref(),
            details = %details,
            "audit"
        );
        self.inner
            .store
            .append_audit(NewAuditEvent {
                at: self.now(),
                actor: actor.to_owned(),
                action: action.to_owned(),
                target,
                ip,
                details,
            })
            .await?;
        Ok(())
    }
}

fn build_auth(
    config: &Config,
    public_url: &PublicUrl,
    store: Arc<dyn Store>,
) -> Result<Auth, StartupError> {
    let t = &config.tokens;
    let mut auth_config = AuthConfig::new(public_url.issuer(), vec![t.audience.clone()]);
    auth_config.access_token_ttl = t.access_ttl.get();
    auth_config.refresh_token_ttl = t.refresh_ttl.get();
    auth_config.refresh_grace = t.refresh_grace.get();
    auth_config.signup = match config.signup.mode {
        SignupMode::Open => gatehouse_auth::SignupMode::Open,
        SignupMode::Closed => gatehouse_auth::SignupMode::Closed,
    };
    auth_config.default_roles = config.signup.default_roles.clone();

    let p = &config.passwords;
    let hasher = PasswordHasher::new(&HashingConfig {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
        max_concurrent: NonZeroUsize::new(p.max_concurrent_hashes).unwrap_or(NonZeroUsize::MIN),
    })?;
    Ok(Auth::new(store, auth_config, hasher))
}
