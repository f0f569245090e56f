//! Counts behind Indicadores de gestión, over the viewer's own portfolio, optionally
//! narrowed to one advisor or one supervisor's team. Contactability and alerts come from
//! the clients per summary key, the rates from the outcomes and promises per hour, money
//! from the debts per due date: counters the database's triggers keep (migration 0017),
//! as are the payments waiting for review, so the page costs the same at any portfolio
//! size; the blocked contacts are read from their own index.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::error::AppError;
use crate::domain::indicators::{
    bucket_of, tally_keys, Blocked, GroupRates, IndicatorQuery, Indicators, Rates, Receivables,
    DSO_DAYS,
};
use crate::domain::report_params::Period;
use crate::domain::user::{Scope, Viewer};
use crate::server::clock::Clock;
use crate::server::db::{Db, Pool};
use crate::server::interactions::{self, report_scope};
use crate::server::segments::sql::{Sql, Value};

/// `AND …` for the viewer's scope and the chosen advisor or team, on `clients c`.
fn portfolio(sql: &mut Sql, scope: Scope, query: &IndicatorQuery) {
    interactions::portfolio(sql, scope, query.advisor_id, query.supervisor_id);
}

/// The same on a counters table `c` (holders as keys, 0 for none).
fn held(sql: &mut Sql, scope: Scope, query: &IndicatorQuery) {
    interactions::holders(
        sql,
        ("c.advisor_key", "c.supervisor_key"),
        scope,
        query.advisor_id,
        query.supervisor_id,
    );
}

/// Where the counts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// The counters the triggers keep: the clients per alert key, their debts per due
    /// date and their payments to verify (`portfolio_keys`, `portfolio_debts`,
    /// `portfolio_payments`), and the outcomes and promises per
    /// hour (`indicator_hours`) when the period is a range of whole UTC hours (the raw
    /// rows otherwise).
    Counters,
    /// The clients, debts, outcomes and promises themselves: the from-scratch
    /// recomputation.
    Rows,
}

#[tracing::instrument(skip_all)]
pub async fn indicators(
    db: &Db,
    viewer: &Viewer,
    query: &IndicatorQuery,
    clock: Clock,
) -> Result<Indicators, AppError> {
    indicators_by(db, viewer, query, clock, Counting::Counters).await
}

/// The indicators, counted as `counting` says: both ways give the same figures, which
/// the tests hold them to.
pub async fn indicators_by(
    db: &Db,
    viewer: &Viewer,
    query: &IndicatorQuery,
    clock: Clock,
    counting: Counting,
) -> Result<Indicators, AppError> {
    let today = clock.today;
    let Period { from, to } = query
        .period(today)
        .map_err(|e| AppError::invalid("period", e))?;
    let scope = report_scope(viewer);
    let (from_at, to_at) = (
        clock.day_start(from),
        clock.day_start(to + Duration::days(1)),
    );

    let keys = match counting {
        Counting::Counters => {
            let mut sql = Sql::new(
                "SELECT c.alert_key, CAST(SUM(c.clients) AS BIGINT) FROM portfolio_keys c WHERE 1 = 1",
            );
            held(&mut sql, scope, query);
            sql.push(" GROUP BY c.alert_key HAVING SUM(c.clients) <> 0");
            sql
        }
        Counting::Rows => {
            let mut sql = Sql::new("SELECT c.alert_key, COUNT(*) FROM clients c WHERE 1 = 1");
            portfolio(&mut sql, scope, query);
            sql.push(" GROUP BY c.alert_key");
            sql
        }
    };
    let keys: Vec<(i64, i64)> = keys.rows(db).await?;
    let tally = tally_keys(&keys);

    let names: BTreeMap<i64, String> = Sql::new("SELECT id, name FROM users")
        .rows::<(i64, String)>(db)
        .await?
        .into_iter()
        .collect();
    let period = (from_at, to_at);
    let pairs = match (counting, hour_range(period)) {
        (Counting::Counters, Some(hours)) => counted(db, scope, query, hours).await?,
        _ => recounted(db, scope, query, period).await?,
    };
    let mut advisors = groups(&pairs, |(advisor, _)| advisor, &names, "Sin asesor");
    let teams = groups(
        &pairs,
        |(_, supervisor)| supervisor,
        &names,
        "Sin supervisor",
    );
    let mut total = Rates::default();
    for g in &advisors {
        total.add(&g.rates);
    }
    advisors.sort_by(|a, b| a.name.cmp(&b.name));

    Ok(Indicators {
        from: Some(from),
        to: Some(to),
        clients: tally.clients,
        contactability: tally.contactability,
        alerts: tally.alerts,
        total,
        advisors,
        teams,
        receivables: receivables(db, scope, query, today, counting).await?,
        blocked: blocked(db, scope, query, period, &names).await?,
    })
}

