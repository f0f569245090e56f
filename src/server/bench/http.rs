//! `recaudo bench http`: what a browser waits for. The real router on a loopback port,
//! over a seeded portfolio with its conversations, driven by a second process (this
//! binary's hidden `bench-http-load`) that signs in as the demo advisors and
//! supervisors through the login form and keeps their session cookies, as browsers do.
//! It times the server functions the screens call (JSON in and out) with
//! `--concurrency` connections working without pause, then the full server-rendered
//! Recibidos page at a steady 100 requests a second, then that page requested one
//! after another on a single kept-alive connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde::{Deserialize, Serialize};

use super::{seed_clients, BenchArgs};
use crate::domain::client::PartyRole;
use crate::domain::conversation::ReplyInput;
use crate::domain::listing::{ClientListQuery, ClientPage, InboxQuery};
use crate::domain::message::Channel;
use crate::domain::outcome::OutcomeInput;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::seed::DEMO_PASSWORD;

/// The users whose sessions the load shares out: the four advisors (a portfolio each)
/// and the two supervisors (two advisors' portfolios each).
const USERS: [&str; 6] = [
    "asesor1@demo.recaudo",
    "asesor2@demo.recaudo",
    "asesor3@demo.recaudo",
    "asesor4@demo.recaudo",
    "supervisor1@demo.recaudo",
    "supervisor2@demo.recaudo",
];
/// The server-rendered page's steady load, in requests per second.
const SSR_RATE: u64 = 100;
/// The page whose full render is timed.
const SSR_PAGE: &str = "/conversaciones";

/// One figure as the load process measured it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Measured {
    pub name: String,
    pub requests: usize,
    pub failed: usize,
    pub elapsed_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The first failure's status and body, to say why.
    pub first_failure: Option<String>,
}

pub struct LoadArgs {
    pub url: String,
    pub seconds: u64,
    pub concurrency: usize,
}

/// A signed-in user: the session cookie and clients of its scope to work on.
struct Session {
    cookie: String,
    clients: Vec<i64>,
}

/// The server functions timed, as the screens call them.
#[derive(Clone, Copy)]
enum Call {
    Inbox,
    Conversation,
    Clients,
    Outcome,
    Note,
}

impl Call {
    const ALL: [Call; 5] = [
        Call::Inbox,
        Call::Conversation,
        Call::Clients,
        Call::Outcome,
        Call::Note,
    ];

    fn figure(self) -> &'static str {
        match self {
            Call::Inbox => "inbox_first_page",
            Call::Conversation => "conversation",
            Call::Clients => "clients_first_page",
            Call::Outcome => "register_outcome",
            Call::Note => "reply_note",
        }
    }

    /// The endpoint and JSON body of the `i`-th call on `client`.
    fn request(self, client: i64, i: usize) -> (&'static str, serde_json::Value) {
        use serde_json::json;
        match self {
            Call::Inbox => ("inbox", json!({ "query": InboxQuery::default() })),
            Call::Conversation => ("get_conversation", json!({ "client_id": client })),
            Call::Clients => (
                "list_clients",
                json!({ "query": ClientListQuery::default() }),
            ),
            // Several users work the same clients here: the collision guard's question
            // is answered as a user who read it would.
            Call::Outcome => (
                "register_outcome",
                json!({ "client_id": client, "input": OutcomeInput {
                    situation: "outbound_not_contacted".into(),
                    outcome: "no_answer".into(),
                    despite_recent: true,
                    ..OutcomeInput::default()
                }}),
            ),
            // An internal note: a reply to the debtor also passes the contact policy,
            // whose verdict depends on the hour the bench runs at.
            Call::Note => (
                "reply",
                json!({ "input": ReplyInput::text(
                    client, PartyRole::Client, Channel::Note, "", &format!("Nota de carga {i}")) }),
            ),
        }
    }
}

fn summarise(name: &str, latencies: Vec<f64>, failures: Vec<String>, elapsed: f64) -> Measured {
    let requests = latencies.len();
    let (p50_ms, p95_ms, p99_ms) = super::tail_percentiles(latencies);
    Measured {
        name: name.to_string(),
        requests,
        failed: failures.len(),
        elapsed_s: elapsed,
        p50_ms,
        p95_ms,
        p99_ms,
        first_failure: failures.into_iter().next(),
    }
}

