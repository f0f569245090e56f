//! `recaudo bench`: seeds a fresh database and measures, through the same services the
//! server functions call, the clients page and search (`clients`), the inbox, its
//! counter and the conversation screen (`inbox`), or the Llamadas tray, its counter,
//! registering an outcome and the promise job (`calls`), or the lists under the alert
//! filters (`alerts`), or signed WhatsApp callbacks posted by a second process
//! (`webhooks`), or one daily pass of the scheduler (`flows`), or the Interacciones
//! download of N rows as CSV and XLSX (`export`), or what the contact policies cost
//! (`governance`), or the event stream's fan-out to many open browsers (`events`), or
//! what a browser waits for over HTTP: server functions and full pages (`http`).

mod alerts;
mod calls;
mod events;
pub mod export;
mod flows;
mod governance;
pub mod http;
mod inbox;
pub mod webhooks;

use std::future::Future;
use std::time::Instant;

use chrono::Utc;

use crate::domain::listing::{ClientCursor, ClientListQuery, ClientSort};
use crate::domain::user::{Role, Viewer};
use crate::on_db;
use crate::server::clients;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::db::{Db, Engine};
use crate::server::seed;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchKind {
    Clients,
    Inbox,
    Calls,
    Alerts,
    Webhooks,
    Flows,
    Export,
    Governance,
    Events,
    Http,
}

pub struct BenchArgs {
    pub kind: BenchKind,
    pub clients: usize,
    /// Messages the inbox benchmark loads (spread over the clients).
    pub messages: usize,
    pub database_url: Option<String>,
    pub iterations: usize,
    /// How many pages deep the "deep page" figure reads.
    pub depth: usize,
    /// How long the webhook load runs (for `http`, each figure), and over how many
    /// connections.
    pub seconds: u64,
    pub concurrency: usize,
    /// Interactions the export benchmark loads.
    pub rows: usize,
    /// Browsers on the event stream, and changes committed per second, for `events`.
    pub subscribers: usize,
    pub rate: u64,
}

struct Figure {
    name: String,
    p50_ms: f64,
    p95_ms: f64,
}

/// p50/p95 of `f` run `iterations` times (`f` gets the iteration's number).
async fn sample<F, Fut>(iterations: usize, mut f: F) -> Result<(f64, f64), String>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let t = Instant::now();
        f(i).await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(percentiles(samples))
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    (at(50), at(95))
}

