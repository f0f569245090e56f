//! WhatsApp Cloud API webhooks (Meta's shape): the subscription handshake and the
//! `messages` notifications, turned into the callbacks every provider feeds
//! (`webhooks::apply`). The body is verified with `X-Hub-Signature-256` (the same
//! `sha256=<hex HMAC>` scheme, keyed with the app secret) before it is parsed.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::providers::snippet;
use super::webhooks::{Callback, CallbackEvent};
use super::ChannelSetting;
use crate::domain::alerts::ContactProblem;
use crate::domain::message::Channel;
use crate::server::messages::outbox::{Delivery, Outgoing};
use crate::server::signing::{hex, hmac_sha256};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Meta's error codes: the number cannot receive WhatsApp messages.
const UNDELIVERABLE: [i64; 2] = [131026, 131030];
/// Meta's error codes: too many messages; the send is retried, nothing is flagged.
const RATE_LIMITED: [i64; 3] = [130429, 131048, 131056];

/// Meta's temporary errors: the API is briefly unavailable.
const TEMPORARY: [i64; 2] = [1, 2];

#[derive(Deserialize)]
struct Sent {
    #[serde(default)]
    messages: Vec<SentId>,
}

#[derive(Deserialize)]
struct SentId {
    id: String,
}

#[derive(Deserialize)]
struct Uploaded {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// What Meta's answer means for the send: its id, or a refusal to retry or not.
fn answer<T>(
    status: reqwest::StatusCode,
    body: &str,
    ok: impl FnOnce(T) -> Option<String>,
) -> Result<String, Delivery>
where
    T: serde::de::DeserializeOwned,
{
    if status.is_success() {
        return serde_json::from_str::<T>(body)
            .ok()
            .and_then(ok)
            .ok_or_else(|| {
                Delivery::Rejected(format!("Meta aceptó sin devolver un id: {}", snippet(body)))
            });
    }
    let error = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|e| e.error);
    let code = error.as_ref().map_or(0, |e| e.code);
    let detail = match &error {
        Some(e) => format!("Meta {}: {}", e.code, e.message),
        None => format!("HTTP {}: {}", status.as_u16(), snippet(body)),
    };
    if status.is_server_error()
        || status.as_u16() == 429
        || RATE_LIMITED.contains(&code)
        || TEMPORARY.contains(&code)
    {
        Err(Delivery::Retry(detail))
    } else {
        Err(Delivery::Rejected(detail))
    }
}

fn not_reached(e: reqwest::Error) -> Delivery {
    if e.is_timeout() {
        Delivery::Retry("Meta no respondió a tiempo".into())
    } else {
        Delivery::Retry(format!("no se pudo conectar con Meta: {e}"))
    }
}

/// Sends a message through the Cloud API: `POST {base}/{phone number id}/messages` with
/// the access token. A template goes as `template` with its parameters; a file is
/// uploaded first (`/media`) and goes as image or document with the text as caption;
/// anything else as text.
pub async fn send(http: &reqwest::Client, setting: &ChannelSetting, m: &Outgoing) -> Delivery {
    let base = format!(
        "{}/{}",
        setting.base_url.trim_end_matches('/'),
        setting.sender.trim()
    );
    let to = m.to.trim_start_matches('+');
    let payload = if let Some(t) = &m.template {
        let mut template = json!({"name": t.name, "language": {"code": t.language}});
        if !t.params.is_empty() {
            let params: Vec<_> = t
                .params
                .iter()
                .map(|p| json!({"type": "text", "text": p}))
                .collect();
            template["components"] = json!([{"type": "body", "parameters": params}]);
        }
        json!({"messaging_product": "whatsapp", "to": to, "type": "template", "template": template})
    } else if let Some(file) = m.attachments.first() {
        let part = match reqwest::multipart::Part::bytes(file.content.clone())
            .file_name(file.file_name.clone())
            .mime_str(&file.content_type)
        {
            Ok(p) => p,
            Err(e) => return Delivery::Rejected(format!("tipo de archivo no válido: {e}")),
        };
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", file.content_type.clone())
            .part("file", part);
        let uploaded = match http
            .post(format!("{base}/media"))
            .bearer_auth(&setting.secret)
            .multipart(form)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return not_reached(e),
        };
        let status = uploaded.status();
        let body = uploaded.text().await.unwrap_or_default();
        let media = match answer::<Uploaded>(status, &body, |u| Some(u.id)) {
            Ok(id) => id,
            Err(d) => return d,
        };
        let kind = if file.content_type.starts_with("image/") {
            "image"
        } else {
            "document"
        };
        let mut media_object = json!({"id": media, "caption": m.body});
        if kind == "document" {
            media_object["filename"] = json!(file.file_name);
        }
        json!({"messaging_product": "whatsapp", "to": to, "type": kind, kind: media_object})
    } else {
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
               "type": "text", "text": {"preview_url": true, "body": m.body}})
    };
    let sent = match http
        .post(format!("{base}/messages"))
        .bearer_auth(&setting.secret)
        .json(&payload)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return not_reached(e),
    };
    let status = sent.status();
    let body = sent.text().await.unwrap_or_default();
    match answer::<Sent>(status, &body, |s| {
        s.messages.into_iter().next().map(|m| m.id)
    }) {
        Ok(id) => Delivery::Accepted(id),
        Err(d) => d,
    }
}

