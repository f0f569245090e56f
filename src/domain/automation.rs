//! Automated communications (seeds 000, 001, 003, 004): the main flow, whose steps fall
//! on days relative to the client's oldest unpaid due date; events, sent on what
//! happens to promises and payments; one-off campaigns to a segment; the hours they may
//! go out at; and when the main flow leaves a client alone.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::calls::FlowStop;
use crate::domain::error::FieldError;
use crate::domain::message::Channel;
use crate::domain::segments::check_name;

text_enum! {
    /// What sends an event's template.
    pub enum Trigger {
        PromiseCreated => ("promise_created", "Compromiso de pago registrado"),
        PromiseDue => ("promise_due", "Compromiso de pago por vencer"),
        PromiseBroken => ("promise_broken", "Compromiso de pago incumplido"),
        PaymentToVerify => ("payment_to_verify", "Pago a verificar recibido"),
        PaymentApproved => ("payment_approved", "Pago verificado"),
        PaymentRejected => ("payment_rejected", "Pago rechazado"),
    }
}

text_enum! {
    pub enum CampaignState {
        Scheduled => ("scheduled", "Programada"),
        Running => ("running", "Enviando"),
        Done => ("done", "Terminada"),
        Cancelled => ("cancelled", "Cancelada"),
    }
}

text_enum! {
    /// Why the main flow sends nothing to a client today. Events still go out.
    pub enum Suspension {
        Promise => ("promise", "Compromiso de pago vigente"),
        PaymentToVerify => ("payment_to_verify", "Pago a verificar"),
        Paused => ("paused", "Comunicaciones pausadas"),
        WontPay => ("wont_pay", "No quiere pagar"),
        CantPay => ("cant_pay", "No puede pagar"),
    }
}

/// Whether the main flow leaves the client alone on `today`: a pending promise (until
/// it is settled kept or broken), a payment to verify, paused communications (up to
/// and including the chosen date), or a "No quiere / No puede pagar" outcome (until a
/// promise or payment lifts it).
pub fn suspension(
    stop: Option<FlowStop>,
    paused_until: Option<NaiveDate>,
    pending_promise: bool,
    today: NaiveDate,
) -> Option<Suspension> {
    if pending_promise {
        return Some(Suspension::Promise);
    }
    if let Some(s) = stop {
        return Some(match s {
            FlowStop::PaymentToVerify => Suspension::PaymentToVerify,
            FlowStop::WontPay => Suspension::WontPay,
            FlowStop::CantPay => Suspension::CantPay,
        });
    }
    paused_until
        .filter(|d| *d >= today)
        .map(|_| Suspension::Paused)
}

/// Step days go from three months before the due date to two years after it.
pub const STEP_DAYS: std::ops::RangeInclusive<i32> = -90..=730;
pub const MAX_STEPS: usize = 60;
/// Days a pass after a stop goes back to send what it missed.
pub const MAX_CATCH_UP_DAYS: i64 = 7;

/// The days a pass on `today` covers: the days since the last pass (at most
/// [`MAX_CATCH_UP_DAYS`]) and today, which every pass covers again so that a client
/// imported during the day still gets the day's step.
pub fn pass_days(last_covered: Option<NaiveDate>, today: NaiveDate) -> Vec<NaiveDate> {
    let first = match last_covered {
        None => today,
        Some(d) if d >= today => today,
        Some(d) => (d + Duration::days(1)).max(today - Duration::days(MAX_CATCH_UP_DAYS - 1)),
    };
    first.iter_days().take_while(|d| *d <= today).collect()
}

/// The client's oldest unpaid due date a step sends on, on `day`.
pub fn anchor_for(day: NaiveDate, step_day: i32) -> NaiveDate {
    day - Duration::days(i64::from(step_day))
}

