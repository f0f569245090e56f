//! Alerts: every piece of evidence is stored, the client's flags are its evidence
//! replayed through `domain::alerts`, and what each piece raised and lifted is kept.
//! The client row and its contact points carry the result for the lists, written in
//! the transaction that brought the evidence.

use chrono::{DateTime, Utc};

use crate::domain::alerts::{
    cause_label, contactability, AlertHistoryEntry, AlertKey, AlertKind, Alerts, Change,
    ContactProblem, Evidence, Flag, LiftInput,
};
use crate::domain::contact::ContactKind;
use crate::domain::error::AppError;
use crate::domain::message::normalize_address;
use crate::domain::user::Viewer;
use crate::server::access;
use crate::server::audit;
use crate::server::clock::Clock;
use crate::server::db::{Db, Tx};
use crate::{on_db, on_tx};

/// Who or what brought a piece of evidence.
#[derive(Clone, Copy, Debug, Default)]
pub struct Source<'a> {
    pub user_id: Option<i64>,
    pub outcome_id: Option<i64>,
    pub message_id: Option<i64>,
    pub reason: &'a str,
}

/// One stored piece of evidence.
#[derive(sqlx::FromRow)]
struct EvidenceRow {
    event: String,
    contact_point_id: Option<i64>,
    address: String,
    kind: Option<AlertKind>,
}

/// The client's flags: its evidence, oldest first, replayed.
async fn current(tx: &mut Tx, client_id: i64) -> Result<Alerts, sqlx::Error> {
    let rows: Vec<EvidenceRow> = on_tx!(tx, c => sqlx::query_as(
        "SELECT event, contact_point_id, address, kind FROM alert_events WHERE client_id = $1 ORDER BY id")
        .bind(client_id).fetch_all(&mut *c).await)?;
    Ok(Alerts::replay(rows.into_iter().filter_map(|r| {
        Evidence::from_stored(&r.event, r.contact_point_id, &r.address, r.kind)
    })))
}

