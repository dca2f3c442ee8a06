//! The `gatehouse` binary: parses arguments, builds the pieces, runs them.
//!
//! Each subcommand is one variant of [`Command`] and one module under `commands/`; this file only
//! dispatches and turns the outcome into an exit code (see [`commands::Failure`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

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
}

fn main() -> ExitCode {
    // Usage errors exit 2 and `--help`/`--version` exit 0, both from clap itself.
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Keys(command) => command.run(),
        Command::Token(command) => command.run(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
