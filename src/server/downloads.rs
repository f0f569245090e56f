//! The progress of report downloads ([`crate::domain::downloads`]): a row per download
//! in flight, written by the server streaming the file at most a few times a second and
//! read by the page that started it, which may be talking to another server.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::downloads::{check_token, DownloadProgress, DownloadState};
use crate::domain::error::AppError;
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::clock;
use crate::server::db::Db;

/// The most often a download writes its progress: a million rows come in a thousand
/// chunks, and the page asks twice a second.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// What a stopped download tells the page: the browser cancelled it or the connection
/// dropped before the end.
pub const INTERRUPTED: &str = "La descarga se interrumpió antes de terminar: vuelva a intentarlo.";

/// One download's progress as the server streams it. Dropped before [`Tracker::done`]
/// or [`Tracker::failed`] (the browser went away), it marks the download interrupted.
pub struct Tracker {
    db: Db,
    user_id: i64,
    token: String,
    rows: i64,
    bytes: i64,
    reported: Instant,
    ended: bool,
}

impl Tracker {
    /// Starts following a download under `token`, which the page chose; a token used
    /// before by the same user starts again from nothing.
    pub async fn start(db: &Db, viewer: &Viewer, token: &str) -> Result<Tracker, AppError> {
        check_token(token).map_err(|e| AppError::invalid("descarga", e))?;
        on_db!(db, p => sqlx::query(
            "INSERT INTO downloads (user_id, token, state, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, token) DO UPDATE SET rows_written = 0, bytes_written = 0,
                 total_rows = NULL, state = excluded.state, error = '', updated_at = excluded.updated_at")
            .bind(viewer.user_id).bind(token).bind(DownloadState::Running.as_str()).bind(clock::now())
            .execute(p).await.map(drop))?;
        Ok(Tracker {
            db: db.clone(),
            user_id: viewer.user_id,
            token: token.to_string(),
            rows: 0,
            bytes: 0,
            reported: Instant::now(),
            ended: false,
        })
    }

    /// Counts rows and bytes handed to the connection; nothing is written.
    pub fn count(&mut self, rows: usize, bytes: usize) {
        self.rows += rows as i64;
        self.bytes += bytes as i64;
    }

    /// Writes the counts if the last write is old enough. A failed write costs the
    /// page one update, never the download.
    pub async fn report(&mut self) {
        if self.reported.elapsed() < REPORT_EVERY {
            return;
        }
        self.reported = Instant::now();
        if let Err(e) = self.write(DownloadState::Running, "").await {
            tracing::warn!(error = %e.reason(), "download progress not written");
        }
    }

    pub async fn done(mut self) {
        self.ended = true;
        if let Err(e) = self.write(DownloadState::Done, "").await {
            tracing::warn!(error = %e.reason(), "download end not written");
        }
    }

    pub async fn failed(mut self, why: &str) {
        self.ended = true;
        if let Err(e) = self.write(DownloadState::Failed, why).await {
            tracing::warn!(error = %e.reason(), "download failure not written");
        }
    }

    async fn write(&self, state: DownloadState, error: &str) -> Result<(), AppError> {
        write(
            &self.db,
            self.user_id,
            &self.token,
            (self.rows, self.bytes),
            state,
            error,
        )
        .await
    }
}

/// Moves a running download on: a row that already ended (a refusal recorded its
/// reason) is left as it is.
async fn write(
    db: &Db,
    user_id: i64,
    token: &str,
    (rows, bytes): (i64, i64),
    state: DownloadState,
    error: &str,
) -> Result<(), AppError> {
    on_db!(db, p => sqlx::query(
        "UPDATE downloads SET rows_written = $1, bytes_written = $2, state = $3, error = $4, updated_at = $5
         WHERE user_id = $6 AND token = $7 AND state = $8")
        .bind(rows).bind(bytes).bind(state.as_str()).bind(error).bind(clock::now())
        .bind(user_id).bind(token).bind(DownloadState::Running.as_str())
        .execute(p).await.map(drop))?;
    Ok(())
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (db, user_id, token) = (
            self.db.clone(),
            self.user_id,
            std::mem::take(&mut self.token),
        );
        let counts = (self.rows, self.bytes);
        runtime.spawn(async move {
            let written = write(
                &db,
                user_id,
                &token,
                counts,
                DownloadState::Failed,
                INTERRUPTED,
            );
            if let Err(e) = written.await {
                tracing::warn!(error = %e.reason(), "interrupted download not written");
            }
        });
    }
}

/// Counts the rows the file will hold beside the download (the count takes as long as
/// reading a few chunks, and the first bytes do not wait for it), and tells the page.
pub fn count_beside<F>(tracker: &Tracker, count: F)
where
    F: std::future::Future<Output = Result<i64, AppError>> + Send + 'static,
{
    let (db, user_id, token) = (tracker.db.clone(), tracker.user_id, tracker.token.clone());
    tokio::spawn(async move {
        let written = match count.await {
            Ok(total) => on_db!(&db, p => sqlx::query(
                "UPDATE downloads SET total_rows = $1 WHERE user_id = $2 AND token = $3")
                .bind(total).bind(user_id).bind(&token).execute(p).await.map(drop))
            .map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e.reason(), "download total not counted");
        }
    });
}

/// A download refused before its first byte (a bad filter), told to the page that is
/// waiting for it. Written whatever its row says, so it is the last word even if the
/// tracker the refusal dropped writes "interrupted" after it.
pub async fn refused(db: &Db, viewer: &Viewer, token: &str, why: &str) -> Result<(), AppError> {
    check_token(token).map_err(|e| AppError::invalid("descarga", e))?;
    on_db!(db, p => sqlx::query(
        "INSERT INTO downloads (user_id, token, state, error, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, token) DO UPDATE SET state = excluded.state, error = excluded.error,
             updated_at = excluded.updated_at")
        .bind(viewer.user_id).bind(token).bind(DownloadState::Failed.as_str()).bind(why).bind(clock::now())
        .execute(p).await.map(drop))?;
    Ok(())
}

/// The viewer's own download under `token`; `None` before its server has started it.
pub async fn progress(
    db: &Db,
    viewer: &Viewer,
    token: &str,
) -> Result<Option<DownloadProgress>, AppError> {
    check_token(token).map_err(|e| AppError::invalid("descarga", e))?;
    let row: Option<(i64, i64, Option<i64>, String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT rows_written, bytes_written, total_rows, state, error FROM downloads
         WHERE user_id = $1 AND token = $2")
        .bind(viewer.user_id).bind(token).fetch_optional(p).await)?;
    row.map(|(rows, bytes, total, state, error)| {
        let state = DownloadState::parse(&state)
            .ok_or_else(|| AppError::internal(format!("download state {state}")))?;
        Ok(DownloadProgress {
            rows,
            bytes,
            total,
            state,
            error,
        })
    })
    .transpose()
}

/// Deletes the progress of downloads not heard of since `before`; returns how many.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, AppError> {
    let deleted = on_db!(db, p => sqlx::query("DELETE FROM downloads WHERE updated_at < $1")
        .bind(before).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(deleted)
}
