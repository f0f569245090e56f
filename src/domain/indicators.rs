//! Indicadores de gestión (seed 004 §5): the portfolio's contactability and alerts, the
//! contact and promise rates of each advisor and team over a period, payments waiting
//! for verification, DSO and aging. The arithmetic lives here; the service only counts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::alerts::{AlertKey, AlertKind, Contactability};
use crate::domain::report_params::{Params, Period};

/// The aging buckets, by days overdue of each unpaid debt: (first day, last day).
pub const BUCKETS: [(i64, Option<i64>); 5] = [
    (1, Some(30)),
    (31, Some(60)),
    (61, Some(90)),
    (91, Some(180)),
    (181, None),
];

/// The days DSO looks back over.
pub const DSO_DAYS: i64 = 90;

pub fn bucket_label(i: usize) -> String {
    match BUCKETS.get(i) {
        Some((from, Some(to))) => format!("{from}–{to} días"),
        Some((from, None)) => format!("Más de {} días", from - 1),
        None => String::new(),
    }
}

/// The bucket a debt `days` overdue falls in; `None` when it is not overdue.
pub fn bucket_of(days: i64) -> Option<usize> {
    BUCKETS
        .iter()
        .position(|(from, to)| days >= *from && to.is_none_or(|t| days <= t))
}

/// The filters: the period of the rates and whose portfolio.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
}

impl IndicatorQuery {
    /// The chosen days, or the last 30 up to today.
    pub fn period(&self, today: NaiveDate) -> Result<Period, String> {
        Period::settle(self.from, self.to, today)
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(d) = self.from {
            p.push(("desde", d.to_string()));
        }
        if let Some(d) = self.to {
            p.push(("hasta", d.to_string()));
        }
        if let Some(id) = self.advisor_id {
            p.push(("asesor", id.to_string()));
        }
        if let Some(id) = self.supervisor_id {
            p.push(("supervisor", id.to_string()));
        }
        p
    }

    /// Back from the address bar. A value that cannot be read is an error naming its
    /// field, never a filter silently dropped.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let p = Params(get);
        Ok(IndicatorQuery {
            from: p.date("desde", "Desde")?,
            to: p.date("hasta", "Hasta")?,
            advisor_id: p.id("asesor", "Asesor")?,
            supervisor_id: p.id("supervisor", "Supervisor")?,
        })
    }
}

/// What happened in the period on one portfolio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    /// Call outcomes registered.
    pub outcomes: i64,
    /// Of those, contacts with the debtor in person.
    pub right_party: i64,
    /// Promises to pay registered.
    pub promises: i64,
    /// Promises whose fate was settled in the period: kept or broken.
    pub kept: i64,
    pub broken: i64,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Rates {
    /// Right-party contacts per call outcome.
    pub fn right_party_rate(&self) -> Option<f64> {
        ratio(self.right_party, self.outcomes)
    }

    /// Promises per right-party contact.
    pub fn promise_rate(&self) -> Option<f64> {
        ratio(self.promises, self.right_party)
    }

    /// Kept promises per promise settled.
    pub fn kept_rate(&self) -> Option<f64> {
        ratio(self.kept, self.kept + self.broken)
    }

    pub fn add(&mut self, other: &Rates) {
        self.outcomes += other.outcomes;
        self.right_party += other.right_party;
        self.promises += other.promises;
        self.kept += other.kept;
        self.broken += other.broken;
    }
}

/// A rate as a percentage with one decimal ("45,5 %"), or a dash when there is nothing
/// to divide by.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        None => "—".to_string(),
        Some(r) => format!("{:.1} %", r * 100.0).replace('.', ","),
    }
}

/// One advisor's or team's rates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRates {
    /// The advisor or supervisor; `None` for clients nobody is assigned.
    pub user_id: Option<i64>,
    pub name: String,
    pub rates: Rates,
}

/// Money owed in one currency, as of today.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivables {
    pub currency: String,
    /// Unpaid amounts of the debts already due.
    pub overdue_cents: i64,
    /// The amounts of the debts that fell due in the last [`DSO_DAYS`] days.
    pub due_recently_cents: i64,
    /// Overdue amounts per [`BUCKETS`] entry.
    pub buckets: [i64; 5],
    /// Payments to verify not yet reviewed: how many and how much.
    pub to_verify: i64,
    pub to_verify_cents: i64,
}

