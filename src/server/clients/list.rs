//! The clients list: scoped keyset pages in four orders, and search, whose plan is
//! chosen from the data.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::domain::alerts::AlertFilter;
use crate::domain::debt::days_overdue;
use crate::domain::error::AppError;
use crate::domain::listing::{
    ClientCursor, ClientListQuery, ClientPage, ClientRow, ClientSort, ListOrder, PAGE_SIZE,
};
use crate::domain::message::Channel;
use crate::domain::search::{prefix_upper_bound, SearchQuery};
use crate::domain::user::{Scope, Viewer};
use crate::on_db;
use crate::server::access::push_scope;
use crate::server::db::{Db, Engine};

/// The columns every list row reads.
const ROW_COLUMNS: &str = "SELECT c.id, c.display_name, c.document_number, a.name AS advisor_name,
        c.overdue_total_cents, c.currency, c.oldest_unpaid_due_date, c.pending_count,
        c.last_activity_at, c.last_channel, c.last_subject, c.call_due_date, c.call_reason,
        c.alert_key, c.contact_problems
    FROM clients c LEFT JOIN users a ON a.id = c.advisor_id WHERE ";

/// What narrows a list besides the viewer's scope and the search. Every value is bound;
/// each filter maps to one fixed condition.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filters {
    /// Only clients with at least one message.
    pub conversations: bool,
    /// Only clients with an unanswered inbound message.
    pub pending_only: bool,
    pub channel: Option<Channel>,
    /// Last activity in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub advisor_id: Option<i64>,
    pub segment: Option<String>,
    /// Only clients with a call due on this day or earlier (the Llamadas tray).
    pub calls_due: Option<NaiveDate>,
    /// With `calls_due`: only the broken promises (`true`) or only the others.
    pub broken_promise: Option<bool>,
    pub alerts: AlertFilter,
}

fn push_filters<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, f: &'a Filters, order: ListOrder)
where
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    // Spelled as the partial indexes' conditions, so that both planners can use them,
    // and no more: given a range on last_activity_at, SQLite's planner (with fresh
    // statistics, at 1M clients) prefers the recency index and a sort over the index
    // that matches the order by amount: 120 ms instead of 1.
    if f.pending_only {
        // A pending message is activity: the conversation condition is implied.
        qb.push(" AND c.pending_count > 0");
    } else if f.conversations {
        if order == ListOrder::Recent {
            qb.push(" AND c.last_activity_at IS NOT NULL");
        } else {
            // The same test, in a form no index serves.
            qb.push(" AND COALESCE(c.last_activity_at, NULL) IS NOT NULL");
        }
    }
    if let Some(channel) = f.channel {
        qb.push(" AND c.last_channel = ")
            .push_bind(channel.as_str());
    }
    if let Some(from) = f.from {
        qb.push(" AND c.last_activity_at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        qb.push(" AND c.last_activity_at < ").push_bind(to);
    }
    if let Some(advisor) = f.advisor_id {
        qb.push(" AND c.advisor_id = ").push_bind(advisor);
    }
    if let Some(segment) = &f.segment {
        qb.push(" AND c.segment = ").push_bind(segment.as_str());
    }
    if !f.alerts.is_empty() {
        // A test on each row read, in a form no index serves: the alert index is
        // chosen by the plan (see `page`), not by the planner.
        push_alert_keys(qb, "(c.alert_key + 0)", &f.alerts);
    }
    if let Some(day) = f.calls_due {
        // The IS NOT NULL term names the calls tray's partial indexes.
        qb.push(" AND c.call_due_date IS NOT NULL AND c.call_due_date <= ")
            .push_bind(day);
        match f.broken_promise {
            Some(true) => {
                qb.push(" AND c.call_reason = 'broken_promise'");
            }
            Some(false) => {
                qb.push(" AND c.call_reason <> 'broken_promise'");
            }
            None => {}
        }
    }
}

fn push_alert_keys<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, column: &str, f: &AlertFilter)
where
    i64: Encode<'a, DB> + Type<DB>,
{
    qb.push(" AND ").push(column).push(" IN (");
    let mut keys = qb.separated(", ");
    for k in f.keys() {
        keys.push_bind(k);
    }
    qb.push(")");
}

