//! The scheduler on SQLite and PostgreSQL: a simulated month of daily passes over a
//! portfolio sends exactly the flow's steps; suspended clients get events and no flow
//! steps; two schedulers at once send nothing twice; a failed automated send goes out
//! again on the last channel that worked; campaigns run, report and cancel.

use std::collections::BTreeSet;

use crate::common::*;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use recaudo::domain::automation::{
    CampaignInput, EventRuleInput, FlowInput, FlowStepInput, Trigger,
};
use recaudo::domain::calls::CallCalendar;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::InboundMessage;
use recaudo::domain::error::AppError;
use recaudo::domain::message::{Channel, DeliveryStatus};
use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
use recaudo::domain::segments::{Condition, Connector, Op, Rule, SegmentInput, Variable};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::automation::{self, scheduler};
use recaudo::server::db::Db;
use recaudo::server::{calls, conversations, segments, templates};

struct Setup {
    admin: Viewer,
    sms: i64,
    email: i64,
    all: i64,
}

async fn setup(db: &Db) -> Setup {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let template = |name: &str, channel: Channel, purpose: Purpose, body: &str| TemplateInput {
        name: name.into(),
        channel,
        recipient: PartyRole::Client,
        purpose,
        subject: if channel == Channel::Email {
            "Su cuenta".into()
        } else {
            String::new()
        },
        body: body.into(),
        approved: true,
    };
    let sms = templates::save(
        db,
        &admin,
        None,
        template(
            "Aviso SMS",
            Channel::Sms,
            Purpose::Flow,
            "{{nombre}}, debe {{deuda_vencida}}",
        ),
        now(),
    )
    .await
    .unwrap();
    let email = templates::save(
        db,
        &admin,
        None,
        template(
            "Aviso correo",
            Channel::Email,
            Purpose::Flow,
            "Hola {{nombre}}, pague aquí: {{link_pago}}",
        ),
        now(),
    )
    .await
    .unwrap();
    let all = segments::save(
        db,
        &admin,
        None,
        SegmentInput {
            name: "Todos".into(),
            rule: Rule::default(),
        },
        now(),
    )
    .await
    .unwrap();
    Setup {
        admin,
        sms,
        email,
        all,
    }
}

/// A client with one unpaid debt due on `due`.
async fn debtor(db: &Db, s: &Setup, doc: &str, due: NaiveDate) -> i64 {
    let mut input = client_input(doc, "Ana", &format!("Cliente {doc}"), None);
    input.debts = vec![debt(&format!("F-{doc}"), &due.to_string(), "250000", "0")];
    // A flow's steps two days apart on different channels: Colombia's "one channel a
    // week" would decide these tests; governance.rs covers flows under it.
    client(db, &s.admin, &ungoverned(input)).await
}

