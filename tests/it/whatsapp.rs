//! WhatsApp Cloud API webhooks through the real HTTP app, on SQLite and PostgreSQL:
//! Meta's handshake, `X-Hub-Signature-256` checked before anything is read, inbound
//! messages taken in once, statuses that only move forward, 131026 flagging the number
//! and rate limits sending again without flagging anything.

use std::sync::{Arc, Mutex};

use crate::common::*;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use recaudo::domain::channels::{ChannelSettingInput, ProviderKind};
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::{InboundMessage, ReplyInput};
use recaudo::domain::message::{AttachmentInput, Channel};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::channels;
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::providers::Providers;
use recaudo::server::config::Sending;
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::{self, Delivery, Policy};
use recaudo::server::signing::sign;
use recaudo::server::{conversations, templates};
use reqwest::StatusCode;

const APP_SECRET: &str = "secreto-de-la-app-de-meta";

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

fn notification(value: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"10","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp",{value}}}}}]}}]}}"#
    )
    .into_bytes()
}

fn status(id: &str, status: &str, error: Option<i64>) -> Vec<u8> {
    let errors = error
        .map(|code| format!(r#","errors":[{{"code":{code},"title":"Error {code}"}}]"#))
        .unwrap_or_default();
    notification(&format!(
        r#""statuses":[{{"id":"{id}","status":"{status}","timestamp":"{}","recipient_id":"573000010000"{errors}}}]"#,
        Utc::now().timestamp()
    ))
}

struct Meta {
    http: reqwest::Client,
    url: String,
}

impl Meta {
    async fn post(&self, body: &[u8], signature: Option<String>) -> StatusCode {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send().await.unwrap().status()
    }

    async fn signed(&self, body: &[u8]) -> StatusCode {
        self.post(body, Some(sign(APP_SECRET.as_bytes(), body)))
            .await
    }
}

/// An outbound WhatsApp message the provider accepted under `provider_id`.
async fn accepted(db: &Db, v: &Viewer, client_id: i64, provider_id: &str) -> i64 {
    let id = conversations::reply(
        db,
        v,
        ReplyInput::text(client_id, PartyRole::Client, Channel::WhatsApp, "", "Hola"),
        &sending(),
        clock(),
    )
    .await
    .unwrap();
    let policy = Policy::default();
    let claimed = outbox::claim(db, "prueba", Utc::now(), &policy)
        .await
        .unwrap();
    assert_eq!(claimed, [(id, 1)]);
    let delivery = Delivery::Accepted(provider_id.into());
    outbox::settle(db, "prueba", id, 1, delivery, Utc::now(), &policy)
        .await
        .unwrap();
    id
}

async fn message_status(db: &Db, id: i64) -> (String, Vec<String>) {
    let (s,): (String,) =
        on_db!(db, p => sqlx::query_as("SELECT status FROM messages WHERE id = $1")
        .bind(id).fetch_one(p).await)
        .unwrap();
    let history: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT status FROM message_statuses WHERE message_id = $1 ORDER BY id").bind(id).fetch_all(p).await).unwrap();
    (s, history.into_iter().map(|h| h.0).collect())
}

async fn meta_webhooks_are_verified_idempotent_and_move_statuses_forward(db: Db) {
    let base = serve(db.clone()).await;
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("2001", "Ana", "Pérez", Some(&a))).await;
    let other = client(
        &db,
        &admin,
        &client_input("2002", "Luis", "Gómez", Some(&a)),
    )
    .await;
    let a = viewer(&db, &a).await;
    channels::save(
        &db,
        &admin,
        ChannelSettingInput {
            webhook_secret: APP_SECRET.into(),
            ..provider_setting(Channel::WhatsApp, None, "", "", "")
        },
        false,
        now(),
    )
    .await
    .unwrap();

    // Meta's handshake with the token the settings page shows.
    let views = channels::views(&db, &admin, &base).await.unwrap();
    let (url, token) = views[0].meta_webhook.clone().unwrap();
    assert_eq!(url, format!("{base}/api/webhooks/whatsapp/whatsapp"));
    let http = reqwest::Client::new();
    let hello = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=8421"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), StatusCode::OK);
    assert_eq!(hello.text().await.unwrap(), "8421");
    let wrong = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=otro&hub.challenge=8421"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let sms = http
        .get(format!("{base}/api/webhooks/whatsapp/sms"))
        .send()
        .await
        .unwrap();
    assert_eq!(sms.status(), StatusCode::NOT_FOUND);

    let meta = Meta { http, url };
    // An inbound text, delivered twice, lands once, pending, in Ana's conversation.
    let inbound = notification(&format!(
        r#""contacts":[{{"profile":{{"name":"Ana"}},"wa_id":"573000010000"}}],"messages":[{{"from":"573000010000","id":"wamid.in1","timestamp":"{}","type":"text","text":{{"body":"¿Cuánto debo?"}}}}]"#,
        Utc::now().timestamp()
    ));
    assert_eq!(meta.signed(&inbound).await, StatusCode::OK);
    assert_eq!(meta.signed(&inbound).await, StatusCode::OK);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM messages WHERE provider_message_id = 'wamid.in1' AND pending"
        )
        .await,
        1
    );

    // Bad signatures store nothing.
    let before = count(&db, "SELECT COUNT(*) FROM messages").await;
    let forged = notification(
        r#""messages":[{"from":"573000010000","id":"wamid.in2","timestamp":"1","type":"text","text":{"body":"x"}}]"#,
    );
    assert_eq!(meta.post(&forged, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        meta.post(&forged, Some(sign(b"otra-clave", &forged))).await,
        StatusCode::UNAUTHORIZED
    );
    let mut changed = forged.clone();
    let signature = sign(APP_SECRET.as_bytes(), &changed);
    let at = changed.len() - 10;
    changed[at] ^= 1;
    assert_eq!(
        meta.post(&changed, Some(signature)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, before);

    // Statuses move forward only; a body replayed with another status is refused.
    conversations::ingest(
        &db,
        InboundMessage::new(Channel::WhatsApp, "+573000020000", "Hola", now()),
        now(),
    )
    .await
    .unwrap();
    let out = accepted(&db, &a, id, "wamid.out1").await;
    assert_eq!(
        meta.signed(&status("wamid.out1", "delivered", None)).await,
        StatusCode::OK
    );
    let read = status("wamid.out1", "read", None);
    assert_eq!(meta.signed(&read).await, StatusCode::OK);
    let replayed = String::from_utf8(read.clone())
        .unwrap()
        .replace("\"read\"", "\"sent\"");
    assert_eq!(
        meta.post(
            replayed.as_bytes(),
            Some(sign(APP_SECRET.as_bytes(), &read))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        meta.signed(&status("wamid.out1", "delivered", None)).await,
        StatusCode::OK
    );
    assert_eq!(
        message_status(&db, out).await,
        (
            "read".to_string(),
            vec![
                "queued".into(),
                "sent".into(),
                "delivered".into(),
                "read".into()
            ]
        )
    );

    // 131026: the number has no WhatsApp; flagged for the client.
    let undeliverable = accepted(&db, &a, id, "wamid.out2").await;
    assert_eq!(
        meta.signed(&status("wamid.out2", "failed", Some(131026)))
            .await,
        StatusCode::OK
    );
    assert_eq!(message_status(&db, undeliverable).await.0, "failed");
    let (problem,): (Option<String>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT failed_problem FROM contact_points WHERE value = '+573000010000'").fetch_one(p).await).unwrap();
    assert_eq!(problem.as_deref(), Some("whatsapp_unavailable"));

    // 130429: a rate limit sends the message again later and flags nothing.
    let limited = accepted(&db, &a, other, "wamid.out3").await;
    assert_eq!(
        meta.signed(&status("wamid.out3", "failed", Some(130429)))
            .await,
        StatusCode::OK
    );
    let (state, due): (String, chrono::DateTime<Utc>) = on_db!(&db, p => sqlx::query_as(
        "SELECT state, due_at FROM outbox WHERE message_id = $1").bind(limited).fetch_one(p).await)
    .unwrap();
    assert_eq!(state, "pending");
    assert!(due > Utc::now(), "after a backoff");
    assert_eq!(message_status(&db, limited).await.0, "sent");
    let (problem,): (Option<String>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT failed_problem FROM contact_points WHERE value = '+573000020000'").fetch_one(p).await).unwrap();
    assert_eq!(problem, None);
}

/// What the Graph API server received: (path, authorization, JSON body or "multipart").
type Received = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

async fn graph_messages(
    State(seen): State<Received>,
    axum::extract::Path(phone): axum::extract::Path<String>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let to = body["to"].as_str().unwrap_or_default().to_string();
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push((format!("/v21.0/{phone}/messages"), auth, body));
        seen.iter().filter(|s| s.2["to"] == to.as_str()).count()
    };
    if to.ends_with("9999") {
        return (StatusCode::BAD_REQUEST, r#"{"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException","code":131030}}"#.into());
    }
    if to.ends_with("8888") && n == 1 {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"(#130429) Rate limit hit","code":130429}}"#.into(),
        );
    }
    (
        StatusCode::OK,
        format!(
            r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"{to}","wa_id":"{to}"}}],"messages":[{{"id":"wamid.{to}.{n}"}}]}}"#
        ),
    )
}

