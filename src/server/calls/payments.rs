//! Payments to verify: the queue, and approving (the amount goes to the client's oldest
//! debts) or rejecting (with a reason shown in the conversation).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::{PaymentRow, PAYMENT_COLUMNS};
use crate::domain::alerts::Evidence;
use crate::domain::calls::{PromisePolicy, QueuedPayment, ReviewInput};
use crate::domain::error::AppError;
use crate::domain::message::AttachmentMeta;
use crate::domain::user::Viewer;
use crate::server::access::{self, push_scope};
use crate::server::alerts;
use crate::server::clients::recompute_summaries;
use crate::server::clock::Clock;
use crate::server::db::{Db, Tx};
use crate::server::{audit, calls::promises};
use crate::{on_db, on_tx};

/// Most payments the queue shows at once, oldest first.
pub const QUEUE_LIMIT: i64 = 200;

const OWN_PAYMENT: &str = "Este pago lo registraste tú: debe aprobarlo otra persona con acceso al cliente (su supervisor o un administrador).";

#[derive(sqlx::FromRow)]
struct QueueRow {
    #[sqlx(flatten)]
    payment: PaymentRow,
    declared_by: i64,
    display_name: String,
    document_number: String,
    advisor_name: Option<String>,
}

/// Whether a payment must be approved by someone else than who declared or registered
/// it ("Aprobación por otra persona", on by default): an approval applies the amount to
/// the debts, keeps promises and lifts alerts, so nobody approves their own word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approval {
    pub by_other: bool,
}

impl Approval {
    fn refuses(self, viewer: &Viewer, declared_by: i64) -> bool {
        self.by_other && viewer.user_id == declared_by
    }
}

/// The payments to verify of the clients the viewer may read, oldest first.
#[tracing::instrument(skip_all)]
pub async fn queue(
    db: &Db,
    viewer: &Viewer,
    approval: Approval,
    clock: Clock,
) -> Result<Vec<QueuedPayment>, AppError> {
    let rows: Vec<QueueRow> = on_db!(db, p => {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {PAYMENT_COLUMNS}, p.declared_by, c.display_name, c.document_number, a.name AS advisor_name
             FROM payments p JOIN clients c ON c.id = p.client_id
             JOIN users d ON d.id = p.declared_by
             LEFT JOIN users r ON r.id = p.reviewed_by
             LEFT JOIN users a ON a.id = c.advisor_id
             WHERE p.status = 'to_verify'"));
        push_scope(&mut qb, viewer.read_scope());
        qb.push(" ORDER BY p.declared_at, p.id LIMIT ").push_bind(QUEUE_LIMIT);
        qb.build_query_as::<QueueRow>().fetch_all(p).await
    })?;
    let mut files: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    if !rows.is_empty() {
        let found: Vec<(i64, i64, String, String, i64)> = on_db!(db, p => {
            let mut qb = QueryBuilder::new(
                "SELECT payment_id, id, file_name, content_type, size_bytes FROM management_files WHERE payment_id IN (");
            let mut list = qb.separated(", ");
            for r in &rows {
                list.push_bind(r.payment.id);
            }
            qb.push(") ORDER BY id");
            qb.build_query_as::<(i64, i64, String, String, i64)>().fetch_all(p).await
        })?;
        for (payment_id, id, file_name, content_type, size_bytes) in found {
            files.entry(payment_id).or_default().push(AttachmentMeta {
                id,
                file_name,
                content_type,
                size_bytes,
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let attached = files.remove(&r.payment.id).unwrap_or_default();
            QueuedPayment {
                approved_by_another: approval.refuses(viewer, r.declared_by),
                payment: r.payment.entry(&clock, attached),
                client_name: r.display_name,
                document_number: r.document_number,
                advisor_name: r.advisor_name,
            }
        })
        .collect())
}

/// Applies an approved amount to the client's unpaid debts, oldest due date first.
/// Returns what was left over.
async fn apply_to_debts(
    tx: &mut Tx,
    client_id: i64,
    mut cents: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let debts: Vec<(i64, i64, i64)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, amount_cents, paid_cents FROM debts
         WHERE client_id = $1 AND paid_cents < amount_cents ORDER BY due_date, id")
        .bind(client_id).fetch_all(&mut *c).await)?;
    for (id, amount, paid) in debts {
        if cents == 0 {
            break;
        }
        let applied = cents.min(amount - paid);
        on_tx!(tx, c => sqlx::query(
            "UPDATE debts SET paid_cents = paid_cents + $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(applied).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        cents -= applied;
    }
    Ok(cents)
}

/// Approves or rejects a payment to verify. Approval pays the oldest debts, refreshes
/// the summary and may keep a promise; either way the main flow resumes once no payment
/// awaits verification.
#[tracing::instrument(skip_all)]
pub async fn review(
    db: &Db,
    viewer: &Viewer,
    input: ReviewInput,
    approval: Approval,
    policy: PromisePolicy,
    clock: Clock,
) -> Result<(), AppError> {
    let (today, now) = (clock.today, clock.now);
    input.validate().map_err(AppError::Invalid)?;
    let found: Option<(i64, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT client_id, amount_cents, declared_by FROM payments WHERE id = $1")
        .bind(input.payment_id).fetch_optional(p).await)?;
    let (client_id, amount, declared_by) = found.ok_or(AppError::NotFound)?;
    access::ensure_visible(db, viewer, client_id, now).await?;
    if input.approve && approval.refuses(viewer, declared_by) {
        return Err(AppError::Conflict(OWN_PAYMENT.into()));
    }
    let mut tx = db.begin().await?;
    let status = if input.approve {
        "approved"
    } else {
        "rejected"
    };
    let reason = input.reason.trim();
    let changed = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE payments SET status = $2, reviewed_at = $3, reviewed_by = $4, review_reason = $5
         WHERE id = $1 AND status = 'to_verify'")
        .bind(input.payment_id).bind(status).bind(now).bind(viewer.user_id).bind(reason)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(AppError::Conflict("Ese pago ya fue revisado.".into()));
    }
    if input.approve {
        let left = apply_to_debts(&mut tx, client_id, amount, now).await?;
        if left > 0 {
            on_tx!(&mut tx, c => sqlx::query("UPDATE payments SET unapplied_cents = $2 WHERE id = $1")
                .bind(input.payment_id).bind(left).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        recompute_summaries(&mut tx, &[client_id], today).await?;
        let source = alerts::Source {
            user_id: Some(viewer.user_id),
            ..alerts::Source::default()
        };
        alerts::record(&mut tx, client_id, Evidence::PaymentApproved, source, now).await?;
    }
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE clients SET flow_stop = NULL WHERE id = $1 AND flow_stop = 'payment_to_verify'
            AND NOT EXISTS (SELECT 1 FROM payments WHERE client_id = $1 AND status = 'to_verify')")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    promises::reconsider(&mut tx, client_id, policy, clock).await?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        if input.approve {
            "payment.approve"
        } else {
            "payment.reject"
        },
        &format!("payment:{}", input.payment_id),
        reason,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
