//! A checked rule tree as a SQL condition on `clients c`. Only text written here
//! reaches the statement: column names and operators come from this file's match arms,
//! every value the user typed is bound. Each condition is two-valued (never NULL), so
//! that `NOT (…)` of a segment is exactly the clients outside it.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::alerts::ContactProblem;
use crate::domain::alerts::{AlertKey, AlertKind};
use crate::domain::compose::{point_kinds, problem_blocks};
use crate::domain::error::AppError;
use crate::domain::segments::{Span, Test, Tree, NO_PROMISE};
use crate::on_db;
use crate::server::clock::Clock;
use crate::server::db::Db;

/// Binds `$binds` in order to the query `$q`; one body for both engines' drivers.
macro_rules! bound {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for v in $binds {
            q = match v {
                Value::Int(x) => q.bind(*x),
                Value::Text(x) => q.bind(x.as_str()),
                Value::Date(x) => q.bind(*x),
                Value::Time(x) => q.bind(*x),
            };
        }
        q
    }};
}

/// A value bound to a placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

/// A statement being written: its text with `$n` placeholders, and their values.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            binds: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, v: Value) -> &mut Self {
        self.binds.push(v);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// Appends `tree` as one parenthesised condition.
    pub fn tree(&mut self, tree: &Tree, clock: &Clock) -> &mut Self {
        match tree {
            Tree::All(ts) | Tree::Any(ts) if ts.is_empty() => {
                self.push(if matches!(tree, Tree::All(_)) {
                    "(1 = 1)"
                } else {
                    "(1 = 0)"
                });
            }
            Tree::All(ts) | Tree::Any(ts) => {
                let joint = if matches!(tree, Tree::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        self.push(joint);
                    }
                    self.tree(t, clock);
                }
                self.push(")");
            }
            Tree::Test(t) => {
                self.push("(");
                self.test(t, clock);
                self.push(")");
            }
        }
        self
    }

    fn eq_text(&mut self, column: &str, is: bool, value: &str) {
        self.push(column)
            .push(if is { " = " } else { " <> " })
            .bind(Value::Text(value.to_string()));
    }

    fn exists(&mut self, is: bool, subquery: &str) -> &mut Self {
        self.push(if is { "EXISTS (" } else { "NOT EXISTS (" })
            .push(subquery)
    }

    /// `column` within one of the spans, for a NOT NULL whole-number column.
    fn spans(&mut self, column: &str, span: &Span) {
        self.any_of(span, |sql, lo, hi| {
            let mut parts = 0;
            if let Some(lo) = lo {
                sql.push(column).push(" >= ").bind(Value::Int(lo));
                parts += 1;
            }
            if let Some(hi) = hi {
                if parts > 0 {
                    sql.push(" AND ");
                }
                sql.push(column).push(" <= ").bind(Value::Int(hi));
                parts += 1;
            }
            if parts == 0 {
                sql.push("1 = 1");
            }
        });
    }

    fn any_of(&mut self, span: &Span, mut each: impl FnMut(&mut Sql, Option<i64>, Option<i64>)) {
        for (i, (lo, hi)) in span.0.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push("(");
            each(self, *lo, *hi);
            self.push(")");
        }
    }

    fn test(&mut self, t: &Test, clock: &Clock) {
        let today = clock.today;
        match t {
            // Days overdue is today minus the oldest due date when that has passed, and
            // zero otherwise: a range of days is a range of dates, plus the clients with
            // nothing overdue when zero is in it.
            Test::DaysOverdue(span) => self.any_of(span, |sql, lo, hi| {
                let lo = lo.map(|l| l.max(0));
                if hi.is_some_and(|h| h < 0) || lo.zip(hi).is_some_and(|(l, h)| l > h) {
                    sql.push("1 = 0");
                    return;
                }
                sql.push("(c.oldest_unpaid_due_date IS NOT NULL AND c.oldest_unpaid_due_date <= ")
                    .bind(Value::Date(today));
                if let Some(hi) = hi {
                    sql.push(" AND c.oldest_unpaid_due_date >= ")
                        .bind(Value::Date(today - Duration::days(hi)));
                }
                if let Some(lo) = lo {
                    sql.push(" AND c.oldest_unpaid_due_date <= ")
                        .bind(Value::Date(today - Duration::days(lo)));
                }
                sql.push(")");
                if lo.is_none_or(|l| l <= 0) {
                    sql.push(" OR c.oldest_unpaid_due_date IS NULL OR c.oldest_unpaid_due_date > ")
                        .bind(Value::Date(today));
                }
            }),
            // Days since the local day of the last message; never is longer than any.
            Test::DaysSinceContact(span) => self.any_of(span, |sql, lo, hi| {
                sql.push("(c.last_activity_at IS NOT NULL");
                if let Some(hi) = hi {
                    sql.push(" AND c.last_activity_at >= ")
                        .bind(Value::Time(clock.day_start(today - Duration::days(hi))));
                }
                if let Some(lo) = lo {
                    sql.push(" AND c.last_activity_at < ")
                        .bind(Value::Time(clock.day_start(today - Duration::days(lo - 1))));
                }
                sql.push(")");
                if hi.is_none() {
                    sql.push(" OR c.last_activity_at IS NULL");
                }
            }),
            Test::OverdueCents(span) => self.spans("c.overdue_total_cents", span),
            Test::UnpaidOrders(span) => self.spans("c.unpaid_orders", span),
            Test::Portfolio { is, value } => self.eq_text("c.segment", *is, value),
            Test::Country { is, value } => self.eq_text("c.country", *is, value),
            Test::Kind { is, value } => self.eq_text("c.kind", *is, value.as_str()),
            Test::Advisor { is, user_id } => {
                self.push(if *is {
                    "COALESCE(c.advisor_id, 0) = "
                } else {
                    "COALESCE(c.advisor_id, 0) <> "
                })
                .bind(Value::Int(*user_id));
            }
            Test::Supervisor { is, user_id } => {
                self.push(if *is {
                    "COALESCE(c.supervisor_id, 0) = "
                } else {
                    "COALESCE(c.supervisor_id, 0) <> "
                })
                .bind(Value::Int(*user_id));
            }
            Test::Product { is, value } => {
                self.exists(*is, "SELECT 1 FROM debts d WHERE d.client_id = c.id AND d.paid_cents < d.amount_cents AND d.product = ")
                    .bind(Value::Text(value.clone()))
                    .push(")");
            }
            Test::Alert { is, kind } => {
                let bit = AlertKind::bit(*kind);
                self.push(&format!(
                    "(c.alert_key & {bit}) {} 0",
                    if *is { "<>" } else { "=" }
                ));
            }
            Test::Contactability { is, value } => {
                let code = AlertKey::new(0, *value).0;
                self.push(&format!(
                    "(c.alert_key & 96) {} {code}",
                    if *is { "=" } else { "<>" }
                ));
            }
            Test::Promise { is, state } => self.eq_text(
                "COALESCE((SELECT p.state FROM promises p WHERE p.client_id = c.id ORDER BY p.created_at DESC, p.id DESC LIMIT 1), 'none')",
                *is,
                state.map_or(NO_PROMISE, |s| s.as_str()),
            ),
            Test::PendingInbound(yes) => {
                self.push(if *yes {
                    "c.pending_count > 0"
                } else {
                    "c.pending_count = 0"
                });
            }
            Test::Channel { is, channel } => {
                let kinds: Vec<String> = point_kinds(*channel)
                    .iter()
                    .map(|k| format!("'{}'", k.as_str()))
                    .collect();
                let blocking: Vec<String> = ContactProblem::ALL
                    .iter()
                    .filter(|p| problem_blocks(**p, *channel))
                    .map(|p| format!("'{}'", p.as_str()))
                    .collect();
                // Both lists hold only the enums' own names.
                self.exists(*is, &format!(
                    "SELECT 1 FROM contact_points cp JOIN parties pa ON pa.id = cp.party_id
                     WHERE cp.client_id = c.id AND pa.role = 'client' AND cp.kind IN ({})
                     AND (cp.failed_problem IS NULL OR cp.failed_problem NOT IN ({})))",
                    kinds.join(", "),
                    blocking.join(", ")
                ));
            }
        }
    }

    /// The rows the statement returns.
    pub async fn rows<T>(&self, db: &Db) -> Result<Vec<T>, AppError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        Ok(on_db!(db, p => bound!(sqlx::query_as(&self.text), &self.binds).fetch_all(p).await)?)
    }

    /// The single number a `SELECT COUNT(*)` returns.
    pub async fn count(&self, db: &Db) -> Result<i64, AppError> {
        let (n,): (i64,) =
            on_db!(db, p => bound!(sqlx::query_as(&self.text), &self.binds).fetch_one(p).await)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::segments::{Condition, Op, Rule, Variable};

    fn compiled(variable: Variable, op: Op, value: &str) -> Sql {
        let tree = Rule::Condition(Condition {
            variable,
            op,
            value: value.into(),
        })
        .check()
        .unwrap();
        let clock = Clock::at(
            "2026-11-24T15:00:00Z".parse().unwrap(),
            chrono_tz::America::Bogota,
        );
        let mut sql = Sql::new("");
        sql.tree(&tree, &clock);
        sql
    }

    #[test]
    fn typed_text_is_bound_never_written() {
        let hostile = "x' OR 1=1; DROP TABLE clients; --";
        for v in [Variable::Portfolio, Variable::Product, Variable::Country] {
            let sql = compiled(v, Op::Eq, hostile);
            assert!(!sql.text.contains("DROP"), "{}", sql.text);
            assert_eq!(
                sql.binds,
                vec![Value::Text(if v == Variable::Country {
                    hostile.to_uppercase()
                } else {
                    hostile.to_string()
                })]
            );
        }
    }

    #[test]
    fn days_overdue_becomes_a_date_range() {
        let sql = compiled(Variable::DaysOverdue, Op::Gt, "30");
        assert_eq!(
            sql.binds,
            vec![
                Value::Date("2026-11-24".parse().unwrap()),
                Value::Date("2026-10-24".parse().unwrap())
            ]
        );
        assert!(
            !sql.text.contains("IS NULL"),
            "more than 30 days excludes nothing overdue"
        );
        let zero = compiled(Variable::DaysOverdue, Op::Le, "3");
        assert!(
            zero.text.contains("IS NULL"),
            "up to 3 days includes nothing overdue"
        );
    }
}
