//! The providers that take a message from the outbox to the debtor, and what they say
//! back: accepted (with their id for the message), worth another try, or refused.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

use super::webhooks::{Callback, CallbackEvent};
use super::{effective_provider, ChannelSetting};
use crate::domain::alerts::ContactProblem;
use crate::domain::channels::ProviderKind;
use crate::domain::message::{Channel, DeliveryStatus};
use crate::server::messages::outbox::{Delivery, Outgoing};
use crate::server::signing::sign;

/// The relay's answer to a send.
#[derive(Deserialize)]
struct Accepted {
    id: String,
}

/// The first characters of a provider's answer, for the error shown to users.
pub(super) fn snippet(body: &str) -> String {
    let t: String = body.trim().chars().take(200).collect();
    if t.is_empty() {
        "sin detalle".into()
    } else {
        t
    }
}

/// Providers for every channel, sharing one HTTP client.
#[derive(Clone)]
pub struct Providers {
    pub http: reqwest::Client,
    pub demo: bool,
    pub sandbox: Sandbox,
    /// Where providers that are told per message (Twilio) post their status callbacks:
    /// this app's public origin.
    pub origin: Option<String>,
}

impl Providers {
    pub fn new(timeout: Duration, demo: bool, sandbox: Sandbox) -> Self {
        Providers {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("the HTTP client's settings are valid"),
            demo,
            sandbox,
            origin: None,
        }
    }

    /// "Probar conexión": checks the channel's credentials against its provider; the
    /// provider's own refusal comes back in Spanish.
    pub async fn probe(&self, setting: &ChannelSetting) -> Result<String, String> {
        match effective_provider(setting, self.demo) {
            None => Err(format!(
                "{} no tiene proveedor configurado.",
                setting.channel.label()
            )),
            Some(ProviderKind::Sandbox) => Ok("El sandbox no necesita credenciales: listo.".into()),
            Some(ProviderKind::Relay) => relay_probe(&self.http, setting).await,
            Some(ProviderKind::WhatsAppCloud) => super::whatsapp::probe(&self.http, setting).await,
            Some(ProviderKind::Twilio) => super::twilio::probe(&self.http, setting).await,
            Some(ProviderKind::Smtp) => {
                let smtp = super::email::smtp::probe(setting).await?;
                if setting.inbound_url.trim().is_empty() {
                    return Ok(format!(
                        "{smtp} Sin buzón IMAP: las respuestas no se leerán."
                    ));
                }
                let imap = super::email::imap::probe(setting).await?;
                Ok(format!("{smtp} {imap}"))
            }
        }
    }

    pub async fn send(&self, setting: &ChannelSetting, m: &Outgoing) -> Delivery {
        match effective_provider(setting, self.demo) {
            None => Delivery::Rejected(format!(
                "{} no tiene proveedor configurado (Ajustes de canales).",
                m.channel.label()
            )),
            Some(ProviderKind::Sandbox) => self.sandbox.send(&self.http, m),
            Some(ProviderKind::Relay) => relay(&self.http, setting, m).await,
            Some(ProviderKind::WhatsAppCloud) => {
                super::whatsapp::send(&self.http, setting, m).await
            }
            Some(ProviderKind::Twilio) => {
                let callback = self
                    .origin
                    .as_ref()
                    .map(|o| format!("{o}{}", super::twilio::CALLBACK_PATH));
                super::twilio::send(&self.http, setting, m, callback).await
            }
            Some(ProviderKind::Smtp) => super::email::smtp::send(setting, m).await,
        }
    }
}

/// "Probar conexión" for a relay: its base URL must answer the token with a 2xx.
async fn relay_probe(http: &reqwest::Client, setting: &ChannelSetting) -> Result<String, String> {
    let r = http
        .get(setting.base_url.trim_end_matches('/'))
        .bearer_auth(&setting.secret)
        .send()
        .await
        .map_err(|e| format!("No se pudo conectar con el proveedor: {e}"))?;
    let status = r.status();
    if status.is_success() {
        Ok("El proveedor respondió correctamente.".into())
    } else {
        let body = r.text().await.unwrap_or_default();
        Err(format!(
            "El proveedor respondió HTTP {}: {}",
            status.as_u16(),
            snippet(&body)
        ))
    }
}

