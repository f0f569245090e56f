//! Alerts against a real database, on SQLite and PostgreSQL: flags raised and lifted by
//! outcomes, money and channel events, the indicator, the filters under each role's
//! visibility, and lifting by hand.

use std::collections::BTreeSet;

use crate::common::*;
use chrono::Duration;
use recaudo::domain::alerts::{
    AlertFilter, AlertKind, ContactProblem, Contactability, LiftInput, NON_PAYMENT_CHOICES,
    PAYMENT_PROBLEM_CHOICES,
};
use recaudo::domain::calls::{CallCalendar, CallReason};
use recaudo::domain::client::{ClientDetail, PartyRole};
use recaudo::domain::contact::ContactKind;
use recaudo::domain::conversation::{InboundMessage, ReplyInput};
use recaudo::domain::error::AppError;
use recaudo::domain::listing::{ClientListQuery, InboxQuery};
use recaudo::domain::message::{Channel, DeliveryStatus};
use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
use recaudo::domain::user::{Role, User, Viewer};
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::{alerts, calls, clients, conversations};

struct Team {
    admin: Viewer,
    sup: User,
    a: User,
    b: User,
}

async fn team(db: &Db) -> Team {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let sup = user(db, "sup@x.co", Role::Supervisor, None).await;
    let other_sup = user(db, "sup2@x.co", Role::Supervisor, None).await;
    let a = user(db, "a@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(db, "b@x.co", Role::Advisor, Some(&other_sup)).await;
    Team {
        admin: viewer(db, &admin).await,
        sup,
        a,
        b,
    }
}

async fn debtor(db: &Db, t: &Team, doc: &str, advisor: &User) -> i64 {
    let mut input = client_input(doc, "Ana", &format!("Cliente {doc}"), Some(advisor));
    input.debts = vec![debt(&format!("F-{doc}"), "2026-06-01", "100000", "0")];
    client(db, &t.admin, &input).await
}

fn oc(situation: Situation, outcome: Outcome) -> OutcomeInput {
    OutcomeInput {
        situation: situation.as_str().into(),
        outcome: outcome.as_str().into(),
        note: "Nota de la llamada".into(),
        ..OutcomeInput::default()
    }
}

async fn register(db: &Db, v: &Viewer, client_id: i64, input: OutcomeInput) {
    calls::register(db, v, client_id, input, &CallCalendar::default(), clock())
        .await
        .unwrap();
}

/// Registers an outcome that asks for nothing but the note.
async fn say(db: &Db, v: &Viewer, client_id: i64, situation: Situation, outcome: Outcome) {
    register(db, v, client_id, oc(situation, outcome)).await
}

/// An e-mail bounce for this address.
async fn bounce(db: &Db, email: &str) {
    alerts::contact_failed(
        db,
        ContactKind::Email,
        email,
        ContactProblem::EmailNotFound,
        None,
        now(),
    )
    .await
    .unwrap();
}

async fn detail(db: &Db, v: &Viewer, id: i64) -> ClientDetail {
    clients::get(db, v, id, clock()).await.unwrap()
}

fn kinds(d: &ClientDetail) -> Vec<AlertKind> {
    d.alerts.kinds().collect()
}

fn point(d: &ClientDetail, kind: ContactKind) -> (i64, Option<ContactProblem>) {
    let c = d.parties[0]
        .contacts
        .iter()
        .find(|c| c.kind == kind)
        .unwrap();
    (c.id, c.problem)
}

fn email_of(d: &ClientDetail) -> String {
    d.parties[0]
        .contacts
        .iter()
        .find(|c| c.kind == ContactKind::Email)
        .unwrap()
        .value
        .clone()
}

fn phone_of(d: &ClientDetail) -> String {
    d.parties[0]
        .contacts
        .iter()
        .find(|c| c.kind == ContactKind::Phone)
        .unwrap()
        .value
        .clone()
}

async fn count(db: &Db, sql: &str, id: i64) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).bind(id).fetch_one(p).await).unwrap();
    n
}

