//! The conversation summary on each client row, rewritten from its messages.

use crate::domain::error::AppError;
use crate::on_tx;
use crate::server::db::Tx;

/// Rewrites the client's conversation summary from its messages. Called in the same
/// transaction as every change to them, so the inbox (which reads only the summary)
/// never disagrees with the conversation. Internal notes are not activity: the row
/// shows the last exchange with the debtor.
pub(super) async fn refresh(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
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
