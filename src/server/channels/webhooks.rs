//! Provider callbacks: delivery statuses and inbound messages, posted to
//! `/api/webhooks/…` and signed with HMAC-SHA256 over the raw body. The signature is
//! checked (`routes`) before the body is parsed; every event is applied in its own
//! transaction and only a fully applied callback is acknowledged, so a provider's redelivery is
//! safe: a status already reached changes nothing and a known message id is not
//! stored twice. A status for a message id not stored yet is answered 404, so that
//! the provider tries again once the send's answer is recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::alerts::ContactProblem;
use crate::domain::conversation::InboundMessage;
use crate::domain::error::AppError;
use crate::domain::message::{Channel, DeliveryStatus};
use crate::server::conversations;
use crate::server::db::Db;
use crate::server::messages::{self, outbox};

pub const SIGNATURE_HEADER: &str = "x-recaudo-signature";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub events: Vec<CallbackEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallbackEvent {
    /// A sent message's new status; `problem` names the contactability problem a
    /// failure proves (`email_not_found`, `whatsapp_unavailable`, `wrong_phone`).
    /// `retry`: the provider dropped the message for a passing reason (a rate limit),
    /// so it is sent again instead of failing.
    Status {
        id: String,
        status: String,
        at: Option<DateTime<Utc>>,
        error: Option<String>,
        problem: Option<String>,
        #[serde(default)]
        retry: bool,
    },
    /// A debtor wrote.
    Message {
        id: String,
        channel: String,
        from: String,
        body: String,
        at: Option<DateTime<Utc>>,
    },
}

/// Applies a verified callback's events, each in its own transaction, which announces
/// what it changed when it commits.
#[tracing::instrument(skip_all)]
pub async fn apply(db: &Db, callback: Callback, now: DateTime<Utc>) -> Result<(), AppError> {
    for event in callback.events {
        match event {
            CallbackEvent::Status {
                id,
                status,
                at,
                error,
                problem,
                retry,
            } => {
                if retry {
                    let detail = error.unwrap_or_default();
                    outbox::requeue(db, &id, &detail, now).await?;
                    continue;
                }
                let status: DeliveryStatus = status.parse().map_err(|_| {
                    AppError::invalid("status", format!("Estado desconocido: «{status}»."))
                })?;
                let problem: Option<ContactProblem> = problem
                    .as_deref()
                    .map(|p| {
                        p.parse().map_err(|_| {
                            AppError::invalid("problem", format!("Problema desconocido: «{p}»."))
                        })
                    })
                    .transpose()?;
                let at = at.unwrap_or(now);
                let detail = error.unwrap_or_default();
                messages::status::from_provider(db, &id, status, &detail, problem, at).await?;
            }
            CallbackEvent::Message {
                id,
                channel,
                from,
                body,
                at,
            } => {
                let channel: Channel = channel.parse().map_err(|_| {
                    AppError::invalid("channel", format!("Canal desconocido: «{channel}»."))
                })?;
                let mut message = InboundMessage::new(channel, &from, &body, at.unwrap_or(now));
                message.provider_message_id = Some(id);
                conversations::ingest(db, message, now).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_read_the_documented_shape() {
        let c: Callback = serde_json::from_str(
            r#"{"events":[{"type":"status","id":"p1","status":"delivered","at":null,"error":null,"problem":null},
                {"type":"message","id":"in1","channel":"whatsapp","from":"+573001112233","body":"Hola","at":null}]}"#,
        )
        .unwrap();
        assert_eq!(c.events.len(), 2);
        assert!(
            matches!(&c.events[1], CallbackEvent::Message { from, .. } if from == "+573001112233")
        );
    }
}
