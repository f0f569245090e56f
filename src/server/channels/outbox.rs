//! The outbox: a message is written together with its outbox row, and dispatchers
//! deliver the rows through the channel's provider. A dispatcher claims a batch by
//! marking the rows as its own until a lease ends (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so two processes never claim the same row; SQLite writes
//! one transaction at a time). A dispatcher that dies leaves its rows to be claimed
//! again when the lease runs out, so an accepted message is never lost; it may then
//! reach the provider twice, with the same idempotency key. Failures are retried with
//! exponential backoff and jitter until the provider accepts, refuses for good, or the
//! attempts run out.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::Rng;

use super::providers::{Delivery, Outgoing, OutgoingTemplate, Providers};
use super::{load_all, ChannelSetting};
use crate::domain::conversation::{AttachmentInput, Channel, DeliveryStatus};
use crate::domain::error::AppError;
use crate::domain::templates::whatsapp_name;
use crate::server::conversations::advance_status;
use crate::server::conversations::notify::Notifier;
use crate::server::db::{decode, Db, Tx};
use crate::{on_db, on_tx};

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

/// Queues a message written in `tx` for delivery now.
pub async fn enqueue(tx: &mut Tx, message_id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    enqueue_at(tx, message_id, now, now).await
}

/// Queues a message written in `tx` for delivery from `due` on (an automated message
/// waits for the contact hours).
pub async fn enqueue_at(
    tx: &mut Tx,
    message_id: i64,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO outbox (message_id, state, due_at, created_at, updated_at) VALUES ($1, 'pending', $2, $3, $3)")
        .bind(message_id).bind(due).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Claims up to a batch of due rows for `worker`; returns (message id, attempt number).
pub async fn claim(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<(i64, i32)>, AppError> {
    const PICK: &str = "SELECT message_id FROM outbox
        WHERE state IN ('pending', 'sending') AND due_at <= $3 ORDER BY due_at LIMIT $4";
    let lease_end = now + policy.lease;
    let rows: Vec<(i64, i32)> = match db {
        Db::Postgres(p) => {
            sqlx::query_as(&format!(
                "UPDATE outbox SET state = 'sending', worker = $1, due_at = $2, attempts = attempts + 1, updated_at = $3
                 WHERE message_id IN ({PICK} FOR UPDATE SKIP LOCKED) RETURNING message_id, attempts"
            ))
            .bind(worker).bind(lease_end).bind(now).bind(policy.batch)
            .fetch_all(p).await?
        }
        Db::Sqlite(p) => {
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

type OutgoingRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// The language WhatsApp templates are registered in.
pub const TEMPLATE_LANGUAGE: &str = "es";

/// The message of an outbox row as its provider receives it.
pub async fn outgoing(db: &Db, message_id: i64) -> Result<Outgoing, AppError> {
    let (channel, address, cc, bcc, subject, body, params, template): OutgoingRow = on_db!(db, p => sqlx::query_as(
        "SELECT m.channel, m.address, m.cc, m.bcc, m.subject, m.body, m.template_params, t.name
         FROM messages m LEFT JOIN templates t ON t.id = m.template_id WHERE m.id = $1")
        .bind(message_id).fetch_one(p).await)?;
    let template = template
        .map(|name| -> Result<OutgoingTemplate, AppError> {
            Ok(OutgoingTemplate {
                name: whatsapp_name(&name),
                language: TEMPLATE_LANGUAGE.into(),
                params: serde_json::from_str(&params).map_err(|e| {
                    crate::server::db::corrupt("template parameters", e.to_string())
                })?,
            })
        })
        .transpose()?;
    let files: Vec<(String, String, Vec<u8>)> = on_db!(db, p => sqlx::query_as(
        "SELECT file_name, content_type, content FROM message_attachments WHERE message_id = $1 ORDER BY id")
        .bind(message_id).fetch_all(p).await)?;
    let list = |s: String| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    };
    let channel: Channel = decode("channel", &channel)?;
    let thread = if channel == Channel::Email {
        email_thread(db, message_id).await?
    } else {
        Vec::new()
    };
    Ok(Outgoing {
        idempotency_key: format!("recaudo-{message_id}"),
        channel,
        to: address,
        cc: list(cc),
        bcc: list(bcc),
        subject,
        body,
        attachments: files
            .into_iter()
            .map(|(file_name, content_type, content)| AttachmentInput {
                file_name,
                content_type,
                content,
            })
            .collect(),
        template,
        thread,
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
/// lost (the lease ran out and another worker took the row). Returns the client whose
/// conversation changed.
pub async fn settle(
    db: &Db,
    worker: &str,
    message_id: i64,
    attempts: i32,
    delivery: Delivery,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Option<i64>, AppError> {
    let mut tx = db.begin().await?;
    let (state, due, error, terminal) = match &delivery {
        Delivery::Accepted(_) => ("sent", now, String::new(), None),
        Delivery::Retry(e) if attempts < policy.max_attempts => {
            let wait = retry_delay(attempts, policy, rand::thread_rng().gen());
            ("pending", now + wait, e.clone(), None)
        }
        Delivery::Retry(e) => (
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
        return Ok(None);
    }
    let changed = match (&delivery, terminal) {
        (Delivery::Accepted(provider_id), _) => {
            on_tx!(&mut tx, c => sqlx::query("UPDATE messages SET provider_message_id = $2 WHERE id = $1")
                .bind(message_id).bind(provider_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            advance_status(&mut tx, message_id, DeliveryStatus::Sent, "", now).await?
        }
        (_, Some(detail)) => {
            advance_status(&mut tx, message_id, DeliveryStatus::Failed, &detail, now).await?
        }
        _ => None,
    };
    tx.commit().await?;
    Ok(changed)
}

/// Sends again a message its provider accepted and then dropped for a passing reason
/// (a rate limit), after the backoff its attempts call for; past the last attempt it
/// fails. Returns the client when its status changed.
pub async fn requeue(
    db: &Db,
    provider_id: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
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
        let changed =
            advance_status(&mut tx, message_id, DeliveryStatus::Failed, &detail, now).await?;
        tx.commit().await?;
        return Ok(changed);
    }
    let due = now + retry_delay(attempts, &policy, rand::thread_rng().gen());
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE outbox SET state = 'pending', due_at = $2, last_error = $3, worker = NULL, updated_at = $4
         WHERE message_id = $1 AND state = 'sent'")
        .bind(message_id).bind(due).bind(detail).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(None)
}

/// Delivers the outbox, batch after batch, in one process.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub worker: String,
    pub policy: Policy,
    pub providers: Providers,
    pub notifier: Option<Notifier>,
    /// Woken when this process queues a message, so that it goes out at once.
    pub wake: Arc<tokio::sync::Notify>,
}

impl Dispatcher {
    pub fn new(db: Db, policy: Policy, providers: Providers) -> Self {
        Dispatcher {
            db,
            worker: format!(
                "{}-{:08x}",
                std::process::id(),
                rand::thread_rng().gen::<u32>()
            ),
            policy,
            providers,
            notifier: None,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Claims one batch and delivers it; returns how many rows it handled.
    pub async fn run_once(&self) -> Result<usize, AppError> {
        let claimed = claim(&self.db, &self.worker, Utc::now(), &self.policy).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let settings = load_all(&self.db).await?;
        let n = claimed.len();
        let changed: Vec<i64> = futures::stream::iter(claimed)
            .map(|(id, attempts)| self.deliver(&settings, id, attempts))
            .buffer_unordered(self.policy.concurrency)
            .filter_map(|r| async move {
                match r {
                    Ok(client) => client,
                    Err(e) => {
                        // The row stays claimed and is taken again when its lease ends.
                        tracing::error!(error = %e, "outbox delivery could not be recorded");
                        None
                    }
                }
            })
            .collect()
            .await;
        if let Some(notifier) = &self.notifier {
            notifier.publish(&self.db, &changed).await;
        }
        Ok(n)
    }

    async fn deliver(
        &self,
        settings: &[ChannelSetting],
        message_id: i64,
        attempts: i32,
    ) -> Result<Option<i64>, AppError> {
        let m = outgoing(&self.db, message_id).await?;
        let delivery = match settings.iter().find(|s| s.channel == m.channel) {
            Some(s) if s.active || m.channel == Channel::Call => self.providers.send(s, &m).await,
            Some(_) => Delivery::Rejected(format!(
                "{} no está activo para la organización.",
                m.channel.label()
            )),
            None => Delivery::Rejected(format!("{} no se envía por el outbox.", m.channel.label())),
        };
        settle(
            &self.db,
            &self.worker,
            message_id,
            attempts,
            delivery,
            Utc::now(),
            &self.policy,
        )
        .await
    }

    /// Runs until the process ends.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.policy.poll) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "outbox dispatch failed");
                    tokio::time::sleep(self.policy.poll).await;
                }
            }
        }
    }
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
