//! Provider callbacks: delivery statuses and inbound messages, posted to
//! `/api/webhooks/…` and signed with HMAC-SHA256 over the raw body. The signature is
//! checked (`routes`) before the body is parsed; every event is applied in its own
//! transaction and only a fully applied callback is acknowledged, so a provider's redelivery is
//! safe: a status already reached changes nothing and a known message id is not
//! stored twice. A status for a message id not stored yet is parked and applied when
//! the send's answer is recorded.

use chrono::{DateTime, Duration, Utc};
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

/// How far a provider's own clock may run ahead of ours.
const PROVIDER_SKEW: Duration = Duration::minutes(5);
/// How late a provider may deliver a callback (Meta retries for up to a week).
const PROVIDER_LATE: Duration = Duration::days(7);

/// The instant a provider gives an event, when it is believable; otherwise now. A
/// message dated in the year 9999 would otherwise sit on top of every list for ever.
pub fn provider_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    at.filter(|t| *t <= now + PROVIDER_SKEW && *t >= now - PROVIDER_LATE)
        .unwrap_or(now)
}

/// Applies a verified callback's events, each in its own transaction, which announces
/// what it changed when it commits. `channel` is the channel whose endpoint received
/// the callback (`None`: the sandbox's, which serves every channel); an event of
/// another channel is refused.
#[tracing::instrument(skip_all)]
pub async fn apply(
    db: &Db,
    callback: Callback,
    endpoint: Option<Channel>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
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
                let at = provider_time(at, now);
                let detail = error.unwrap_or_default();
                messages::status::from_provider(db, &id, endpoint, status, &detail, problem, at)
                    .await?;
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
                if endpoint.is_some_and(|e| e != channel) {
                    return Err(AppError::invalid(
                        "channel",
                        format!("Un mensaje de {} no llega por este canal.", channel.label()),
                    ));
                }
                let at = provider_time(at, now);
                let mut message = InboundMessage::new(channel, &from, &body, at);
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
    fn provider_times_are_believed_only_near_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T15:00:00Z")
            .unwrap()
            .to_utc();
        let far = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(provider_time(Some(far), now), now);
        assert_eq!(provider_time(Some(DateTime::<Utc>::MIN_UTC), now), now);
        assert_eq!(provider_time(None, now), now);
        let late = now - Duration::hours(30);
        assert_eq!(provider_time(Some(late), now), late);
        let skewed = now + Duration::minutes(4);
        assert_eq!(provider_time(Some(skewed), now), skewed);
        assert_eq!(provider_time(Some(now + Duration::minutes(6)), now), now);
        assert_eq!(provider_time(Some(now - Duration::days(8)), now), now);
    }

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
