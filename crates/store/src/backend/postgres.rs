//! The PostgreSQL backend: many Gatehouse instances on one database, revocations pushed to
//! all of them with `LISTEN`/`NOTIFY`.

use std::str::FromStr;

use async_trait::async_trait;
use futures_util::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::REVOCATION_CHANNEL;
use crate::error::StoreError;
use crate::model::RevocationEvent;
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

    /// A dedicated listening connection; the stream ends only with an error.
    async fn subscribe(&self) -> StoreResult<Option<RevocationStream>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        let stream = listener.into_stream().map(|notification| {
            let notification = notification?;
            serde_json::from_str::<RevocationEvent>(notification.payload()).map_err(|_| {
                StoreError::Corrupt {
                    what: "revocation notification",
                }
            })
        });
        Ok(Some(stream.boxed()))
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