/// Words matching at most this many terms are "selective": their clients are read by id.
pub(crate) const CANDIDATE_LIMIT: i64 = 5_000;

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
    engine: Engine,
    order: ListOrder,
    after: Option<ClientCursor>,
    limit: i64,
) where
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: Encode<'a, DB> + Type<DB>,
{
    // Where clients with no due date go: after every date in either direction.
    let (no_date, no_date_text) = if order == ClientSort::DaysOverdueDesc.into() {
        (NaiveDate::from_ymd_opt(9999, 12, 31), "'9999-12-31'")
    } else {
        (NaiveDate::from_ymd_opt(1, 1, 1), "'0001-01-01'")
    };
    let dated = format!("COALESCE(c.oldest_unpaid_due_date, {no_date_text})");
    let recent = match engine {
        Engine::Sqlite => "(c.last_activity_at || '')",
        Engine::Postgres => "(c.last_activity_at + INTERVAL '0 seconds')",
    };
    let (expr, cmp, dir) = match order {
        ListOrder::Client(ClientSort::DaysOverdueDesc) => (dated.as_str(), " > ", " ASC"),
        ListOrder::Client(ClientSort::DaysOverdueAsc) => (dated.as_str(), " < ", " DESC"),
        ListOrder::Client(ClientSort::AmountDesc) => ("c.overdue_total_cents + 0", " < ", " DESC"),
        ListOrder::Client(ClientSort::AmountAsc) => ("c.overdue_total_cents + 0", " > ", " ASC"),
        ListOrder::Recent => (recent, " < ", " DESC"),
    };
    if let Some(cursor) = after {
        qb.push(" AND (")
            .push(expr)
            .push(", c.id)")
            .push(cmp)
            .push("(");
        match cursor {
            ClientCursor::Date { date, id } => {
                let key = date.or(no_date).expect("the sentinels are valid dates");
                qb.push_bind(key).push(", ").push_bind(id);
            }
            ClientCursor::Amount { cents, id } => {
                qb.push_bind(cents).push(", ").push_bind(id);
            }
            ClientCursor::Activity { at, id } => {
                qb.push_bind(at).push(", ").push_bind(id);
            }
        }
        qb.push(")");
    }
    qb.push(" ORDER BY ")
        .push(expr)
        .push(dir)
        .push(", c.id")
        .push(dir)
        .push(" LIMIT ")
        .push_bind(limit);
}

/// One list read: scope, order, where to start and the filters.
#[derive(Clone, Copy)]
pub(crate) struct Spec<'a> {
    pub scope: Scope,
    pub order: ListOrder,
    pub after: Option<ClientCursor>,
    pub filters: &'a Filters,
}

