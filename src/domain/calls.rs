//! Calls: the Llamadas tray's tasks, promises to pay and when they are kept or broken,
//! payments to verify, the days calls may be scheduled on, and what the conversation
//! shows of each.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::client::PartyRole;
use crate::domain::contact::ContactKind;
use crate::domain::debt::parse_date;
use crate::domain::error::FieldError;
use crate::domain::message::{check_attachments, AttachmentInput, AttachmentMeta};
use crate::domain::money::parse_amount;
use crate::domain::outcome::{ContactClass, Outcome, Situation};

text_enum! {
    /// Why a call is in the tray.
    pub enum CallReason {
        Flow => ("flow", "Flujo de comunicaciones"),
        Callback => ("callback", "Volver a llamar"),
        BrokenPromise => ("broken_promise", "Compromiso incumplido"),
    }
}

text_enum! {
    pub enum PromiseState {
        Pending => ("pending", "Pendiente"),
        Kept => ("kept", "Cumplido"),
        Broken => ("broken", "Incumplido"),
        Cancelled => ("cancelled", "Cancelado"),
    }
}

text_enum! {
    pub enum PaymentStatus {
        ToVerify => ("to_verify", "A verificar"),
        Approved => ("approved", "Aprobado"),
        Rejected => ("rejected", "Rechazado"),
    }
}

text_enum! {
    /// Why the main flow sends nothing to a client, with no end date.
    pub enum FlowStop {
        WontPay => ("wont_pay", "No quiere pagar"),
        CantPay => ("cant_pay", "No puede pagar"),
        PaymentToVerify => ("payment_to_verify", "Pago a verificar"),
    }
}

/// When a promise counts as kept: the organisation's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromisePolicy {
    /// Days after the promised date that a payment still keeps the promise.
    pub grace_days: u32,
    /// The share of the promised amount (1–100 %) that keeps it.
    pub kept_threshold_pct: u32,
}

impl Default for PromisePolicy {
    fn default() -> Self {
        PromisePolicy {
            grace_days: 2,
            kept_threshold_pct: 100,
        }
    }
}

/// A payment as the promise rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PaymentFact {
    pub paid_on: NaiveDate,
    pub amount_cents: i64,
    pub status: PaymentStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    Broken,
    /// Not decided yet: before the deadline, or a payment in the window awaits
    /// verification.
    Open,
}

impl PromisePolicy {
    /// The last day a payment keeps a promise made for `promised`.
    pub fn deadline(&self, promised: NaiveDate) -> NaiveDate {
        promised + chrono::Duration::days(i64::from(self.grace_days))
    }

    /// The least that keeps a promise of `amount_cents` (rounded up to the cent).
    pub fn threshold_cents(&self, amount_cents: i64) -> i64 {
        let pct = i64::from(self.kept_threshold_pct.clamp(1, 100));
        (amount_cents * pct + 99) / 100
    }

    /// Whether a promise made on `created_on` to pay `amount_cents` by `promised` is kept,
    /// broken or still open on `today`. Approved payments dated from the day it was made
    /// to the deadline count; a payment still to verify in that window holds the verdict
    /// until it is reviewed.
    pub fn verdict(
        &self,
        created_on: NaiveDate,
        promised: NaiveDate,
        amount_cents: i64,
        payments: &[PaymentFact],
        today: NaiveDate,
    ) -> Verdict {
        let deadline = self.deadline(promised);
        let in_window = |p: &&PaymentFact| p.paid_on >= created_on && p.paid_on <= deadline;
        let paid: i64 = payments
            .iter()
            .filter(in_window)
            .filter(|p| p.status == PaymentStatus::Approved)
            .map(|p| p.amount_cents)
            .sum();
        if paid >= self.threshold_cents(amount_cents) {
            Verdict::Kept
        } else if today <= deadline
            || payments
                .iter()
                .filter(in_window)
                .any(|p| p.status == PaymentStatus::ToVerify)
        {
            Verdict::Open
        } else {
            Verdict::Broken
        }
    }
}

/// The days on which communications, and so calls, are restricted: closed weekdays and
/// holidays, from the organisation's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCalendar {
    /// Monday = 0 … Sunday = 6.
    pub closed_weekdays: Vec<u8>,
    pub holidays: Vec<NaiveDate>,
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "lunes",
        Weekday::Tue => "martes",
        Weekday::Wed => "miércoles",
        Weekday::Thu => "jueves",
        Weekday::Fri => "viernes",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

