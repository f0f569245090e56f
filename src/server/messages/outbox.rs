//! The outbox: an outbound message is written together with its outbox row, and
//! dispatchers (`channels::dispatcher`) deliver the rows through the channel's
//! provider. A dispatcher claims a batch by marking the rows as its own until a lease
//! ends (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two processes never claim the
//! same row; SQLite writes one transaction at a time). A dispatcher that dies leaves
//! its rows to be claimed again when the lease runs out, so an accepted message is
//! never lost; it may then reach the provider twice, with the same idempotency key.
//! Failures are retried with exponential backoff and jitter until the provider
//! accepts, refuses for good, or the attempts run out.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::status::{advance, provider_took};
use crate::domain::error::AppError;
use crate::domain::message::{AttachmentInput, Channel, DeliveryStatus};
use crate::domain::templates::whatsapp_name;
use crate::server::db::{Db, Pool, Tx};
use crate::{on_db, on_tx};

/// A message as it leaves for its provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outgoing {
    /// The same key on every attempt of a message, so that a provider that keeps keys
    /// can drop the copy of a retried send that had reached it.
    pub idempotency_key: String,
    pub channel: Channel,
    pub to: String,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentInput>,
    /// Sent from a template: how WhatsApp knows it.
    pub template: Option<OutgoingTemplate>,
    /// E-mail: the Message-IDs of the conversation this message follows, oldest first;
    /// the last is the one it answers.
    #[serde(default)]
    pub thread: Vec<String>,
    /// E-mail: the one-click unsubscribe address its headers offer.
    #[serde(default)]
    pub unsubscribe: Option<String>,
}

/// A template as WhatsApp takes it: its registered name and language, and the tags'
/// values as ordered parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingTemplate {
    pub name: String,
    pub language: String,
    pub params: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Taken, with the provider's id for it.
    Accepted(String),
    /// Not taken this time (timeout, rate limit, the provider down): try again later.
    Retry(String),
    /// Not taken this time, and the provider said how long to wait (`Retry-After`): the
    /// next attempt waits at least that long, or the backoff if it is longer.
    RetryAfter(String, chrono::Duration),
    /// Refused for good (bad address, bad credentials, a malformed message).
    Rejected(String),
}

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// How long a claim lasts: well above a provider call's timeout.
    pub lease: chrono::Duration,
    pub request_timeout: std::time::Duration,
    /// Attempts before a message fails for good.
    pub max_attempts: i32,
    pub base_delay: chrono::Duration,
    pub max_delay: chrono::Duration,
    pub batch: i64,
    pub concurrency: usize,
    /// How often an idle dispatcher looks for due rows written by other processes.
    pub poll: std::time::Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lease: chrono::Duration::seconds(60),
            request_timeout: std::time::Duration::from_secs(15),
            max_attempts: 8,
            base_delay: chrono::Duration::seconds(5),
            max_delay: chrono::Duration::hours(1),
            batch: 50,
            concurrency: 8,
            poll: std::time::Duration::from_secs(1),
        }
    }
}

/// The wait before attempt `attempts + 1`: doubling from the base delay up to the cap,
/// then a random point in its upper half (`unit` in 0..1), so that a provider coming
/// back from an outage is not hit by every retry at once.
pub fn retry_delay(attempts: i32, policy: &Policy, unit: f64) -> chrono::Duration {
    let exp = policy.base_delay.num_milliseconds() as f64 * 2f64.powi((attempts - 1).clamp(0, 30));
    let capped = exp.min(policy.max_delay.num_milliseconds() as f64);
    chrono::Duration::milliseconds((capped * (0.5 + 0.5 * unit.clamp(0.0, 1.0))) as i64)
}

/// Queues a message written in `tx` for delivery from `due` on; one due now wakes this
/// process's dispatcher when the transaction commits.
pub(super) async fn enqueue(
    tx: &mut Tx,
    message_id: i64,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO outbox (message_id, state, due_at, created_at, updated_at) VALUES ($1, 'pending', $2, $3, $3)")
        .bind(message_id).bind(due).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if due <= now {
        tx.wake_outbox();
    }
    Ok(())
}

