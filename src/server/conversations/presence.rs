//! The heartbeats of open conversations (see `domain::presence`): each one records that
//! its user has the conversation open (or is writing in it) and answers who else has.
//! A table rather than process memory, so that colleagues on other server processes
//! see each other.

use chrono::{DateTime, Utc};

use crate::domain::error::AppError;
use crate::domain::presence::{present, Beat, Colleague, SEEN_FOR};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::access;
use crate::server::db::Db;

pub async fn beat(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    beat: Beat,
    now: DateTime<Utc>,
) -> Result<Vec<Colleague>, AppError> {
    access::ensure_visible(db, viewer, client_id, now).await?;
    let me = viewer.user_id;
    match beat {
        // A beat without a keystroke leaves the last keystroke's time: it fades alone.
        Beat::Viewing => on_db!(db, p => sqlx::query(
            "INSERT INTO presence (user_id, client_id, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, user_id) DO UPDATE SET seen_at = excluded.seen_at")
            .bind(me).bind(client_id).bind(now).execute(p).await.map(|r| r.rows_affected()))?,
        Beat::Typing => on_db!(db, p => sqlx::query(
            "INSERT INTO presence (user_id, client_id, seen_at, typing_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (client_id, user_id)
             DO UPDATE SET seen_at = excluded.seen_at, typing_at = excluded.typing_at")
            .bind(me).bind(client_id).bind(now).execute(p).await.map(|r| r.rows_affected()))?,
    };
    let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = on_db!(db, p => sqlx::query_as(
        "SELECT u.name, p.seen_at, p.typing_at FROM presence p JOIN users u ON u.id = p.user_id
         WHERE p.client_id = $1 AND p.user_id <> $2 AND p.seen_at >= $3")
        .bind(client_id).bind(me).bind(now - SEEN_FOR).fetch_all(p).await)?;
    Ok(present(rows, now))
}

/// Deletes heartbeats older than `before`; returns how many.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, AppError> {
    let deleted = on_db!(db, p => sqlx::query("DELETE FROM presence WHERE seen_at < $1")
        .bind(before).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(deleted)
}
