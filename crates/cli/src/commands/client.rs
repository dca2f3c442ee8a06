//! `gatehouse client …`: service clients of the `client_credentials` grant.

use clap::{Args, Subcommand};
use gatehouse_server::manage::reveal;

use super::ops::{ConfigArgs, with_manager};
use super::{CommandResult, print_stdout};

/// Service-client management.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; its secret is printed once.
    Add(AddArgs),
    /// List clients.
    List(ListArgs),
    /// Disable a client: it gets no new tokens and its tokens are refused.
    Disable(IdArgs),
}

/// Arguments of `client add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The client id (also its display name).
    name: String,
    /// A role its tokens carry (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// An OAuth scope it may request (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
}

/// Arguments of `client list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// A client id.
#[derive(Debug, Args)]
pub struct IdArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The client id.
    client_id: String,
}

impl ClientCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        match self {
            Self::Add(args) => with_manager(&args.config, async |m| {
                let created = m
                    .create_client(&args.name, None, &args.roles, &args.scopes)
                    .await?;
                print_stdout(&format!(
                    "client_id: {}\nclient_secret: {}\n(the secret is shown only now; store it safely)",
                    created.client.client_id,
                    reveal(&created.secret)
                ))
            })?,
            Self::List(args) => with_manager(&args.config, async |m| {
                for client in m.list_clients().await? {
                    let state = if client.disabled {
                        "disabled"
                    } else {
                        "enabled"
                    };
                    print_stdout(&format!(
                        "{}\t{state}\troles={}\tscopes={}",
                        client.client_id,
                        client.roles.join(","),
                        client.scopes.join(",")
                    ))?;
                }
                Ok(())
            })?,
            Self::Disable(args) => with_manager(&args.config, async |m| {
                m.set_client_disabled(&args.client_id, true).await?;
                print_stdout(&format!("disabled client {}", args.client_id))
            })?,
        }
        Ok(())
    }
}
