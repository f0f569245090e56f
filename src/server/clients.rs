//! Clients: scoped reads, writes that keep the summary columns and search terms in step,
//! assignment, and the daily roll-forward of summaries whose next due date has passed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::domain::client::{
    ClientDetail, ClientKind, ContactPoint, Party, PartyRole, ValidClient,
};
use crate::domain::contact::ContactKind;
use crate::domain::debt::{days_overdue, Debt, DebtLine, DebtSummary};
use crate::domain::error::AppError;
use crate::domain::listing::{
    ClientCursor, ClientListQuery, ClientPage, ClientRow, ClientSort, PAGE_SIZE,
};
use crate::domain::search::{prefix_upper_bound, SearchQuery};
use crate::domain::user::{Scope, Viewer};
use crate::server::db::{is_unique_violation, Db, Engine, Tx};
use crate::server::{audit, users};
use crate::{on_db, on_tx};

/// Binds per statement stay under SQLite's limit (32766) and PostgreSQL's (65535).
const MAX_BINDS: usize = 30_000;
/// Most clients one bulk reassignment may touch.
pub const MAX_ASSIGN: usize = 5_000;

fn push_scope<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, scope: Scope)
where
    i64: Encode<'a, DB> + Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Advisor(id) => {
            qb.push(" AND c.advisor_id = ").push_bind(id);
        }
        Scope::Supervisor(id) => {
            qb.push(" AND c.supervisor_id = ").push_bind(id);
        }
    }
}

/// Clients with a due date and clients without one are read as two index ranges, the
/// dated ones first: `NULL` sorts differently on each engine and an `OR` across the two
/// would defeat the index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segment {
    Dated,
    Undated,
    Any,
}

/// Words matching at most this many terms are "selective": their clients are read by id.
const CANDIDATE_LIMIT: i64 = 5_000;

/// How a search narrows the list. Chosen here from the data: through a prepared
/// statement neither engine can tell how selective a prefix range is, and a wrong guess
/// costs a hundred times more (a rare word walked over the whole sort index).
enum Filter<'a> {
    /// No search.
    All,
    /// Some word matches no client.
    Nothing,
    /// The rarest word is selective: its clients, tested for the other words, sorted.
    Candidates {
        rarest: &'a str,
        others: Vec<&'a str>,
    },
    /// Every word is common: walk the sort index and test each client.
    Probe { words: Vec<&'a str> },
}

async fn search_filter<'a>(
    db: &Db,
    search: Option<&'a SearchQuery>,
    candidate_limit: i64,
) -> Result<Filter<'a>, AppError> {
    let Some(q) = search else {
        return Ok(Filter::All);
    };
    let mut counts = Vec::with_capacity(q.prefixes.len());
    for prefix in &q.prefixes {
        // Capped, so counting a common word reads at most candidate_limit index entries.
        let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM client_search_terms WHERE term >= $1 AND term < $2 LIMIT $3) x")
            .bind(prefix).bind(prefix_upper_bound(prefix)).bind(candidate_limit.saturating_add(1))
            .fetch_one(p).await)?;
        if n == 0 {
            return Ok(Filter::Nothing);
        }
        counts.push((n, prefix.as_str()));
    }
    counts.sort();
    let words: Vec<&str> = counts.iter().map(|(_, w)| *w).collect();
    if counts[0].0 > candidate_limit {
        return Ok(Filter::Probe { words });
    }
    Ok(Filter::Candidates {
        rarest: words[0],
        others: words[1..].to_vec(),
    })
}

