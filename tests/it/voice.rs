//! Click-to-call through Twilio's Voice API on SQLite and PostgreSQL: the call request
//! to a Twilio-shaped server on loopback (the advisor's phone rung first, the debtor
//! dialled from the organisation's number), the call in the conversation, and the
//! signed dial and status callbacks; forged, changed and replayed callbacks store
//! nothing.

use std::sync::Arc;

use crate::common::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Form;
use recaudo::domain::channels::ProviderKind;
use recaudo::domain::error::AppError;
use recaudo::domain::message::{Channel, DeliveryStatus, Direction};
use recaudo::domain::user::{Role, Viewer};
use recaudo::server::calls::dial::click_to_call;
use recaudo::server::channels::twilio::signature;
use recaudo::server::channels::voice::{DIAL_PATH, STATUS_PATH};
use recaudo::server::db::Db;
use recaudo::server::{calls, channels, conversations};

const TOKEN: &str = "token-de-voz";
const APP_ORIGIN: &str = "http://127.0.0.1:3000";
const CALLER_ID: &str = "+15005550006";

async fn calls_json(
    State(seen): State<SeenForms>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, String) {
    let (to, seen) = record_form(&seen, &headers, form);
    let n = seen.len();
    if to.ends_with("0001") {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"code":21217,"message":"Phone number does not appear to be valid","status":400}"#
                .into(),
        );
    }
    (
        StatusCode::CREATED,
        format!(r#"{{"sid":"CA{n:04}","status":"queued"}}"#),
    )
}

async fn call_message(db: &Db, v: &Viewer, client: i64) -> recaudo::domain::conversation::Message {
    conversations::conversation(db, v, client, clock())
        .await
        .unwrap()
        .messages
        .into_iter()
        .rev()
        .find(|m| m.channel == Channel::Call)
        .expect("the call is in the conversation")
}

