//! `gatehouse group …`: groups, their members and the roles they confer.

use clap::{Args, Subcommand};

use super::ops::{ConfigArgs, with_manager};
use super::{CommandResult, print_stdout};

/// Group management.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add(AddArgs),
    /// List groups with their roles and members.
    List(ListArgs),
    /// Group membership.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Let every member of a group hold a role.
    Grant(GrantArgs),
}

/// `group member …`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a user to a group.
    Add(MemberArgs),
    /// Remove a user from a group.
    Remove(MemberArgs),
}

/// Arguments of `group add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The group name.
    name: String,
    /// A description for administrators.
    #[arg(long, default_value = "")]
    description: String,
}

/// Arguments of `group list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// A group and a user.
#[derive(Debug, Args)]
pub struct MemberArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The group.
    group: String,
    /// The username or user id.
    user: String,
}

/// A group and a role.
#[derive(Debug, Args)]
pub struct GrantArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The group.
    group: String,
    /// The role.
    role: String,
}

impl GroupCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        match self {
            Self::Add(args) => with_manager(&args.config, async |m| {
                let group = m.create_group(&args.name, &args.description).await?;
                print_stdout(&format!("created group {}", group.name))
            })?,
            Self::List(args) => with_manager(&args.config, async |m| {
                for group in m.list_groups().await? {
                    let members: Vec<&str> =
                        group.members.iter().map(|u| u.username.as_str()).collect();
                    print_stdout(&format!(
                        "{}\troles={}\tmembers={}",
                        group.name,
                        group.roles.join(","),
                        members.join(",")
                    ))?;
                }
                Ok(())
            })?,
            Self::Member(MemberCommand::Add(args)) => with_manager(&args.config, async |m| {
                m.add_group_member(&args.group, &args.user).await?;
                print_stdout(&format!("added {} to {}", args.user, args.group))
            })?,
            Self::Member(MemberCommand::Remove(args)) => with_manager(&args.config, async |m| {
                m.remove_group_member(&args.group, &args.user).await?;
                print_stdout(&format!("removed {} from {}", args.user, args.group))
            })?,
            Self::Grant(args) => with_manager(&args.config, async |m| {
                let group = m.grant_group_role(&args.group, &args.role).await?;
                print_stdout(&format!(
                    "group {} now confers: {}",
                    group.name,
                    group.roles.join(", ")
                ))
            })?,
        }
        Ok(())
    }
}
