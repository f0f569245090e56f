//! Calls against a real database, on SQLite and PostgreSQL: the Llamadas tray, outcome
//! effects, promises kept and broken, the settlement job and payments to verify.

use std::collections::HashSet;

use crate::common::*;
use chrono::{Duration, NaiveDate};
use recaudo::domain::calls::{CallCalendar, CallReason, PromisePolicy, ReviewInput};
use recaudo::domain::error::AppError;
use recaudo::domain::listing::{ClientRow, InboxQuery};
use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
use recaudo::domain::user::{Role, User, Viewer};
use recaudo::on_db;
use recaudo::server::calls::payments::Approval;
use recaudo::server::calls::{self, payments, promises};
use recaudo::server::db::Db;
use recaudo::server::{clients, conversations};

fn day(n: i64) -> NaiveDate {
    today() + Duration::days(n)
}

fn oc(situation: Situation, outcome: Outcome) -> OutcomeInput {
    OutcomeInput {
        situation: situation.as_str().into(),
        outcome: outcome.as_str().into(),
        ..OutcomeInput::default()
    }
}

fn promise(date: NaiveDate, amount: &str) -> OutcomeInput {
    OutcomeInput {
        date: date.to_string(),
        amount: amount.into(),
        ..oc(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
    }
}

fn payment(date: NaiveDate, amount: &str) -> OutcomeInput {
    OutcomeInput {
        date: date.to_string(),
        amount: amount.into(),
        payment_method: "Transferencia".into(),
        ..oc(Situation::Inbound, Outcome::PaymentMade)
    }
}

/// "Aprobación por otra persona" on, as shipped, and off.
const OTHER: Approval = Approval { by_other: true };
const SELF: Approval = Approval { by_other: false };

struct Team {
    admin: Viewer,
    a: User,
    b: User,
    va: Viewer,
    vb: Viewer,
}

impl Team {
    /// Advisors with no clients yet see every client: their viewers are taken again
    /// once the test's clients exist.
    async fn seen_by_advisors(&mut self, db: &Db) {
        self.va = viewer(db, &self.a).await;
        self.vb = viewer(db, &self.b).await;
    }
}

async fn team(db: &Db) -> Team {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let sup = user(db, "sup@x.co", Role::Supervisor, None).await;
    let a = user(db, "a@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(db, "b@x.co", Role::Advisor, Some(&sup)).await;
    Team {
        admin: viewer(db, &admin).await,
        va: viewer(db, &a).await,
        vb: viewer(db, &b).await,
        a,
        b,
    }
}

/// A client of `advisor` owing `debts` (due date, amount) in COP.
async fn debtor(db: &Db, t: &Team, doc: &str, advisor: &User, debts: &[(&str, &str)]) -> i64 {
    let mut input = client_input(doc, "Ana", &format!("Cliente {doc}"), Some(advisor));
    input.debts = debts
        .iter()
        .enumerate()
        .map(|(i, (due, amount))| debt(&format!("F-{doc}-{i}"), due, amount, "0"))
        .collect();
    client(db, &t.admin, &input).await
}

async fn register(
    db: &Db,
    v: &Viewer,
    client_id: i64,
    input: OutcomeInput,
) -> Result<calls::Registered, AppError> {
    calls::register(db, v, client_id, input, &CallCalendar::default(), clock()).await
}

async fn tray(db: &Db, v: &Viewer, on: NaiveDate) -> (Vec<ClientRow>, i64) {
    let mut q = InboxQuery::default();
    let mut rows = Vec::new();
    let mut due = None;
    loop {
        let page = calls::calls_tray(db, v, &q, clock_on(on)).await.unwrap();
        // The counter comes with the first page.
        due.get_or_insert(page.calls_due);
        rows.extend(page.rows);
        match page.next {
            Some(c) => {
                q.after = Some(c);
                q.after_broken = page.next_broken;
            }
            None => return (rows, due.unwrap_or_default()),
        }
    }
}

fn ids(rows: &[ClientRow]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

async fn count(db: &Db, sql: &str, id: i64) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).bind(id).fetch_one(p).await).unwrap();
    n
}