/// p50, p95 and p99 of `samples` (0 for none).
fn tail_percentiles(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| {
        samples
            .get(((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    (at(0.50), at(0.95), at(0.99))
}

/// Runs this binary's hidden load command `args` (a bench's second process) and returns
/// the one JSON line it prints as its report.
async fn load_process(args: &[&str]) -> Result<Vec<u8>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = tokio::process::Command::new(exe)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .map_err(|e| format!("no se pudo lanzar el proceso de carga: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "el proceso de carga falló: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    out.stdout
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"{") || l.starts_with(b"["))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "el proceso de carga no imprimió su informe".into())
}

/// A fresh database for one run, removed afterwards.
enum Scratch {
    SqliteFile(std::path::PathBuf),
    PostgresSchema { url: String, schema: String },
}

impl Scratch {
    async fn create(url: Option<&str>) -> Result<(Db, Scratch), String> {
        match url {
            Some(u) if crate::server::db::is_postgres(u) => {
                let schema = format!("recaudo_bench_{}_{}", std::process::id(), Utc::now().timestamp_millis());
                let admin = Db::connect(u).await.map_err(|e| e.to_string())?;
                on_db!(&admin, p => sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(p).await.map(|r| r.rows_affected()))
                    .map_err(|e| e.to_string())?;
                admin.close().await;
                let db = Db::connect_with_schema(u, Some(&schema)).await.map_err(|e| e.to_string())?;
                Ok((db, Scratch::PostgresSchema { url: u.to_string(), schema }))
            }
            Some(u) => Err(format!(
                "--database-url admite PostgreSQL (postgres://…); sin él se usa un SQLite temporal. Recibido: {}",
                crate::server::redact(u)
            )),
            None => {
                let path = sqlite_temp_path("bench");
                let db = Db::connect(&path.to_string_lossy()).await.map_err(|e| e.to_string())?;
                Ok((db, Scratch::SqliteFile(path)))
            }
        }
    }

    /// A second scratch database holding a copy of `db`'s rows, for a baseline that
    /// must start from the same data: seeding a million clients again would take ten
    /// minutes or more and gives a database laid out differently.
    async fn copy_of(&self, db: &Db) -> Result<(Db, Scratch), String> {
        let text = |e: sqlx::Error| e.to_string();
        match self {
            Scratch::SqliteFile(_) => {
                let path = sqlite_temp_path("bench-copy");
                on_db!(db, p => sqlx::query("VACUUM INTO $1")
                    .bind(path.to_string_lossy().into_owned())
                    .execute(p).await.map(|r| r.rows_affected()))
                .map_err(text)?;
                match Db::connect(&path.to_string_lossy()).await {
                    Ok(copy) => Ok((copy, Scratch::SqliteFile(path))),
                    Err(e) => {
                        let _ = std::fs::remove_file(&path);
                        Err(e.to_string())
                    }
                }
            }
            Scratch::PostgresSchema { url, schema } => {
                let (copy, scratch) = Scratch::create(Some(url)).await?;
                copy.migrate().await.map_err(|e| e.to_string())?;
                let Scratch::PostgresSchema { schema: into, .. } = &scratch else {
                    unreachable!("a PostgreSQL URL makes a PostgreSQL scratch")
                };
                if let Err(e) = copy_schema(&copy, schema, into).await {
                    scratch.remove(copy).await;
                    return Err(e);
                }
                Ok((copy, scratch))
            }
        }
    }

    /// Where another process reaches the same database.
    fn url(&self) -> String {
        match self {
            Scratch::SqliteFile(path) => format!("sqlite://{}", path.display()),
            Scratch::PostgresSchema { url, schema } => {
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}options=-c%20search_path%3D{schema}")
            }
        }
    }

    async fn remove(self, db: Db) {
        db.close().await;
        match self {
            Scratch::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Scratch::PostgresSchema { url, schema } => {
                if let Ok(admin) = Db::connect(&url).await {
                    let _ = on_db!(&admin, p => sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(p).await.map(|r| r.rows_affected()));
                    admin.close().await;
                }
            }
        }
    }
}

/// A file name for a scratch SQLite database that no other run of this machine uses.
fn sqlite_temp_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "recaudo-{tag}-{}-{}.db",
        std::process::id(),
        Utc::now().timestamp_millis()
    ))
}

/// Every row of the tables of schema `from` into the same tables of `into`, which the
/// same migrations made, and the identity counters after them. The copy's triggers do
/// not fire (the counters they keep are copied as they are) and the rows go in as
/// they were, so the foreign keys are not checked again either: that takes a
/// superuser, which the benches' local PostgreSQL is.
async fn copy_schema(copy: &Db, from: &str, into: &str) -> Result<(), String> {
    let text = |e: sqlx::Error| e.to_string();
    let crate::server::db::Pool::Postgres(pool) = copy.pool() else {
        return Err("la copia de un esquema es solo para PostgreSQL".into());
    };
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name FROM information_schema.tables
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .bind(from)
    .fetch_all(pool)
    .await
    .map_err(text)?;
    let quoted = |schema: &str, table: &str| format!("\"{schema}\".\"{table}\"");
    let mut tx = pool.begin().await.map_err(text)?;
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            format!("copiar la base de referencia requiere un superusuario de PostgreSQL: {e}")
        })?;
    let all = tables
        .iter()
        .map(|(t,)| quoted(into, t))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!("TRUNCATE {all}"))
        .execute(&mut *tx)
        .await
        .map_err(text)?;
    for (table,) in &tables {
        sqlx::query(&format!(
            "INSERT INTO {} SELECT * FROM {}",
            quoted(into, table),
            quoted(from, table)
        ))
        .execute(&mut *tx)
        .await
        .map_err(text)?;
    }
    let counters: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sequencename::text, last_value FROM pg_sequences
         WHERE schemaname = $1 AND last_value IS NOT NULL",
    )
    .bind(from)
    .fetch_all(&mut *tx)
    .await
    .map_err(text)?;
    for (sequence, last) in counters {
        sqlx::query("SELECT setval($1::regclass, $2)")
            .bind(quoted(into, &sequence))
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(text)?;
    }
    tx.commit().await.map_err(text)
}

