//! `recaudo bench events`: `--subscribers` browsers hold the event stream of one server
//! open, signed in as the seven demo users (so the scope filter works on every event),
//! while changes commit at `--rate` per second for `--seconds`. Measures how long a
//! change takes from its transaction to each browser that may see it, how many
//! deliveries per second that is, and how much the process's memory grows; and checks
//! that every browser got exactly the events of its scope (by count and a checksum of
//! their ids), in order, once.
//!
//! The subscribers and the writers run in the bench process beside the server (on
//! SQLite only a writer in the server's process wakes its stream at once), so the
//! memory figure is an upper bound for the server: it includes the subscribers' side.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{rss_mb, seed_clients, BenchArgs};
use crate::domain::user::Scope;
use crate::on_db;
use crate::server::auth::{self, SessionPolicy, SESSION_COOKIE};
use crate::server::clock::{self, Clock};
use crate::server::db::Db;
use crate::server::events::{self, Hub};
use crate::server::seed::{DEMO_PASSWORD, DEMO_USERS};

/// Writers committing changes side by side, as several users and callbacks do.
const WRITERS: u64 = 4;

/// One delivery in this many (by event id) is timed: all of them would make the
/// bench's own bookkeeping the largest part of the memory it measures.
const SAMPLE_EVERY: i64 = 8;

/// What one subscriber received, summed up as it arrives: how many, a checksum of the
/// ids, how many arrived out of order (a repeat is one), the newest id, and the arrival
/// of the sampled ones.
#[derive(Default)]
struct Tally {
    count: u64,
    checksum: u64,
    out_of_order: u64,
    last: i64,
    samples: Vec<(i64, DateTime<Utc>)>,
}

impl Tally {
    fn add(&mut self, id: i64, arrived: DateTime<Utc>) {
        if id <= self.last {
            self.out_of_order += 1;
        }
        self.last = self.last.max(id);
        self.count += 1;
        self.checksum = self.checksum.wrapping_add(mix(id));
        if id % SAMPLE_EVERY == 0 {
            self.samples.push((id, arrived));
        }
    }
}

