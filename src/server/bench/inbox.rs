//! `recaudo bench inbox`: N clients and M messages, then the inbox's first and deep
//! pages per order and scope, the to-do counter, and the conversation screen.
//!
//! The messages are bulk-loaded (explicit ids, multi-row inserts) with each client's
//! summary computed alongside, because going through the ingestion service would take
//! hours at 20M messages; the summaries are written as that service would leave them.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::QueryBuilder;

use super::{demo_scopes, print_figures, sample, seed_clients, BenchArgs, Figure};
use crate::domain::listing::{ClientCursor, ClientSort, InboxQuery, ListOrder};
use crate::domain::user::Viewer;
use crate::server::config::Config;
use crate::server::conversations;
use crate::server::db::{Db, Engine, Pool};
use crate::{on_db, on_tx};

/// Share of conversations whose last message is an unanswered inbound.
const PENDING_SHARE: f64 = 0.05;
const ROWS_PER_INSERT: usize = 2_000;
const BODIES: [&str; 4] = [
    "Hola, le recordamos que tiene un saldo vencido.",
    "Buenos días, ¿me pueden enviar el estado de cuenta?",
    "Pago el viernes sin falta.",
    "Gracias por comunicarse, quedamos atentos.",
];
const CHANNELS: [&str; 4] = ["whatsapp", "email", "sms", "whatsapp_business"];

struct Msg {
    id: i64,
    client_id: i64,
    role: &'static str,
    inbound: bool,
    channel: &'static str,
    body: &'static str,
    at: DateTime<Utc>,
    pending: bool,
}

#[derive(Default)]
struct Summary {
    client_id: i64,
    pending: [i64; 4],
    last_at: Option<DateTime<Utc>>,
    last_channel: Option<&'static str>,
    last_subject: &'static str,
}

/// One client's history: alternating flow messages and replies over the last 90 days,
/// sometimes ending in unanswered inbound messages.
fn history(
    rng: &mut StdRng,
    client_id: i64,
    count: usize,
    next_id: &mut i64,
    now: DateTime<Utc>,
) -> (Vec<Msg>, Summary) {
    let channel = CHANNELS[rng.gen_range(0..CHANNELS.len())];
    let pending_tail = rng.gen_bool(PENDING_SHARE);
    let mut at = now - Duration::days(90) + Duration::minutes(rng.gen_range(0..60 * 24));
    let step = Duration::minutes((90 * 24 * 60 / (count as i64 + 1)).max(1));
    let mut msgs = Vec::with_capacity(count);
    let mut s = Summary {
        client_id,
        ..Summary::default()
    };
    for i in 0..count {
        let tail = pending_tail && i + 2 >= count;
        let inbound = tail || i % 2 == 1;
        let role = match rng.gen_range(0..20) {
            0 => "reference",
            1 => "guarantor",
            _ => "client",
        };
        at += step - Duration::minutes(rng.gen_range(0..step.num_minutes().max(1)));
        let m = Msg {
            id: *next_id,
            client_id,
            role,
            inbound,
            channel,
            body: BODIES[rng.gen_range(0..BODIES.len())],
            at,
            pending: tail,
        };
        *next_id += 1;
        if m.pending {
            s.pending[0] += 1;
            s.pending[match role {
                "client" => 1,
                "reference" => 2,
                _ => 3,
            }] += 1;
        }
        s.last_at = Some(at);
        s.last_channel = Some(channel);
        s.last_subject = if channel == "email" {
            "Estado de cuenta"
        } else {
            ""
        };
        msgs.push(m);
    }
    (msgs, s)
}

