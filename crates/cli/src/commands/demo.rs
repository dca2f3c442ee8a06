//! `gatehouse demo`: `serve` with the defaults, a demo upstream service that echoes the identity
//! it receives (behind the gateway route `/api/demo`), and an `admin` account whose random
//! password is printed once.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gatehouse_auth::ClientContext;
use gatehouse_server::config::gateway::RouteConfig;
use gatehouse_server::manage::Manager;
use gatehouse_server::{Server, SystemClock, shutdown_signal};
use gatehouse_store::ADMIN_ROLE;
use secrecy::{ExposeSecret, SecretString};

use super::CommandResult;
use super::ops::{ConfigArgs, init_logging, runtime};

/// The gateway route to the demo upstream (any valid token may call it).
pub const DEMO_ROUTE: &str = "/api/demo";

/// The username of the demo administrator.
pub const DEMO_ADMIN: &str = "admin";

/// Arguments of `gatehouse demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The public base URL, used as the token issuer.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Address of the demo upstream service.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    upstream_listen: SocketAddr,
}

impl DemoArgs {
    /// Starts the demo upstream and the server, creates the admin account on first start, and
    /// runs until Ctrl-C or SIGTERM.
    pub fn run(self) -> CommandResult {
        let mut config = self.config.load(self.listen, self.public_url)?;
        init_logging(&config, None);
        let upstream_listen = self.upstream_listen;
        runtime()?.block_on(async move {
            let upstream = tokio::net::TcpListener::bind(upstream_listen)
                .await
                .with_context(|| format!("binding the demo upstream to {upstream_listen}"))?;
            let upstream_addr = upstream.local_addr().context("demo upstream address")?;
            tokio::spawn(gatehouse_server::demo::serve_upstream(upstream));
            // The web UI's "Fetch data" calls this path; any signed-in user may.
            if !config.routes.iter().any(|r| r.path == DEMO_ROUTE) {
                config.routes.push(RouteConfig {
                    path: DEMO_ROUTE.to_owned(),
                    upstream: Some(format!("http://{upstream_addr}")),
                    ..RouteConfig::default()
                });
            }

            let server = Server::build(config, Arc::new(SystemClock))
                .await
                .context("starting the server")?;
            let base = server.state().public_url().issuer().to_owned();
            let manager = Manager::new(server.state(), "system", ClientContext::default());
            let admin_password = ensure_admin(&manager).await?;
            print_welcome(&base, upstream_addr, admin_password.as_ref());
            server.run(shutdown_signal()).await.context("serving")
        })?;
        Ok(())
    }
}

/// Creates the `admin` account with a random password when it does not exist yet, returning
/// the password (to print once).
async fn ensure_admin(manager: &Manager) -> anyhow::Result<Option<SecretString>> {
    if manager.find_user(DEMO_ADMIN).await.is_ok() {
        return Ok(None);
    }
    let password = random_password();
    manager
        .create_user(DEMO_ADMIN, password.clone(), None, &[ADMIN_ROLE.to_owned()])
        .await
        .context("creating the demo admin account")?;
    Ok(Some(password))
}

/// 18 random bytes as 24 base64url characters: easy to paste, ~144 bits.
fn random_password() -> SecretString {
    use base64::Engine as _;
    let bytes: zeroize::Zeroizing<[u8; 18]> = zeroize::Zeroizing::new(rand::random());
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

fn print_welcome(base: &str, upstream: SocketAddr, password: Option<&SecretString>) {
    let credentials = match password {
        Some(password) => format!(
            "  admin account   username: {DEMO_ADMIN}\n                  password: {}   (shown once; store it now)",
            password.expose_secret()
        ),
        None => format!(
            "  admin account   {DEMO_ADMIN} (created on first start; its password was shown then)"
        ),
    };
    // A closed stdout (the banner piped into `head`) must not stop the server.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "Gatehouse demo is running.\n\n  server          {base}\n{credentials}\n  demo upstream   http://{upstream} (echoes the identity it receives), behind {base}{DEMO_ROUTE}\n\n  log in:   curl -s {base}/auth/login -H 'content-type: application/json' -d '{{\"username\":\"{DEMO_ADMIN}\",\"password\":\"…\"}}'\n  keys:     {base}/.well-known/jwks.json\n\nPress Ctrl-C to stop."
    );
}