async fn schedule(db: &Db, client_id: i64, due: NaiveDate, reason: CallReason) {
    let mut tx = db.begin().await.unwrap();
    calls::schedule(&mut tx, client_id, due, reason, None, now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn the_tray_holds_todays_calls_until_an_outcome(db: Db) {
    let mut t = team(&db).await;
    let b = t.b.clone();
    let old = debtor(&db, &t, "2001", &t.a, &[("2026-01-10", "500000")]).await;
    let mid = debtor(&db, &t, "2002", &t.a, &[("2026-06-10", "900000")]).await;
    let recent = debtor(&db, &t, "2003", &t.a, &[("2026-10-10", "100000")]).await;
    let later = debtor(&db, &t, "2004", &t.a, &[("2026-03-10", "100000")]).await;
    let others = debtor(&db, &t, "2005", &b, &[("2026-02-10", "100000")]).await;
    schedule(&db, old, day(-1), CallReason::Flow).await;
    schedule(&db, mid, today(), CallReason::Flow).await;
    schedule(&db, recent, today(), CallReason::Flow).await;
    schedule(&db, later, day(1), CallReason::Callback).await;
    schedule(&db, others, today(), CallReason::Flow).await;
    t.seen_by_advisors(&db).await;

    // Most days overdue first; tomorrow's call and another advisor's are not there.
    let (rows, due) = tray(&db, &t.va, today()).await;
    assert_eq!(ids(&rows), [old, mid, recent]);
    assert_eq!(due, 3);
    let (rows, _) = tray(&db, &t.admin, today()).await;
    assert_eq!(ids(&rows), [old, others, mid, recent]);
    // Tomorrow's call shows up by itself tomorrow.
    assert!(ids(&tray(&db, &t.va, day(1)).await.0).contains(&later));

    // "Volver a llamar" takes the client out until the chosen day.
    let callback = OutcomeInput {
        date: day(2).to_string(),
        note: "Pide que lo llamen el miércoles".into(),
        ..oc(Situation::OutboundContacted, Outcome::Callback)
    };
    register(&db, &t.va, old, callback).await.unwrap();
    // "No contesta" leaves the client for another attempt.
    register(
        &db,
        &t.va,
        mid,
        oc(Situation::OutboundNotContacted, Outcome::NoAnswer),
    )
    .await
    .unwrap();
    let (rows, due) = tray(&db, &t.va, today()).await;
    assert_eq!(ids(&rows), [mid, recent]);
    assert_eq!(due, 2);
    assert!(ids(&tray(&db, &t.va, day(2)).await.0).contains(&old));
    // A new callback replaces the one scheduled before.
    let again = OutcomeInput {
        date: day(5).to_string(),
        ..oc(Situation::OutboundContacted, Outcome::Callback)
    };
    register(&db, &t.va, later, again).await.unwrap();
    assert!(!ids(&tray(&db, &t.va, day(1)).await.0).contains(&later));
    assert!(ids(&tray(&db, &t.va, day(5)).await.0).contains(&later));

    // A broken promise brings its client back at the top of the tray.
    register(&db, &t.va, recent, promise(today(), "50.000"))
        .await
        .unwrap();
    // The promise suspends the main flow through its day; once broken, no longer.
    let seen = |on: NaiveDate| {
        let (db, v) = (db.clone(), t.va.clone());
        async move {
            conversations::conversation(
                &db,
                &v,
                recent,
                Clock {
                    today: on,
                    ..clock()
                },
            )
            .await
            .unwrap()
            .gestion
            .flow_paused_until
        }
    };
    assert_eq!(seen(today()).await, Some(today()));
    assert_eq!(seen(day(1)).await, None);
    let settled = promises::settle(
        &db,
        PromisePolicy::default(),
        Clock {
            today: day(3),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!(settled.broken, 1);
    assert_eq!(seen(today()).await, None);
    let (rows, _) = tray(&db, &t.va, day(3)).await;
    assert_eq!(rows[0].id, recent);
    assert_eq!(rows[0].call_reason(), Some(CallReason::BrokenPromise));
    assert_eq!(ids(&rows), [recent, old, mid]);
}

async fn broken_promises_come_first_across_pages(db: Db) {
    let t = team(&db).await;
    let mut broken = Vec::new();
    let mut all = HashSet::new();
    for i in 0..58 {
        let doc = format!("3{i:03}");
        let due = format!("2026-{:02}-15", 1 + i % 10);
        let id = debtor(&db, &t, &doc, &t.a, &[(&due, "100000")]).await;
        all.insert(id);
        if i % 19 == 0 {
            register(&db, &t.va, id, promise(today(), "10"))
                .await
                .unwrap();
            broken.push(id);
        } else {
            schedule(&db, id, today(), CallReason::Flow).await;
        }
    }
    promises::settle(
        &db,
        PromisePolicy::default(),
        Clock {
            today: day(3),
            ..clock()
        },
    )
    .await
    .unwrap();
    let (rows, due) = tray(&db, &t.va, day(3)).await;
    assert_eq!(due, 58);
    assert_eq!(rows.len(), 58);
    assert_eq!(rows.iter().map(|r| r.id).collect::<HashSet<_>>(), all);
    let head: HashSet<i64> = rows[..broken.len()].iter().map(|r| r.id).collect();
    assert_eq!(head, broken.iter().copied().collect());
    // Each part keeps the order: most days overdue first.
    for part in [&rows[..broken.len()], &rows[broken.len()..]] {
        for w in part.windows(2) {
            assert!(
                (w[0].oldest_unpaid_due_date, w[0].id) <= (w[1].oldest_unpaid_due_date, w[1].id),
                "{:?} then {:?}",
                (w[0].oldest_unpaid_due_date, w[0].id),
                (w[1].oldest_unpaid_due_date, w[1].id)
            );
        }
    }
}

async fn each_outcome_does_what_the_catalogue_says(db: Db) {
    let mut t = team(&db).await;
    let c = debtor(&db, &t, "4001", &t.a, &[("2026-05-01", "300000")]).await;
    let b = t.b.clone();
    debtor(&db, &t, "4003", &b, &[]).await;
    t.seen_by_advisors(&db).await;
    let flow = |db: &Db| {
        let db = db.clone();
        async move {
            let (paused, stop): (Option<NaiveDate>, Option<String>) =
                on_db!(&db, p => sqlx::query_as(
                "SELECT flow_paused_until, flow_stop FROM clients WHERE id = $1")
                .bind(c).fetch_one(p).await)
                .unwrap();
            (paused, stop)
        }
    };
    let events = |db: &Db, event: &'static str| {
        let db = db.clone();
        async move {
            count(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM alert_events WHERE client_id = $1 AND event = '{event}'"
                ),
                c,
            )
            .await
        }
    };

    // No quiere pagar stops the main flow and leaves an alert event.
    register(
        &db,
        &t.va,
        c,
        oc(Situation::OutboundContacted, Outcome::WontPay),
    )
    .await
    .unwrap();
    assert_eq!(flow(&db).await, (None, Some("wont_pay".into())));
    assert_eq!(events(&db, "wont_pay").await, 1);
    // No puede pagar stops it too; the payment problems leave their events.
    register(
        &db,
        &t.va,
        c,
        oc(Situation::OutboundContacted, Outcome::CantPay),
    )
    .await
    .unwrap();
    assert_eq!(flow(&db).await, (None, Some("cant_pay".into())));
    for (o, event) in [
        (Outcome::Restructuring, "restructuring"),
        (Outcome::Refinancing, "refinancing"),
    ] {
        let input = OutcomeInput {
            note: "Pide plazo a 12 meses".into(),
            ..oc(Situation::Inbound, o)
        };
        register(&db, &t.va, c, input).await.unwrap();
        assert_eq!(events(&db, event).await, 1);
    }
    // A promise suspends the flow until its date and lifts the stop.
    let done = register(&db, &t.va, c, promise(day(7), "120.000"))
        .await
        .unwrap();
    assert!(done.promise_id.is_some() && done.payment_id.is_none());
    assert_eq!(flow(&db).await, (Some(day(7)), None));
    assert_eq!(events(&db, "promise").await, 1);
    // A new promise replaces the pending one.
    let again = register(&db, &t.va, c, promise(day(4), "60.000"))
        .await
        .unwrap();
    let states: Vec<(String,)> = on_db!(&db, p => sqlx::query_as(
        "SELECT state FROM promises WHERE client_id = $1 ORDER BY id").bind(c).fetch_all(p).await)
    .unwrap();
    assert_eq!(
        states,
        [("cancelled".to_string(),), ("pending".to_string(),)]
    );
    assert!(again.promise_id.is_some());
    assert_eq!(flow(&db).await, (Some(day(4)), None));
    // Pausar suspends until its day, the later of it and the promise's.
    let pause = OutcomeInput {
        until_date: day(20).to_string(),
        ..oc(Situation::Inbound, Outcome::Pause)
    };
    register(&db, &t.va, c, pause).await.unwrap();
    assert_eq!(flow(&db).await.0, Some(day(20)));
    // "Compromiso / A verificar" with an already made payment: a payment to verify.
    let declared = OutcomeInput {
        already_paid: true,
        ..promise(day(-1), "40.000")
    };
    let done = register(&db, &t.va, c, declared).await.unwrap();
    assert!(done.payment_id.is_some() && done.promise_id.is_none());
    assert_eq!(flow(&db).await.1, Some("payment_to_verify".into()));
    // Equivocado / Suspendido marks the phone called.
    let phone: (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM contact_points WHERE client_id = $1 AND kind = 'phone'")
        .bind(c).fetch_one(p).await)
    .unwrap();
    let wrong = OutcomeInput {
        contact_point_id: Some(phone.0),
        note: "Contesta otra persona".into(),
        ..oc(Situation::OutboundNotContacted, Outcome::WrongNumber)
    };
    register(&db, &t.va, c, wrong).await.unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM alert_events WHERE contact_point_id = $1 AND event = 'wrong_phone'",
            phone.0
        )
        .await,
        1
    );
    // Every outcome is an interaction in the conversation, with who and the note.
    let conv = conversations::conversation(&db, &t.va, c, clock())
        .await
        .unwrap();
    let g = conv.gestion;
    assert_eq!(g.outcomes.len(), 9);
    let last = g.outcomes.last().unwrap();
    assert_eq!(last.outcome, Outcome::WrongNumber);
    assert_eq!(
        (last.user_name.as_str(), last.note.as_str()),
        ("a", "Contesta otra persona")
    );
    assert!(g.phones.iter().any(|p| p.contact_point_id == phone.0
        && p.problem == Some(recaudo::domain::alerts::ContactProblem::WrongPhone)));
    assert_eq!(g.promises.len(), 2);
    assert_eq!(g.payments.len(), 1);

    // Refused outcomes save nothing.
    let before = count(&db, "SELECT COUNT(*) FROM outcomes WHERE client_id = $1", c).await;
    for bad in [
        oc(Situation::Inbound, Outcome::NoAnswer),
        promise(day(3), ""),
        promise(day(3), "0"),
        OutcomeInput {
            date: day(-1).to_string(),
            ..oc(Situation::OutboundContacted, Outcome::Callback)
        },
    ] {
        let e = register(&db, &t.va, c, bad.clone()).await.unwrap_err();
        assert!(matches!(e, AppError::Invalid(_)), "{bad:?}: {e:?}");
    }
    let other = debtor(&db, &t, "4002", &t.a, &[]).await;
    let other_phone: (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM contact_points WHERE client_id = $1 AND kind = 'phone'")
        .bind(other).fetch_one(p).await)
    .unwrap();
    let foreign = OutcomeInput {
        contact_point_id: Some(other_phone.0),
        ..oc(Situation::OutboundNotContacted, Outcome::WrongNumber)
    };
    let e = register(&db, &t.va, c, foreign).await.unwrap_err();
    assert_eq!(
        e.field_message("contact_point_id").as_deref(),
        Some("Ese teléfono no es de este cliente.")
    );
    // Another advisor's client does not exist for this advisor.
    let e = register(&db, &t.vb, c, oc(Situation::Inbound, Outcome::Complaint))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)));
    let complaint = OutcomeInput {
        reason: "Cobro duplicado".into(),
        ..oc(Situation::Inbound, Outcome::Complaint)
    };
    assert!(matches!(
        register(&db, &t.vb, c, complaint).await,
        Err(AppError::NotFound)
    ));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outcomes WHERE client_id = $1", c).await,
        before
    );
}

