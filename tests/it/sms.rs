//! SMS through Twilio's Messages API on SQLite and PostgreSQL: the form POST with basic
//! auth to a Twilio-shaped server on loopback, rate limits retried, refusals failing with
//! Twilio's code, and the status and inbound callbacks checked against
//! `X-Twilio-Signature` before anything is stored.

use std::sync::Arc;

use crate::common::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Form;
use recaudo::domain::channels::ProviderKind;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::ReplyInput;
use recaudo::domain::message::Channel;
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::providers::Providers;
use recaudo::server::channels::twilio::{signature, CALLBACK_PATH};
use recaudo::server::config::Sending;
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::Policy;
use recaudo::server::{channels, conversations};

const TOKEN: &str = "token-de-twilio";
/// What the app takes for its own public address (the default configuration).
const APP_ORIGIN: &str = "http://127.0.0.1:3000";

async fn messages(
    State(seen): State<SeenForms>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, String) {
    let (to, seen) = record_form(&seen, &headers, form);
    let n = seen
        .iter()
        .filter(|(_, f)| form_field(f, "To") == to)
        .count();
    if to.ends_with("9999") {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                r#"{{"code":21211,"message":"The 'To' number {to} is not a valid phone number.","status":400}}"#
            ),
        );
    }
    if to.ends_with("8888") && n == 1 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"code":20429,"message":"Too Many Requests","status":429}"#.into(),
        );
    }
    (
        StatusCode::CREATED,
        format!(
            r#"{{"sid":"SM{}{n}","status":"queued"}}"#,
            &to[to.len() - 4..]
        ),
    )
}

