//! SQL state through sqlx: conversations, schedule runs, audit log, dedupe keys.
//! Plain async functions, no business rules; the same SQL runs on SQLite and
//! PostgreSQL. Must not import bot, channels or sources.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Runs the same query text against whichever backend the store holds. The
/// body is type-checked once per backend, so binds and row types must suit both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}

mod audit;
mod cache;
mod conversations;
mod dedupe;
mod pending;
mod runs;
mod signatures;
mod triage;
mod web_reports;

pub use audit::AuditEntry;
pub use conversations::{MAX_TURNS_PER_THREAD, Role, TURN_TTL, Turn};
pub use runs::{Claim, PartState, RunLease};

/// Migrations for the embedded SQLite database.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
/// Migrations for PostgreSQL (same tables; only identity columns differ).
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How long cached answers are kept by [`Store::purge_expired`].
pub const CACHE_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres:`; only the scheme is kept, never credentials.
    #[error("unsupported store URL scheme {0:?}; use sqlite://path or postgres://...")]
    UnsupportedUrl(String),
    /// The database rejected a query or could not be reached.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Running the migrations at start failed.
    #[error("running store migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (e.g. a timestamp out of range).
    #[error("bad stored value: {0}")]
    BadData(String),
}

/// The database behind a [`Store`].
#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Handle to the bot's database; cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// For a SQLite file: connections to the same file whose commits are not synced to disk
    /// (`synchronous = NORMAL`), used only for Slack request signatures. See
    /// [`Store::first_use_of_signature`] for what that trades.
    pub(crate) unsynced: Option<SqlitePool>,
}

impl std::fmt::Debug for Store {
    // The URL may hold a password, so only the backend kind is shown.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        formatter
            .debug_struct("Store")
            .field("backend", &kind)
            .finish()
    }
}

impl Store {
    /// Opens `sqlite://path` (the file is created if missing) or `postgres://...`
    /// and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let mut unsynced = None;
        let backend = match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                // Each connection to `sqlite::memory:` is its own database, so keep
                // exactly one, and never let the pool close it.
                let in_memory = url.contains(":memory:");
                let mut pool_options = SqlitePoolOptions::new().max_connections(4);
                if in_memory {
                    pool_options = pool_options
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                }
                let pool = pool_options.connect_with(options.clone()).await?;
                SQLITE_MIGRATOR.run(&pool).await?;
                // A second connection to `sqlite::memory:` would be another database.
                if !in_memory {
                    // WAL with synchronous = NORMAL: a commit is written to the log but not
                    // fsynced; the next checkpoint (or a FULL commit on the main pool) syncs
                    // it. Writes are serialized by SQLite itself, so two connections suffice.
                    unsynced = Some(
                        SqlitePoolOptions::new()
                            .max_connections(2)
                            .connect_with(options.synchronous(SqliteSynchronous::Normal))
                            .await?,
                    );
                }
                Backend::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                POSTGRES_MIGRATOR.run(&pool).await?;
                Backend::Postgres(pool)
            }
            other => return Err(StoreError::UnsupportedUrl(other.to_string())),
        };
        Ok(Store { backend, unsynced })
    }

    /// Deletes expired dedupe keys, Slack request signatures, confirmations, conversation
    /// turns, cache entries and web reports.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now_secs = now.timestamp();
        let turns_before = (now - TURN_TTL).timestamp();
        let cache_before = (now - CACHE_TTL).timestamp();
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM dedupe_keys WHERE expires_at <= $1")
                .bind(now_secs)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM slack_request_signatures WHERE expires_at <= $1")
                .bind(now_secs)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM pending_confirmations WHERE expires_at <= $1")
                .bind(now_secs)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM conversation_turns WHERE created_at < $1")
                .bind(turns_before)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM answer_cache WHERE updated_at < $1")
                .bind(cache_before)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM web_reports WHERE expires_at <= $1")
                .bind(now_secs)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Closes the pool, waiting for connections to return.
    pub async fn close(&self) {
        if let Some(unsynced) = &self.unsynced {
            unsynced.close().await;
        }
        on_pool!(self, pool => pool.close().await)
    }
}

/// Reads epoch seconds back into a timestamp.
pub(crate) fn from_epoch(seconds: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| StoreError::BadData(format!("timestamp {seconds} out of range")))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh SQLite store in a temporary directory for unit tests.

    use super::Store;

    /// Opens a store on a new file; keep the directory alive as long as the store.
    pub(crate) async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::connect(&url).await.expect("open store");
        (store, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_unknown_scheme_without_echoing_the_url() {
        let err = Store::connect("mysql://user:secret@host/db")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl(ref scheme) if scheme == "mysql"));
        assert!(!err.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn creates_the_file_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url).await.unwrap();
        store.mark_triaged("", 7, Utc::now()).await.unwrap();
        store.close().await;
        assert!(path.exists());
        let reopened = Store::connect(&url).await.unwrap();
        assert!(!reopened.mark_triaged("", 7, Utc::now()).await.unwrap());
    }

    #[tokio::test]
    async fn in_memory_database_keeps_its_state() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        assert!(store.mark_triaged("", 1, Utc::now()).await.unwrap());
        assert!(!store.mark_triaged("", 1, Utc::now()).await.unwrap());
    }

    #[tokio::test]
    async fn purge_removes_only_expired_rows() {
        let (store, _dir) = testing::sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let hour = chrono::TimeDelta::hours(1);
        assert!(store.first_time("old", now - hour * 2, hour).await.unwrap());
        assert!(store.first_time("fresh", now, hour).await.unwrap());
        store.purge_expired(now).await.unwrap();
        let remaining: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM dedupe_keys").fetch_one(pool).await.unwrap()
        });
        assert_eq!(remaining, 1);
    }
}