/// One page (plus one row, to tell whether another follows) of the clients matching the
/// rarest word, in scope and matching the other words.
async fn candidates_page(
    db: &Db,
    spec: Spec<'_>,
    rarest: &str,
    others: &[&str],
    wanted: usize,
) -> Result<Vec<ClientRow>, AppError> {
    let limit = wanted as i64;
    // Each engine's way of saying "compute this set first, then look clients up by id":
    // PostgreSQL turns ARRAY(subquery) into a one-time init plan; SQLite drives the
    // rowid lookups from the IN subquery once the ORDER BY gives it no index to walk.
    let engine = db.engine();
    let (open, close) = match engine {
        Engine::Sqlite => ("c.id IN (", ")"),
        Engine::Postgres => ("c.id = ANY(ARRAY(", "))"),
    };
    Ok(on_db!(db, p => {
        let mut qb = QueryBuilder::new(ROW_COLUMNS);
        qb.push(open).push("SELECT client_id FROM client_search_terms WHERE term >= ");
        qb.push_bind(rarest).push(" AND term < ").push_bind(prefix_upper_bound(rarest)).push(close);
        push_scope(&mut qb, spec.scope);
        push_filters(&mut qb, spec.filters, spec.order);
        push_word_tests(&mut qb, others);
        push_candidate_order(&mut qb, engine, spec.order, spec.after, limit);
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?)
}

/// Whether the alert filter is selective in the scope: at most `limit` clients, counted
/// on the scope's alert index and capped there.
async fn alert_selective(db: &Db, spec: Spec<'_>, limit: i64) -> Result<bool, AppError> {
    let (n,): (i64,) = on_db!(db, p => {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM clients c WHERE 1 = 1");
        push_scope(&mut qb, spec.scope);
        push_alert_keys(&mut qb, "c.alert_key", &spec.filters.alerts);
        qb.push(" LIMIT ").push_bind(limit.saturating_add(1)).push(") x");
        qb.build_query_as::<(i64,)>().fetch_one(p).await
    })?;
    Ok(n <= limit)
}

/// One page (plus one row) of the clients a selective alert filter names: read from the
/// scope's alert index, tested for the other filters and words, then sorted.
async fn alert_candidates_page(
    db: &Db,
    spec: Spec<'_>,
    words: &[&str],
    wanted: usize,
) -> Result<Vec<ClientRow>, AppError> {
    let limit = wanted as i64;
    let engine = db.engine();
    if words.is_empty() && alerts_only(spec.filters) && spec.order != ListOrder::Recent {
        // The alert indexes carry the sort keys: the page's ids come from the index
        // alone, and only their rows are read (not every candidate's).
        let ids: Vec<(i64,)> = on_db!(db, p => {
            let mut qb = QueryBuilder::new("SELECT c.id FROM clients c WHERE 1 = 1");
            push_scope(&mut qb, spec.scope);
            push_alert_keys(&mut qb, "c.alert_key", &spec.filters.alerts);
            push_candidate_order(&mut qb, engine, spec.order, spec.after, limit);
            qb.build_query_as::<(i64,)>().fetch_all(p).await
        })?;
        return rows_by_id(db, ids.into_iter().map(|(id,)| id).collect()).await;
    }
    Ok(on_db!(db, p => {
        let mut qb = QueryBuilder::new(ROW_COLUMNS);
        qb.push("1 = 1");
        push_scope(&mut qb, spec.scope);
        push_alert_keys(&mut qb, "c.alert_key", &spec.filters.alerts);
        push_filters(&mut qb, spec.filters, spec.order);
        push_word_tests(&mut qb, words);
        push_candidate_order(&mut qb, engine, spec.order, spec.after, limit);
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?)
}

/// Whether nothing but the alerts narrows the list (the Clientes screen).
fn alerts_only(f: &Filters) -> bool {
    let Filters {
        conversations,
        pending_only,
        channel,
        from,
        to,
        advisor_id,
        segment,
        calls_due,
        broken_promise,
        alerts: _,
    } = f;
    !conversations
        && !pending_only
        && channel.is_none()
        && from.is_none()
        && to.is_none()
        && advisor_id.is_none()
        && segment.is_none()
        && calls_due.is_none()
        && broken_promise.is_none()
}

/// The rows of these clients, in the order given.
async fn rows_by_id(db: &Db, ids: Vec<i64>) -> Result<Vec<ClientRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<ClientRow> = on_db!(db, p => {
        let mut qb = QueryBuilder::new(ROW_COLUMNS);
        qb.push("c.id IN (");
        let mut list = qb.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(rows)
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

/// Clients with a due date and clients without one are read as two index ranges, the
/// dated ones first: `NULL` sorts differently on each engine and an `OR` across the two
/// would defeat the index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segment {
    Dated,
    Undated,
    Any,
}

fn push_list_query<'a, DB: Database>(
    qb: &mut QueryBuilder<'a, DB>,
    spec: Spec<'a>,
    words: &'a [&'a str],
    segment: Segment,
    limit: i64,
) where
    i64: Encode<'a, DB> + Type<DB>,
    NaiveDate: Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    qb.push(ROW_COLUMNS).push("1 = 1");
    push_scope(qb, spec.scope);
    push_filters(qb, spec.filters, spec.order);
    push_word_tests(qb, words);
    let ascending = matches!(
        spec.order,
        ListOrder::Client(ClientSort::DaysOverdueDesc | ClientSort::AmountAsc)
    );
    let (cmp, dir) = if ascending {
        (" > ", " ASC")
    } else {
        (" < ", " DESC")
    };
    let key = match (spec.order, segment) {
        (_, Segment::Undated) => {
            qb.push(" AND c.oldest_unpaid_due_date IS NULL");
            if let Some(ClientCursor::Date { date: None, id }) = spec.after {
                qb.push(" AND c.id").push(cmp).push_bind(id);
            }
            qb.push(" ORDER BY c.id").push(dir);
            qb.push(" LIMIT ").push_bind(limit);
            return;
        }
        (_, Segment::Dated) => {
            qb.push(" AND c.oldest_unpaid_due_date IS NOT NULL");
            if let Some(ClientCursor::Date { date: Some(d), id }) = spec.after {
                qb.push(" AND (c.oldest_unpaid_due_date, c.id)")
                    .push(cmp)
                    .push("(")
                    .push_bind(d)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            "c.oldest_unpaid_due_date"
        }
        (ListOrder::Recent, Segment::Any) => {
            if let Some(ClientCursor::Activity { at, id }) = spec.after {
                qb.push(" AND (c.last_activity_at, c.id)")
                    .push(cmp)
                    .push("(")
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            "c.last_activity_at"
        }
        (ListOrder::Client(_), Segment::Any) => {
            if let Some(ClientCursor::Amount { cents, id }) = spec.after {
                qb.push(" AND (c.overdue_total_cents, c.id)")
                    .push(cmp)
                    .push("(")
                    .push_bind(cents)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            "c.overdue_total_cents"
        }
    };
    qb.push(" ORDER BY ")
        .push(key)
        .push(dir)
        .push(", c.id")
        .push(dir)
        .push(" LIMIT ")
        .push_bind(limit);
}

async fn fetch_segment(
    db: &Db,
    spec: Spec<'_>,
    words: &[&str],
    segment: Segment,
    limit: usize,
) -> Result<Vec<ClientRow>, AppError> {
    let limit = limit as i64;
    Ok(on_db!(db, p => {
        let mut qb = QueryBuilder::new("");
        push_list_query(&mut qb, spec, words, segment, limit);
        qb.build_query_as::<ClientRow>().fetch_all(p).await
    })?)
}

/// A page read in sort-index order, testing each client for the search words (if any).
/// Day orders read clients with a due date, then those without, as two index ranges.
async fn index_page(
    db: &Db,
    spec: Spec<'_>,
    words: &[&str],
    wanted: usize,
) -> Result<Vec<ClientRow>, AppError> {
    if !matches!(
        spec.order,
        ListOrder::Client(ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc)
    ) {
        return fetch_segment(db, spec, words, Segment::Any, wanted).await;
    }
    let in_undated = matches!(spec.after, Some(ClientCursor::Date { date: None, .. }));
    let mut rows = if in_undated {
        Vec::new()
    } else {
        fetch_segment(db, spec, words, Segment::Dated, wanted).await?
    };
    if rows.len() < wanted {
        let spec = Spec {
            after: if in_undated { spec.after } else { None },
            ..spec
        };
        let more = fetch_segment(db, spec, words, Segment::Undated, wanted - rows.len()).await?;
        rows.extend(more);
    }
    Ok(rows)
}

/// One page of the clients list in the viewer's scope.
#[tracing::instrument(skip_all)]
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
#[tracing::instrument(skip_all)]
pub async fn list_planned(
    db: &Db,
    viewer: &Viewer,
    q: &ClientListQuery,
    today: NaiveDate,
    candidate_limit: i64,
) -> Result<ClientPage, AppError> {
    let scope = viewer.list_scope(q.all_clients);
    let filters = Filters {
        alerts: q.alerts,
        ..Filters::default()
    };
    let spec = Spec {
        scope,
        order: q.sort.into(),
        after: q.after,
        filters: &filters,
    };
    let (rows, next) = page(db, spec, &q.search, today, candidate_limit).await?;
    Ok(ClientPage {
        rows,
        next,
        may_see_all: viewer.may_see_all(),
        showing_all: scope == Scope::All,
    })
}

/// One page of any list of clients, and where the next one starts.
pub(crate) async fn page(
    db: &Db,
    spec: Spec<'_>,
    search: &str,
    today: NaiveDate,
    candidate_limit: i64,
) -> Result<(Vec<ClientRow>, Option<ClientCursor>), AppError> {
    let search = SearchQuery::parse(search)?;
    if spec.order == ListOrder::Recent && !spec.filters.conversations {
        return Err(AppError::invalid(
            "sort",
            "El orden por actividad reciente solo existe en Conversaciones.",
        ));
    }
    if spec.after.is_some_and(|c| !spec.order.fits(&c)) {
        return Err(AppError::invalid(
            "after",
            "La página pedida no corresponde al orden elegido.",
        ));
    }
    spec.filters
        .alerts
        .check()
        .map_err(|e| AppError::invalid("alerts", e))?;
    let wanted = PAGE_SIZE + 1;
    let filter = search_filter(db, search.as_ref(), candidate_limit).await?;
    // A selective search wins; otherwise a selective alert filter reads its clients
    // from the alert index, and a common one is tested on the sort index's walk.
    let by_alert = !spec.filters.alerts.is_empty()
        && matches!(filter, Filter::All | Filter::Probe { .. })
        && alert_selective(db, spec, candidate_limit).await?;
    let mut rows = match &filter {
        Filter::Nothing => Vec::new(),
        Filter::Candidates { rarest, others } => {
            candidates_page(db, spec, rarest, others, wanted).await?
        }
        Filter::All if by_alert => alert_candidates_page(db, spec, &[], wanted).await?,
        Filter::Probe { words } if by_alert => {
            alert_candidates_page(db, spec, words, wanted).await?
        }
        Filter::All => index_page(db, spec, &[], wanted).await?,
        Filter::Probe { words } => index_page(db, spec, words, wanted).await?,
    };
    let next = if rows.len() > PAGE_SIZE {
        rows.truncate(PAGE_SIZE);
        rows.last().map(|r| r.cursor(spec.order))
    } else {
        None
    };
    for r in &mut rows {
        r.days_overdue = days_overdue(r.oldest_unpaid_due_date, today);
    }
    Ok((rows, next))
}