/// Claims up to a batch of due rows for `worker`; returns (message id, attempt number).
#[tracing::instrument(skip_all)]
pub async fn claim(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<(i64, i32)>, AppError> {
    const PICK: &str = "SELECT message_id FROM outbox
        WHERE state IN ('pending', 'sending') AND due_at <= $3 ORDER BY due_at LIMIT $4";
    let lease_end = now + policy.lease;
    let rows: Vec<(i64, i32)> = match db.pool() {
        Pool::Postgres(p) => {
            sqlx::query_as(&format!(
                "UPDATE outbox SET state = 'sending', worker = $1, due_at = $2, attempts = attempts + 1, updated_at = $3
                 WHERE message_id IN ({PICK} FOR UPDATE SKIP LOCKED) RETURNING message_id, attempts"
            ))
            .bind(worker).bind(lease_end).bind(now).bind(policy.batch)
            .fetch_all(p).await?
        }
        Pool::Sqlite(p) => {
            sqlx::query_as(&format!(
                "UPDATE outbox SET state = 'sending', worker = $1, due_at = $2, attempts = attempts + 1, updated_at = $3
                 WHERE message_id IN ({PICK}) RETURNING message_id, attempts"
            ))
            .bind(worker).bind(lease_end).bind(now).bind(policy.batch)
            .fetch_all(p).await?
        }
    };
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct OutgoingRow {
    channel: Channel,
    address: String,
    cc: String,
    bcc: String,
    subject: String,
    body: String,
    template_params: String,
    template_name: Option<String>,
}

/// The language WhatsApp templates are registered in.
pub const TEMPLATE_LANGUAGE: &str = "es";

/// The message of an outbox row as its provider receives it.
#[tracing::instrument(skip_all)]
pub async fn outgoing(db: &Db, message_id: i64) -> Result<Outgoing, AppError> {
    let m: OutgoingRow = on_db!(db, p => sqlx::query_as(
        "SELECT m.channel, m.address, m.cc, m.bcc, m.subject, m.body, m.template_params,
                t.name AS template_name
         FROM messages m LEFT JOIN templates t ON t.id = m.template_id WHERE m.id = $1")
        .bind(message_id).fetch_one(p).await)?;
    let template = m
        .template_name
        .map(|name| -> Result<OutgoingTemplate, AppError> {
            Ok(OutgoingTemplate {
                name: whatsapp_name(&name),
                language: TEMPLATE_LANGUAGE.into(),
                params: serde_json::from_str(&m.template_params).map_err(|e| {
                    crate::server::db::corrupt("template parameters", e.to_string())
                })?,
            })
        })
        .transpose()?;
    let files: Vec<AttachmentInput> = on_db!(db, p => sqlx::query_as(
        "SELECT file_name, content_type, content FROM message_attachments WHERE message_id = $1 ORDER BY id")
        .bind(message_id).fetch_all(p).await)?;
    let list = |s: String| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    };
    let thread = if m.channel == Channel::Email {
        email_thread(db, message_id).await?
    } else {
        Vec::new()
    };
    Ok(Outgoing {
        idempotency_key: format!("recaudo-{message_id}"),
        channel: m.channel,
        to: m.address,
        cc: list(m.cc),
        bcc: list(m.bcc),
        subject: m.subject,
        body: m.body,
        attachments: files,
        template,
        thread,
        unsubscribe: None,
    })
}

/// The e-mail thread a message follows: the Message-IDs of the earlier e-mails of its
/// conversation tab, oldest first, so the debtor's mail client shows one thread. Only
/// real Message-IDs (with an `@`): a sandbox's or relay's ids are not.
async fn email_thread(db: &Db, message_id: i64) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT e.provider_message_id FROM messages m
         JOIN messages e ON e.client_id = m.client_id AND e.party_role = m.party_role
            AND e.party_ordinal = m.party_ordinal AND e.channel = 'email' AND e.id < m.id
            AND e.provider_message_id LIKE '%@%'
         WHERE m.id = $1 ORDER BY e.id DESC LIMIT 10")
        .bind(message_id).fetch_all(p).await)?;
    Ok(rows.into_iter().rev().map(|(id,)| id).collect())
}

