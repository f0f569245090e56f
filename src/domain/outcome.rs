//! The call-outcome catalogue ("Gestión"), as data: which outcomes each kind of call
//! offers, in the brief's order and words (seeds 000 and 001), the fields each asks for,
//! what each does, and its contact class; and the validation of a registered outcome.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::calls::{check_amount, check_date, check_lengths, CallCalendar};
use crate::domain::debt::parse_date;
use crate::domain::error::FieldError;
use crate::domain::message::{check_attachments, AttachmentInput};

text_enum! {
    /// Where a call stands when its outcome is registered.
    pub enum Situation {
        OutboundContacted => ("outbound_contacted", "Llamada saliente: contactado"),
        OutboundNotContacted => ("outbound_not_contacted", "Llamada saliente: no contactado"),
        Inbound => ("inbound", "Llamada entrante"),
    }
}

text_enum! {
    pub enum Outcome {
        PromiseOrToVerify => ("promise_or_to_verify", "Compromiso / A verificar"),
        Callback => ("callback", "Volver a llamar"),
        WontPay => ("wont_pay", "No quiere pagar"),
        CantPay => ("cant_pay", "No puede pagar"),
        Restructuring => ("restructuring", "Reestructuración"),
        Refinancing => ("refinancing", "Refinanciación"),
        PaymentMade => ("payment_made", "Pago realizado"),
        Reminder => ("reminder", "Recordatorio"),
        Pause => ("pause", "Pausar comunicaciones"),
        NoAnswer => ("no_answer", "No contesta / Ocupado"),
        WrongNumber => ("wrong_number", "Equivocado / Suspendido"),
        Voicemail => ("voicemail", "Mensaje en buzón"),
        ThirdParty => ("third_party", "Contacto con tercero"),
        InformationRequest => ("information_request", "Solicitud de información"),
        Complaint => ("complaint", "Reclamo"),
    }
}

text_enum! {
    /// What the contact achieved, for right-party-contact and promise rates.
    pub enum ContactClass {
        RightParty => ("right_party", "Contacto con el titular"),
        ThirdParty => ("third_party", "Contacto con tercero"),
        Attempt => ("attempt", "Intento sin contacto"),
        Failed => ("failed", "Contacto fallido"),
    }
}

/// A value an outcome asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The promise's or the payment's date, or the day to call again.
    Date,
    Amount,
    PaymentMethod,
    Reference,
    Note,
    Attachment,
    /// Communications stay paused until this day.
    UntilDate,
    /// The information request's code.
    Code,
    /// The complaint's reason.
    Reason,
}