/// Stores a piece of evidence about a client, with what it raised and lifted, and
/// rewrites the client's alert summary. Returns the changes.
pub async fn record(
    tx: &mut Tx,
    client_id: i64,
    evidence: Evidence,
    source: Source<'_>,
    at: DateTime<Utc>,
) -> Result<Vec<Change>, sqlx::Error> {
    // Takes the client's row lock first: two pieces of evidence for one client replay
    // one after the other (SQLite's writer lock already orders them).
    on_tx!(tx, c => sqlx::query("UPDATE clients SET alert_key = alert_key WHERE id = $1")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let mut alerts = current(tx, client_id).await?;
    let changes = alerts.apply(evidence);
    let (event, point, kind) = evidence.stored();
    let address = match point {
        Some(id) => address_of(tx, id).await?,
        None => String::new(),
    };
    let (event_id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO alert_events (client_id, event, contact_point_id, address, kind, reason, outcome_id,
            message_id, user_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
        .bind(client_id).bind(event).bind(point).bind(&address).bind(kind.map(AlertKind::as_str))
        .bind(source.reason).bind(source.outcome_id).bind(source.message_id).bind(source.user_id).bind(at)
        .fetch_one(&mut *c).await)?;
    for change in &changes {
        let (raised, flag) = match change {
            Change::Raised(f) => (true, f),
            Change::Lifted(f) => (false, f),
        };
        let flag_address = match flag.contact_point {
            Some(id) if Some(id) == point => address.clone(),
            Some(id) => address_of(tx, id).await?,
            None => String::new(),
        };
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO alert_changes (event_id, client_id, raised, kind, problem, contact_point_id, address)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(event_id).bind(client_id).bind(raised).bind(flag.kind.as_str())
            .bind(flag.problem.map(ContactProblem::as_str)).bind(flag.contact_point).bind(&flag_address)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    write_summary(tx, client_id, &alerts, at).await?;
    Ok(changes)
}

async fn address_of(tx: &mut Tx, point: i64) -> Result<String, sqlx::Error> {
    let found: Option<(String,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT value FROM contact_points WHERE id = $1").bind(point).fetch_optional(&mut *c).await)?;
    Ok(found.map(|(v,)| v).unwrap_or_default())
}

/// Rewrites the client's alert summary from its evidence: after its contact points
/// change, or once it is first reached.
pub async fn refresh(tx: &mut Tx, client_id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let alerts = current(tx, client_id).await?;
    write_summary(tx, client_id, &alerts, at).await
}

/// The flagged problem of each contact point, the alert key and the problems of the
/// client row.
async fn write_summary(
    tx: &mut Tx,
    client_id: i64,
    alerts: &Alerts,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let points: Vec<(i64, Option<String>)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, failed_problem FROM contact_points WHERE client_id = $1")
        .bind(client_id).fetch_all(&mut *c).await)?;
    let problem_of = |id: i64| {
        alerts
            .flags()
            .iter()
            .find(|f| f.contact_point == Some(id))
            .and_then(|f| f.problem)
    };
    let mut failed = 0;
    for (id, stored) in &points {
        let wanted = problem_of(*id);
        failed += usize::from(wanted.is_some());
        if stored.as_deref() != wanted.map(ContactProblem::as_str) {
            on_tx!(tx, c => sqlx::query(
                "UPDATE contact_points SET failed_problem = $2,
                    failed_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END WHERE id = $1")
                .bind(id).bind(wanted.map(ContactProblem::as_str)).bind(at)
                .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    let (reached,): (bool,) = on_tx!(tx, c => sqlx::query_as(
        "SELECT reached_at IS NOT NULL FROM clients WHERE id = $1")
        .bind(client_id).fetch_one(&mut *c).await)?;
    let key = AlertKey::new(alerts.bits(), contactability(points.len(), failed, reached));
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET alert_key = $2, contact_problems = $3 WHERE id = $1")
        .bind(client_id).bind(key.0).bind(alerts.problem_bits())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The client was reached (a contact outcome, a message received or delivered): it is
/// no longer "Nuevo". Only the first time rewrites anything.
pub async fn reached(tx: &mut Tx, client_id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let first = on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET reached_at = $2 WHERE id = $1 AND reached_at IS NULL")
        .bind(client_id).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if first > 0 {
        refresh(tx, client_id, at).await?;
    }
    Ok(())
}

/// Contact points about to be deleted because the user replaced them: a flagged one
/// is recorded as replaced, which lifts its flag with a trace of why.
pub async fn replacing(
    tx: &mut Tx,
    client_id: i64,
    points: &[i64],
    user_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for point in points {
        let flagged: Option<(i64,)> = on_tx!(tx, c => sqlx::query_as(
            "SELECT id FROM contact_points WHERE id = $1 AND failed_problem IS NOT NULL")
            .bind(point).fetch_optional(&mut *c).await)?;
        if flagged.is_some() {
            let source = Source {
                user_id,
                ..Source::default()
            };
            record(
                tx,
                client_id,
                Evidence::ContactReplaced { point: *point },
                source,
                at,
            )
            .await?;
        }
    }
    Ok(())
}

/// A channel could not reach an address: WhatsApp "contact not found" or undeliverable,
/// an e-mail bounce, an invalid number. Every contact point with that address is
/// flagged, in each client that has it. Returns those clients.
#[tracing::instrument(skip_all)]
pub async fn contact_failed(
    db: &Db,
    kind: ContactKind,
    address: &str,
    problem: ContactProblem,
    message_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let mut tx = db.begin().await?;
    let clients = contact_failed_in(&mut tx, kind, address, problem, message_id, at).await?;
    tx.commit().await?;
    Ok(clients)
}

/// [`contact_failed`] inside the caller's transaction, so that a failure's status and
/// its flag are stored together. The flagged clients' screens are told at its commit.
pub async fn contact_failed_in(
    tx: &mut Tx,
    kind: ContactKind,
    address: &str,
    problem: ContactProblem,
    message_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let address = normalize_address(kind, address).map_err(|e| AppError::invalid("address", e))?;
    let kinds = match kind {
        ContactKind::Email => ["email", "email"],
        ContactKind::Phone | ContactKind::WhatsApp => ["phone", "whatsapp"],
    };
    let points: Vec<(i64, i64)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, client_id FROM contact_points WHERE kind IN ($1, $2) AND value = $3 ORDER BY id")
        .bind(kinds[0]).bind(kinds[1]).bind(&address).fetch_all(&mut *c).await)?;
    let mut clients = Vec::new();
    for (point, client_id) in points {
        let source = Source {
            message_id,
            ..Source::default()
        };
        let evidence = Evidence::ContactFailed { point, problem };
        record(tx, client_id, evidence, source, at).await?;
        if !clients.contains(&client_id) {
            clients.push(client_id);
            tx.announce(client_id);
        }
    }
    Ok(clients)
}

/// An outbound message was delivered: the client was reached, and a flagged point with
/// its address works after all.
pub async fn delivered(tx: &mut Tx, message_id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let found: Option<(Option<i64>, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT client_id, address FROM messages WHERE id = $1")
        .bind(message_id).fetch_optional(&mut *c).await)?;
    let Some((Some(client_id), address)) = found else {
        return Ok(());
    };
    let flagged: Vec<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id FROM contact_points WHERE client_id = $1 AND value = $2 AND failed_problem IS NOT NULL")
        .bind(client_id).bind(&address).fetch_all(&mut *c).await)?;
    for (point,) in flagged {
        let source = Source {
            message_id: Some(message_id),
            ..Source::default()
        };
        record(tx, client_id, Evidence::Delivered { point }, source, at).await?;
    }
    reached(tx, client_id, at).await
}

/// A user lifts a flag by hand, with a reason. A client the viewer cannot see is
/// `NotFound`; a flag no longer raised is a conflict.
#[tracing::instrument(skip_all)]
pub async fn lift(
    db: &Db,
    viewer: &Viewer,
    input: &LiftInput,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let reason = input.reason()?;
    access::ensure_visible(db, viewer, input.client_id, now).await?;
    let point = match input.kind {
        AlertKind::Contactability => input.contact_point_id,
        _ => None,
    };
    if let Some(point) = point {
        let owned: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM contact_points WHERE id = $1 AND client_id = $2")
            .bind(point).bind(input.client_id).fetch_optional(p).await)?;
        if owned.is_none() {
            return Err(AppError::invalid(
                "contact_point_id",
                "Ese teléfono o correo no es de este cliente.",
            ));
        }
    }
    let mut tx = db.begin().await?;
    let evidence = Evidence::ManualLift {
        kind: input.kind,
        point,
    };
    let source = Source {
        user_id: Some(viewer.user_id),
        reason,
        ..Source::default()
    };
    let changes = record(&mut tx, input.client_id, evidence, source, now).await?;
    if changes.is_empty() {
        return Err(AppError::Conflict("Esa alerta ya no está activa.".into()));
    }
    let lifted: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Lifted(f) => Some(Flag::hover(f)),
            Change::Raised(_) => None,
        })
        .collect();
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "alert.lift",
        &format!("client:{}", input.client_id),
        &format!("{} — {reason}", lifted.join("; ")),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A flag raised or lifted, with the evidence behind it.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    raised: bool,
    kind: AlertKind,
    problem: Option<ContactProblem>,
    address: String,
    event: String,
    reason: String,
    at: DateTime<Utc>,
    user_name: Option<String>,
}

/// The client's alert history, newest first: what was raised and lifted, by what, by
/// whom and when.
#[tracing::instrument(skip_all)]
pub async fn history(
    db: &Db,
    client_id: i64,
    clock: Clock,
) -> Result<Vec<AlertHistoryEntry>, AppError> {
    let rows: Vec<HistoryRow> = on_db!(db, p => sqlx::query_as(
        "SELECT ch.raised, ch.kind, ch.problem, ch.address, e.event, e.reason, e.at, u.name AS user_name
         FROM alert_changes ch JOIN alert_events e ON e.id = ch.event_id
         LEFT JOIN users u ON u.id = e.user_id
         WHERE ch.client_id = $1 ORDER BY ch.id DESC LIMIT 100")
        .bind(client_id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let flag = Flag {
                kind: r.kind,
                contact_point: None,
                problem: r.problem,
            };
            let mut text = flag.hover();
            if !r.address.is_empty() {
                text = format!("{text} ({})", r.address);
            }
            AlertHistoryEntry {
                raised: r.raised,
                flag: text,
                cause: cause_label(&r.event),
                by: r.user_name,
                reason: r.reason,
                at: clock.local(r.at),
            }
        })
        .collect())
}
