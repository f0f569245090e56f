//! Counts behind Indicadores de gestión, over the viewer's own portfolio, optionally
//! narrowed to one advisor or one supervisor's team. Contactability and alerts come from
//! the clients' summary key; the rates from the period's outcomes and promises; money
//! from the unpaid debts and the payments waiting for review.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use crate::domain::error::AppError;
use crate::domain::indicators::{
    bucket_of, tally_keys, Blocked, GroupRates, IndicatorQuery, Indicators, Rates, Receivables,
    DSO_DAYS,
};
use crate::domain::report_params::Period;
use crate::domain::user::{Scope, Viewer};
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::interactions::{self, report_scope};
use crate::server::segments::sql::{Sql, Value};

/// `AND …` for the viewer's scope and the chosen advisor or team, on `clients c`.
fn portfolio(sql: &mut Sql, scope: Scope, query: &IndicatorQuery) {
    interactions::portfolio(sql, scope, query.advisor_id, query.supervisor_id);
}

/// Who a group of rates belongs to.
#[derive(Clone, Copy)]
enum By {
    Advisor,
    Team,
}

impl By {
    fn column(self) -> &'static str {
        match self {
            By::Advisor => "c.advisor_id",
            By::Team => "c.supervisor_id",
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn indicators(
    db: &Db,
    viewer: &Viewer,
    query: &IndicatorQuery,
    clock: Clock,
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

    let mut keys = Sql::new("SELECT c.alert_key, COUNT(*) FROM clients c WHERE 1 = 1");
    portfolio(&mut keys, scope, query);
    keys.push(" GROUP BY c.alert_key");
    let keys: Vec<(i64, i64)> = keys.rows(db).await?;
    let tally = tally_keys(&keys);

    let names: BTreeMap<i64, String> = Sql::new("SELECT id, name FROM users")
        .rows::<(i64, String)>(db)
        .await?
        .into_iter()
        .collect();
    let period = (from_at, to_at);
    let mut advisors = group_rates(db, scope, query, By::Advisor, period, &names).await?;
    let teams = group_rates(db, scope, query, By::Team, period, &names).await?;
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
        receivables: receivables(db, scope, query, today).await?,
        blocked: blocked(db, scope, query, period, &names).await?,
    })
}

/// The contact attempts the policy blocked in the period, on the portfolio's clients.
async fn blocked(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    (from_at, to_at): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
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

/// Two counts for one advisor or team (`None`: the clients without one).
#[derive(sqlx::FromRow)]
struct Counted {
    holder: Option<i64>,
    first: i64,
    second: i64,
}

/// The rates of each advisor's (or team's) portfolio over the period.
async fn group_rates(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    by: By,
    (from_at, to_at): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    names: &BTreeMap<i64, String>,
) -> Result<Vec<GroupRates>, AppError> {
    let col = by.column();
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
    let mut outcomes = Sql::new(&format!(
        "SELECT {col} AS holder, COUNT(*) AS first,
            CAST(SUM(CASE WHEN o.contact_class = 'right_party' THEN 1 ELSE 0 END) AS BIGINT) AS second
         FROM outcomes o JOIN clients c ON c.id = o.client_id WHERE 1 = 1"
    ));
    period(&mut outcomes, "o.occurred_at");
    portfolio(&mut outcomes, scope, query);
    outcomes.push(&format!(" GROUP BY {col}"));
    let mut promised = Sql::new(&format!(
        "SELECT {col} AS holder, COUNT(*) AS first, CAST(0 AS BIGINT) AS second
         FROM promises p JOIN clients c ON c.id = p.client_id WHERE 1 = 1"
    ));
    period(&mut promised, "p.created_at");
    portfolio(&mut promised, scope, query);
    promised.push(&format!(" GROUP BY {col}"));
    let mut settled = Sql::new(&format!(
        "SELECT {col} AS holder, CAST(SUM(CASE WHEN p.state = 'kept' THEN 1 ELSE 0 END) AS BIGINT) AS first,
            CAST(SUM(CASE WHEN p.state = 'broken' THEN 1 ELSE 0 END) AS BIGINT) AS second
         FROM promises p JOIN clients c ON c.id = p.client_id
         WHERE p.state IN ('kept', 'broken')"
    ));
    period(&mut settled, "p.resolved_at");
    portfolio(&mut settled, scope, query);
    settled.push(&format!(" GROUP BY {col}"));

    let mut groups: BTreeMap<Option<i64>, Rates> = BTreeMap::new();
    for c in outcomes.rows::<Counted>(db).await? {
        let r = groups.entry(c.holder).or_default();
        r.outcomes = c.first;
        r.right_party = c.second;
    }
    for c in promised.rows::<Counted>(db).await? {
        groups.entry(c.holder).or_default().promises = c.first;
    }
    for c in settled.rows::<Counted>(db).await? {
        let r = groups.entry(c.holder).or_default();
        r.kept = c.first;
        r.broken = c.second;
    }
    Ok(groups
        .into_iter()
        .map(|(user_id, rates)| GroupRates {
            user_id,
            name: user_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| match by {
                    By::Advisor => "Sin asesor".to_string(),
                    By::Team => "Sin supervisor".to_string(),
                }),
            rates,
        })
        .collect())
}

/// Overdue money per currency and its aging, as of today, and the payments to verify.
async fn receivables(
    db: &Db,
    scope: Scope,
    query: &IndicatorQuery,
    today: NaiveDate,
) -> Result<Vec<Receivables>, AppError> {
    // One row per currency and due date keeps the bucketing in the domain's hands and
    // the rows few: a portfolio has at most a few thousand distinct due dates.
    let mut debts = Sql::new(
        "SELECT d.currency, d.due_date, CAST(SUM(d.amount_cents - d.paid_cents) AS BIGINT),
            CAST(SUM(d.amount_cents) AS BIGINT)
         FROM debts d JOIN clients c ON c.id = d.client_id WHERE (d.due_date > ",
    );
    debts
        .bind(Value::Date(today - Duration::days(DSO_DAYS)))
        .push(" OR (d.amount_cents > d.paid_cents AND d.due_date < ")
        .bind(Value::Date(today))
        .push("))");
    portfolio(&mut debts, scope, query);
    debts.push(" GROUP BY d.currency, d.due_date");
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
    let mut pending = Sql::new(
        "SELECT p.currency, COUNT(*), CAST(SUM(p.amount_cents) AS BIGINT)
         FROM payments p JOIN clients c ON c.id = p.client_id WHERE p.status = 'to_verify'",
    );
    portfolio(&mut pending, scope, query);
    pending.push(" GROUP BY p.currency");
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
