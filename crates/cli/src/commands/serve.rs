//! `gatehouse serve`: the identity server and gateway.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gatehouse_server::{Server, SystemClock, shutdown_signal};

use super::CommandResult;
use super::ops::{ConfigArgs, init_logging, runtime};

/// Arguments of `gatehouse serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on (config key server.listen; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The public base URL, used as the token issuer (config key server.public_url).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

impl ServeArgs {
    /// Loads the config, starts the server and runs it until Ctrl-C or SIGTERM.
    pub fn run(self) -> CommandResult {
        let config = self.config.load(self.listen, self.public_url)?;
        init_logging(&config, None);
        runtime()?.block_on(async move {
            let server = Server::build(config, Arc::new(SystemClock))
                .await
                .context("starting the server")?;
            server.run(shutdown_signal()).await.context("serving")
        })?;
        Ok(())
    }
}
