//! `recaudo backup`: a consistent copy of the SQLite database, taken while the servers
//! keep writing, and checked before it is called a copy. PostgreSQL has its own tool
//! for this (`pg_dump`), which the README explains.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use crate::server::db::{is_postgres, sqlite_path};

/// What a finished copy holds.
#[derive(Debug)]
pub struct Copied {
    pub tables: usize,
    pub rows: i64,
    pub clients: i64,
    pub messages: i64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "La base es PostgreSQL: respáldala con pg_dump (pg_dump --format=custom --file=recaudo.dump \"$DATABASE_URL\") \
         y restáurala con pg_restore; el README lo explica en «Copias de seguridad»."
    )]
    Postgres,
    #[error("No existe la base SQLite {0}: revisa RECAUDO_DATABASE_URL.")]
    Missing(String),
    #[error("Ya existe {0}: elige otro nombre; una copia nunca sobrescribe otra.")]
    Exists(String),
    #[error("No se pudo tomar la copia: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("La copia no pasó la verificación de integridad ({0}); no se guardó.")]
    Corrupt(String),
    #[error("No se pudo escribir la copia: {0}")]
    Io(#[from] std::io::Error),
}

/// Copies the SQLite database of `url` to `to`. The copy is written beside `to` and
/// only renamed to it once it is on disk and passed SQLite's integrity check, so `to`
/// never names half a copy.
pub async fn sqlite(url: &str, to: &Path) -> Result<Copied, BackupError> {
    if is_postgres(url) {
        return Err(BackupError::Postgres);
    }
    let from = sqlite_path(url);
    if !Path::new(from).is_file() {
        return Err(BackupError::Missing(from.to_string()));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.display().to_string()));
    }
    let partial = partial(to);
    if let Err(e) = std::fs::remove_file(&partial) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e.into());
        }
    }
    let checked = match take(from, &partial).await {
        Ok(()) => check(&partial).await,
        Err(e) => Err(e),
    };
    let copied = match checked {
        Ok(copied) => copied,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // SQLite does not flush the file VACUUM INTO wrote: a crash right after the rename
    // would otherwise leave a copy that looks finished and is not.
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(copied)
}

fn partial(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_owned();
    name.push(".parcial");
    PathBuf::from(name)
}

async fn take(from: &str, into: &Path) -> Result<(), BackupError> {
    let mut source = SqliteConnectOptions::new()
        .filename(from)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await?;
    // VACUUM INTO reads in one transaction: the copy is the database as of one commit,
    // whatever the servers write meanwhile, and writers are not blocked in WAL mode.
    sqlx::query("VACUUM INTO $1")
        .bind(into.to_string_lossy().into_owned())
        .execute(&mut source)
        .await?;
    source.close().await?;
    Ok(())
}

async fn check(copy: &Path) -> Result<Copied, BackupError> {
    // A copy is one self-contained file: the rollback journal instead of the
    // write-ahead log the live database keeps (the server turns it back on when it
    // opens a restored copy).
    let mut c: SqliteConnection = SqliteConnectOptions::new()
        .filename(copy)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await?;
    let problems: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut c)
        .await?;
    if problems.len() != 1 || problems[0].0 != "ok" {
        let found: Vec<String> = problems.into_iter().map(|(p,)| p).take(5).collect();
        return Err(BackupError::Corrupt(found.join("; ")));
    }
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut c)
    .await?;
    let mut copied = Copied {
        tables: tables.len(),
        rows: 0,
        clients: 0,
        messages: 0,
        bytes: std::fs::metadata(copy)?.len(),
    };
    for (table,) in &tables {
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
        let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut c).await?;
        copied.rows += n;
        match table.as_str() {
            "clients" => copied.clients = n,
            "messages" => copied.messages = n,
            _ => {}
        }
    }
    c.close().await?;
    Ok(copied)
}
