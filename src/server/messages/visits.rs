//! Visits to the payment portal, shown in the conversation beside its messages: each
//! with the states it went through (opened the link, looked at the debt, declared a
//! payment or a promise).

use chrono::{DateTime, Utc};

use crate::domain::error::AppError;
use crate::domain::message::VisitState;
use crate::on_tx;
use crate::server::db::Db;

/// Records a visit with the states it went through, made by a person or by the named
/// link-preview robot; returns its id.
#[tracing::instrument(skip_all)]
pub async fn record(
    db: &Db,
    client_id: i64,
    page_name: &str,
    preview_agent: Option<&str>,
    states: &[(VisitState, DateTime<Utc>)],
) -> Result<i64, AppError> {
    let Some(first) = states.first() else {
        return Err(AppError::invalid(
            "states",
            "Una visita tiene al menos un estado.",
        ));
    };
    let mut tx = db.begin().await?;
    let (id,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "INSERT INTO portal_visits (client_id, page_name, visited_at, preview_agent) VALUES ($1, $2, $3, $4)
         RETURNING id")
        .bind(client_id).bind(page_name).bind(first.1).bind(preview_agent.unwrap_or(""))
        .fetch_one(&mut *c).await)?;
    for (state, at) in states {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO portal_visit_states (visit_id, state, at) VALUES ($1, $2, $3)")
            .bind(id).bind(state).bind(*at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    tx.announce(client_id);
    tx.commit().await?;
    Ok(id)
}

/// Adds a state to one of the client's visits; NotFound when the visit is not the
/// client's.
#[tracing::instrument(skip_all)]
pub async fn add_state(
    db: &Db,
    client_id: i64,
    visit_id: i64,
    state: VisitState,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO portal_visit_states (visit_id, state, at)
         SELECT id, $3, $4 FROM portal_visits WHERE id = $1 AND client_id = $2")
        .bind(visit_id).bind(client_id).bind(state).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    tx.announce(client_id);
    tx.commit().await?;
    Ok(())
}
