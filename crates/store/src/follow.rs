//! [`follow_revocations`]: the revocation log as one gap-free stream, for gateways that keep
//! revocations in memory instead of asking the database on every request.
//!
//! Two sources feed it: the live feed
//! ([`RevocationStore::subscribe_revocations`], PostgreSQL only), which is fast but loses
//! what is sent while it reconnects, and the log itself
//! ([`RevocationStore::revocations_since`]), which is complete but must be polled. The
//! follower applies live events as they come, re-reads the log from its cursor whenever the
//! feed says [`RevocationFeedItem::Resync`], and also polls now and then, which is all SQLite
//! has. Because the log's order is commit order on both backends, "everything after my
//! cursor" is exactly what a follower lacks, and an event at or before the cursor is a
//! duplicate to drop.
//!
//! [`follow_revocation_log`] is the same stream with progress reports
//! ([`Followed::CaughtUp`]) in between, for a follower that must know how current it is
//! (a gateway trusts its cached revocation checks only while its follower is).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::error::StoreError;
use crate::model::{RevocationCursor, RevocationEvent, RevocationFeedItem};
use crate::traits::{RevocationStream, Store, StoreResult};

/// Log entries read per query while catching up.
const BATCH: u32 = 500;

/// The shortest polling period [`follow_revocations`] accepts.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Every revocation after `from`, each exactly once and in log order: first those already in
/// the log, then new ones as they are committed by any instance.
///
/// New events arrive at once on PostgreSQL (through the live feed, with a re-read of the log
/// after each reconnect of its connection) and within `poll_every` on SQLite (clamped to at
/// least [`MIN_POLL_INTERVAL`]); PostgreSQL is polled at that period too, as a safety net.
/// Start `from` [`RevocationCursor::START`], or from the cursor of the last event applied
/// before a restart. The log keeps a day of events: a follower stopped for longer must reload
/// its state rather than resume.
///
/// A database error is yielded as an item and the stream goes on (retrying at the next poll),
/// so the caller can log it; the stream ends when the store is closed.
pub fn follow_revocations(
    store: Arc<dyn Store>,
    from: RevocationCursor,
    poll_every: Duration,
) -> BoxStream<'static, StoreResult<RevocationEvent>> {
    follow_revocation_log(store, from, poll_every)
        .filter_map(|item| {
            std::future::ready(match item {
                Ok(Followed::Event(event)) => Some(Ok(event)),
                Ok(Followed::CaughtUp { .. }) => None,
                Err(error) => Some(Err(error)),
            })
        })
        .boxed()
}

/// One item of [`follow_revocation_log`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Followed {
    /// The next revocation, in log order.
    Event(RevocationEvent),
    /// Every revocation committed before `as_of` has now been handed out: a read of the log
    /// that began at `as_of` reached its end. Comes at start-up and after every poll (and
    /// every resync of the live feed) that succeeds; none comes while the database cannot be
    /// read, which is how a follower tells it may be missing revocations.
    CaughtUp {
        /// When the read that reached the end of the log began (monotonic clock).
        as_of: Instant,
    },
}

/// [`follow_revocations`] with [`Followed::CaughtUp`] after each successful read of the log
/// to its end, once the events it found have been handed out.
pub fn follow_revocation_log(
    store: Arc<dyn Store>,
    from: RevocationCursor,
    poll_every: Duration,
) -> BoxStream<'static, StoreResult<Followed>> {
    let mut poll = tokio::time::interval(poll_every.max(MIN_POLL_INTERVAL));
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let follower = Follower {
        store,
        cursor: from,
        pending: VecDeque::new(),
        feed: Feed::NotOpened,
        catching_up: true,
        caught_up: None,
        poll,
    };
    futures_util::stream::unfold(follower, |mut follower| async move {
        let item = follower.next().await?;
        Some((item, follower))
    })
    .boxed()
}

/// The live feed's state.
enum Feed {
    /// To be opened before the next wait.
    NotOpened,
    /// Opening failed; tried again at the next poll.
    Failed,
    /// The backend has no live feed (SQLite): polling only.
    Unsupported,
    Live(RevocationStream),
}

struct Follower {
    store: Arc<dyn Store>,
    /// The last event handed out.
    cursor: RevocationCursor,
    /// Read but not yet handed out, in log order, all after `cursor`.
    pending: VecDeque<RevocationEvent>,
    feed: Feed,
    /// The log must be read up to its end before waiting again.
    catching_up: bool,
    /// A read that began at this instant reached the end of the log; reported once the
    /// events before it are handed out.
    caught_up: Option<Instant>,
    poll: Interval,
}

/// What ended a wait.
enum Wake {
    Feed(Option<StoreResult<RevocationFeedItem>>),
    Poll,
}

impl Follower {
    /// The newest event read so far: reading resumes after it.
    fn last_read(&self) -> RevocationCursor {
        self.pending
            .back()
            .map_or(self.cursor, |event| event.cursor)
    }

    async fn next(&mut self) -> Option<StoreResult<Followed>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.cursor = event.cursor;
                return Some(Ok(Followed::Event(event)));
            }
            if let Some(as_of) = self.caught_up.take() {
                return Some(Ok(Followed::CaughtUp { as_of }));
            }
            if matches!(self.feed, Feed::NotOpened) {
                match self.store.subscribe_revocations().await {
                    Ok(Some(feed)) => self.feed = Feed::Live(feed),
                    Ok(None) => self.feed = Feed::Unsupported,
                    Err(StoreError::Database(sqlx::Error::PoolClosed)) => return None,
                    Err(error) => {
                        self.feed = Feed::Failed;
                        return Some(Err(error));
                    }
                }
            }
            if self.catching_up {
                let began = Instant::now();
                match self.store.revocations_since(self.last_read(), BATCH).await {
                    Ok(batch) => {
                        // A short batch reached the end of the log.
                        self.catching_up = batch.len() >= BATCH as usize;
                        if !self.catching_up {
                            self.caught_up = Some(began);
                        }
                        self.pending.extend(batch);
                    }
                    Err(StoreError::Database(sqlx::Error::PoolClosed)) => return None,
                    Err(error) => {
                        // Retried at the next poll rather than at once, in a loop.
                        self.catching_up = false;
                        return Some(Err(error));
                    }
                }
                continue;
            }
            let wake = match &mut self.feed {
                Feed::Live(feed) => tokio::select! {
                    item = feed.next() => Wake::Feed(item),
                    _ = self.poll.tick() => Wake::Poll,
                },
                Feed::NotOpened | Feed::Failed | Feed::Unsupported => {
                    self.poll.tick().await;
                    Wake::Poll
                }
            };
            match wake {
                Wake::Feed(Some(Ok(RevocationFeedItem::Event(event)))) => {
                    // Already read from the log (or announced twice): drop it.
                    if event.cursor > self.last_read() {
                        self.pending.push_back(event);
                    }
                }
                Wake::Feed(Some(Ok(RevocationFeedItem::Resync))) => self.catching_up = true,
                Wake::Feed(Some(Err(error))) => return Some(Err(error)),
                // Only a closed store ends the feed.
                Wake::Feed(None) => return None,
                Wake::Poll => {
                    self.catching_up = true;
                    if matches!(self.feed, Feed::Failed) {
                        self.feed = Feed::NotOpened;
                    }
                }
            }
        }
    }
}