/// How a step reads in the flow: "Día 5 después del vencimiento".
pub fn step_day_label(day: i32) -> String {
    match day {
        0 => "El día del vencimiento".into(),
        d if d < 0 => format!("{} días antes del vencimiento", -d),
        1 => "1 día después del vencimiento".into(),
        d => format!("{d} días después del vencimiento"),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStepInput {
    /// Relative to the oldest unpaid due date; negative is before it.
    pub day: i32,
    /// The template to send; `None` schedules a call in the Llamadas tray.
    pub template_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInput {
    pub name: String,
    pub segment_id: Option<i64>,
    /// Flows are tried in this order; a client follows the first whose segment holds it.
    pub position: i32,
    pub active: bool,
    pub steps: Vec<FlowStepInput>,
}

impl FlowInput {
    /// Name, segment, and steps (sorted by day, none repeated).
    pub fn check(&self) -> Result<(String, i64, Vec<FlowStepInput>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = check_name(&self.name).map_err(|e| errors.push(e)).ok();
        if self.segment_id.is_none() {
            errors.push(FieldError::new("segment", "Elige el segmento del flujo."));
        }
        if self.steps.is_empty() {
            errors.push(FieldError::new("steps", "Añade al menos un paso."));
        }
        if self.steps.len() > MAX_STEPS {
            errors.push(FieldError::new(
                "steps",
                format!("Un flujo admite como máximo {MAX_STEPS} pasos."),
            ));
        }
        if !(1..=1000).contains(&self.position) {
            errors.push(FieldError::new("position", "El orden va de 1 a 1000."));
        }
        let mut steps = self.steps.clone();
        steps.sort_by_key(|s| (s.day, s.template_id));
        for (i, s) in steps.iter().enumerate() {
            if !STEP_DAYS.contains(&s.day) {
                errors.push(FieldError::new(
                    "steps",
                    format!(
                        "El día {} está fuera de rango: de {} a {}.",
                        s.day,
                        STEP_DAYS.start(),
                        STEP_DAYS.end()
                    ),
                ));
            }
            if i > 0 && steps[i - 1] == *s {
                errors.push(FieldError::new(
                    "steps",
                    format!("El paso del día {} está repetido.", s.day),
                ));
            }
        }
        match (name, self.segment_id, errors.is_empty()) {
            (Some(n), Some(seg), true) => Ok((n, seg, steps)),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStep {
    pub id: i64,
    pub day: i32,
    pub template_id: Option<i64>,
    /// "Plantilla «…» por WhatsApp", or "Llamada".
    pub action: String,
    pub channel: Channel,
    pub sent: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Flow {
    pub id: i64,
    pub name: String,
    pub segment_id: i64,
    pub segment_name: String,
    pub position: i32,
    pub active: bool,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub steps: Vec<FlowStep>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRuleInput {
    pub name: String,
    pub trigger: Trigger,
    /// For "por vencer": how many days before the promised date.
    pub days_before: i32,
    pub template_id: Option<i64>,
    pub active: bool,
}

impl EventRuleInput {
    pub fn check(&self) -> Result<(String, i64), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = check_name(&self.name).map_err(|e| errors.push(e)).ok();
        if self.template_id.is_none() {
            errors.push(FieldError::new("template", "Elige la plantilla a enviar."));
        }
        if self.trigger == Trigger::PromiseDue && !(0..=30).contains(&self.days_before) {
            errors.push(FieldError::new(
                "days_before",
                "Los días antes del vencimiento van de 0 a 30.",
            ));
        }
        match (name, self.template_id, errors.is_empty()) {
            (Some(n), Some(t), true) => Ok((n, t)),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct EventRule {
    pub id: i64,
    pub name: String,
    pub trigger: Trigger,
    pub days_before: i32,
    pub template_id: i64,
    pub template_name: String,
    pub channel: Channel,
    pub active: bool,
    pub sent: i64,
}

impl EventRule {
    pub fn describe(&self) -> String {
        if self.trigger == Trigger::PromiseDue {
            format!("{} ({} días antes)", self.trigger.label(), self.days_before)
        } else {
            self.trigger.label().to_string()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignInput {
    pub name: String,
    pub segment_id: Option<i64>,
    pub template_id: Option<i64>,
    /// Local date and time ("2026-11-24T10:00", as a datetime field gives it); empty
    /// sends now.
    pub scheduled_at: String,
}

impl CampaignInput {
    /// Name, segment, template and local send time (`None`: now).
    pub fn check(&self) -> Result<(String, i64, i64, Option<NaiveDateTime>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = check_name(&self.name).map_err(|e| errors.push(e)).ok();
        if self.segment_id.is_none() {
            errors.push(FieldError::new(
                "segment",
                "Elige el segmento de la campaña.",
            ));
        }
        if self.template_id.is_none() {
            errors.push(FieldError::new("template", "Elige la plantilla a enviar."));
        }
        let raw = self.scheduled_at.trim();
        let at = if raw.is_empty() {
            None
        } else {
            match NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
            {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.push(FieldError::new(
                        "scheduled_at",
                        format!("«{raw}» no es una fecha y hora válidas."),
                    ));
                    None
                }
            }
        };
        match (name, self.segment_id, self.template_id, errors.is_empty()) {
            (Some(n), Some(s), Some(t), true) => Ok((n, s, t, at)),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub segment_name: String,
    pub template_name: String,
    pub channel: Channel,
    /// When it goes out, in the organisation's time zone.
    pub scheduled_at: NaiveDateTime,
    pub state: CampaignState,
    /// Clients in the segment when it started.
    pub total: Option<i64>,
    /// Messages written so far, and how they went.
    pub written: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// When automated messages may go out: the weekdays (Monday first) and the hours, in
/// the organisation's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactHours {
    pub days: [bool; 7],
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for ContactHours {
    fn default() -> Self {
        ContactHours {
            days: [true, true, true, true, true, true, false],
            start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(20, 0, 0).expect("valid time"),
        }
    }
}

pub const WEEKDAYS: [&str; 7] = [
    "Lunes",
    "Martes",
    "Miércoles",
    "Jueves",
    "Viernes",
    "Sábado",
    "Domingo",
];

impl ContactHours {
    /// The days as stored: "1111110".
    pub fn days_text(&self) -> String {
        self.days
            .iter()
            .map(|d| if *d { '1' } else { '0' })
            .collect()
    }

    pub fn parse(days: &str, start: &str, end: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut flags = [false; 7];
        if days.len() != 7 || !days.chars().all(|c| c == '0' || c == '1') {
            errors.push(FieldError::new(
                "contact_days",
                "Días de contacto no válidos.",
            ));
        } else {
            for (i, c) in days.chars().enumerate() {
                flags[i] = c == '1';
            }
            if !flags.iter().any(|d| *d) {
                errors.push(FieldError::new(
                    "contact_days",
                    "Elige al menos un día de contacto.",
                ));
            }
        }
        let time = |raw: &str, field: &str, errors: &mut Vec<FieldError>| {
            NaiveTime::parse_from_str(raw.trim(), "%H:%M")
                .map_err(|_| {
                    errors.push(FieldError::new(
                        field,
                        format!("«{raw}» no es una hora (HH:MM)."),
                    ))
                })
                .ok()
        };
        let s = time(start, "contact_start", &mut errors);
        let e = time(end, "contact_end", &mut errors);
        if let (Some(s), Some(e)) = (s, e) {
            if s >= e {
                errors.push(FieldError::new(
                    "contact_end",
                    "La hora de fin debe ser posterior a la de inicio.",
                ));
            }
        }
        match (s, e, errors.is_empty()) {
            (Some(start), Some(end), true) => Ok(ContactHours {
                days: flags,
                start,
                end,
            }),
            _ => Err(errors),
        }
    }

    fn open_on(&self, d: NaiveDate) -> bool {
        self.days[d.weekday().num_days_from_monday() as usize]
    }

    /// The first local moment at or after `t` when messages may go out.
    pub fn next_open(&self, t: NaiveDateTime) -> NaiveDateTime {
        if self.open_on(t.date()) && t.time() >= self.start && t.time() < self.end {
            return t;
        }
        let mut d = if t.time() < self.start {
            t.date()
        } else {
            t.date() + Duration::days(1)
        };
        while !self.open_on(d) {
            d += Duration::days(1);
        }
        d.and_time(self.start)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationSettings {
    pub contact: ContactHours,
    /// "Canal alternativo": when an automated message fails, a standard message goes
    /// out on the last channel that reached the client.
    pub fallback_enabled: bool,
    pub fallback_body: String,
}

/// What one pass of the scheduler did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassReport {
    /// The days whose flow steps this pass covered.
    pub days: Vec<NaiveDate>,
    pub flow_messages: u64,
    pub flow_calls: u64,
    pub suspended_skipped: u64,
    pub event_messages: u64,
    pub campaign_messages: u64,
    pub fallbacks: u64,
}

impl PassReport {
    pub fn sent_anything(&self) -> bool {
        self.flow_messages
            + self.flow_calls
            + self.event_messages
            + self.campaign_messages
            + self.fallbacks
            > 0
    }

    pub fn describe(&self) -> String {
        format!(
            "Flujo: {} mensajes y {} llamadas ({} clientes suspendidos sin envío). Eventos: {}. Campañas: {}. Canal alternativo: {}.",
            self.flow_messages,
            self.flow_calls,
            self.suspended_skipped,
            self.event_messages,
            self.campaign_messages,
            self.fallbacks
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn suspension_follows_the_outcomes_and_the_pause_date() {
        let today = day("2026-11-24");
        assert_eq!(suspension(None, None, false, today), None);
        assert_eq!(
            suspension(None, None, true, today),
            Some(Suspension::Promise)
        );
        assert_eq!(
            suspension(Some(FlowStop::CantPay), None, false, today),
            Some(Suspension::CantPay)
        );
        assert_eq!(
            suspension(Some(FlowStop::PaymentToVerify), None, false, today),
            Some(Suspension::PaymentToVerify)
        );
        assert_eq!(
            suspension(None, Some(today), false, today),
            Some(Suspension::Paused),
            "the pause includes its last day"
        );
        assert_eq!(
            suspension(None, Some(day("2026-11-23")), false, today),
            None
        );
    }

    #[test]
    fn a_pass_covers_the_days_missed_up_to_a_week() {
        let today = day("2026-11-24");
        assert_eq!(pass_days(None, today), vec![today]);
        assert_eq!(pass_days(Some(today), today), vec![today]);
        assert_eq!(
            pass_days(Some(day("2026-11-22")), today),
            vec![day("2026-11-23"), today]
        );
        let after_long_stop = pass_days(Some(day("2026-10-01")), today);
        assert_eq!(after_long_stop.len() as i64, MAX_CATCH_UP_DAYS);
        assert_eq!(after_long_stop.last(), Some(&today));
        assert_eq!(anchor_for(today, 5), day("2026-11-19"));
        assert_eq!(anchor_for(today, -3), day("2026-11-27"));
    }

    #[test]
    fn messages_wait_for_the_contact_hours() {
        let hours = ContactHours::default();
        // Tuesday 10:00 is open.
        assert_eq!(
            hours.next_open(at("2026-11-24 10:00")),
            at("2026-11-24 10:00")
        );
        assert_eq!(
            hours.next_open(at("2026-11-24 06:30")),
            at("2026-11-24 08:00")
        );
        assert_eq!(
            hours.next_open(at("2026-11-24 20:00")),
            at("2026-11-25 08:00")
        );
        // Saturday night waits for Monday: Sunday is closed.
        assert_eq!(
            hours.next_open(at("2026-11-28 21:00")),
            at("2026-11-30 08:00")
        );
    }

    #[test]
    fn settings_and_inputs_are_checked() {
        assert!(ContactHours::parse("0000000", "08:00", "20:00").is_err());
        let e = ContactHours::parse("1111100", "20:00", "08:00").unwrap_err();
        assert!(e[0].message.contains("posterior"));
        assert!(ContactHours::parse("1111100", "8", "20:00").unwrap_err()[0]
            .message
            .contains("HH:MM"));
        let ok = ContactHours::parse("1111100", "09:00", "18:30").unwrap();
        assert_eq!(ok.days_text(), "1111100");

        let flow = FlowInput {
            name: "Mora temprana".into(),
            segment_id: None,
            position: 1,
            active: true,
            steps: vec![
                FlowStepInput {
                    day: 5,
                    template_id: Some(1),
                },
                FlowStepInput {
                    day: 5,
                    template_id: Some(1),
                },
                FlowStepInput {
                    day: 900,
                    template_id: None,
                },
            ],
        };
        let errors = flow.check().unwrap_err();
        let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(text.contains(&"Elige el segmento del flujo."));
        assert!(text.iter().any(|t| t.contains("repetido")));
        assert!(text.iter().any(|t| t.contains("fuera de rango")));

        let campaign = CampaignInput {
            name: "Navidad".into(),
            segment_id: Some(1),
            template_id: Some(2),
            scheduled_at: "mañana".into(),
        };
        assert!(campaign.check().unwrap_err()[0]
            .message
            .contains("no es una fecha"));
        let now = CampaignInput {
            scheduled_at: String::new(),
            ..campaign
        };
        assert_eq!(now.check().unwrap().3, None);
        let event = EventRuleInput {
            name: "Recordatorio".into(),
            trigger: Trigger::PromiseDue,
            days_before: 40,
            template_id: None,
            active: true,
        };
        assert_eq!(event.check().unwrap_err().len(), 2);
    }
}