/// The contact attempts the policy blocked in the period, on the portfolio's clients.
async fn blocked(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    (from_at, to_at): Span,
    names: &BTreeMap<i64, String>,
) -> Result<Blocked, AppError> {
    let mut sql = Sql::new(
        "SELECT c.advisor_id, d.rules, COUNT(*) FROM contact_decisions d
         JOIN clients c ON c.id = d.client_id WHERE d.verdict = 'block' AND d.decided_at >= ",
    );
    sql.bind(Value::Time(from_at))
        .push(" AND d.decided_at < ")
        .bind(Value::Time(to_at));
    portfolio(&mut sql, scope, query);
    sql.push(" GROUP BY c.advisor_id, d.rules");
    let counts: Vec<(String, String, i64)> = sql
        .rows::<(Option<i64>, String, i64)>(db)
        .await?
        .into_iter()
        .map(|(advisor, rules, n)| {
            let name = advisor
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "Sin asesor".to_string());
            (name, rules, n)
        })
        .collect();
    Ok(Blocked::tally(&counts))
}

/// A period as `[from, to)` instants.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// Rates per (advisor, supervisor) of the clients; `None`: the clients without one.
type Pairs = BTreeMap<(Option<i64>, Option<i64>), Rates>;

/// The period as hours since the epoch, `[from, to)`, when it starts and ends on whole
/// hours (every organisation whose time zone is a whole number of hours from UTC).
fn hour_range((from_at, to_at): Span) -> Option<(i64, i64)> {
    let (from, to) = (from_at.timestamp(), to_at.timestamp());
    (from.rem_euclid(3600) == 0 && to.rem_euclid(3600) == 0)
        .then(|| (from.div_euclid(3600), to.div_euclid(3600)))
}

/// Five counts for one (advisor, supervisor) pair.
#[derive(sqlx::FromRow)]
struct Counted {
    advisor: Option<i64>,
    supervisor: Option<i64>,
    outcomes: i64,
    right_party: i64,
    promises: i64,
    kept: i64,
    broken: i64,
}

impl Counted {
    fn add_to(self, pairs: &mut Pairs) {
        let r = pairs.entry((self.advisor, self.supervisor)).or_default();
        r.outcomes += self.outcomes;
        r.right_party += self.right_party;
        r.promises += self.promises;
        r.kept += self.kept;
        r.broken += self.broken;
    }
}

/// The period's counts from the hourly counters: a few rows per holder and hour, however
/// long the history.
async fn counted(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    (from, to): (i64, i64),
) -> Result<Pairs, AppError> {
    let mut sql = Sql::new(
        "SELECT NULLIF(c.advisor_key, 0) AS advisor, NULLIF(c.supervisor_key, 0) AS supervisor,
            CAST(SUM(c.outcomes) AS BIGINT) AS outcomes, CAST(SUM(c.right_party) AS BIGINT) AS right_party,
            CAST(SUM(c.promises) AS BIGINT) AS promises, CAST(SUM(c.kept) AS BIGINT) AS kept,
            CAST(SUM(c.broken) AS BIGINT) AS broken
         FROM indicator_hours c WHERE c.hour >= ",
    );
    sql.bind(Value::Int(from))
        .push(" AND c.hour < ")
        .bind(Value::Int(to));
    held(&mut sql, scope, query);
    // A pair whose clients all moved away keeps rows of zeros; it has no rates to show.
    sql.push(
        " GROUP BY c.advisor_key, c.supervisor_key
         HAVING SUM(c.outcomes) <> 0 OR SUM(c.promises) <> 0 OR SUM(c.kept) <> 0 OR SUM(c.broken) <> 0",
    );
    let mut pairs = Pairs::new();
    for c in sql.rows::<Counted>(db).await? {
        c.add_to(&mut pairs);
    }
    Ok(pairs)
}

