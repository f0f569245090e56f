//! Alerts beside a debtor's name (seed 004), as rules over evidence: which outcome or
//! channel event raises which flag, what lifts it, and the contactability indicator.
//! Pure: the alerts service replays stored evidence through [`Alerts::apply`].

use serde::{Deserialize, Serialize};

use crate::domain::outcome::AlertEvent;

text_enum! {
    pub enum AlertKind {
        WontPay => ("wont_pay", "No quiere pagar"),
        CantPay => ("cant_pay", "No puede pagar"),
        Restructuring => ("restructuring", "Problema de pago: Reestructuración"),
        Refinancing => ("refinancing", "Problema de pago: Refinanciación"),
        Contactability => ("contactability", "Problema de contactabilidad"),
    }
}

text_enum! {
    /// What went wrong with one contact point.
    pub enum ContactProblem {
        WrongPhone => ("wrong_phone", "Teléfono equivocado o suspendido"),
        WhatsAppUnavailable => ("whatsapp_unavailable", "WhatsApp no disponible"),
        EmailNotFound => ("email_not_found", "Correo no encontrado"),
    }
}

/// The filter groups of seed 004.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertGroup {
    /// "Alerta: Problema de no pago".
    NonPayment,
    /// "Problemas de pago".
    PaymentProblem,
    /// "Alerta: Problema de contactabilidad".
    Contactability,
}

impl AlertKind {
    pub fn group(self) -> AlertGroup {
        match self {
            AlertKind::WontPay | AlertKind::CantPay => AlertGroup::NonPayment,
            AlertKind::Restructuring | AlertKind::Refinancing => AlertGroup::PaymentProblem,
            AlertKind::Contactability => AlertGroup::Contactability,
        }
    }

    /// The icon's colour: red, yellow, orange.
    pub fn colour(self) -> &'static str {
        match self {
            AlertKind::WontPay => "red",
            AlertKind::CantPay => "yellow",
            AlertKind::Restructuring | AlertKind::Refinancing => "blue",
            AlertKind::Contactability => "orange",
        }
    }

    /// One bit per kind, for a summary column the lists filter on.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// One raised flag. Contactability flags are per contact point, with the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Flag {
    pub kind: AlertKind,
    pub contact_point: Option<i64>,
    pub problem: Option<ContactProblem>,
}

impl Flag {
    fn of(kind: AlertKind) -> Self {
        Flag {
            kind,
            contact_point: None,
            problem: None,
        }
    }

    /// The hover text: the kind, and for contactability the problem.
    pub fn hover(&self) -> String {
        match self.problem {
            Some(p) => format!("{}: {}", self.kind.label(), p.label()),
            None => self.kind.label().to_string(),
        }
    }
}

/// What can raise or lift a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// A call outcome that raises a payment alert.
    Outcome(AlertKind),
    PromiseMade,
    PaymentToVerify,
    PaymentApproved,
    /// A contact point failed: "Equivocado / Suspendido", WhatsApp "contact not
    /// found" or undeliverable, an e-mail bounce.
    ContactFailed {
        point: i64,
        problem: ContactProblem,
    },
    /// The contact point was replaced by another number or address.
    ContactReplaced {
        point: i64,
    },
    /// A message to the contact point was delivered.
    Delivered {
        point: i64,
    },
    /// A user lifted the flag by hand; a contactability flag without a point lifts
    /// every failed point.
    ManualLift {
        kind: AlertKind,
        point: Option<i64>,
    },
}

