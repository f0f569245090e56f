//! `recaudo bench export --rows N`: seeds the demo portfolio, adds N interactions over
//! the last 29 days (80 % flow SMS, 10 % call outcomes with notes, and payments to
//! verify, promises and portal visits), times the report's first and a deep page and the
//! indicators for an advisor, a supervisor and an administrator, then downloads the
//! whole Interacciones report as CSV and as XLSX. Each download runs in a process of its
//! own (the binary's hidden `bench-export-run`), so its peak memory is the download's
//! alone, not the seeding's.

use std::time::Instant;

use chrono::{Duration, Utc};

use super::{seed_clients, BenchArgs};
use crate::domain::indicators::IndicatorQuery;
use crate::domain::interactions::{InteractionQuery, PAGE_SIZE};
use crate::domain::report_params::Period;
use crate::on_db;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::indicators;
use crate::server::interactions::export::{Export, CHUNK_ROWS};
use crate::server::interactions::Reading;
use crate::server::tables::{Encoder, Format};

/// Rows per insert statement: well under either engine's limit on bound values.
const BATCH: usize = 500;

/// What one download process reports.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    pub rows: usize,
    pub bytes: usize,
    pub seconds: f64,
    pub peak_rss_mb: f64,
}

/// The second process: downloads the report as the demo administrator and prints a
/// [`RunReport`] as one JSON line.
pub async fn run(database_url: &str, format: &str, config: &Config) -> Result<(), String> {
    let format = Format::parse(Some(format)).map_err(|e| e.to_string())?;
    let db = Db::connect(database_url).await.map_err(|e| e.to_string())?;
    let admin = super::demo_viewer(&db, "admin@demo.recaudo").await?;
    let err = |e: crate::domain::error::AppError| e.to_string();
    let started = Instant::now();
    // The server's download (`export::stream` without the HTTP body), rows counted.
    let mut export = Export::open(
        &db,
        &admin,
        &InteractionQuery::default(),
        config.clock(),
        CHUNK_ROWS,
    )
    .await
    .map_err(err)?;
    let mut encoder = Encoder::new(format);
    let mut bytes = encoder.start(&export.header()).map_err(err)?.len();
    let mut rows = 0;
    loop {
        let cells = export.next_cells().await.map_err(err)?;
        rows += cells.len();
        bytes += encoder.rows(&cells).map_err(err)?.len();
        if cells.len() < CHUNK_ROWS {
            break;
        }
    }
    bytes += encoder.finish().map_err(err)?.len();
    let seconds = started.elapsed().as_secs_f64();
    let report = RunReport {
        rows,
        bytes,
        seconds,
        peak_rss_mb: super::rss_mb("VmHWM:")?,
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Inserts `rows` records spread over the clients and the last 29 days: 80 % messages,
/// 10 % outcomes and 10 % payments, promises and visits.
async fn load(db: &Db, rows: usize) -> Result<(), String> {
    let err = |e: sqlx::Error| e.to_string();
    let clients: Vec<(i64,)> = on_db!(db, p => sqlx::query_as("SELECT id FROM clients ORDER BY id")
        .fetch_all(p).await)
    .map_err(err)?;
    let (user,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM users WHERE email = 'asesor1@demo.recaudo'").fetch_one(p).await)
    .map_err(err)?;
    if clients.is_empty() {
        return Err("no hay clientes sembrados".into());
    }
    let now = Utc::now();
    let span = Duration::days(29).num_seconds();
    let at = |i: usize| now - Duration::seconds(span * i as i64 / rows.max(1) as i64);
    let client = |i: usize| clients[i * 7919 % clients.len()].0;
    let started = Instant::now();
    let mut i = 0;
    while i < rows {
        let n = BATCH.min(rows - i);
        let kind = (i / BATCH) % 10;
        // `?c` is the client, `?t` the time, `?u` the user who registered it.
        let (table, columns, row) = match kind {
            0 => (
                "outcomes",
                "client_id, situation, outcome, contact_class, party_role, party_ordinal, note, user_id, occurred_at",
                "(?c, 'outbound_contacted', 'promise_or_to_verify', 'right_party', 'client', 1, 'Pagará el viernes; dice que cobra el jueves', ?u, ?t)",
            ),
            1 => match (i / BATCH / 10) % 3 {
                0 => (
                    "payments",
                    "client_id, paid_on, amount_cents, currency, method, note, status, declared_at, declared_by",
                    "(?c, '2026-11-01', 150000, 'COP', 'Transferencia', 'Comprobante enviado por WhatsApp', 'to_verify', ?t, ?u)",
                ),
                1 => (
                    "promises",
                    "client_id, promised_date, amount_cents, currency, state, created_on, created_at, created_by",
                    "(?c, '2026-12-01', 90000, 'COP', 'pending', '2026-11-01', ?t, ?u)",
                ),
                _ => (
                    "portal_visits",
                    "client_id, page_name, visited_at",
                    "(?c, 'Estado de cuenta', ?t)",
                ),
            },
            _ => (
                "messages",
                "client_id, party_role, party_ordinal, direction, channel, body, origin, status, occurred_at, created_at",
                "(?c, 'client', 1, 'outbound', 'sms', 'Hola María, su deuda de COP 1.250.000,00 venció hace 12 días. Pague aquí: https://recaudo.example/pago/abc', 'flow', 'delivered', ?t, ?t)",
            ),
        };
        let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
        let mut binds = Vec::new();
        for j in 0..n {
            if j > 0 {
                sql.push(',');
            }
            let mut chars = row.chars();
            while let Some(ch) = chars.next() {
                if ch == '?' {
                    binds.push((i + j, chars.next().unwrap_or('c')));
                    sql.push_str(&format!("${}", binds.len()));
                } else {
                    sql.push(ch);
                }
            }
        }
        let mut tx = db.begin().await.map_err(err)?;
        crate::on_tx!(&mut tx, c => {
            let mut q = sqlx::query(&sql);
            for (r, kind) in &binds {
                q = match kind {
                    't' => q.bind(at(*r)),
                    'u' => q.bind(user),
                    _ => q.bind(client(*r)),
                };
            }
            q.execute(&mut *c).await.map(drop)
        })
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(err)?;
        i += n;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {rows} interactions in {seconds:.1} s ({:.0}/s)",
        rows as f64 / seconds
    );
    db.refresh_statistics().await.map_err(err)?;
    Ok(())
}

/// The report's first page and a deep one, and the indicators, per scope.
async fn screens(db: &Db, args: &BenchArgs, config: &Config) -> Result<Vec<super::Figure>, String> {
    let err = |e: crate::domain::error::AppError| e.to_string();
    let clock = config.clock();
    let mut figures = Vec::new();
    for (scope, viewer) in super::demo_scopes(db).await? {
        let query = InteractionQuery::default();
        let reading = Reading::new(db, &viewer, &query, clock, PAGE_SIZE)
            .await
            .map_err(err)?;
        let (p50, p95) = super::sample(args.iterations, |_| async {
            reading.page(db, None).await.map(drop).map_err(err)
        })
        .await?;
        figures.push(super::Figure {
            name: format!("interactions_page.first.{scope}"),
            p50_ms: p50,
            p95_ms: p95,
        });
        let mut cursor = None;
        let mut reached = 0;
        for _ in 0..args.depth {
            match reading.page(db, cursor).await.map_err(err)?.next {
                Some(next) => {
                    cursor = Some(next);
                    reached += 1;
                }
                None => break,
            }
        }
        let (p50, p95) = super::sample(args.iterations, |_| async {
            reading.page(db, cursor).await.map(drop).map_err(err)
        })
        .await?;
        figures.push(super::Figure {
            name: format!("interactions_page.deep{reached}.{scope}"),
            p50_ms: p50,
            p95_ms: p95,
        });
        let (p50, p95) = super::sample(args.iterations.min(20), |_| async {
            indicators::indicators(db, &viewer, &IndicatorQuery::default(), clock)
                .await
                .map(drop)
                .map_err(err)
        })
        .await?;
        figures.push(super::Figure {
            name: format!("indicators.{scope}"),
            p50_ms: p50,
            p95_ms: p95,
        });
        // The same figures recounted from the rows, as Indicadores did before the
        // counters: the price the counters save.
        let (p50, p95) = super::sample(args.iterations.min(5), |_| async {
            let q = IndicatorQuery::default();
            indicators::indicators_by(db, &viewer, &q, clock, indicators::Counting::Rows)
                .await
                .map(drop)
                .map_err(err)
        })
        .await?;
        figures.push(super::Figure {
            name: format!("indicators_recounted.{scope}"),
            p50_ms: p50,
            p95_ms: p95,
        });
    }
    Ok(figures)
}

pub async fn measure(
    db: &Db,
    args: &BenchArgs,
    config: &Config,
    database_url: &str,
) -> Result<(), String> {
    let engine = db.engine().as_str();
    db.migrate().await.map_err(|e| e.to_string())?;
    seed_clients(db, args.clients, config.clock()).await?;
    load(db, args.rows).await?;
    // What the server's fold does within five minutes of the load (on PostgreSQL the
    // triggers appended one counter row per record).
    indicators::fold(db).await.map_err(|e| e.to_string())?;
    // The records of the report's default period, counted table by table.
    let period = Period::settle(None, None, config.today())?;
    let clock = config.clock();
    let (start, end) = (
        clock.day_start(period.from),
        clock.day_start(period.to + Duration::days(1)),
    );
    let (total,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM messages WHERE client_id IS NOT NULL AND occurred_at >= $1 AND occurred_at < $2)
              + (SELECT COUNT(*) FROM outcomes WHERE occurred_at >= $1 AND occurred_at < $2)
              + (SELECT COUNT(*) FROM payments WHERE declared_at >= $1 AND declared_at < $2)
              + (SELECT COUNT(*) FROM promises WHERE created_at >= $1 AND created_at < $2)
              + (SELECT COUNT(*) FROM portal_visits WHERE visited_at >= $1 AND visited_at < $2)
              + (SELECT COUNT(*) FROM contact_decisions WHERE verdict <> 'allow' AND decided_at >= $1 AND decided_at < $2)")
        .bind(start).bind(end).fetch_one(p).await)
    .map_err(|e| e.to_string())?;
    let figures = screens(db, args, config).await?;

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for format in ["csv", "xlsx"] {
        let out = tokio::process::Command::new(&exe)
            .args([
                "bench-export-run",
                "--database-url",
                database_url,
                "--format",
                format,
            ])
            .env("RUST_LOG", "warn")
            .output()
            .await
            .map_err(|e| format!("no se pudo lanzar la descarga: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "la descarga {format} falló: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let report: RunReport = serde_json::from_slice(
            out.stdout
                .split(|b| *b == b'\n')
                .find(|l| l.starts_with(b"{"))
                .unwrap_or_default(),
        )
        .map_err(|e| format!("informe de descarga ilegible: {e}"))?;
        if report.rows as i64 != total {
            return Err(format!(
                "la descarga {format} tiene {} filas y el período {total} registros",
                report.rows
            ));
        }
        results.push((format, report));
    }

    super::print_figures(
        db.engine(),
        &format!("{total} interactions, {} clients", args.clients),
        &figures,
    );
    println!(
        "export of {total} interactions ({engine}, default columns, one process per download)"
    );
    println!(
        "{:<8} {:>12} {:>12} {:>14} {:>14}",
        "format", "seconds", "rows/s", "MB written", "peak RSS MB"
    );
    for (format, r) in &results {
        println!(
            "{:<8} {:>12.1} {:>12.0} {:>14.1} {:>14.1}",
            format,
            r.seconds,
            total as f64 / r.seconds,
            r.bytes as f64 / 1e6,
            r.peak_rss_mb
        );
    }
    println!();
    for (format, r) in &results {
        println!(
            "BENCH export.{format}.rows engine={engine} rate_per_s={:.0}",
            total as f64 / r.seconds
        );
        println!(
            "BENCH export.{format}.memory engine={engine} peak_rss_mb={:.1}",
            r.peak_rss_mb
        );
    }
    Ok(())
}