async fn promises_kept_broken_partial_and_grace(db: Db) {
    let t = team(&db).await;
    let policy = PromisePolicy {
        grace_days: 2,
        kept_threshold_pct: 90,
    };
    let review = |db: &Db, v: &Viewer, payment_id: i64, approve: bool, on: NaiveDate| {
        let (db, v) = (db.clone(), v.clone());
        async move {
            payments::review(
                &db,
                &v,
                ReviewInput {
                    payment_id,
                    approve,
                    reason: if approve {
                        String::new()
                    } else {
                        "No llegó".into()
                    },
                },
                // The advisor approves what it registered: promises are the subject here.
                SELF,
                policy,
                Clock {
                    today: on,
                    ..clock()
                },
            )
            .await
        }
    };
    let state = |db: &Db, id: i64| {
        let db = db.clone();
        async move {
            let (s,): (String,) = on_db!(&db, p => sqlx::query_as(
                "SELECT state FROM promises WHERE id = $1").bind(id).fetch_one(p).await)
            .unwrap();
            s
        }
    };
    let debts = [("2026-03-01", "60000"), ("2026-05-01", "60000")];
    let full = debtor(&db, &t, "5001", &t.a, &debts).await;
    let short = debtor(&db, &t, "5002", &t.a, &debts).await;
    let partial = debtor(&db, &t, "5003", &t.a, &debts).await;
    let waiting = debtor(&db, &t, "5004", &t.a, &debts).await;
    let mut promised = Vec::new();
    for c in [full, short, partial, waiting] {
        let done = register(&db, &t.va, c, promise(today(), "100.000"))
            .await
            .unwrap();
        promised.push(done.promise_id.unwrap());
    }
    let pay = |c: i64, amount: &'static str| {
        let db = db.clone();
        let v = t.va.clone();
        async move {
            register(&db, &v, c, payment(today(), amount))
                .await
                .unwrap()
                .payment_id
                .unwrap()
        }
    };
    // Paid in full and approved: kept at once, and the oldest debt is paid first.
    let p = pay(full, "100.000").await;
    review(&db, &t.va, p, true, today()).await.unwrap();
    assert_eq!(state(&db, promised[0]).await, "kept");
    let paid: Vec<(i64,)> = on_db!(&db, p => sqlx::query_as(
        "SELECT paid_cents FROM debts WHERE client_id = $1 ORDER BY due_date").bind(full).fetch_all(p).await)
    .unwrap();
    assert_eq!(paid, [(6_000_000,), (4_000_000,)]);
    let detail = clients::get(&db, &t.va, full, clock()).await.unwrap();
    assert_eq!(detail.summary.overdue_total_cents, 2_000_000);
    // 80 % is short of the 90 % threshold; 95 % is enough.
    let p = pay(short, "80.000").await;
    review(&db, &t.va, p, true, today()).await.unwrap();
    let p = pay(partial, "95.000").await;
    review(&db, &t.va, p, true, today()).await.unwrap();
    assert_eq!(state(&db, promised[1]).await, "pending");
    assert_eq!(state(&db, promised[2]).await, "kept");
    // A payment still to verify holds the verdict.
    let waiting_payment = pay(waiting, "100.000").await;

    // On the last day of grace nothing breaks; the day after, the short one does.
    let s = promises::settle(
        &db,
        policy,
        Clock {
            today: day(2),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!((s.kept, s.broken), (0, 0));
    let s = promises::settle(
        &db,
        policy,
        Clock {
            today: day(3),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!((s.kept, s.broken), (0, 1));
    assert_eq!(state(&db, promised[1]).await, "broken");
    assert_eq!(state(&db, promised[3]).await, "pending");
    // Rejecting the waiting payment after the deadline breaks its promise.
    review(&db, &t.va, waiting_payment, false, day(3))
        .await
        .unwrap();
    assert_eq!(state(&db, promised[3]).await, "broken");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM call_tasks WHERE reason = 'broken_promise' AND client_id = $1",
            waiting
        )
        .await,
        1
    );
    let (stop,): (Option<String>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT flow_stop FROM clients WHERE id = $1").bind(waiting).fetch_one(p).await)
    .unwrap();
    assert_eq!(stop, None);
}

async fn settling_twice_at_once_changes_each_promise_once(db: Db) {
    let t = team(&db).await;
    let mut n = 0;
    for i in 0..30 {
        let c = debtor(
            &db,
            &t,
            &format!("6{i:03}"),
            &t.a,
            &[("2026-04-01", "100000")],
        )
        .await;
        register(&db, &t.va, c, promise(today(), "1.000"))
            .await
            .unwrap();
        n += 1;
    }
    let policy = PromisePolicy::default();
    let (one, two) = tokio::join!(
        promises::settle(
            &db,
            policy,
            Clock {
                today: day(5),
                ..clock()
            }
        ),
        promises::settle(
            &db,
            policy,
            Clock {
                today: day(5),
                ..clock()
            }
        )
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.broken + two.broken, n);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM call_tasks WHERE reason = 'broken_promise' AND $1 = $1",
            0
        )
        .await,
        n as i64
    );
    let again = promises::settle(
        &db,
        policy,
        Clock {
            today: day(5),
            ..clock()
        },
    )
    .await
    .unwrap();
    assert_eq!((again.kept, again.broken), (0, 0));
}

