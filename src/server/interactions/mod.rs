//! The Interacciones report: messages, call outcomes, payments to verify, promises and
//! portal visits of the clients the viewer may read, newest first, one keyset page at a
//! time. Each kind of record is read from its own table through its time index and the
//! pages are merged by (time, kind, id), so a page costs the same at any depth.

pub mod export;

use chrono::{DateTime, Duration, Utc};

use crate::domain::error::AppError;
use crate::domain::interactions::{
    ChannelFilter, Cursor, InteractionChoices, InteractionPage, InteractionQuery, InteractionRow,
    Kind, RecordType, StatusFilter,
};
use crate::domain::message::Origin;
use crate::domain::outcome::Outcome;
use crate::domain::report_params::Period;
use crate::domain::user::{Role, Scope, Viewer};
use crate::on_db;
use crate::server::clock::Clock;
use crate::server::db::{Db, Engine};
use crate::server::segments::sql::Value;
use crate::server::segments::{self, Sql};
use crate::server::users::PORTAL_USER_EMAIL;

/// The scope reports read: the viewer's own portfolio ("Clientes asociados"), so an
/// advisor's report and indicators are always their own clients.
pub fn report_scope(viewer: &Viewer) -> Scope {
    viewer.associated_scope()
}

/// `AND …` on `clients c` for the viewer's scope and the chosen advisor or team: the
/// clients every report reads.
pub(crate) fn portfolio(
    sql: &mut Sql,
    scope: Scope,
    advisor_id: Option<i64>,
    supervisor_id: Option<i64>,
) {
    holders(
        sql,
        ("c.advisor_id", "c.supervisor_id"),
        scope,
        advisor_id,
        supervisor_id,
    );
}

/// The same `AND …` on any pair of advisor and supervisor columns.
pub(crate) fn holders(
    sql: &mut Sql,
    (advisor_column, supervisor_column): (&str, &str),
    scope: Scope,
    advisor_id: Option<i64>,
    supervisor_id: Option<i64>,
) {
    let advisor = match scope {
        Scope::Advisor(id) => Some(id),
        _ => None,
    };
    let supervisor = match scope {
        Scope::Supervisor(id) => Some(id),
        _ => None,
    };
    for id in [advisor, advisor_id].into_iter().flatten() {
        sql.push(" AND ")
            .push(advisor_column)
            .push(" = ")
            .bind(Value::Int(id));
    }
    for id in [supervisor, supervisor_id].into_iter().flatten() {
        sql.push(" AND ")
            .push(supervisor_column)
            .push(" = ")
            .bind(Value::Int(id));
    }
}

/// How each kind's rows are matched to the clients the report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Joined to `clients c`, the planner choosing where to start: from the holder's
    /// clients (through their index) or from the newest rows.
    Joined,
    /// Newest rows first through each table's time index, each row's holder looked up
    /// by its client's id. SQLite's planner, given the statistics of a large portfolio,
    /// starts from the holder's clients and sorts all their rows of the period (an
    /// advisor's first page took 278 ms at a million clients), or builds a Bloom filter
    /// of the holder's clients on every page; a lookup per row is neither.
    LookedUp,
}

/// A checked query and what it needs besides the filters.
#[derive(Clone)]
pub struct Reading {
    scope: Scope,
    holding: Holding,
    clock: Clock,
    limit: usize,
    query: InteractionQuery,
    period: Period,
    segment: Option<crate::domain::segments::Tree>,
    portal_user: i64,
}

impl Reading {
    /// Checks the query and reads what it refers to: the segment's rule and the portal's
    /// user. A missing segment is an error, never an unfiltered report.
    pub async fn new(
        db: &Db,
        viewer: &Viewer,
        query: &InteractionQuery,
        clock: Clock,
        limit: usize,
    ) -> Result<Reading, AppError> {
        let period = query
            .period(clock.today)
            .map_err(|e| AppError::invalid("period", e))?;
        let segment = match query.segment_id {
            None => None,
            Some(id) => Some(segments::tree(db, id).await.map_err(|e| match e {
                AppError::NotFound => {
                    AppError::invalid("segment", "El segmento elegido ya no existe.".to_string())
                }
                other => other,
            })?),
        };
        let (portal_user,): (i64,) = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM users WHERE email = $1").bind(PORTAL_USER_EMAIL).fetch_one(p).await)?;
        let scope = report_scope(viewer);
        let holding = if db.engine() == Engine::Sqlite && segment.is_none() {
            holding(db, scope, query, limit).await?
        } else {
            Holding::Joined
        };
        Ok(Reading {
            scope,
            holding,
            clock,
            limit,
            query: query.clone(),
            period,
            segment,
            portal_user,
        })
    }

