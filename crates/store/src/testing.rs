//! Throwaway databases for tests, here and in the crates above (feature `testing`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), gatehouse_store::StoreError> {
//! use gatehouse_store::testing::TestDatabase;
//! let db = TestDatabase::postgres().await?;
//! let store = gatehouse_store::connect(db.url()).await?;
//! // … test …
//! store.close().await;
//! db.cleanup().await;
//! # Ok(()) }
//! ```

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tempfile::TempDir;

use crate::error::StoreError;

/// Where the tests find a PostgreSQL server they may create databases on.
pub const POSTGRES_URL_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_VAR`] is unset: the local server of the development machines.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance URL from [`POSTGRES_URL_VAR`] or the default.
#[must_use]
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Creates an empty, uniquely named PostgreSQL database and returns its URL. The caller
/// drops it with [`drop_postgres_database`] (or uses [`TestDatabase`], which does).
pub async fn fresh_postgres_url() -> Result<String, StoreError> {
    let admin = PgConnectOptions::from_str(&postgres_admin_url())?;
    let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin.connect().await?;
    // Identifiers cannot be bound as parameters; `name` is made here from hex digits only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(admin.database(&name).to_url_lossy().to_string())
}

/// Drops a database made by [`fresh_postgres_url`], disconnecting whoever is still on it.
pub async fn drop_postgres_database(url: &str) -> Result<(), StoreError> {
    let options = PgConnectOptions::from_str(url)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    // Refuse anything this module did not create.
    if !name.starts_with("gatehouse_test_")
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Ok(());
    }
    let mut conn: PgConnection = PgConnectOptions::from_str(&postgres_admin_url())?
        .connect()
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// Cuts every connection listening on the revocation channel of the PostgreSQL database at
/// `url` (`pg_terminate_backend`), as a network failure or a database restart would; returns
/// how many were cut. For testing that followers of the live feed miss nothing.
pub async fn cut_revocation_listeners(url: &str) -> Result<u64, StoreError> {
    let mut conn = PgConnectOptions::from_str(url)?.connect().await?;
    // A listening connection's last statement is its `LISTEN`.
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND query ILIKE 'LISTEN%' || $1 || '%'",
    )
    .bind(crate::REVOCATION_CHANNEL)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok(u64::try_from(cut.into_iter().filter(|(done,)| *done).count()).unwrap_or(u64::MAX))
}

/// A fresh SQLite file in its own temporary directory, removed when the guard drops.
pub fn fresh_sqlite() -> Result<(TempDir, String), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    Ok((dir, url))
}

/// An empty database of either kind, for one test. Dropping it removes the database, also
/// when the test panicked.
pub struct TestDatabase {
    url: String,
    kind: Kind,
}

enum Kind {
    /// Held only to delete the directory on drop.
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres,
    /// Already cleaned up.
    Gone,
}

impl TestDatabase {
    /// A fresh SQLite file.
    pub fn sqlite() -> Result<Self, StoreError> {
        let (dir, url) = fresh_sqlite()?;
        Ok(Self {
            url,
            kind: Kind::Sqlite(dir),
        })
    }

    /// A fresh PostgreSQL database (see [`fresh_postgres_url`]).
    pub async fn postgres() -> Result<Self, StoreError> {
        Ok(Self {
            url: fresh_postgres_url().await?,
            kind: Kind::Postgres,
        })
    }

    /// The URL to pass to [`connect`](crate::connect).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now (PostgreSQL: `DROP DATABASE … WITH (FORCE)`; SQLite: the
    /// directory). Best effort: a failure here must not fail the test that used it.
    pub async fn cleanup(mut self) {
        if let Kind::Postgres = std::mem::replace(&mut self.kind, Kind::Gone)
            && let Err(error) = drop_postgres_database(&self.url).await
        {
            tracing::warn!(%error, "could not drop test database");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !matches!(self.kind, Kind::Postgres) {
            return;
        }
        // Reached when a test panicked before `cleanup`. Drop cannot await, and the test's
        // runtime may be unwinding, so drop the database from a thread with its own runtime.
        let url = self.url.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(drop_postgres_database(&url));
            }
        });
        let _ = dropper.join();
    }
}
