//! SMS through Twilio's Messages API: a form POST with basic auth (account SID and auth
//! token), and the status and inbound callbacks Twilio posts, signed with
//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, over the URL
//! Twilio called followed by every form field's name and value in name order.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use super::providers::snippet;
use super::webhooks::{Callback, CallbackEvent};
use super::ChannelSetting;
use crate::domain::alerts::ContactProblem;
use crate::server::messages::outbox::{Delivery, Outgoing};
use crate::server::signing::{hmac_sha1, verify_sha1};

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// The path Twilio posts to; the status callback URL given with each send.
pub const CALLBACK_PATH: &str = "/api/webhooks/twilio/sms";

/// Twilio's codes for a number that cannot take SMS: unreachable, unknown, landline,
/// not valid, not a mobile.
const UNREACHABLE: [&str; 5] = ["30003", "30005", "30006", "21211", "21614"];
/// Twilio's codes for too many requests or messages.
const RATE_LIMITED: [i64; 2] = [20429, 14107];

/// What Twilio signs: the URL, then each field's name and value in name order. A field
/// repeated with the same value counts once, as Twilio's own validators read it.
fn signed_parts<'a>(url: &'a str, fields: &'a [(String, String)]) -> Vec<&'a [u8]> {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    sorted.dedup();
    std::iter::once(url.as_bytes())
        .chain(
            sorted
                .into_iter()
                .flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()]),
        )
        .collect()
}

/// The signature Twilio sends for a request to `url` with these form fields.
pub fn signature(token: &str, url: &str, fields: &[(String, String)]) -> String {
    STANDARD.encode(hmac_sha1(token.as_bytes(), &signed_parts(url, fields)))
}

/// Whether `header` is the signature of this request, compared in constant time.
/// Twilio signs the URL as it called it, which may carry the scheme's default port or
/// not ("https://host:443/…"): the signature is checked against both spellings, as
/// Twilio's own validators do.
pub fn verify(token: &str, url: &str, fields: &[(String, String)], header: Option<&str>) -> bool {
    let Some(given) = header.and_then(|h| STANDARD.decode(h.trim()).ok()) else {
        return false;
    };
    port_spellings(url)
        .iter()
        .any(|u| verify_sha1(token.as_bytes(), &signed_parts(u, fields), &given))
}

/// The URL as given, without its port and with the scheme's default port.
fn port_spellings(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return out,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (credentials, host) = match authority.rsplit_once('@') {
        Some((c, h)) => (format!("{c}@"), h),
        None => (String::new(), authority),
    };
    let bare = match host.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!h.starts_with('[') || h.ends_with(']')) =>
        {
            h
        }
        _ => host,
    };
    for spelling in [
        format!("{scheme}://{credentials}{bare}{path}"),
        format!("{scheme}://{credentials}{bare}:{default}{path}"),
    ] {
        if !out.contains(&spelling) {
            out.push(spelling);
        }
    }
    out
}

/// The form fields of a body.
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Twilio's callback as provider callbacks: a status (with `MessageStatus`) or an
/// inbound SMS (with `Body`).
pub fn callback(fields: &[(String, String)]) -> Result<Callback, String> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let sid = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or("falta MessageSid")?
        .to_string();
    if let Some(status) = get("MessageStatus") {
        let status = match status {
            "sent" => "sent",
            "delivered" => "delivered",
            "read" => "read",
            "undelivered" | "failed" => "failed",
            // queued, sending, accepted, scheduled: nothing the history needs.
            _ => return Ok(Callback { events: Vec::new() }),
        };
        let code = get("ErrorCode").filter(|c| !c.is_empty());
        return Ok(Callback {
            events: vec![CallbackEvent::Status {
                id: sid,
                status: status.into(),
                at: Some(crate::server::clock::now()),
                error: code.map(|c| {
                    format!(
                        "Twilio {c}: {}",
                        get("ErrorMessage").unwrap_or("mensaje no entregado")
                    )
                }),
                problem: code
                    .filter(|c| UNREACHABLE.contains(c))
                    .map(|_| ContactProblem::WrongPhone.as_str().to_string()),
                retry: false,
            }],
        });
    }
    Ok(Callback {
        events: vec![CallbackEvent::Message {
            id: sid,
            channel: "sms".into(),
            from: get("From").ok_or("falta From")?.to_string(),
            body: get("Body").unwrap_or_default().to_string(),
            at: Some(crate::server::clock::now()),
        }],
    })
}

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    friendly_name: String,
    #[serde(default)]
    status: String,
}