    /// The same reading matched to its clients the other way: both give the same rows.
    pub fn with_holding(self, holding: Holding) -> Reading {
        Reading { holding, ..self }
    }

    /// The kinds of record the filters leave in.
    pub fn kinds(&self) -> Vec<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .filter(|k| self.query.admits(*k))
            .collect()
    }

    /// The rows after `after`, at most `limit` of them, and where the next page starts.
    pub async fn page(&self, db: &Db, after: Option<Cursor>) -> Result<InteractionPage, AppError> {
        let rows = self.read(db, &self.kinds(), after).await?;
        let next = if rows.len() == self.limit {
            rows.last().map(InteractionRow::cursor)
        } else {
            None
        };
        Ok(InteractionPage {
            rows,
            next,
            from: Some(self.period.from),
            to: Some(self.period.to),
        })
    }

    /// The newest rows of `kinds` after `after`, at most `limit`: each kind from its own
    /// table, merged by (time, kind, id).
    pub async fn read(
        &self,
        db: &Db,
        kinds: &[Kind],
        after: Option<Cursor>,
    ) -> Result<Vec<InteractionRow>, AppError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let clock = &self.clock;
        let start = clock.day_start(self.period.from);
        let end = clock.day_start(self.period.to + Duration::days(1));
        let mut sql = Sql::new(
            "SELECT x.rank, x.id, x.at, x.registered_at, x.client_id, x.record_type, x.channel, x.origin,
                x.status, t.name AS template_name, x.detail, x.outcome, x.amount_cents, x.currency, x.error,
                x.notes, x.user_id, u.name AS user_name, c.display_name AS client_name,
                c.document_number AS document, a.name AS advisor, s.name AS supervisor
             FROM (",
        );
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT * FROM (");
            self.arm(&mut sql, *kind, (start, end), Want::Rows { after }, clock);
            sql.push(&format!(") k{i}"));
        }
        sql.push(
            // `+` keeps the few merged rows the outer loop: SQLite would otherwise scan
            // every client and probe them through an automatic index.
            ") x JOIN clients c ON c.id = +x.client_id
             LEFT JOIN users a ON a.id = c.advisor_id
             LEFT JOIN users s ON s.id = c.supervisor_id
             LEFT JOIN users u ON u.id = x.user_id
             LEFT JOIN templates t ON t.id = x.template_id
             ORDER BY x.at DESC, x.rank DESC, x.id DESC LIMIT ",
        )
        .bind(Value::Int(self.limit as i64));
        let raws: Vec<Raw> = sql.rows(db).await?;
        raws.into_iter().map(|r| r.into_row(clock)).collect()
    }

    /// The columns every kind projects, typed so that both engines agree.
    fn columns(sql: &mut Sql, kind: Kind, portal: &Value) {
        match kind {
            Kind::Message => {
                sql.push(
                    "SELECT CAST(0 AS BIGINT) AS rank, r.id AS id, r.occurred_at AS at, r.created_at AS registered_at,
                        r.client_id AS client_id,
                        CASE r.direction WHEN 'internal' THEN 'management' ELSE r.direction END AS record_type,
                        r.channel AS channel, r.origin AS origin, r.status AS status, r.template_id AS template_id,
                        CASE WHEN r.subject <> '' THEN r.subject ELSE SUBSTR(r.body, 1, 200) END AS detail,
                        CAST(NULL AS TEXT) AS outcome, CAST(NULL AS BIGINT) AS amount_cents,
                        CAST(NULL AS TEXT) AS currency,
                        CASE WHEN r.status = 'failed' THEN COALESCE((SELECT ms.detail FROM message_statuses ms
                            WHERE ms.message_id = r.id AND ms.status = 'failed' ORDER BY ms.at DESC, ms.id DESC
                            LIMIT 1), '') ELSE '' END AS error,
                        '' AS notes, r.author_id AS user_id",
                );
            }
            Kind::Outcome => {
                sql.push(
                    "SELECT CAST(1 AS BIGINT) AS rank, r.id AS id, r.occurred_at AS at, r.occurred_at AS registered_at,
                        r.client_id AS client_id, 'management' AS record_type, 'call' AS channel,
                        'manual' AS origin, CAST(NULL AS TEXT) AS status, CAST(NULL AS BIGINT) AS template_id,
                        r.reason AS detail, r.outcome AS outcome, r.amount_cents AS amount_cents,
                        r.currency AS currency, '' AS error, r.note AS notes, r.user_id AS user_id",
                );
            }
            Kind::Payment => {
                sql.push(
                    "SELECT CAST(2 AS BIGINT) AS rank, r.id AS id, r.declared_at AS at, r.declared_at AS registered_at,
                        r.client_id AS client_id, 'management' AS record_type, ",
                );
                declared_by(sql, "r.declared_by", portal);
                sql.push(
                    "r.status AS status,
                        CAST(NULL AS BIGINT) AS template_id,
                        'Pagado el ' || CAST(r.paid_on AS TEXT)
                            || CASE WHEN r.method <> '' THEN ' · ' || r.method ELSE '' END
                            || CASE WHEN r.reference <> '' THEN ' · Ref. ' || r.reference ELSE '' END AS detail,
                        CAST(NULL AS TEXT) AS outcome, r.amount_cents AS amount_cents, r.currency AS currency,
                        CASE WHEN r.status = 'rejected' THEN r.review_reason ELSE '' END AS error,
                        r.note AS notes, r.declared_by AS user_id",
                );
            }
            Kind::Promise => {
                sql.push(
                    "SELECT CAST(3 AS BIGINT) AS rank, r.id AS id, r.created_at AS at, r.created_at AS registered_at,
                        r.client_id AS client_id, 'management' AS record_type, ",
                );
                declared_by(sql, "r.created_by", portal);
                sql.push(
                    "r.state AS status,
                        CAST(NULL AS BIGINT) AS template_id,
                        'Pagará el ' || CAST(r.promised_date AS TEXT) AS detail,
                        CAST(NULL AS TEXT) AS outcome, r.amount_cents AS amount_cents, r.currency AS currency,
                        '' AS error, '' AS notes, r.created_by AS user_id",
                );
            }
            Kind::Visit => {
                sql.push(
                    "SELECT CAST(4 AS BIGINT) AS rank, r.id AS id, r.visited_at AS at, r.visited_at AS registered_at,
                        r.client_id AS client_id, 'inbound' AS record_type, 'portal' AS channel,
                        CAST(NULL AS TEXT) AS origin, ",
                )
                .push(VISIT_STATE)
                .push(
                    " AS status, CAST(NULL AS BIGINT) AS template_id, r.page_name AS detail,
                        CAST(NULL AS TEXT) AS outcome, CAST(NULL AS BIGINT) AS amount_cents,
                        CAST(NULL AS TEXT) AS currency, '' AS error, '' AS notes,
                        CAST(NULL AS BIGINT) AS user_id",
                );
            }
            Kind::Decision => {
                sql.push(
                    "SELECT CAST(5 AS BIGINT) AS rank, r.id AS id, r.decided_at AS at, r.decided_at AS registered_at,
                        r.client_id AS client_id, 'outbound' AS record_type, r.channel AS channel, ",
                )
                .push(DECISION_ORIGIN)
                .push(" AS origin, ")
                .push(DECISION_STATUS)
                .push(
                    " AS status, CAST(NULL AS BIGINT) AS template_id, r.reasons AS detail,
                        CAST(NULL AS TEXT) AS outcome, CAST(NULL AS BIGINT) AS amount_cents,
                        CAST(NULL AS TEXT) AS currency, '' AS error, r.override_reason AS notes,
                        r.user_id AS user_id",
                );
            }
        }
    }

    /// How many rows the whole report holds: what a download of it writes.
    pub async fn count(&self, db: &Db) -> Result<i64, AppError> {
        let clock = &self.clock;
        let period = (
            clock.day_start(self.period.from),
            clock.day_start(self.period.to + Duration::days(1)),
        );
        let mut total = 0;
        for kind in self.kinds() {
            let mut sql = Sql::new("");
            self.arm(&mut sql, kind, period, Want::Count, clock);
            total += sql.count(db).await?;
        }
        Ok(total)
    }

    /// One kind's newest rows in the period that pass the filters, already limited; or
    /// how many there are.
    fn arm(
        &self,
        sql: &mut Sql,
        kind: Kind,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        want: Want,
        clock: &Clock,
    ) {
        let q = &self.query;
        let portal = Value::Int(self.portal_user);
        let (table, at) = kind_table(kind);
        let after = match want {
            Want::Rows { after } => {
                Self::columns(sql, kind, &portal);
                after
            }
            Want::Count => {
                sql.push("SELECT COUNT(*) AS n");
                None
            }
        };
        sql.push(" FROM ").push(table).push(" r");
        // Looking the holder up filters by it; without one to filter by (or with a
        // segment, which reads the client), the join is what leaves out the messages
        // of no client.
        if self.holding == Holding::Joined
            || self.segment.is_some()
            || !held(self.scope, &self.query)
        {
            sql.push(" JOIN clients c ON c.id = r.client_id");
        }
        sql.push(" WHERE ");
        if kind == Kind::Decision {
            sql.push("r.verdict <> 'allow' AND ");
        }
        sql.push(at).push(" >= ").bind(Value::Time(start));
        // One upper bound only: the period's end on the first page, then the cursor,
        // which is always tighter. Given two, SQLite may start the index range at the
        // looser one and read the whole period up to the cursor on every page; PostgreSQL
        // cannot start it at an OR at all, hence `at <= A AND (at < A OR id < I)`.
        match after {
            None => {
                sql.push(" AND ")
                    .push(at)
                    .push(" < ")
                    .bind(Value::Time(end));
            }
            Some(c) => {
                let a = Value::Time(c.at);
                sql.push(" AND ").push(at);
                match kind.rank().cmp(&c.kind.rank()) {
                    std::cmp::Ordering::Less => {
                        sql.push(" <= ").bind(a);
                    }
                    std::cmp::Ordering::Greater => {
                        sql.push(" < ").bind(a);
                    }
                    std::cmp::Ordering::Equal => {
                        sql.push(" <= ")
                            .bind(a.clone())
                            .push(" AND (")
                            .push(at)
                            .push(" < ")
                            .bind(a)
                            .push(" OR r.id < ")
                            .bind(Value::Int(c.id))
                            .push(")");
                    }
                }
            }
        }
        match self.holding {
            Holding::Joined => portfolio(sql, self.scope, q.advisor_id, q.supervisor_id),
            Holding::LookedUp => holders(
                sql,
                (
                    "(SELECT h.advisor_id FROM clients h WHERE h.id = r.client_id)",
                    "(SELECT h.supervisor_id FROM clients h WHERE h.id = r.client_id)",
                ),
                self.scope,
                q.advisor_id,
                q.supervisor_id,
            ),
        }
        if let Some(tree) = &self.segment {
            sql.push(" AND ").tree(tree, clock);
        }
        self.kind_filters(sql, kind, portal);
        if want != Want::Count {
            sql.push(" ORDER BY ")
                .push(at)
                .push(" DESC, r.id DESC LIMIT ")
                .bind(Value::Int(self.limit as i64));
        }
    }

    /// The type, channel, status and origin filters, as they read on this kind's table.
    /// Kinds a filter rules out entirely never get here ([`InteractionQuery::admits`]).
    fn kind_filters(&self, sql: &mut Sql, kind: Kind, portal: Value) {
        let q = &self.query;
        let text = |s: &str| Value::Text(s.to_string());
        if kind == Kind::Message {
            if let Some(t) = q.record_type {
                let direction = match t {
                    RecordType::Inbound => "inbound",
                    RecordType::Outbound => "outbound",
                    RecordType::Management => "internal",
                };
                sql.push(" AND r.direction = ").bind(text(direction));
            }
            if let Some(c) = q.channel {
                sql.push(" AND r.channel = ").bind(text(c.as_str()));
            }
            if let Some(s) = q.status {
                sql.push(" AND r.status = ").bind(text(s.as_str()));
            }
            if let Some(o) = q.origin {
                sql.push(" AND r.origin = ").bind(text(o.as_str()));
            }
            return;
        }
        if kind == Kind::Decision {
            if let Some(c) = q.channel {
                sql.push(" AND r.channel = ").bind(text(c.as_str()));
            }
            if let Some(s) = q.status {
                sql.push(" AND ")
                    .push(DECISION_STATUS)
                    .push(" = ")
                    .bind(text(s.as_str()));
            }
            if let Some(o) = q.origin {
                sql.push(" AND ")
                    .push(DECISION_ORIGIN)
                    .push(" = ")
                    .bind(text(o.as_str()));
            }
            return;
        }
        let by = match kind {
            Kind::Payment => Some("r.declared_by"),
            Kind::Promise => Some("r.created_by"),
            _ => None,
        };
        if let Some(by) = by {
            if q.channel == Some(ChannelFilter::Portal) {
                sql.push(" AND ").push(by).push(" = ").bind(portal.clone());
            }
            if q.origin.is_some() {
                sql.push(" AND ").push(by).push(" <> ").bind(portal);
            }
        }
        if let Some(s) = q.status {
            let column = match kind {
                Kind::Payment => "r.status",
                Kind::Promise => "r.state",
                _ => VISIT_STATE,
            };
            sql.push(" AND ")
                .push(column)
                .push(" = ")
                .bind(text(s.as_str()));
        }
    }
}

