//! The audit trail: who did what to which record, and every denied access.

use chrono::{DateTime, Utc};

use crate::domain::error::AppError;
use crate::server::db::{Db, Tx};
use crate::{on_db, on_tx};

const INSERT: &str =
    "INSERT INTO audit_log (at, user_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5)";

/// Records inside the caller's transaction, so the entry exists exactly when the change does.
pub async fn record(
    tx: &mut Tx,
    user_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(INSERT).bind(now).bind(user_id).bind(action).bind(subject).bind(detail)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes row `id` of `table` (a name from our own code, never from input) and records
/// who did: `{kind}.delete` on `{kind}:{id}`. NotFound when there is no such row.
pub async fn delete_recorded(
    tx: &mut Tx,
    user_id: i64,
    table: &'static str,
    kind: &str,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let sql = format!("DELETE FROM {table} WHERE id = $1");
    let n = on_tx!(tx, c => sqlx::query(&sql).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    record(
        tx,
        Some(user_id),
        &format!("{kind}.delete"),
        &format!("{kind}:{id}"),
        "",
        now,
    )
    .await
}

/// Records a refused read, which changes nothing and so has no transaction of its own.
pub async fn denied(
    db: &Db,
    user_id: i64,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    tracing::warn!(user_id, subject, "access denied");
    on_db!(db, p => sqlx::query(INSERT).bind(now).bind(Some(user_id)).bind("access.denied").bind(subject).bind("")
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub user_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The newest entries first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as::<_, AuditEntry>(
        "SELECT user_id, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1")
        .bind(limit).fetch_all(p).await)?)
}