impl CallCalendar {
    /// Why no call may be scheduled on `day`, or `None` when it may.
    pub fn restriction(&self, day: NaiveDate) -> Option<String> {
        if self.holidays.contains(&day) {
            return Some("es feriado".into());
        }
        let wd = day.weekday();
        self.closed_weekdays
            .contains(&(wd.num_days_from_monday() as u8))
            .then(|| format!("los {} no se contacta a los clientes", plural(wd)))
    }

    /// Parses the settings' form: weekday names ("sab,dom") and ISO dates.
    pub fn parse(closed_weekdays: &str, holidays: &str) -> Result<Self, String> {
        let mut c = CallCalendar::default();
        for w in closed_weekdays
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            let day = match w.to_lowercase().as_str() {
                "lun" | "lunes" | "mon" => 0,
                "mar" | "martes" | "tue" => 1,
                "mie" | "mié" | "miercoles" | "miércoles" | "wed" => 2,
                "jue" | "jueves" | "thu" => 3,
                "vie" | "viernes" | "fri" => 4,
                "sab" | "sáb" | "sabado" | "sábado" | "sat" => 5,
                "dom" | "domingo" | "sun" => 6,
                _ => return Err(format!("«{w}» no es un día de la semana")),
            };
            if !c.closed_weekdays.contains(&day) {
                c.closed_weekdays.push(day);
            }
        }
        for h in holidays.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let d = NaiveDate::parse_from_str(h, "%Y-%m-%d")
                .map_err(|_| format!("«{h}» no es una fecha AAAA-MM-DD"))?;
            c.holidays.push(d);
        }
        c.holidays.sort();
        c.holidays.dedup();
        Ok(c)
    }
}

fn plural(d: Weekday) -> &'static str {
    match d {
        Weekday::Sat => "sábados",
        Weekday::Sun => "domingos",
        other => weekday_name(other),
    }
}

/// What a date or amount field of a promise or payment accepts. Promises and callbacks
/// look ahead (today or later); payments look back (today or earlier).
pub fn check_date(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    payment: bool,
    today: NaiveDate,
) -> Option<NaiveDate> {
    if raw.trim().is_empty() {
        return None;
    }
    match parse_date(raw) {
        Err(e) => errors.push(FieldError::new(field, e)),
        Ok(d) if payment && d > today => errors.push(FieldError::new(
            field,
            "La fecha de un pago no puede ser futura.",
        )),
        Ok(d) if !payment && d < today => errors.push(FieldError::new(
            field,
            "La fecha no puede ser anterior a hoy.",
        )),
        Ok(d) => return Some(d),
    }
    None
}

pub fn check_amount(errors: &mut Vec<FieldError>, raw: &str) -> Option<i64> {
    if raw.trim().is_empty() {
        return None;
    }
    match parse_amount(raw) {
        Err(e) => errors.push(FieldError::new("amount", e)),
        Ok(0) => errors.push(FieldError::new(
            "amount",
            "El monto debe ser mayor que cero.",
        )),
        Ok(c) => return Some(c),
    }
    None
}

/// A promise or a payment to verify registered from the debt panel, outside a call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclareInput {
    pub client_id: i64,
    /// A payment to verify; otherwise a promise.
    pub payment: bool,
    pub date: String,
    pub amount: String,
    pub payment_method: String,
    pub reference: String,
    pub note: String,
    pub attachments: Vec<AttachmentInput>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidDeclare {
    pub date: NaiveDate,
    pub amount_cents: i64,
}

impl DeclareInput {
    pub fn validate(&self, today: NaiveDate) -> Result<ValidDeclare, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.date.trim().is_empty() {
            errors.push(FieldError::new("date", "Elige la fecha."));
        }
        if self.amount.trim().is_empty() {
            errors.push(FieldError::new("amount", "Escribe el monto."));
        }
        let date = check_date(&mut errors, "date", &self.date, self.payment, today);
        let amount = check_amount(&mut errors, &self.amount);
        check_lengths(
            &mut errors,
            &[
                ("payment_method", &self.payment_method, 60),
                ("reference", &self.reference, 100),
                ("note", &self.note, crate::domain::outcome::MAX_NOTE_CHARS),
            ],
        );
        if self.payment {
            check_attachments(&mut errors, &self.attachments);
        } else if !self.attachments.is_empty() {
            errors.push(FieldError::new(
                "attachments",
                "Un compromiso no lleva adjuntos; adjunta el comprobante al pago.",
            ));
        }
        match (date, amount) {
            (Some(date), Some(amount_cents)) if errors.is_empty() => {
                Ok(ValidDeclare { date, amount_cents })
            }
            _ => Err(errors),
        }
    }
}

