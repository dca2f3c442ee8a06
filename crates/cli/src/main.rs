//! The `gatehouse` binary: parses arguments, builds the pieces, runs them.
//!
//! Each subcommand is one variant of [`Command`] and one module under `commands/`; this file only
//! dispatches and turns the outcome into an exit code (see [`commands::Failure`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

// glibc's malloc showed up as ~15 % of the proxy's CPU profile (per-request header maps and
// buffers); mimalloc's thread-local free lists cut that (see bench/proxy.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gatehouse: the authentication boundary of a microservice system.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Generate signing keys and export public JWK Sets.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Sign, verify and inspect JSON Web Tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Run the identity server and gateway.
    Serve(commands::serve::ServeArgs),
    /// Run the server with a demo upstream and an admin account (the quickest way to try it).
    Demo(commands::demo::DemoArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Manage roles and their permissions.
    #[command(subcommand)]
    Role(commands::role::RoleCommand),
    /// Manage groups, their members and roles.
    #[command(subcommand)]
    Group(commands::group::GroupCommand),
    /// Manage service clients (client_credentials).
    #[command(subcommand)]
    Client(commands::client::ClientCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
}

fn main() -> ExitCode {
    // Usage errors exit 2 and `--help`/`--version` exit 0, both from clap itself.
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Keys(command) => command.run(),
        Command::Token(command) => command.run(),
        Command::Serve(args) => args.run(),
        Command::Demo(args) => args.run(),
        Command::User(command) => command.run(),
        Command::Role(command) => command.run(),
        Command::Group(command) => command.run(),
        Command::Client(command) => command.run(),
        Command::Audit(command) => command.run(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