async fn insert_batch(
    db: &Db,
    msgs: &[Msg],
    sums: &[Summary],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for chunk in msgs.chunks(ROWS_PER_INSERT) {
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO messages (id, client_id, party_role, party_ordinal, direction, channel, address, subject,
                    body, origin, occurred_at, created_at, status, pending) ");
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(m.id).push_bind(m.client_id).push_bind(m.role).push_bind(1i32)
                    .push_bind(if m.inbound { "inbound" } else { "outbound" }).push_bind(m.channel)
                    .push_bind("").push_bind(if m.channel == "email" { "Estado de cuenta" } else { "" })
                    .push_bind(m.body).push_bind((!m.inbound).then_some("flow")).push_bind(m.at).push_bind(now)
                    .push_bind((!m.inbound).then_some("delivered")).push_bind(m.pending);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let outbound: Vec<&Msg> = msgs.iter().filter(|m| !m.inbound).collect();
    for chunk in outbound.chunks(ROWS_PER_INSERT) {
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO message_statuses (message_id, status, detail, at) ");
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(m.id).push_bind("delivered").push_bind("").push_bind(m.at);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in sums.chunks(ROWS_PER_INSERT) {
        on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new(
                "UPDATE clients SET pending_count = v.column2, pending_client = v.column3,
                    pending_reference = v.column4, pending_guarantor = v.column5, last_activity_at = v.column6,
                    last_channel = v.column7, last_subject = v.column8 FROM (");
            qb.push_values(chunk, |mut b, s| {
                b.push_bind(s.client_id).push_bind(s.pending[0]).push_bind(s.pending[1]).push_bind(s.pending[2])
                    .push_bind(s.pending[3]).push_bind(s.last_at).push_bind(s.last_channel).push_bind(s.last_subject);
            });
            qb.push(") AS v WHERE clients.id = v.column1");
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    tx.commit().await
}

/// Loads `total` messages over every client, returning how many and the pending share.
pub(super) async fn load_messages(
    db: &Db,
    total: usize,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let e = |e: sqlx::Error| e.to_string();
    let ids: Vec<(i64,)> =
        on_db!(db, p => sqlx::query_as("SELECT id FROM clients ORDER BY id").fetch_all(p).await)
            .map_err(e)?;
    let (max_id,): (Option<i64>,) =
        on_db!(db, p => sqlx::query_as("SELECT MAX(id) FROM messages").fetch_one(p).await)
            .map_err(e)?;
    let mut next_id = max_id.unwrap_or(0) + 1;
    let mut rng = StdRng::seed_from_u64(20);
    let per_client = (total / ids.len().max(1)).max(1);
    let mut written = 0;
    let mut msgs = Vec::new();
    let mut sums = Vec::new();
    for (i, (client_id,)) in ids.iter().enumerate() {
        let remaining_clients = ids.len() - i;
        let left = total.saturating_sub(written);
        let count = if remaining_clients == 1 {
            left
        } else {
            rng.gen_range(per_client / 2..=per_client * 3 / 2).min(left)
        };
        if count == 0 {
            continue;
        }
        let (m, s) = history(&mut rng, *client_id, count, &mut next_id, now);
        written += m.len();
        msgs.extend(m);
        sums.push(s);
        if msgs.len() >= 50_000 {
            insert_batch(db, &msgs, &sums, now).await.map_err(e)?;
            msgs.clear();
            sums.clear();
        }
    }
    insert_batch(db, &msgs, &sums, now).await.map_err(e)?;
    if let Pool::Postgres(p) = db.pool() {
        sqlx::query("SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT MAX(id) FROM messages))")
            .execute(p)
            .await
            .map_err(e)?;
    }
    Ok(written)
}

/// p50/p95 of one inbox page read `iterations` times.
pub(super) async fn time_inbox(
    db: &Db,
    viewer: &Viewer,
    q: &InboxQuery,
    iterations: usize,
    config: &Config,
) -> Result<(f64, f64), String> {
    let clock = config.clock();
    sample(iterations, |_| async move {
        conversations::inbox(db, viewer, q, clock)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await
}

pub(super) async fn measure(db: &Db, args: &BenchArgs, config: &Config) -> Result<(), String> {
    let engine = db.engine();
    let err = |e: crate::domain::error::AppError| e.to_string();
    db.migrate().await.map_err(|e| e.to_string())?;
    let clock = config.clock();
    let now = clock.now;
    seed_clients(db, args.clients, config.clock()).await?;

    let started = Instant::now();
    let loaded = load_messages(db, args.messages, now).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {loaded} messages on {} in {seconds:.1} s ({:.0} messages/s)",
        engine.as_str(),
        loaded as f64 / seconds
    );
    println!(
        "BENCH load_messages engine={} rate_per_s={:.0}",
        engine.as_str(),
        loaded as f64 / seconds
    );
    let started = Instant::now();
    db.refresh_statistics().await.map_err(|e| e.to_string())?;
    println!(
        "statistics refreshed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let scopes = demo_scopes(db).await?;
    let mut figures = Vec::new();
    let mut figure = |name: String, (p50_ms, p95_ms): (f64, f64)| {
        figures.push(Figure {
            name,
            p50_ms,
            p95_ms,
        })
    };
    let page = |viewer: Viewer, q: InboxQuery| async move {
        conversations::inbox(db, &viewer, &q, clock)
            .await
            .map_err(err)
    };

    for (scope, viewer) in &scopes {
        let pending = page(viewer.clone(), InboxQuery::default())
            .await?
            .pending_messages;
        println!("{scope}: {pending} pending messages");
        for order in ListOrder::all() {
            let q = InboxQuery {
                sort: order,
                ..InboxQuery::default()
            };
            let timed = time_inbox(db, viewer, &q, args.iterations, config).await?;
            figure(
                format!("inbox.first.pending.{scope}.{}", order.as_str()),
                timed,
            );
        }
        for order in [ListOrder::Recent, ListOrder::Client(ClientSort::AmountDesc)] {
            let everything = InboxQuery {
                include_answered: true,
                sort: order,
                ..InboxQuery::default()
            };
            let timed = time_inbox(db, viewer, &everything, args.iterations, config).await?;
            figure(
                format!("inbox.first.all_conversations.{scope}.{}", order.as_str()),
                timed,
            );
        }

        // Walk to the deep page once (untimed), then time reading it.
        for order in [
            ListOrder::Recent,
            ListOrder::Client(ClientSort::DaysOverdueDesc),
        ] {
            let mut cursor: Option<ClientCursor> = None;
            let mut reached = 0;
            for _ in 0..args.depth {
                let q = InboxQuery {
                    sort: order,
                    after: cursor,
                    ..InboxQuery::default()
                };
                match page(viewer.clone(), q).await?.next {
                    Some(next) => {
                        cursor = Some(next);
                        reached += 1;
                    }
                    None => break,
                }
            }
            let q = InboxQuery {
                sort: order,
                after: cursor,
                ..InboxQuery::default()
            };
            let timed = time_inbox(db, viewer, &q, args.iterations, config).await?;
            figure(
                format!("inbox.deep{reached}.pending.{scope}.{}", order.as_str()),
                timed,
            );
        }

        let scope_value = viewer.list_scope(false);
        let timed = sample(args.iterations, |_| async move {
            conversations::pending_messages(db, scope_value, None)
                .await
                .map(drop)
                .map_err(err)
        })
        .await?;
        figure(format!("inbox.todo_count.{scope}"), timed);
    }

    // The conversation screen, for a different pending client each time.
    let (_, advisor) = &scopes[0];
    let mut targets = Vec::new();
    let mut cursor = None;
    while targets.len() < args.iterations {
        let p = page(
            advisor.clone(),
            InboxQuery {
                after: cursor,
                ..InboxQuery::default()
            },
        )
        .await?;
        targets.extend(p.rows.iter().map(|r| r.id));
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if !targets.is_empty() {
        let timed = sample(args.iterations, |i| {
            let id = targets[i % targets.len()];
            let v = advisor.clone();
            async move {
                conversations::conversation(db, &v, id, clock.with_now(Utc::now()))
                    .await
                    .map(drop)
                    .map_err(err)
            }
        })
        .await?;
        figure("conversation.view.advisor".to_string(), timed);
    }

    if engine == Engine::Sqlite {
        let (pages,): (i64,) =
            on_db!(db, p => sqlx::query_as("PRAGMA page_count").fetch_one(p).await)
                .map_err(|e| e.to_string())?;
        println!("SQLite file: {:.0} MB", pages as f64 * 4096.0 / 1e6);
    }
    print_figures(
        engine,
        &format!("{} clients, {loaded} messages", args.clients),
        &figures,
    );
    Ok(())
}
