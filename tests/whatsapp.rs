#![cfg(feature = "ssr")]
//! WhatsApp Cloud API webhooks through the real HTTP app, on SQLite and PostgreSQL:
//! Meta's handshake, `X-Hub-Signature-256` checked before anything is read, inbound
//! messages taken in once, statuses that only move forward, 131026 flagging the number
//! and rate limits sending again without flagging anything.

mod common;

use chrono::Utc;
use common::*;
use recaudo::domain::channels::ChannelSettingInput;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::{Channel, InboundMessage, ReplyInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::channels;
use recaudo::server::channels::outbox::{self, Policy};
use recaudo::server::channels::providers::Delivery;
use recaudo::server::channels::webhooks::sign;
use recaudo::server::conversations;
use recaudo::server::db::Db;
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
        now(),
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
            channel: Channel::WhatsApp,
            active: true,
            visible: true,
            provider: None,
            base_url: String::new(),
            sender: String::new(),
            secret: String::new(),
            webhook_secret: APP_SECRET.into(),
        },
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

on_both_engines!(meta_webhooks_are_verified_idempotent_and_move_statuses_forward);
