//! The collision guard: a reply or a call outcome on a client another user wrote to,
//! called or registered an outcome for in the last minutes asks for confirmation,
//! naming who did what and when; confirmed, it goes through. Only other users' own
//! acts count, only within the window, and only for those who may see the client.

use chrono::Duration;

use crate::common::app::start;
use crate::common::*;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::ReplyInput;
use recaudo::domain::error::AppError;
use recaudo::domain::message::Channel;
use recaudo::domain::outcome::OutcomeInput;
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::clock::Clock;
use recaudo::server::conversations::{self, recent};
use recaudo::server::db::Db;
use recaudo::server::{calls, seed};

fn no_answer() -> OutcomeInput {
    OutcomeInput {
        situation: "outbound_not_contacted".into(),
        outcome: "no_answer".into(),
        ..OutcomeInput::default()
    }
}

fn later(minutes: i64) -> Clock {
    Clock {
        now: now() + Duration::minutes(minutes),
        ..clock()
    }
}

async fn a_second_user_is_asked_before_contacting_a_client_just_attended(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let sup = user(&db, "laura@x.co", Role::Supervisor, None).await;
    let a = user(&db, "camila@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(&db, "mateo@x.co", Role::Advisor, None).await;
    let id = client(
        &db,
        &admin,
        &ungoverned(client_input("8601", "Ana", "Pérez", Some(&a))),
    )
    .await;
    client(&db, &admin, &client_input("8602", "Luis", "Gil", Some(&b))).await;
    let (a, sup, b) = (
        viewer(&db, &a).await,
        viewer(&db, &sup).await,
        viewer(&db, &b).await,
    );

    // Nobody did anything yet; a note reaches no debtor and is never a contact.
    recent::guard(&db, &sup, id, false, 5, clock())
        .await
        .unwrap();
    let note = ReplyInput::text(id, PartyRole::Client, Channel::Note, "", "Revisar pago");
    conversations::reply(&db, &a, note, &sending(), clock())
        .await
        .unwrap();
    recent::guard(&db, &sup, id, false, 5, clock())
        .await
        .unwrap();

    let sms = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Hola Ana");
    conversations::reply(&db, &a, sms.clone(), &sending(), clock())
        .await
        .unwrap();
    let asked = recent::guard_reply(&db, &sup, &sms, 5, later(2)).await;
    assert_eq!(
        asked,
        Err(AppError::RecentlyAttended(
            "Otra persona atendió a este cliente en los últimos 5 minutos: camila envió un \
             SMS a las 10:00 (hace 2 minutos). Revisa la conversación antes de continuar."
                .into()
        ))
    );
    // Confirmed, the same reply goes through; one's own acts never ask.
    let confirmed = ReplyInput {
        despite_recent: true,
        ..sms.clone()
    };
    recent::guard_reply(&db, &sup, &confirmed, 5, later(2))
        .await
        .unwrap();
    recent::guard_reply(&db, &a, &sms, 5, later(2))
        .await
        .unwrap();
    // Past the window, or with the guard off, nothing is asked.
    recent::guard(&db, &sup, id, false, 5, later(6))
        .await
        .unwrap();
    recent::guard(&db, &sup, id, false, 0, later(2))
        .await
        .unwrap();
    // A longer window still sees it.
    assert!(recent::guard(&db, &sup, id, false, 10, later(6))
        .await
        .is_err());

    // The supervisor registers a call; now the advisor is asked, about the call.
    calls::register(&db, &sup, id, no_answer(), &Default::default(), later(7))
        .await
        .unwrap();
    let asked = recent::guard(&db, &a, id, false, 5, later(8)).await;
    assert!(
        matches!(&asked, Err(AppError::RecentlyAttended(q))
            if q.contains("laura registró la gestión «No contesta / Ocupado» a las 10:07 (hace 1 minuto)")
                && !q.contains("camila")),
        "{asked:?}"
    );

    // Another advisor's client: refused like any read, never told who did what.
    assert_eq!(
        recent::guard(&db, &b, id, false, 5, later(8)).await,
        Err(AppError::NotFound)
    );
}

/// Through the server functions, as the browser calls them: the question is a 409 with
/// its own error, nothing is written, and the confirmed request goes through.
async fn the_server_functions_ask_and_write_nothing_until_confirmed(db: Db) {
    seed::seed(&db, 30, clock()).await.unwrap();
    let app = start(db.clone()).await;
    let advisor = demo_viewer(&db, "asesor1@demo.recaudo").await;
    let (id,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM clients WHERE advisor_id = $1 ORDER BY id LIMIT 1")
        .bind(advisor.user_id).fetch_one(p).await)
    .unwrap();
    let (asesor, ok) = app.login("asesor1@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let (supervisor, ok) = app
        .login("supervisor1@demo.recaudo", seed::DEMO_PASSWORD)
        .await;
    ok.unwrap();
    let outcome = |despite: bool| {
        serde_json::json!({
            "client_id": id,
            "input": OutcomeInput { despite_recent: despite, ..no_answer() },
        })
    };
    let outcomes = || async {
        let (n,): (i64,) = on_db!(&db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM outcomes WHERE client_id = $1").bind(id).fetch_one(p).await)
        .unwrap();
        n
    };
    let messages = || async {
        let (n,): (i64,) = on_db!(&db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM messages WHERE client_id = $1").bind(id).fetch_one(p).await)
        .unwrap();
        n
    };

    let (first, _) = app
        .call::<i64>(&asesor, "register_outcome", outcome(false))
        .await;
    first.unwrap();
    let (before_outcomes, before_messages) = (outcomes().await, messages().await);

    let (status, body) = app
        .raw(&supervisor, "register_outcome", &outcome(false).to_string())
        .await;
    assert_eq!(status.as_u16(), 409, "{body}");
    let asked: AppError = serde_json::from_str(&body).unwrap();
    assert!(
        matches!(&asked, AppError::RecentlyAttended(q)
            if q.contains("registró la gestión «No contesta / Ocupado»")),
        "{asked:?}"
    );
    let reply = |despite: bool| {
        serde_json::json!({ "input": ReplyInput {
            despite_recent: despite,
            ..ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Le escribimos por su cuenta")
        }})
    };
    let (sent, _) = app.call::<i64>(&supervisor, "reply", reply(false)).await;
    assert!(
        matches!(sent, Err(AppError::RecentlyAttended(_))),
        "{sent:?}"
    );
    assert_eq!(
        (outcomes().await, messages().await),
        (before_outcomes, before_messages),
        "nothing written while the question stands"
    );

    let (confirmed, _) = app
        .call::<i64>(&supervisor, "register_outcome", outcome(true))
        .await;
    confirmed.unwrap();
    assert_eq!(outcomes().await, before_outcomes + 1);
    // The confirmed reply passes the guard; whether the contact policy lets an SMS
    // out at this hour of the real clock is its own question.
    let (sent, _) = app.call::<i64>(&supervisor, "reply", reply(true)).await;
    assert!(
        !matches!(sent, Err(AppError::RecentlyAttended(_))),
        "{sent:?}"
    );
}

on_both_engines!(
    a_second_user_is_asked_before_contacting_a_client_just_attended,
    the_server_functions_ask_and_write_nothing_until_confirmed
);
