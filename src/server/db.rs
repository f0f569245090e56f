//! One database handle over SQLite (embedded default) and PostgreSQL. Repositories write
//! each statement once, with `$n` placeholders that both engines accept, and run it
//! through [`on_db!`] / [`on_tx!`], which expand the body once per engine so that every
//! row type and bind is checked against both drivers. A transaction records the
//! conversations it changed and announces them when it commits (see
//! [`crate::server::notify`]).

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::domain::error::AppError;
use crate::server::events;
use crate::server::messages::preflight::Policies;
use crate::server::notify::Notifier;

#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    notifier: Notifier,
    policies: PolicyMemo,
    /// What seals the secrets stored in this database; the demo key until
    /// `open_database` sets the configured one.
    sealer: crate::server::sealed::Sealer,
}

/// The contact policies as last read, with the revision they were read at: shared by
/// every clone of the handle, so requests and scheduler passes skip reading them again.
pub type PolicyMemo = Arc<Mutex<Option<(i64, Arc<Policies>)>>>;

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction, with what it will announce when it commits.
pub struct Tx {
    conn: TxConn,
    notifier: Notifier,
    changed: BTreeSet<i64>,
    queued: bool,
}

pub enum TxConn {
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
        match $db.pool() {
            $crate::server::db::Pool::Sqlite($conn) => $body,
            $crate::server::db::Pool::Postgres($conn) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of the open transaction `$tx`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx.conn() {
            $crate::server::db::TxConn::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::TxConn::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Whether `url` names a PostgreSQL database; anything else is SQLite.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file of a SQLite URL (`sqlite://path`, `sqlite:path` or a bare path), without
/// its options.
pub fn sqlite_path(url: &str) -> &str {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    path.split('?').next().unwrap_or(path)
}

impl Db {
    /// Connects to `url`: `postgres://…` (or `postgresql://…`) for PostgreSQL, anything
    /// else is a SQLite URL or file path. The SQLite file and its folder are created.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Self::connect_with_schema(url, None).await
    }

    /// As [`Db::connect`], with PostgreSQL's `search_path` set to `schema`: tests and
    /// benchmarks get an isolated schema on a shared server.
    pub async fn connect_with_schema(url: &str, schema: Option<&str>) -> Result<Self, sqlx::Error> {
        if is_postgres(url) {
            let mut options = PgConnectOptions::from_str(url)?;
            if let Some(schema) = schema {
                options = options.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::new(Pool::Postgres(pool)))
        } else {
            let path = sqlite_path(url);
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
            Ok(Db::new(Pool::Sqlite(pool)))
        }
    }

    fn new(pool: Pool) -> Db {
        Db {
            pool,
            notifier: Notifier::default(),
            policies: PolicyMemo::default(),
            sealer: crate::server::sealed::Sealer::demo(),
        }
    }

    /// The handle, sealing and opening secrets with `sealer`.
    pub fn with_sealer(mut self, sealer: crate::server::sealed::Sealer) -> Db {
        self.sealer = sealer;
        self
    }

    pub fn sealer(&self) -> &crate::server::sealed::Sealer {
        &self.sealer
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// This process's announcements: what open screens and the dispatcher listen to.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    pub fn policy_memo(&self) -> &PolicyMemo {
        &self.policies
    }

    /// On PostgreSQL, starts hearing the announcements of every server process
    /// (this one's included: they come back through the database). SQLite's come from
    /// this process's own commits.
    pub async fn listen(&self) -> Result<(), sqlx::Error> {
        match &self.pool {
            Pool::Postgres(pool) => self.notifier.listen(pool).await,
            Pool::Sqlite(_) => Ok(()),
        }
    }

    /// A handle for one long read, such as a download: on SQLite a connection of its own
    /// with a small page cache, so that pages read once do not fill the pool's caches
    /// (64 MB per connection) and the process's memory; on PostgreSQL the pool itself.
    pub async fn long_reader(&self) -> Result<Db, sqlx::Error> {
        match &self.pool {
            Pool::Postgres(_) => Ok(self.clone()),
            Pool::Sqlite(pool) => {
                let options = (*pool.connect_options())
                    .clone()
                    .pragma("cache_size", "-8192");
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Db {
                    pool: Pool::Sqlite(pool),
                    notifier: self.notifier.clone(),
                    policies: self.policies.clone(),
                    sealer: self.sealer.clone(),
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// SQLITE_BUSY when another writer got in between, instead of waiting its turn.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let conn = match &self.pool {
            Pool::Sqlite(p) => TxConn::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => TxConn::Postgres(p.begin().await?),
        };
        Ok(Tx {
            conn,
            notifier: self.notifier.clone(),
            changed: BTreeSet::new(),
            queued: false,
        })
    }

    /// Refreshes the planner's statistics after a bulk load, so it keeps choosing the
    /// index-driven plans the lists rely on. On PostgreSQL the vacuum also sets the
    /// visibility map, without which "index-only" scans of fresh rows read the table.
    pub async fn refresh_statistics(&self) -> Result<(), sqlx::Error> {
        match &self.pool {
            // Each SQLite connection reads the statistics when it opens and keeps them,
            // so the pool's other connections would go on planning with the old ones
            // and the same query would take different plans depending on the
            // connection it got. Every idle connection reloads them; one busy right now
            // catches up when the pool retires it (sqlx's default lifetime: 30 minutes).
            Pool::Sqlite(p) => {
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
            Pool::Postgres(p) => sqlx::raw_sql(
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
    pub fn conn(&mut self) -> &mut TxConn {
        &mut self.conn
    }

    /// Records that this client's conversation changed: announced at commit.
    pub fn announce(&mut self, client_id: i64) {
        self.changed.insert(client_id);
    }

    /// Records that a message was queued to go out now: this process's dispatcher is
    /// woken at commit instead of at its next poll.
    pub fn wake_outbox(&mut self) {
        self.queued = true;
    }

    /// Records an event per changed client (see [`crate::server::events`]), commits, then
    /// announces what changed. On PostgreSQL the notifications are sent inside the
    /// transaction, so the database delivers them with the commit (and drops them if it
    /// fails) without a round trip of their own afterwards.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let Tx {
            conn,
            notifier,
            changed,
            queued,
        } = self;
        match conn {
            TxConn::Sqlite(mut t) => {
                if !changed.is_empty() {
                    let ids: Vec<i64> = changed.iter().copied().collect();
                    events::record_sqlite(&mut t, &ids, crate::server::clock::now()).await?;
                }
                t.commit().await?;
                notifier.publish(changed);
            }
            TxConn::Postgres(mut t) => {
                if !changed.is_empty() {
                    let ids: Vec<i64> = changed.into_iter().collect();
                    events::record_postgres(&mut t, &ids, crate::server::clock::now()).await?;
                }
                t.commit().await?;
            }
        }
        if queued {
            notifier.outbox_queued();
        }
        Ok(())
    }
}

/// A database failure becomes the opaque `Internal`; its cause stays in the server log.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal(format!("database: {e}"))
    }
}

/// A stored value the code cannot read: logged with what it was, answered as `Internal`.
pub fn corrupt(what: &str, e: String) -> AppError {
    AppError::internal(format!("unexpected {what} in database: {e}"))
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
