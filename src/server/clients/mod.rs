//! Clients: scoped reads, writes that keep the summary columns and search terms in step,
//! assignment, and the daily roll-forward of summaries whose next due date has passed.

pub mod export;
mod list;
mod store;

pub use list::{list, list_planned};
pub(crate) use list::{page, Filters, Spec, CANDIDATE_LIMIT};
pub use store::{insert_new, replace_existing, NewClient, Rewrite};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;

use crate::domain::alerts::AlertKey;
use crate::domain::client::{ClientDetail, ClientKind, ContactPoint, Party, ValidClient};
use crate::domain::debt::{days_overdue, Debt, DebtLine, DebtSummary};
use crate::domain::error::AppError;
use crate::domain::user::{Scope, Viewer};
use crate::server::access::{not_found, push_scope};
use crate::server::clock::Clock;
use crate::server::db::{is_unique_violation, Db, Tx};
use crate::server::{audit, users};
use crate::{on_db, on_tx};
use store::MAX_BINDS;

/// Most clients one bulk reassignment may touch.
pub const MAX_ASSIGN: usize = 5_000;

#[derive(sqlx::FromRow)]
struct ClientHead {
    id: i64,
    kind: ClientKind,
    document_number: String,
    first_name: String,
    last_name: String,
    business_name: String,
    display_name: String,
    advisor_id: Option<i64>,
    advisor_name: Option<String>,
    supervisor_name: Option<String>,
    segment: String,
    country: String,
    time_zone: String,
    currency: String,
    overdue_total_cents: i64,
    balance_cents: i64,
    unpaid_orders: i64,
    oldest_unpaid_due_date: Option<NaiveDate>,
    next_due_date: Option<NaiveDate>,
    alert_key: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A contact point and the party that has it.
#[derive(sqlx::FromRow)]
struct ContactRow {
    party_id: i64,
    #[sqlx(flatten)]
    point: ContactPoint,
    withheld: String,
}

pub(crate) async fn load_detail(
    db: &Db,
    scope: Scope,
    id: i64,
    today: NaiveDate,
) -> Result<Option<ClientDetail>, AppError> {
    let head: Option<ClientHead> = on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT c.id, c.kind, c.document_number, c.first_name, c.last_name, c.business_name, c.display_name,
                    c.advisor_id, a.name AS advisor_name, s.name AS supervisor_name, c.segment, c.country,
                    c.time_zone, c.currency, c.overdue_total_cents, c.balance_cents, c.unpaid_orders,
                    c.oldest_unpaid_due_date, c.next_due_date, c.alert_key, c.created_at, c.updated_at
             FROM clients c
             LEFT JOIN users a ON a.id = c.advisor_id
             LEFT JOIN users s ON s.id = c.supervisor_id
             WHERE c.id = ");
        qb.push_bind(id);
        push_scope(&mut qb, scope);
        qb.build_query_as::<ClientHead>().fetch_optional(p).await
    })?;
    let Some(h) = head else { return Ok(None) };
    let mut parties: Vec<Party> = on_db!(db, p => sqlx::query_as(
        "SELECT id, role, ordinal, name, relationship FROM parties WHERE client_id = $1
         ORDER BY CASE role WHEN 'client' THEN 0 WHEN 'reference' THEN 1 ELSE 2 END, ordinal")
        .bind(id).fetch_all(p).await)?;
    let contact_rows: Vec<ContactRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, party_id, kind, value, failed_problem AS problem, withheld FROM contact_points
         WHERE client_id = $1 ORDER BY id")
        .bind(id).fetch_all(p).await)?;
    let debts: Vec<Debt> = on_db!(db, p => sqlx::query_as(
        "SELECT id, number, product, issue_date, due_date, amount_cents, paid_cents, currency
         FROM debts WHERE client_id = $1 ORDER BY due_date, number")
        .bind(id).fetch_all(p).await)?;

    for mut c in contact_rows {
        if let Some(party) = parties.iter_mut().find(|p| p.id == c.party_id) {
            c.point.withheld = crate::domain::contact::parse_withheld(&c.withheld);
            party.contacts.push(c.point);
        }
    }
    let summary = DebtSummary {
        overdue_total_cents: h.overdue_total_cents,
        balance_cents: h.balance_cents,
        unpaid_orders: h.unpaid_orders,
        oldest_unpaid_due_date: h.oldest_unpaid_due_date,
        next_due_date: h.next_due_date,
    };
    Ok(Some(ClientDetail {
        id: h.id,
        kind: h.kind,
        document_number: h.document_number,
        first_name: h.first_name,
        last_name: h.last_name,
        business_name: h.business_name,
        display_name: h.display_name,
        advisor_id: h.advisor_id,
        advisor_name: h.advisor_name,
        supervisor_name: h.supervisor_name,
        segment: h.segment,
        country: h.country,
        time_zone: h.time_zone,
        currency: h.currency,
        days_overdue: days_overdue(summary.oldest_unpaid_due_date, today),
        summary,
        parties,
        debts,
        alerts: AlertKey(h.alert_key),
        created_at: h.created_at,
        updated_at: h.updated_at,
    }))
}

