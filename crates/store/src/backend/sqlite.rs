//! The embedded SQLite backend: one database file, one process (or several processes on one
//! machine), writers serialised by SQLite's lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::error::StoreError;
use crate::model::RevocationEvent;
use crate::traits::{Backend, RevocationStream, Store, StoreResult};

/// How long a connection waits for another writer before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite allows one writer at a time; a few readers alongside are all WAL can use on a
/// small machine.
const MAX_CONNECTIONS: u32 = 4;

/// [`Store`] on an SQLite file.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it.
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers run while one connection writes; FULL syncs the WAL on every
            // commit, so an acknowledged write survives a crash of the process or the machine.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // Every connection to `:memory:` is a separate empty database: keep exactly one, forever.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            // `create_if_missing` makes the file, not its folder (`./gatehouse-data/` on a
            // first start).
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(sqlx::Error::Io)?;
            }
        }
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
        };
        let pool = pool_options.connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// A write transaction that holds the write lock from its first statement: a deferred
    /// transaction that reads and then writes can fail with SQLITE_BUSY when another writer
    /// got in between, whereas an immediate one just waits its turn (up to the busy timeout).
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Writers are already serialised by `BEGIN IMMEDIATE`, so `seq` order is commit order.
    async fn before_revocation(_tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        Ok(())
    }

    /// SQLite has no notifications; followers poll the revocation log.
    async fn announce(
        _tx: &mut Transaction<'static, Sqlite>,
        _event: &RevocationEvent,
    ) -> StoreResult<()> {
        Ok(())
    }

    async fn subscribe(&self) -> StoreResult<Option<RevocationStream>> {
        Ok(None)
    }
}

crate::sql::shared_store_impl!(SqliteStore, Sqlite, for_update = "");
crate::web::web_store_impl!(SqliteStore);

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma<T>(store: &SqliteStore, name: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + Send + Unpin,
    {
        let sql = sqlx::AssertSqlSafe(format!("PRAGMA {name}"));
        let (value,): (T,) = sqlx::query_as(sql).fetch_one(&store.pool).await.unwrap();
        value
    }

    #[tokio::test]
    async fn every_connection_is_durable_and_checks_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nested/dir/g.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(pragma::<String>(&store, "journal_mode").await, "wal");
        // 2 = FULL: the WAL is synced at every commit.
        assert_eq!(pragma::<i64>(&store, "synchronous").await, 2);
        assert_eq!(pragma::<i64>(&store, "foreign_keys").await, 1);
        assert_eq!(pragma::<i64>(&store, "busy_timeout").await, 5000);
        store.close().await;
    }

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_one_connection() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        crate::RbacStore::create_role(&store, "reader", "")
            .await
            .unwrap();
        // Still there: every query went to the same, only connection.
        assert!(
            crate::RbacStore::role(&store, "reader")
                .await
                .unwrap()
                .is_some()
        );
        store.close().await;
    }
}
