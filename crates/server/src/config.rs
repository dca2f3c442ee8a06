//! The typed configuration of `gatehouse serve`, loaded once at start-up and validated there.
//!
//! Sources, lowest precedence first: built-in defaults, the TOML file (`--config`), environment
//! variables `GATEHOUSE_<SECTION>__<KEY>` (nested keys joined by `__`), and the command-line
//! flags `--listen`, `--database-url`, `--public-url`. Every value is checked here, so a wrong or
//! weak setting stops start-up with a message naming the key and the fix, and the rest of the
//! server can trust what it receives. `docs/config.md` is the reference for every key.

pub mod gateway;
pub mod web;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

/// Prefix of the environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "GATEHOUSE_";

/// Environment variables that start with [`ENV_PREFIX`] but are not configuration keys.
/// Everything else with the prefix must name a key, so a misspelt override is an error
/// instead of being silently ignored.
const ENV_NOT_CONFIG: &[&str] = &["GATEHOUSE_CONFIG", "GATEHOUSE_LOG"];
/// Prefix of environment variables used by the test suites (e.g. `GATEHOUSE_TEST_POSTGRES_URL`).
const ENV_TEST_PREFIX: &str = "GATEHOUSE_TEST_";

/// The whole configuration. Build it with [`Config::load`] (or [`Config::from_toml_str`]); a
/// value of this type has passed validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Listening address, public URL and HTTP limits.
    pub server: ServerConfig,
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// Access and refresh tokens, and the signing key.
    pub tokens: TokenConfig,
    /// Self-service sign-up.
    pub signup: SignupConfig,
    /// Password hashing.
    pub passwords: PasswordConfig,
    /// Log output.
    pub log: LogConfig,
    /// Gateway routes (`[[routes]]`), see [`gateway`].
    pub routes: Vec<gateway::RouteConfig>,
    /// Trusted external token issuers (`[[issuers]]`).
    pub issuers: Vec<gateway::IssuerConfig>,
    /// Identity headers sent to upstreams.
    pub identity_headers: gateway::IdentityHeadersConfig,
    /// Upstream connection settings.
    pub proxy: gateway::ProxyConfig,
    /// Cross-origin access for browser clients.
    pub cors: gateway::CorsConfig,
    /// The Prometheus endpoint `GET /metrics`.
    pub metrics: gateway::MetricsConfig,
    /// The browser UI and single sign-on (`[web]`), see [`web`].
    pub web: web::WebConfig,
    /// Where [`Config::load`] read this from, so SIGHUP can read it again (`None`: built in
    /// code, nothing to reload).
    #[serde(skip)]
    source: Option<ConfigSource>,
}

/// The inputs of [`Config::load`] besides the environment: the file and the flags.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The configuration file, if any.
    pub file: Option<PathBuf>,
    /// The command-line flags.
    pub flags: FlagOverrides,
}

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The externally visible base URL; it is the `iss` of every token Gatehouse signs.
    /// Default: `http://<listen>`.
    pub public_url: Option<PublicUrl>,
    /// Largest accepted JSON request body, in bytes. Default 64 KiB.
    pub body_limit_bytes: usize,
    /// Time a request may take before it is answered with 408/503. Default 30 s.
    pub request_timeout: ConfigDuration,
    /// Time in-flight requests get to finish after SIGTERM/Ctrl-C. Default 10 s.
    pub shutdown_grace: ConfigDuration,
    /// Serving threads, each with its own runtime (thread-per-core). Default: one per CPU.
    pub workers: Option<std::num::NonZeroUsize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            body_limit_bytes: 64 * 1024,
            request_timeout: ConfigDuration::from_secs(30),
            shutdown_grace: ConfigDuration::from_secs(10),
            workers: None,
        }
    }
}

impl ServerConfig {
    /// The public URL, or `http://<listen>` when none is configured. `listen` is the address
    /// actually bound (it differs from the configured one when that had port 0).
    pub fn public_url_or(&self, listen: SocketAddr) -> PublicUrl {
        self.public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::from_socket_addr(listen))
    }

    /// The number of serving threads: `workers`, or one per CPU the process may use.
    pub fn worker_count(&self) -> std::num::NonZeroUsize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN)
        })
    }
}