/// The period's counts from the outcome and promise rows.
async fn recounted(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    (from_at, to_at): Span,
) -> Result<Pairs, AppError> {
    let period = |sql: &mut Sql, at: &str| {
        sql.push(" AND ")
            .push(at)
            .push(" >= ")
            .bind(Value::Time(from_at))
            .push(" AND ")
            .push(at)
            .push(" < ")
            .bind(Value::Time(to_at));
    };
    let holders = "c.advisor_id AS advisor, c.supervisor_id AS supervisor";
    let mut outcomes = Sql::new(&format!(
        "SELECT {holders}, COUNT(*) AS outcomes,
            CAST(SUM(CASE WHEN o.contact_class = 'right_party' THEN 1 ELSE 0 END) AS BIGINT) AS right_party,
            CAST(0 AS BIGINT) AS promises, CAST(0 AS BIGINT) AS kept, CAST(0 AS BIGINT) AS broken
         FROM outcomes o JOIN clients c ON c.id = o.client_id WHERE 1 = 1"
    ));
    period(&mut outcomes, "o.occurred_at");
    let mut promised = Sql::new(&format!(
        "SELECT {holders}, CAST(0 AS BIGINT) AS outcomes, CAST(0 AS BIGINT) AS right_party,
            COUNT(*) AS promises, CAST(0 AS BIGINT) AS kept, CAST(0 AS BIGINT) AS broken
         FROM promises p JOIN clients c ON c.id = p.client_id WHERE 1 = 1"
    ));
    period(&mut promised, "p.created_at");
    let mut settled = Sql::new(&format!(
        "SELECT {holders}, CAST(0 AS BIGINT) AS outcomes, CAST(0 AS BIGINT) AS right_party,
            CAST(0 AS BIGINT) AS promises,
            CAST(SUM(CASE WHEN p.state = 'kept' THEN 1 ELSE 0 END) AS BIGINT) AS kept,
            CAST(SUM(CASE WHEN p.state = 'broken' THEN 1 ELSE 0 END) AS BIGINT) AS broken
         FROM promises p JOIN clients c ON c.id = p.client_id
         WHERE p.state IN ('kept', 'broken')"
    ));
    period(&mut settled, "p.resolved_at");
    let mut pairs = Pairs::new();
    for sql in [&mut outcomes, &mut promised, &mut settled] {
        portfolio(sql, scope, query);
        sql.push(" GROUP BY c.advisor_id, c.supervisor_id");
        for c in sql.rows::<Counted>(db).await? {
            c.add_to(&mut pairs);
        }
    }
    Ok(pairs)
}

/// The pairs' rates summed per advisor or per team, named.
fn groups(
    pairs: &Pairs,
    holder: impl Fn((Option<i64>, Option<i64>)) -> Option<i64>,
    names: &BTreeMap<i64, String>,
    nobody: &str,
) -> Vec<GroupRates> {
    let mut by: BTreeMap<Option<i64>, Rates> = BTreeMap::new();
    for (pair, rates) in pairs {
        by.entry(holder(*pair)).or_default().add(rates);
    }
    by.into_iter()
        .map(|(user_id, rates)| GroupRates {
            user_id,
            name: user_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| nobody.to_string()),
            rates,
        })
        .collect()
}