/// Whether the report covers one holder's clients: an advisor's, a team's, or one of
/// them chosen in the filters.
/// What an arm reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// The newest rows after the cursor.
    Rows {
        after: Option<Cursor>,
    },
    Count,
}

/// Each kind's table and the column its time is in.
fn kind_table(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Message => ("messages", "r.occurred_at"),
        Kind::Outcome => ("outcomes", "r.occurred_at"),
        Kind::Payment => ("payments", "r.declared_at"),
        Kind::Promise => ("promises", "r.created_at"),
        Kind::Visit => ("portal_visits", "r.visited_at"),
        Kind::Decision => ("contact_decisions", "r.decided_at"),
    }
}

fn held(scope: Scope, query: &InteractionQuery) -> bool {
    matches!(scope, Scope::Advisor(_) | Scope::Supervisor(_))
        || query.advisor_id.is_some()
        || query.supervisor_id.is_some()
}

/// SQLite's matching for a report of one holder's clients. Newest first through the
/// time index reads about `limit ÷ share` rows of each kind, whatever the size of the
/// portfolio; starting from the holder's clients reads about `share × clients` of them
/// and all their rows of the period. The first is cheaper when
/// `share² × clients ≥ limit`, that is when the holder's clients squared reach
/// `limit × all clients` (an advisor with a quarter of a million clients: yes; one with
/// a few hundred: no). The shares are read from the counters Indicadores keeps.
async fn holding(
    db: &Db,
    scope: Scope,
    query: &InteractionQuery,
    limit: usize,
) -> Result<Holding, AppError> {
    if !held(scope, query) {
        return Ok(Holding::Joined);
    }
    let mut sql = Sql::new(
        "SELECT CAST(COALESCE(SUM(k.clients), 0) AS BIGINT),
            (SELECT CAST(COALESCE(SUM(a.clients), 0) AS BIGINT) FROM portfolio_keys a)
         FROM portfolio_keys k WHERE 1 = 1",
    );
    holders(
        &mut sql,
        ("k.advisor_key", "k.supervisor_key"),
        scope,
        query.advisor_id,
        query.supervisor_id,
    );
    let counts: Vec<(i64, i64)> = sql.rows(db).await?;
    let (holder, all) = counts.first().copied().unwrap_or((0, 0));
    let (holder, all) = (i128::from(holder), i128::from(all));
    Ok(if holder * holder >= limit as i128 * all {
        Holding::LookedUp
    } else {
        Holding::Joined
    })
}