impl Evidence {
    /// The evidence an outcome's alert effect gives; `point` is the phone dialled.
    pub fn from_outcome(event: AlertEvent, point: Option<i64>) -> Option<Evidence> {
        Some(match event {
            AlertEvent::WontPay => Evidence::Outcome(AlertKind::WontPay),
            AlertEvent::CantPay => Evidence::Outcome(AlertKind::CantPay),
            AlertEvent::Restructuring => Evidence::Outcome(AlertKind::Restructuring),
            AlertEvent::Refinancing => Evidence::Outcome(AlertKind::Refinancing),
            AlertEvent::WrongPhone => Evidence::ContactFailed {
                point: point?,
                problem: ContactProblem::WrongPhone,
            },
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Raised(Flag),
    Lifted(Flag),
}

/// A client's raised flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerts {
    flags: Vec<Flag>,
}

impl Alerts {
    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    pub fn bits(&self) -> u8 {
        self.flags.iter().fold(0, |b, f| b | f.kind.bit())
    }

    /// Whether a contact point carries the orange flag.
    pub fn failed(&self, point: i64) -> bool {
        self.flags.iter().any(|f| f.contact_point == Some(point))
    }

    fn raise(&mut self, flag: Flag, changes: &mut Vec<Change>) {
        let same_place = |f: &Flag| f.kind == flag.kind && f.contact_point == flag.contact_point;
        if let Some(i) = self.flags.iter().position(same_place) {
            if self.flags[i] == flag {
                return;
            }
            // The same point failing another way: the newer problem replaces it.
            changes.push(Change::Lifted(self.flags.remove(i)));
        }
        self.flags.push(flag);
        self.flags.sort();
        changes.push(Change::Raised(flag));
    }

    fn lift(&mut self, pick: impl Fn(&Flag) -> bool, changes: &mut Vec<Change>) {
        let (lifted, kept): (Vec<Flag>, Vec<Flag>) = self.flags.iter().partition(|f| pick(f));
        self.flags = kept;
        changes.extend(lifted.into_iter().map(Change::Lifted));
    }

    /// Applies one piece of evidence; returns what it raised and lifted.
    pub fn apply(&mut self, e: Evidence) -> Vec<Change> {
        let mut changes = Vec::new();
        match e {
            Evidence::Outcome(kind) if kind != AlertKind::Contactability => {
                self.raise(Flag::of(kind), &mut changes)
            }
            Evidence::Outcome(_) => {}
            // Seed 004: a payment to verify, a promise or a payment lifts won't / can't pay.
            Evidence::PromiseMade | Evidence::PaymentToVerify | Evidence::PaymentApproved => {
                self.lift(|f| f.kind.group() == AlertGroup::NonPayment, &mut changes)
            }
            Evidence::ContactFailed { point, problem } => self.raise(
                Flag {
                    kind: AlertKind::Contactability,
                    contact_point: Some(point),
                    problem: Some(problem),
                },
                &mut changes,
            ),
            Evidence::ContactReplaced { point } | Evidence::Delivered { point } => {
                self.lift(|f| f.contact_point == Some(point), &mut changes)
            }
            // A contactability flag is lifted per point, or for every point at once
            // from a list row, where the flag stands for all of them.
            Evidence::ManualLift { kind, point } => self.lift(
                |f| f.kind == kind && (point.is_none() || f.contact_point == point),
                &mut changes,
            ),
        }
        changes
    }
}

text_enum! {
    /// The contactability indicator of a client.
    pub enum Contactability {
        NotContactable => ("not_contactable", "No contactable"),
        WithProblems => ("with_problems", "Con problemas de contactabilidad"),
        Contactable => ("contactable", "Contactable"),
        New => ("new", "Nuevos"),
    }
}

/// The indicator, from the client's contact points and history:
/// - No contactable: no usable contact point left (none registered, or every one failed);
/// - Con problemas de contactabilidad: at least one failed point, and at least one usable;
/// - Nuevos: nothing failed, and never reached yet (no right-party or third-party
///   contact, no message delivered, nothing received from them);
/// - Contactable: nothing failed, and reached at least once.
pub fn contactability(points: usize, failed_points: usize, ever_reached: bool) -> Contactability {
    if failed_points >= points {
        Contactability::NotContactable
    } else if failed_points > 0 {
        Contactability::WithProblems
    } else if ever_reached {
        Contactability::Contactable
    } else {
        Contactability::New
    }
}

impl Contactability {
    /// Its number in [`AlertKey`].
    fn code(self) -> i64 {
        match self {
            Contactability::New => 0,
            Contactability::Contactable => 1,
            Contactability::WithProblems => 2,
            Contactability::NotContactable => 3,
        }
    }

    fn from_code(code: i64) -> Self {
        match code & 3 {
            0 => Contactability::New,
            1 => Contactability::Contactable,
            2 => Contactability::WithProblems,
            _ => Contactability::NotContactable,
        }
    }
}

impl ContactProblem {
    /// One bit per problem, for the hover text of a list row.
    pub fn bit(self) -> i64 {
        1 << (self as u8)
    }
}

impl Alerts {
    /// The flags a client's evidence, oldest first, leaves raised.
    pub fn replay(evidence: impl IntoIterator<Item = Evidence>) -> Self {
        let mut alerts = Alerts::default();
        for e in evidence {
            alerts.apply(e);
        }
        alerts
    }

    /// The problems of the flagged points, as [`ContactProblem::bit`]s.
    pub fn problem_bits(&self) -> i64 {
        self.flags
            .iter()
            .filter_map(|f| f.problem)
            .fold(0, |b, p| b | p.bit())
    }
}

/// A client's alerts and indicator in one number, the column the lists filter on:
/// bits 0–4 are the raised kinds ([`AlertKind::bit`]), bits 5–6 the indicator. One
/// column, so that any combination of the filters is one list of keys on one index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertKey(pub i64);

impl AlertKey {
    /// Every key there can be.
    const SPACE: std::ops::Range<i64> = 0..128;

    pub fn new(bits: u8, indicator: Contactability) -> Self {
        AlertKey(i64::from(bits & 0x1f) | (indicator.code() << 5))
    }

    pub fn has(self, kind: AlertKind) -> bool {
        self.0 & i64::from(kind.bit()) != 0
    }

    pub fn kinds(self) -> impl Iterator<Item = AlertKind> {
        AlertKind::ALL.iter().copied().filter(move |k| self.has(*k))
    }

    pub fn contactability(self) -> Contactability {
        Contactability::from_code(self.0 >> 5)
    }
}

/// A flag as a list row shows it: one icon per kind, the contactability one standing
/// for every failed point of the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownFlag {
    pub kind: AlertKind,
    /// Set when the flag belongs to one contact point.
    pub contact_point: Option<i64>,
    pub hover: String,
}

/// The flags of a list row, from its summary columns.
pub fn row_flags(key: AlertKey, problems: i64) -> Vec<ShownFlag> {
    key.kinds()
        .map(|kind| {
            let hover = if kind == AlertKind::Contactability {
                let details: Vec<&str> = ContactProblem::ALL
                    .iter()
                    .filter(|p| problems & p.bit() != 0)
                    .map(|p| p.label())
                    .collect();
                if details.is_empty() {
                    kind.label().to_string()
                } else {
                    format!("{}: {}", kind.label(), details.join(", "))
                }
            } else {
                kind.label().to_string()
            };
            ShownFlag {
                kind,
                contact_point: None,
                hover,
            }
        })
        .collect()
}

/// The flags of one client with the point each contactability flag belongs to.
pub fn point_flags(
    key: AlertKey,
    points: &[(i64, &str, Option<ContactProblem>)],
) -> Vec<ShownFlag> {
    let mut shown: Vec<ShownFlag> = key
        .kinds()
        .filter(|k| *k != AlertKind::Contactability)
        .map(|kind| ShownFlag {
            kind,
            contact_point: None,
            hover: kind.label().to_string(),
        })
        .collect();
    shown.extend(points.iter().filter_map(|(id, value, problem)| {
        problem.map(|p| ShownFlag {
            kind: AlertKind::Contactability,
            contact_point: Some(*id),
            hover: format!(
                "{}: {} ({value})",
                AlertKind::Contactability.label(),
                p.label()
            ),
        })
    }));
    shown
}

/// The list filters of seed 004. Each group holds the kinds it asks for, any of which
/// will do (0: no filter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertFilter {
    /// "Alerta: Problema de no pago": No quiere pagar, No puede pagar.
    pub non_payment: u8,
    /// "Problemas de pago": Reestructuración, Refinanciación.
    pub payment_problem: u8,
    /// "Contactabilidad".
    pub contactability: Option<Contactability>,
}