async fn the_payment_queue_is_scoped_and_reviews_once(db: Db) {
    let mut t = team(&db).await;
    let b = t.b.clone();
    let mine = debtor(&db, &t, "7001", &t.a, &[("2026-04-01", "100000")]).await;
    let theirs = debtor(&db, &t, "7002", &b, &[("2026-04-01", "100000")]).await;
    t.seen_by_advisors(&db).await;
    let p_mine = register(&db, &t.va, mine, payment(day(-2), "30.000"))
        .await
        .unwrap()
        .payment_id
        .unwrap();
    register(&db, &t.vb, theirs, payment(day(-1), "20.000"))
        .await
        .unwrap();
    let queue = payments::queue(&db, &t.va, OTHER, clock()).await.unwrap();
    assert_eq!(
        queue
            .iter()
            .map(|q| q.payment.client_id)
            .collect::<Vec<_>>(),
        [mine]
    );
    assert_eq!(
        payments::queue(&db, &t.admin, OTHER, clock())
            .await
            .unwrap()
            .len(),
        2
    );
    let policy = PromisePolicy::default();
    let input = |approve: bool, reason: &str| ReviewInput {
        payment_id: p_mine,
        approve,
        reason: reason.into(),
    };
    assert!(matches!(
        payments::review(&db, &t.vb, input(true, ""), OTHER, policy, clock()).await,
        Err(AppError::NotFound)
    ));
    let e = payments::review(&db, &t.va, input(false, " "), OTHER, policy, clock())
        .await
        .unwrap_err();
    assert_eq!(
        e.field_message("reason").as_deref(),
        Some("Escribe por qué rechazas el pago.")
    );
    payments::review(
        &db,
        &t.va,
        input(false, "El banco no lo muestra"),
        OTHER,
        policy,
        clock(),
    )
    .await
    .unwrap();
    assert!(matches!(
        payments::review(&db, &t.admin, input(true, ""), OTHER, policy, clock()).await,
        Err(AppError::Conflict(_))
    ));
    // The rejection is visible in the conversation.
    let conv = conversations::conversation(&db, &t.va, mine, clock())
        .await
        .unwrap();
    let p = &conv.gestion.payments[0];
    assert_eq!(p.review_reason, "El banco no lo muestra");
    assert_eq!(p.reviewed_by_name.as_deref(), Some("a"));
    assert!(payments::queue(&db, &t.va, OTHER, clock())
        .await
        .unwrap()
        .is_empty());
}

