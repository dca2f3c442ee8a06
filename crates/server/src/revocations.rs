//! The follower of the revocation log: how this instance learns of revocations made by other
//! instances sharing the database, and by the operator CLI.
//!
//! One task per server (`spawn_follower`, started by [`crate::Server`]) reads
//! [`gatehouse_store::follow_revocation_log`] — PostgreSQL pushes each revocation as it
//! commits (`LISTEN`/`NOTIFY`) and the log is also polled every `database.revocation_poll`;
//! SQLite is polled only — and tells the gateway's [`RevocationFeed`]:
//! - each revocation: every passed revocation check made before it is forgotten;
//! - each read of the log to its end: the feed is up to date as of when that read began.
//!
//! The gateway re-uses a passed check only while the feed is up to date, so when the database
//! cannot be read the follower's reports stop, the feed goes stale within twice the poll
//! period, and every request asks the store again (which refuses with 503 while the database
//! is down). Errors are logged and never end the task; closing the store does.

use std::time::Duration;

use futures_util::StreamExt as _;
use gatehouse_gateway::RevocationFeed;
use gatehouse_store::{Followed, StoreError};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::state::AppState;

/// While the log cannot be read, the failure is logged again at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Starts following the revocation log of `state`'s store; the task ends when the store is
/// closed (or when aborted).
pub(crate) fn spawn_follower(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        follow(&state).await;
        // Nothing reports any more: stop trusting passed checks now, not when the last
        // report ages out.
        state.gateway().revocation_feed().stopped();
        tracing::debug!("revocation log follower stopped");
    })
}

async fn follow(state: &AppState) {
    let store = state.store();
    let poll = state.config().database.revocation_poll.get();
    let mut health = Health::default();
    // The gateway starts with nothing it trusts, so history is of no use: start at the end.
    let from = loop {
        match store.revocation_log_end().await {
            Ok(end) => break end,
            Err(error) if error.is_closed() => return,
            Err(error) => {
                health.failed(&error);
                tokio::time::sleep(poll).await;
            }
        }
    };
    // A check that passed before the end was read may predate a revocation at or before it,
    // which the follower will not replay.
    state.gateway().revocations_changed();
    tracing::info!(
        poll = %humantime::format_duration(poll),
        "following the revocation log"
    );
    let mut log = gatehouse_store::follow_revocation_log(store.clone(), from, poll);
    while let Some(item) = log.next().await {
        match item {
            Ok(Followed::Event(event)) => {
                tracing::debug!(cursor = ?event.cursor, "revocation from the log");
                state.gateway().revocations_changed();
            }
            Ok(Followed::CaughtUp { as_of }) => {
                health.recovered();
                state.gateway().revocation_feed().caught_up(as_of);
            }
            Err(error) => health.failed(&error),
        }
    }
}

/// The follower's failures, for logging each outage once (and again every [`WARN_EVERY`])
/// instead of at every poll.
#[derive(Debug, Default)]
struct Health {
    /// When the current outage was last logged; `None` while reads succeed.
    warned_at: Option<Instant>,
}

impl Health {
    fn failed(&mut self, error: &StoreError) {
        let now = Instant::now();
        if self.should_warn(now) {
            self.warned_at = Some(now);
            let error = crate::server::error_chain(error);
            tracing::warn!(
                %error,
                "cannot read the revocation log; until it can, every token's revocation is checked against the database on every request"
            );
        } else {
            let error = crate::server::error_chain(error);
            tracing::debug!(%error, "revocation log still unreadable");
        }
    }

    fn should_warn(&self, now: Instant) -> bool {
        self.warned_at
            .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY)
    }

    fn recovered(&mut self) {
        if self.warned_at.take().is_some() {
            tracing::info!("the revocation log is readable again");
        }
    }
}

/// The freshness a feed needs for a follower polling every `poll`: one late read is tolerated.
pub(crate) fn freshness(poll: Duration) -> Duration {
    poll.saturating_mul(2)
}

/// A feed for a follower polling every `poll` (see [`freshness`]).
pub(crate) fn feed(poll: Duration) -> RevocationFeed {
    RevocationFeed::new(freshness(poll))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_warned_about_once_a_minute_and_its_end_resets_that() {
        let mut health = Health::default();
        let start = Instant::now();
        assert!(health.should_warn(start));
        health.warned_at = Some(start);
        assert!(!health.should_warn(start + Duration::from_secs(59)));
        assert!(health.should_warn(start + WARN_EVERY));
        health.recovered();
        assert!(health.should_warn(start + Duration::from_secs(1)));
    }

    #[test]
    fn a_feed_tolerates_one_late_poll() {
        assert_eq!(
            freshness(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(
            feed(Duration::from_millis(250)).freshness(),
            Duration::from_millis(500)
        );
    }
}