/// 15:00 in Bogotá on `day`: inside the default contact hours on weekdays.
fn afternoon(day: NaiveDate) -> DateTime<Utc> {
    tz().from_local_datetime(&day.and_hms_opt(15, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The clock of a pass on `day` at `now`.
fn pass_on(day: NaiveDate, now: DateTime<Utc>) -> Clock {
    Clock {
        now,
        today: day,
        tz: tz(),
    }
}

async fn flow(
    db: &Db,
    s: &Setup,
    name: &str,
    segment: i64,
    position: i32,
    steps: Vec<(i32, Option<i64>)>,
) -> i64 {
    automation::save_flow(
        db,
        &s.admin,
        None,
        FlowInput {
            name: name.into(),
            segment_id: Some(segment),
            position,
            active: true,
            steps: steps
                .into_iter()
                .map(|(day, template_id)| FlowStepInput { day, template_id })
                .collect(),
        },
        now(),
    )
    .await
    .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

async fn origin_messages(db: &Db, client_id: i64, origin: &str) -> Vec<(String, String, String)> {
    on_db!(db, p => sqlx::query_as(
        "SELECT channel, body, status FROM messages WHERE client_id = $1 AND origin = $2 ORDER BY id")
        .bind(client_id).bind(origin).fetch_all(p).await)
    .unwrap()
}

async fn a_simulated_month_sends_exactly_the_expected_steps(db: Db) {
    let s = setup(&db).await;
    let start = today();
    let steps: Vec<(i32, Option<i64>)> = vec![
        (-2, Some(s.sms)),
        (0, Some(s.email)),
        (3, None),
        (10, Some(s.sms)),
    ];
    let flow_id = flow(&db, &s, "Principal", s.all, 1, steps.clone()).await;
    // Every client is in the first flow's segment: the second never sends.
    flow(&db, &s, "Nunca", s.all, 2, vec![(0, Some(s.sms))]).await;
    let mut dues = Vec::new();
    for (i, offset) in [-20i64, -9, -3, 0, 1, 4, 12, 26, 40]
        .into_iter()
        .enumerate()
    {
        let due = start + Duration::days(offset);
        let id = debtor(&db, &s, &format!("{}", 5000 + i), due).await;
        dues.push((id, due));
    }
    // A client with nothing owed is in no tramo: it never gets a step.
    let mut paid = client_input("5999", "Pablo", "Al día", None);
    paid.debts = vec![debt("F-5999", &start.to_string(), "1000", "1000")];
    client(&db, &s.admin, &paid).await;

    let last = start + Duration::days(29);
    // The server is down on days 7 and 8: the pass of day 9 catches up on them.
    let down = [start + Duration::days(7), start + Duration::days(8)];
    let mut day = start;
    while day <= last {
        if !down.contains(&day) {
            let report = scheduler::run_once(&db, &sending(), pass_on(day, afternoon(day)))
                .await
                .unwrap();
            let again = scheduler::run_once(
                &db,
                &sending(),
                pass_on(day, afternoon(day) + Duration::minutes(1)),
            )
            .await
            .unwrap();
            assert!(
                !again.sent_anything(),
                "a second pass on {day} sent {again:?}"
            );
            if day == start + Duration::days(9) {
                assert_eq!(report.days, vec![down[0], down[1], day]);
            }
        }
        day += Duration::days(1);
    }

    let step_ids: Vec<(i64, i32)> = on_db!(&db, p => sqlx::query_as(
        "SELECT id, CAST(day AS INTEGER) FROM flow_steps WHERE flow_id = $1 ORDER BY day")
        .bind(flow_id).fetch_all(p).await)
    .unwrap();
    let mut expected = BTreeSet::new();
    for (client_id, due) in &dues {
        for (step_id, step_day) in &step_ids {
            let on = *due + Duration::days(i64::from(*step_day));
            if on >= start && on <= last {
                expected.insert((*step_id, *client_id, on));
            }
        }
    }
    let sent: BTreeSet<(i64, i64, NaiveDate)> = on_db!(&db, p => sqlx::query_as(
        "SELECT step_id, client_id, sent_on FROM flow_sends").fetch_all(p).await)
    .unwrap()
    .into_iter()
    .map(|(step, client, on): (i64, i64, NaiveDate)| {
        // A caught-up step is recorded on the day the pass ran.
        let due = dues.iter().find(|(c, _)| *c == client).unwrap().1;
        let step_day = step_ids.iter().find(|(s, _)| *s == step).unwrap().1;
        let planned = due + Duration::days(i64::from(step_day));
        assert!(on == planned || (down.contains(&planned) && on == start + Duration::days(9)));
        (step, client, planned)
    })
    .collect();
    assert_eq!(sent, expected);
    let calls_expected = expected
        .iter()
        .filter(|(step, _, _)| step_ids.iter().any(|(s, d)| s == step && *d == 3))
        .count() as i64;
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM messages WHERE origin = 'flow'").await,
        expected.len() as i64 - calls_expected
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM call_tasks WHERE reason = 'flow'").await,
        calls_expected
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE m.origin = 'flow'").await,
        expected.len() as i64 - calls_expected,
        "every flow message is queued for delivery"
    );
    let (client_id, _) = dues[3];
    let messages = origin_messages(&db, client_id, "flow").await;
    assert!(
        messages
            .iter()
            .any(|(c, body, _)| c == "email"
                && body.contains("pague aquí: http://127.0.0.1:3000/pago/")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(c, body, _)| c == "sms" && body.starts_with("Ana Cliente 5003, debe")),
        "{messages:?}"
    );
}

fn outcome(o: Outcome) -> OutcomeInput {
    OutcomeInput {
        situation: Situation::OutboundContacted.as_str().into(),
        outcome: o.as_str().into(),
        ..OutcomeInput::default()
    }
}

async fn suspended_clients_get_events_but_no_flow_steps(db: Db) {
    let s = setup(&db).await;
    let due = today() - Duration::days(5);
    let normal = debtor(&db, &s, "7001", due).await;
    let promised = debtor(&db, &s, "7002", due).await;
    let paused = debtor(&db, &s, "7003", due).await;
    let wont = debtor(&db, &s, "7004", due).await;
    let event_template = templates::save(
        &db,
        &s.admin,
        None,
        TemplateInput {
            name: "Gracias por su compromiso".into(),
            channel: Channel::Sms,
            recipient: PartyRole::Client,
            purpose: Purpose::Event,
            subject: String::new(),
            body: "{{nombre}}, registramos su compromiso de pago.".into(),
            approved: true,
        },
        now(),
    )
    .await
    .unwrap();
    automation::save_event(
        &db,
        &s.admin,
        None,
        EventRuleInput {
            name: "Compromiso registrado".into(),
            trigger: Trigger::PromiseCreated,
            days_before: 0,
            template_id: Some(event_template),
            active: true,
        },
        now(),
    )
    .await
    .unwrap();
    let cal = CallCalendar::default();
    let later = now() + Duration::minutes(5);
    calls::register(
        &db,
        &s.admin,
        promised,
        OutcomeInput {
            date: (today() + Duration::days(7)).to_string(),
            amount: "100000".into(),
            ..outcome(Outcome::PromiseOrToVerify)
        },
        &cal,
        Clock {
            now: later,
            ..clock()
        },
    )
    .await
    .unwrap();
    calls::register(
        &db,
        &s.admin,
        paused,
        OutcomeInput {
            until_date: (today() + Duration::days(3)).to_string(),
            ..outcome(Outcome::Pause)
        },
        &cal,
        Clock {
            now: later,
            ..clock()
        },
    )
    .await
    .unwrap();
    calls::register(
        &db,
        &s.admin,
        wont,
        outcome(Outcome::WontPay),
        &cal,
        Clock {
            now: later,
            ..clock()
        },
    )
    .await
    .unwrap();
    flow(&db, &s, "Principal", s.all, 1, vec![(5, Some(s.sms))]).await;

    let report = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: later + Duration::minutes(1),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.flow_messages, 1);
    assert_eq!(report.suspended_skipped, 3);
    assert_eq!(report.event_messages, 1);
    assert_eq!(origin_messages(&db, normal, "flow").await.len(), 1);
    for c in [promised, paused, wont] {
        assert!(
            origin_messages(&db, c, "flow").await.is_empty(),
            "client {c} is suspended"
        );
    }
    let events = origin_messages(&db, promised, "event").await;
    assert_eq!(events.len(), 1);
    assert!(events[0].1.ends_with("registramos su compromiso de pago."));
    let again = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: later + Duration::minutes(2),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(again.event_messages, 0, "an event is sent once");

    // The pause ends: the client is back in the flow from its next step on.
    let after = today() + Duration::days(4);
    let input = FlowInput {
        name: "Principal".into(),
        segment_id: Some(s.all),
        position: 1,
        active: true,
        steps: vec![
            FlowStepInput {
                day: 5,
                template_id: Some(s.sms),
            },
            FlowStepInput {
                day: 9,
                template_id: Some(s.sms),
            },
        ],
    };
    let flow_id: (i64,) =
        on_db!(&db, p => sqlx::query_as("SELECT id FROM flows").fetch_one(p).await).unwrap();
    automation::save_flow(&db, &s.admin, Some(flow_id.0), input.clone(), now())
        .await
        .unwrap();
    scheduler::run_once(&db, &sending(), pass_on(after, afternoon(after)))
        .await
        .unwrap();
    assert_eq!(
        origin_messages(&db, paused, "flow").await.len(),
        1,
        "day 9 reaches the client once its pause is over"
    );
    assert_eq!(
        origin_messages(&db, normal, "flow").await.len(),
        2,
        "the kept step was not sent again"
    );
}

async fn two_schedulers_at_once_send_nothing_twice(db: Db) {
    let s = setup(&db).await;
    let due = today() - Duration::days(5);
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(debtor(&db, &s, &format!("{}", 8000 + i), due).await);
    }
    flow(
        &db,
        &s,
        "Principal",
        s.all,
        1,
        vec![(5, Some(s.sms)), (5, None)],
    )
    .await;
    automation::create_campaign(
        &db,
        &s.admin,
        CampaignInput {
            name: "Aviso general".into(),
            segment_id: Some(s.all),
            template_id: Some(s.email),
            scheduled_at: String::new(),
        },
        clock(),
    )
    .await
    .unwrap();
    // Two passes share the pool as two servers share the database: their transactions
    // interleave (PostgreSQL) or queue for the write lock (SQLite).
    let other = db.clone();
    let at = now() + Duration::minutes(1);
    let sending = sending();
    let (a, b) = tokio::join!(
        scheduler::run_once(&db, &sending, Clock { now: at, ..clock() }),
        scheduler::run_once(&other, &sending, Clock { now: at, ..clock() })
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.flow_messages + b.flow_messages, 30);
    assert_eq!(a.flow_calls + b.flow_calls, 30);
    assert_eq!(a.campaign_messages + b.campaign_messages, 30);
    for id in ids {
        assert_eq!(origin_messages(&db, id, "flow").await.len(), 1);
        assert_eq!(origin_messages(&db, id, "campaign").await.len(), 1);
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM call_tasks WHERE reason = 'flow'").await,
        30
    );
    let campaigns = automation::campaigns(&db, clock()).await.unwrap();
    assert_eq!((campaigns[0].total, campaigns[0].written), (Some(30), 30));
    assert_eq!(campaigns[0].state.as_str(), "done");
}

async fn a_failed_send_goes_out_on_the_last_channel_that_worked(db: Db) {
    let s = setup(&db).await;
    let due = today() - Duration::days(2);
    let answered = debtor(&db, &s, "9001", due).await;
    let silent = debtor(&db, &s, "9002", due).await;
    // The first debtor once wrote from their e-mail: that channel works.
    let email = "ana.9001@correo.co";
    conversations::ingest(
        &db,
        InboundMessage::new(
            Channel::Email,
            email,
            "Recibido, gracias",
            now() - Duration::days(3),
        ),
        now(),
    )
    .await
    .unwrap();
    flow(&db, &s, "Principal", s.all, 1, vec![(2, Some(s.sms))]).await;
    let report = scheduler::run_once(&db, &sending(), clock()).await.unwrap();
    assert_eq!((report.flow_messages, report.fallbacks), (2, 0));
    // The provider reports the SMS failed, as its status callback would.
    let (sms_id,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM messages WHERE client_id = $1 AND origin = 'flow'").bind(answered).fetch_one(p).await)
    .unwrap();
    recaudo::server::messages::status::record(
        &db,
        sms_id,
        DeliveryStatus::Failed,
        "Número inválido",
        now(),
    )
    .await
    .unwrap();
    let (silent_sms,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM messages WHERE client_id = $1 AND origin = 'flow'").bind(silent).fetch_one(p).await)
    .unwrap();
    recaudo::server::messages::status::record(
        &db,
        silent_sms,
        DeliveryStatus::Failed,
        "Número inválido",
        now(),
    )
    .await
    .unwrap();

    let report = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: now() + Duration::minutes(1),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.fallbacks, 1);
    let messages = origin_messages(&db, answered, "flow").await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1].0, "email");
    assert!(
        messages[1]
            .1
            .starts_with("Hola Ana Cliente 9001, no pudimos hacerle llegar"),
        "{}",
        messages[1].1
    );
    let (to,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT address FROM messages WHERE client_id = $1 AND origin = 'flow' AND channel = 'email'")
        .bind(answered).fetch_one(p).await)
    .unwrap();
    assert_eq!(to, email);
    assert_eq!(
        origin_messages(&db, silent, "flow").await.len(),
        1,
        "no channel ever reached the second debtor"
    );
    let (note,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT note FROM fallbacks WHERE failed_message_id = $1").bind(silent_sms).fetch_one(p).await)
    .unwrap();
    assert!(note.starts_with("Ningún otro canal"));
    let again = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: now() + Duration::minutes(2),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(again.fallbacks, 0, "a failure falls back once");

    // Switched off, a failure stays a failure.
    let mut settings = automation::settings(&db).await.unwrap();
    settings.fallback_enabled = false;
    automation::save_settings(&db, &s.admin, settings, now())
        .await
        .unwrap();
    // A client imported later in the day still gets the day's step.
    let third = debtor(&db, &s, "9003", due).await;
    conversations::ingest(
        &db,
        InboundMessage::new(
            Channel::Email,
            "ana.9003@correo.co",
            "Hola",
            now() - Duration::days(1),
        ),
        now(),
    )
    .await
    .unwrap();
    let report = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: now() + Duration::minutes(3),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.flow_messages, 1);
    let (third_sms,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM messages WHERE client_id = $1 AND origin = 'flow'").bind(third).fetch_one(p).await)
    .unwrap();
    recaudo::server::messages::status::record(
        &db,
        third_sms,
        DeliveryStatus::Failed,
        "Número inválido",
        now(),
    )
    .await
    .unwrap();
    let report = scheduler::run_once(
        &db,
        &sending(),
        Clock {
            now: now() + Duration::minutes(4),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.fallbacks, 0);
    assert_eq!(origin_messages(&db, third, "flow").await.len(), 1);
}

async fn campaigns_wait_their_time_report_and_cancel(db: Db) {
    let s = setup(&db).await;
    for i in 0..12 {
        debtor(
            &db,
            &s,
            &format!("{}", 6000 + i),
            today() - Duration::days(40),
        )
        .await;
    }
    let over_30 = segments::save(
        &db,
        &s.admin,
        None,
        SegmentInput {
            name: "Más de 30 días".into(),
            rule: Rule::Group {
                connector: Connector::And,
                rules: vec![Rule::Condition(Condition {
                    variable: Variable::DaysOverdue,
                    op: Op::Gt,
                    value: "30".into(),
                })],
            },
        },
        now(),
    )
    .await
    .unwrap();
    let input = |at: &str| CampaignInput {
        name: "Navidad".into(),
        segment_id: Some(over_30),
        template_id: Some(s.sms),
        scheduled_at: at.into(),
    };
    let Err(AppError::Invalid(e)) =
        automation::create_campaign(&db, &s.admin, input("2020-01-01T10:00"), clock()).await
    else {
        panic!("a past time is refused")
    };
    assert!(e[0].message.contains("ya pasaron"));
    let Err(AppError::Invalid(e)) = automation::create_campaign(
        &db,
        &s.admin,
        CampaignInput {
            template_id: None,
            ..input("")
        },
        clock(),
    )
    .await
    else {
        panic!("a template is required")
    };
    assert_eq!(e[0].message, "Elige la plantilla a enviar.");
    // Tomorrow at 09:00 local.
    let tomorrow = (today() + Duration::days(1)).and_hms_opt(9, 0, 0).unwrap();
    let id = automation::create_campaign(
        &db,
        &s.admin,
        input(&tomorrow.format("%Y-%m-%dT%H:%M").to_string()),
        clock(),
    )
    .await
    .unwrap();
    let report = scheduler::run_once(&db, &sending(), clock()).await.unwrap();
    assert_eq!(report.campaign_messages, 0, "not before its time");
    let at = tz()
        .from_local_datetime(&tomorrow)
        .unwrap()
        .with_timezone(&Utc);
    let next_day = today() + Duration::days(1);
    let report = scheduler::run_once(
        &db,
        &sending(),
        pass_on(next_day, at + Duration::minutes(1)),
    )
    .await
    .unwrap();
    assert_eq!(report.campaign_messages, 12);
    let c = &automation::campaigns(&db, clock()).await.unwrap()[0];
    assert_eq!(
        (c.id, c.total, c.written, c.state.as_str()),
        (id, Some(12), 12, "done")
    );
    // Its messages are still in the outbox (no dispatcher runs here): cancelling now
    // withdraws them, and they do not fall back to another channel.
    assert_eq!(
        automation::cancel_campaign(&db, &s.admin, id, at).await,
        Ok(12)
    );
    let (failed,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE origin = 'campaign' AND status = 'failed'").fetch_one(p).await)
    .unwrap();
    assert_eq!(failed, 12);
    assert_eq!(
        automation::cancel_campaign(&db, &s.admin, id, at).await,
        Err(AppError::invalid(
            "campaign",
            "La campaña ya estaba cancelada."
        ))
    );
    let report = scheduler::run_once(
        &db,
        &sending(),
        pass_on(next_day, at + Duration::minutes(2)),
    )
    .await
    .unwrap();
    assert_eq!(report.fallbacks, 0);

    // Once everything went out, there is nothing left to cancel.
    let second =
        automation::create_campaign(&db, &s.admin, input(""), Clock { now: at, ..clock() })
            .await
            .unwrap();
    scheduler::run_once(
        &db,
        &sending(),
        pass_on(next_day, at + Duration::minutes(3)),
    )
    .await
    .unwrap();
    on_db!(&db, p => sqlx::query("UPDATE outbox SET state = 'sent'").execute(p).await.map(drop))
        .unwrap();
    assert_eq!(
        automation::cancel_campaign(&db, &s.admin, second, at).await,
        Err(AppError::invalid(
            "campaign",
            "La campaña ya terminó: no queda nada por enviar."
        ))
    );
    // A scheduled one cancelled before its time never sends.
    let later = (today() + Duration::days(2)).and_hms_opt(9, 0, 0).unwrap();
    let third = automation::create_campaign(
        &db,
        &s.admin,
        input(&later.format("%Y-%m-%dT%H:%M").to_string()),
        Clock { now: at, ..clock() },
    )
    .await
    .unwrap();
    assert_eq!(
        automation::cancel_campaign(&db, &s.admin, third, at).await,
        Ok(0)
    );
    let day_after = tz()
        .from_local_datetime(&later)
        .unwrap()
        .with_timezone(&Utc);
    let report = scheduler::run_once(
        &db,
        &sending(),
        pass_on(later.date(), day_after + Duration::minutes(1)),
    )
    .await
    .unwrap();
    assert_eq!(
        report.campaign_messages, 0,
        "a cancelled campaign sends nothing"
    );
}

on_both_engines!(
    a_simulated_month_sends_exactly_the_expected_steps,
    suspended_clients_get_events_but_no_flow_steps,
    two_schedulers_at_once_send_nothing_twice,
    a_failed_send_goes_out_on_the_last_channel_that_worked,
    campaigns_wait_their_time_report_and_cancel
);