/// `[database]`: the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`. Default `sqlite://./gatehouse-data/gatehouse.db`.
    pub url: DatabaseUrl,
    /// How often the gateway reads the shared revocation log (PostgreSQL also pushes each
    /// revocation at once). A revocation made on another instance sharing a SQLite file is
    /// seen within this; the gateway re-uses passed revocation checks only while a read
    /// succeeded within twice this. Default 500 ms.
    pub revocation_poll: ConfigDuration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DatabaseUrl(String::from("sqlite://./gatehouse-data/gatehouse.db")),
            revocation_poll: ConfigDuration::from_millis(500),
        }
    }
}

/// `[tokens]`: lifetimes, audience and the signing algorithm of the tokens Gatehouse issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenConfig {
    /// Algorithm of the signing key. Default ES256 (a key generated on first start and kept in
    /// the database); HS* algorithms use `hmac_secret` instead.
    pub algorithm: SigningAlgorithm,
    /// Shared secret for HS256/HS384/HS512: at least 32/48/64 bytes.
    pub hmac_secret: Option<SecretString>,
    /// The `aud` of access tokens. Default `gatehouse`.
    pub audience: String,
    /// Access-token lifetime. Default 15 min.
    pub access_ttl: ConfigDuration,
    /// Refresh-token lifetime. Default 30 days.
    pub refresh_ttl: ConfigDuration,
    /// How long a just-rotated refresh token may be presented again and get the same child
    /// (two tabs refreshing at once). Default 10 s.
    pub refresh_grace: ConfigDuration,
    /// Clock skew tolerated when checking `exp`/`nbf`. Default 60 s.
    pub leeway: ConfigDuration,
    /// How often each instance re-reads the signing keys from the database. Default 60 s.
    pub key_reload_interval: ConfigDuration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            algorithm: SigningAlgorithm::Es256,
            hmac_secret: None,
            audience: String::from("gatehouse"),
            access_ttl: ConfigDuration::from_secs(15 * 60),
            refresh_ttl: ConfigDuration::from_secs(30 * 24 * 3600),
            refresh_grace: ConfigDuration::from_secs(10),
            leeway: ConfigDuration::from_secs(60),
            key_reload_interval: ConfigDuration::from_secs(60),
        }
    }
}

/// Algorithms Gatehouse can sign its own tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// ECDSA P-256 (the default).
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA P-384.
    #[serde(rename = "ES384")]
    Es384,
    /// RSA PKCS#1 v1.5 with SHA-256 (2048-bit key).
    #[serde(rename = "RS256")]
    Rs256,
    /// RSA-PSS with SHA-256 (2048-bit key).
    #[serde(rename = "PS256")]
    Ps256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC SHA-256 with `tokens.hmac_secret`.
    #[serde(rename = "HS256")]
    Hs256,
    /// HMAC SHA-384 with `tokens.hmac_secret`.
    #[serde(rename = "HS384")]
    Hs384,
    /// HMAC SHA-512 with `tokens.hmac_secret`.
    #[serde(rename = "HS512")]
    Hs512,
}

impl SigningAlgorithm {
    /// The JOSE name (`"ES256"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }

    /// The minimum HMAC secret length in bytes (the hash length, RFC 7518 3.2), or `None` for
    /// asymmetric algorithms.
    pub fn hmac_min_secret_len(self) -> Option<usize> {
        match self {
            Self::Hs256 => Some(32),
            Self::Hs384 => Some(48),
            Self::Hs512 => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[signup]`: who may create accounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SignupConfig {
    /// `open`: anyone may sign up; `closed`: only administrators create accounts.
    pub mode: SignupMode,
    /// Roles every new account gets. Default `["user"]`.
    pub default_roles: Vec<String>,
}

impl Default for SignupConfig {
    fn default() -> Self {
        Self {
            mode: SignupMode::Open,
            default_roles: vec![String::from("user")],
        }
    }
}

/// Whether `POST /auth/signup` is open to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupMode {
    /// Anyone may sign up.
    Open,
    /// Only administrators create accounts.
    Closed,
}

/// `[passwords]`: Argon2id parameters and the hashing pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// Argon2id memory in KiB. Default 19456 (19 MiB, OWASP).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations. Default 2.
    pub argon2_iterations: u32,
    /// Argon2id lanes. Default 1.
    pub argon2_parallelism: u32,
    /// Hashes computed at once; more wait, so a login flood cannot starve other requests.
    /// Default 2.
    pub max_concurrent_hashes: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 2,
        }
    }
}

/// `[log]`: log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogConfig {
    /// `text` (default) or `json` (one object a line).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `gatehouse_server=debug,info`. The `GATEHOUSE_LOG`
    /// environment variable wins over it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: String::from("info"),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// A duration written as a humantime string (`"15m"`, `"30d"`, `"10s"`, `"1h 30m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigDuration(Duration);

impl ConfigDuration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// The duration as a [`time::Duration`], for arithmetic on timestamps.
    pub fn as_time(self) -> time::Duration {
        // Durations come from config and are far below i64::MAX seconds; saturate anyway.
        time::Duration::try_from(self.0).unwrap_or(time::Duration::MAX)
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map(Self).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration; write a number and a unit, such as \"10s\", \"15m\", \"12h\" or \"30d\""
            ))
        })
    }
}

