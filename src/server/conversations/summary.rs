//! The conversation summary on each client row, and the to-do counter.

use sqlx::QueryBuilder;

use crate::domain::error::AppError;
use crate::domain::user::Scope;
use crate::on_db;
use crate::on_tx;
use crate::server::db::{Db, Tx};

/// Rewrites the client's conversation summary from its messages. Called in the same
/// transaction as every change to them, so the inbox (which reads only the summary)
/// never disagrees with the conversation. Internal notes are not activity: the row
/// shows the last exchange with the debtor.
pub async fn refresh(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET
            pending_count = (SELECT COUNT(*) FROM messages m WHERE m.client_id = $1 AND m.pending),
            pending_client = (SELECT COUNT(*) FROM messages m
                WHERE m.client_id = $1 AND m.pending AND m.party_role = 'client'),
            pending_reference = (SELECT COUNT(*) FROM messages m
                WHERE m.client_id = $1 AND m.pending AND m.party_role = 'reference'),
            pending_guarantor = (SELECT COUNT(*) FROM messages m
                WHERE m.client_id = $1 AND m.pending AND m.party_role = 'guarantor'),
            last_activity_at = (SELECT m.occurred_at FROM messages m
                WHERE m.client_id = $1 AND m.direction <> 'internal'
                ORDER BY m.occurred_at DESC, m.id DESC LIMIT 1),
            last_channel = (SELECT m.channel FROM messages m
                WHERE m.client_id = $1 AND m.direction <> 'internal'
                ORDER BY m.occurred_at DESC, m.id DESC LIMIT 1),
            last_subject = COALESCE((SELECT CASE WHEN m.channel = 'email' THEN m.subject ELSE '' END
                FROM messages m WHERE m.client_id = $1 AND m.direction <> 'internal'
                ORDER BY m.occurred_at DESC, m.id DESC LIMIT 1), '')
         WHERE id = $1")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Unanswered inbound messages in a scope, optionally one advisor's within it: a sum
/// over the handful of (advisor, supervisor) counter rows the triggers keep.
pub async fn pending_messages(
    db: &Db,
    scope: Scope,
    advisor_id: Option<i64>,
) -> Result<i64, AppError> {
    let (n,): (i64,) = on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM pending_counters WHERE 1 = 1");
        match scope {
            Scope::All => {}
            Scope::Advisor(id) => {
                qb.push(" AND advisor_key = ").push_bind(id);
            }
            Scope::Supervisor(id) => {
                qb.push(" AND supervisor_key = ").push_bind(id);
            }
        }
        if let Some(a) = advisor_id {
            qb.push(" AND advisor_key = ").push_bind(a);
        }
        qb.build_query_as::<(i64,)>().fetch_one(p).await
    })?;
    Ok(n)
}
