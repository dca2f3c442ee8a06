//! The PostgreSQL backend: many Gatehouse instances on one database, revocations pushed to
//! all of them with `LISTEN`/`NOTIFY`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::REVOCATION_CHANNEL;
use crate::error::StoreError;
use crate::model::{RevocationEvent, RevocationFeedItem};
use crate::traits::{Backend, RevocationStream, Store, StoreResult};

/// Enough for a busy instance; the server's default `max_connections` (100) leaves room for
/// several instances and the operators' CLI.
const MAX_CONNECTIONS: u32 = 10;

/// Key of the transaction-scoped advisory lock that serialises revocation writers
/// (arbitrary, fixed: "gh-revoc" in ASCII).
const REVOCATION_LOCK: i64 = 0x6768_2d72_6576_6f63;

/// [`Store`] on a PostgreSQL database.
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and migrates the database (sqlx takes an advisory lock, so instances
    /// starting together do not migrate twice).
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// A plain READ COMMITTED transaction; the rows that must not change under it are locked
    /// with `FOR UPDATE`.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Identity values are handed out at insert time but become visible at commit, so two
    /// concurrent revocations could commit out of `seq` order and a poller could skip one.
    /// Holding one advisory lock until commit makes `seq` order commit order; revocations are
    /// rare enough that serialising them costs nothing noticeable.
    async fn before_revocation(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REVOCATION_LOCK)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// `pg_notify` inside the transaction: PostgreSQL delivers it when (and only if) the
    /// transaction commits.
    async fn announce(
        tx: &mut Transaction<'static, Postgres>,
        event: &RevocationEvent,
    ) -> StoreResult<()> {
        let payload = serde_json::to_string(event).map_err(|_| StoreError::Corrupt {
            what: "revocation event",
        })?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOCATION_CHANNEL)
            .bind(payload)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The live feed: a [`Feed`] read item by item until the pool closes.
    async fn subscribe(&self) -> StoreResult<Option<RevocationStream>> {
        // Listening before returning makes a broken database an error here, not later.
        let feed = Feed {
            pool: self.pool.clone(),
            listener: Some(Feed::listen(&self.pool).await?),
            resync_due: true,
            failures: 0,
        };
        let stream = futures_util::stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            Some((item, feed))
        });
        Ok(Some(stream.boxed()))
    }
}

/// The state behind [`PgStore::subscribe`]'s stream.
///
/// `PgListener` reconnects by itself after some failures (its `try_recv` then returns
/// `Ok(None)`), but notifications sent while it was away are lost, and after other failures
/// it keeps its dead connection. So any failure drops the listener and a new one is opened,
/// and every fresh start is announced as [`RevocationFeedItem::Resync`] for the follower to
/// catch up from the log.
struct Feed {
    pool: PgPool,
    /// `None` after a failure, until the next successful `LISTEN`.
    listener: Option<PgListener>,
    /// A `Resync` is owed to the follower before anything else.
    resync_due: bool,
    /// Failed attempts to listen since the last success, for the back-off.
    failures: u32,
}

impl Feed {
    /// First retry after this; doubled per failure up to [`Self::MAX_BACKOFF`].
    const MIN_BACKOFF: Duration = Duration::from_millis(100);
    const MAX_BACKOFF: Duration = Duration::from_secs(5);

    async fn listen(pool: &PgPool) -> StoreResult<PgListener> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        Ok(listener)
    }

    /// The next item, or `None` once the pool is closed.
    async fn next(&mut self) -> Option<StoreResult<RevocationFeedItem>> {
        loop {
            if self.pool.is_closed() {
                return None;
            }
            let Some(listener) = self.listener.as_mut() else {
                if self.failures > 0 {
                    let backoff = Self::MIN_BACKOFF
                        .saturating_mul(1 << self.failures.min(6))
                        .min(Self::MAX_BACKOFF);
                    tokio::time::sleep(backoff).await;
                }
                match Self::listen(&self.pool).await {
                    Ok(listener) => {
                        self.listener = Some(listener);
                        self.failures = 0;
                        continue;
                    }
                    Err(error) => {
                        self.failures = self.failures.saturating_add(1);
                        return (!self.pool.is_closed()).then_some(Err(error));
                    }
                }
            };
            if std::mem::take(&mut self.resync_due) {
                return Some(Ok(RevocationFeedItem::Resync));
            }
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    return Some(Ok(
                        match serde_json::from_str::<RevocationEvent>(notification.payload()) {
                            Ok(event) => RevocationFeedItem::Event(event),
                            // The log holds the event in its proper form.
                            Err(_) => {
                                tracing::warn!("unreadable revocation notification; resyncing");
                                RevocationFeedItem::Resync
                            }
                        },
                    ));
                }
                // Connection lost; the listener has reconnected and listens again.
                Ok(None) => return Some(Ok(RevocationFeedItem::Resync)),
                Err(error) => {
                    self.listener = None;
                    self.resync_due = true;
                    if self.pool.is_closed() {
                        return None;
                    }
                    return Some(Err(error.into()));
                }
            }
        }
    }
}

crate::sql::shared_store_impl!(PgStore, Postgres, for_update = " FOR UPDATE");
crate::web::web_store_impl!(PgStore);

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