/// The externally visible base URL of Gatehouse (`http` or `https`, no query or fragment).
/// Its string form without a trailing slash is the token issuer.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl(Url);

impl PublicUrl {
    /// `http://<addr>`.
    #[allow(
        clippy::expect_used,
        reason = "a formatted SocketAddr is always a valid host:port"
    )]
    pub fn from_socket_addr(addr: SocketAddr) -> Self {
        Self(Url::parse(&format!("http://{addr}")).expect("socket address forms a URL"))
    }

    /// The issuer string: the URL without a trailing slash, e.g. `https://auth.example.com`.
    pub fn issuer(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The URL of `path` (which starts with `/`) under this base.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// Whether the URL uses https (cookies get `Secure`, HSTS is sent).
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = Url::parse(s).map_err(|e| {
            format!("`{s}` is not a URL ({e}); write it like \"https://auth.example.com\"")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{s}` must start with http:// or https://"));
        }
        if url.host_str().is_none() {
            return Err(format!("`{s}` has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{s}` must not have a query or fragment"));
        }
        Ok(Self(url))
    }
}

impl<'de> Deserialize<'de> for PublicUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.issuer())
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUrl({})", self.issuer())
    }
}

/// A database URL: `sqlite://PATH` or `postgres://…` / `postgresql://…`. `Display` and `Debug`
/// hide a password in it, so the URL can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The full URL, password included: pass it to the store, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is a SQLite URL.
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// For `sqlite://PATH`, the database file's path (`None` for in-memory databases).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .0
            .strip_prefix("sqlite://")
            .or_else(|| self.0.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // set_password only fails for URLs that cannot have one, which is not this case.
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok_scheme = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| s.starts_with(p));
        if !ok_scheme {
            return Err(format!(
                "`{}` is not a database URL; use \"sqlite://./gatehouse-data/gatehouse.db\" or \"postgres://user@host/db\"",
                Self(s.to_owned()).redacted()
            ));
        }
        if !s.starts_with("sqlite:") {
            Url::parse(s).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
        }
        Ok(Self(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// Values given as command-line flags; they win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct FlagOverrides {
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--database-url URL`.
    pub database_url: Option<String>,
    /// `--public-url URL`.
    pub public_url: Option<String>,
}

/// Why the configuration was refused. Every message names the key (or file) and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not TOML.
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An environment variable with the `GATEHOUSE_` prefix does not name a key.
    #[error(
        "environment variable {var} does not name a config key; write GATEHOUSE_<SECTION>__<KEY>, e.g. GATEHOUSE_TOKENS__ACCESS_TTL (see docs/config.md)"
    )]
    BadEnvVar {
        /// The variable's name.
        var: String,
    },
    /// A key has a wrong, unknown or weak value.
    #[error("config key `{key}`{origin}: {message}")]
    Invalid {
        /// Dotted key path, e.g. `tokens.access_ttl`.
        key: String,
        /// Where the value came from (` (from environment variable …)`), or empty.
        origin: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, when it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

impl Config {
    /// Loads the configuration: defaults, then `file` (if any), then `GATEHOUSE_…` variables
    /// from `env`, then `flags`; deserializes and validates it.
    ///
    /// `env` is a parameter (pass `std::env::vars()`) so tests need not touch the process
    /// environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &FlagOverrides,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Syntax {
                        path: path.to_owned(),
                        message: e.to_string().trim_end().to_owned(),
                    })?
            }
            None => toml::Table::new(),
        };
        let mut origins = BTreeMap::new();

        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (var, raw) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if ENV_NOT_CONFIG.contains(&var.as_str()) || var.starts_with(ENV_TEST_PREFIX) {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::BadEnvVar { var });
            }
            let key = path.join(".");
            set_path(&mut table, &path, env_value(&raw)).map_err(|message| {
                invalid(&key, &format!("environment variable {var}"), message)
            })?;
            origins.insert(key, format!("environment variable {var}"));
        }

        let flag_values = [
            ("server.listen", "--listen", &flags.listen),
            ("database.url", "--database-url", &flags.database_url),
            ("server.public_url", "--public-url", &flags.public_url),
        ];
        for (key, flag, value) in flag_values {
            if let Some(value) = value {
                let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                set_path(&mut table, &path, toml::Value::String(value.clone()))
                    .map_err(|message| invalid(key, &format!("flag {flag}"), message))?;
                origins.insert(key.to_owned(), format!("flag {flag}"));
            }
        }

        let mut config = Self::from_table(table, &origins)?;
        config.source = Some(ConfigSource {
            file: file.map(Path::to_owned),
            flags: flags.clone(),
        });
        Ok(config)
    }

    /// Where this configuration was loaded from (`None` when it was built in code).
    pub fn source(&self) -> Option<&ConfigSource> {
        self.source.as_ref()
    }

    /// Records where this configuration comes from, for a reload (tests build a config in
    /// code and point it at a file).
    pub fn set_source(&mut self, source: ConfigSource) {
        self.source = Some(source);
    }

    /// Parses and validates a TOML document, without environment or flags.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Syntax {
                path: PathBuf::from("<inline>"),
                message: e.to_string().trim_end().to_owned(),
            })?;
        Self::from_table(table, &BTreeMap::new())
    }

    fn from_table(
        table: toml::Table,
        origins: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let config: Config = serde_path_to_error::deserialize(table).map_err(|e| {
            let key = e.path().to_string();
            let message = explain_serde(&key, e.inner());
            let origin = origins.get(&key).map(String::as_str).unwrap_or("");
            invalid(&key, origin, message)
        })?;
        config.validate().map_err(|(key, message)| {
            let origin = origins.get(key).map(String::as_str).unwrap_or("");
            invalid(key, origin, message)
        })?;
        Ok(config)
    }

    /// Checks what the types alone cannot: combinations and weak values.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        gateway::validate(self)?;
        web::validate(self)?;
        let t = &self.tokens;
        match (t.algorithm.hmac_min_secret_len(), &t.hmac_secret) {
            (Some(min), None) => {
                return Err((
                    "tokens.hmac_secret",
                    format!(
                        "tokens.algorithm = \"{}\" needs a secret of at least {min} bytes; set tokens.hmac_secret (e.g. `openssl rand -base64 48`) or use algorithm \"ES256\"",
                        t.algorithm
                    ),
                ));
            }
            (Some(min), Some(secret)) if secret.expose_secret().len() < min => {
                return Err((
                    "tokens.hmac_secret",
                    format!(
                        "the secret is {} bytes; {} needs at least {min} random bytes (e.g. `openssl rand -base64 48`)",
                        secret.expose_secret().len(),
                        t.algorithm
                    ),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "tokens.hmac_secret",
                    format!(
                        "is only used with HS256/HS384/HS512 but tokens.algorithm is \"{}\"; remove it or change the algorithm",
                        t.algorithm
                    ),
                ));
            }
            _ => {}
        }
        if t.audience.trim().is_empty() {
            return Err(("tokens.audience", String::from("must not be empty")));
        }
        if t.access_ttl.get() < Duration::from_secs(10)
            || t.access_ttl.get() > Duration::from_secs(24 * 3600)
        {
            return Err((
                "tokens.access_ttl",
                format!(
                    "{} is out of range; use between 10s and 24h (default 15m)",
                    t.access_ttl
                ),
            ));
        }
        if t.refresh_ttl <= t.access_ttl {
            return Err((
                "tokens.refresh_ttl",
                format!(
                    "{} must be longer than tokens.access_ttl ({}); the default is 30d",
                    t.refresh_ttl, t.access_ttl
                ),
            ));
        }
        if t.refresh_grace.get() > Duration::from_secs(120) {
            return Err((
                "tokens.refresh_grace",
                format!(
                    "{} is too long: a stolen refresh token could be replayed for that long; use at most 2m (default 10s)",
                    t.refresh_grace
                ),
            ));
        }
        if t.leeway.get() > Duration::from_secs(300) {
            return Err((
                "tokens.leeway",
                format!("{} is too long; use at most 5m (default 60s)", t.leeway),
            ));
        }
        let poll = self.database.revocation_poll.get();
        if poll < gatehouse_store::MIN_POLL_INTERVAL || poll > Duration::from_secs(10) {
            return Err((
                "database.revocation_poll",
                format!(
                    "{} is out of range; use between 10ms and 10s (default 500ms): it bounds how late another instance's revocation is seen",
                    self.database.revocation_poll
                ),
            ));
        }
        if t.key_reload_interval.get() < Duration::from_secs(1) {
            return Err((
                "tokens.key_reload_interval",
                String::from("use at least 1s (default 60s)"),
            ));
        }
        let p = &self.passwords;
        if p.argon2_memory_kib < 7168 {
            return Err((
                "passwords.argon2_memory_kib",
                format!(
                    "{} KiB is weaker than OWASP's minimum; use at least 7168 (default 19456)",
                    p.argon2_memory_kib
                ),
            ));
        }
        if p.argon2_iterations == 0 {
            return Err((
                "passwords.argon2_iterations",
                String::from("must be at least 1 (default 2)"),
            ));
        }
        if p.argon2_parallelism == 0 {
            return Err((
                "passwords.argon2_parallelism",
                String::from("must be at least 1 (default 1)"),
            ));
        }
        if p.max_concurrent_hashes == 0 {
            return Err((
                "passwords.max_concurrent_hashes",
                String::from("must be at least 1 (default 2)"),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err((
                "server.body_limit_bytes",
                String::from("must be at least 1024 (default 65536)"),
            ));
        }
        if self.server.request_timeout.get().is_zero() {
            return Err((
                "server.request_timeout",
                String::from("must be more than 0s (default 30s)"),
            ));
        }
        if let Some(role) = self
            .signup
            .default_roles
            .iter()
            .find(|r| r.trim().is_empty())
        {
            return Err((
                "signup.default_roles",
                format!("contains an empty role name {role:?}"),
            ));
        }
        Ok(())
    }
}

fn invalid(key: &str, origin: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: if key.is_empty() || key == "." {
            String::from("<root>")
        } else {
            key.to_owned()
        },
        origin: if origin.is_empty() {
            String::new()
        } else {
            format!(" (from {origin})")
        },
        message,
    }
}

/// Rewrites serde's message into one that says how to fix it.
fn explain_serde(key: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end().to_owned();
    if message.starts_with("unknown field") {
        format!(
            "{message}; this key does not exist here: fix its spelling or remove it (see docs/config.md)"
        )
    } else if message.starts_with("unknown variant") {
        format!("{message}; use one of the listed values")
    } else if message.starts_with("invalid type") && !key.is_empty() {
        format!("{message}; check the value's type in docs/config.md")
    } else {
        message
    }
}

/// Sets a nested key in a TOML table, creating intermediate tables.
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err(String::from("empty key"));
    };
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(format!("`{part}` is not a section")),
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// An environment value is read as a TOML value when it is one (`8080`, `true`, `["a", "b"]`,
/// `"quoted"`), and as a plain string otherwise (`15m`, `postgres://…`).
fn env_value(raw: &str) -> toml::Value {
    let document = format!("v = {raw}");
    match document.parse::<toml::Table>() {
        Ok(mut table) => match table.remove("v") {
            Some(
                value @ (toml::Value::Integer(_)
                | toml::Value::Float(_)
                | toml::Value::Boolean(_)
                | toml::Value::Array(_)
                | toml::Value::String(_)),
            ) => value,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml_text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.toml");
        std::fs::write(&path, toml_text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), env, &FlagOverrides::default())
    }

    fn error_text(result: Result<Config, ConfigError>) -> (Option<String>, String) {
        let error = result.unwrap_err();
        (error.key().map(str::to_owned), error.to_string())
    }

    #[test]
    fn no_config_gives_the_documented_defaults() {
        let config = Config::load(None, Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            config.database.url.expose(),
            "sqlite://./gatehouse-data/gatehouse.db"
        );
        assert_eq!(config.tokens.algorithm, SigningAlgorithm::Es256);
        assert_eq!(config.tokens.access_ttl.get(), Duration::from_secs(900));
        assert_eq!(
            config.tokens.refresh_ttl.get(),
            Duration::from_secs(30 * 86400)
        );
        assert_eq!(config.tokens.refresh_grace.get(), Duration::from_secs(10));
        assert_eq!(config.signup.mode, SignupMode::Open);
        assert_eq!(config.signup.default_roles, vec!["user".to_owned()]);
        let public = config.server.public_url_or(config.server.listen);
        assert_eq!(public.issuer(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_file_sets_nested_keys_with_humantime_durations() {
        let config = load(
            "[tokens]\naccess_ttl = \"5m\"\nrefresh_ttl = \"7d\"\n[server]\npublic_url = \"https://auth.example.com/\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.tokens.access_ttl.get(), Duration::from_secs(300));
        assert_eq!(
            config.tokens.refresh_ttl.get(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            config.server.public_url.unwrap().issuer(),
            "https://auth.example.com"
        );
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "[tokens]\naccess_ttl = \"5m\"\n[server]\nlisten = \"0.0.0.0:1\"\n",
        )
        .unwrap();
        let env = vec![
            ("GATEHOUSE_TOKENS__ACCESS_TTL".to_owned(), "20m".to_owned()),
            (
                "GATEHOUSE_SIGNUP__DEFAULT_ROLES".to_owned(),
                "[\"a\", \"b\"]".to_owned(),
            ),
            (
                "GATEHOUSE_SERVER__LISTEN".to_owned(),
                "0.0.0.0:2".to_owned(),
            ),
            (
                "GATEHOUSE_TEST_POSTGRES_URL".to_owned(),
                "ignored".to_owned(),
            ),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let flags = FlagOverrides {
            listen: Some("127.0.0.1:3".to_owned()),
            ..FlagOverrides::default()
        };
        let config = Config::load(Some(&path), env, &flags).unwrap();
        assert_eq!(config.tokens.access_ttl.get(), Duration::from_secs(1200));
        assert_eq!(
            config.signup.default_roles,
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(config.server.listen, "127.0.0.1:3".parse().unwrap());
    }

    #[test]
    fn an_hmac_secret_under_32_bytes_is_refused_naming_the_key() {
        let (key, text) = error_text(load(
            "[tokens]\nalgorithm = \"HS256\"\nhmac_secret = \"short\"\n",
            &[],
        ));
        assert_eq!(key.as_deref(), Some("tokens.hmac_secret"));
        assert!(text.contains("at least 32"), "{text}");
        assert!(
            !text.contains("short"),
            "the secret must not be echoed: {text}"
        );
    }

    #[test]
    fn an_hmac_algorithm_without_a_secret_is_refused() {
        let (key, _) = error_text(load("[tokens]\nalgorithm = \"HS256\"\n", &[]));
        assert_eq!(key.as_deref(), Some("tokens.hmac_secret"));
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it() {
        let (key, text) = error_text(load("[tokens]\nacess_ttl = \"5m\"\n", &[]));
        assert_eq!(key.as_deref(), Some("tokens.acess_ttl"), "{text}");
        assert!(text.contains("fix its spelling or remove it"), "{text}");
    }

    #[test]
    fn an_unknown_section_is_refused_naming_it() {
        let (key, _) = error_text(load("[tokenz]\naccess_ttl = \"5m\"\n", &[]));
        assert_eq!(key.as_deref(), Some("tokenz"));
    }

    #[test]
    fn a_bad_duration_is_refused_with_an_example() {
        let (key, text) = error_text(load("[tokens]\naccess_ttl = \"fifteen minutes\"\n", &[]));
        assert_eq!(key.as_deref(), Some("tokens.access_ttl"));
        assert!(text.contains("\"15m\""), "{text}");
    }

    #[test]
    fn a_bad_env_value_names_the_variable() {
        let (key, text) = error_text(load("", &[("GATEHOUSE_TOKENS__REFRESH_GRACE", "soon")]));
        assert_eq!(key.as_deref(), Some("tokens.refresh_grace"));
        assert!(text.contains("GATEHOUSE_TOKENS__REFRESH_GRACE"), "{text}");
    }

    #[test]
    fn a_misspelt_env_variable_is_refused() {
        let (key, text) = error_text(load("", &[("GATEHOUSE_TOKENS__ACESS_TTL", "5m")]));
        assert_eq!(key.as_deref(), Some("tokens.acess_ttl"));
        assert!(text.contains("GATEHOUSE_TOKENS__ACESS_TTL"), "{text}");
    }

    #[test]
    fn a_bad_public_url_is_refused() {
        let (key, _) = error_text(load("[server]\npublic_url = \"ftp://x\"\n", &[]));
        assert_eq!(key.as_deref(), Some("server.public_url"));
        let (key, _) = error_text(load("[server]\npublic_url = \"not a url\"\n", &[]));
        assert_eq!(key.as_deref(), Some("server.public_url"));
    }

    #[test]
    fn a_bad_database_url_is_refused_without_its_password() {
        let (key, text) = error_text(load("[database]\nurl = \"mysql://u:hunter2@h/db\"\n", &[]));
        assert_eq!(key.as_deref(), Some("database.url"));
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_database_url_hides_its_password_when_printed() {
        let url: DatabaseUrl = "postgres://gh:hunter2@db/gatehouse".parse().unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert!(url.expose().contains("hunter2"));
    }

    #[test]
    fn weak_argon2_parameters_are_refused() {
        let (key, _) = error_text(load("[passwords]\nargon2_memory_kib = 1024\n", &[]));
        assert_eq!(key.as_deref(), Some("passwords.argon2_memory_kib"));
    }

    #[test]
    fn a_refresh_ttl_not_longer_than_the_access_ttl_is_refused() {
        let (key, _) = error_text(load(
            "[tokens]\naccess_ttl = \"1h\"\nrefresh_ttl = \"30m\"\n",
            &[],
        ));
        assert_eq!(key.as_deref(), Some("tokens.refresh_ttl"));
    }

    #[test]
    fn the_revocation_poll_defaults_to_half_a_second_and_is_bounded() {
        let config = Config::load(None, Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(
            config.database.revocation_poll.get(),
            Duration::from_millis(500)
        );
        let config = load("[database]\nrevocation_poll = \"250ms\"\n", &[]).unwrap();
        assert_eq!(
            config.database.revocation_poll.get(),
            Duration::from_millis(250)
        );
        for bad in ["1ms", "0s", "1m"] {
            let (key, text) = error_text(load(
                &format!("[database]\nrevocation_poll = \"{bad}\"\n"),
                &[],
            ));
            assert_eq!(key.as_deref(), Some("database.revocation_poll"), "{bad}");
            assert!(text.contains("between 10ms and 10s"), "{text}");
        }
        let from_env = load("", &[("GATEHOUSE_DATABASE__REVOCATION_POLL", "2s")]).unwrap();
        assert_eq!(
            from_env.database.revocation_poll.get(),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn workers_default_to_one_per_cpu_and_zero_is_refused() {
        let config = Config::load(None, Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(
            config.server.worker_count(),
            std::thread::available_parallelism().unwrap()
        );
        let config = load("", &[("GATEHOUSE_SERVER__WORKERS", "3")]).unwrap();
        assert_eq!(config.server.worker_count().get(), 3);
        let (key, text) = error_text(load("[server]\nworkers = 0\n", &[]));
        assert_eq!(key.as_deref(), Some("server.workers"));
        assert!(text.contains("nonzero"), "{text}");
    }

    #[test]
    fn the_sqlite_path_is_extracted_from_the_url() {
        let url: DatabaseUrl = "sqlite://./data/g.db?mode=rwc".parse().unwrap();
        assert_eq!(url.sqlite_path(), Some(PathBuf::from("./data/g.db")));
        let url: DatabaseUrl = "sqlite::memory:".parse().unwrap();
        assert_eq!(url.sqlite_path(), None);
    }
}
