//! Open screens hear of a change exactly once, from the transaction that makes it when
//! it commits (PostgreSQL: LISTEN/NOTIFY, heard by every server process; SQLite: this
//! process), and never of one that rolls back. Each test's schema has a notification
//! channel of its own, so the other tests' announcements are not heard here.

use std::time::Duration;

use crate::common::*;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::{InboundMessage, ReplyInput};
use recaudo::domain::message::Channel;
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::providers::Providers;
use recaudo::server::channels::webhooks::{self, Callback, CallbackEvent};
use recaudo::server::conversations;
use recaudo::server::db::Db;
use recaudo::server::messages;
use recaudo::server::messages::outbox::Policy;

async fn a_status_change_is_announced_once(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("7101", "Ana", "Pérez", Some(&a))).await;
    let a = viewer(&db, &a).await;
    let input = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Hola");
    let sent = conversations::reply(&db, &a, input, &sending(), clock())
        .await
        .unwrap();
    let sandbox = Providers::new(Duration::from_secs(5), true, silent_sandbox());
    drain(Dispatcher::new(db.clone(), Policy::default(), sandbox)).await;
    let (provider_id,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT provider_message_id FROM messages WHERE id = $1").bind(sent).fetch_one(p).await)
    .unwrap();

    db.listen().await.unwrap();
    let mut screens = db.notifier().subscribe();
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
    webhooks::apply(&db, delivered, None, now()).await.unwrap();
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

/// A change announces itself only when its transaction commits: rolled back, the
/// screens hear nothing and nothing changed.
async fn a_change_that_rolls_back_announces_nothing(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("7102", "Luz", "Mora", Some(&a))).await;
    let mut inbound = InboundMessage::new(Channel::Sms, "+573001020000", "Hola", now());
    inbound.provider_message_id = Some("in-7102".into());
    conversations::ingest(&db, inbound, now()).await.unwrap();
    db.listen().await.unwrap();
    let mut screens = db.notifier().subscribe();
    let pending = || async {
        let (n,): (i64,) = on_db!(&db, p => sqlx::query_as(
            "SELECT pending_count FROM clients WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap();
        n
    };

    let mut tx = db.begin().await.unwrap();
    let n = messages::dismiss(&mut tx, id, None, None, admin.user_id, now())
        .await
        .unwrap();
    assert_eq!(n, 1, "the change was made inside the transaction");
    drop(tx);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), screens.recv())
            .await
            .is_err(),
        "a rolled-back change is not announced"
    );
    assert_eq!(pending().await, 1, "and it left nothing behind");

    let mut tx = db.begin().await.unwrap();
    messages::dismiss(&mut tx, id, None, None, admin.user_id, now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), screens.recv())
        .await
        .expect("the committed change was announced")
        .unwrap();
    assert_eq!(heard, id);
    assert_eq!(pending().await, 0);
}

on_both_engines!(
    a_status_change_is_announced_once,
    a_change_that_rolls_back_announces_nothing
);