async fn outcomes_raise_payment_alerts_and_money_lifts_them(db: Db) {
    let t = team(&db).await;
    let id = debtor(&db, &t, "3001", &t.a).await;
    let va = viewer(&db, &t.a).await;
    let fresh = detail(&db, &va, id).await;
    assert!(kinds(&fresh).is_empty());
    assert_eq!(fresh.alerts.contactability(), Contactability::New);

    say(&db, &va, id, Situation::OutboundContacted, Outcome::WontPay).await;
    say(
        &db,
        &va,
        id,
        Situation::OutboundContacted,
        Outcome::Restructuring,
    )
    .await;
    let d = detail(&db, &va, id).await;
    assert_eq!(kinds(&d), [AlertKind::WontPay, AlertKind::Restructuring]);
    // Talking to the debtor reached them.
    assert_eq!(d.alerts.contactability(), Contactability::Contactable);

    // A promise lifts "No quiere pagar" and leaves the payment problem.
    let promise = OutcomeInput {
        date: (today() + Duration::days(3)).to_string(),
        amount: "50000".into(),
        ..oc(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
    };
    register(&db, &va, id, promise).await;
    assert_eq!(
        kinds(&detail(&db, &va, id).await),
        [AlertKind::Restructuring]
    );

    // "No puede pagar", then a payment to verify lifts it.
    say(&db, &va, id, Situation::OutboundContacted, Outcome::CantPay).await;
    assert!(kinds(&detail(&db, &va, id).await).contains(&AlertKind::CantPay));
    let paid = OutcomeInput {
        date: today().to_string(),
        amount: "100000".into(),
        payment_method: "Transferencia".into(),
        ..oc(Situation::Inbound, Outcome::PaymentMade)
    };
    register(&db, &va, id, paid).await;
    assert_eq!(
        kinds(&detail(&db, &va, id).await),
        [AlertKind::Restructuring]
    );

    // Every raise and lift is kept, with what did it and who.
    let c = conversations::conversation(
        &db,
        &va,
        id,
        Clock {
            tz: chrono_tz::America::Bogota,
            ..clock()
        },
    )
    .await
    .unwrap();
    let lines: Vec<(bool, &str, &str)> = c
        .alert_history
        .iter()
        .map(|h| (h.raised, h.flag.as_str(), h.cause.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (false, "No puede pagar", "Pago a verificar"),
            (true, "No puede pagar", "Gestión «No puede pagar»"),
            (false, "No quiere pagar", "Compromiso de pago"),
            (
                true,
                "Problema de pago: Reestructuración",
                "Gestión «Problema de pago: Reestructuración»"
            ),
            (true, "No quiere pagar", "Gestión «No quiere pagar»"),
        ]
    );
    assert!(c.alert_history.iter().all(|h| h.by.as_deref() == Some("a")));
}

async fn channel_failures_flag_points_until_replaced_or_delivered(db: Db) {
    let t = team(&db).await;
    let id = debtor(&db, &t, "3101", &t.a).await;
    let other = debtor(&db, &t, "3102", &t.b).await;
    let va = viewer(&db, &t.a).await;
    let d = detail(&db, &va, id).await;
    let (email_id, _) = point(&d, ContactKind::Email);
    let email = email_of(&d);
    let phone = phone_of(&d);
    // The other client shares the phone.
    let mut shared = client_input("3102", "Ana", "Cliente 3102", Some(&t.b));
    shared.debts = vec![debt("F-3102", "2026-06-01", "100000", "0")];
    shared.contacts.phones = vec![phone.clone()];
    clients::update(&db, &t.admin, other, valid(&shared), clock())
        .await
        .unwrap();

    // An e-mail bounce flags that address, and the client has problems.
    let flagged = alerts::contact_failed(
        &db,
        ContactKind::Email,
        &email.to_uppercase(),
        ContactProblem::EmailNotFound,
        None,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(flagged, [id]);
    let d = detail(&db, &va, id).await;
    assert_eq!(
        point(&d, ContactKind::Email).1,
        Some(ContactProblem::EmailNotFound)
    );
    assert_eq!(kinds(&d), [AlertKind::Contactability]);
    assert_eq!(d.alerts.contactability(), Contactability::WithProblems);
    assert_eq!(
        d.flags()[0].hover,
        format!("Problema de contactabilidad: Correo no encontrado ({email})")
    );

    // The phone fails too, in both clients that have it: nothing usable is left.
    let flagged = alerts::contact_failed(
        &db,
        ContactKind::WhatsApp,
        &phone,
        ContactProblem::WhatsAppUnavailable,
        None,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(flagged, [id, other]);
    let d = detail(&db, &va, id).await;
    assert_eq!(d.alerts.contactability(), Contactability::NotContactable);

    // A new e-mail address lifts the old one's flag.
    let mut input = d.to_input();
    input.contacts.emails = vec!["nueva.3101@correo.co".into()];
    clients::update(&db, &t.admin, id, valid(&input), clock())
        .await
        .unwrap();
    let d = detail(&db, &va, id).await;
    assert_eq!(point(&d, ContactKind::Email).1, None);
    assert_ne!(point(&d, ContactKind::Email).0, email_id);
    assert_eq!(d.alerts.contactability(), Contactability::WithProblems);
    let replaced = count(
        &db,
        "SELECT COUNT(*) FROM alert_changes WHERE client_id = $1 AND NOT raised AND kind = 'contactability'",
        id,
    )
    .await;
    assert_eq!(replaced, 1);

    // A message delivered to the phone shows it works: the flag goes and the client
    // was reached.
    let reply = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Hola");
    let message = conversations::reply(&db, &va, reply, &sending(), clock())
        .await
        .unwrap();
    recaudo::server::messages::status::record(&db, message, DeliveryStatus::Delivered, "", now())
        .await
        .unwrap();
    let d = detail(&db, &va, id).await;
    assert_eq!(point(&d, ContactKind::Phone).1, None);
    assert!(kinds(&d).is_empty());
    assert_eq!(d.alerts.contactability(), Contactability::Contactable);
    // The other client's copy of the number stays flagged.
    let o = detail(&db, &t.admin, other).await;
    assert_eq!(
        point(&o, ContactKind::Phone).1,
        Some(ContactProblem::WhatsAppUnavailable)
    );

    // "Equivocado / Suspendido" flags the phone dialled.
    let (phone_id, _) = point(&d, ContactKind::Phone);
    let wrong = OutcomeInput {
        contact_point_id: Some(phone_id),
        ..oc(Situation::OutboundNotContacted, Outcome::WrongNumber)
    };
    register(&db, &va, id, wrong).await;
    let d = detail(&db, &va, id).await;
    assert_eq!(
        point(&d, ContactKind::Phone).1,
        Some(ContactProblem::WrongPhone)
    );
    let g = calls::gestion(
        &db,
        id,
        Clock {
            tz: chrono_tz::America::Bogota,
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(g.phones[0].problem, Some(ContactProblem::WrongPhone));

    // An unknown address is a clear error, and flags nothing.
    let bad = alerts::contact_failed(
        &db,
        ContactKind::Email,
        "no es un correo",
        ContactProblem::EmailNotFound,
        None,
        now(),
    )
    .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))));
}

/// The clients each filter should list, from what the test flagged.
struct Expect {
    wont: BTreeSet<i64>,
    cant: BTreeSet<i64>,
    refinancing: BTreeSet<i64>,
    bounced: BTreeSet<i64>,
    reached: BTreeSet<i64>,
}

async fn all_pages(db: &Db, v: &Viewer, q: &ClientListQuery, limit: i64) -> Vec<i64> {
    let mut q = q.clone();
    let mut ids = Vec::new();
    loop {
        let page = clients::list_planned(db, v, &q, today(), limit)
            .await
            .unwrap();
        ids.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(c) => q.after = Some(c),
            None => return ids,
        }
    }
}

