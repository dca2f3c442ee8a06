//! `gatehouse keys rotate`: a new active signing key in the database every instance shares.

use clap::Args;

use super::ops::{ConfigArgs, with_manager};
use super::{CommandResult, print_stdout};

/// Arguments of `keys rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

impl RotateArgs {
    /// Adds a key of the configured algorithm and retires the others; they stay in the JWKS
    /// until every token they signed has expired.
    pub fn run(self) -> CommandResult {
        with_manager(&self.config, async |m| {
            let kid = m.rotate_keys().await?;
            print_stdout(&format!(
                "new signing key {}; running instances pick it up within tokens.key_reload_interval",
                kid.as_str()
            ))
        })?;
        Ok(())
    }
}