/// A visit's status: the last step the debtor reached on the portal.
const VISIT_STATE: &str = "(SELECT vs.state FROM portal_visit_states vs WHERE vs.visit_id = r.id
    ORDER BY vs.at DESC, vs.id DESC LIMIT 1)";

/// A stopped contact attempt's status: blocked, or sent over a warning with a reason.
const DECISION_STATUS: &str =
    "CASE r.verdict WHEN 'block' THEN 'policy_blocked' ELSE 'policy_overridden' END";

/// Who attempted it: an advisor by hand, or the scheduler job named after the origin.
const DECISION_ORIGIN: &str = "CASE WHEN r.job = '' THEN 'manual' ELSE r.job END";

/// The channel and origin columns of a payment or promise: the portal's when the debtor
/// declared it there (`by` is then the portal's user), a user's by hand otherwise.
fn declared_by(sql: &mut Sql, by: &str, portal: &Value) {
    sql.push("CASE WHEN ")
        .push(by)
        .push(" = ")
        .bind(portal.clone())
        .push(" THEN 'portal' END AS channel, CASE WHEN ")
        .push(by)
        .push(" = ")
        .bind(portal.clone())
        .push(" THEN NULL ELSE 'manual' END AS origin, ");
}

#[derive(sqlx::FromRow)]
struct Raw {
    rank: i64,
    id: i64,
    at: DateTime<Utc>,
    registered_at: DateTime<Utc>,
    client_id: i64,
    record_type: RecordType,
    channel: Option<ChannelFilter>,
    origin: Option<Origin>,
    status: Option<String>,
    template_name: Option<String>,
    detail: Option<String>,
    outcome: Option<Outcome>,
    amount_cents: Option<i64>,
    currency: Option<String>,
    error: Option<String>,
    notes: Option<String>,
    user_id: Option<i64>,
    user_name: Option<String>,
    client_name: String,
    document: String,
    advisor: Option<String>,
    supervisor: Option<String>,
}