/// Records what the provider said of a claimed row. Nothing happens when the claim was
/// lost (the lease ran out and another worker took the row).
#[tracing::instrument(skip_all)]
pub async fn settle(
    db: &Db,
    worker: &str,
    message_id: i64,
    attempts: i32,
    delivery: Delivery,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let (state, due, error, terminal) = match &delivery {
        Delivery::Accepted(_) => ("sent", now, String::new(), None),
        Delivery::Retry(e) | Delivery::RetryAfter(e, _) if attempts < policy.max_attempts => {
            let asked = match &delivery {
                Delivery::RetryAfter(_, wait) => *wait,
                _ => chrono::Duration::zero(),
            };
            let wait = retry_delay(attempts, policy, rand::thread_rng().gen()).max(asked);
            ("pending", now + wait, e.clone(), None)
        }
        Delivery::Retry(e) | Delivery::RetryAfter(e, _) => (
            "failed",
            now,
            e.clone(),
            Some(format!("Sin éxito tras {attempts} intentos: {e}")),
        ),
        Delivery::Rejected(e) => ("failed", now, e.clone(), Some(e.clone())),
    };
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE outbox SET state = $1, due_at = $2, last_error = $3, worker = NULL, updated_at = $4
         WHERE message_id = $5 AND worker = $6 AND state = 'sending'")
        .bind(state).bind(due).bind(&error).bind(now).bind(message_id).bind(worker)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(());
    }
    match (&delivery, terminal) {
        (Delivery::Accepted(provider_id), _) => {
            provider_took(&mut tx, message_id, provider_id, "", now).await?;
        }
        (_, Some(detail)) => {
            advance(&mut tx, message_id, DeliveryStatus::Failed, &detail, now).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(())
}

/// Sends again a message its provider accepted and then dropped for a passing reason
/// (a rate limit), after the backoff its attempts call for; past the last attempt it
/// fails.
#[tracing::instrument(skip_all)]
pub async fn requeue(
    db: &Db,
    provider_id: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let policy = Policy::default();
    let mut tx = db.begin().await?;
    let row: Option<(i64, i32)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT o.message_id, o.attempts FROM outbox o JOIN messages m ON m.id = o.message_id
         WHERE m.provider_message_id = $1 AND m.direction = 'outbound'")
        .bind(provider_id).fetch_optional(&mut *c).await)?;
    let Some((message_id, attempts)) = row else {
        return Err(AppError::NotFound);
    };
    if attempts >= policy.max_attempts {
        let detail = format!("Sin éxito tras {attempts} intentos: {detail}");
        advance(&mut tx, message_id, DeliveryStatus::Failed, &detail, now).await?;
        return Ok(tx.commit().await?);
    }
    let due = now + retry_delay(attempts, &policy, rand::thread_rng().gen());
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE outbox SET state = 'pending', due_at = $2, last_error = $3, worker = NULL, updated_at = $4
         WHERE message_id = $1 AND state = 'sent'")
        .bind(message_id).bind(due).bind(detail).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let p = Policy::default();
        let secs = |a, u| retry_delay(a, &p, u).num_milliseconds() as f64 / 1000.0;
        assert_eq!(secs(1, 1.0), 5.0);
        assert_eq!(secs(1, 0.0), 2.5);
        assert_eq!(secs(2, 1.0), 10.0);
        assert_eq!(secs(4, 1.0), 40.0);
        assert_eq!(secs(20, 1.0), 3600.0, "capped at the maximum");
        assert_eq!(secs(20, 0.0), 1800.0);
        for a in 1..10 {
            assert!(secs(a, 0.3) <= secs(a + 1, 0.3));
        }
    }
}