async fn filters_list_exactly_the_flagged_clients_in_each_scope(db: Db) {
    let t = team(&db).await;
    let mut e = Expect {
        wont: BTreeSet::new(),
        cant: BTreeSet::new(),
        refinancing: BTreeSet::new(),
        bounced: BTreeSet::new(),
        reached: BTreeSet::new(),
    };
    let mut owner = std::collections::HashMap::new();
    // 130 clients: enough for pages of 50 in either plan.
    for i in 0..130 {
        let advisor = if i % 3 == 0 { &t.b } else { &t.a };
        let id = debtor(&db, &t, &format!("4{i:03}"), advisor).await;
        owner.insert(id, advisor.id);
    }
    // Viewers taken once the clients exist: a user with no clients yet sees them all.
    let va = viewer(&db, &t.a).await;
    let vb = viewer(&db, &t.b).await;
    let vs = viewer(&db, &t.sup).await;
    let ids: Vec<i64> = {
        let mut v: Vec<i64> = owner.keys().copied().collect();
        v.sort();
        v
    };
    for (n, id) in ids.iter().enumerate() {
        let v = if owner[id] == t.a.id { &va } else { &vb };
        if n % 4 == 0 {
            say(&db, v, *id, Situation::OutboundContacted, Outcome::WontPay).await;
            e.wont.insert(*id);
            e.reached.insert(*id);
        }
        if n % 7 == 0 {
            say(&db, v, *id, Situation::OutboundContacted, Outcome::CantPay).await;
            e.cant.insert(*id);
            e.reached.insert(*id);
        }
        if n % 5 == 0 {
            say(&db, v, *id, Situation::Inbound, Outcome::Refinancing).await;
            e.refinancing.insert(*id);
            e.reached.insert(*id);
        }
        if n % 6 == 0 {
            bounce(&db, &email_of(&detail(&db, v, *id).await)).await;
            e.bounced.insert(*id);
        }
    }
    let all: BTreeSet<i64> = ids.iter().copied().collect();
    let indicator = |c: Contactability| -> BTreeSet<i64> {
        all.iter()
            .copied()
            .filter(|id| match c {
                Contactability::WithProblems => e.bounced.contains(id),
                Contactability::Contactable => !e.bounced.contains(id) && e.reached.contains(id),
                Contactability::New => !e.bounced.contains(id) && !e.reached.contains(id),
                Contactability::NotContactable => false,
            })
            .collect()
    };
    let mut cases: Vec<(AlertFilter, BTreeSet<i64>)> = vec![
        (
            AlertFilter {
                non_payment: NON_PAYMENT_CHOICES[0].bits,
                ..AlertFilter::default()
            },
            e.wont.union(&e.cant).copied().collect(),
        ),
        (
            AlertFilter {
                non_payment: NON_PAYMENT_CHOICES[1].bits,
                ..AlertFilter::default()
            },
            e.wont.clone(),
        ),
        (
            AlertFilter {
                non_payment: NON_PAYMENT_CHOICES[2].bits,
                payment_problem: PAYMENT_PROBLEM_CHOICES[2].bits,
                ..AlertFilter::default()
            },
            e.cant.intersection(&e.refinancing).copied().collect(),
        ),
        (
            AlertFilter {
                payment_problem: PAYMENT_PROBLEM_CHOICES[1].bits,
                ..AlertFilter::default()
            },
            BTreeSet::new(),
        ),
    ];
    for c in Contactability::ALL {
        cases.push((
            AlertFilter {
                contactability: Some(*c),
                ..AlertFilter::default()
            },
            indicator(*c),
        ));
    }
    for (v, who) in [
        (&t.admin, "admin"),
        (&vs, "supervisor"),
        (&va, "advisor a"),
        (&vb, "advisor b"),
    ] {
        let visible: BTreeSet<i64> = match v.role {
            Role::Admin => all.clone(),
            Role::Supervisor => all
                .iter()
                .copied()
                .filter(|id| owner[id] == t.a.id)
                .collect(),
            Role::Advisor => all
                .iter()
                .copied()
                .filter(|id| owner[id] == v.user_id)
                .collect(),
        };
        for (filter, expected) in &cases {
            let q = ClientListQuery {
                alerts: *filter,
                ..ClientListQuery::default()
            };
            let want: BTreeSet<i64> = expected.intersection(&visible).copied().collect();
            // Both plans: read from the alert index, and tested on the sort index.
            for limit in [5_000, 0] {
                let got = all_pages(&db, v, &q, limit).await;
                let unique: BTreeSet<i64> = got.iter().copied().collect();
                assert_eq!(unique.len(), got.len(), "{who} {filter:?} repeats a client");
                assert_eq!(unique, want, "{who} {filter:?} limit {limit}");
            }
            // The same clients, in the same order, whichever plan.
            assert_eq!(
                all_pages(&db, v, &q, 5_000).await,
                all_pages(&db, v, &q, 0).await
            );
        }
    }

    // Conversaciones: the same filter over the conversations with a message.
    for id in e.wont.iter().take(3) {
        let d = detail(&db, &t.admin, *id).await;
        let m = InboundMessage::new(Channel::Email, &email_of(&d), "Hola", now());
        conversations::ingest(&db, m, now()).await.unwrap();
    }
    let q = InboxQuery {
        alerts: AlertFilter {
            non_payment: NON_PAYMENT_CHOICES[1].bits,
            ..AlertFilter::default()
        },
        ..InboxQuery::default()
    };
    let page = conversations::inbox(
        &db,
        &t.admin,
        &q,
        Clock {
            tz: chrono_tz::America::Bogota,
            ..clock()
        },
    )
    .await
    .unwrap();
    let got: BTreeSet<i64> = page.rows.iter().map(|r| r.id).collect();
    let want: BTreeSet<i64> = e.wont.iter().take(3).copied().collect();
    assert_eq!(got, want);
    assert!(page
        .rows
        .iter()
        .all(|r| r.flags()[0].hover == "No quiere pagar"));

    // Llamadas: calls due for every other client, a few from broken promises (listed
    // first), filtered and paged across both parts of the tray.
    let mut called = BTreeSet::new();
    let mut tx = db.begin().await.unwrap();
    for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
        let reason = if n % 8 == 0 {
            CallReason::BrokenPromise
        } else {
            CallReason::Flow
        };
        calls::schedule(&mut tx, *id, today(), reason, None, now())
            .await
            .unwrap();
        called.insert(*id);
    }
    tx.commit().await.unwrap();
    let mut q = InboxQuery {
        alerts: AlertFilter {
            non_payment: NON_PAYMENT_CHOICES[0].bits,
            ..AlertFilter::default()
        },
        ..InboxQuery::default()
    };
    let mut got = Vec::new();
    loop {
        let page = calls::calls_tray(&db, &t.admin, &q, clock()).await.unwrap();
        got.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(c) => {
                q.after = Some(c);
                q.after_broken = page.next_broken;
            }
            None => break,
        }
    }
    let want: BTreeSet<i64> = e
        .wont
        .union(&e.cant)
        .filter(|id| called.contains(id))
        .copied()
        .collect();
    assert_eq!(got.len(), want.len(), "nothing repeated");
    assert_eq!(got.iter().copied().collect::<BTreeSet<i64>>(), want);

    // A filter no screen builds is refused.
    let forged = ClientListQuery {
        alerts: AlertFilter {
            non_payment: AlertKind::Contactability.bit(),
            ..AlertFilter::default()
        },
        ..ClientListQuery::default()
    };
    assert!(matches!(
        clients::list(&db, &t.admin, &forged, today()).await,
        Err(AppError::Invalid(_))
    ));
}

