//! [`RevocationFeed`]: what a gateway knows of revocations made anywhere, and so whether it may
//! trust a revocation check of a Gatehouse token that passed a moment ago.
//!
//! The server runs a follower of the store's revocation log (every instance's revocations,
//! through PostgreSQL `LISTEN` or polling) and tells this value two things: that something was
//! revoked ([`RevocationFeed::changed`]), and that it has read the log to its end, by a read
//! that began at some instant ([`RevocationFeed::caught_up`]). A gateway trusts a passed check
//! only while both hold: nothing was revoked since the check began, and the follower caught up
//! recently ([`RevocationFeed::is_fresh`]). When the follower falls behind (database down, feed
//! broken) every request asks the store again, which refuses when it cannot answer: the cache
//! fails closed.
//!
//! Clock reads here are monotonic (`tokio::time::Instant`), used only to age the follower's
//! last report, never to judge a token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Revocation news shared by every gateway of one server (it survives configuration reloads):
/// a generation counter bumped on every revocation, and until when the follower of the
/// revocation log counts as up to date.
#[derive(Debug)]
pub struct RevocationFeed {
    /// The zero of `fresh_until`.
    origin: Instant,
    /// Bumped on every revocation; a passed check is remembered with the value it began at.
    generation: AtomicU64,
    /// Microseconds after `origin` until which the follower counts as up to date; 0 until it
    /// first catches up.
    fresh_until: AtomicU64,
    /// How long one catch-up keeps the follower up to date.
    freshness: Duration,
}

impl RevocationFeed {
    /// A feed that is not up to date until its follower first reports
    /// ([`RevocationFeed::caught_up`]). Each report keeps it up to date for `freshness`:
    /// twice the follower's polling period tolerates one late poll, and bounds how late a
    /// revocation made on another instance can be seen.
    pub fn new(freshness: Duration) -> Self {
        Self {
            origin: Instant::now(),
            generation: AtomicU64::new(0),
            fresh_until: AtomicU64::new(0),
            freshness,
        }
    }

    /// How long one catch-up keeps the follower up to date.
    pub fn freshness(&self) -> Duration {
        self.freshness
    }

    /// Something was revoked (here or on another instance): every passed check made before
    /// now must be made again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The current generation. Read it before asking the store, and remember a passed check
    /// with it: the check is trusted only while the generation has not moved.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The follower has handed out every revocation committed before `as_of` (the instant its
    /// read of the log to the end began), and [`RevocationFeed::changed`] has been called for
    /// each: the feed is up to date until `as_of + freshness`. A report older than one already
    /// made changes nothing.
    pub fn caught_up(&self, as_of: Instant) {
        let until = match as_of.checked_duration_since(self.origin) {
            Some(after) => after.saturating_add(self.freshness),
            // Before the feed existed: what is left of its freshness.
            None => self.freshness.saturating_sub(self.origin - as_of),
        };
        let until = u64::try_from(until.as_micros()).unwrap_or(u64::MAX);
        self.fresh_until.fetch_max(until, Ordering::SeqCst);
    }

    /// The follower stopped (the store was closed): stop trusting passed checks at once
    /// rather than when the last report ages out.
    pub fn stopped(&self) {
        self.fresh_until.store(0, Ordering::SeqCst);
    }

    /// Whether the follower has caught up within the last `freshness`.
    pub fn is_fresh(&self) -> bool {
        self.is_fresh_at(Instant::now())
    }

    /// [`RevocationFeed::is_fresh`] at `now`.
    pub fn is_fresh_at(&self, now: Instant) -> bool {
        // Rounded up, so a deadline is never stretched by the conversion.
        let micros = now
            .saturating_duration_since(self.origin)
            .as_nanos()
            .div_ceil(1000);
        let now = u64::try_from(micros).unwrap_or(u64::MAX);
        now < self.fresh_until.load(Ordering::SeqCst)
    }
}

impl Default for RevocationFeed {
    /// Fresh for one second after each catch-up (a follower polling twice a second).
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_new_feed_is_not_fresh_until_its_follower_reports() {
        let feed = RevocationFeed::new(SECOND);
        assert!(!feed.is_fresh());
        assert!(!feed.is_fresh_at(feed.origin));
        feed.caught_up(feed.origin);
        assert!(feed.is_fresh_at(feed.origin));
    }

    #[test]
    fn a_report_keeps_the_feed_fresh_for_its_freshness_counted_from_when_the_read_began() {
        let feed = RevocationFeed::new(SECOND);
        let read_began = feed.origin + Duration::from_secs(10);
        feed.caught_up(read_began);
        assert!(feed.is_fresh_at(read_began + Duration::from_millis(999)));
        assert!(!feed.is_fresh_at(read_began + SECOND));
        assert!(!feed.is_fresh_at(read_began + Duration::from_secs(60)));
    }

    #[test]
    fn an_older_report_does_not_shorten_a_newer_one() {
        let feed = RevocationFeed::new(SECOND);
        let newer = feed.origin + Duration::from_secs(5);
        feed.caught_up(newer);
        feed.caught_up(feed.origin + Duration::from_secs(2));
        assert!(feed.is_fresh_at(newer + Duration::from_millis(500)));
    }

    #[test]
    fn a_read_that_began_before_the_feed_existed_counts_from_that_instant() {
        let origin = Instant::now() + Duration::from_secs(3);
        let feed = RevocationFeed {
            origin,
            generation: AtomicU64::new(0),
            fresh_until: AtomicU64::new(0),
            freshness: SECOND,
        };
        feed.caught_up(origin - Duration::from_millis(400));
        assert!(feed.is_fresh_at(origin + Duration::from_millis(500)));
        assert!(!feed.is_fresh_at(origin + Duration::from_millis(600)));
        let long_ago = RevocationFeed {
            fresh_until: AtomicU64::new(0),
            ..feed
        };
        long_ago.stopped();
        long_ago.caught_up(origin - Duration::from_secs(5));
        assert!(
            !long_ago.is_fresh_at(origin),
            "a report older than its freshness"
        );
    }

    #[test]
    fn a_stopped_follower_is_stale_at_once() {
        let feed = RevocationFeed::new(SECOND);
        feed.caught_up(feed.origin + Duration::from_secs(1));
        feed.stopped();
        assert!(!feed.is_fresh_at(feed.origin + Duration::from_secs(1)));
    }

    #[test]
    fn every_revocation_moves_the_generation() {
        let feed = RevocationFeed::default();
        let before = feed.generation();
        feed.changed();
        feed.changed();
        assert_eq!(feed.generation(), before + 2);
    }
}