/// Overdue money per currency and its aging, as of today, and the payments to verify.
async fn receivables(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    today: NaiveDate,
    counting: Counting,
) -> Result<Vec<Receivables>, AppError> {
    // One row per currency and due date keeps the bucketing in the domain's hands and
    // the rows few: a portfolio has at most a few thousand distinct due dates. The
    // debts due in the DSO's window count whole (their amounts are its sales); older
    // ones only while unpaid.
    let recent = today - Duration::days(DSO_DAYS);
    let debts = match counting {
        Counting::Counters => {
            let mut sql = Sql::new(
                "SELECT c.currency, c.due_date, CAST(SUM(c.unpaid_cents) AS BIGINT),
                    CAST(SUM(c.amount_cents) AS BIGINT)
                 FROM portfolio_debts c WHERE 1 = 1",
            );
            held(&mut sql, scope, query);
            sql.push(" GROUP BY c.currency, c.due_date HAVING (c.due_date > ")
                .bind(Value::Date(recent))
                .push(" AND SUM(c.debts) > 0) OR (SUM(c.open) > 0 AND c.due_date < ")
                .bind(Value::Date(today))
                .push(")");
            sql
        }
        Counting::Rows => {
            let mut sql = Sql::new(
                "SELECT d.currency, d.due_date, CAST(SUM(d.amount_cents - d.paid_cents) AS BIGINT),
                    CAST(SUM(d.amount_cents) AS BIGINT)
                 FROM debts d JOIN clients c ON c.id = d.client_id WHERE (d.due_date > ",
            );
            sql.bind(Value::Date(recent))
                .push(" OR (d.amount_cents > d.paid_cents AND d.due_date < ")
                .bind(Value::Date(today))
                .push("))");
            portfolio(&mut sql, scope, query);
            sql.push(" GROUP BY d.currency, d.due_date");
            sql
        }
    };
    let mut by_currency: BTreeMap<String, Receivables> = BTreeMap::new();
    for (currency, due, unpaid, amount) in debts.rows::<(String, NaiveDate, i64, i64)>(db).await? {
        let r = by_currency
            .entry(currency.clone())
            .or_insert_with(|| Receivables {
                currency,
                ..Receivables::default()
            });
        let days = (today - due).num_days();
        if days < DSO_DAYS && due <= today {
            r.due_recently_cents += amount;
        }
        if let Some(b) = bucket_of(days) {
            r.overdue_cents += unpaid;
            r.buckets[b] += unpaid;
        }
    }
    let pending = match counting {
        Counting::Counters => {
            let mut sql = Sql::new(
                "SELECT c.currency, CAST(SUM(c.to_verify) AS BIGINT), CAST(SUM(c.to_verify_cents) AS BIGINT)
                 FROM portfolio_payments c WHERE 1 = 1",
            );
            held(&mut sql, scope, query);
            sql.push(" GROUP BY c.currency HAVING SUM(c.to_verify) <> 0");
            sql
        }
        Counting::Rows => {
            let mut sql = Sql::new(
                "SELECT p.currency, COUNT(*), CAST(SUM(p.amount_cents) AS BIGINT)
                 FROM payments p JOIN clients c ON c.id = p.client_id WHERE p.status = 'to_verify'",
            );
            portfolio(&mut sql, scope, query);
            sql.push(" GROUP BY p.currency");
            sql
        }
    };
    for (currency, n, cents) in pending.rows::<(String, i64, i64)>(db).await? {
        let r = by_currency
            .entry(currency.clone())
            .or_insert_with(|| Receivables {
                currency,
                ..Receivables::default()
            });
        r.to_verify = n;
        r.to_verify_cents = cents;
    }
    Ok(by_currency.into_values().collect())
}

/// A table of counters the triggers keep: what identifies a row, what it sums.
struct Counters {
    table: &'static str,
    keys: &'static [&'static str],
    sums: &'static [&'static str],
}