/// Seeds the demo users and `clients` clients, and prints how fast.
async fn seed_clients(db: &Db, clients: usize, clock: Clock) -> Result<(), String> {
    let engine = db.engine();
    let started = Instant::now();
    seed::seed(db, clients, clock)
        .await
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {clients} clients on {} in {seconds:.1} s ({:.0} clients/s)",
        engine.as_str(),
        clients as f64 / seconds
    );
    println!(
        "BENCH seed engine={} rate_per_s={:.0}",
        engine.as_str(),
        clients as f64 / seconds
    );
    Ok(())
}

/// One `BENCH` line for a figure measured once (a whole pass): one value, since a
/// single run has no distribution to give a p50 and a p95 of.
fn print_single(name: &str, engine: &str, seconds: f64) {
    println!("BENCH {name} engine={engine} ms={:.1}", seconds * 1000.0);
}

/// The process's peak (`VmHWM`) or current (`VmRSS`) resident memory in MB, read from
/// Linux's `/proc/self/status`. A figure that cannot be read fails the bench: printing
/// 0 would pass any memory target.
fn rss_mb(field: &str) -> Result<f64, String> {
    let unreadable = |why: String| format!("no se pudo leer {field} de /proc/self/status: {why}");
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|e| unreadable(e.to_string()))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| unreadable("no está".into()))?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| unreadable(format!("«{line}»")))?;
    Ok(kb / 1024.0)
}

/// The whole HTTP application (real router, default settings) on a loopback port, with
/// `hub` as its event stream: its address and its task, to abort after the run.
async fn serve_app(
    db: &Db,
    hub: std::sync::Arc<crate::server::events::Hub>,
) -> Result<
    (
        std::net::SocketAddr,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ),
    String,