/// What registering an outcome does besides recording the interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The client stays in the Llamadas tray for another attempt.
    StaysInTray,
    /// The client returns to the tray on the chosen date.
    Reschedules,
    /// A promise to pay (date and amount), or a payment to verify when the debtor says
    /// it is already paid; either suspends the main flow.
    PromiseOrPaymentToVerify,
    /// A payment to verify; suspends the main flow.
    PaymentToVerify,
    /// Main-flow communications stop until the chosen date.
    PausesUntil,
    /// Main-flow communications stop (until a payment, a promise or a payment to verify).
    StopsMainFlow,
    /// Raises an alert; "wrong phone" flags the phone called, which it therefore needs.
    Alert(AlertEvent),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertEvent {
    WontPay,
    CantPay,
    Restructuring,
    Refinancing,
    WrongPhone,
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeSpec {
    pub outcome: Outcome,
    pub situation: Situation,
    /// The one-key shortcut in the outcome form.
    pub key: char,
    pub class: ContactClass,
    /// Required fields.
    pub required: &'static [Field],
    /// Fields offered but optional.
    pub optional: &'static [Field],
    pub effects: &'static [Effect],
}

use ContactClass::{Attempt, Failed, RightParty, ThirdParty};
use Effect::*;
use Field::*;
use Situation::{Inbound, OutboundContacted, OutboundNotContacted};

const fn spec(
    situation: Situation,
    outcome: Outcome,
    key: char,
    class: ContactClass,
    required: &'static [Field],
    optional: &'static [Field],
    effects: &'static [Effect],
) -> OutcomeSpec {
    OutcomeSpec {
        outcome,
        situation,
        key,
        class,
        required,
        optional,
        effects,
    }
}

const PROMISE_FIELDS: &[Field] = &[PaymentMethod, Reference, Note, Attachment];
const PAYMENT_OPTIONAL: &[Field] = &[PaymentMethod, Reference, Note, Attachment];
const NOTE_ATTACHMENT: &[Field] = &[Note, Attachment];

/// The catalogue, situation by situation, in the brief's order.
pub const CATALOGUE: &[OutcomeSpec] = &[
    spec(
        OutboundContacted,
        Outcome::PromiseOrToVerify,
        'c',
        RightParty,
        &[Date, Amount],
        PROMISE_FIELDS,
        &[PromiseOrPaymentToVerify],
    ),
    spec(
        OutboundContacted,
        Outcome::Callback,
        'v',
        RightParty,
        &[Date],
        &[Note],
        &[Reschedules],
    ),
    spec(
        OutboundContacted,
        Outcome::WontPay,
        'q',
        RightParty,
        &[],
        NOTE_ATTACHMENT,
        &[StopsMainFlow, Alert(AlertEvent::WontPay)],
    ),
    spec(
        OutboundContacted,
        Outcome::CantPay,
        'p',
        RightParty,
        &[],
        NOTE_ATTACHMENT,
        &[StopsMainFlow, Alert(AlertEvent::CantPay)],
    ),
    spec(
        OutboundContacted,
        Outcome::Restructuring,
        'e',
        RightParty,
        &[Note],
        &[Attachment],
        &[Alert(AlertEvent::Restructuring)],
    ),
    spec(
        OutboundContacted,
        Outcome::Refinancing,
        'f',
        RightParty,
        &[Note],
        &[Attachment],
        &[Alert(AlertEvent::Refinancing)],
    ),
    spec(
        OutboundContacted,
        Outcome::PaymentMade,
        'g',
        RightParty,
        &[Date, Amount],
        PAYMENT_OPTIONAL,
        &[PaymentToVerify],
    ),
    spec(
        OutboundContacted,
        Outcome::Reminder,
        'r',
        RightParty,
        &[Note],
        &[],
        &[],
    ),
    spec(
        OutboundContacted,
        Outcome::Pause,
        'z',
        RightParty,
        &[UntilDate],
        &[Note],
        &[PausesUntil],
    ),
    spec(
        OutboundNotContacted,
        Outcome::NoAnswer,
        'n',
        Attempt,
        &[],
        &[Note],
        &[StaysInTray],
    ),
    spec(
        OutboundNotContacted,
        Outcome::WrongNumber,
        'x',
        Failed,
        &[],
        &[Note],
        &[Alert(AlertEvent::WrongPhone)],
    ),
    spec(
        OutboundNotContacted,
        Outcome::Voicemail,
        'b',
        Attempt,
        &[],
        &[Note],
        &[],
    ),
    spec(
        OutboundNotContacted,
        Outcome::PaymentMade,
        'g',
        Attempt,
        &[Date, Amount],
        PAYMENT_OPTIONAL,
        &[PaymentToVerify],
    ),
    spec(
        OutboundNotContacted,
        Outcome::ThirdParty,
        't',
        ThirdParty,
        &[],
        &[Note],
        &[],
    ),
    spec(
        OutboundNotContacted,
        Outcome::Pause,
        'z',
        Attempt,
        &[UntilDate],
        &[Note],
        &[PausesUntil],
    ),
    spec(
        Inbound,
        Outcome::PromiseOrToVerify,
        'c',
        RightParty,
        &[Date, Amount],
        PROMISE_FIELDS,
        &[PromiseOrPaymentToVerify],
    ),
    spec(
        Inbound,
        Outcome::Restructuring,
        'e',
        RightParty,
        &[Note],
        &[Attachment],
        &[Alert(AlertEvent::Restructuring)],
    ),
    spec(
        Inbound,
        Outcome::Refinancing,
        'f',
        RightParty,
        &[Note],
        &[Attachment],
        &[Alert(AlertEvent::Refinancing)],
    ),
    spec(
        Inbound,
        Outcome::InformationRequest,
        'i',
        RightParty,
        &[Code],
        &[Note, Attachment],
        &[],
    ),
    spec(
        Inbound,
        Outcome::Complaint,
        'l',
        RightParty,
        &[Reason],
        &[Note],
        &[],
    ),
    spec(
        Inbound,
        Outcome::PaymentMade,
        'g',
        RightParty,
        &[Date, Amount],
        PAYMENT_OPTIONAL,
        &[PaymentToVerify],
    ),
    spec(
        Inbound,
        Outcome::Pause,
        'z',
        RightParty,
        &[UntilDate],
        &[Note],
        &[PausesUntil],
    ),
];

/// The outcomes a situation offers, in the brief's order.
pub fn offered(situation: Situation) -> impl Iterator<Item = &'static OutcomeSpec> {
    CATALOGUE.iter().filter(move |s| s.situation == situation)
}