pub fn check_lengths(errors: &mut Vec<FieldError>, fields: &[(&str, &str, usize)]) {
    for (field, text, max) in fields {
        let n = text.chars().count();
        if n > *max {
            errors.push(FieldError::new(
                *field,
                format!("Admite hasta {max} caracteres; tiene {n}."),
            ));
        }
    }
}

/// Approving or rejecting a payment to verify.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewInput {
    pub payment_id: i64,
    pub approve: bool,
    /// Required when rejecting; shown in the conversation.
    pub reason: String,
}

impl ReviewInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !self.approve && self.reason.trim().is_empty() {
            errors.push(FieldError::new(
                "reason",
                "Escribe por qué rechazas el pago.",
            ));
        }
        check_lengths(&mut errors, &[("reason", &self.reason, 500)]);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A phone of the conversation, to dial and to name in the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Phone {
    pub contact_point_id: i64,
    pub party_role: PartyRole,
    pub party_ordinal: i32,
    pub party_name: String,
    pub kind: ContactKind,
    pub value: String,
    /// What went wrong with it, while it carries the contactability flag.
    pub problem: Option<crate::domain::alerts::ContactProblem>,
}

impl Phone {
    /// The `tel:` link: the stored number is already international.
    pub fn tel_href(&self) -> String {
        let digits: String = self
            .value
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        format!("tel:{digits}")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseEntry {
    pub id: i64,
    pub outcome_id: Option<i64>,
    pub promised_date: NaiveDate,
    pub amount_cents: i64,
    pub currency: String,
    pub state: PromiseState,
    pub created_by_name: String,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEntry {
    pub id: i64,
    pub client_id: i64,
    pub outcome_id: Option<i64>,
    pub paid_on: NaiveDate,
    pub amount_cents: i64,
    pub currency: String,
    pub method: String,
    pub reference: String,
    pub note: String,
    pub status: PaymentStatus,
    pub declared_by_name: String,
    pub at: NaiveDateTime,
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_reason: String,
    pub unapplied_cents: i64,
    pub files: Vec<AttachmentMeta>,
}

/// A registered outcome, as the conversation shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeEntry {
    pub id: i64,
    pub situation: Situation,
    pub outcome: Outcome,
    pub class: ContactClass,
    pub party_role: PartyRole,
    pub phone: String,
    pub date: Option<NaiveDate>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub payment_method: String,
    pub reference: String,
    pub until_date: Option<NaiveDate>,
    pub code: String,
    pub reason: String,
    pub note: String,
    pub user_name: String,
    pub at: NaiveDateTime,
    pub files: Vec<AttachmentMeta>,
}

/// Everything about calls and money the conversation shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gestion {
    pub phones: Vec<Phone>,
    pub outcomes: Vec<OutcomeEntry>,
    pub promises: Vec<PromiseEntry>,
    pub payments: Vec<PaymentEntry>,
    /// The open call task due soonest, and why.
    pub call_due: Option<(NaiveDate, CallReason)>,
    /// The main flow is suspended through this day (today or later).
    pub flow_paused_until: Option<NaiveDate>,
    pub flow_stop: Option<FlowStop>,
    /// "Llamar" goes through the telephony provider (it rings the advisor, then the
    /// client) instead of the phone's own dialler.
    #[serde(default)]
    pub click_to_call: bool,
}

/// A payment to verify in the queue, with its client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedPayment {
    pub payment: PaymentEntry,
    /// The viewer declared or registered it, and another person must approve it.
    #[serde(default)]
    pub approved_by_another: bool,
    pub client_name: String,
    pub document_number: String,
    pub advisor_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn paid(on: NaiveDate, cents: i64, status: PaymentStatus) -> PaymentFact {
        PaymentFact {
            paid_on: on,
            amount_cents: cents,
            status,
        }
    }