/// A client the viewer may read. Anything else is `NotFound`, whether it exists or not;
/// an existing one out of scope is audited as a denied access.
#[tracing::instrument(skip_all)]
pub async fn get(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    clock: Clock,
) -> Result<ClientDetail, AppError> {
    match load_detail(db, viewer.read_scope(), id, clock.today).await? {
        Some(detail) => Ok(detail),
        None => Err(not_found(db, viewer, id, clock.now).await),
    }
}

/// Who a client ends up assigned to, checked against the viewer's rights.
/// `current` is `None` when creating.
async fn resolve_assignment(
    tx: &mut Tx,
    viewer: &Viewer,
    current: Option<Option<i64>>,
    requested: Option<i64>,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let requested = match (current, requested) {
        // Advisors and supervisors create into their own portfolio unless they choose.
        (None, None) if !viewer.is_admin() => Some(viewer.user_id),
        (_, r) => r,
    };
    let changed = current != Some(requested);
    match requested {
        None if changed && !viewer.is_admin() => Err(AppError::invalid(
            "advisor_id",
            "Solo un administrador puede dejar un cliente sin asesor.",
        )),
        None => Ok((None, None)),
        Some(target_id) => {
            let target = users::assignee(tx, target_id).await?;
            match target {
                Some(t) if !changed || viewer.may_assign_to(&t) => {
                    Ok((Some(t.id), t.team_supervisor()))
                }
                Some(_) => Err(AppError::invalid(
                    "advisor_id",
                    "No puedes asignar clientes a ese usuario.",
                )),
                None => Err(AppError::invalid(
                    "advisor_id",
                    "Elige un asesor de la lista.",
                )),
            }
        }
    }
}

fn document_taken() -> AppError {
    AppError::invalid("document_number", "Ya existe un cliente con ese documento.")
}