/// One choice of a filter group: its value in the address bar, its label, its kinds.
pub struct FilterChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub bits: u8,
}

const WONT: u8 = 1 << (AlertKind::WontPay as u8);
const CANT: u8 = 1 << (AlertKind::CantPay as u8);
const RESTRUCTURING: u8 = 1 << (AlertKind::Restructuring as u8);
const REFINANCING: u8 = 1 << (AlertKind::Refinancing as u8);

pub const NON_PAYMENT_CHOICES: [FilterChoice; 3] = [
    FilterChoice {
        value: "cualquiera",
        label: "No quiere o no puede pagar",
        bits: WONT | CANT,
    },
    FilterChoice {
        value: "no-quiere",
        label: "No quiere pagar",
        bits: WONT,
    },
    FilterChoice {
        value: "no-puede",
        label: "No puede pagar",
        bits: CANT,
    },
];

pub const PAYMENT_PROBLEM_CHOICES: [FilterChoice; 3] = [
    FilterChoice {
        value: "cualquiera",
        label: "Reestructuración o refinanciación",
        bits: RESTRUCTURING | REFINANCING,
    },
    FilterChoice {
        value: "reestructuracion",
        label: "Reestructuración",
        bits: RESTRUCTURING,
    },
    FilterChoice {
        value: "refinanciacion",
        label: "Refinanciación",
        bits: REFINANCING,
    },
];