#[derive(Deserialize)]
struct PhoneNumber {
    #[serde(default)]
    display_phone_number: String,
    #[serde(default)]
    verified_name: String,
}

/// "Probar conexión": reads the sender's phone number with the access token.
pub async fn probe(http: &reqwest::Client, setting: &ChannelSetting) -> Result<String, String> {
    let url = format!(
        "{}/{}?fields=display_phone_number,verified_name",
        setting.base_url.trim_end_matches('/'),
        setting.sender.trim()
    );
    let r = http
        .get(url)
        .bearer_auth(&setting.secret)
        .send()
        .await
        .map_err(|e| format!("No se pudo conectar con Meta: {e}"))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if status.is_success() {
        let n: PhoneNumber = serde_json::from_str(&body)
            .map_err(|_| format!("Meta respondió algo inesperado: {}", snippet(&body)))?;
        return Ok(format!(
            "Conectado: {} ({}).",
            n.verified_name, n.display_phone_number
        ));
    }
    Err(match serde_json::from_str::<ErrorBody>(&body) {
        Ok(e) => format!(
            "Meta rechazó las credenciales ({}): {}",
            e.error.code, e.error.message
        ),
        Err(_) => format!(
            "Meta respondió HTTP {}: {}",
            status.as_u16(),
            snippet(&body)
        ),
    })
}

/// The verify token to paste into Meta's webhook settings for a channel: derived from
/// a server key, so that it needs no storage and differs per installation.
pub fn verify_token(key: &[u8], channel: Channel) -> String {
    let label = format!("whatsapp-verify:{}", channel.as_str());
    hex(&hmac_sha256(key, &[label.as_bytes()])[..16])
}

/// The handshake's answer: the challenge, when the mode and token are right.
pub fn handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected: &str,
) -> Option<String> {
    use subtle_eq::eq;
    (mode == Some("subscribe") && token.is_some_and(|t| eq(t.as_bytes(), expected.as_bytes())))
        .then(|| challenge.unwrap_or_default().to_string())
}

/// Constant-time equality for the verify token.
mod subtle_eq {
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    messages: Vec<Inbound>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Inbound {
    id: String,
    from: String,
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    text: Option<Text>,
    button: Option<Text>,
    image: Option<Media>,
    document: Option<Media>,
    audio: Option<Media>,
    video: Option<Media>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(alias = "text")]
    body: String,
}

#[derive(Deserialize)]
struct Media {
    caption: Option<String>,
    filename: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: Option<String>,
    #[serde(default)]
    errors: Vec<MetaError>,
}

#[derive(Deserialize)]
struct MetaError {
    code: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
}

fn at(timestamp: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(timestamp?.parse().ok()?, 0)
}

/// What an inbound message says, as text: its body, or what kind of file it carries.
fn body_of(m: &Inbound) -> String {
    if let Some(t) = m.text.as_ref().or(m.button.as_ref()) {
        return t.body.clone();
    }
    let (label, media) = match m.kind.as_str() {
        "image" => ("Imagen", &m.image),
        "document" => ("Documento", &m.document),
        "audio" => ("Audio", &m.audio),
        "video" => ("Video", &m.video),
        other => return format!("[Mensaje de tipo «{other}»]"),
    };
    let detail = media
        .as_ref()
        .and_then(|x| x.caption.clone().or_else(|| x.filename.clone()))
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    format!("[{label}{detail}]")
}

