//! `recaudo bench webhooks`: WhatsApp status callbacks, shaped and signed as Meta sends
//! them, posted for a fixed time by a second process (this binary's hidden
//! `bench-webhooks-load`) to the real router. Then the sustained rate, the
//! acknowledgement latency, and, checked against the database, the callbacks that were
//! acknowledged but not stored (lost) and the statuses stored twice. One message in 20
//! has its "delivered" callback posted twice, as Meta redelivers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{seed_clients, BenchArgs};
use crate::on_db;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::signing::sign;

const APP_SECRET: &str = "bench-app-secret-0123456789";
/// Messages prepared per second of load: room for 5,000 callbacks a second.
const MESSAGES_PER_SECOND: usize = 2_500;

fn provider_id(i: usize) -> String {
    format!("wamid.bench.{i}")
}

/// What the load process reports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LoadReport {
    pub posted: usize,
    pub acknowledged: usize,
    pub refused: usize,
    pub elapsed_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// (message index, status) of every acknowledged callback.
    pub acked: Vec<(usize, String)>,
}

pub struct LoadArgs {
    pub url: String,
    pub messages: usize,
    pub seconds: u64,
    pub concurrency: usize,
}

fn notification(i: usize, status: &str) -> Vec<u8> {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                    "statuses": [{
                        "id": provider_id(i),
                        "status": status,
                        "timestamp": Utc::now().timestamp().to_string(),
                        "recipient_id": "573001112233"
                    }]
                }
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// The second process: posts callbacks with `concurrency` connections until the time
/// is up, and prints its report as one JSON line.
pub async fn load(args: LoadArgs) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let report = Arc::new(Mutex::new((Vec::<f64>::new(), LoadReport::default())));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (http, next, report, url) =
            (http.clone(), next.clone(), report.clone(), args.url.clone());
        let messages = args.messages;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut mine = LoadReport::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= messages {
                    break;
                }
                let mut statuses = vec!["delivered", "read"];
                if i % 20 == 0 {
                    statuses.insert(1, "delivered");
                }
                for status in statuses {
                    let body = notification(i, status);
                    let signature = sign(APP_SECRET.as_bytes(), &body);
                    let t = Instant::now();
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await;
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    mine.posted += 1;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            mine.acknowledged += 1;
                            mine.acked.push((i, status.to_string()));
                        }
                        _ => mine.refused += 1,
                    }
                }
            }
            let mut shared = report.lock().expect("no task panics holding it");
            shared.0.extend(latencies);
            shared.1.posted += mine.posted;
            shared.1.acknowledged += mine.acknowledged;
            shared.1.refused += mine.refused;
            shared.1.acked.extend(mine.acked);
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let (latencies, mut report) = std::mem::take(&mut *report.lock().expect("tasks ended"));
    report.elapsed_s = started.elapsed().as_secs_f64();
    (report.p50_ms, report.p95_ms, report.p99_ms) = super::tail_percentiles(latencies);
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Outbound WhatsApp messages with Meta ids, spread over the seeded clients.
async fn prepare(db: &Db, messages: usize) -> Result<(), String> {
    let clients: Vec<(i64,)> =
        on_db!(db, p => sqlx::query_as("SELECT id FROM clients ORDER BY id LIMIT 1000")
        .fetch_all(p).await)
        .map_err(|e| e.to_string())?;
    if clients.is_empty() {
        return Err("no hay clientes sembrados".into());
    }
    let now = Utc::now();
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    const BATCH: usize = 500;
    for start in (0..messages).step_by(BATCH) {
        let end = (start + BATCH).min(messages);
        let values: Vec<String> = (start..end)
            .map(|i| {
                format!(
                    "({}, 'client', 1, 'outbound', 'whatsapp', '+573001112233', 'Recordatorio', '{}', $1, $1, 'sent', 'manual')",
                    clients[i % clients.len()].0,
                    provider_id(i)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO messages (client_id, party_role, party_ordinal, direction, channel, address, body,
                provider_message_id, occurred_at, created_at, status, origin) VALUES {}",
            values.join(", ")
        );
        crate::on_tx!(&mut tx, c => sqlx::query(&sql).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))
            .map_err(|e| e.to_string())?;
    }
    crate::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE channel_settings SET provider = 'whatsapp_cloud', base_url = 'https://graph.facebook.com/v21.0',
            sender = '106540352242922', secret = 'token', webhook_secret = $1 WHERE channel = 'whatsapp'")
        .bind(APP_SECRET).execute(&mut *c).await.map(|r| r.rows_affected()))
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    db.refresh_statistics().await.map_err(|e| e.to_string())
}