/// A group's choice by its value in the address bar (0 for none or unknown).
pub fn choice_bits(choices: &[FilterChoice], value: &str) -> u8 {
    choices
        .iter()
        .find(|c| c.value == value)
        .map_or(0, |c| c.bits)
}

/// The value of a group's choice in the address bar.
pub fn choice_value(choices: &[FilterChoice], bits: u8) -> Option<&'static str> {
    choices.iter().find(|c| c.bits == bits).map(|c| c.value)
}

impl AlertFilter {
    pub fn is_empty(&self) -> bool {
        self.non_payment == 0 && self.payment_problem == 0 && self.contactability.is_none()
    }

    /// Refuses kinds outside their group (a request not built by our screens).
    pub fn check(&self) -> Result<(), String> {
        if self.non_payment & !(WONT | CANT) != 0
            || self.payment_problem & !(RESTRUCTURING | REFINANCING) != 0
        {
            return Err("Ese filtro de alertas no existe.".into());
        }
        Ok(())
    }

    pub fn matches(&self, key: AlertKey) -> bool {
        let bits = key.0 as u8 & 0x1f;
        (self.non_payment == 0 || bits & self.non_payment != 0)
            && (self.payment_problem == 0 || bits & self.payment_problem != 0)
            && self
                .contactability
                .is_none_or(|c| key.contactability() == c)
    }

    /// Its part of an address-bar query, as (name, value) pairs.
    pub fn params(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if let Some(v) = choice_value(&NON_PAYMENT_CHOICES, self.non_payment) {
            out.push(("no-pago", v));
        }
        if let Some(v) = choice_value(&PAYMENT_PROBLEM_CHOICES, self.payment_problem) {
            out.push(("problema-pago", v));
        }
        if let Some(c) = self.contactability {
            out.push(("contactabilidad", c.as_str()));
        }
        out
    }

    /// Back from an address-bar query; unknown values filter nothing.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        AlertFilter {
            non_payment: choice_bits(&NON_PAYMENT_CHOICES, &get("no-pago").unwrap_or_default()),
            payment_problem: choice_bits(
                &PAYMENT_PROBLEM_CHOICES,
                &get("problema-pago").unwrap_or_default(),
            ),
            contactability: get("contactabilidad").and_then(|c| c.parse().ok()),
        }
    }

    /// Every key the filter accepts: the list the lists read from their index.
    pub fn keys(&self) -> Vec<i64> {
        AlertKey::SPACE
            .filter(|k| self.matches(AlertKey(*k)))
            .collect()
    }
}

