//! Click-to-call through Twilio's Voice API: Twilio rings the advisor's own phone and,
//! once it is answered, dials the debtor from the organisation's number and bridges
//! the two. The dial's outcome (with how long the debtor was on the line) and a failure
//! of the advisor's leg come back as callbacks signed like Twilio's SMS callbacks.

use super::providers::snippet;
use super::twilio::{account, Created, TwilioError};
use super::webhooks::{Callback, CallbackEvent};
use super::ChannelSetting;

/// Twilio's status of the advisor's leg.
pub const STATUS_PATH: &str = "/api/webhooks/twilio/voice";
/// Where the `<Dial>` reports how the debtor's leg ended.
pub const DIAL_PATH: &str = "/api/webhooks/twilio/voice/dial";
/// The TwiML answer the dial callback expects: nothing more to do, hang up.
pub const HANG_UP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What Twilio runs once the advisor answers: a short notice, then the debtor, shown
/// the organisation's number.
pub fn twiml(caller_id: &str, debtor: &str, origin: &str) -> String {
    format!(
        "<Response><Say language=\"es-MX\">Conectando con el cliente.</Say>\
         <Dial callerId=\"{}\" timeout=\"30\" action=\"{}\" method=\"POST\"><Number>{}</Number></Dial></Response>",
        xml(caller_id),
        xml(&format!("{origin}{DIAL_PATH}")),
        xml(debtor)
    )
}

/// Starts a call: `POST {account}/Calls.json` to the advisor's phone. Returns the
/// call's SID, or Twilio's refusal in Spanish.
pub async fn place_call(
    http: &reqwest::Client,
    setting: &ChannelSetting,
    advisor: &str,
    debtor: &str,
    origin: &str,
) -> Result<String, String> {
    let (base, account) = account(setting);
    let caller_id = setting.sender.trim();
    let form = [
        ("To", advisor.to_string()),
        ("From", caller_id.to_string()),
        ("Twiml", twiml(caller_id, debtor, origin)),
        ("StatusCallback", format!("{origin}{STATUS_PATH}")),
        ("StatusCallbackEvent", "completed".to_string()),
    ];
    let response = http
        .post(format!("{base}/Calls.json"))
        .basic_auth(account, Some(&setting.secret))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("No se pudo conectar con Twilio: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        return serde_json::from_str::<Created>(&body)
            .map(|c| c.sid)
            .map_err(|_| format!("Twilio aceptó sin devolver un sid: {}", snippet(&body)));
    }
    Err(match serde_json::from_str::<TwilioError>(&body) {
        Ok(e) => format!("Twilio no inició la llamada ({}): {}", e.code, e.message),
        Err(_) => format!(
            "Twilio respondió HTTP {}: {}",
            status.as_u16(),
            snippet(&body)
        ),
    })
}

/// "2 min 15 s" from Twilio's seconds.
pub fn duration(seconds: &str) -> String {
    let s: u64 = seconds.trim().parse().unwrap_or(0);
    match (s / 60, s % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

fn status(id: &str, status: &str, detail: String) -> Callback {
    Callback {
        events: vec![CallbackEvent::Status {
            id: id.to_string(),
            status: status.into(),
            at: Some(crate::server::clock::now()),
            error: Some(detail),
            problem: None,
            retry: false,
        }],
    }
}

/// A voice callback as a status of the call's message: the dial's outcome (with
/// `DialCallStatus`), or the advisor's leg ending unanswered (with `CallStatus`).
pub fn callback(fields: &[(String, String)]) -> Result<Callback, String> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let sid = get("CallSid").ok_or("falta CallSid")?;
    if let Some(dial) = get("DialCallStatus") {
        return Ok(match dial {
            "completed" | "answered" => status(
                sid,
                "delivered",
                format!(
                    "Contestada · {}",
                    duration(get("DialCallDuration").unwrap_or("0"))
                ),
            ),
            "busy" => status(sid, "failed", "El cliente estaba ocupado.".into()),
            "no-answer" => status(sid, "failed", "El cliente no contestó.".into()),
            "canceled" => status(sid, "failed", "Llamada cancelada.".into()),
            _ => status(sid, "failed", "No se pudo llamar al cliente.".into()),
        });
    }
    Ok(match get("CallStatus").unwrap_or_default() {
        "busy" | "no-answer" | "failed" | "canceled" => status(
            sid,
            "failed",
            "Tu teléfono no contestó: no se llamó al cliente.".into(),
        ),
        // completed: the dial's own callback already told how it went.
        _ => Callback { events: Vec::new() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::channels::twilio::tests::f;

    fn detail(c: &Callback) -> (String, String) {
        match &c.events[0] {
            CallbackEvent::Status { status, error, .. } => {
                (status.clone(), error.clone().unwrap_or_default())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_dial_outcome_says_how_long_or_why_not() {
        let answered = callback(&f(&[
            ("CallSid", "CA1"),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "135"),
        ]))
        .unwrap();
        assert_eq!(
            detail(&answered),
            ("delivered".into(), "Contestada · 2 min 15 s".into())
        );
        let busy = callback(&f(&[("CallSid", "CA1"), ("DialCallStatus", "busy")])).unwrap();
        assert_eq!(detail(&busy).0, "failed");
        let advisor = callback(&f(&[("CallSid", "CA1"), ("CallStatus", "no-answer")])).unwrap();
        assert!(detail(&advisor).1.starts_with("Tu teléfono no contestó"));
        assert!(
            callback(&f(&[("CallSid", "CA1"), ("CallStatus", "completed")]))
                .unwrap()
                .events
                .is_empty()
        );
        assert!(callback(&f(&[("CallStatus", "completed")])).is_err());
        assert_eq!(duration("60"), "1 min");
        assert_eq!(duration("7"), "7 s");
    }

    #[test]
    fn twiml_escapes_what_it_embeds() {
        let t = twiml(
            "+15005550006",
            "+573001112233",
            "https://cobros.example/a?b=1&c=2",
        );
        assert!(t.contains("<Number>+573001112233</Number>"));
        assert!(t.contains("callerId=\"+15005550006\""));
        assert!(t.contains(
            "action=\"https://cobros.example/a?b=1&amp;c=2/api/webhooks/twilio/voice/dial\""
        ));
    }
}
