//! `gatehouse audit tail`: the latest audit events, oldest first, optionally following new ones.

use std::time::Duration;

use clap::{Args, Subcommand};
use gatehouse_store::{AuditEvent, AuditQuery};

use super::ops::{ConfigArgs, rfc3339, with_manager};
use super::{CommandResult, print_stdout};

/// The audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the latest events (one line each: time, actor, action, target, ip, details).
    Tail(TailArgs),
}

/// Arguments of `audit tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// How many events to print.
    #[arg(short = 'n', long, default_value_t = 20)]
    lines: u32,
    /// Only this action, e.g. login.failure.
    #[arg(long)]
    action: Option<String>,
    /// Only this actor (a user id, client:<id>, cli:<name>, system).
    #[arg(long)]
    actor: Option<String>,
    /// Keep printing new events as they are recorded (polls every second) until interrupted.
    #[arg(short, long)]
    follow: bool,
}

fn line(event: &AuditEvent) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        rfc3339(event.at),
        event.actor,
        event.action,
        event.target.as_deref().unwrap_or("-"),
        event.ip.as_deref().unwrap_or("-"),
        event.details
    )
}

impl AuditCommand {
    /// Runs the subcommand.
    pub fn run(self) -> CommandResult {
        let Self::Tail(args) = self;
        with_manager(&args.config, async |m| {
            let query = AuditQuery {
                action: args.action.clone(),
                actor: args.actor.clone(),
                since: None,
                until: None,
                limit: args.lines.max(1),
            };
            let mut events = m.audit_log(&query).await?;
            events.reverse();
            for event in &events {
                print_stdout(&line(event))?;
            }
            if !args.follow {
                return Ok(());
            }
            let mut seen: Vec<_> = events.iter().map(|e| e.id).collect();
            let mut since = events.last().map(|e| e.at);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let query = AuditQuery {
                    since,
                    limit: 1000,
                    ..query.clone()
                };
                let mut fresh = m.audit_log(&query).await?;
                fresh.reverse();
                for event in fresh.iter().filter(|e| !seen.contains(&e.id)) {
                    print_stdout(&line(event))?;
                }
                if let Some(last) = fresh.last() {
                    since = Some(last.at);
                    // Events in the same second as `since` come back next time; remember
                    // which were printed.
                    seen = fresh
                        .iter()
                        .filter(|e| e.at == last.at)
                        .map(|e| e.id)
                        .collect();
                }
            }
        })?;
        Ok(())
    }
}