#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    viewer: &Viewer,
    v: ValidClient,
    clock: Clock,
) -> Result<i64, AppError> {
    let now = clock.now;
    let mut tx = db.begin().await?;
    let (advisor_id, supervisor_id) =
        resolve_assignment(&mut tx, viewer, None, v.advisor_id).await?;
    let item = NewClient {
        client: &v,
        advisor_id,
        supervisor_id,
    };
    let id = match insert_new(&mut tx, std::slice::from_ref(&item), clock).await {
        Ok(ids) => ids[0],
        Err(e) if is_unique_violation(&e) => return Err(document_taken()),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "client.create",
        &format!("client:{id}"),
        &v.document_number,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn update(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    v: ValidClient,
    clock: Clock,
) -> Result<(), AppError> {
    let now = clock.now;
    let mut tx = db.begin().await?;
    // Read in the write transaction: the assignment checked is the one replaced.
    let current: Option<(Option<i64>,)> = on_tx!(&mut tx, c => {
        let mut qb = QueryBuilder::new("SELECT c.advisor_id FROM clients c WHERE c.id = ");
        qb.push_bind(id);
        push_scope(&mut qb, viewer.read_scope());
        qb.build_query_as().fetch_optional(&mut *c).await
    })?;
    let Some((current_advisor,)) = current else {
        drop(tx);
        return Err(not_found(db, viewer, id, now).await);
    };
    let (advisor_id, supervisor_id) =
        resolve_assignment(&mut tx, viewer, Some(current_advisor), v.advisor_id).await?;
    let rewrite = Rewrite {
        advisor_id,
        supervisor_id,
        by: Some(viewer.user_id),
    };
    match replace_existing(&mut tx, id, &v, rewrite, clock).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => return Err(document_taken()),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "client.update",
        &format!("client:{id}"),
        &v.document_number,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Assigns clients to `advisor_id` (or unassigns, for admins): all of them or none.
#[tracing::instrument(skip_all)]
pub async fn assign(
    db: &Db,
    viewer: &Viewer,
    ids: &[i64],
    advisor_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    if !viewer.may_reassign() {
        return Err(AppError::Forbidden);
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::invalid("ids", "Selecciona al menos un cliente."));
    }
    if ids.len() > MAX_ASSIGN {
        return Err(AppError::invalid(
            "ids",
            format!("Se pueden reasignar hasta {MAX_ASSIGN} clientes a la vez."),
        ));
    }
    let mut tx = db.begin().await?;
    let (advisor_id, supervisor_id) = match advisor_id {
        None if viewer.is_admin() => (None, None),
        None => {
            return Err(AppError::invalid(
                "advisor_id",
                "Solo un administrador puede dejar clientes sin asesor.",
            ))
        }
        Some(target) => match users::assignee(&mut tx, target).await? {
            Some(t) if viewer.may_assign_to(&t) => (Some(t.id), t.team_supervisor()),
            Some(_) => {
                return Err(AppError::invalid(
                    "advisor_id",
                    "No puedes asignar clientes a ese usuario.",
                ))
            }
            None => {
                return Err(AppError::invalid(
                    "advisor_id",
                    "Elige un asesor de la lista.",
                ))
            }
        },
    };
    let scope = viewer.read_scope();
    let mut changed = 0;
    for chunk in ids.chunks(MAX_BINDS / 2) {
        changed += on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new("UPDATE clients AS c SET advisor_id = ");
            qb.push_bind(advisor_id).push(", supervisor_id = ").push_bind(supervisor_id)
                .push(", updated_at = ").push_bind(now).push(" WHERE c.id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            push_scope(&mut qb, scope);
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?
        })
    }
    if changed != ids.len() as u64 {
        // Some id is unknown or out of scope: nothing is reassigned.
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "client.assign",
        &format!("{} clientes", ids.len()),
        &format!("asesor {advisor_id:?}"),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// Recomputes the summary of clients whose next due date has passed, so that debts that
/// fell due overnight count as overdue. Touches only those clients (found by index).
#[tracing::instrument(skip_all)]
pub async fn roll_forward(db: &Db, today: NaiveDate) -> Result<u64, AppError> {
    const BATCH: i64 = 500;
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        let ids: Vec<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM clients WHERE next_due_date IS NOT NULL AND next_due_date < $1 LIMIT $2")
            .bind(today).bind(BATCH).fetch_all(&mut *c).await)?;
        if ids.is_empty() {
            break;
        }
        let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
        recompute_summaries(&mut tx, &ids, today).await?;
        tx.commit().await?;
        total += ids.len() as u64;
    }
    Ok(total)
}

/// Rewrites the debt summary of these clients from their debts, in the caller's
/// transaction: after the calendar moves past a due date, or a payment is applied.
pub async fn recompute_summaries(
    tx: &mut Tx,
    ids: &[i64],
    today: NaiveDate,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let lines: Vec<(i64, NaiveDate, i64, i64)> = on_tx!(tx, c => {
        let mut qb = QueryBuilder::new("SELECT client_id, due_date, amount_cents, paid_cents FROM debts WHERE client_id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build_query_as::<(i64, NaiveDate, i64, i64)>().fetch_all(&mut *c).await
    })?;
    for id in ids {
        let s = DebtSummary::compute(
            lines.iter().filter(|l| l.0 == *id).map(|l| DebtLine {
                due_date: l.1,
                amount_cents: l.2,
                paid_cents: l.3,
            }),
            today,
        );
        on_tx!(tx, c => sqlx::query(
            "UPDATE clients SET overdue_total_cents = $2, balance_cents = $3, unpaid_orders = $4,
                 oldest_unpaid_due_date = $5, next_due_date = $6 WHERE id = $1")
            .bind(id).bind(s.overdue_total_cents).bind(s.balance_cents).bind(s.unpaid_orders)
            .bind(s.oldest_unpaid_due_date).bind(s.next_due_date).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}
