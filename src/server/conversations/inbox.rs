//! The "Recibidos" tray: the clients list engine over conversations.

use chrono_tz::Tz;
use sqlx::QueryBuilder;

use crate::domain::error::AppError;
use crate::domain::listing::{InboxPage, InboxQuery};
use crate::domain::user::{Scope, Viewer};
use crate::on_db;
use crate::server::clients::{page, Filters, Spec, CANDIDATE_LIMIT};
use crate::server::clock::{day_start, Clock};
use crate::server::db::Db;

/// The inbox filters as list filters, the date range as UTC instants.
fn filters(q: &InboxQuery, tz: Tz) -> Result<Filters, AppError> {
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(AppError::invalid(
                "to",
                "La fecha «hasta» es anterior a la fecha «desde».",
            ));
        }
    }
    let segment = q.segment.trim();
    Ok(Filters {
        conversations: true,
        pending_only: !q.include_answered,
        channel: q.channel,
        from: q.from.map(|d| day_start(tz, d)),
        to: q.to.and_then(|d| d.succ_opt()).map(|d| day_start(tz, d)),
        advisor_id: q.advisor_id,
        segment: (!segment.is_empty()).then(|| segment.to_string()),
        calls_due: None,
        broken_promise: None,
        alerts: q.alerts,
    })
}

#[tracing::instrument(skip_all)]
pub async fn inbox(
    db: &Db,
    viewer: &Viewer,
    q: &InboxQuery,
    clock: Clock,
) -> Result<InboxPage, AppError> {
    let today = clock.today;
    let scope = viewer.list_scope(q.all_clients);
    let filters = filters(q, clock.tz)?;
    let spec = Spec {
        scope,
        order: q.sort,
        after: q.after,
        filters: &filters,
    };
    let (mut rows, next) = page(db, spec, &q.search, today, CANDIDATE_LIMIT).await?;
    for r in &mut rows {
        r.last_activity_local = r.last_activity_at.map(|t| clock.local(t));
    }
    let pending_messages = pending_messages(db, scope, q.advisor_id).await?;
    let calls_due = crate::server::calls::calls_due(db, scope, q.advisor_id, today).await?;
    Ok(InboxPage {
        rows,
        next,
        may_see_all: viewer.may_see_all(),
        showing_all: scope == Scope::All,
        pending_messages,
        calls_due,
        next_broken: false,
    })
}

/// Unanswered inbound messages in a scope, optionally one advisor's within it: a sum
/// over the handful of (advisor, supervisor) counter rows the triggers keep.
#[tracing::instrument(skip_all)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inverted_range_is_refused_and_to_is_inclusive() {
        let tz: Tz = "America/Bogota".parse().unwrap();
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let q = InboxQuery {
            from: Some(day(20)),
            to: Some(day(10)),
            ..InboxQuery::default()
        };
        assert!(matches!(filters(&q, tz), Err(AppError::Invalid(_))));
        let q = InboxQuery {
            from: Some(day(10)),
            to: Some(day(10)),
            ..InboxQuery::default()
        };
        let f = filters(&q, tz).unwrap();
        assert_eq!(f.to.unwrap() - f.from.unwrap(), chrono::Duration::days(1));
        assert!(f.pending_only && f.conversations);
    }
}