async fn relay(http: &reqwest::Client, setting: &ChannelSetting, m: &Outgoing) -> Delivery {
    let url = format!("{}/messages", setting.base_url.trim_end_matches('/'));
    let sent = http
        .post(&url)
        .bearer_auth(&setting.secret)
        .header("Idempotency-Key", &m.idempotency_key)
        .json(m)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Delivery::Retry("el proveedor no respondió a tiempo".into())
        }
        Err(e) => return Delivery::Retry(format!("no se pudo conectar con el proveedor: {e}")),
    };
    let status = response.status();
    let asked = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, crate::server::clock::now()));
    let body = match response.text().await {
        Ok(body) => body,
        // The provider began to answer and may have taken the message: the next attempt
        // carries the same idempotency key, so a relay that took it does not send twice.
        Err(e) => return Delivery::Retry(format!("la respuesta del proveedor se cortó: {e}")),
    };
    if status.is_success() {
        return match serde_json::from_str::<Accepted>(&body) {
            Ok(a) if !a.id.trim().is_empty() => Delivery::Accepted(a.id),
            _ => Delivery::Rejected(format!(
                "el proveedor aceptó sin devolver un id: {}",
                snippet(&body)
            )),
        };
    }
    let detail = format!("HTTP {}: {}", status.as_u16(), snippet(&body));
    // Timeouts, rate limits and server errors pass; other refusals would repeat.
    if status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429) {
        match asked {
            Some(wait) => Delivery::RetryAfter(detail, wait),
            None => Delivery::Retry(detail),
        }
    } else {
        Delivery::Rejected(detail)
    }
}

/// The longest `Retry-After` obeyed: a wrong header must not hold a message for good.
const LONGEST_ASKED_WAIT: chrono::Duration = chrono::Duration::days(1);

/// How long a provider asked to be left alone: `Retry-After` in seconds or as an HTTP
/// date, at most a day. `None` when the header says nothing readable.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::Duration> {
    let value = value.trim();
    let wait = match value.parse::<u32>() {
        Ok(secs) => chrono::Duration::seconds(i64::from(secs)),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.to_utc() - now).max(chrono::Duration::zero())
        }
    };
    Some(wait.min(LONGEST_ASKED_WAIT))
}

/// The built-in provider for demos and trials: it takes every send at once and then,
/// after the delays a phone or mail server would take, posts the delivery and read
/// callbacks to the app's own webhook, signed like any provider's. Addresses at
/// `rebote.example` and numbers ending in seven zeros fail, as a bounce or an unreachable
/// number would.
#[derive(Clone)]
pub struct Sandbox {
    pub callback_url: String,
    pub key: Vec<u8>,
    /// Seconds before "delivered", and again before "read".
    pub delay: (f64, f64),
}

/// The failure the sandbox plays for an address, if any.
pub fn sandbox_failure(channel: Channel, to: &str) -> Option<(ContactProblem, &'static str)> {
    if channel == Channel::Email {
        return to.ends_with("@rebote.example").then_some((
            ContactProblem::EmailNotFound,
            "550 5.1.1 El buzón no existe",
        ));
    }
    if !to.ends_with("0000000") {
        return None;
    }
    Some(match channel {
        Channel::WhatsApp | Channel::WhatsAppBusiness => (
            ContactProblem::WhatsAppUnavailable,
            "131026: el número no tiene WhatsApp",
        ),
        _ => (
            ContactProblem::WrongPhone,
            "30003: número inexistente o suspendido",
        ),
    })
}