> {
    use crate::server::http::{router, AppState};
    let state = AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("recaudo")
            .build(),
        db: db.clone(),
        config: std::sync::Arc::new(Config::defaults()),
        limits: std::sync::Arc::default(),
        events: hub,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        axum::serve(
            crate::server::http::listener(listener),
            router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    Ok((addr, server))
}

/// The table for people, then one `BENCH` line per figure for scripts.
fn print_figures(engine: Engine, label: &str, figures: &[Figure]) {
    println!();
    println!(
        "{:<48} {:>9} {:>9}",
        format!("figure ({}, {label})", engine.as_str()),
        "p50 ms",
        "p95 ms"
    );
    for f in figures {
        println!("{:<48} {:>9.3} {:>9.3}", f.name, f.p50_ms, f.p95_ms);
    }
    println!();
    for f in figures {
        println!(
            "BENCH {} engine={} p50_ms={:.3} p95_ms={:.3}",
            f.name,
            engine.as_str(),
            f.p50_ms,
            f.p95_ms
        );
    }
    if engine == Engine::Sqlite {
        println!("(SQLite file removed after the run)");
    }
}

async fn demo_viewer(db: &Db, email: &str) -> Result<Viewer, String> {
    let user = crate::server::users::find_by_email(db, email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("falta el usuario de demostración {email}"))?;
    Ok(Viewer {
        user_id: user.id,
        name: user.name,
        email: user.email,
        role: user.role,
        filter_unlocked: false,
        has_clients: user.role != Role::Admin,
    })
}

/// The demo advisor, supervisor and administrator: one viewer per scope.
async fn demo_scopes(db: &Db) -> Result<[(&'static str, Viewer); 3], String> {
    Ok([
        ("advisor", demo_viewer(db, "asesor1@demo.recaudo").await?),
        (
            "supervisor",
            demo_viewer(db, "supervisor1@demo.recaudo").await?,
        ),
        ("all", demo_viewer(db, "admin@demo.recaudo").await?),
    ])
}

pub async fn run(args: BenchArgs, config: &Config) -> Result<(), String> {
    if args.iterations == 0 || args.clients == 0 {
        return Err("--clients y --iterations deben ser mayores que cero".into());
    }
    if args.seconds == 0 || args.concurrency == 0 || args.seconds > 3600 {
        return Err("--seconds (1 a 3600) y --concurrency deben ser mayores que cero".into());
    }
    let (db, scratch) = Scratch::create(args.database_url.as_deref()).await?;
    let result = match args.kind {
        BenchKind::Clients => measure(&db, &args, config).await,
        BenchKind::Inbox => inbox::measure(&db, &args, config).await,
        BenchKind::Calls => calls::measure(&db, &args, config).await,
        BenchKind::Alerts => alerts::measure(&db, &args, config).await,
        BenchKind::Webhooks => webhooks::measure(&db, &args, config).await,
        BenchKind::Flows => flows::measure(&db, &args, config).await,
        BenchKind::Export => export::measure(&db, &args, config, &scratch.url()).await,
        BenchKind::Governance => governance::measure(&db, &scratch, &args, config).await,
        BenchKind::Events => events::measure(&db, &args).await,
        BenchKind::Http => http::measure(&db, &args, config).await,
    };
    scratch.remove(db).await;
    result
}

async fn measure(db: &Db, args: &BenchArgs, config: &Config) -> Result<(), String> {
    let engine = db.engine();
    let err = |e: crate::domain::error::AppError| e.to_string();
    db.migrate().await.map_err(|e| e.to_string())?;
    let today = config.today();

    seed_clients(db, args.clients, config.clock()).await?;

    let scopes = demo_scopes(db).await?;

    let mut figures = Vec::new();
    let time = move |viewer: &Viewer, query: ClientListQuery| {
        let viewer = viewer.clone();
        async move {
            let mut samples = Vec::with_capacity(args.iterations);
            for _ in 0..args.iterations {
                let t = Instant::now();
                clients::list(db, &viewer, &query, today)
                    .await
                    .map_err(err)?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<(f64, f64), String>(percentiles(samples))
        }
    };

    for (scope, viewer) in &scopes {
        for sort in ClientSort::ALL {
            let first = ClientListQuery {
                sort,
                ..Default::default()
            };
            let (p50, p95) = time(viewer, first.clone()).await?;
            figures.push(Figure {
                name: format!("clients_page.first.{scope}.{}", sort.as_str()),
                p50_ms: p50,
                p95_ms: p95,
            });

            // Walk to the deep page once (untimed), then time reading it.
            let mut cursor: Option<ClientCursor> = None;
            let mut reached = 0;
            for _ in 0..args.depth {
                let page = clients::list(
                    db,
                    viewer,
                    &ClientListQuery {
                        after: cursor,
                        ..first.clone()
                    },
                    today,
                )
                .await
                .map_err(err)?;
                match page.next {
                    Some(next) => {
                        cursor = Some(next);
                        reached += 1;
                    }
                    None => break,
                }
            }
            let (p50, p95) = time(
                viewer,
                ClientListQuery {
                    after: cursor,
                    ..first
                },
            )
            .await?;
            figures.push(Figure {
                name: format!("clients_page.deep{reached}.{scope}.{}", sort.as_str()),
                p50_ms: p50,
                p95_ms: p95,
            });
        }
    }

    // Search for things that exist: a mid-table client's document, phone and e-mail.
    let sample: (String, String, String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT c.document_number, c.last_name,
                (SELECT value FROM contact_points WHERE client_id = c.id AND kind = 'phone' ORDER BY id LIMIT 1),
                COALESCE((SELECT value FROM contact_points WHERE client_id = c.id AND kind = 'email' ORDER BY id LIMIT 1), 'ana')
         FROM clients c WHERE c.kind = 'person' ORDER BY c.id LIMIT 1 OFFSET $1")
        .bind((args.clients / 2) as i64).fetch_one(p).await)
    .map_err(|e| e.to_string())?;
    let (document, last_name, phone, email) = sample;
    let surname = last_name
        .split_whitespace()
        .next()
        .unwrap_or("gonzalez")
        .to_string();
    let national: String = phone.chars().filter(char::is_ascii_digit).skip(2).collect();
    let searches = [
        (
            "surname_prefix",
            surname.chars().take(4).collect::<String>(),
        ),
        (
            "first_and_last",
            format!("maria {}", surname.chars().take(3).collect::<String>()),
        ),
        ("document", document),
        ("phone", national),
        ("email_prefix", email.chars().take(8).collect()),
    ];
    for (scope, viewer) in scopes.iter().filter(|(s, _)| *s != "supervisor") {
        for (name, text) in &searches {
            let q = ClientListQuery {
                search: text.clone(),
                ..Default::default()
            };
            let (p50, p95) = time(viewer, q).await?;
            figures.push(Figure {
                name: format!("search.{name}.{scope}"),
                p50_ms: p50,
                p95_ms: p95,
            });
        }
    }

    print_figures(engine, &format!("{} clients", args.clients), &figures);
    Ok(())
}
