//! Segments: saved rule trees, the live count while one is edited, and the clients a
//! segment holds, by SQL ([`sql`]) or, for checking it, from each client's facts.

pub mod sql;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::alerts::{AlertKey, ContactProblem};
use crate::domain::calls::PromiseState;
use crate::domain::client::ClientKind;
use crate::domain::compose::{pick_address, PointInfo};
use crate::domain::contact::ContactKind;
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::domain::segments::{
    Facts, Rule, Segment, SegmentInput, SegmentOptions, Tree, SEGMENT_CHANNELS,
};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::on_tx;
use crate::server::audit;
use crate::server::clock::Clock;
use crate::server::db::{saved_id, Db};

pub use sql::Sql;

/// A segment as stored: its rule as JSON text.
#[derive(sqlx::FromRow)]
struct SegmentRow {
    id: i64,
    name: String,
    rule: String,
    updated_at: DateTime<Utc>,
}

fn from_row(r: SegmentRow) -> Result<Segment, AppError> {
    let rule: Rule = serde_json::from_str(&r.rule)
        .map_err(|e| crate::server::db::corrupt("segment rule", e.to_string()))?;
    Ok(Segment {
        id: r.id,
        name: r.name,
        summary: rule.describe(),
        rule,
        updated_at: r.updated_at,
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(db: &Db) -> Result<Vec<Segment>, AppError> {
    let rows: Vec<SegmentRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, name, rule, updated_at FROM segments ORDER BY name").fetch_all(p).await)?;
    rows.into_iter().map(from_row).collect()
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, id: i64) -> Result<Segment, AppError> {
    let row: Option<SegmentRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, name, rule, updated_at FROM segments WHERE id = $1").bind(id).fetch_optional(p).await)?;
    from_row(row.ok_or(AppError::NotFound)?)
}

/// The segment's checked tree.
#[tracing::instrument(skip_all)]
pub async fn tree(db: &Db, id: i64) -> Result<Tree, AppError> {
    get(db, id).await?.rule.check().map_err(|_| {
        crate::server::db::corrupt("segment rule", format!("segment {id} no longer checks"))
    })
}

/// Creates (`id` None) or changes a segment; returns its id.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    viewer: &Viewer,
    id: Option<i64>,
    input: SegmentInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let (name, _) = input.check().map_err(AppError::Invalid)?;
    let rule = serde_json::to_string(&input.rule).map_err(AppError::internal)?;
    let mut tx = db.begin().await?;
    let saved: Result<Option<(i64,)>, sqlx::Error> = match id {
        None => on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO segments (name, rule, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $3, $4) RETURNING id")
            .bind(&name).bind(&rule).bind(now).bind(viewer.user_id).fetch_optional(&mut *c).await),
        Some(id) => on_tx!(&mut tx, c => sqlx::query_as(
            "UPDATE segments SET name = $1, rule = $2, updated_at = $3, updated_by = $4 WHERE id = $5 RETURNING id")
            .bind(&name).bind(&rule).bind(now).bind(viewer.user_id).bind(id).fetch_optional(&mut *c).await),
    };
    let id = saved_id(saved, || {
        AppError::invalid("name", "Ya existe un segmento con ese nombre.")
    })?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "segment.save",
        &format!("segment:{id}"),
        &format!("{name}: {}", input.rule.describe()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deletes a segment no flow or pending campaign uses.
#[tracing::instrument(skip_all)]
pub async fn delete(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin().await?;
    let users: Vec<(String,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT 'el flujo «' || name || '»' FROM flows WHERE segment_id = $1
         UNION ALL SELECT 'la campaña «' || name || '»' FROM campaigns WHERE segment_id = $1")
        .bind(id).fetch_all(&mut *c).await)?;
    if !users.is_empty() {
        let names: Vec<String> = users.into_iter().map(|(n,)| n).collect();
        return Err(AppError::invalid(
            "segment",
            format!(
                "El segmento se usa en {}: cámbialos antes de eliminarlo.",
                names.join(", ")
            ),
        ));
    }
    audit::delete_recorded(&mut tx, viewer.user_id, "segments", "segment", id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// How many clients the rule holds today: the builder's live count.
#[tracing::instrument(skip_all)]
pub async fn count(db: &Db, rule: &Rule, clock: &Clock) -> Result<i64, AppError> {
    let tree = rule.check().map_err(AppError::Invalid)?;
    let mut sql = Sql::new("SELECT COUNT(*) FROM clients c WHERE ");
    sql.tree(&tree, clock);
    sql.count(db).await
}

/// The ids of the clients the tree holds, by SQL.
#[tracing::instrument(skip_all)]
pub async fn members(db: &Db, tree: &Tree, clock: &Clock) -> Result<Vec<i64>, AppError> {
    let mut sql = Sql::new("SELECT c.id FROM clients c WHERE ");
    sql.tree(tree, clock);
    sql.push(" ORDER BY c.id");
    let rows: Vec<(i64,)> = sql.rows(db).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The lists the builder offers: the organisation's portfolios, products, countries
/// and users.
#[tracing::instrument(skip_all)]
pub async fn options(db: &Db) -> Result<SegmentOptions, AppError> {
    let strings = |q: &'static str| async move {
        let rows: Vec<(String,)> = on_db!(db, p => sqlx::query_as(q).fetch_all(p).await)?;
        Ok::<_, AppError>(rows.into_iter().map(|(s,)| s).collect::<Vec<_>>())
    };
    let users = |role: &'static str| async move {
        Ok::<_, AppError>(on_db!(db, p => sqlx::query_as(
            "SELECT id, name FROM users WHERE role = $1 AND active ORDER BY name")
            .bind(role).fetch_all(p).await)?)
    };
    Ok(SegmentOptions {
        portfolios: strings(
            "SELECT DISTINCT segment FROM clients WHERE segment <> '' ORDER BY segment",
        )
        .await?,
        products: strings(
            "SELECT DISTINCT product FROM debts WHERE product <> '' ORDER BY product",
        )
        .await?,
        countries: strings("SELECT DISTINCT country FROM clients ORDER BY country").await?,
        advisors: users("advisor").await?,
        supervisors: users("supervisor").await?,
    })
}

/// The columns of a client the rules read.
#[derive(sqlx::FromRow)]
struct FactsRow {
    id: i64,
    oldest_unpaid_due_date: Option<NaiveDate>,
    overdue_total_cents: i64,
    unpaid_orders: i64,
    segment: String,
    kind: ClientKind,
    country: String,
    advisor_id: Option<i64>,
    supervisor_id: Option<i64>,
    alert_key: i64,
    pending_count: i64,
    last_activity_at: Option<DateTime<Utc>>,
}

/// Every client's facts, as the in-memory evaluator reads them: what the SQL is
/// checked against. Reads the whole portfolio, so it is for tests and small sets.
#[tracing::instrument(skip_all)]
pub async fn all_facts(db: &Db, clock: Clock) -> Result<HashMap<i64, Facts>, AppError> {
    let rows: Vec<FactsRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, oldest_unpaid_due_date, overdue_total_cents, CAST(unpaid_orders AS BIGINT) AS unpaid_orders,
            segment, kind, country, advisor_id, supervisor_id, alert_key,
            CAST(pending_count AS BIGINT) AS pending_count, last_activity_at
         FROM clients").fetch_all(p).await)?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.id,
            Facts {
                oldest_unpaid_due_date: r.oldest_unpaid_due_date,
                overdue_cents: r.overdue_total_cents,
                unpaid_orders: r.unpaid_orders,
                portfolio: r.segment,
                kind: Some(r.kind),
                country: r.country,
                advisor_id: r.advisor_id,
                supervisor_id: r.supervisor_id,
                alert_key: AlertKey(r.alert_key),
                pending_count: r.pending_count,
                last_contact_day: r.last_activity_at.map(|t| clock.local_day(t)),
                ..Facts::default()
            },
        );
    }
    let products: Vec<(i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT client_id, product FROM debts WHERE paid_cents < amount_cents").fetch_all(p).await)?;
    for (client, product) in products {
        if let Some(f) = out.get_mut(&client) {
            f.products.push(product);
        }
    }
    let promises: Vec<(i64, PromiseState)> = on_db!(db, p => sqlx::query_as(
        "SELECT client_id, state FROM promises ORDER BY client_id, created_at, id").fetch_all(p).await)?;
    for (client, state) in promises {
        if let Some(f) = out.get_mut(&client) {
            f.promise = Some(state);
        }
    }
    let points: Vec<(i64, ContactKind, String, Option<ContactProblem>)> = on_db!(db, p => sqlx::query_as(
        "SELECT cp.client_id, cp.kind, cp.value, cp.failed_problem FROM contact_points cp
         JOIN parties pa ON pa.id = cp.party_id WHERE pa.role = 'client'").fetch_all(p).await)?;
    // Opt-outs are few (one per debtor who asked): read whole, matched by address.
    let refusals: Vec<(String, Channel)> = on_db!(db, p => sqlx::query_as(
        "SELECT address, channel FROM contact_opt_outs").fetch_all(p).await)?;
    let mut refused: HashMap<String, Vec<(Channel, String)>> = HashMap::new();
    for (address, channel) in refusals {
        refused
            .entry(address)
            .or_default()
            .push((channel, String::new()));
    }
    let mut by_client: HashMap<i64, Vec<PointInfo>> = HashMap::new();
    for (client, kind, value, problem) in points {
        by_client.entry(client).or_default().push(PointInfo {
            refused: refused.get(&value).cloned().unwrap_or_default(),
            kind,
            value,
            problem,
        });
    }
    for (client, points) in by_client {
        if let Some(f) = out.get_mut(&client) {
            f.channels = SEGMENT_CHANNELS
                .iter()
                .copied()
                .filter(|c| pick_address(*c, &points, "").is_ok())
                .collect();
        }
    }
    Ok(out)
}