impl Evidence {
    /// How it is stored: the event's name, its contact point and, for a manual lift,
    /// the kind lifted.
    pub fn stored(&self) -> (&'static str, Option<i64>, Option<AlertKind>) {
        match *self {
            Evidence::Outcome(kind) => (kind.as_str(), None, None),
            Evidence::PromiseMade => ("promise", None, None),
            Evidence::PaymentToVerify => ("payment_to_verify", None, None),
            Evidence::PaymentApproved => ("payment", None, None),
            Evidence::ContactFailed { point, problem } => (problem.as_str(), Some(point), None),
            Evidence::ContactReplaced { point } => ("contact_replaced", Some(point), None),
            Evidence::Delivered { point } => ("delivered", Some(point), None),
            Evidence::ManualLift { kind, point } => ("manual_lift", point, Some(kind)),
        }
    }

    /// Back from storage. `None` when the evidence no longer bears on anything: its
    /// contact point was deleted (edited away) since. `address` is the point's value
    /// when the evidence was stored (empty for a lift of every point).
    pub fn from_stored(
        event: &str,
        point: Option<i64>,
        address: &str,
        kind: Option<AlertKind>,
    ) -> Option<Evidence> {
        if let Ok(problem) = event.parse::<ContactProblem>() {
            return Some(Evidence::ContactFailed {
                point: point?,
                problem,
            });
        }
        Some(match event {
            "promise" => Evidence::PromiseMade,
            "payment_to_verify" => Evidence::PaymentToVerify,
            "payment" => Evidence::PaymentApproved,
            "contact_replaced" => Evidence::ContactReplaced { point: point? },
            "delivered" => Evidence::Delivered { point: point? },
            "manual_lift" => {
                let kind = kind?;
                if point.is_none() && !address.is_empty() {
                    return None;
                }
                Evidence::ManualLift { kind, point }
            }
            other => Evidence::Outcome(other.parse().ok()?),
        })
    }
}

/// What a stored piece of evidence was, for the alert history.
pub fn cause_label(event: &str) -> String {
    if let Ok(problem) = event.parse::<ContactProblem>() {
        return problem.label().into();
    }
    match event {
        "promise" => "Compromiso de pago".into(),
        "payment_to_verify" => "Pago a verificar".into(),
        "payment" => "Pago aprobado".into(),
        "contact_replaced" => "Contacto actualizado".into(),
        "delivered" => "Mensaje entregado".into(),
        "manual_lift" => "Quitada a mano".into(),
        other => match other.parse::<AlertKind>() {
            Ok(kind) => format!("Gestión «{}»", kind.label()),
            Err(_) => other.into(),
        },
    }
}

/// One raise or lift in a client's alert history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub raised: bool,
    /// The flag's hover text, with the phone or address for contactability.
    pub flag: String,
    /// What raised or lifted it.
    pub cause: String,
    pub by: Option<String>,
    pub reason: String,
    pub at: chrono::NaiveDateTime,
}

/// A user lifting a flag by hand: the kind, and for contactability the point (none:
/// every point).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiftInput {
    pub client_id: i64,
    pub kind: AlertKind,
    pub contact_point_id: Option<i64>,
    pub reason: String,
}

impl LiftInput {
    pub const REASON_MAX: usize = 500;

    /// The reason, trimmed; refused empty or too long.
    pub fn reason(&self) -> Result<&str, crate::domain::error::AppError> {
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(crate::domain::error::AppError::invalid(
                "reason",
                "Escribe por qué quitas la alerta.",
            ));
        }
        if reason.chars().count() > Self::REASON_MAX {
            return Err(crate::domain::error::AppError::invalid(
                "reason",
                format!("El motivo admite hasta {} caracteres.", Self::REASON_MAX),
            ));
        }
        Ok(reason)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn kinds(a: &Alerts) -> Vec<AlertKind> {
        a.flags().iter().map(|f| f.kind).collect()
    }