impl Raw {
    fn into_row(self, clock: &Clock) -> Result<InteractionRow, AppError> {
        let kind = Kind::from_rank(self.rank)
            .ok_or_else(|| crate::server::db::corrupt("interaction kind", self.rank.to_string()))?;
        let status = match self.status {
            None => None,
            Some(s) => Some(
                StatusFilter::parse(&s)
                    .ok_or_else(|| crate::server::db::corrupt("interaction status", s.clone()))?,
            ),
        };
        let local = |t: DateTime<Utc>| clock.local(t);
        Ok(InteractionRow {
            kind,
            id: self.id,
            at: self.at,
            at_local: local(self.at),
            registered_local: local(self.registered_at),
            record_type: self.record_type,
            channel: self.channel,
            client_id: self.client_id,
            client_name: self.client_name,
            document: self.document,
            advisor: self.advisor,
            supervisor: self.supervisor,
            origin: self.origin,
            template: self.template_name,
            detail: self.detail.unwrap_or_default(),
            outcome: self.outcome,
            amount_cents: self.amount_cents,
            currency: self.currency,
            status,
            error: self.error.unwrap_or_default(),
            notes: self.notes.unwrap_or_default(),
            user_id: self.user_id,
            user_name: self.user_name,
        })
    }
}

/// One page of the report for the screen.
#[tracing::instrument(skip_all)]
pub async fn page(
    db: &Db,
    viewer: &Viewer,
    query: &InteractionQuery,
    clock: Clock,
) -> Result<InteractionPage, AppError> {
    let reading = Reading::new(
        db,
        viewer,
        query,
        clock,
        crate::domain::interactions::PAGE_SIZE,
    )
    .await?;
    reading.page(db, query.after).await
}

