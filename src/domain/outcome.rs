//! The call-outcome catalogue ("Gestión"), as data: which outcomes each kind of call
//! offers, in the brief's order and words (seeds 000 and 001), the fields each asks for,
//! what each does, and its contact class.

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
    /// The phone called is marked failed.
    MarksPhoneFailed,
    /// An alert event the alerts feature turns into a flag.
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
        &[MarksPhoneFailed, Alert(AlertEvent::WrongPhone)],
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

#[cfg(test)]
mod tests {
    use super::*;

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
            .contains(&MarksPhoneFailed));
    }
}