    #[test]
    fn payment_alerts_are_raised_by_outcomes_and_won_t_or_can_t_pay_lifted_by_money() {
        for lifter in [
            Evidence::PromiseMade,
            Evidence::PaymentToVerify,
            Evidence::PaymentApproved,
        ] {
            let mut a = Alerts::default();
            a.apply(Evidence::Outcome(AlertKind::WontPay));
            a.apply(Evidence::Outcome(AlertKind::CantPay));
            a.apply(Evidence::Outcome(AlertKind::Restructuring));
            assert_eq!(
                kinds(&a),
                [
                    AlertKind::WontPay,
                    AlertKind::CantPay,
                    AlertKind::Restructuring
                ]
            );
            let changes = a.apply(lifter);
            assert_eq!(changes.len(), 2, "{lifter:?}");
            assert_eq!(kinds(&a), [AlertKind::Restructuring]);
        }
    }

    #[test]
    fn raising_twice_changes_nothing_and_a_new_problem_replaces_the_old() {
        let mut a = Alerts::default();
        assert_eq!(a.apply(Evidence::Outcome(AlertKind::WontPay)).len(), 1);
        assert!(a.apply(Evidence::Outcome(AlertKind::WontPay)).is_empty());
        let failed = |problem| Evidence::ContactFailed { point: 7, problem };
        a.apply(failed(ContactProblem::WrongPhone));
        let changes = a.apply(failed(ContactProblem::WhatsAppUnavailable));
        assert!(matches!(
            changes.as_slice(),
            [Change::Lifted(_), Change::Raised(_)]
        ));
        let flag = a
            .flags()
            .iter()
            .find(|f| f.contact_point == Some(7))
            .unwrap();
        assert_eq!(
            flag.hover(),
            "Problema de contactabilidad: WhatsApp no disponible"
        );
    }

    #[test]
    fn contact_flags_are_per_point_and_lifted_by_replacement_or_delivery() {
        let mut a = Alerts::default();
        for point in [1, 2, 3] {
            a.apply(Evidence::ContactFailed {
                point,
                problem: ContactProblem::EmailNotFound,
            });
        }
        a.apply(Evidence::ContactReplaced { point: 1 });
        a.apply(Evidence::Delivered { point: 2 });
        assert!(!a.failed(1) && !a.failed(2) && a.failed(3));
        a.apply(Evidence::ManualLift {
            kind: AlertKind::Contactability,
            point: Some(9),
        });
        assert!(a.failed(3), "lifting another point leaves this one");
        a.apply(Evidence::ManualLift {
            kind: AlertKind::Contactability,
            point: Some(3),
        });
        assert!(a.flags().is_empty());
        assert_eq!(a.bits(), 0);
    }

    #[test]
    fn outcome_events_become_evidence() {
        assert_eq!(
            Evidence::from_outcome(AlertEvent::WrongPhone, Some(4)),
            Some(Evidence::ContactFailed {
                point: 4,
                problem: ContactProblem::WrongPhone
            })
        );
        assert_eq!(Evidence::from_outcome(AlertEvent::WrongPhone, None), None);
        assert_eq!(
            Evidence::from_outcome(AlertEvent::CantPay, None),
            Some(Evidence::Outcome(AlertKind::CantPay))
        );
    }

    #[test]
    fn the_indicator_follows_its_definitions() {
        assert_eq!(contactability(0, 0, false), Contactability::NotContactable);
        assert_eq!(contactability(2, 2, true), Contactability::NotContactable);
        assert_eq!(contactability(3, 1, false), Contactability::WithProblems);
        assert_eq!(contactability(3, 0, false), Contactability::New);
        assert_eq!(contactability(3, 0, true), Contactability::Contactable);
    }

    #[test]
    fn the_key_holds_the_kinds_and_the_indicator() {
        for bits in 0..32u8 {
            for c in Contactability::ALL {
                let key = AlertKey::new(bits, *c);
                assert_eq!(key.contactability(), *c);
                let back = key.kinds().fold(0, |b, k| b | k.bit());
                assert_eq!(back, bits);
            }
        }
    }