    #[test]
    fn promises_are_kept_broken_or_open_by_payments_in_the_window() {
        use PaymentStatus::*;
        let policy = PromisePolicy {
            grace_days: 2,
            kept_threshold_pct: 90,
        };
        let made = d(11, 10);
        let promised = d(11, 20);
        // (payments, today, verdict)
        let cases: Vec<(Vec<PaymentFact>, NaiveDate, Verdict)> = vec![
            (vec![], d(11, 20), Verdict::Open),
            (vec![], d(11, 22), Verdict::Open),
            (vec![], d(11, 23), Verdict::Broken),
            (
                vec![paid(d(11, 15), 10_000, Approved)],
                d(11, 12),
                Verdict::Kept,
            ),
            (
                vec![paid(d(11, 22), 9_000, Approved)],
                d(11, 30),
                Verdict::Kept,
            ),
            (
                vec![paid(d(11, 22), 8_999, Approved)],
                d(11, 30),
                Verdict::Broken,
            ),
            (
                vec![
                    paid(d(11, 12), 5_000, Approved),
                    paid(d(11, 21), 4_000, Approved),
                ],
                d(11, 30),
                Verdict::Kept,
            ),
            (
                vec![paid(d(11, 23), 10_000, Approved)],
                d(11, 30),
                Verdict::Broken,
            ),
            (
                vec![paid(d(11, 9), 10_000, Approved)],
                d(11, 30),
                Verdict::Broken,
            ),
            (
                vec![paid(d(11, 20), 10_000, ToVerify)],
                d(11, 30),
                Verdict::Open,
            ),
            (
                vec![paid(d(11, 20), 10_000, Rejected)],
                d(11, 30),
                Verdict::Broken,
            ),
        ];
        for (payments, today, want) in cases {
            assert_eq!(
                policy.verdict(made, promised, 10_000, &payments, today),
                want,
                "{payments:?} on {today}"
            );
        }
    }

    #[test]
    fn the_threshold_rounds_up_and_stays_within_bounds() {
        let p = |pct| PromisePolicy {
            grace_days: 0,
            kept_threshold_pct: pct,
        };
        assert_eq!(p(100).threshold_cents(12_345), 12_345);
        assert_eq!(p(50).threshold_cents(101), 51);
        assert_eq!(p(0).threshold_cents(100), 1);
        assert_eq!(p(250).threshold_cents(100), 100);
    }

    #[test]
    fn the_calendar_restricts_closed_weekdays_and_holidays() {
        let c = CallCalendar::parse("sab, domingo", "2026-12-25,2026-12-08").unwrap();
        assert_eq!(c.closed_weekdays, vec![5, 6]);
        assert_eq!(
            c.restriction(d(11, 28)).unwrap(),
            "los sábados no se contacta a los clientes"
        );
        assert!(c.restriction(d(11, 29)).is_some());
        assert_eq!(c.restriction(d(12, 8)).unwrap(), "es feriado");
        assert_eq!(c.restriction(d(11, 27)), None);
        assert!(CallCalendar::parse("feriado", "").is_err());
        assert!(CallCalendar::parse("", "25/12/2026").is_err());
    }

    #[test]
    fn declared_promises_and_payments_follow_the_outcome_rules() {
        let today = d(11, 23);
        let promise = DeclareInput {
            client_id: 1,
            date: "2026-11-30".into(),
            amount: "150.000".into(),
            ..DeclareInput::default()
        };
        assert_eq!(promise.validate(today).unwrap().amount_cents, 15_000_000);
        let payment = DeclareInput {
            payment: true,
            ..promise.clone()
        };
        let e = payment.validate(today).unwrap_err();
        assert_eq!(e[0].message, "La fecha de un pago no puede ser futura.");
        let with_file = DeclareInput {
            attachments: vec![AttachmentInput {
                file_name: "recibo.pdf".into(),
                content_type: "application/pdf".into(),
                content: vec![1],
            }],
            ..promise.clone()
        };
        assert_eq!(
            with_file.validate(today).unwrap_err()[0].field,
            "attachments"
        );
        assert!(DeclareInput {
            date: "2026-11-20".into(),
            payment: true,
            ..with_file
        }
        .validate(today)
        .is_ok());
        let empty = DeclareInput::default().validate(today).unwrap_err();
        let fields: Vec<&str> = empty.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date", "amount"]);
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let r = ReviewInput {
            payment_id: 1,
            approve: false,
            reason: " ".into(),
        };
        assert_eq!(r.validate().unwrap_err()[0].field, "reason");
        assert!(ReviewInput { approve: true, ..r }.validate().is_ok());
    }

    #[test]
    fn tel_links_keep_only_dialable_characters() {
        let p = Phone {
            contact_point_id: 1,
            party_role: PartyRole::Client,
            party_ordinal: 1,
            party_name: "Ana".into(),
            kind: ContactKind::Phone,
            value: "+57 300 123 4567".into(),
            problem: None,
        };
        assert_eq!(p.tel_href(), "tel:+573001234567");
    }
}