/// The order of the candidates path, written so that no index can provide it: with
/// an ORDER BY an index matches, both planners prefer walking that index and filtering
/// every client against the candidate list. Clients with nothing owed sort after all
/// others in both day orders, as in the index path (the sentinels lie outside the dates
/// validation accepts).
fn push_candidate_order<'a, DB: Database>(
    qb: &mut QueryBuilder<'a, DB>,
    sort: ClientSort,
    after: Option<ClientCursor>,
    limit: i64,
) where
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
{
    // Where clients with no due date go: after every date in either direction.
    let (no_date, no_date_text) = if sort == ClientSort::DaysOverdueDesc {
        (NaiveDate::from_ymd_opt(9999, 12, 31), "'9999-12-31'")
    } else {
        (NaiveDate::from_ymd_opt(1, 1, 1), "'0001-01-01'")
    };
    let dated = format!("COALESCE(c.oldest_unpaid_due_date, {no_date_text})");
    let (expr, cmp, dir) = match sort {
        ClientSort::DaysOverdueDesc => (dated.as_str(), " > ", " ASC"),
        ClientSort::DaysOverdueAsc => (dated.as_str(), " < ", " DESC"),
        ClientSort::AmountDesc => ("c.overdue_total_cents + 0", " < ", " DESC"),
        ClientSort::AmountAsc => ("c.overdue_total_cents + 0", " > ", " ASC"),
    };
    match after {
        Some(ClientCursor::Date { date, id }) => {
            let key = date.or(no_date).expect("the sentinels are valid dates");
            qb.push(" AND (")
                .push(expr)
                .push(", c.id)")
                .push(cmp)
                .push("(")
                .push_bind(key)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(ClientCursor::Amount { cents, id }) => {
            qb.push(" AND (")
                .push(expr)
                .push(", c.id)")
                .push(cmp)
                .push("(")
                .push_bind(cents)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        None => {}
    }
    qb.push(" ORDER BY ")
        .push(expr)
        .push(dir)
        .push(", c.id")
        .push(dir)
        .push(" LIMIT ")
        .push_bind(limit);
}

/// One page (plus one row, to tell whether another follows) of the clients matching the
/// rarest word, in scope and matching the other words.
async fn candidates_page(
    db: &Db,
    scope: Scope,
    rarest: &str,
    others: &[&str],
    sort: ClientSort,
    after: Option<ClientCursor>,
    wanted: usize,
) -> Result<Vec<ClientRow>, AppError> {
    let limit = wanted as i64;
    // Each engine's way of saying "compute this set first, then look clients up by id":
    // PostgreSQL turns ARRAY(subquery) into a one-time init plan; SQLite drives the
    // rowid lookups from the IN subquery once the ORDER BY gives it no index to walk.
    let (open, close) = match db.engine() {
        Engine::Sqlite => ("c.id IN (", ")"),
        Engine::Postgres => ("c.id = ANY(ARRAY(", "))"),
    };
    Ok(on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT c.id, c.display_name, c.document_number, a.name AS advisor_name, c.overdue_total_cents,
                    c.currency, c.oldest_unpaid_due_date
             FROM clients c LEFT JOIN users a ON a.id = c.advisor_id WHERE ");
        qb.push(open).push("SELECT client_id FROM client_search_terms WHERE term >= ");
        qb.push_bind(rarest).push(" AND term < ").push_bind(prefix_upper_bound(rarest)).push(close);
        push_scope(&mut qb, scope);
        push_word_tests(&mut qb, others);
        push_candidate_order(&mut qb, sort, after, limit);
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?)
}

fn push_word_tests<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, words: &[&'a str])
where
    String: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    for word in words {
        qb.push(" AND EXISTS (SELECT 1 FROM client_search_terms t WHERE t.client_id = c.id AND t.term >= ")
            .push_bind(*word)
            .push(" AND t.term < ")
            .push_bind(prefix_upper_bound(word))
            .push(")");
    }
}

fn push_list_query<'a, DB: Database>(
    qb: &mut QueryBuilder<'a, DB>,
    scope: Scope,
    words: &'a [&'a str],
    sort: ClientSort,
    segment: Segment,
    after: Option<ClientCursor>,
    limit: i64,
) where
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    qb.push(
        "SELECT c.id, c.display_name, c.document_number, a.name AS advisor_name, c.overdue_total_cents,
                c.currency, c.oldest_unpaid_due_date
         FROM clients c LEFT JOIN users a ON a.id = c.advisor_id WHERE 1 = 1",
    );
    push_scope(qb, scope);
    push_word_tests(qb, words);
    let ascending = matches!(sort, ClientSort::DaysOverdueDesc | ClientSort::AmountAsc);
    let (cmp, dir) = if ascending {
        (" > ", " ASC")
    } else {
        (" < ", " DESC")
    };
    match segment {
        Segment::Dated => {
            qb.push(" AND c.oldest_unpaid_due_date IS NOT NULL");
            if let Some(ClientCursor::Date { date: Some(d), id }) = after {
                qb.push(" AND (c.oldest_unpaid_due_date, c.id)")
                    .push(cmp)
                    .push("(")
                    .push_bind(d)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(" ORDER BY c.oldest_unpaid_due_date")
                .push(dir)
                .push(", c.id")
                .push(dir);
        }
        Segment::Undated => {
            qb.push(" AND c.oldest_unpaid_due_date IS NULL");
            if let Some(ClientCursor::Date { date: None, id }) = after {
                qb.push(" AND c.id").push(cmp).push_bind(id);
            }
            qb.push(" ORDER BY c.id").push(dir);
        }
        Segment::Any => {
            if let Some(ClientCursor::Amount { cents, id }) = after {
                qb.push(" AND (c.overdue_total_cents, c.id)")
                    .push(cmp)
                    .push("(")
                    .push_bind(cents)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(" ORDER BY c.overdue_total_cents")
                .push(dir)
                .push(", c.id")
                .push(dir);
        }
    }
    qb.push(" LIMIT ").push_bind(limit);
}

async fn fetch_segment(
    db: &Db,
    scope: Scope,
    words: &[&str],
    sort: ClientSort,
    segment: Segment,
    after: Option<ClientCursor>,
    limit: usize,
) -> Result<Vec<ClientRow>, AppError> {
    let limit = limit as i64;
    Ok(on_db!(db, p => {
        let mut qb = QueryBuilder::new("");
        push_list_query(&mut qb, scope, words, sort, segment, after, limit);
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?)
}

/// A page read in sort-index order, testing each client for the search words (if any).
/// Day orders read clients with a due date, then those without, as two index ranges.
async fn index_page(
    db: &Db,
    scope: Scope,
    words: &[&str],
    sort: ClientSort,
    after: Option<ClientCursor>,
    wanted: usize,
) -> Result<Vec<ClientRow>, AppError> {
    if !matches!(
        sort,
        ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc
    ) {
        return fetch_segment(db, scope, words, sort, Segment::Any, after, wanted).await;
    }
    let in_undated = matches!(after, Some(ClientCursor::Date { date: None, .. }));
    let mut rows = if in_undated {
        Vec::new()
    } else {
        fetch_segment(db, scope, words, sort, Segment::Dated, after, wanted).await?
    };
    if rows.len() < wanted {
        let after = if in_undated { after } else { None };
        let more = fetch_segment(
            db,
            scope,
            words,
            sort,
            Segment::Undated,
            after,
            wanted - rows.len(),
        )
        .await?;
        rows.extend(more);
    }
    Ok(rows)
}

/// One page of the clients list in the viewer's scope.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    q: &ClientListQuery,
    today: NaiveDate,
) -> Result<ClientPage, AppError> {
    list_planned(db, viewer, q, today, CANDIDATE_LIMIT).await
}

/// [`list`] with the search plan's threshold given: the tests drive both plans with it
/// and require the same pages from each.
pub async fn list_planned(
    db: &Db,
    viewer: &Viewer,
    q: &ClientListQuery,
    today: NaiveDate,
    candidate_limit: i64,
) -> Result<ClientPage, AppError> {
    let search = SearchQuery::parse(&q.search)?;
    let scope = viewer.list_scope(q.all_clients);
    let wanted = PAGE_SIZE + 1;
    let by_date = matches!(
        q.sort,
        ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc
    );
    let cursor_fits = match q.after {
        None => true,
        Some(ClientCursor::Date { .. }) => by_date,
        Some(ClientCursor::Amount { .. }) => !by_date,
    };
    if !cursor_fits {
        return Err(AppError::invalid(
            "after",
            "La página pedida no corresponde al orden elegido.",
        ));
    }
    let filter = search_filter(db, search.as_ref(), candidate_limit).await?;
    let mut rows = match &filter {
        Filter::Nothing => Vec::new(),
        Filter::Candidates { rarest, others } => {
            candidates_page(db, scope, rarest, others, q.sort, q.after, wanted).await?
        }
        Filter::All => index_page(db, scope, &[], q.sort, q.after, wanted).await?,
        Filter::Probe { words } => index_page(db, scope, words, q.sort, q.after, wanted).await?,
    };
    let next = if rows.len() > PAGE_SIZE {
        rows.truncate(PAGE_SIZE);
        rows.last().map(|r| r.cursor(q.sort))
    } else {
        None
    };
    for r in &mut rows {
        r.days_overdue = days_overdue(r.oldest_unpaid_due_date, today);
    }
    Ok(ClientPage {
        rows,
        next,
        may_see_all: viewer.may_see_all(),
        showing_all: scope == Scope::All,
    })
}

#[derive(sqlx::FromRow)]
struct ClientHead {
    id: i64,
    kind: String,
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
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PartyRow {
    id: i64,
    role: String,
    ordinal: i32,
    name: String,
    relationship: String,
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    party_id: i64,
    kind: String,
    value: String,
}

fn corrupt(what: &str, e: String) -> AppError {
    tracing::error!(error = %e, what, "unexpected value in database");
    AppError::Internal
}

async fn load_detail(
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
                    c.oldest_unpaid_due_date, c.next_due_date, c.created_at, c.updated_at
             FROM clients c
             LEFT JOIN users a ON a.id = c.advisor_id
             LEFT JOIN users s ON s.id = c.supervisor_id
             WHERE c.id = ");
        qb.push_bind(id);
        push_scope(&mut qb, scope);
        qb.build_query_as::<ClientHead>().fetch_optional(p).await
    })?;
    let Some(h) = head else { return Ok(None) };
    let party_rows: Vec<PartyRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, role, ordinal, name, relationship FROM parties WHERE client_id = $1
         ORDER BY CASE role WHEN 'client' THEN 0 WHEN 'reference' THEN 1 ELSE 2 END, ordinal")
        .bind(id).fetch_all(p).await)?;
    let contact_rows: Vec<ContactRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, party_id, kind, value FROM contact_points WHERE client_id = $1 ORDER BY id")
        .bind(id).fetch_all(p).await)?;
    let debts: Vec<Debt> = on_db!(db, p => sqlx::query_as(
        "SELECT id, number, product, issue_date, due_date, amount_cents, paid_cents, currency
         FROM debts WHERE client_id = $1 ORDER BY due_date, number")
        .bind(id).fetch_all(p).await)?;

    let mut parties = Vec::with_capacity(party_rows.len());
    for r in party_rows {
        let contacts = contact_rows
            .iter()
            .filter(|c| c.party_id == r.id)
            .map(|c| {
                Ok(ContactPoint {
                    id: c.id,
                    kind: ContactKind::try_from(c.kind.clone())
                        .map_err(|e| corrupt("contact kind", e))?,
                    value: c.value.clone(),
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        parties.push(Party {
            id: r.id,
            role: PartyRole::try_from(r.role).map_err(|e| corrupt("party role", e))?,
            ordinal: r.ordinal,
            name: r.name,
            relationship: r.relationship,
            contacts,
        });
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
        kind: ClientKind::try_from(h.kind).map_err(|e| corrupt("client kind", e))?,
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
        created_at: h.created_at,
        updated_at: h.updated_at,
    }))
}

/// A client the viewer may read. Anything else is `NotFound`, whether it exists or not;
/// an existing one out of scope is audited as a denied access.
pub async fn get(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ClientDetail, AppError> {
    let scope = viewer.read_scope();
    if let Some(detail) = load_detail(db, scope, id, today).await? {
        return Ok(detail);
    }
    if scope != Scope::All {
        let exists: Option<(i64,)> = on_db!(db, p => sqlx::query_as("SELECT id FROM clients WHERE id = $1").bind(id).fetch_optional(p).await)?;
        if exists.is_some() {
            audit::denied(db, viewer.user_id, &format!("client:{id}"), now).await?;
        }
    }
    Err(AppError::NotFound)
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

pub struct NewClient<'a> {
    pub client: &'a ValidClient,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
}

/// Inserts clients that do not exist yet, with their parties, contact points, debts,
/// search terms and summary, in multi-row statements. Returns their ids in order.
pub async fn insert_new(
    tx: &mut Tx,
    items: &[NewClient<'_>],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    const CLIENT_COLS: usize = 20;
    let mut ids_by_doc: HashMap<String, i64> = HashMap::with_capacity(items.len());
    for chunk in items.chunks(MAX_BINDS / CLIENT_COLS) {
        let returned: Vec<(i64, String)> = on_tx!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO clients (kind, document_number, first_name, last_name, business_name, display_name,
                    advisor_id, supervisor_id, segment, country, time_zone, currency, overdue_total_cents,
                    balance_cents, unpaid_orders, oldest_unpaid_due_date, next_due_date, created_at, updated_at) ");
            qb.push_values(chunk, |mut b, item| {
                let v = item.client;
                let s = v.summary(today);
                b.push_bind(v.kind.as_str()).push_bind(v.document_number.as_str()).push_bind(v.first_name.as_str())
                    .push_bind(v.last_name.as_str()).push_bind(v.business_name.as_str()).push_bind(v.display_name.as_str())
                    .push_bind(item.advisor_id).push_bind(item.supervisor_id).push_bind(v.segment.as_str())
                    .push_bind(v.country.as_str()).push_bind(v.time_zone.as_str()).push_bind(v.currency.as_str())
                    .push_bind(s.overdue_total_cents).push_bind(s.balance_cents).push_bind(s.unpaid_orders)
                    .push_bind(s.oldest_unpaid_due_date).push_bind(s.next_due_date).push_bind(now).push_bind(now);
            });
            qb.push(" RETURNING id, document_number");
            qb.build_query_as::<(i64, String)>().fetch_all(&mut *c).await?
        });
        ids_by_doc.extend(returned.into_iter().map(|(id, doc)| (doc, id)));
    }
    let ids: Vec<i64> = items
        .iter()
        .map(|i| ids_by_doc[&i.client.document_number])
        .collect();
    let pairs: Vec<(i64, &ValidClient)> = ids
        .iter()
        .copied()
        .zip(items.iter().map(|i| i.client))
        .collect();
    write_children(tx, &pairs, now).await?;
    Ok(ids)
}

/// Parties, contact points, debts and search terms of freshly written (or emptied) clients.
async fn write_children(
    tx: &mut Tx,
    clients: &[(i64, &ValidClient)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let parties: Vec<(i64, &crate::domain::client::ValidParty)> = clients
        .iter()
        .flat_map(|(id, v)| v.parties.iter().map(move |p| (*id, p)))
        .collect();
    let mut party_ids: HashMap<(i64, &'static str, i32), i64> =
        HashMap::with_capacity(parties.len());
    for chunk in parties.chunks(MAX_BINDS / 5) {
        let returned: Vec<(i64, i64, String, i32)> = on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO parties (client_id, role, ordinal, name, relationship) ");
            qb.push_values(chunk, |mut b, (client_id, p)| {
                b.push_bind(*client_id).push_bind(p.role.as_str()).push_bind(p.ordinal)
                    .push_bind(p.name.as_str()).push_bind(p.relationship.as_str());
            });
            qb.push(" RETURNING id, client_id, role, ordinal");
            qb.build_query_as::<(i64, i64, String, i32)>().fetch_all(&mut *c).await?
        });
        for (id, client_id, role, ordinal) in returned {
            let role = PartyRole::try_from(role).map_err(|e| sqlx::Error::Decode(e.into()))?;
            party_ids.insert((client_id, role.as_str(), ordinal), id);
        }
    }
    let contacts: Vec<(i64, i64, ContactKind, &str)> = parties
        .iter()
        .flat_map(|(client_id, p)| {
            let party_id = party_ids[&(*client_id, p.role.as_str(), p.ordinal)];
            p.contacts
                .iter()
                .map(move |(k, v)| (party_id, *client_id, *k, v.as_str()))
        })
        .collect();
    insert_contacts(tx, &contacts, now).await?;

    let debts: Vec<(i64, &crate::domain::client::ValidDebt)> = clients
        .iter()
        .flat_map(|(id, v)| v.debts.iter().map(move |d| (*id, d)))
        .collect();
    for chunk in debts.chunks(MAX_BINDS / 10) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO debts (client_id, number, product, issue_date, due_date, amount_cents, paid_cents, currency, created_at, updated_at) ");
            qb.push_values(chunk, |mut b, (client_id, d)| {
                b.push_bind(*client_id).push_bind(d.number.as_str()).push_bind(d.product.as_str())
                    .push_bind(d.issue_date).push_bind(d.due_date).push_bind(d.amount_cents)
                    .push_bind(d.paid_cents).push_bind(d.currency.as_str()).push_bind(now).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }

    let terms: Vec<(String, i64)> = clients
        .iter()
        .flat_map(|(id, v)| v.search_terms().into_iter().map(move |t| (t, *id)))
        .collect();
    for chunk in terms.chunks(MAX_BINDS / 2) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO client_search_terms (term, client_id) ");
            qb.push_values(chunk, |mut b, (term, client_id)| {
                b.push_bind(term.as_str()).push_bind(*client_id);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }
    Ok(())
}

async fn insert_contacts(
    tx: &mut Tx,
    contacts: &[(i64, i64, ContactKind, &str)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in contacts.chunks(MAX_BINDS / 5) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO contact_points (party_id, client_id, kind, value, created_at) ");
            qb.push_values(chunk, |mut b, (party_id, client_id, kind, value)| {
                b.push_bind(*party_id).push_bind(*client_id).push_bind(kind.as_str())
                    .push_bind(*value).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }
    Ok(())
}

/// Rewrites an existing client to exactly `v`. Contact points that stay keep their ids
/// (later features hang delivery history and alerts on them); parties keep theirs by slot.
pub async fn replace_existing(
    tx: &mut Tx,
    id: i64,
    v: &ValidClient,
    advisor_id: Option<i64>,
    supervisor_id: Option<i64>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let s = v.summary(today);
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET kind = $2, document_number = $3, first_name = $4, last_name = $5, business_name = $6,
             display_name = $7, advisor_id = $8, supervisor_id = $9, segment = $10, country = $11, time_zone = $12,
             currency = $13, overdue_total_cents = $14, balance_cents = $15, unpaid_orders = $16,
             oldest_unpaid_due_date = $17, next_due_date = $18, updated_at = $19
         WHERE id = $1")
        .bind(id).bind(v.kind.as_str()).bind(&v.document_number).bind(&v.first_name).bind(&v.last_name)
        .bind(&v.business_name).bind(&v.display_name).bind(advisor_id).bind(supervisor_id).bind(&v.segment)
        .bind(&v.country).bind(&v.time_zone).bind(&v.currency).bind(s.overdue_total_cents).bind(s.balance_cents)
        .bind(s.unpaid_orders).bind(s.oldest_unpaid_due_date).bind(s.next_due_date).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected())?);

    // Parties by slot.
    let existing: Vec<(i64, String, i32)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, role, ordinal FROM parties WHERE client_id = $1").bind(id).fetch_all(&mut *c).await?);
    let mut slot_ids: HashMap<(String, i32), i64> = HashMap::new();
    for (party_id, role, ordinal) in existing {
        let kept = v
            .parties
            .iter()
            .any(|p| p.role.as_str() == role && p.ordinal == ordinal);
        if kept {
            slot_ids.insert((role, ordinal), party_id);
        } else {
            on_tx!(tx, c => sqlx::query("DELETE FROM parties WHERE id = $1").bind(party_id).execute(&mut *c).await.map(|r| r.rows_affected())?);
        }
    }
    for p in &v.parties {
        let key = (p.role.as_str().to_string(), p.ordinal);
        match slot_ids.get(&key) {
            Some(party_id) => {
                on_tx!(tx, c => sqlx::query("UPDATE parties SET name = $2, relationship = $3 WHERE id = $1")
                    .bind(party_id).bind(&p.name).bind(&p.relationship).execute(&mut *c).await.map(|r| r.rows_affected())?);
            }
            None => {
                let (party_id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
                    "INSERT INTO parties (client_id, role, ordinal, name, relationship) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                    .bind(id).bind(p.role.as_str()).bind(p.ordinal).bind(&p.name).bind(&p.relationship)
                    .fetch_one(&mut *c).await?);
                slot_ids.insert(key, party_id);
            }
        }
    }

    // Contact points: delete the removed ones, add the new ones.
    let stored: Vec<(i64, i64, String, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, party_id, kind, value FROM contact_points WHERE client_id = $1").bind(id).fetch_all(&mut *c).await?);
    let wanted: Vec<(i64, ContactKind, &str)> = v
        .parties
        .iter()
        .flat_map(|p| {
            let party_id = slot_ids[&(p.role.as_str().to_string(), p.ordinal)];
            p.contacts
                .iter()
                .map(move |(k, val)| (party_id, *k, val.as_str()))
        })
        .collect();
    for (cp_id, party_id, kind, value) in &stored {
        let keep = wanted
            .iter()
            .any(|(p, k, val)| p == party_id && k.as_str() == kind && val == value);
        if !keep {
            on_tx!(tx, c => sqlx::query("DELETE FROM contact_points WHERE id = $1").bind(cp_id).execute(&mut *c).await.map(|r| r.rows_affected())?);
        }
    }
    let added: Vec<(i64, i64, ContactKind, &str)> = wanted
        .iter()
        .filter(|(p, k, val)| {
            !stored
                .iter()
                .any(|(_, sp, sk, sv)| sp == p && sk == k.as_str() && sv == val)
        })
        .map(|(p, k, val)| (*p, id, *k, *val))
        .collect();
    insert_contacts(tx, &added, now).await?;

    // Debts by order number.
    for d in &v.debts {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO debts (client_id, number, product, issue_date, due_date, amount_cents, paid_cents, currency, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (client_id, number) DO UPDATE SET product = excluded.product, issue_date = excluded.issue_date,
                 due_date = excluded.due_date, amount_cents = excluded.amount_cents, paid_cents = excluded.paid_cents,
                 currency = excluded.currency, updated_at = excluded.updated_at")
            .bind(id).bind(&d.number).bind(&d.product).bind(d.issue_date).bind(d.due_date)
            .bind(d.amount_cents).bind(d.paid_cents).bind(&d.currency).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())?);
    }
    on_tx!(tx, c => {
        let mut qb = QueryBuilder::new("DELETE FROM debts WHERE client_id = ");
        qb.push_bind(id);
        if !v.debts.is_empty() {
            qb.push(" AND number NOT IN (");
            let mut list = qb.separated(", ");
            for d in &v.debts {
                list.push_bind(d.number.as_str());
            }
            qb.push(")");
        }
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?
    });

    on_tx!(tx, c => sqlx::query("DELETE FROM client_search_terms WHERE client_id = $1").bind(id).execute(&mut *c).await.map(|r| r.rows_affected())?);
    let terms = v.search_terms();
    if !terms.is_empty() {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO client_search_terms (term, client_id) ");
            qb.push_values(&terms, |mut b, t| {
                b.push_bind(t.as_str()).push_bind(id);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?
        });
    }
    Ok(())
}

fn document_taken() -> AppError {
    AppError::invalid("document_number", "Ya existe un cliente con ese documento.")
}

pub async fn create(
    db: &Db,
    viewer: &Viewer,
    v: ValidClient,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let mut tx = db.begin().await?;
    let (advisor_id, supervisor_id) =
        resolve_assignment(&mut tx, viewer, None, v.advisor_id).await?;
    let item = NewClient {
        client: &v,
        advisor_id,
        supervisor_id,
    };
    let id = match insert_new(&mut tx, std::slice::from_ref(&item), today, now).await {
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

pub async fn update(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    v: ValidClient,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let current = get(db, viewer, id, today, now).await?;
    let mut tx = db.begin().await?;
    let (advisor_id, supervisor_id) =
        resolve_assignment(&mut tx, viewer, Some(current.advisor_id), v.advisor_id).await?;
    match replace_existing(&mut tx, id, &v, advisor_id, supervisor_id, today, now).await {
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
        let lines: Vec<(i64, NaiveDate, i64, i64)> = on_tx!(&mut tx, c => {
            let mut qb = QueryBuilder::new("SELECT client_id, due_date, amount_cents, paid_cents FROM debts WHERE client_id IN (");
            let mut list = qb.separated(", ");
            for (id,) in &ids {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_as::<(i64, NaiveDate, i64, i64)>().fetch_all(&mut *c).await
        })?;
        for (id,) in &ids {
            let s = DebtSummary::compute(
                lines.iter().filter(|l| l.0 == *id).map(|l| DebtLine {
                    due_date: l.1,
                    amount_cents: l.2,
                    paid_cents: l.3,
                }),
                today,
            );
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE clients SET overdue_total_cents = $2, balance_cents = $3, unpaid_orders = $4,
                     oldest_unpaid_due_date = $5, next_due_date = $6 WHERE id = $1")
                .bind(id).bind(s.overdue_total_cents).bind(s.balance_cents).bind(s.unpaid_orders)
                .bind(s.oldest_unpaid_due_date).bind(s.next_due_date).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        total += ids.len() as u64;
    }
    Ok(total)
}