impl Receivables {
    /// Days sales outstanding: overdue ÷ amount due in the last 90 days × 90. `None`
    /// when nothing fell due in those days.
    pub fn dso(&self) -> Option<f64> {
        ratio(self.overdue_cents, self.due_recently_cents).map(|r| r * DSO_DAYS as f64)
    }
}

/// Everything the page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub clients: i64,
    pub contactability: Vec<(Contactability, i64)>,
    pub alerts: Vec<(AlertKind, i64)>,
    pub total: Rates,
    pub advisors: Vec<GroupRates>,
    pub teams: Vec<GroupRates>,
    pub receivables: Vec<Receivables>,
    pub blocked: Blocked,
}

/// "Contactos bloqueados por política" over the period: per advisor's portfolio and per
/// rule. An attempt stopped by two rules counts once for the advisor and once per rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub total: i64,
    pub by_advisor: Vec<(String, i64)>,
    pub by_rule: Vec<(String, i64)>,
}

impl Blocked {
    /// From counts per (advisor's name, the rules as the audit stores them), biggest
    /// first, then by name.
    pub fn tally(counts: &[(String, String, i64)]) -> Blocked {
        let mut advisors: std::collections::BTreeMap<&str, i64> = Default::default();
        let mut rules: std::collections::BTreeMap<&str, i64> = Default::default();
        let mut total = 0;
        for (advisor, stored, n) in counts {
            total += n;
            *advisors.entry(advisor).or_default() += n;
            for rule in stored.split(", ").filter(|r| !r.is_empty()) {
                *rules.entry(rule).or_default() += n;
            }
        }
        let sorted = |m: std::collections::BTreeMap<&str, i64>| {
            let mut v: Vec<(String, i64)> =
                m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        Blocked {
            total,
            by_advisor: sorted(advisors),
            by_rule: sorted(rules),
        }
    }
}

/// How many clients, per contactability value and under each alert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub clients: i64,
    pub contactability: Vec<(Contactability, i64)>,
    pub alerts: Vec<(AlertKind, i64)>,
}

/// The distribution of contactability and the clients under each alert, from the count
/// of clients per [`AlertKey`]. Every value is listed, in the order the seed gives.
pub fn tally_keys(keys: &[(i64, i64)]) -> Tally {
    let order = [
        Contactability::NotContactable,
        Contactability::WithProblems,
        Contactability::Contactable,
        Contactability::New,
    ];
    let mut contact: Vec<(Contactability, i64)> = order.iter().map(|c| (*c, 0)).collect();
    let mut alerts: Vec<(AlertKind, i64)> = AlertKind::ALL.iter().map(|k| (*k, 0)).collect();
    let mut total = 0;
    for (key, n) in keys {
        let key = AlertKey(*key);
        total += n;
        if let Some(slot) = contact.iter_mut().find(|(c, _)| *c == key.contactability()) {
            slot.1 += n;
        }
        for kind in key.kinds() {
            if let Some(slot) = alerts.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 += n;
            }
        }
    }
    Tally {
        clients: total,
        contactability: contact,
        alerts,
    }
}

/// A bar of a chart: its label, its value and the value as shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

