//! `gatehouse role …`: roles and their permissions.

use clap::{Args, Subcommand};

use super::ops::{ConfigArgs, with_manager};
use super::{CommandResult, print_stdout};

/// Role management.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role with permissions.
    Add(AddArgs),
    /// List roles and their permissions.
    List(ListArgs),
}

/// Arguments of `role add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The role name.
    name: String,
    /// A permission the role grants, e.g. reports:read (repeatable).
    #[arg(long = "permission", value_name = "PERMISSION")]
    permissions: Vec<String>,
    /// A description for administrators.
    #[arg(long, default_value = "")]
    description: String,
}

/// Arguments of `role list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

impl RoleCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        match self {
            Self::Add(args) => with_manager(&args.config, async |m| {
                let role = m
                    .create_role(&args.name, &args.description, &args.permissions)
                    .await?;
                print_stdout(&format!(
                    "created role {} with permissions: {}",
                    role.name,
                    role.permissions.join(", ")
                ))
            })?,
            Self::List(args) => with_manager(&args.config, async |m| {
                for role in m.list_roles().await? {
                    print_stdout(&format!("{}\t{}", role.name, role.permissions.join(",")))?;
                }
                Ok(())
            })?,
        }
        Ok(())
    }
}
