//! Debts (payment orders) and the per-client summary derived from them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Debt {
    pub id: i64,
    pub number: String,
    pub product: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub currency: String,
}

impl Debt {
    pub fn outstanding_cents(&self) -> i64 {
        self.amount_cents - self.paid_cents
    }
}

/// The parts of a debt the summary depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebtLine {
    pub due_date: NaiveDate,
    pub amount_cents: i64,
    pub paid_cents: i64,
}

/// The per-client columns kept next to the client row so that lists sort and filter by
/// index instead of aggregating debts. `next_due_date` is the earliest unpaid due date that
/// was not yet overdue when the summary was computed: once today passes it, the summary is
/// stale and the daily roll-forward recomputes it (only those clients, found by index).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtSummary {
    pub overdue_total_cents: i64,
    pub balance_cents: i64,
    pub unpaid_orders: i64,
    pub oldest_unpaid_due_date: Option<NaiveDate>,
    pub next_due_date: Option<NaiveDate>,
}

impl DebtSummary {
    /// A debt is overdue from the day after its due date.
    pub fn compute(lines: impl IntoIterator<Item = DebtLine>, today: NaiveDate) -> Self {
        let mut s = DebtSummary::default();
        for line in lines {
            let outstanding = line.amount_cents - line.paid_cents;
            if outstanding <= 0 {
                continue;
            }
            s.balance_cents += outstanding;
            s.unpaid_orders += 1;
            s.oldest_unpaid_due_date = Some(
                s.oldest_unpaid_due_date
                    .map_or(line.due_date, |d| d.min(line.due_date)),
            );
            if line.due_date < today {
                s.overdue_total_cents += outstanding;
            } else {
                s.next_due_date = Some(
                    s.next_due_date
                        .map_or(line.due_date, |d| d.min(line.due_date)),
                );
            }
        }
        s
    }
}

/// Days since the oldest unpaid due date; zero when nothing is overdue.
pub fn days_overdue(oldest_unpaid_due_date: Option<NaiveDate>, today: NaiveDate) -> i64 {
    oldest_unpaid_due_date.map_or(0, |d| (today - d).num_days().max(0))
}

/// Accepts ISO dates (2025-03-31) and the day-first form used across Latin America
/// (31/03/2025, 31-03-2025).
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Escribe la fecha.".into());
    }
    for format in ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, format) {
            if !crate::domain::report_params::YEARS.contains(&chrono::Datelike::year(&d)) {
                return Err(format!("La fecha «{s}» está fuera de rango."));
            }
            return Ok(d);
        }
    }
    Err(format!(
        "«{s}» no es una fecha válida; usa AAAA-MM-DD o DD/MM/AAAA."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn line(due: &str, amount: i64, paid: i64) -> DebtLine {
        DebtLine {
            due_date: d(due),
            amount_cents: amount,
            paid_cents: paid,
        }
    }

    #[test]
    fn summary_splits_overdue_from_not_yet_due() {
        let today = d("2026-11-23");
        let s = DebtSummary::compute(
            [
                line("2026-09-01", 10_000, 2_500),
                line("2026-11-22", 5_000, 0),
                line("2026-11-23", 7_000, 0),
                line("2026-12-15", 3_000, 0),
                line("2026-08-01", 9_000, 9_000),
            ],
            today,
        );
        assert_eq!(s.overdue_total_cents, 7_500 + 5_000);
        assert_eq!(s.balance_cents, 7_500 + 5_000 + 7_000 + 3_000);
        assert_eq!(s.unpaid_orders, 4);
        assert_eq!(s.oldest_unpaid_due_date, Some(d("2026-09-01")));
        assert_eq!(s.next_due_date, Some(d("2026-11-23")));
    }

    #[test]
    fn summary_of_nothing_owed_is_empty() {
        let s = DebtSummary::compute([line("2026-01-01", 100, 100)], d("2026-11-23"));
        assert_eq!(s, DebtSummary::default());
    }

    #[test]
    fn rolling_forward_past_next_due_date_moves_the_debt_into_overdue() {
        let lines = [line("2026-11-23", 7_000, 0)];
        let before = DebtSummary::compute(lines, d("2026-11-23"));
        let after = DebtSummary::compute(lines, d("2026-11-24"));
        assert_eq!(before.overdue_total_cents, 0);
        assert_eq!(after.overdue_total_cents, 7_000);
        assert_eq!(after.next_due_date, None);
    }

    #[test]
    fn days_overdue_counts_from_the_oldest_unpaid_due_date() {
        let today = d("2026-11-23");
        assert_eq!(days_overdue(Some(d("2026-11-13")), today), 10);
        assert_eq!(days_overdue(Some(d("2026-12-01")), today), 0);
        assert_eq!(days_overdue(None, today), 0);
    }

    #[test]
    fn dates_in_iso_and_day_first_forms() {
        assert_eq!(parse_date("2025-03-31"), Ok(d("2025-03-31")));
        assert_eq!(parse_date("31/03/2025"), Ok(d("2025-03-31")));
        assert_eq!(parse_date(" 31-03-2025 "), Ok(d("2025-03-31")));
        assert!(parse_date("31/02/2025")
            .unwrap_err()
            .contains("no es una fecha"));
        assert!(parse_date("1800-01-01")
            .unwrap_err()
            .contains("fuera de rango"));
        assert!(parse_date("").is_err());
    }
}
