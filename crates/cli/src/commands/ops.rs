//! What the server-side commands share (`serve`, `demo`, and the operator commands `user`,
//! `role`, `group`, `client`, `keys rotate`, `audit`): the config flags, loading the config,
//! logging, an async runtime, and a [`Manager`] acting as the operator on the same database a
//! running `gatehouse serve` uses.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gatehouse_auth::ClientContext;
use gatehouse_server::config::{FlagOverrides, LogFormat};
use gatehouse_server::manage::Manager;
use gatehouse_server::{AppState, Clock, Config, SystemClock};

/// Where the configuration comes from; shared by every server-side command.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The TOML config file (see docs/config.md). Every key can also be set with an
    /// environment variable GATEHOUSE_<SECTION>__<KEY>.
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://… (config key database.url).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl ConfigArgs {
    /// Loads and validates the configuration with these flags (and `listen`/`public_url` when
    /// the command has them).
    pub fn load(
        &self,
        listen: Option<String>,
        public_url: Option<String>,
    ) -> anyhow::Result<Config> {
        let flags = FlagOverrides {
            listen,
            database_url: self.database_url.clone(),
            public_url,
        };
        Ok(Config::load(
            self.config.as_deref(),
            std::env::vars(),
            &flags,
        )?)
    }
}

/// Installs the log subscriber: `GATEHOUSE_LOG` wins over `log.filter`; lines go to stderr.
pub fn init_logging(config: &Config, default_filter: Option<&str>) {
    let filter = std::env::var("GATEHOUSE_LOG")
        .ok()
        .or_else(|| default_filter.map(str::to_owned))
        .unwrap_or_else(|| config.log.filter.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (not possible in one process run) would only be ignored.
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// A multi-threaded Tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The audit actor of operator commands: `cli:<login name>`.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        String::from("cli")
    } else {
        format!("cli:{user}")
    }
}

/// Opens the database named by the config and builds the application state (keys, auth
/// service) without listening; the caller's changes are visible to running servers at once.
pub async fn open_state(config: Config) -> anyhow::Result<AppState> {
    let url = config.database.url.clone();
    if let Some(dir) = url
        .sqlite_path()
        .as_deref()
        .and_then(std::path::Path::parent)
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = gatehouse_store::connect(url.expose())
        .await
        .with_context(|| format!("opening the database {url}"))?;
    let public_url = config.server.public_url_or(config.server.listen);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AppState::build(config, public_url, store, clock)
        .await
        .context("loading the server state")
}

/// Runs `work` with a [`Manager`] acting as the CLI operator, then closes the database.
pub fn with_manager<T>(
    args: &ConfigArgs,
    work: impl AsyncFnOnce(&Manager) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let config = args.load(None, None)?;
    init_logging(&config, Some("warn"));
    runtime()?.block_on(async move {
        let state = open_state(config).await?;
        let manager = Manager::new(&state, cli_actor(), ClientContext::default());
        let result = work(&manager).await;
        state.store().close().await;
        result
    })
}

/// Reads a password from stdin: the first line, without its line ending. Bounded, so a
/// runaway producer cannot exhaust memory.
pub fn read_password_stdin() -> anyhow::Result<secrecy::SecretString> {
    use std::io::Read;
    let mut buffer = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(4096)
        .read_to_end(&mut buffer)
        .context("reading the password from stdin")?;
    let text = std::str::from_utf8(&buffer).context("the password on stdin is not UTF-8")?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        anyhow::bail!(
            "no password on stdin; pipe it in, e.g. `printf '%s' \"$PW\" | gatehouse user add NAME --password-stdin`"
        );
    }
    Ok(secrecy::SecretString::from(line.to_owned()))
}

/// Formats a timestamp as RFC 3339.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