/// The advisors, supervisors and segments the viewer may filter by: for an advisor only
/// themself, for a supervisor their team, for an administrator everyone who holds
/// clients.
#[tracing::instrument(skip_all)]
pub async fn choices(db: &Db, viewer: &Viewer) -> Result<InteractionChoices, AppError> {
    let people = |role: &'static str| async move {
        let mut sql = Sql::new("SELECT id, name FROM users WHERE role = ");
        sql.bind(Value::Text(role.to_string()))
            .push(" AND email <> ")
            .bind(Value::Text(PORTAL_USER_EMAIL.to_string()));
        match report_scope(viewer) {
            Scope::All => {}
            Scope::Advisor(id) => {
                sql.push(" AND id = ").bind(Value::Int(id));
            }
            Scope::Supervisor(id) => {
                sql.push(" AND (id = ")
                    .bind(Value::Int(id))
                    .push(" OR supervisor_id = ")
                    .bind(Value::Int(id))
                    .push(")");
            }
        }
        sql.push(" ORDER BY name, id");
        sql.rows::<(i64, String)>(db).await
    };
    let advisors = people(Role::Advisor.as_str()).await?;
    let supervisors = people(Role::Supervisor.as_str()).await?;
    let segments = segments::list(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    Ok(InteractionChoices {
        advisors,
        supervisors,
        segments,
    })
}