async fn account(headers: HeaderMap) -> (StatusCode, String) {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("AC123:{TOKEN}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(basic.as_str()) {
        (
            StatusCode::OK,
            r#"{"sid":"AC123","friendly_name":"Cobranzas","status":"active"}"#.into(),
        )
    } else {
        (
            StatusCode::UNAUTHORIZED,
            r#"{"code":20003,"message":"Authenticate","status":401}"#.into(),
        )
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

async fn status_of(db: &Db, id: i64) -> (String, Option<String>) {
    on_db!(db, p => sqlx::query_as("SELECT status, provider_message_id FROM messages WHERE id = $1")
        .bind(id).fetch_one(p).await)
    .unwrap()
}

async fn sms_go_through_twilio_and_its_signed_callbacks(db: Db) {
    let seen: SeenForms = Arc::default();
    let twilio = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/AC123/Messages.json",
            axum::routing::post(messages),
        )
        .route(
            "/2010-04-01/Accounts/AC123.json",
            axum::routing::get(account),
        )
        .with_state(seen.clone());
    let account = format!(
        "http://{}/2010-04-01/Accounts/AC123",
        stand_in(twilio).await
    );
    let base = serve(db.clone()).await;

    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let mut ids = Vec::new();
    for (doc, phone) in [
        ("3101", "300 123 4567"),
        ("3102", "300 123 8888"),
        ("3103", "300 123 9999"),
    ] {
        let mut input = client_input(doc, "Ana", "Pérez", Some(&a));
        input.contacts.phones = vec![phone.into()];
        ids.push(client(&db, &admin, &input).await);
    }
    let a = viewer(&db, &a).await;
    channels::save(
        &db,
        &admin,
        provider_setting(
            Channel::Sms,
            Some(ProviderKind::Twilio),
            &account,
            "+15005550006",
            TOKEN,
        ),
        false,
        now(),
    )
    .await
    .unwrap();
    let real = Sending {
        demo: false,
        ..sending()
    };
    let mut sent = Vec::new();
    for id in &ids {
        let input = ReplyInput::text(
            *id,
            PartyRole::Client,
            Channel::Sms,
            "",
            "Su saldo vence hoy",
        );
        sent.push(
            conversations::reply(&db, &a, input, &real, clock())
                .await
                .unwrap(),
        );
    }
    let mut providers = Providers::new(std::time::Duration::from_secs(5), false, silent_sandbox());
    providers.origin = Some(APP_ORIGIN.into());
    let d = Dispatcher::new(
        db.clone(),
        Policy {
            base_delay: chrono::Duration::milliseconds(100),
            ..Policy::default()
        },
        providers,
    );
    drain(d.clone()).await;

    let seen = seen.lock().unwrap().clone();
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("AC123:{TOKEN}"))
    );
    assert!(seen.iter().all(|(auth, _)| *auth == basic));
    let first = &seen
        .iter()
        .find(|(_, f)| f.contains(&("To".into(), "+573001234567".into())))
        .unwrap()
        .1;
    for field in [
        ("From", "+15005550006".to_string()),
        ("Body", "Su saldo vence hoy".to_string()),
        ("StatusCallback", format!("{APP_ORIGIN}{CALLBACK_PATH}")),
    ] {
        assert!(
            first.contains(&(field.0.to_string(), field.1.clone())),
            "{field:?} in {first:?}"
        );
    }
    assert_eq!(
        status_of(&db, sent[0]).await,
        ("sent".into(), Some("SM45671".into()))
    );
    assert_eq!(
        status_of(&db, sent[1]).await,
        ("sent".into(), Some("SM88882".into())),
        "429 retried"
    );
    assert_eq!(status_of(&db, sent[2]).await.0, "failed");
    let (detail,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT detail FROM message_statuses WHERE message_id = $1 AND status = 'failed'").bind(sent[2]).fetch_one(p).await).unwrap();
    assert_eq!(
        detail,
        "Twilio 21211: The 'To' number +573001239999 is not a valid phone number."
    );
    assert_eq!(
        channels::probe(&db, &admin, Channel::Sms, &d.providers)
            .await
            .unwrap(),
        "Conectado a la cuenta «Cobranzas» (active)."
    );

    // Callbacks, signed over the URL the app is reached at.
    let http = reqwest::Client::new();
    let url = format!("{APP_ORIGIN}{CALLBACK_PATH}");
    let post = |fields: Vec<(&str, &str)>, sign: bool| {
        let owned: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut req = http.post(format!("{base}{CALLBACK_PATH}")).form(&owned);
        if sign {
            req = req.header("x-twilio-signature", signature(TOKEN, &url, &owned));
        }
        req.send()
    };
    let delivered = vec![
        ("MessageSid", "SM45671"),
        ("MessageStatus", "delivered"),
        ("To", "+573001234567"),
    ];
    assert_eq!(
        post(delivered.clone(), false).await.unwrap().status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(&db, sent[0]).await.0,
        "sent",
        "nothing stored without the signature"
    );
    assert_eq!(
        post(delivered, true).await.unwrap().status(),
        reqwest::StatusCode::OK
    );
    assert_eq!(status_of(&db, sent[0]).await.0, "delivered");

    let unreachable = vec![
        ("MessageSid", "SM88882"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("ErrorMessage", "Unreachable destination handset"),
    ];
    assert_eq!(
        post(unreachable, true).await.unwrap().status(),
        reqwest::StatusCode::OK
    );
    assert_eq!(status_of(&db, sent[1]).await.0, "failed");
    let (problem,): (Option<String>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT failed_problem FROM contact_points WHERE value = '+573001238888'").fetch_one(p).await).unwrap();
    assert_eq!(problem.as_deref(), Some("wrong_phone"));

    let inbound = vec![
        ("SmsSid", "SMin1"),
        ("From", "+573001234567"),
        ("To", "+15005550006"),
        ("Body", "Ya pagué"),
    ];
    for _ in 0..2 {
        assert_eq!(
            post(inbound.clone(), true).await.unwrap().status(),
            reqwest::StatusCode::OK
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM messages WHERE provider_message_id = 'SMin1' AND pending"
        )
        .await,
        1
    );
}

on_both_engines!(sms_go_through_twilio_and_its_signed_callbacks);