async fn calls_ring_the_advisor_then_the_debtor(db: Db) {
    let seen: SeenForms = Arc::default();
    let twilio = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/AC123/Calls.json",
            axum::routing::post(calls_json),
        )
        .with_state(seen.clone());
    let account = format!(
        "http://{}/2010-04-01/Accounts/AC123",
        stand_in(twilio).await
    );
    let base = serve(db.clone()).await;
    let http = reqwest::Client::new();

    let admin_user = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin_user).await;
    let a_user = user(&db, "a@x.co", Role::Advisor, None).await;
    let b_user = user(&db, "b@x.co", Role::Advisor, None).await;
    let mut input = client_input("5101", "Ana", "Pérez", Some(&a_user));
    input.contacts.phones = vec!["300 123 4567".into()];
    // Dialled several times in a day: Colombia's caps would decide this test.
    let id = client(&db, &admin, &ungoverned(input)).await;
    let phone = calls::gestion(&db, id, clock()).await.unwrap().phones[0].clone();
    assert_eq!(phone.value, "+573001234567");
    let a = viewer(&db, &a_user).await;
    let dial = |v: Viewer| {
        let (db, http) = (db.clone(), http.clone());
        async move { click_to_call(&db, &v, phone.contact_point_id, &http, APP_ORIGIN, clock()).await }
    };

    // Not configured: the phone's own dialler stays, and the service says why.
    assert!(
        !calls::gestion(&db, id, clock())
            .await
            .unwrap()
            .click_to_call
    );
    match dial(a.clone()).await {
        Err(AppError::Invalid(e)) => assert!(e[0].message.contains("no están configuradas")),
        other => panic!("{other:?}"),
    }
    channels::save(
        &db,
        &admin,
        provider_setting(
            Channel::Call,
            Some(ProviderKind::Twilio),
            &account,
            CALLER_ID,
            TOKEN,
        ),
        false,
        now(),
    )
    .await
    .unwrap();
    assert!(
        calls::gestion(&db, id, clock())
            .await
            .unwrap()
            .click_to_call
    );

    // The advisor needs a phone to be rung on; another advisor's client is out of reach.
    match dial(a.clone()).await {
        Err(AppError::Invalid(e)) => assert!(e[0].message.contains("no tiene teléfono")),
        other => panic!("{other:?}"),
    }
    // An advisor with a portfolio of their own sees only it.
    client(
        &db,
        &admin,
        &client_input("5102", "Otro", "Cliente", Some(&b_user)),
    )
    .await;
    let b = viewer(&db, &b_user).await;
    assert!(matches!(
        dial(b).await,
        Err(AppError::NotFound | AppError::Forbidden)
    ));
    assert!(seen.lock().unwrap().is_empty(), "nothing reached Twilio");

    edit_user(&db, &admin, &a_user, |u| {
        u.phone = "+57 310 555 0000".into()
    })
    .await
    .unwrap();
    let dialled = dial(a.clone()).await.unwrap();
    assert_eq!(dialled.advisor_phone, "+573105550000");
    let (auth, form) = seen.lock().unwrap()[0].clone();
    use base64::Engine;
    assert_eq!(
        auth,
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("AC123:{TOKEN}"))
        )
    );
    assert_eq!(
        form_field(&form, "To"),
        "+573105550000",
        "the advisor is rung first"
    );
    assert_eq!(form_field(&form, "From"), CALLER_ID);
    let twiml = form_field(&form, "Twiml");
    assert!(twiml.contains("<Number>+573001234567</Number>"), "{twiml}");
    assert!(twiml.contains(&format!("callerId=\"{CALLER_ID}\"")));
    assert!(twiml.contains(&format!("action=\"{APP_ORIGIN}{DIAL_PATH}\"")));
    assert_eq!(
        form_field(&form, "StatusCallback"),
        format!("{APP_ORIGIN}{STATUS_PATH}")
    );
    let call = call_message(&db, &a, id).await;
    assert_eq!(call.id, dialled.message_id);
    assert_eq!(call.direction, Direction::Outbound);
    assert_eq!(call.status, Some(DeliveryStatus::Sent));
    assert_eq!(call.body, "Llamada a +573001234567");
    assert_eq!(call.author_name.as_deref(), Some("a"));

    // Twilio reports the dial, signed over the URL it called.
    let post =
        |path: &'static str, fields: Vec<(&str, &str)>, signed_as: Option<Vec<(&str, &str)>>| {
            let owned = |f: &[(&str, &str)]| -> Vec<(String, String)> {
                f.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            };
            let body = owned(&fields);
            let mut req = http.post(format!("{base}{path}")).form(&body);
            if let Some(signed) = signed_as {
                req = req.header(
                    "x-twilio-signature",
                    signature(TOKEN, &format!("{APP_ORIGIN}{path}"), &owned(&signed)),
                );
            }
            req.send()
        };
    let answered = vec![
        ("CallSid", "CA0001"),
        ("DialCallStatus", "completed"),
        ("DialCallDuration", "135"),
    ];
    let busy = vec![("CallSid", "CA0001"), ("DialCallStatus", "busy")];
    let unsigned = post(DIAL_PATH, answered.clone(), None).await.unwrap();
    assert_eq!(unsigned.status(), reqwest::StatusCode::UNAUTHORIZED);
    let replayed_other = post(DIAL_PATH, busy, Some(answered.clone())).await.unwrap();
    assert_eq!(
        replayed_other.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "a signature replayed on another status"
    );
    assert_eq!(
        call_message(&db, &a, id).await.status,
        Some(DeliveryStatus::Sent)
    );

    for _ in 0..2 {
        let ok = post(DIAL_PATH, answered.clone(), Some(answered.clone()))
            .await
            .unwrap();
        assert_eq!(ok.status(), reqwest::StatusCode::OK);
        assert!(ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml"));
        assert!(ok.text().await.unwrap().ends_with("<Response/>"));
    }
    let call = call_message(&db, &a, id).await;
    assert_eq!(call.status, Some(DeliveryStatus::Delivered));
    let answered_rows: Vec<_> = call
        .history
        .iter()
        .filter(|h| h.status == DeliveryStatus::Delivered)
        .collect();
    assert_eq!(
        answered_rows.len(),
        1,
        "a redelivered callback is stored once"
    );
    assert_eq!(answered_rows[0].detail, "Contestada · 2 min 15 s");
    assert_eq!(
        DeliveryStatus::Delivered.label_on(Channel::Call),
        "Contestada"
    );

    // The advisor's leg ending normally changes nothing; a forged one is refused.
    let completed = vec![("CallSid", "CA0001"), ("CallStatus", "completed")];
    assert_eq!(
        post(STATUS_PATH, completed.clone(), Some(completed))
            .await
            .unwrap()
            .status(),
        reqwest::StatusCode::OK
    );
    let no_answer = vec![("CallSid", "CA0001"), ("CallStatus", "no-answer")];
    assert_eq!(
        post(
            STATUS_PATH,
            no_answer.clone(),
            Some(vec![("CallSid", "CA0001")])
        )
        .await
        .unwrap()
        .status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call_message(&db, &a, id).await.status,
        Some(DeliveryStatus::Delivered)
    );

    // Twilio refusing the call: the advisor reads why, and the call shows as not connected.
    edit_user(&db, &admin, &a_user, |u| {
        u.phone = "+57 310 555 0001".into()
    })
    .await
    .unwrap();
    match dial(a.clone()).await {
        Err(AppError::Invalid(e)) => assert_eq!(
            e[0].message,
            "Twilio no inició la llamada (21217): Phone number does not appear to be valid"
        ),
        other => panic!("{other:?}"),
    }
    let refused = call_message(&db, &a, id).await;
    assert_eq!(refused.status, Some(DeliveryStatus::Failed));
    assert_ne!(refused.id, dialled.message_id);
}

on_both_engines!(calls_ring_the_advisor_then_the_debtor);