    #[test]
    fn a_filter_names_exactly_the_keys_it_accepts() {
        let none = AlertFilter::default();
        assert!(none.is_empty());
        assert_eq!(none.keys().len(), 128);
        let wont = AlertFilter {
            non_payment: choice_bits(&NON_PAYMENT_CHOICES, "no-quiere"),
            ..AlertFilter::default()
        };
        assert_eq!(wont.keys().len(), 64);
        assert!(wont.matches(AlertKey::new(
            AlertKind::WontPay.bit() | AlertKind::Refinancing.bit(),
            Contactability::New
        )));
        assert!(!wont.matches(AlertKey::new(AlertKind::CantPay.bit(), Contactability::New)));
        let either = AlertFilter {
            non_payment: choice_bits(&NON_PAYMENT_CHOICES, "cualquiera"),
            payment_problem: choice_bits(&PAYMENT_PROBLEM_CHOICES, "refinanciacion"),
            contactability: Some(Contactability::WithProblems),
        };
        // (3 of 4 non-payment pairs) x (2 restructuring) x refinancing x (2 contact bit).
        assert_eq!(either.keys().len(), 12);
        for k in either.keys() {
            let key = AlertKey(k);
            assert!(key.has(AlertKind::Refinancing));
            assert!(key.has(AlertKind::WontPay) || key.has(AlertKind::CantPay));
            assert_eq!(key.contactability(), Contactability::WithProblems);
        }
        assert_eq!(
            choice_value(&NON_PAYMENT_CHOICES, WONT | CANT),
            Some("cualquiera")
        );
        assert_eq!(choice_bits(&NON_PAYMENT_CHOICES, "otra"), 0);
        assert!(either.check().is_ok());
        let forged = AlertFilter {
            non_payment: AlertKind::Refinancing.bit(),
            ..AlertFilter::default()
        };
        assert!(forged.check().is_err());
        let params = either.params();
        let back = AlertFilter::from_params(|k| {
            params
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(back, either);
        assert_eq!(
            AlertFilter::from_params(|_| Some("x".into())),
            AlertFilter::default()
        );
    }

    #[test]
    fn row_flags_carry_the_hover_texts_of_seed_004() {
        let key = AlertKey::new(
            AlertKind::WontPay.bit() | AlertKind::Contactability.bit(),
            Contactability::WithProblems,
        );
        let problems = ContactProblem::WrongPhone.bit() | ContactProblem::EmailNotFound.bit();
        let shown = row_flags(key, problems);
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[0].hover, "No quiere pagar");
        assert_eq!(
            shown[1].hover,
            "Problema de contactabilidad: Teléfono equivocado o suspendido, Correo no encontrado"
        );
        let points = [
            (5, "a@b.co", Some(ContactProblem::EmailNotFound)),
            (6, "+573001112233", None),
        ];
        let per_point = point_flags(key, &points);
        assert_eq!(per_point.len(), 2);
        assert_eq!(per_point[1].contact_point, Some(5));
        assert_eq!(
            per_point[1].hover,
            "Problema de contactabilidad: Correo no encontrado (a@b.co)"
        );
    }

    #[test]
    fn evidence_of_a_deleted_point_no_longer_counts() {
        assert_eq!(
            Evidence::from_stored("wrong_phone", None, "+57300", None),
            None
        );
        assert_eq!(
            Evidence::from_stored(
                "manual_lift",
                None,
                "+57300",
                Some(AlertKind::Contactability)
            ),
            None
        );
        assert_eq!(
            Evidence::from_stored("manual_lift", None, "", Some(AlertKind::Contactability)),
            Some(Evidence::ManualLift {
                kind: AlertKind::Contactability,
                point: None
            })
        );
        assert_eq!(Evidence::from_stored("something", None, "", None), None);
    }

    /// The reference: one boolean per payment alert and a map of failed points.
    #[derive(Default)]
    struct Model {
        payment: BTreeSet<AlertKind>,
        points: BTreeMap<i64, ContactProblem>,
    }

    impl Model {
        fn apply(&mut self, e: Evidence) {
            match e {
                Evidence::Outcome(k) if k != AlertKind::Contactability => {
                    self.payment.insert(k);
                }
                Evidence::Outcome(_) => {}
                Evidence::PromiseMade | Evidence::PaymentToVerify | Evidence::PaymentApproved => {
                    self.payment.remove(&AlertKind::WontPay);
                    self.payment.remove(&AlertKind::CantPay);
                }
                Evidence::ContactFailed { point, problem } => {
                    self.points.insert(point, problem);
                }
                Evidence::ContactReplaced { point } | Evidence::Delivered { point } => {
                    self.points.remove(&point);
                }
                Evidence::ManualLift {
                    kind: AlertKind::Contactability,
                    point,
                } => match point {
                    Some(p) => {
                        self.points.remove(&p);
                    }
                    None => self.points.clear(),
                },
                Evidence::ManualLift { kind, .. } => {
                    self.payment.remove(&kind);
                }
            }
        }

        fn flags(&self) -> BTreeSet<Flag> {
            let payment = self.payment.iter().map(|k| Flag::of(*k));
            let points = self.points.iter().map(|(p, problem)| Flag {
                kind: AlertKind::Contactability,
                contact_point: Some(*p),
                problem: Some(*problem),
            });
            payment.chain(points).collect()
        }
    }

    /// A small xorshift generator: the domain compiles for the browser, without `rand`.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    fn random_evidence(rng: &mut Rng) -> Evidence {
        let kind = AlertKind::ALL[rng.below(AlertKind::ALL.len())];
        let point = rng.below(4) as i64 + 1;
        let problem = ContactProblem::ALL[rng.below(ContactProblem::ALL.len())];
        match rng.below(9) {
            0 | 1 => Evidence::Outcome(kind),
            2 => Evidence::PromiseMade,
            3 => Evidence::PaymentToVerify,
            4 => Evidence::PaymentApproved,
            5 => Evidence::ContactFailed { point, problem },
            6 => Evidence::ContactReplaced { point },
            7 => Evidence::Delivered { point },
            _ => Evidence::ManualLift {
                kind,
                point: (kind == AlertKind::Contactability && point < 4).then_some(point),
            },
        }
    }