/// SplitMix64's finaliser: a sum of these tells a different set of ids apart, where a
/// plain sum would not (1 + 4 = 2 + 3).
fn mix(id: i64) -> u64 {
    let mut z = (id as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
/// A subscriber's scope, the last id it received, and its task.
type Subscriber = (
    Scope,
    Arc<AtomicI64>,
    tokio::task::JoinHandle<Result<Tally, String>>,
);

pub async fn measure(db: &Db, args: &BenchArgs) -> Result<(), String> {
    let text = |e: sqlx::Error| e.to_string();
    let engine = db.engine();
    let e = engine.as_str();
    if args.subscribers == 0 || args.rate == 0 {
        return Err("--subscribers y --rate deben ser mayores que cero".into());
    }
    db.migrate().await.map_err(|e| e.to_string())?;
    seed_clients(db, args.clients, Clock::at(Utc::now(), chrono_tz::UTC)).await?;
    db.listen().await.map_err(text)?;

    let policy = SessionPolicy {
        idle: chrono::Duration::hours(8),
        absolute: chrono::Duration::hours(8),
    };
    let mut users = Vec::new();
    for (email, ..) in DEMO_USERS {
        let token = auth::login(db, policy, email, DEMO_PASSWORD, "127.0.0.1", clock::now())
            .await
            .map_err(|e| e.to_string())?;
        let viewer = auth::resolve_session(db, policy, &token, clock::now())
            .await
            .map_err(|e| e.to_string())?
            .ok_or("la sesión recién abierta no existe")?;
        users.push((token, viewer.read_scope()));
    }
    let clients: Vec<i64> = on_db!(db, p => sqlx::query_as::<_, (i64,)>("SELECT id FROM clients")
        .fetch_all(p).await)
    .map_err(text)?
    .into_iter()
    .map(|(id,)| id)
    .collect();

    let hub = Hub::start(db.clone()).await.map_err(text)?;
    let (addr, server) = super::serve_app(db, hub.clone()).await?;

    // What is already in the table is not part of the run: the streams open once the
    // hub has passed it, so each starts after it.
    let start_id = newest(db).await?;
    while hub.head() < start_id {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_mb = rss_mb("VmRSS:")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let connected = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let mut subscribers: Vec<Subscriber> = Vec::new();
    for i in 0..args.subscribers {
        let (token, scope) = users[i % users.len()].clone();
        let request = http
            .get(format!("http://{addr}/api/events"))
            .header("cookie", format!("{SESSION_COOKIE}={token}"));
        let (connected, stopped) = (connected.clone(), stopped.clone());
        let last = Arc::new(AtomicI64::new(0));
        subscribers.push((
            scope,
            last.clone(),
            tokio::spawn(subscribe(request, connected, last, stopped)),
        ));
    }
    let opened = Instant::now();
    while connected.load(Ordering::Acquire) < args.subscribers {
        if opened.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "solo {} de {} suscriptores conectaron en un minuto",
                connected.load(Ordering::Acquire),
                args.subscribers
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let peak_mb = Arc::new(AtomicU64::new(before_mb.to_bits()));
    let sampler = {
        let peak_mb = peak_mb.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(now) = rss_mb("VmRSS:") {
                    if now > f64::from_bits(peak_mb.load(Ordering::Relaxed)) {
                        peak_mb.store(now.to_bits(), Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let clients = Arc::new(clients);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (db, clients) = (db.clone(), clients.clone());
        let every = Duration::from_secs_f64(WRITERS as f64 / args.rate as f64);
        writers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut written = 0u64;
            while tokio::time::Instant::now() < deadline {
                tick.tick().await;
                let client = *clients.choose(&mut rng).expect("seeded clients");
                let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                tx.announce(client);
                tx.commit().await.map_err(|e| e.to_string())?;
                written += 1;
            }
            Ok::<_, String>(written)
        }));
    }
    let mut written = 0;
    for w in writers {
        written += w.await.map_err(|e| e.to_string())??;
    }
    let writing_s = started.elapsed().as_secs_f64();
    let end_id = newest(db).await?;

    let committed: Vec<events::Event> = events::after(db, start_id, Scope::All, i64::MAX)
        .await
        .map_err(text)?
        .into_iter()
        .filter(|e| e.id <= end_id)
        .collect();
    let at: HashMap<i64, DateTime<Utc>> = on_db!(db, p => sqlx::query_as(
        "SELECT id, at FROM events WHERE id > $1 AND id <= $2")
        .bind(start_id).bind(end_id).fetch_all(p).await)
    .map_err(text)?
    .into_iter()
    .collect();
    let expected_for = |scope: Scope| -> Vec<i64> {
        committed
            .iter()
            .filter(|e| e.visible(scope))
            .map(|e| e.id)
            .collect()
    };
    // Let the streams drain what was committed last, then close them.
    let draining = Instant::now();
    let behind = |subscribers: &[Subscriber]| {
        subscribers.iter().any(|(scope, last, _)| {
            expected_for(*scope)
                .last()
                .is_some_and(|id| last.load(Ordering::Acquire) < *id)
        })
    };
    while behind(&subscribers) && draining.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    sampler.abort();
    server.abort();

    let mut latencies = Vec::new();
    let (mut lost, mut differ, mut out_of_order, mut delivered) = (0u64, 0usize, 0u64, 0u64);
    for (scope, _, task) in subscribers {
        let got = task.await.map_err(|e| e.to_string())??;
        let mut expected = Tally::default();
        for id in expected_for(scope) {
            expected.add(id, Utc::now());
        }
        lost += expected.count.saturating_sub(got.count);
        if (got.count, got.checksum) != (expected.count, expected.checksum) {
            differ += 1;
        }
        out_of_order += got.out_of_order;
        delivered += got.count;
        for (id, arrived) in &got.samples {
            if let Some(at) = at.get(id) {
                latencies.push((*arrived - *at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
    }
    if latencies.is_empty() {
        return Err("ningún evento llegó a los suscriptores".into());
    }
    let (p50, p95, p99) = super::tail_percentiles(latencies);
    let peak = f64::from_bits(peak_mb.load(Ordering::Relaxed));
    let growth = peak - before_mb;
    let produced_rate = written as f64 / writing_s;
    let delivered_rate = delivered as f64 / writing_s;

    println!();
    println!(
        "events ({e}, {} subscribers over {} users, {} changes/s asked, {:.0} s)",
        args.subscribers,
        users.len(),
        args.rate,
        writing_s
    );
    println!("{:<36} {:>12}", "figure", "value");
    println!(
        "{:<36} {:>12.0}",
        "changes committed per second", produced_rate
    );
    println!(
        "{:<36} {:>12.0}",
        "events delivered per second", delivered_rate
    );
    println!("{:<36} {:>12.2}", "fan-out latency p50 ms", p50);
    println!("{:<36} {:>12.2}", "fan-out latency p95 ms", p95);
    println!("{:<36} {:>12.2}", "fan-out latency p99 ms", p99);
    println!("{:<36} {:>12.1}", "RSS before the streams MB", before_mb);
    println!("{:<36} {:>12.1}", "RSS peak MB", peak);
    println!("{:<36} {:>12.1}", "RSS growth MB", growth);
    println!("{:<36} {:>12}", "lost (in scope, not received)", lost);
    println!("{:<36} {:>12}", "repeated or out of order", out_of_order);
    println!("{:<36} {:>12}", "streams not exactly their scope's", differ);
    println!();
    println!("BENCH events.fanout engine={e} p50_ms={p50:.3} p95_ms={p95:.3} p99_ms={p99:.3}");
    println!("BENCH events.committed engine={e} rate_per_s={produced_rate:.0}");
    println!("BENCH events.delivered engine={e} rate_per_s={delivered_rate:.0}");
    println!("BENCH events.rss engine={e} peak_rss_mb={peak:.1} growth_mb={growth:.1}");
    println!("BENCH events.lost engine={e} count={lost}");
    println!("BENCH events.out_of_order engine={e} count={out_of_order}");
    println!("BENCH events.streams_differing engine={e} count={differ}");
    if lost > 0 || out_of_order > 0 || differ > 0 {
        return Err(format!(
            "{lost} perdidos, {out_of_order} repetidos o fuera de orden, {differ} flujos distintos de lo esperado"
        ));
    }
    Ok(())
}

/// The newest event id in the table.
async fn newest(db: &Db) -> Result<i64, String> {
    let (id,): (i64,) = on_db!(db, p => sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(p).await)
    .map_err(|e| e.to_string())?;
    Ok(id)
}

/// One browser's stream, tallied until `stop`. A
/// stream the server ends (each lasts a few minutes) is opened again with the last id,
/// as the browser's EventSource does.
async fn subscribe(
    request: reqwest::RequestBuilder,
    connected: Arc<AtomicUsize>,
    last: Arc<AtomicI64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Tally, String> {
    let mut received = Tally::default();
    let mut first = true;
    loop {
        let mut again = request
            .try_clone()
            .ok_or("la petición no se puede repetir")?;
        if received.last > 0 {
            again = again.header("Last-Event-ID", received.last.to_string());
        }
        let mut res = again.send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("el flujo de eventos respondió {}", res.status()));
        }
        if first {
            connected.fetch_add(1, Ordering::AcqRel);
            first = false;
        }
        let mut pending = String::new();
        loop {
            let chunk = tokio::select! {
                c = res.chunk() => c.map_err(|e| e.to_string())?,
                _ = stop.changed() => return Ok(received),
            };
            let Some(chunk) = chunk else { break };
            let now = clock::now();
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                if let Some(id) = line.strip_prefix("id:") {
                    if let Ok(id) = id.trim().parse::<i64>() {
                        received.add(id, now);
                        last.store(id, Ordering::Release);
                    }
                }
            }
        }
    }
}