/// Meta's notification as provider callbacks for `channel`; `Err` when it is not one.
pub fn callback(body: &[u8], channel: Channel) -> Result<Callback, String> {
    let n: Notification = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    for value in n
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .filter(|c| c.field == "messages")
        .map(|c| c.value)
    {
        for m in &value.messages {
            events.push(CallbackEvent::Message {
                id: m.id.clone(),
                channel: channel.as_str().into(),
                from: m.from.clone(),
                body: body_of(m),
                at: at(m.timestamp.as_deref()),
            });
        }
        for s in value.statuses {
            let error = s.errors.first();
            let retry = error.is_some_and(|e| RATE_LIMITED.contains(&e.code));
            let problem = error
                .filter(|e| UNDELIVERABLE.contains(&e.code))
                .map(|_| ContactProblem::WhatsAppUnavailable.as_str().to_string());
            events.push(CallbackEvent::Status {
                id: s.id,
                status: s.status,
                at: at(s.timestamp.as_deref()),
                error: error.map(|e| {
                    let text = if e.message.is_empty() {
                        &e.title
                    } else {
                        &e.message
                    };
                    format!("{}: {text}", e.code)
                }),
                problem,
                retry,
            });
        }
    }
    Ok(Callback { events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(value: &str) -> Vec<u8> {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        )
        .into_bytes()
    }

    #[test]
    fn the_handshake_answers_only_the_right_token() {
        let token = verify_token(b"clave", Channel::WhatsApp);
        assert_eq!(token.len(), 32);
        assert_ne!(token, verify_token(b"clave", Channel::WhatsAppBusiness));
        assert_eq!(
            handshake(Some("subscribe"), Some(&token), Some("1158201444"), &token).as_deref(),
            Some("1158201444")
        );
        assert_eq!(
            handshake(Some("subscribe"), Some("otro"), Some("1"), &token),
            None
        );
        assert_eq!(
            handshake(Some("unsubscribe"), Some(&token), Some("1"), &token),
            None
        );
        assert_eq!(handshake(Some("subscribe"), None, Some("1"), &token), None);
    }

    #[test]
    fn messages_and_statuses_become_callbacks() {
        let body = notification(
            r#"{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"Ana"},"wa_id":"573001112233"}],
               "messages":[
                 {"from":"573001112233","id":"wamid.1","timestamp":"1763900000","type":"text","text":{"body":"Hola"}},
                 {"from":"573001112233","id":"wamid.2","timestamp":"1763900001","type":"image","image":{"caption":"comprobante","id":"m1"}},
                 {"from":"573001112233","id":"wamid.3","timestamp":"1763900002","type":"sticker","sticker":{"id":"s"}}],
               "statuses":[
                 {"id":"wamid.out1","status":"delivered","timestamp":"1763900003","recipient_id":"573001112233"},
                 {"id":"wamid.out2","status":"failed","timestamp":"1763900004","recipient_id":"573001112233",
                  "errors":[{"code":131026,"title":"Message undeliverable"}]},
                 {"id":"wamid.out3","status":"failed","timestamp":"1763900005","recipient_id":"573001112233",
                  "errors":[{"code":130429,"title":"Rate limit hit"}]}]}"#,
        );
        let c = callback(&body, Channel::WhatsApp).unwrap();
        let bodies: Vec<String> = c
            .events
            .iter()
            .filter_map(|e| match e {
                CallbackEvent::Message { body, .. } => Some(body.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            bodies,
            [
                "Hola",
                "[Imagen: comprobante]",
                "[Mensaje de tipo «sticker»]"
            ]
        );
        let statuses: Vec<(String, Option<String>, Option<String>, bool)> = c
            .events
            .into_iter()
            .filter_map(|e| match e {
                CallbackEvent::Status {
                    status,
                    error,
                    problem,
                    retry,
                    at,
                    ..
                } => {
                    assert!(at.is_some());
                    Some((status, error, problem, retry))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            statuses,
            [
                ("delivered".into(), None, None, false),
                (
                    "failed".into(),
                    Some("131026: Message undeliverable".into()),
                    Some("whatsapp_unavailable".into()),
                    false
                ),
                (
                    "failed".into(),
                    Some("130429: Rate limit hit".into()),
                    None,
                    true
                ),
            ]
        );
    }

    #[test]
    fn other_fields_and_bad_bodies() {
        let other = br#"{"entry":[{"changes":[{"field":"account_update","value":{}}]}]}"#;
        assert!(callback(other, Channel::WhatsApp)
            .unwrap()
            .events
            .is_empty());
        assert!(callback(b"no es json", Channel::WhatsApp).is_err());
    }
}
