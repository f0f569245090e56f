//! `recaudo bench calls`: N clients, a share of them with a call task (some from a
//! broken promise), then the Llamadas tray's first and deep pages per order and scope,
//! the calls counter, registering an outcome, and the promise job.
//!
//! Tasks and promises are bulk-loaded with the summary columns the services would
//! leave; the timed parts go through the services.

use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::QueryBuilder;

use super::{demo_scopes, print_figures, sample, seed_clients, BenchArgs, Figure};
use crate::domain::calls::{CallCalendar, PromisePolicy};
use crate::domain::listing::{ClientCursor, ClientSort, InboxQuery, ListOrder};
use crate::domain::outcome::{Outcome, OutcomeInput, Situation};
use crate::domain::user::Viewer;
use crate::server::calls;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::{on_db, on_tx};

/// Share of clients with an open call task, due from three days ago to ten days ahead.
const CALL_SHARE: f64 = 0.08;
/// Share of those tasks that come from a broken promise.
const BROKEN_SHARE: f64 = 0.05;
const ROWS_PER_INSERT: usize = 2_000;

async fn load_tasks(db: &Db, today: NaiveDate) -> Result<usize, String> {
    let err = |e: sqlx::Error| e.to_string();
    let ids: Vec<(i64,)> = on_db!(db, p => sqlx::query_as("SELECT id FROM clients ORDER BY id")
        .fetch_all(p).await)
    .map_err(err)?;
    let mut rng = StdRng::seed_from_u64(4);
    let now = Utc::now();
    let mut tasks: Vec<(i64, NaiveDate, &str)> = Vec::new();
    for (id,) in ids {
        if !rng.gen_bool(CALL_SHARE) {
            continue;
        }
        let due = today + Duration::days(rng.gen_range(-3..=10));
        let reason = if rng.gen_bool(BROKEN_SHARE) {
            "broken_promise"
        } else {
            "flow"
        };
        tasks.push((id, due, reason));
    }
    for chunk in tasks.chunks(ROWS_PER_INSERT) {
        let mut tx = db.begin().await.map_err(err)?;
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO call_tasks (client_id, due_date, reason, created_at) ");
            qb.push_values(chunk, |mut b, (id, due, reason)| {
                b.push_bind(*id).push_bind(*due).push_bind(*reason).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .map_err(err)?;
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new(
                "UPDATE clients SET
                    call_due_date = (SELECT MIN(t.due_date) FROM call_tasks t
                        WHERE t.client_id = clients.id AND t.closed_at IS NULL),
                    call_reason = (SELECT t.reason FROM call_tasks t
                        WHERE t.client_id = clients.id AND t.closed_at IS NULL
                        ORDER BY CASE WHEN t.reason = 'broken_promise' THEN 0 ELSE 1 END, t.due_date, t.id LIMIT 1)
                 WHERE id IN (");
            let mut list = qb.separated(", ");
            for (id, _, _) in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
    }
    Ok(tasks.len())
}

/// Pending promises whose deadline passed, nothing paid: what the job breaks.
async fn load_promises(db: &Db, count: usize, today: NaiveDate) -> Result<(), String> {
    let err = |e: sqlx::Error| e.to_string();
    let (admin,): (i64,) =
        on_db!(db, p => sqlx::query_as("SELECT MIN(id) FROM users WHERE role = 'admin'").fetch_one(p).await)
            .map_err(err)?;
    let ids: Vec<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM clients WHERE call_due_date IS NULL ORDER BY id LIMIT $1")
        .bind(count as i64).fetch_all(p).await)
    .map_err(err)?;
    let now = Utc::now();
    let (made, promised) = (today - Duration::days(20), today - Duration::days(10));
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let mut tx = db.begin().await.map_err(err)?;
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO promises (client_id, promised_date, amount_cents, currency, created_on, created_at, created_by) ");
            qb.push_values(chunk, |mut b, (id,)| {
                b.push_bind(*id).push_bind(promised).push_bind(10_000_000i64).push_bind("COP")
                    .push_bind(made).push_bind(now).push_bind(admin);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
    }
    Ok(())
}

pub(super) async fn measure(db: &Db, args: &BenchArgs, config: &Config) -> Result<(), String> {
    let engine = db.engine();
    let err = |e: crate::domain::error::AppError| e.to_string();
    db.migrate().await.map_err(|e| e.to_string())?;
    let today = config.today();
    seed_clients(db, args.clients, config.clock()).await?;
    let started = Instant::now();
    let tasks = load_tasks(db, today).await?;
    println!(
        "loaded {tasks} call tasks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db.refresh_statistics().await.map_err(|e| e.to_string())?;

    let scopes = demo_scopes(db).await?;
    let mut figures = Vec::new();
    let mut figure = |name: String, (p50_ms, p95_ms): (f64, f64)| {
        figures.push(Figure {
            name,
            p50_ms,
            p95_ms,
        })
    };
    let page = |viewer: &Viewer, q: InboxQuery| {
        let viewer = viewer.clone();
        async move {
            calls::calls_tray(db, &viewer, &q, config.clock())
                .await
                .map_err(err)
        }
    };

    for (scope, viewer) in &scopes {
        let due = page(viewer, InboxQuery::default()).await?.calls_due;
        println!("{scope}: {due} calls due");
        for sort in ClientSort::ALL {
            let q = InboxQuery {
                sort: ListOrder::Client(sort),
                ..InboxQuery::default()
            };
            let timed = sample(args.iterations, |_| {
                let q = q.clone();
                async move { page(viewer, q).await.map(drop) }
            })
            .await?;
            figure(format!("calls.first.{scope}.{}", sort.as_str()), timed);
        }
        // Walk to the deep page once (untimed), then time reading it.
        let mut q = InboxQuery::default();
        let mut reached = 0;
        for _ in 0..args.depth {
            let p = page(viewer, q.clone()).await?;
            match p.next {
                Some(next) => {
                    q.after = Some::<ClientCursor>(next);
                    q.after_broken = p.next_broken;
                    reached += 1;
                }
                None => break,
            }
        }
        let timed = sample(args.iterations, |_| {
            let q = q.clone();
            async move { page(viewer, q).await.map(drop) }
        })
        .await?;
        figure(format!("calls.deep{reached}.{scope}"), timed);
        let scope_value = viewer.list_scope(false);
        let timed = sample(args.iterations, |_| async move {
            calls::calls_due(db, scope_value, None, today)
                .await
                .map(drop)
                .map_err(err)
        })
        .await?;
        figure(format!("calls.count.{scope}"), timed);
    }

    // "Volver a llamar" on the advisor's due calls, each client once.
    let (_, advisor) = &scopes[0];
    let targets: Vec<i64> = page(advisor, InboxQuery::default())
        .await?
        .rows
        .iter()
        .map(|r| r.id)
        .collect();
    if !targets.is_empty() {
        let calendar = CallCalendar::default();
        let n = args.iterations.min(targets.len());
        let timed = sample(n, |i| {
            let input = OutcomeInput {
                situation: Situation::OutboundContacted.as_str().into(),
                outcome: Outcome::Callback.as_str().into(),
                date: (today + Duration::days(1)).to_string(),
                ..OutcomeInput::default()
            };
            let (id, calendar) = (targets[i], &calendar);
            async move {
                let clock = Clock {
                    now: Utc::now(),
                    today,
                    tz: config.time_zone,
                };
                calls::register(db, advisor, id, input, calendar, clock)
                    .await
                    .map(drop)
                    .map_err(err)
            }
        })
        .await?;
        figure("calls.register_outcome.advisor".to_string(), timed);
    }

    let promises = (args.clients / 50).max(1);
    load_promises(db, promises, today).await?;
    let started = Instant::now();
    let clock = Clock {
        now: Utc::now(),
        today,
        tz: config.time_zone,
    };
    let settled = calls::promises::settle(db, PromisePolicy::default(), clock)
        .await
        .map_err(err)?;
    let seconds = started.elapsed().as_secs_f64();
    print_figures(
        engine,
        &format!("{} clients, {tasks} call tasks", args.clients),
        &figures,
    );
    println!(
        "settled {} promises in {seconds:.1} s",
        settled.broken + settled.kept
    );
    println!(
        "BENCH promises.settle engine={} rate_per_s={:.0}",
        engine.as_str(),
        (settled.broken + settled.kept) as f64 / seconds
    );
    Ok(())
}