/// Signs in through the login form and returns the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> Result<String, String> {
    let res = http
        .post(format!("{base}/api/login"))
        .header(ORIGIN, base)
        .header(ACCEPT, "application/json")
        .form(&[
            ("email", email),
            ("password", DEMO_PASSWORD),
            ("next", "/conversaciones"),
        ])
        .send()
        .await
        .map_err(|e| format!("login de {email}: {e}"))?;
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.contains('=')))
        .map(str::to_string);
    match (res.status().is_success(), cookie) {
        (true, Some(cookie)) => Ok(cookie),
        (_, _) => Err(format!(
            "login de {email} rechazado ({}): {}",
            res.status(),
            res.text().await.unwrap_or_default()
        )),
    }
}

/// A server function's answer: Ok with the body, or the status and body as the failure.
async fn call(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    endpoint: &str,
    body: &serde_json::Value,
) -> Result<String, String> {
    let res = http
        .post(format!("{base}/api/{endpoint}"))
        .header(ORIGIN, base)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/json")
        .header(COOKIE, cookie)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let status = res.status();
    let text = res.text().await.map_err(|e| format!("{endpoint}: {e}"))?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!("{endpoint} ({status}): {text}"))
    }
}

/// The full page, read to its end; a redirect (to the login) or an error is a failure.
async fn page(http: &reqwest::Client, base: &str, cookie: &str) -> Result<(), String> {
    let res = http
        .get(format!("{base}{SSR_PAGE}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .map_err(|e| format!("{SSR_PAGE}: {e}"))?;
    let status = res.status();
    let text = res.text().await.map_err(|e| format!("{SSR_PAGE}: {e}"))?;
    if status.is_success() && text.contains("</html>") {
        Ok(())
    } else {
        Err(format!("{SSR_PAGE} ({status}): {} bytes", text.len()))
    }
}

/// `concurrency` connections calling one server function without pause for `seconds`.
async fn closed_loop(
    http: &reqwest::Client,
    base: &str,
    sessions: &Arc<Vec<Session>>,
    what: Call,
    args: &LoadArgs,
) -> Result<Measured, String> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (http, base, sessions, next) = (
            http.clone(),
            base.to_string(),
            sessions.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let session = &sessions[worker % sessions.len()];
            let (mut latencies, mut failures) = (Vec::new(), Vec::new());
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let client = session.clients[i % session.clients.len()];
                let (endpoint, body) = what.request(client, i);
                let t = Instant::now();
                let answer = call(&http, &base, &session.cookie, endpoint, &body).await;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if let Err(why) = answer {
                    failures.push(why);
                }
            }
            (latencies, failures)
        }));
    }
    let (mut latencies, mut failures) = (Vec::new(), Vec::new());
    for t in tasks {
        let (l, f) = t.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failures.extend(f);
    }
    Ok(summarise(
        what.figure(),
        latencies,
        failures,
        started.elapsed().as_secs_f64(),
    ))
}

/// The full page at a steady `SSR_RATE` a second. Each request's time counts from when
/// it was due, not from when it went out, so a slow server cannot hide its queue by
/// slowing the load down.
async fn paced_pages(
    http: &reqwest::Client,
    base: &str,
    sessions: &Arc<Vec<Session>>,
    seconds: u64,
) -> Result<Measured, String> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / SSR_RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for i in 0..(SSR_RATE * seconds) as usize {
        let due = tick.tick().await;
        let (http, base, sessions) = (http.clone(), base.to_string(), sessions.clone());
        tasks.push(tokio::spawn(async move {
            let cookie = &sessions[i % sessions.len()].cookie;
            let answer = page(&http, &base, cookie).await;
            (due.elapsed().as_secs_f64() * 1000.0, answer)
        }));
    }
    let (mut latencies, mut failures) = (Vec::new(), Vec::new());
    for t in tasks {
        let (ms, answer) = t.await.map_err(|e| e.to_string())?;
        latencies.push(ms);
        if let Err(why) = answer {
            failures.push(why);
        }
    }
    Ok(summarise(
        "ssr_conversaciones_100rps",
        latencies,
        failures,
        started.elapsed().as_secs_f64(),
    ))
}

