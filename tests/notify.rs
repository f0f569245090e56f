#![cfg(feature = "ssr")]
//! Open screens hear of a provider's status exactly once: its own transaction announces
//! it on PostgreSQL (LISTEN/NOTIFY, heard by every server process), the caller on
//! SQLite. A binary of its own: PostgreSQL's notifications are database-wide, and
//! another test's would be heard here.

mod common;

use std::time::Duration;

use common::*;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::{Channel, ReplyInput};
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::channels::outbox::{Dispatcher, Policy};
use recaudo::server::channels::providers::Providers;
use recaudo::server::channels::webhooks::{self, Callback, CallbackEvent};
use recaudo::server::conversations;
use recaudo::server::conversations::notify::Notifier;
use recaudo::server::db::Db;

async fn a_status_change_is_announced_once(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("7101", "Ana", "Pérez", Some(&a))).await;
    let a = viewer(&db, &a).await;
    let input = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Hola");
    let sent = conversations::reply(&db, &a, input, &sending(), now())
        .await
        .unwrap();
    let sandbox = Providers::new(Duration::from_secs(5), true, silent_sandbox());
    drain(Dispatcher::new(db.clone(), Policy::default(), sandbox)).await;
    let (provider_id,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT provider_message_id FROM messages WHERE id = $1").bind(sent).fetch_one(p).await)
    .unwrap();

    let notifier = Notifier::default();
    notifier.listen(&db).await.unwrap();
    let mut screens = notifier.subscribe();
    let delivered = Callback {
        events: vec![CallbackEvent::Status {
            id: provider_id,
            status: "delivered".into(),
            at: None,
            error: None,
            problem: None,
            retry: false,
        }],
    };
    let to_announce = webhooks::apply(&db, delivered, now()).await.unwrap();
    notifier.publish(&db, &to_announce).await;
    let heard = tokio::time::timeout(Duration::from_secs(5), screens.recv())
        .await
        .expect("the change was announced")
        .unwrap();
    assert_eq!(heard, id);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), screens.recv())
            .await
            .is_err(),
        "announced once"
    );
}

on_both_engines!(a_status_change_is_announced_once);