async fn a_payment_is_approved_by_someone_else_than_who_registered_it(db: Db) {
    let mut t = team(&db).await;
    let mine = debtor(&db, &t, "7101", &t.a, &[("2026-04-01", "100000")]).await;
    t.seen_by_advisors(&db).await;
    let registered = |amount: &'static str| {
        let (db, v) = (db.clone(), t.va.clone());
        async move {
            register(&db, &v, mine, payment(day(-1), amount))
                .await
                .unwrap()
                .payment_id
                .unwrap()
        }
    };
    let first = registered("30.000").await;
    let policy = PromisePolicy::default();
    let approve = |v: &Viewer, payment_id: i64, approval: Approval| {
        let (db, v) = (db.clone(), v.clone());
        async move {
            let input = ReviewInput {
                payment_id,
                approve: true,
                reason: String::new(),
            };
            payments::review(&db, &v, input, approval, policy, clock()).await
        }
    };
    let queue = payments::queue(&db, &t.va, OTHER, clock()).await.unwrap();
    assert!(queue[0].approved_by_another, "the advisor's queue says so");
    let queue = payments::queue(&db, &t.admin, OTHER, clock())
        .await
        .unwrap();
    assert!(!queue[0].approved_by_another);

    let refused = approve(&t.va, first, OTHER).await;
    assert!(
        matches!(&refused, Err(AppError::Conflict(m)) if m.contains("otra persona")),
        "{refused:?}"
    );
    let status = |id: i64| {
        let db = db.clone();
        async move {
            let (s,): (String,) = on_db!(&db, p => sqlx::query_as(
                "SELECT status FROM payments WHERE id = $1").bind(id).fetch_one(p).await)
            .unwrap();
            s
        }
    };
    assert_eq!(status(first).await, "to_verify", "nothing applied");
    approve(&t.admin, first, OTHER).await.unwrap();
    assert_eq!(status(first).await, "approved");
    let (by,): (Option<i64>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT user_id FROM audit_log WHERE action = 'payment.approve' AND subject = $1")
        .bind(format!("payment:{first}")).fetch_one(p).await)
    .unwrap();
    assert_eq!(by, Some(t.admin.user_id));

    // With the setting off, who registered it may approve it.
    let second = registered("10.000").await;
    approve(&t.va, second, SELF).await.unwrap();
    assert_eq!(status(second).await, "approved");
}

on_both_engines!(
    a_payment_is_approved_by_someone_else_than_who_registered_it,
    the_tray_holds_todays_calls_until_an_outcome,
    broken_promises_come_first_across_pages,
    each_outcome_does_what_the_catalogue_says,
    promises_kept_broken_partial_and_grace,
    settling_twice_at_once_changes_each_promise_once,
    the_payment_queue_is_scoped_and_reviews_once,
);
