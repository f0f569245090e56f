//! Provider callbacks: delivery statuses and inbound messages, posted to
//! `/api/webhooks/…` and signed with HMAC-SHA256 over the raw body. The signature is
//! checked before the body is parsed; every event is applied in its own transaction
//! and only a fully applied callback is acknowledged, so a provider's redelivery is
//! safe: a status already reached changes nothing and a known message id is not
//! stored twice. A status for a message id not stored yet is answered 404, so that
//! the provider tries again once the send's answer is recorded.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::alerts::ContactProblem;
use crate::domain::conversation::{Channel, DeliveryStatus, InboundMessage};
use crate::domain::error::AppError;
use crate::server::channels::outbox;
use crate::server::conversations;
use crate::server::db::{decode, Db};

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

/// `sha256=` and the hex HMAC of the body.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", hex(&digest))
}

/// Bytes as lower-case hex text.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex text; `None` unless every pair is a hex byte.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `header` is the body's signature under `key`, compared in constant time.
pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(expected) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(unhex)
    else {
        return false;
    };
    if key.is_empty() {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Applies a verified callback's events; returns the clients whose conversations changed
/// and still have to be announced (a status change announces itself on PostgreSQL).
pub async fn apply(db: &Db, callback: Callback, now: DateTime<Utc>) -> Result<Vec<i64>, AppError> {
    let mut changed = Vec::new();
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
                    changed.extend(outbox::requeue(db, &id, &detail, now).await?);
                    continue;
                }
                let status: DeliveryStatus = decode("status", &status).map_err(|_| {
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
                let Some(applied) =
                    conversations::provider_status(db, &id, status, &detail, problem, at).await?
                else {
                    continue;
                };
                if !applied.announced {
                    changed.push(applied.client_id);
                }
                changed.extend(applied.flagged);
            }
            CallbackEvent::Message {
                id,
                channel,
                from,
                body,
                at,
            } => {
                let channel: Channel = decode("channel", &channel).map_err(|_| {
                    AppError::invalid("channel", format!("Canal desconocido: «{channel}»."))
                })?;
                let mut message = InboundMessage::new(channel, &from, &body, at.unwrap_or(now));
                message.provider_message_id = Some(id);
                changed.extend(conversations::ingest(db, message, now).await?.client_ids);
            }
        }
    }
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_the_exact_body_and_key() {
        let key = b"secreto";
        let body = br#"{"events":[]}"#;
        let sig = sign(key, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(key, body, Some(&sig)));
        assert!(
            !verify(key, br#"{"events":[ ]}"#, Some(&sig)),
            "a changed byte"
        );
        assert!(!verify(b"otra", body, Some(&sig)), "another key");
        assert!(!verify(key, body, None), "no header");
        assert!(!verify(key, body, Some("sha256=zz")), "not hex");
        assert!(!verify(key, body, Some(&sig[7..])), "no scheme");
        assert!(
            !verify(b"", body, Some(&sign(b"", body))),
            "no key configured"
        );
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