pub async fn measure(db: &Db, args: &BenchArgs, _config: &Config) -> Result<(), String> {
    let engine = db.engine();
    db.migrate().await.map_err(|e| e.to_string())?;
    seed_clients(db, args.clients, Clock::at(Utc::now(), chrono_tz::UTC)).await?;
    let messages = MESSAGES_PER_SECOND * args.seconds as usize;
    let t = Instant::now();
    prepare(db, messages).await?;
    println!(
        "prepared {messages} outbound WhatsApp messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let hub = crate::server::events::Hub::start(db.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (addr, server) = super::serve_app(db, hub).await?;

    let url = format!("http://{addr}/api/webhooks/whatsapp/whatsapp");
    let (count, seconds, concurrency) = (
        messages.to_string(),
        args.seconds.to_string(),
        args.concurrency.to_string(),
    );
    let report = super::load_process(&[
        "bench-webhooks-load",
        "--url",
        &url,
        "--messages",
        &count,
        "--seconds",
        &seconds,
        "--concurrency",
        &concurrency,
    ])
    .await;
    server.abort();
    let report: LoadReport =
        serde_json::from_slice(&report?).map_err(|e| format!("informe de carga ilegible: {e}"))?;

    // Every acknowledged status must be stored, and none twice.
    let stored: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT m.provider_message_id, s.status FROM message_statuses s JOIN messages m ON m.id = s.message_id
         WHERE m.provider_message_id LIKE 'wamid.bench.%'")
        .fetch_all(p).await)
    .map_err(|e| e.to_string())?;
    let total_stored = stored.len();
    let stored: HashSet<(String, String)> = stored.into_iter().collect();
    let applied_twice = total_stored - stored.len();
    let lost = report
        .acked
        .iter()
        .filter(|(i, status)| !stored.contains(&(provider_id(*i), status.clone())))
        .count();
    let rate = report.acknowledged as f64 / report.elapsed_s;

    let e = engine.as_str();
    println!();
    println!(
        "webhooks ({e}, {} connections, {:.0} s): {} posted, {} acknowledged, {} refused",
        args.concurrency, report.elapsed_s, report.posted, report.acknowledged, report.refused
    );
    println!("{:<32} {:>12}", "figure", "value");
    println!("{:<32} {:>12.0}", "acknowledged per second", rate);
    println!("{:<32} {:>12.2}", "ack latency p50 ms", report.p50_ms);
    println!("{:<32} {:>12.2}", "ack latency p95 ms", report.p95_ms);
    println!("{:<32} {:>12.2}", "ack latency p99 ms", report.p99_ms);
    println!("{:<32} {:>12}", "lost (acked, not stored)", lost);
    println!("{:<32} {:>12}", "applied twice", applied_twice);
    println!();
    println!("BENCH webhooks.status_callbacks engine={e} rate_per_s={rate:.0}");
    println!(
        "BENCH webhooks.ack engine={e} p50_ms={:.3} p95_ms={:.3} p99_ms={:.3}",
        report.p50_ms, report.p95_ms, report.p99_ms
    );
    println!("BENCH webhooks.lost engine={e} count={lost}");
    println!("BENCH webhooks.applied_twice engine={e} count={applied_twice}");
    if lost > 0 || applied_twice > 0 || report.refused > 0 {
        return Err(format!(
            "{lost} perdidos, {applied_twice} aplicados dos veces, {} rechazados",
            report.refused
        ));
    }
    Ok(())
}