/// "Probar conexión": reads the account with its SID and auth token.
pub async fn probe(http: &reqwest::Client, setting: &ChannelSetting) -> Result<String, String> {
    let (base, account) = account(setting);
    let r = http
        .get(format!("{base}.json"))
        .basic_auth(account, Some(&setting.secret))
        .send()
        .await
        .map_err(|e| format!("No se pudo conectar con Twilio: {e}"))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if status.is_success() {
        let a: Account = serde_json::from_str(&body)
            .map_err(|_| format!("Twilio respondió algo inesperado: {}", snippet(&body)))?;
        return Ok(format!(
            "Conectado a la cuenta «{}» ({}).",
            a.friendly_name, a.status
        ));
    }
    Err(match serde_json::from_str::<TwilioError>(&body) {
        Ok(e) => format!(
            "Twilio rechazó las credenciales ({}): {}",
            e.code, e.message
        ),
        Err(_) => format!(
            "Twilio respondió HTTP {}: {}",
            status.as_u16(),
            snippet(&body)
        ),
    })
}

#[derive(Deserialize)]
pub(super) struct Created {
    pub sid: String,
}

#[derive(Deserialize)]
pub(super) struct TwilioError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// The account's URL without a trailing slash, and its SID (the basic-auth user).
pub(super) fn account(setting: &ChannelSetting) -> (&str, &str) {
    let base = setting.base_url.trim_end_matches('/');
    (base, base.rsplit('/').next().unwrap_or_default())
}