async fn lifting_by_hand_needs_sight_of_the_client_and_a_reason(db: Db) {
    let t = team(&db).await;
    let id = debtor(&db, &t, "5001", &t.a).await;
    let _theirs = debtor(&db, &t, "5002", &t.b).await;
    let va = viewer(&db, &t.a).await;
    let vb = viewer(&db, &t.b).await;
    say(&db, &va, id, Situation::OutboundContacted, Outcome::WontPay).await;
    bounce(&db, &email_of(&detail(&db, &va, id).await)).await;
    let lift = |kind, reason: &str| LiftInput {
        client_id: id,
        kind,
        contact_point_id: None,
        reason: reason.into(),
    };

    // Another advisor cannot see the client: NotFound, and nothing changes.
    let denied = alerts::lift(&db, &vb, &lift(AlertKind::WontPay, "Pagó"), now()).await;
    assert_eq!(denied, Err(AppError::NotFound));
    // A reason is required.
    let empty = alerts::lift(&db, &va, &lift(AlertKind::WontPay, "  "), now()).await;
    assert!(matches!(empty, Err(AppError::Invalid(_))));
    assert_eq!(
        kinds(&detail(&db, &va, id).await),
        [AlertKind::WontPay, AlertKind::Contactability]
    );

    alerts::lift(
        &db,
        &va,
        &lift(AlertKind::WontPay, "Acordó pagar con su hermano"),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        kinds(&detail(&db, &va, id).await),
        [AlertKind::Contactability]
    );
    // Lifting it again: it is no longer raised.
    let again = alerts::lift(&db, &va, &lift(AlertKind::WontPay, "Otra vez"), now()).await;
    assert!(matches!(again, Err(AppError::Conflict(_))));
    // The row's contactability flag stands for every failed point: lifting it lifts all.
    let vs = viewer(&db, &t.sup).await;
    alerts::lift(
        &db,
        &vs,
        &lift(AlertKind::Contactability, "Confirmado por teléfono"),
        now(),
    )
    .await
    .unwrap();
    let d = detail(&db, &va, id).await;
    assert!(kinds(&d).is_empty());
    assert_eq!(point(&d, ContactKind::Email).1, None);

    // Audited, with who and why.
    let audited = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.lift' AND subject = 'client:' || CAST($1 AS TEXT)",
        id,
    )
    .await;
    assert_eq!(audited, 2);
    let c = conversations::conversation(
        &db,
        &va,
        id,
        Clock {
            tz: chrono_tz::America::Bogota,
            ..clock()
        },
    )
    .await
    .unwrap();
    let manual: Vec<(&str, Option<&str>, &str)> = c
        .alert_history
        .iter()
        .filter(|h| !h.raised)
        .map(|h| (h.cause.as_str(), h.by.as_deref(), h.reason.as_str()))
        .collect();
    assert_eq!(
        manual,
        [
            ("Quitada a mano", Some("sup"), "Confirmado por teléfono"),
            ("Quitada a mano", Some("a"), "Acordó pagar con su hermano"),
        ]
    );
}

