//! Delivery statuses of outbound messages: they only move forward, each move is kept
//! in the message's history, and a provider's report of a failure that proves an
//! address wrong flags that address in the same transaction.

use chrono::{DateTime, Utc};

use crate::domain::alerts::ContactProblem;
use crate::domain::error::AppError;
use crate::domain::message::{Channel, DeliveryStatus};
use crate::server::alerts;
use crate::server::db::{Db, Tx};
use crate::{on_db, on_tx};

/// Moves an outbound message to `status` if that is forward of where it is
/// (`DeliveryStatus::follows`), with the history row; a status reported twice, or late,
/// changes nothing. Once a provider reports on a message its outbox row is done.
/// Returns the message's client when the status moved.
pub async fn advance(
    tx: &mut Tx,
    message_id: i64,
    status: DeliveryStatus,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let from: Vec<String> = DeliveryStatus::ALL
        .iter()
        .filter(|s| s.follows(status))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    if from.is_empty() {
        return Ok(None);
    }
    // The IN list holds only the enum's own names, never outside text.
    let sql = format!(
        "UPDATE messages SET status = $2 WHERE id = $1 AND direction = 'outbound'
         AND status IN ({}) RETURNING client_id",
        from.join(", ")
    );
    let moved: Option<(Option<i64>,)> = on_tx!(tx, c => sqlx::query_as(&sql)
        .bind(message_id).bind(status.as_str()).fetch_optional(&mut *c).await)?;
    let Some((client_id,)) = moved else {
        return Ok(None);
    };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO message_statuses (message_id, status, detail, at) VALUES ($1, $2, $3, $4)")
        .bind(message_id).bind(status.as_str()).bind(detail).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE outbox SET state = 'sent', worker = NULL, updated_at = $2 WHERE message_id = $1 AND state = 'pending'")
        .bind(message_id).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Read) {
        alerts::delivered(tx, message_id, at).await?;
    }
    if let Some(client_id) = client_id {
        tx.announce(client_id);
    }
    Ok(client_id)
}

/// Records a delivery status of an outbound message (see [`advance`]).
#[tracing::instrument(skip_all)]
pub async fn record(
    db: &Db,
    message_id: i64,
    status: DeliveryStatus,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let exists: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id FROM messages WHERE id = $1 AND direction = 'outbound'")
        .bind(message_id).fetch_optional(&mut *c).await)?;
    if exists.is_none() {
        return Err(AppError::NotFound);
    }
    advance(&mut tx, message_id, status, detail, at).await?;
    tx.commit().await?;
    Ok(())
}

/// The outbound message a provider's status callback is about, once applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedStatus {
    pub message_id: i64,
    pub client_id: i64,
    pub channel: Channel,
    pub address: String,
    /// The clients whose contact point the failure flagged.
    pub flagged: Vec<i64>,
}

/// Applies a provider's status callback to the message with its id; `None` when the
/// status moves nothing. An id not stored (yet) is NotFound: a provider can call back
/// before its answer to the send is recorded, and then retries. A failure that names
/// the address's problem flags it in the same transaction: a callback redelivered after
/// a crash finds the status already failed and would not flag it any more.
#[tracing::instrument(skip_all)]
pub async fn from_provider(
    db: &Db,
    provider_id: &str,
    status: DeliveryStatus,
    detail: &str,
    problem: Option<ContactProblem>,
    at: DateTime<Utc>,
) -> Result<Option<AppliedStatus>, AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, Channel, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id, channel, address FROM messages WHERE provider_message_id = $1 AND direction = 'outbound'
         LIMIT 1")
        .bind(provider_id).fetch_optional(&mut *c).await)?;
    let Some((message_id, channel, address)) = row else {
        return Err(AppError::NotFound);
    };
    let Some(client_id) = advance(&mut tx, message_id, status, detail, at).await? else {
        return Ok(None);
    };
    let flagged = match (status, problem, channel.contact_kind()) {
        (DeliveryStatus::Failed, Some(problem), Some(kind)) => {
            alerts::contact_failed_in(&mut tx, kind, &address, problem, Some(message_id), at)
                .await?
        }
        _ => Vec::new(),
    };
    tx.commit().await?;
    Ok(Some(AppliedStatus {
        message_id,
        client_id,
        channel,
        address,
        flagged,
    }))
}

/// What the provider said of a call just placed: its id (the call is ringing the
/// advisor), or why it did not start.
#[tracing::instrument(skip_all)]
pub async fn call_placed(
    db: &Db,
    message_id: i64,
    outcome: Result<&str, &str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    match outcome {
        Ok(sid) => {
            set_provider_id(&mut tx, message_id, sid).await?;
            advance(
                &mut tx,
                message_id,
                DeliveryStatus::Sent,
                "Llamando a tu teléfono",
                now,
            )
            .await?;
        }
        Err(e) => {
            advance(&mut tx, message_id, DeliveryStatus::Failed, e, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The provider's id for a message it took: its callbacks name the message by it.
pub(super) async fn set_provider_id(
    tx: &mut Tx,
    message_id: i64,
    provider_id: &str,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query("UPDATE messages SET provider_message_id = $2 WHERE id = $1")
        .bind(message_id).bind(provider_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The outbound e-mail a provider id names, with the address it went to.
#[tracing::instrument(skip_all)]
pub async fn outbound_email(db: &Db, provider_id: &str) -> Result<Option<(i64, String)>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, address FROM messages WHERE provider_message_id = $1 AND direction = 'outbound'
         AND channel = 'email' LIMIT 1")
        .bind(provider_id).fetch_optional(p).await)?)
}
