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
    /// A user lifted the flag by hand.
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
            Evidence::ManualLift { kind, point } => self.lift(
                |f| {
                    f.kind == kind
                        && (kind != AlertKind::Contactability || f.contact_point == point)
                },
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
                } => {
                    if let Some(p) = point {
                        self.points.remove(&p);
                    }
                }
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
                point: (kind == AlertKind::Contactability).then_some(point),
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
            for step in 0..300 {
                let e = random_evidence(&mut rng);
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
        }
    }
}
