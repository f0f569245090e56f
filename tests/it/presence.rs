//! Who else is on a conversation: each open conversation's heartbeat records its user
//! and answers who else has it open or is writing; only users who may read the client
//! take part, and a heartbeat counts for 15 seconds, a keystroke for 6.

use chrono::Duration;

use crate::common::*;
use recaudo::domain::error::AppError;
use recaudo::domain::presence::{Beat, Colleague};
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::conversations::presence;
use recaudo::server::db::Db;

fn colleague(name: &str, typing: bool) -> Colleague {
    Colleague {
        name: name.into(),
        typing,
    }
}

async fn colleagues_on_a_conversation_see_each_other_within_their_scope(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let sup = user(&db, "laura@x.co", Role::Supervisor, None).await;
    let a = user(&db, "camila@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(&db, "mateo@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("8501", "Ana", "Pérez", Some(&a))).await;
    // With a portfolio of their own, so that their scope is that portfolio.
    client(&db, &admin, &client_input("8502", "Luis", "Gil", Some(&b))).await;
    let (a, sup, b) = (
        viewer(&db, &a).await,
        viewer(&db, &sup).await,
        viewer(&db, &b).await,
    );
    let t = now();

    assert_eq!(
        presence::beat(&db, &a, id, Beat::Viewing, t).await.unwrap(),
        vec![]
    );
    assert_eq!(
        presence::beat(&db, &sup, id, Beat::Typing, t)
            .await
            .unwrap(),
        vec![colleague("camila", false)]
    );
    assert_eq!(
        presence::beat(&db, &a, id, Beat::Viewing, t + Duration::seconds(3))
            .await
            .unwrap(),
        vec![colleague("laura", true)],
        "the supervisor is writing"
    );
    // Another advisor's client: refused like any read, and nothing recorded.
    assert!(matches!(
        presence::beat(&db, &b, id, Beat::Typing, t).await,
        Err(AppError::NotFound)
    ));
    let (theirs,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM presence WHERE user_id = $1").bind(b.user_id).fetch_one(p).await)
    .unwrap();
    assert_eq!(theirs, 0);

    // A beat without a keystroke: still there, no longer writing once 6 s pass.
    presence::beat(&db, &sup, id, Beat::Viewing, t + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        presence::beat(&db, &a, id, Beat::Viewing, t + Duration::seconds(7))
            .await
            .unwrap(),
        vec![colleague("laura", false)]
    );
    // The supervisor closed it: gone 15 s after the last beat.
    assert_eq!(
        presence::beat(&db, &a, id, Beat::Viewing, t + Duration::seconds(21))
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        presence::prune(&db, t + Duration::minutes(2))
            .await
            .unwrap(),
        2,
        "old heartbeats are pruned"
    );
}

on_both_engines!(colleagues_on_a_conversation_see_each_other_within_their_scope);