/// The entry for an outcome in a situation; `None` when the brief does not offer it
/// there (an inbound "No contesta", say).
pub fn lookup(situation: Situation, outcome: Outcome) -> Option<&'static OutcomeSpec> {
    offered(situation).find(|s| s.outcome == outcome)
}

/// An outcome as the form sends it: every field as typed; only those the outcome asks
/// for are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeInput {
    pub situation: String,
    pub outcome: String,
    pub date: String,
    pub amount: String,
    pub payment_method: String,
    pub reference: String,
    pub note: String,
    pub until_date: String,
    pub code: String,
    pub reason: String,
    /// "Compromiso / A verificar" when the debtor says the payment is already made: a
    /// payment to verify instead of a promise.
    pub already_paid: bool,
    /// The phone called (a contact point of the client's parties), when there was one.
    pub contact_point_id: Option<i64>,
    pub attachments: Vec<AttachmentInput>,
    /// The user's answer to the collision guard: registered even though another user
    /// attended the client a moment ago (see `domain::recent`).
    #[serde(default)]
    pub despite_recent: bool,
}

/// A registered outcome that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidOutcome {
    pub spec: &'static OutcomeSpec,
    pub date: Option<NaiveDate>,
    pub amount_cents: Option<i64>,
    pub payment_method: String,
    pub reference: String,
    pub note: String,
    pub until_date: Option<NaiveDate>,
    pub code: String,
    pub reason: String,
    /// Whether it records a payment to verify (rather than a promise).
    pub payment: bool,
}

pub const MAX_NOTE_CHARS: usize = 2_000;

fn field_name(f: Field) -> &'static str {
    match f {
        Date => "date",
        Amount => "amount",
        PaymentMethod => "payment_method",
        Reference => "reference",
        Note => "note",
        Attachment => "attachments",
        UntilDate => "until_date",
        Code => "code",
        Reason => "reason",
    }
}

impl OutcomeInput {
    fn text(&self, f: Field) -> &str {
        match f {
            Date => &self.date,
            Amount => &self.amount,
            PaymentMethod => &self.payment_method,
            Reference => &self.reference,
            Note => &self.note,
            UntilDate => &self.until_date,
            Code => &self.code,
            Reason => &self.reason,
            Attachment => "",
        }
    }