/// The full page requested one after another on one kept-alive connection, as a
/// browser navigating does.
async fn kept_alive_pages(base: &str, cookie: &str, seconds: u64) -> Result<Measured, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    page(&http, base, cookie).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let (mut latencies, mut failures) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        let t = Instant::now();
        let answer = page(&http, base, cookie).await;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Err(why) = answer {
            failures.push(why);
        }
    }
    Ok(summarise(
        "ssr_conversaciones_keepalive",
        latencies,
        failures,
        started.elapsed().as_secs_f64(),
    ))
}

/// The second process: signs in, runs every figure in turn and prints them as one
/// JSON line.
pub async fn load(args: LoadArgs) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let base = args.url.trim_end_matches('/');
    let mut sessions = Vec::new();
    for email in USERS {
        let cookie = sign_in(&http, base, email).await?;
        let first: ClientPage = serde_json::from_str(
            &call(
                &http,
                base,
                &cookie,
                "list_clients",
                &serde_json::json!({ "query": ClientListQuery::default() }),
            )
            .await?,
        )
        .map_err(|e| format!("list_clients: {e}"))?;
        let clients: Vec<i64> = first.rows.iter().map(|r| r.id).collect();
        if clients.is_empty() {
            return Err(format!("{email} no tiene clientes en su cartera"));
        }
        sessions.push(Session { cookie, clients });
    }
    let sessions = Arc::new(sessions);
    let mut figures = Vec::new();
    for what in Call::ALL {
        figures.push(closed_loop(&http, base, &sessions, what, &args).await?);
    }
    figures.push(paced_pages(&http, base, &sessions, args.seconds).await?);
    figures.push(kept_alive_pages(base, &sessions[0].cookie, args.seconds).await?);
    println!(
        "{}",
        serde_json::to_string(&figures).map_err(|e| e.to_string())?
    );
    Ok(())
}

pub async fn measure(db: &Db, args: &BenchArgs, _config: &Config) -> Result<(), String> {
    let engine = db.engine();
    db.migrate().await.map_err(|e| e.to_string())?;
    seed_clients(db, args.clients, Clock::at(Utc::now(), chrono_tz::UTC)).await?;
    let t = Instant::now();
    let loaded = super::inbox::load_messages(db, args.messages, Utc::now()).await?;
    println!(
        "loaded {loaded} messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    db.refresh_statistics().await.map_err(|e| e.to_string())?;

    let hub = crate::server::events::Hub::start(db.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (addr, server) = super::serve_app(db, hub).await?;
    let url = format!("http://{addr}");
    let (seconds, concurrency) = (args.seconds.to_string(), args.concurrency.to_string());
    let report = super::load_process(&[
        "bench-http-load",
        "--url",
        &url,
        "--seconds",
        &seconds,
        "--concurrency",
        &concurrency,
    ])
    .await;
    server.abort();
    let figures: Vec<Measured> =
        serde_json::from_slice(&report?).map_err(|e| format!("informe de carga ilegible: {e}"))?;

    let e = engine.as_str();
    println!();
    println!(
        "HTTP ({e}, {} clients, {loaded} messages; server functions over {} connections, \
         {SSR_PAGE} at {SSR_RATE}/s and on one kept-alive connection; {} s each)",
        args.clients, args.concurrency, args.seconds
    );
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "figure", "p50 ms", "p95 ms", "p99 ms", "per s", "failed"
    );
    for f in &figures {
        println!(
            "{:<32} {:>9.2} {:>9.2} {:>9.2} {:>9.0} {:>7}",
            f.name,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.requests as f64 / f.elapsed_s,
            f.failed
        );
    }
    println!();
    for f in &figures {
        println!(
            "BENCH http.{} engine={e} p50_ms={:.3} p95_ms={:.3} p99_ms={:.3} rate_per_s={:.0}",
            f.name,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.requests as f64 / f.elapsed_s
        );
    }
    match figures.iter().find(|f| f.failed > 0) {
        Some(f) => Err(format!(
            "{}: {} de {} peticiones fallaron; la primera: {}",
            f.name,
            f.failed,
            f.requests,
            f.first_failure.as_deref().unwrap_or("")
        )),
        None => Ok(()),
    }
}
