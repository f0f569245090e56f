//! One database handle over SQLite (embedded default) and PostgreSQL. Repositories write
//! each statement once, with `$n` placeholders that both engines accept, and run it
//! through [`on_db!`] / [`on_tx!`], which expand the body once per engine so that every
//! row type and bind is checked against both drivers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::domain::error::AppError;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Runs `$body` with `$conn` bound to the pool of whichever engine `$db` is.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($conn) => $body,
            $crate::server::db::Db::Postgres($conn) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of the open transaction `$tx`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects to `url`: `postgres://…` (or `postgresql://…`) for PostgreSQL, anything
    /// else is a SQLite URL or file path. The SQLite file and its folder are created.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Self::connect_with_schema(url, None).await
    }

    /// As [`Db::connect`], with PostgreSQL's `search_path` set to `schema`: tests and
    /// benchmarks get an isolated schema on a shared server.
    pub async fn connect_with_schema(url: &str, schema: Option<&str>) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = PgConnectOptions::from_str(url)?;
            if let Some(schema) = schema {
                options = options.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-65536");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        }
    }

    /// A handle for one long read, such as a download: on SQLite a connection of its own
    /// with a small page cache, so that pages read once do not fill the pool's caches
    /// (64 MB per connection) and the process's memory; on PostgreSQL the pool itself.
    pub async fn long_reader(&self) -> Result<Db, sqlx::Error> {
        match self {
            Db::Postgres(_) => Ok(self.clone()),
            Db::Sqlite(pool) => {
                let options = (*pool.connect_options())
                    .clone()
                    .pragma("cache_size", "-8192");
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Db::Sqlite(pool))
            }
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// SQLITE_BUSY when another writer got in between, instead of waiting its turn.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Refreshes the planner's statistics after a bulk load, so it keeps choosing the
    /// index-driven plans the lists rely on. On PostgreSQL the vacuum also sets the
    /// visibility map, without which "index-only" scans of fresh rows read the table.
    pub async fn refresh_statistics(&self) -> Result<(), sqlx::Error> {
        match self {
            // Each SQLite connection reads the statistics when it opens and keeps them,
            // so the pool's other connections would go on planning with the old ones
            // and the same query would take different plans depending on the
            // connection it got. Every idle connection reloads them; one busy right now
            // catches up when the pool retires it (sqlx's default lifetime: 30 minutes).
            Db::Sqlite(p) => {
                sqlx::query("ANALYZE").execute(p).await?;
                let mut idle = Vec::new();
                while let Some(c) = p.try_acquire() {
                    idle.push(c);
                }
                for c in &mut idle {
                    sqlx::query("ANALYZE sqlite_schema").execute(&mut **c).await?;
                }
                Ok(())
            }
            Db::Postgres(p) => sqlx::raw_sql(
                "VACUUM (ANALYZE) clients, parties, contact_points, debts, client_search_terms, messages, message_statuses",
            )
            .execute(p)
            .await
            .map(drop),
        }
    }

    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// A database failure becomes the opaque `Internal`; its cause stays in the server log.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

/// A stored value the code cannot read: logged with what it was, answered as `Internal`.
pub fn corrupt(what: &str, e: String) -> AppError {
    tracing::error!(error = %e, what, "unexpected value in database");
    AppError::Internal
}

/// Parses a stored text value (an enum's stored name), or reports it [`corrupt`].
pub fn decode<T: std::str::FromStr<Err = String>>(what: &str, s: &str) -> Result<T, AppError> {
    s.parse().map_err(|e| corrupt(what, e))
}

/// The id an `INSERT … RETURNING id` or `UPDATE … RETURNING id` gave back: NotFound
/// when the update matched no row, `taken()` when a unique name was already in use.
pub fn saved_id(
    saved: Result<Option<(i64,)>, sqlx::Error>,
    taken: impl FnOnce() -> AppError,
) -> Result<i64, AppError> {
    match saved {
        Ok(Some((id,))) => Ok(id),
        Ok(None) => Err(AppError::NotFound),
        Err(e) if is_unique_violation(&e) => Err(taken()),
        Err(e) => Err(e.into()),
    }
}

/// Whether `e` is a unique-constraint violation (document or e-mail already taken).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