    /// Checks the outcome against the catalogue and its fields against their rules.
    /// Dates are judged against `today` in the organisation's time zone; a callback
    /// must fall on a day the calendar allows.
    pub fn validate(
        &self,
        today: NaiveDate,
        calendar: &CallCalendar,
    ) -> Result<ValidOutcome, Vec<FieldError>> {
        let mut errors = Vec::new();
        let situation: Option<Situation> = self.situation.parse().ok();
        let outcome: Option<Outcome> = self.outcome.parse().ok();
        let spec = match (situation, outcome) {
            (None, _) => {
                errors.push(FieldError::new("situation", "Elige el tipo de llamada."));
                None
            }
            (_, None) => {
                errors.push(FieldError::new(
                    "outcome",
                    "Elige el resultado de la gestión.",
                ));
                None
            }
            (Some(s), Some(o)) => {
                let found = lookup(s, o);
                if found.is_none() {
                    errors.push(FieldError::new(
                        "outcome",
                        format!(
                            "«{}» no es un resultado posible en «{}».",
                            o.label(),
                            s.label()
                        ),
                    ));
                }
                found
            }
        };
        let Some(spec) = spec else { return Err(errors) };
        let asks = |f: Field| spec.required.contains(&f) || spec.optional.contains(&f);
        for f in spec.required {
            if *f != Attachment && self.text(*f).trim().is_empty() {
                let message = match f {
                    Date => "Elige la fecha.",
                    Amount => "Escribe el monto.",
                    UntilDate => "Elige hasta qué fecha.",
                    Code => "Elige el código de la solicitud.",
                    Reason => "Escribe el motivo del reclamo.",
                    Note => "Escribe una nota.",
                    _ => "Completa este campo.",
                };
                errors.push(FieldError::new(field_name(*f), message));
            }
        }
        if spec.effects.contains(&Alert(AlertEvent::WrongPhone)) && self.contact_point_id.is_none()
        {
            errors.push(FieldError::new(
                "contact_point_id",
                "Elige el teléfono al que llamaste.",
            ));
        }
        let payment = spec.effects.contains(&PaymentToVerify)
            || (spec.effects.contains(&PromiseOrPaymentToVerify) && self.already_paid);
        let date = if asks(Date) {
            check_date(&mut errors, "date", &self.date, payment, today)
        } else {
            None
        };
        if let Some(d) = date.filter(|_| spec.effects.contains(&Reschedules)) {
            if let Some(why) = calendar.restriction(d) {
                errors.push(FieldError::new(
                    "date",
                    format!("Ese día no se llama: {why}. Elige otro día."),
                ));
            }
        }
        let amount_cents = if asks(Amount) {
            check_amount(&mut errors, &self.amount)
        } else {
            None
        };
        let mut until_date = None;
        if asks(UntilDate) && !self.until_date.trim().is_empty() {
            match parse_date(&self.until_date) {
                Err(e) => errors.push(FieldError::new("until_date", e)),
                Ok(d) if d <= today => errors.push(FieldError::new(
                    "until_date",
                    "La pausa debe terminar después de hoy.",
                )),
                Ok(d) => until_date = Some(d),
            }
        }
        let limits: Vec<(&str, &str, usize)> = [
            (Note, MAX_NOTE_CHARS),
            (PaymentMethod, 60),
            (Reference, 100),
            (Code, 60),
            (Reason, 500),
        ]
        .into_iter()
        .filter(|(f, _)| asks(*f))
        .map(|(f, max)| (field_name(f), self.text(f), max))
        .collect();
        check_lengths(&mut errors, &limits);
        if asks(Attachment) {
            check_attachments(&mut errors, &self.attachments);
        } else if !self.attachments.is_empty() {
            errors.push(FieldError::new(
                "attachments",
                "Este resultado no admite adjuntos.",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let kept = |f: Field| {
            if asks(f) {
                self.text(f).trim().to_string()
            } else {
                String::new()
            }
        };
        Ok(ValidOutcome {
            spec,
            date,
            amount_cents,
            payment_method: kept(PaymentMethod),
            reference: kept(Reference),
            note: kept(Note),
            until_date,
            code: kept(Code),
            reason: kept(Reason),
            payment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn input(situation: Situation, outcome: Outcome) -> OutcomeInput {
        OutcomeInput {
            situation: situation.as_str().into(),
            outcome: outcome.as_str().into(),
            ..OutcomeInput::default()
        }
    }

    fn refused(i: &OutcomeInput) -> Vec<(String, String)> {
        i.validate(today(), &CallCalendar::default())
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn invalid_combinations_are_refused_field_by_field() {
        let cases: Vec<(OutcomeInput, &str, &str)> = vec![
            (
                input(Inbound, Outcome::NoAnswer),
                "outcome",
                "«No contesta / Ocupado» no es un resultado posible en «Llamada entrante».",
            ),
            (
                OutcomeInput {
                    outcome: "x".into(),
                    ..input(Inbound, Outcome::Pause)
                },
                "outcome",
                "Elige el resultado de la gestión.",
            ),
            (
                OutcomeInput {
                    date: "2026-11-30".into(),
                    ..input(OutboundContacted, Outcome::PromiseOrToVerify)
                },
                "amount",
                "Escribe el monto.",
            ),
            (
                OutcomeInput {
                    date: "2026-11-22".into(),
                    ..input(OutboundContacted, Outcome::Callback)
                },
                "date",
                "La fecha no puede ser anterior a hoy.",
            ),
            (
                OutcomeInput {
                    date: "2026-11-30".into(),
                    amount: "0".into(),
                    ..input(Inbound, Outcome::PromiseOrToVerify)
                },
                "amount",
                "El monto debe ser mayor que cero.",
            ),
            (
                OutcomeInput {
                    date: "2026-11-30".into(),
                    amount: "-5".into(),
                    ..input(Inbound, Outcome::PromiseOrToVerify)
                },
                "amount",
                "El monto no puede ser negativo.",
            ),
            (
                OutcomeInput {
                    date: "2026-11-24".into(),
                    amount: "100".into(),
                    ..input(Inbound, Outcome::PaymentMade)
                },
                "date",
                "La fecha de un pago no puede ser futura.",
            ),
            (
                OutcomeInput {
                    until_date: "2026-11-23".into(),
                    ..input(OutboundNotContacted, Outcome::Pause)
                },
                "until_date",
                "La pausa debe terminar después de hoy.",
            ),
            (
                input(Inbound, Outcome::InformationRequest),
                "code",
                "Elige el código de la solicitud.",
            ),
            (
                input(Inbound, Outcome::Complaint),
                "reason",
                "Escribe el motivo del reclamo.",
            ),
            (
                input(OutboundContacted, Outcome::Reminder),
                "note",
                "Escribe una nota.",
            ),
            (
                OutcomeInput {
                    attachments: vec![AttachmentInput {
                        file_name: "x.pdf".into(),
                        content_type: "application/pdf".into(),
                        content: vec![1],
                    }],
                    ..input(OutboundNotContacted, Outcome::NoAnswer)
                },
                "attachments",
                "Este resultado no admite adjuntos.",
            ),
        ];
        for (i, field, message) in cases {
            let got = refused(&i);
            assert!(
                got.contains(&(field.to_string(), message.to_string())),
                "{i:?}: {got:?}"
            );
        }
    }

    /// A value each field accepts, for the entry at hand.
    fn fill(i: &mut OutcomeInput, f: Field, payment: bool) {
        match f {
            Date if payment => i.date = "2026-11-20".into(),
            Date => i.date = "2026-11-30".into(),
            Amount => i.amount = "150.000".into(),
            UntilDate => i.until_date = "2026-12-15".into(),
            Code => i.code = "Estado de cuenta".into(),
            Reason => i.reason = "Cobro duplicado".into(),
            Note => i.note = "Nota de la gestión".into(),
            PaymentMethod => i.payment_method = "Transferencia".into(),
            Reference => i.reference = "TRX-1".into(),
            Attachment => {}
        }
    }

    #[test]
    fn every_entry_takes_its_required_fields_and_names_each_missing_one() {
        let calendar = CallCalendar::default();
        for spec in CATALOGUE {
            let payment = spec.effects.contains(&PaymentToVerify);
            let mut full = input(spec.situation, spec.outcome);
            for f in spec.required {
                fill(&mut full, *f, payment);
            }
            if spec.effects.contains(&Alert(AlertEvent::WrongPhone)) {
                full.contact_point_id = Some(1);
            }
            let v = full
                .validate(today(), &calendar)
                .unwrap_or_else(|e| panic!("{:?} {:?}: {e:?}", spec.situation, spec.outcome));
            assert_eq!(v.spec, spec);
            assert_eq!(v.payment, payment, "{:?}", spec.outcome);
            for f in spec.required.iter().filter(|f| **f != Attachment) {
                let mut missing = full.clone();
                match f {
                    Date => missing.date.clear(),
                    Amount => missing.amount.clear(),
                    UntilDate => missing.until_date.clear(),
                    Code => missing.code.clear(),
                    Reason => missing.reason.clear(),
                    Note => missing.note.clear(),
                    _ => unreachable!("{f:?} is never required"),
                }
                let errors = missing.validate(today(), &calendar).unwrap_err();
                assert!(
                    errors.iter().any(|e| e.field == field_name(*f)),
                    "{:?} without {f:?}: {errors:?}",
                    spec.outcome
                );
            }
            // Optional fields are kept when given.
            let mut extra = full.clone();
            for f in spec.optional {
                fill(&mut extra, *f, payment);
            }
            let v = extra.validate(today(), &calendar).unwrap();
            assert_eq!(
                v.note.is_empty(),
                !(spec.required.contains(&Note) || spec.optional.contains(&Note)),
                "{:?}",
                spec.outcome
            );
        }
    }

    #[test]
    fn callbacks_avoid_restricted_days_and_a_failed_phone_must_be_named() {
        let calendar = CallCalendar::parse("dom", "2026-12-08").unwrap();
        for (day, why) in [
            ("2026-11-29", "los domingos no se contacta a los clientes"),
            ("2026-12-08", "es feriado"),
        ] {
            let i = OutcomeInput {
                date: day.into(),
                ..input(OutboundContacted, Outcome::Callback)
            };
            let e = i.validate(today(), &calendar).unwrap_err();
            assert_eq!(
                e[0].message,
                format!("Ese día no se llama: {why}. Elige otro día.")
            );
        }
        let monday = OutcomeInput {
            date: "2026-11-30".into(),
            ..input(OutboundContacted, Outcome::Callback)
        };
        assert!(monday.validate(today(), &calendar).is_ok());
        // A promise may fall on a Sunday: only calls are restricted.
        let promise = OutcomeInput {
            date: "2026-11-29".into(),
            amount: "10".into(),
            ..input(OutboundContacted, Outcome::PromiseOrToVerify)
        };
        assert!(promise.validate(today(), &calendar).is_ok());
        let wrong = input(OutboundNotContacted, Outcome::WrongNumber);
        assert_eq!(refused(&wrong)[0].0, "contact_point_id");
        let wrong = OutcomeInput {
            contact_point_id: Some(7),
            ..wrong
        };
        assert!(wrong.validate(today(), &calendar).is_ok());
    }

    #[test]
    fn a_promise_or_a_declared_payment_takes_its_date_rule() {
        let promise = OutcomeInput {
            date: "2026-11-30".into(),
            amount: "150.000".into(),
            ..input(OutboundContacted, Outcome::PromiseOrToVerify)
        };
        let v = promise.validate(today(), &CallCalendar::default()).unwrap();
        assert_eq!(
            (v.date, v.amount_cents, v.payment),
            (
                NaiveDate::from_ymd_opt(2026, 11, 30),
                Some(15_000_000),
                false
            )
        );
        let paid = OutcomeInput {
            already_paid: true,
            ..promise.clone()
        };
        assert!(
            refused(&paid).iter().any(|(f, _)| f == "date"),
            "a payment is not dated in the future"
        );
        let paid = OutcomeInput {
            date: "2026-11-20".into(),
            ..paid
        };
        assert!(
            paid.validate(today(), &CallCalendar::default())
                .unwrap()
                .payment
        );
    }

    #[test]
    fn fields_an_outcome_does_not_ask_for_are_not_kept() {
        let i = OutcomeInput {
            amount: "999".into(),
            reason: "no aplica".into(),
            note: "  no contestó  ".into(),
            ..input(OutboundNotContacted, Outcome::NoAnswer)
        };
        let v = i.validate(today(), &CallCalendar::default()).unwrap();
        assert_eq!(
            (v.amount_cents, v.reason.as_str(), v.note.as_str()),
            (None, "", "no contestó")
        );
        assert_eq!(v.spec.effects, &[StaysInTray]);
    }

    fn labels(situation: Situation) -> Vec<&'static str> {
        offered(situation).map(|s| s.outcome.label()).collect()
    }

    #[test]
    fn each_situation_offers_the_brief_s_outcomes_in_its_order() {
        assert_eq!(
            labels(OutboundContacted),
            [
                "Compromiso / A verificar",
                "Volver a llamar",
                "No quiere pagar",
                "No puede pagar",
                "Reestructuración",
                "Refinanciación",
                "Pago realizado",
                "Recordatorio",
                "Pausar comunicaciones",
            ]
        );
        assert_eq!(
            labels(OutboundNotContacted),
            [
                "No contesta / Ocupado",
                "Equivocado / Suspendido",
                "Mensaje en buzón",
                "Pago realizado",
                "Contacto con tercero",
                "Pausar comunicaciones",
            ]
        );
        assert_eq!(
            labels(Inbound),
            [
                "Compromiso / A verificar",
                "Reestructuración",
                "Refinanciación",
                "Solicitud de información",
                "Reclamo",
                "Pago realizado",
                "Pausar comunicaciones",
            ]
        );
    }

    #[test]
    fn outcomes_outside_their_situation_are_not_offered() {
        assert!(lookup(Inbound, Outcome::NoAnswer).is_none());
        assert!(lookup(Inbound, Outcome::Callback).is_none());
        assert!(lookup(OutboundNotContacted, Outcome::WontPay).is_none());
        assert!(lookup(OutboundContacted, Outcome::Complaint).is_none());
        assert!(lookup(OutboundContacted, Outcome::Callback).is_some());
    }

    #[test]
    fn shortcuts_are_unique_within_a_situation_and_fields_are_not_repeated() {
        for situation in Situation::ALL {
            let mut keys: Vec<char> = offered(*situation).map(|s| s.key).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "{situation:?}");
            for s in offered(*situation) {
                for f in s.required {
                    assert!(!s.optional.contains(f), "{:?} {f:?}", s.outcome);
                }
            }
        }
    }

    #[test]
    fn money_outcomes_ask_for_date_and_amount_and_dated_effects_ask_for_a_date() {
        for s in CATALOGUE {
            let money = s
                .effects
                .iter()
                .any(|e| matches!(e, PromiseOrPaymentToVerify | PaymentToVerify));
            if money {
                assert!(
                    s.required.contains(&Date) && s.required.contains(&Amount),
                    "{s:?}"
                );
            }
            if s.effects.contains(&Reschedules) {
                assert!(s.required.contains(&Date), "{s:?}");
            }
            if s.effects.contains(&PausesUntil) {
                assert!(s.required.contains(&UntilDate), "{s:?}");
            }
        }
    }

    #[test]
    fn contact_classes_follow_whether_the_debtor_was_reached() {
        for s in offered(OutboundContacted).chain(offered(Inbound)) {
            assert_eq!(s.class, RightParty, "{:?}", s.outcome);
        }
        assert_eq!(
            lookup(OutboundNotContacted, Outcome::NoAnswer)
                .unwrap()
                .class,
            Attempt
        );
        assert_eq!(
            lookup(OutboundNotContacted, Outcome::WrongNumber)
                .unwrap()
                .class,
            Failed
        );
        assert_eq!(
            lookup(OutboundNotContacted, Outcome::ThirdParty)
                .unwrap()
                .class,
            ThirdParty
        );
    }

    #[test]
    fn alerts_come_from_the_outcomes_the_brief_names() {
        let raising: Vec<Outcome> = CATALOGUE
            .iter()
            .filter(|s| s.effects.iter().any(|e| matches!(e, Alert(_))))
            .map(|s| s.outcome)
            .collect();
        for o in &raising {
            assert!(matches!(
                o,
                Outcome::WontPay
                    | Outcome::CantPay
                    | Outcome::Restructuring
                    | Outcome::Refinancing
                    | Outcome::WrongNumber
            ));
        }
        assert!(raising.contains(&Outcome::WrongNumber));
        assert!(lookup(OutboundNotContacted, Outcome::WrongNumber)
            .unwrap()
            .effects
            .contains(&Alert(AlertEvent::WrongPhone)));
    }
}