impl Sandbox {
    fn send(&self, http: &reqwest::Client, m: &Outgoing) -> Delivery {
        let id = format!(
            "sbx-{}-{:08x}",
            m.idempotency_key,
            rand::thread_rng().gen::<u32>()
        );
        let mut steps: Vec<(DeliveryStatus, Option<(ContactProblem, &str)>)> = Vec::new();
        match sandbox_failure(m.channel, &m.to) {
            Some(f) => steps.push((DeliveryStatus::Failed, Some(f))),
            None => {
                steps.push((DeliveryStatus::Delivered, None));
                // Only WhatsApp reports reading; SMS and plain e-mail do not.
                if matches!(m.channel, Channel::WhatsApp | Channel::WhatsAppBusiness) {
                    steps.push((DeliveryStatus::Read, None));
                }
            }
        }
        let events: Vec<(f64, CallbackEvent)> = steps
            .into_iter()
            .enumerate()
            .map(|(i, (status, failure))| {
                let base = if i == 0 { self.delay.0 } else { self.delay.1 };
                (
                    base * rand::thread_rng().gen_range(0.75..1.25),
                    CallbackEvent::Status {
                        id: id.clone(),
                        status: status.as_str().into(),
                        at: None,
                        error: failure.map(|f| f.1.to_string()),
                        problem: failure.map(|f| f.0.as_str().to_string()),
                        retry: false,
                    },
                )
            })
            .collect();
        let (http, url, key) = (http.clone(), self.callback_url.clone(), self.key.clone());
        tokio::spawn(async move {
            for (wait, mut event) in events {
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                if let CallbackEvent::Status { at, .. } = &mut event {
                    *at = Some(crate::server::clock::now());
                }
                let body = serde_json::to_vec(&Callback {
                    events: vec![event],
                })
                .expect("callbacks serialise");
                post_signed(&http, &url, &key, body).await;
            }
        });
        Delivery::Accepted(id)
    }

    /// A debtor's answer, posted as an inbound message through the webhook.
    pub async fn reply(&self, http: &reqwest::Client, channel: Channel, from: &str, body: &str) {
        let event = CallbackEvent::Message {
            id: format!("sbx-in-{:016x}", rand::thread_rng().gen::<u64>()),
            channel: channel.as_str().into(),
            from: from.into(),
            body: body.into(),
            at: Some(crate::server::clock::now()),
        };
        let body = serde_json::to_vec(&Callback {
            events: vec![event],
        })
        .expect("callbacks serialise");
        post_signed(http, &self.callback_url, &self.key, body).await;
    }
}

/// Posts a signed callback, retrying a few times as providers do while the app is
/// restarting; after that the callback is lost, as a provider's would be.
async fn post_signed(http: &reqwest::Client, url: &str, key: &[u8], body: Vec<u8>) {
    let signature = sign(key, &body);
    for attempt in 0..5u32 {
        let posted = http
            .post(url)
            .header("content-type", "application/json")
            .header(super::webhooks::SIGNATURE_HEADER, &signature)
            .body(body.clone())
            .send()
            .await;
        match posted {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = %r.status(), "sandbox callback refused"),
            Err(e) => tracing::warn!(error = %e, "sandbox callback failed"),
        }
        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_fails_reserved_addresses_only() {
        assert_eq!(
            sandbox_failure(Channel::Email, "ana@rebote.example").map(|f| f.0),
            Some(ContactProblem::EmailNotFound)
        );
        assert_eq!(sandbox_failure(Channel::Email, "ana@example.com"), None);
        assert_eq!(
            sandbox_failure(Channel::WhatsApp, "+573000000000").map(|f| f.0),
            Some(ContactProblem::WhatsAppUnavailable)
        );
        assert_eq!(
            sandbox_failure(Channel::Sms, "+573000000000").map(|f| f.0),
            Some(ContactProblem::WrongPhone)
        );
        assert_eq!(sandbox_failure(Channel::Sms, "+573001234567"), None);
    }

    #[test]
    fn a_provider_asking_to_wait_is_obeyed_up_to_a_day() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T15:00:00Z")
            .unwrap()
            .to_utc();
        let secs = |v: &str| retry_after(v, now).map(|d| d.num_seconds());
        assert_eq!(secs("120"), Some(120));
        assert_eq!(secs(" 0 "), Some(0));
        assert_eq!(secs("Mon, 23 Nov 2026 15:01:30 GMT"), Some(90));
        assert_eq!(
            secs("Mon, 23 Nov 2026 14:00:00 GMT"),
            Some(0),
            "a date past"
        );
        assert_eq!(secs("9999999"), Some(86_400), "at most a day");
        assert_eq!(secs("-5"), None);
        assert_eq!(secs("pronto"), None);
        assert_eq!(secs(""), None);
    }
}
