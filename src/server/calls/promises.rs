//! Promises to pay: kept when approved payments cover them, broken by a scheduled job
//! once their deadline passes, which puts the client back at the top of the tray.

use chrono::NaiveDate;

use super::{refresh, refresh_flow};
use crate::domain::calls::{PaymentFact, PromisePolicy, Verdict};
use crate::domain::error::AppError;
use crate::on_tx;
use crate::server::clock::Clock;
use crate::server::db::{Db, Engine, Tx};

/// What one run of the job changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    pub kept: u64,
    pub broken: u64,
}

/// A pending promise, as the verdict needs it.
#[derive(sqlx::FromRow)]
struct Pending {
    id: i64,
    client_id: i64,
    promised_date: NaiveDate,
    amount_cents: i64,
    created_on: NaiveDate,
}

async fn payments_of(tx: &mut Tx, client_id: i64) -> Result<Vec<PaymentFact>, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT paid_on, amount_cents, status FROM payments WHERE client_id = $1")
        .bind(client_id).fetch_all(&mut *c).await)?)
}

/// Decides one pending promise. The state changes only if it is still pending, so two
/// runs racing over the same promise change it once; only the run that broke it
/// schedules the call.
async fn decide(
    tx: &mut Tx,
    Pending {
        id,
        client_id,
        promised_date: promised,
        amount_cents: amount,
        created_on,
    }: Pending,
    policy: PromisePolicy,
    clock: Clock,
) -> Result<Option<Verdict>, AppError> {
    let (today, now) = (clock.today, clock.now);
    let payments = payments_of(tx, client_id).await?;
    let verdict = policy.verdict(created_on, promised, amount, &payments, today);
    let state = match verdict {
        Verdict::Open => return Ok(None),
        Verdict::Kept => "kept",
        Verdict::Broken => "broken",
    };
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE promises SET state = $2, resolved_at = $3 WHERE id = $1 AND state = 'pending'")
        .bind(id).bind(state).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Ok(None);
    }
    refresh_flow(tx, client_id).await?;
    if verdict == Verdict::Broken {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO call_tasks (client_id, due_date, reason, promise_id, created_at)
             VALUES ($1, $2, 'broken_promise', $3, $4) ON CONFLICT DO NOTHING")
            .bind(client_id).bind(today).bind(id).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        refresh(tx, client_id).await?;
    }
    Ok(Some(verdict))
}

/// Re-decides a client's pending promises after one of its payments is reviewed.
pub(crate) async fn reconsider(
    tx: &mut Tx,
    client_id: i64,
    policy: PromisePolicy,
    clock: Clock,
) -> Result<(), AppError> {
    let rows: Vec<Pending> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, client_id, promised_date, amount_cents, created_on FROM promises
         WHERE client_id = $1 AND state = 'pending' ORDER BY id")
        .bind(client_id).fetch_all(&mut *c).await)?;
    for row in rows {
        decide(tx, row, policy, clock).await?;
    }
    Ok(())
}

/// The scheduled job: every pending promise whose deadline (date plus grace days) has
/// passed is marked kept or broken. Safe to run twice and from several servers: rows
/// are claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite writes one at a time)
/// and each state change is conditional.
#[tracing::instrument(skip_all)]
pub async fn settle(db: &Db, policy: PromisePolicy, clock: Clock) -> Result<Settled, AppError> {
    const BATCH: i64 = 200;
    let cutoff = clock.today - chrono::Duration::days(i64::from(policy.grace_days));
    let lock = match db.engine() {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT id, client_id, promised_date, amount_cents, created_on FROM promises
         WHERE state = 'pending' AND promised_date < $1 AND id > $2 ORDER BY id LIMIT $3{lock}"
    );
    let mut settled = Settled::default();
    let mut after = 0i64;
    loop {
        let mut tx = db.begin().await?;
        let rows: Vec<Pending> = on_tx!(&mut tx, c => sqlx::query_as(&sql)
            .bind(cutoff).bind(after).bind(BATCH).fetch_all(&mut *c).await)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            match decide(&mut tx, row, policy, clock).await? {
                Some(Verdict::Kept) => settled.kept += 1,
                Some(Verdict::Broken) => settled.broken += 1,
                _ => {}
            }
        }
        tx.commit().await?;
    }
    Ok(settled)
}
