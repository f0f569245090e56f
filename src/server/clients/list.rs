//! The clients list: scoped keyset pages in four orders, and search, whose plan is
//! chosen from the data.

use chrono::NaiveDate;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::push_scope;
use crate::domain::debt::days_overdue;
use crate::domain::error::AppError;
use crate::domain::listing::{
    ClientCursor, ClientListQuery, ClientPage, ClientRow, ClientSort, PAGE_SIZE,
};
use crate::domain::search::{prefix_upper_bound, SearchQuery};
use crate::domain::user::{Scope, Viewer};
use crate::on_db;
use crate::server::db::{Db, Engine};

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
