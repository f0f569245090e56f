//! `recaudo bench alerts`: N clients with the alerts and indicator spread as in a worked
//! portfolio, then the clients list and the Recibidos tray under each alert filter, per
//! scope and order, first page and deep page.
//!
//! The spread is written straight into the summary column the services keep (the
//! timed reads are what matters here), from the keys `domain::alerts` defines.

use chrono::NaiveDate;

use super::inbox::time_inbox;
use super::{demo_scopes, print_figures, sample, seed_clients, BenchArgs, Figure};
use crate::domain::alerts::{
    AlertFilter, AlertKey, AlertKind, Contactability, NON_PAYMENT_CHOICES, PAYMENT_PROBLEM_CHOICES,
};
use crate::domain::listing::{ClientCursor, ClientListQuery, ClientSort, InboxQuery};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::clients;
use crate::server::config::Config;
use crate::server::db::Db;

/// Who carries what: (modulus, remainder) on the client id, so that the shares are
/// fixed and spread over every advisor. About 3 % won't pay, 2 % can't, 1 % each
/// payment problem, 8 % with a failed contact point (a quarter of them with none left),
/// and two thirds of the rest already reached.
async fn spread(db: &Db) -> Result<(), String> {
    let bit = |k: AlertKind| i64::from(k.bit());
    let indicator = |c: Contactability| AlertKey::new(0, c).0;
    let sql = format!(
        "UPDATE clients SET alert_key =
            (CASE WHEN id % 33 = 0 THEN {wont} ELSE 0 END)
            + (CASE WHEN id % 50 = 1 THEN {cant} ELSE 0 END)
            + (CASE WHEN id % 97 = 2 THEN {restructuring} ELSE 0 END)
            + (CASE WHEN id % 101 = 3 THEN {refinancing} ELSE 0 END)
            + (CASE WHEN id % 12 = 5 THEN {contact} ELSE 0 END)
            + (CASE WHEN id % 48 = 5 THEN {not_contactable}
                    WHEN id % 12 = 5 THEN {with_problems}
                    WHEN id % 3 <> 0 THEN {contactable}
                    ELSE {new} END),
            contact_problems = CASE WHEN id % 12 = 5 THEN 4 ELSE 0 END",
        wont = bit(AlertKind::WontPay),
        cant = bit(AlertKind::CantPay),
        restructuring = bit(AlertKind::Restructuring),
        refinancing = bit(AlertKind::Refinancing),
        contact = bit(AlertKind::Contactability),
        not_contactable = indicator(Contactability::NotContactable),
        with_problems = indicator(Contactability::WithProblems),
        contactable = indicator(Contactability::Contactable),
        new = indicator(Contactability::New),
    );
    on_db!(db, p => sqlx::query(&sql).execute(p).await.map(|r| r.rows_affected()))
        .map_err(|e| e.to_string())?;
    db.refresh_statistics().await.map_err(|e| e.to_string())
}

fn filters() -> Vec<(&'static str, AlertFilter)> {
    let mut out = vec![
        (
            "no_pago",
            AlertFilter {
                non_payment: NON_PAYMENT_CHOICES[0].bits,
                ..AlertFilter::default()
            },
        ),
        (
            "no_quiere",
            AlertFilter {
                non_payment: NON_PAYMENT_CHOICES[1].bits,
                ..AlertFilter::default()
            },
        ),
        (
            "problema_pago",
            AlertFilter {
                payment_problem: PAYMENT_PROBLEM_CHOICES[0].bits,
                ..AlertFilter::default()
            },
        ),
    ];
    for (name, c) in [
        ("con_problemas", Contactability::WithProblems),
        ("no_contactable", Contactability::NotContactable),
        ("contactable", Contactability::Contactable),
        ("nuevos", Contactability::New),
    ] {
        out.push((
            name,
            AlertFilter {
                contactability: Some(c),
                ..AlertFilter::default()
            },
        ));
    }
    out
}

/// p50/p95 of one clients-list read.
async fn time_list(
    db: &Db,
    viewer: &Viewer,
    q: &ClientListQuery,
    today: NaiveDate,
    iterations: usize,
) -> Result<(f64, f64), String> {
    sample(iterations, |_| async move {
        clients::list(db, viewer, q, today)
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
    let today = config.today();
    seed_clients(db, args.clients, config.clock()).await?;
    spread(db).await?;

    let scopes = demo_scopes(db).await?;
    let mut figures = Vec::new();
    for (scope, viewer) in &scopes {
        for (name, filter) in filters() {
            for sort in [ClientSort::DaysOverdueDesc, ClientSort::AmountDesc] {
                let first = ClientListQuery {
                    sort,
                    alerts: filter,
                    ..ClientListQuery::default()
                };
                let (p50_ms, p95_ms) =
                    time_list(db, viewer, &first, today, args.iterations).await?;
                figures.push(Figure {
                    name: format!("alerts.clients.first.{scope}.{name}.{}", sort.as_str()),
                    p50_ms,
                    p95_ms,
                });
            }
            // A deep page in the default order, walked to once untimed.
            let mut cursor: Option<ClientCursor> = None;
            let mut reached = 0;
            let base = ClientListQuery {
                alerts: filter,
                ..ClientListQuery::default()
            };
            for _ in 0..args.depth {
                let q = ClientListQuery {
                    after: cursor,
                    ..base.clone()
                };
                match clients::list(db, viewer, &q, today)
                    .await
                    .map_err(err)?
                    .next
                {
                    Some(next) => {
                        cursor = Some(next);
                        reached += 1;
                    }
                    None => break,
                }
            }
            let deep = ClientListQuery {
                after: cursor,
                ..base
            };
            let (p50_ms, p95_ms) = time_list(db, viewer, &deep, today, args.iterations).await?;
            figures.push(Figure {
                name: format!("alerts.clients.deep{reached}.{scope}.{name}"),
                p50_ms,
                p95_ms,
            });
        }
        // Recibidos, pending conversations (its default view), under two filters.
        for (name, filter) in filters()
            .into_iter()
            .filter(|(n, _)| ["no_quiere", "con_problemas", "contactable"].contains(n))
        {
            let q = InboxQuery {
                alerts: filter,
                ..InboxQuery::default()
            };
            let (p50_ms, p95_ms) = time_inbox(db, viewer, &q, args.iterations, config).await?;
            figures.push(Figure {
                name: format!("alerts.inbox.first.{scope}.{name}"),
                p50_ms,
                p95_ms,
            });
        }
    }
    print_figures(engine, &format!("{} clients", args.clients), &figures);
    Ok(())
}