async fn graph_media(
    State(seen): State<Received>,
    axum::extract::Path(phone): axum::extract::Path<String>,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> (StatusCode, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut fields = serde_json::Map::new();
    while let Some(field) = form.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_string();
        let file = field.file_name().map(String::from);
        let bytes = field.bytes().await.unwrap();
        let value = match file {
            Some(f) => format!("{f}:{}", bytes.len()),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        };
        fields.insert(name, value.into());
    }
    seen.lock()
        .unwrap()
        .push((format!("/v21.0/{phone}/media"), auth, fields.into()));
    (StatusCode::OK, r#"{"id":"media-1"}"#.into())
}

async fn graph_phone(headers: HeaderMap) -> (StatusCode, String) {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some("Bearer EAAG-token-de-prueba")
    {
        (StatusCode::OK, r#"{"display_phone_number":"+1 555-0100","verified_name":"Cobranzas Demo","id":"106540352242922"}"#.into())
    } else {
        (StatusCode::UNAUTHORIZED, r#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}"#.into())
    }
}

async fn sends_go_to_the_cloud_api_as_text_template_and_media(db: Db) {
    let seen: Received = Arc::default();
    let graph = axum::Router::new()
        .route(
            "/v21.0/{phone}/messages",
            axum::routing::post(graph_messages),
        )
        .route("/v21.0/{phone}/media", axum::routing::post(graph_media))
        .route("/v21.0/{phone}", axum::routing::get(graph_phone))
        .with_state(seen.clone());
    let base = format!("http://{}/v21.0", stand_in(graph).await);

    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let mut ids = Vec::new();
    for (doc, phone) in [
        ("2101", "300 123 4567"),
        ("2102", "300 123 8888"),
        ("2103", "300 123 9999"),
    ] {
        let mut input = client_input(doc, "Ana", "Pérez", Some(&a));
        input.contacts.phones = vec![phone.into()];
        input.debts = vec![debt(&format!("F-{doc}"), "2026-06-01", "1000", "0")];
        ids.push(client(&db, &admin, &input).await);
        let from = format!("+57{}", phone.replace(' ', ""));
        conversations::ingest(
            &db,
            InboundMessage::new(Channel::WhatsApp, &from, "Hola", now()),
            now(),
        )
        .await
        .unwrap();
    }
    let a = viewer(&db, &a).await;
    channels::save(
        &db,
        &admin,
        ChannelSettingInput {
            webhook_secret: APP_SECRET.into(),
            ..provider_setting(
                Channel::WhatsApp,
                Some(ProviderKind::WhatsAppCloud),
                &base,
                "106540352242922",
                "EAAG-token-de-prueba",
            )
        },
        false,
        now(),
    )
    .await
    .unwrap();
    let template = templates::save(
        &db,
        &admin,
        None,
        TemplateInput {
            name: "Recordatorio de pago".into(),
            channel: Channel::WhatsApp,
            recipient: PartyRole::Client,
            purpose: Purpose::Flow,
            subject: String::new(),
            body: "Hola {{nombre}}, debes {{deuda_vencida}}.".into(),
            approved: true,
        },
        now(),
    )
    .await
    .unwrap();
    let real = Sending {
        demo: false,
        ..sending()
    };
    let send = |input: ReplyInput| {
        let (db, a, real) = (db.clone(), a.clone(), real.clone());
        async move {
            conversations::reply(&db, &a, input, &real, clock())
                .await
                .unwrap()
        }
    };
    let whatsapp =
        |id, body: &str| ReplyInput::text(id, PartyRole::Client, Channel::WhatsApp, "", body);
    let text = send(whatsapp(ids[0], "Le escribo el detalle")).await;
    let templated = send(ReplyInput {
        template_id: Some(template),
        ..whatsapp(ids[0], "")
    })
    .await;
    let media = send(ReplyInput {
        attachments: vec![AttachmentInput {
            file_name: "estado.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 estado".to_vec(),
        }],
        ..whatsapp(ids[0], "Su estado de cuenta")
    })
    .await;
    let limited = send(whatsapp(ids[1], "Hola")).await;
    let refused = send(whatsapp(ids[2], "Hola")).await;

    let d = Dispatcher::new(
        db.clone(),
        Policy {
            base_delay: chrono::Duration::milliseconds(100),
            ..Policy::default()
        },
        Providers::new(std::time::Duration::from_secs(5), false, silent_sandbox()),
    );
    drain(d.clone()).await;

    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.1 == "Bearer EAAG-token-de-prueba"));
    let sent_to = |to: &str| -> Vec<serde_json::Value> {
        seen.iter()
            .filter(|s| s.2["to"] == to)
            .map(|s| s.2.clone())
            .collect()
    };
    // Sent side by side, so in any order: each found by its type.
    let ana = sent_to("573001234567");
    assert_eq!(ana.len(), 3);
    let of = |kind: &str| ana.iter().find(|x| x["type"] == kind).unwrap().clone();
    assert_eq!(of("text")["text"]["body"], "Le escribo el detalle");
    let t = of("template");
    assert_eq!(t["template"]["name"], "recordatorio_de_pago");
    assert_eq!(t["template"]["language"]["code"], "es");
    assert_eq!(
        t["template"]["components"][0]["parameters"],
        serde_json::json!([{"type": "text", "text": "Ana Pérez"}, {"type": "text", "text": "COP 1.000,00"}])
    );
    let doc = of("document");
    assert_eq!(doc["document"]["id"], "media-1");
    assert_eq!(doc["document"]["caption"], "Su estado de cuenta");
    assert_eq!(doc["document"]["filename"], "estado.pdf");
    let upload = seen.iter().find(|s| s.0.ends_with("/media")).unwrap();
    assert_eq!(upload.0, "/v21.0/106540352242922/media");
    assert_eq!(upload.2["messaging_product"], "whatsapp");
    assert_eq!(upload.2["file"], "estado.pdf:15");

    let provider_id = |id: i64| {
        let db = db.clone();
        async move {
            let (pid, status): (Option<String>, String) = on_db!(&db, p => sqlx::query_as(
                "SELECT provider_message_id, status FROM messages WHERE id = $1").bind(id).fetch_one(p).await).unwrap();
            (pid, status)
        }
    };
    let (pid, status) = provider_id(text).await;
    assert!(pid.unwrap().starts_with("wamid.573001234567."));
    assert_eq!(status, "sent");
    assert_eq!(provider_id(templated).await.1, "sent");
    assert_eq!(provider_id(media).await.1, "sent");
    assert_eq!(
        provider_id(limited).await,
        (Some("wamid.573001238888.2".into()), "sent".into()),
        "the rate limit was retried"
    );
    assert_eq!(provider_id(refused).await.1, "failed");
    let (_, history) = message_status(&db, refused).await;
    assert_eq!(history, ["queued", "failed"]);
    let (detail,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT detail FROM message_statuses WHERE message_id = $1 AND status = 'failed'").bind(refused).fetch_one(p).await).unwrap();
    assert_eq!(
        detail,
        "Meta 131030: (#131030) Recipient phone number not in allowed list"
    );

    // "Probar conexión" with the stored token, and with a wrong one.
    let probing = Providers::new(std::time::Duration::from_secs(5), false, silent_sandbox());
    assert_eq!(
        channels::probe(&db, &admin, Channel::WhatsApp, &probing)
            .await
            .unwrap(),
        "Conectado: Cobranzas Demo (+1 555-0100)."
    );
    assert!(matches!(
        channels::probe(&db, &a, Channel::WhatsApp, &probing).await,
        Err(recaudo::domain::error::AppError::Forbidden)
    ));
    let wrong = provider_setting(
        Channel::WhatsApp,
        Some(ProviderKind::WhatsAppCloud),
        &base,
        "106540352242922",
        "token-vencido",
    );
    channels::save(&db, &admin, wrong, false, now())
        .await
        .unwrap();
    match channels::probe(&db, &admin, Channel::WhatsApp, &probing).await {
        Err(recaudo::domain::error::AppError::Invalid(f)) => assert_eq!(
            f[0].message,
            "Meta rechazó las credenciales (190): Invalid OAuth access token."
        ),
        other => panic!("{other:?}"),
    }
}

on_both_engines!(
    meta_webhooks_are_verified_idempotent_and_move_statuses_forward,
    sends_go_to_the_cloud_api_as_text_template_and_media,
);