const COUNTERS: [Counters; 4] = [
    Counters {
        table: "indicator_hours",
        keys: &["hour", "advisor_key", "supervisor_key"],
        sums: &["outcomes", "right_party", "promises", "kept", "broken"],
    },
    Counters {
        table: "portfolio_keys",
        keys: &["advisor_key", "supervisor_key", "alert_key"],
        sums: &["clients"],
    },
    Counters {
        table: "portfolio_debts",
        keys: &["advisor_key", "supervisor_key", "currency", "due_date"],
        sums: &["debts", "open", "amount_cents", "unpaid_cents"],
    },
    Counters {
        table: "portfolio_payments",
        keys: &["advisor_key", "supervisor_key", "currency"],
        sums: &["to_verify", "to_verify_cents"],
    },
];

/// Appended rows folded at once above which the fold rewrites the table ([`compact`]).
const COMPACT_AFTER: i64 = 1_000;

/// Gives a counter table back its size after a large fold (a bulk import). The folded
/// rows stay behind as dead tuples until a vacuum, and a plain vacuum empties their
/// pages but keeps the file as long as the load made it (the merged rows were written
/// after the appended ones, at its end): every read of the counters still scanned the
/// empty pages, and 26 rows took 14 ms to read after 300,000 clients were loaded. The
/// rewrite locks the table against everything, for the milliseconds its few live rows
/// take to copy; so that it never waits behind a long transaction (an import still
/// running) while the readers queue behind it, it gives up after a second and the
/// plain vacuum does what it can.
async fn compact(p: &sqlx::PgPool, table: &str) -> Result<(), sqlx::Error> {
    let mut conn = p.acquire().await?;
    sqlx::query("SET lock_timeout = '1s'")
        .execute(&mut *conn)
        .await?;
    let full = sqlx::query(&format!("VACUUM (FULL, ANALYZE) {table}"))
        .execute(&mut *conn)
        .await;
    sqlx::query("RESET lock_timeout")
        .execute(&mut *conn)
        .await?;
    match full {
        Err(e)
            if e.as_database_error().and_then(|d| d.code()).as_deref()
                == Some(LOCK_NOT_AVAILABLE) =>
        {
            sqlx::query(&format!("VACUUM (ANALYZE) {table}"))
                .execute(&mut *conn)
                .await
                .map(drop)
        }
        other => other.map(drop),
    }
}

/// PostgreSQL's error for a lock not granted within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Folds the counter rows PostgreSQL's triggers appended into one merged row per key,
/// and drops rows that came to zero (say, all a holder's clients moved away). Safe from
/// several processes at once: an appended row is deleted, and so folded, once. SQLite's
/// triggers keep the rows merged already; there it only drops the zeros. Returns the
/// appended rows folded.
pub async fn fold(db: &Db) -> Result<u64, AppError> {
    let mut folded = 0;
    for Counters { table, keys, sums } in &COUNTERS {
        let keys = keys.join(", ");
        let zero = sums
            .iter()
            .map(|c| format!("{c} = 0"))
            .collect::<Vec<_>>()
            .join(" AND ");
        match db.pool() {
            Pool::Postgres(p) => {
                let summed = sums
                    .iter()
                    .map(|c| format!("SUM({c})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let added = sums
                    .iter()
                    .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let columns = sums.join(", ");
                let (gone,): (i64,) = sqlx::query_as(&format!(
                    "WITH gone AS (DELETE FROM {table} WHERE NOT merged RETURNING {keys}, {columns}),
                     merged AS (INSERT INTO {table} ({keys}, {columns}, merged)
                        SELECT {keys}, {summed}, TRUE FROM gone GROUP BY {keys}
                        ON CONFLICT ({keys}) WHERE merged DO UPDATE SET {added})
                     SELECT COUNT(*) FROM gone"
                ))
                .fetch_one(p)
                .await?;
                sqlx::query(&format!("DELETE FROM {table} WHERE merged AND {zero}"))
                    .execute(p)
                    .await?;
                if gone > COMPACT_AFTER {
                    compact(p, table).await?;
                }
                folded += gone as u64;
            }
            Pool::Sqlite(p) => {
                sqlx::query(&format!("DELETE FROM {table} WHERE {zero}"))
                    .execute(p)
                    .await?;
            }
        }
    }
    Ok(folded)
}
