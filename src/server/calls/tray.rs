//! The Llamadas tray: clients with a call due today or earlier, broken promises first,
//! then the rest in the chosen order; and the count of calls due.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use crate::domain::client::PartyRole;
use crate::domain::governance::{describe, Verdict};
use crate::domain::listing::ClientRow;
use crate::domain::message::Channel;
use crate::server::clock::Clock;
use crate::server::messages::preflight::{self, OptOuts, Policies, Target};
use crate::server::messages::PartyRef;

use crate::domain::error::AppError;
use crate::domain::listing::{ClientSort, InboxPage, InboxQuery, ListOrder, PAGE_SIZE};
use crate::domain::user::{Scope, Viewer};
use crate::on_db;
use crate::server::access::push_scope;
use crate::server::clients::{page, Filters, Spec, CANDIDATE_LIMIT};
use crate::server::conversations::pending_messages;
use crate::server::db::Db;

/// Calls due on `today` or earlier in a scope (optionally one advisor's), counted on
/// the calls index.
pub(crate) async fn calls_due(
    db: &Db,
    scope: Scope,
    advisor_id: Option<i64>,
    today: NaiveDate,
) -> Result<i64, AppError> {
    let (n,): (i64,) = on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT COUNT(*) FROM clients c WHERE c.call_due_date IS NOT NULL AND c.call_due_date <= ");
        qb.push_bind(today);
        push_scope(&mut qb, scope);
        if let Some(a) = advisor_id {
            qb.push(" AND c.advisor_id = ").push_bind(a);
        }
        qb.build_query_as::<(i64,)>().fetch_one(p).await
    })?;
    Ok(n)
}

/// One page of the tray. The broken promises come first, as their own keyset range;
/// the page that finishes them continues with the other calls.
#[tracing::instrument(skip_all)]
pub async fn calls_tray(
    db: &Db,
    viewer: &Viewer,
    q: &InboxQuery,
    clock: Clock,
) -> Result<InboxPage, AppError> {
    let today = clock.today;
    let scope = viewer.list_scope(q.all_clients);
    let order = match q.sort {
        ListOrder::Recent => ListOrder::Client(ClientSort::DaysOverdueDesc),
        other => other,
    };
    let segment = q.segment.trim();
    let filters = |broken: bool| Filters {
        advisor_id: q.advisor_id,
        segment: (!segment.is_empty()).then(|| segment.to_string()),
        calls_due: Some(today),
        broken_promise: Some(broken),
        alerts: q.alerts,
        ..Filters::default()
    };
    let in_broken = q.after.is_none() || q.after_broken;
    let mut rows = Vec::new();
    let mut next = None;
    let mut next_broken = false;
    if in_broken {
        let f = filters(true);
        let spec = Spec {
            scope,
            order,
            after: q.after,
            filters: &f,
        };
        let (r, n) = page(db, spec, &q.search, today, CANDIDATE_LIMIT).await?;
        // A full page of broken promises with nothing after them: the next page asks
        // the (now empty) broken range once more and then starts the others.
        next = n.or_else(|| (r.len() == PAGE_SIZE).then(|| r[PAGE_SIZE - 1].cursor(order)));
        next_broken = next.is_some();
        rows = r;
    }
    if next.is_none() {
        let f = filters(false);
        let spec = Spec {
            scope,
            order,
            after: if in_broken { None } else { q.after },
            filters: &f,
        };
        let (more, n) = page(db, spec, &q.search, today, CANDIDATE_LIMIT).await?;
        let room = PAGE_SIZE - rows.len();
        next = if more.len() > room {
            more.get(room - 1).map(|r| r.cursor(order))
        } else {
            n
        };
        rows.extend(more.into_iter().take(room));
    }
    mark_blocked(db, &mut rows, clock).await?;
    // The counters show above the tray: "Cargar más" does not count again.
    let (calls_due, pending_messages) = if q.after.is_none() {
        (
            calls_due(db, scope, q.advisor_id, today).await?,
            pending_messages(db, scope, q.advisor_id).await?,
        )
    } else {
        (0, 0)
    };
    Ok(InboxPage {
        rows,
        next,
        may_see_all: viewer.may_see_all(),
        showing_all: scope == Scope::All,
        pending_messages,
        calls_due,
        next_broken,
    })
}

/// Says on each row whose call is not allowed, and why: none of the client's phones
/// may be called (each opted out of calls or was not authorised for them), or the
/// contact policy does not allow a call now. One read of the page's clients, their
/// phones and contacts, judged in memory.
async fn mark_blocked(db: &Db, rows: &mut [ClientRow], clock: Clock) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    // Integers of our own: formatted in, one statement for both engines.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT id, country, time_zone FROM clients WHERE id IN ({list})");
    let places: Vec<(i64, String, String)> =
        on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    let places: HashMap<i64, (String, String)> =
        places.into_iter().map(|(id, c, z)| (id, (c, z))).collect();
    let sql = format!(
        "SELECT cp.client_id, cp.value FROM contact_points cp JOIN parties pa ON pa.id = cp.party_id
         WHERE cp.client_id IN ({list}) AND cp.kind = 'phone' AND pa.role = 'client'"
    );
    let numbers: Vec<(i64, String)> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    let mut phones: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, phone) in numbers {
        phones.entry(id).or_default().push(phone);
    }
    let consent = preflight::clients_opt_outs(db, &ids).await?;
    let histories = preflight::histories(db, &ids, clock.now).await?;
    let policies = Policies::current(db, clock.tz).await?;
    let none = OptOuts::default();
    for r in rows.iter_mut() {
        let Some((country, time_zone)) = places.get(&r.id) else {
            continue;
        };
        if let (Some(phones), Some(consent)) = (phones.get(&r.id), consent.get(&r.id)) {
            let refused: Option<Vec<&str>> = phones
                .iter()
                .map(|p| consent.reason(p, Channel::Call))
                .collect();
            if let Some(reasons) = refused {
                r.call_blocked = Some(format!(
                    "Ningún teléfono admite llamadas: {}",
                    reasons.join(" ")
                ));
                continue;
            }
        }
        let target = Target {
            tab: PartyRef::new(r.id, PartyRole::Client, 1),
            country,
            time_zone,
            channel: Channel::Call,
            address: "",
            text: "",
        };
        let history = histories.get(&r.id).map_or(&[][..], Vec::as_slice);
        let decision = preflight::judge(&policies, &target, history, &none, false, clock.now);
        if decision.verdict != Verdict::Allow {
            r.call_blocked = Some(describe(&decision, policies.zone(time_zone).name()));
        }
    }
    Ok(())
}
