//! Delivery statuses of outbound messages: they only move forward, each move is kept
//! in the message's history, and a provider's report of a failure that proves an
//! address wrong flags that address in the same transaction.

use chrono::{DateTime, Utc};

use crate::domain::alerts::ContactProblem;
use crate::domain::error::AppError;
use crate::domain::message::{Channel, DeliveryStatus};
use crate::server::alerts;
use crate::server::db::{Db, Tx, TxConn};
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
/// status moves nothing. `channel` is the channel whose endpoint received it (`None`
/// for the sandbox, which serves every channel): a status of another channel's message
/// is refused. An id not stored yet is parked and applied when the message's provider
/// id is recorded: a provider can call back before its answer to the send is stored.
/// A failure that names the address's problem flags it in the same transaction: a
/// callback redelivered after a crash finds the status already failed and would not
/// flag it any more.
#[tracing::instrument(skip_all)]
pub async fn from_provider(
    db: &Db,
    provider_id: &str,
    channel: Option<Channel>,
    status: DeliveryStatus,
    detail: &str,
    problem: Option<ContactProblem>,
    at: DateTime<Utc>,
) -> Result<Option<AppliedStatus>, AppError> {
    let mut tx = db.begin().await?;
    lock_provider_id(&mut tx, provider_id).await?;
    let row: Option<(i64, Channel, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id, channel, address FROM messages WHERE provider_message_id = $1 AND direction = 'outbound'
         LIMIT 1")
        .bind(provider_id).fetch_optional(&mut *c).await)?;
    let Some((message_id, found, address)) = row else {
        park(&mut tx, provider_id, channel, status, detail, problem, at).await?;
        tx.commit().await?;
        return Ok(None);
    };
    refuse_other_channel(channel, found)?;
    let applied = apply(
        &mut tx, message_id, found, &address, status, detail, problem, at,
    )
    .await?;
    tx.commit().await?;
    Ok(applied)
}

/// Serialises the transaction that parks a status for a provider id with the one that
/// records that id on its message: whichever commits second sees the other's work, so
/// no parked status is left behind. SQLite's write transactions are serial already
/// (`BEGIN IMMEDIATE`); PostgreSQL takes a lock on the id until the commit. Advisory
/// locks belong to the whole database, so the key carries the schema: organisations
/// (or test runs) in other schemas of one server never wait on each other's ids.
async fn lock_provider_id(tx: &mut Tx, provider_id: &str) -> Result<(), AppError> {
    if let TxConn::Postgres(c) = tx.conn() {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.' || $1, 0))",
        )
        .bind(provider_id)
        .execute(&mut **c)
        .await?;
    }
    Ok(())
}

fn refuse_other_channel(endpoint: Option<Channel>, message: Channel) -> Result<(), AppError> {
    match endpoint {
        Some(e) if e != message => Err(AppError::invalid(
            "channel",
            format!(
                "Ese estado es de un mensaje de {}, no de {}.",
                message.label(),
                e.label()
            ),
        )),
        _ => Ok(()),
    }
}

/// Moves the message and flags its address when the failure proves it wrong.
#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut Tx,
    message_id: i64,
    channel: Channel,
    address: &str,
    status: DeliveryStatus,
    detail: &str,
    problem: Option<ContactProblem>,
    at: DateTime<Utc>,
) -> Result<Option<AppliedStatus>, AppError> {
    let Some(client_id) = advance(tx, message_id, status, detail, at).await? else {
        return Ok(None);
    };
    let flagged = match (status, problem, channel.contact_kind()) {
        (DeliveryStatus::Failed, Some(problem), Some(kind)) => {
            alerts::contact_failed_in(tx, kind, address, problem, Some(message_id), at).await?
        }
        _ => Vec::new(),
    };
    Ok(Some(AppliedStatus {
        message_id,
        client_id,
        channel,
        address: address.to_string(),
        flagged,
    }))
}

/// How long a status waits for its message before it is dropped: a provider id that
/// never shows up in that time is not one of ours.
const PARKED_DAYS: i64 = 7;

async fn park(
    tx: &mut Tx,
    provider_id: &str,
    channel: Option<Channel>,
    status: DeliveryStatus,
    detail: &str,
    problem: Option<ContactProblem>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let now = crate::server::clock::now();
    let channel = channel.map_or("", |c| c.as_str());
    let problem = problem.map(|p| p.as_str());
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM parked_statuses WHERE received_at < $1")
            .bind(now - chrono::Duration::days(PARKED_DAYS)).execute(&mut *c).await?;
        sqlx::query(
            "INSERT INTO parked_statuses (provider_message_id, channel, status, detail, problem, at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(provider_id).bind(channel).bind(status.as_str()).bind(detail).bind(problem)
            .bind(at).bind(now).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Applies, in the order the provider dated them, the statuses parked for a provider id
/// just recorded on a message, and forgets them. A parked status of another channel's
/// endpoint is dropped, as it would have been refused.
async fn unpark(
    tx: &mut Tx,
    message_id: i64,
    provider_id: &str,
) -> Result<Vec<AppliedStatus>, AppError> {
    type Parked = (String, String, String, Option<String>, DateTime<Utc>);
    let parked: Vec<Parked> = on_tx!(tx, c => sqlx::query_as(
        "SELECT channel, status, detail, problem, at FROM parked_statuses
         WHERE provider_message_id = $1 ORDER BY at, id")
        .bind(provider_id).fetch_all(&mut *c).await)?;
    if parked.is_empty() {
        return Ok(Vec::new());
    }
    on_tx!(tx, c => sqlx::query("DELETE FROM parked_statuses WHERE provider_message_id = $1")
        .bind(provider_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let (channel, address): (Channel, String) = on_tx!(tx, c => sqlx::query_as(
        "SELECT channel, address FROM messages WHERE id = $1")
        .bind(message_id).fetch_one(&mut *c).await)?;
    let mut applied = Vec::new();
    for (endpoint, status, detail, problem, at) in parked {
        let endpoint = (!endpoint.is_empty())
            .then(|| endpoint.parse::<Channel>())
            .transpose()
            .map_err(|_| crate::server::db::corrupt("parked status channel", endpoint.clone()))?;
        if refuse_other_channel(endpoint, channel).is_err() {
            tracing::warn!(provider_id, "parked status of another channel dropped");
            continue;
        }
        let status: DeliveryStatus = status
            .parse()
            .map_err(|_| crate::server::db::corrupt("parked status", status.clone()))?;
        let problem = problem
            .map(|p| p.parse::<ContactProblem>())
            .transpose()
            .map_err(|_| crate::server::db::corrupt("parked problem", provider_id.to_string()))?;
        applied.extend(
            apply(
                tx, message_id, channel, &address, status, &detail, problem, at,
            )
            .await?,
        );
    }
    Ok(applied)
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
            provider_took(&mut tx, message_id, sid, "Llamando a tu teléfono", now).await?;
        }
        Err(e) => {
            advance(&mut tx, message_id, DeliveryStatus::Failed, e, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A provider took the message under `provider_id`: its callbacks name the message by
/// it. The message is sent, and the statuses that came before this answer apply now.
pub(super) async fn provider_took(
    tx: &mut Tx,
    message_id: i64,
    provider_id: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    lock_provider_id(tx, provider_id).await?;
    on_tx!(tx, c => sqlx::query("UPDATE messages SET provider_message_id = $2 WHERE id = $1")
        .bind(message_id).bind(provider_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    advance(tx, message_id, DeliveryStatus::Sent, detail, now).await?;
    unpark(tx, message_id, provider_id).await?;
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