/// Each bar's length as a share of the longest (0 to 1); all zero when nothing counts.
pub fn bar_shares(bars: &[Bar]) -> Vec<f64> {
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    bars.iter()
        .map(|b| {
            if max > 0.0 {
                b.value.max(0.0) / max
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_divide_only_what_can_be_divided() {
        let r = Rates {
            outcomes: 8,
            right_party: 4,
            promises: 3,
            kept: 1,
            broken: 2,
        };
        assert_eq!(r.right_party_rate(), Some(0.5));
        assert_eq!(r.promise_rate(), Some(0.75));
        assert_eq!(percent(r.kept_rate()), "33,3 %");
        assert_eq!(Rates::default().right_party_rate(), None);
        assert_eq!(percent(None), "—");
        let mut sum = Rates::default();
        sum.add(&r);
        sum.add(&r);
        assert_eq!(sum.outcomes, 16);
        assert_eq!(sum.kept_rate(), r.kept_rate());
    }

    #[test]
    fn dso_is_overdue_over_recent_dues_times_ninety() {
        let r = Receivables {
            currency: "COP".into(),
            overdue_cents: 300_000,
            due_recently_cents: 900_000,
            ..Default::default()
        };
        assert_eq!(r.dso(), Some(30.0));
        assert_eq!(Receivables::default().dso(), None);
    }

    #[test]
    fn buckets_cover_every_overdue_day_once() {
        assert_eq!(bucket_of(0), None);
        assert_eq!(bucket_of(-3), None);
        assert_eq!(bucket_of(1), Some(0));
        assert_eq!(bucket_of(30), Some(0));
        assert_eq!(bucket_of(31), Some(1));
        assert_eq!(bucket_of(90), Some(2));
        assert_eq!(bucket_of(91), Some(3));
        assert_eq!(bucket_of(180), Some(3));
        assert_eq!(bucket_of(181), Some(4));
        assert_eq!(bucket_of(5000), Some(4));
        assert_eq!(bucket_label(0), "1–30 días");
        assert_eq!(bucket_label(4), "Más de 180 días");
    }

    #[test]
    fn keys_tally_into_the_four_values_and_each_alert() {
        let wont = AlertKey::new(AlertKind::WontPay.bit(), Contactability::Contactable).0;
        let both = AlertKey::new(
            AlertKind::CantPay.bit() | AlertKind::Contactability.bit(),
            Contactability::WithProblems,
        )
        .0;
        let fresh = AlertKey::new(0, Contactability::New).0;
        let Tally {
            clients: total,
            contactability: contact,
            alerts,
        } = tally_keys(&[(wont, 2), (both, 3), (fresh, 5)]);
        assert_eq!(total, 10);
        assert_eq!(
            contact,
            vec![
                (Contactability::NotContactable, 0),
                (Contactability::WithProblems, 3),
                (Contactability::Contactable, 2),
                (Contactability::New, 5),
            ]
        );
        let of = |k: AlertKind| alerts.iter().find(|(a, _)| *a == k).unwrap().1;
        assert_eq!(of(AlertKind::WontPay), 2);
        assert_eq!(of(AlertKind::CantPay), 3);
        assert_eq!(of(AlertKind::Contactability), 3);
        assert_eq!(of(AlertKind::Refinancing), 0);
    }

    #[test]
    fn bars_scale_to_the_longest() {
        let bar = |v: f64| Bar {
            label: String::new(),
            value: v,
            text: String::new(),
        };
        assert_eq!(
            bar_shares(&[bar(2.0), bar(4.0), bar(0.0)]),
            vec![0.5, 1.0, 0.0]
        );
        assert_eq!(bar_shares(&[bar(0.0)]), vec![0.0]);
    }

    #[test]
    fn blocked_attempts_count_per_advisor_and_per_rule() {
        let b = Blocked::tally(&[
            ("Ana".into(), "Horario".into(), 3),
            ("Ana".into(), "Horario, Un contacto al día".into(), 1),
            ("Beto".into(), "Un contacto al día".into(), 5),
        ]);
        assert_eq!(b.total, 9);
        assert_eq!(b.by_advisor, vec![("Beto".into(), 5), ("Ana".into(), 4)]);
        assert_eq!(
            b.by_rule,
            vec![("Un contacto al día".into(), 6), ("Horario".into(), 4)]
        );
        assert_eq!(Blocked::tally(&[]), Blocked::default());
    }

    #[test]
    fn the_address_bar_round_trips() {
        let q = IndicatorQuery {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 24),
            advisor_id: Some(3),
            supervisor_id: None,
        };
        let p = q.params();
        let back = IndicatorQuery::from_params(|k| {
            p.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back, Ok(q));
        let bad = IndicatorQuery::from_params(|k| (k == "asesor").then(|| "uno".to_string()));
        assert!(bad.unwrap_err().contains("Asesor"));
    }
}
