//! The "Recibidos" tray: the clients list engine over conversations.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::summary;
use crate::domain::error::AppError;
use crate::domain::listing::{InboxPage, InboxQuery};
use crate::domain::user::{Scope, Viewer};
use crate::server::clients::{page, Filters, Spec, CANDIDATE_LIMIT};
use crate::server::db::Db;

/// The first instant of `day` in the organisation's zone. A day that starts inside a
/// daylight-saving gap starts at the first instant that exists.
fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

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
        from: q.from.map(|d| start_of(d, tz)),
        to: q.to.and_then(|d| d.succ_opt()).map(|d| start_of(d, tz)),
        advisor_id: q.advisor_id,
        segment: (!segment.is_empty()).then(|| segment.to_string()),
        calls_due: None,
        broken_promise: None,
        alerts: q.alerts,
    })
}

pub async fn inbox(
    db: &Db,
    viewer: &Viewer,
    q: &InboxQuery,
    today: NaiveDate,
    tz: Tz,
) -> Result<InboxPage, AppError> {
    let scope = viewer.list_scope(q.all_clients);
    let filters = filters(q, tz)?;
    let spec = Spec {
        scope,
        order: q.sort,
        after: q.after,
        filters: &filters,
    };
    let (mut rows, next) = page(db, spec, &q.search, today, CANDIDATE_LIMIT).await?;
    for r in &mut rows {
        r.last_activity_local = r
            .last_activity_at
            .map(|t| t.with_timezone(&tz).naive_local());
    }
    let pending_messages = summary::pending_messages(db, scope, q.advisor_id).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_local_midnight() {
        let bogota: Tz = "America/Bogota".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            start_of(d, bogota).to_rfc3339(),
            "2026-11-23T05:00:00+00:00"
        );
        // Santiago skipped from 00:00 to 01:00 on 2026-09-06.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of(gap, santiago).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }

    #[test]
    fn an_inverted_range_is_refused_and_to_is_inclusive() {
        let tz: Tz = "America/Bogota".parse().unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
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