/// Sends an SMS: `POST {account URL}/Messages.json` with basic auth; Twilio reports
/// its statuses to `status_callback` when one is given.
pub async fn send(
    http: &reqwest::Client,
    setting: &ChannelSetting,
    m: &Outgoing,
    status_callback: Option<String>,
) -> Delivery {
    let (base, account) = account(setting);
    let sender = setting.sender.trim();
    let mut form = vec![("To", m.to.clone()), ("Body", m.body.clone())];
    form.push((
        if sender.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        },
        sender.to_string(),
    ));
    if let Some(url) = status_callback {
        form.push(("StatusCallback", url));
    }
    let sent = http
        .post(format!("{base}/Messages.json"))
        .basic_auth(account, Some(&setting.secret))
        .form(&form)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Delivery::Retry("Twilio no respondió a tiempo".into()),
        Err(e) => return Delivery::Retry(format!("no se pudo conectar con Twilio: {e}")),
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        return match serde_json::from_str::<Created>(&body) {
            Ok(c) => Delivery::Accepted(c.sid),
            Err(_) => Delivery::Rejected(format!(
                "Twilio aceptó sin devolver un sid: {}",
                snippet(&body)
            )),
        };
    }
    let error = serde_json::from_str::<TwilioError>(&body).ok();
    let detail = match &error {
        Some(e) => format!("Twilio {}: {}", e.code, e.message),
        None => format!("HTTP {}: {}", status.as_u16(), snippet(&body)),
    };
    if status.is_server_error()
        || status.as_u16() == 429
        || error.is_some_and(|e| RATE_LIMITED.contains(&e.code))
    {
        Delivery::Retry(detail)
    } else {
        Delivery::Rejected(detail)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Form fields from pairs.
    pub(in crate::server::channels) fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The request Twilio's own SDKs validate in their tests (twilio-php and
    /// twilio-csharp, `RequestValidatorTest`): auth token "12345".
    fn documented_request() -> (&'static str, Vec<(String, String)>) {
        (
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            f(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+14158675309"),
                ("Digits", "1234"),
                ("From", "+14158675309"),
                ("To", "+18005551212"),
            ]),
        )
    }

    #[test]
    fn twilio_s_published_signatures_verify() {
        let (url, fields) = documented_request();
        assert_eq!(
            signature("12345", url, &fields),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify(
            "12345",
            url,
            &fields,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
        assert!(!verify("12345", url, &fields, Some("FAIL")));
        // A field sent several times, one value repeated.
        let repeated = f(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert!(verify(
            "12345",
            url,
            &repeated,
            Some("IK+Dwps556ElfBT0I3Rgjkr1wJU=")
        ));
        // Signed with the default port, received without it, and the other way round.
        assert!(verify(
            "12345",
            url,
            &fields,
            Some("kvajT1Ptam85bY51eRf/AJRuM3w=")
        ));
        let http = url.replace("https", "http");
        assert!(verify(
            "12345",
            &http,
            &fields,
            Some("0ZXoZLH/DfblKGATFgpif+LLRf4=")
        ));
        let with_port = url.replace(".com", ".com:1234");
        assert!(verify(
            "12345",
            &with_port,
            &fields,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
        // Credentials in the URL are part of what is signed.
        let creds = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verify(
            "12345",
            creds,
            &fields,
            Some("CukzLTc1tT5dXEDIHm/tKBanW10=")
        ));
        assert!(verify(
            "12345",
            creds,
            &fields,
            Some("ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=")
        ));
    }

    #[test]
    fn signatures_cover_the_url_and_every_field() {
        let fields = f(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "delivered"),
            ("To", "+573001112233"),
        ]);
        let url = "https://cobros.example/api/webhooks/twilio/sms";
        let sig = signature("token", url, &fields);
        assert!(verify("token", url, &fields, Some(&sig)));
        let mut reordered = fields.clone();
        reordered.reverse();
        assert!(
            verify("token", url, &reordered, Some(&sig)),
            "the order of the fields does not matter"
        );
        let changed = f(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "read"),
            ("To", "+573001112233"),
        ]);
        assert!(!verify("token", url, &changed, Some(&sig)));
        assert!(!verify(
            "token",
            "https://otro.example/api/webhooks/twilio/sms",
            &fields,
            Some(&sig)
        ));
        assert!(!verify("otro", url, &fields, Some(&sig)));
        assert!(!verify("token", url, &fields, None));
        assert!(!verify(
            "",
            url,
            &fields,
            Some(&signature("", url, &fields))
        ));
    }

    #[test]
    fn callbacks_map_statuses_errors_and_inbound() {
        let failed = callback(&f(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("ErrorMessage", "Unreachable destination handset"),
        ]))
        .unwrap();
        assert_eq!(
            failed.events,
            [CallbackEvent::Status {
                id: "SM1".into(),
                status: "failed".into(),
                at: match &failed.events[0] {
                    CallbackEvent::Status { at, .. } => *at,
                    _ => None,
                },
                error: Some("Twilio 30003: Unreachable destination handset".into()),
                problem: Some("wrong_phone".into()),
                retry: false,
            }]
        );
        assert!(
            callback(&f(&[("MessageSid", "SM1"), ("MessageStatus", "sending")]))
                .unwrap()
                .events
                .is_empty()
        );
        let inbound = callback(&f(&[
            ("SmsSid", "SM9"),
            ("From", "+573001112233"),
            ("Body", "Hola"),
        ]))
        .unwrap();
        assert!(
            matches!(&inbound.events[0], CallbackEvent::Message { body, .. } if body == "Hola")
        );
        assert!(callback(&f(&[("From", "+57")])).is_err());
    }
}