    #[test]
    fn long_random_sequences_agree_with_the_reference_model() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let mut engine = Alerts::default();
            let mut model = Model::default();
            let mut reached = false;
            let mut history = Vec::new();
            for step in 0..300 {
                let e = random_evidence(&mut rng);
                let (event, point, kind) = e.stored();
                let address = if point.is_some() { "x" } else { "" };
                assert_eq!(Evidence::from_stored(event, point, address, kind), Some(e));
                history.push(e);
                let before: BTreeSet<Flag> = engine.flags().iter().copied().collect();
                let changes = engine.apply(e);
                model.apply(e);
                reached |= matches!(e, Evidence::Delivered { .. } | Evidence::PromiseMade);
                let after: BTreeSet<Flag> = engine.flags().iter().copied().collect();
                assert_eq!(after, model.flags(), "step {step}: {e:?}");
                // The changes reported are exactly the difference.
                let raised: BTreeSet<Flag> = changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Raised(f) => Some(*f),
                        Change::Lifted(_) => None,
                    })
                    .collect();
                assert_eq!(raised, after.difference(&before).copied().collect());
                let lifted: BTreeSet<Flag> = changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Lifted(f) => Some(*f),
                        Change::Raised(_) => None,
                    })
                    .collect();
                assert_eq!(lifted, before.difference(&after).copied().collect());
                let failed = (1..=4).filter(|p| engine.failed(*p)).count();
                let expected = if model.points.len() >= 4 {
                    Contactability::NotContactable
                } else if !model.points.is_empty() {
                    Contactability::WithProblems
                } else if reached {
                    Contactability::Contactable
                } else {
                    Contactability::New
                };
                assert_eq!(contactability(4, failed, reached), expected);
            }
            // Replaying the stored evidence from scratch gives the same flags.
            assert_eq!(Alerts::replay(history), engine);
        }
    }
}
