//! `gatehouse user …`: accounts, on the database a running server uses.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use gatehouse_server::manage::{ImportFormat, parse_import};
use gatehouse_store::PageRequest;

use super::ops::{ConfigArgs, read_password_stdin, rfc3339, with_manager};
use super::{CommandResult, print_stdout};

/// Account management.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from stdin.
    Add(AddArgs),
    /// List accounts (username, id, state, e-mail).
    List(ListArgs),
    /// Grant a role to an account.
    Grant(RoleArgs),
    /// Revoke a directly granted role.
    Revoke(RoleArgs),
    /// Disable an account and end its sessions.
    Disable(NameArgs),
    /// Enable a disabled account.
    Enable(NameArgs),
    /// Session management.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Import accounts with bcrypt or Argon2id password hashes from a CSV or JSON file.
    Import(ImportArgs),
}

/// `user sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// End every session of an account (refresh tokens and access tokens stop working).
    Revoke(NameArgs),
}

/// Arguments of `user add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The username.
    name: String,
    /// A role to grant (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// An e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// Read the password from the first line of stdin (required: passwords never go on the
    /// command line, where other users could see them).
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// Arguments of `user list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Only accounts whose username or e-mail contains this (case-insensitive).
    #[arg(long)]
    search: Option<String>,
}

/// An account name (or id).
#[derive(Debug, Args)]
pub struct NameArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The username or user id.
    name: String,
}

/// An account and a role.
#[derive(Debug, Args)]
pub struct RoleArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The username or user id.
    name: String,
    /// The role.
    role: String,
}

/// Arguments of `user import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The file: a JSON array of {username, password_hash, email?, roles?}, or CSV with a
    /// header naming username, password_hash, and optionally email and roles.
    file: PathBuf,
    /// The format; detected from the content when omitted.
    #[arg(long, value_parser = ["csv", "json"])]
    format: Option<String>,
}

impl UserCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        match self {
            Self::Add(args) => {
                let password = read_password_stdin()?;
                with_manager(&args.config, async |m| {
                    let user = m
                        .create_user(&args.name, password, args.email.clone(), &args.roles)
                        .await?;
                    print_stdout(&format!(
                        "created user {} ({})",
                        user.user.username, user.user.id
                    ))
                })?;
            }
            Self::List(args) => with_manager(&args.config, async |m| {
                let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
                loop {
                    let users = m.list_users(args.search.clone(), page).await?;
                    for user in &users.items {
                        let state = if user.disabled { "disabled" } else { "enabled" };
                        print_stdout(&format!(
                            "{}\t{}\t{state}\t{}\t{}",
                            user.username,
                            user.id,
                            user.email.as_deref().unwrap_or("-"),
                            rfc3339(user.created_at)
                        ))?;
                    }
                    page.offset += users.items.len() as u64;
                    if users.items.is_empty() || page.offset >= users.total {
                        return Ok(());
                    }
                }
            })?,
            Self::Grant(args) => with_manager(&args.config, async |m| {
                let user = m.grant_user_role(&args.name, &args.role).await?;
                print_stdout(&format!(
                    "{} now has roles: {}",
                    user.user.username,
                    user.direct_roles.join(", ")
                ))
            })?,
            Self::Revoke(args) => with_manager(&args.config, async |m| {
                let user = m.revoke_user_role(&args.name, &args.role).await?;
                print_stdout(&format!(
                    "{} now has roles: {}",
                    user.user.username,
                    user.direct_roles.join(", ")
                ))
            })?,
            Self::Disable(args) => with_manager(&args.config, async |m| {
                let user = m.set_user_disabled(&args.name, true).await?;
                print_stdout(&format!(
                    "disabled {} and ended its sessions",
                    user.username
                ))
            })?,
            Self::Enable(args) => with_manager(&args.config, async |m| {
                let user = m.set_user_disabled(&args.name, false).await?;
                print_stdout(&format!("enabled {}", user.username))
            })?,
            Self::Sessions(SessionsCommand::Revoke(args)) => {
                with_manager(&args.config, async |m| {
                    let ended = m.revoke_user_sessions(&args.name).await?;
                    print_stdout(&format!("ended {ended} session(s) of {}", args.name))
                })?
            }
            Self::Import(args) => {
                let text = std::fs::read_to_string(&args.file)
                    .with_context(|| format!("reading {}", args.file.display()))?;
                let format = match args.format.as_deref() {
                    Some("json") => ImportFormat::Json,
                    Some(_) => ImportFormat::Csv,
                    None => ImportFormat::detect(&text),
                };
                let records = parse_import(&text, format)
                    .with_context(|| format!("reading {}", args.file.display()))?;
                with_manager(&args.config, async |m| {
                    let report = m.import_users(records).await?;
                    for (who, why) in &report.skipped {
                        print_stdout(&format!("skipped {who}: {why}"))?;
                    }
                    print_stdout(&format!(
                        "imported {} user(s), skipped {}",
                        report.imported.len(),
                        report.skipped.len()
                    ))
                })?;
            }
        }
        Ok(())
    }
}