/// The clients' alert columns, as the services left them.
async fn alert_columns(db: &Db) -> Vec<(i64, i64, i64, bool)> {
    on_db!(db, p => sqlx::query_as(
        "SELECT id, alert_key, contact_problems, reached_at IS NOT NULL FROM clients ORDER BY id")
        .fetch_all(p).await)
    .unwrap()
}

async fn failed_points(db: &Db) -> Vec<(i64, Option<String>)> {
    on_db!(db, p => sqlx::query_as(
        "SELECT id, failed_problem FROM contact_points ORDER BY id").fetch_all(p).await)
    .unwrap()
}

/// Migration 0004 computes the alert columns of data written before it from the events
/// issue 4 stored: it must agree with what the services compute for the same history.
async fn the_migration_backfill_agrees_with_the_services(db: Db) {
    let t = team(&db).await;
    let va_clients: Vec<i64> = {
        let mut ids = Vec::new();
        for doc in ["6001", "6002", "6003", "6004", "6005"] {
            ids.push(debtor(&db, &t, doc, &t.a).await);
        }
        let mut phone_only = client_input("6006", "Ana", "Cliente 6006", Some(&t.a));
        phone_only.contacts.emails.clear();
        ids.push(client(&db, &t.admin, &phone_only).await);
        let mut nothing = client_input("6007", "Ana", "Cliente 6007", Some(&t.a));
        nothing.contacts.phones.clear();
        nothing.contacts.emails.clear();
        ids.push(client(&db, &t.admin, &nothing).await);
        ids
    };
    let va = viewer(&db, &t.a).await;
    let [won, problems, _new, inbound, _, phone_only, _] = va_clients[..] else {
        unreachable!()
    };
    say(
        &db,
        &va,
        won,
        Situation::OutboundContacted,
        Outcome::WontPay,
    )
    .await;
    let promise = OutcomeInput {
        date: (today() + Duration::days(3)).to_string(),
        amount: "50000".into(),
        ..oc(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
    };
    register(&db, &va, won, promise).await;
    say(
        &db,
        &va,
        won,
        Situation::OutboundContacted,
        Outcome::CantPay,
    )
    .await;
    say(
        &db,
        &va,
        problems,
        Situation::Inbound,
        Outcome::Restructuring,
    )
    .await;
    for id in [problems, phone_only] {
        let (phone, _) = point(&detail(&db, &va, id).await, ContactKind::Phone);
        let wrong = OutcomeInput {
            contact_point_id: Some(phone),
            ..oc(Situation::OutboundNotContacted, Outcome::WrongNumber)
        };
        register(&db, &va, id, wrong).await;
    }
    let email = email_of(&detail(&db, &va, inbound).await);
    conversations::ingest(
        &db,
        InboundMessage::new(Channel::Email, &email, "Hola", now()),
        now(),
    )
    .await
    .unwrap();

    let computed = alert_columns(&db).await;
    let points = failed_points(&db).await;
    let keys: BTreeSet<i64> = computed.iter().map(|c| c.1).collect();
    assert!(keys.len() >= 5, "a varied history: {computed:?}");

    // Back to what issue 4 left: its events, the failed phones, nothing else.
    on_db!(&db, p => sqlx::raw_sql(
        "DELETE FROM alert_changes;
         UPDATE clients SET alert_key = 0, contact_problems = 0, reached_at = NULL;
         UPDATE contact_points SET failed_problem = NULL;").execute(p).await.map(drop))
    .unwrap();
    let engine = db.engine().as_str();
    let migration =
        std::fs::read_to_string(format!("migrations/{engine}/0004_alerts.sql")).unwrap();
    let start = migration.find("-- What came before").unwrap();
    let end = migration.find("-- The alert filters").unwrap();
    let backfill = migration[start..end].to_string();
    on_db!(&db, p => sqlx::raw_sql(&backfill).execute(p).await.map(drop)).unwrap();

    assert_eq!(alert_columns(&db).await, computed);
    assert_eq!(failed_points(&db).await, points);
}

on_both_engines!(
    outcomes_raise_payment_alerts_and_money_lifts_them,
    channel_failures_flag_points_until_replaced_or_delivered,
    filters_list_exactly_the_flagged_clients_in_each_scope,
    lifting_by_hand_needs_sight_of_the_client_and_a_reason,
    the_migration_backfill_agrees_with_the_services,
);
