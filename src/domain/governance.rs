//! Contact governance: the rules a contact with a debtor must pass before it leaves,
//! per country, as data. A policy says on which days and hours a debtor may be
//! contacted (in the debtor's own zone), which holidays close, how many contacts fit in
//! a window and what a rule does when broken: block (nothing leaves) or warn (the
//! advisor goes ahead with a written reason). [`preflight`] is the one judge: the
//! composer, the calls tray and every automated sender ask it, and the server asks it
//! again on send.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::automation::{ContactHours, WEEKDAYS};
use crate::domain::client::PartyRole;
use crate::domain::error::FieldError;
use crate::domain::message::Channel;

text_enum! {
    /// What a broken rule does.
    pub enum Action {
        Block => ("block", "Bloquear"),
        Warn => ("warn", "Advertir y pedir motivo"),
    }
}

text_enum! {
    /// The span a cap counts contacts over, around the attempted one.
    pub enum Window {
        Day => ("day", "el mismo día"),
        IsoWeek => ("week", "la misma semana (lunes a domingo)"),
        Rolling7 => ("rolling7", "7 días corridos"),
    }
}

text_enum! {
    /// What a cap limits.
    pub enum Measure {
        /// At most `limit` contacts in the window, this one included.
        Contacts => ("contacts", "contactos como máximo"),
        /// At most `limit` different channels in the window, this one's included.
        Channels => ("channels", "canales distintos como máximo"),
        /// At least `limit` days between two contacts.
        DaysApart => ("days_apart", "días de separación como mínimo"),
    }
}

text_enum! {
    /// The verdict on one attempted contact.
    pub enum Verdict {
        Allow => ("allow", "Permitido"),
        Warn => ("warn", "Advertencia"),
        Block => ("block", "Bloqueado"),
    }
}

/// The channels a contact can go on, as the caps name them.
pub const CONTACT_CHANNELS: [Channel; 5] = [
    Channel::WhatsApp,
    Channel::WhatsAppBusiness,
    Channel::Email,
    Channel::Sms,
    Channel::Call,
];

/// Written media: everything but calls.
const WRITTEN: [Channel; 4] = [
    Channel::WhatsApp,
    Channel::WhatsAppBusiness,
    Channel::Email,
    Channel::Sms,
];

/// One limit on how often a debtor is contacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// Named in the reasons an advisor reads: "Llamadas por semana".
    pub name: String,
    /// The channels it counts and limits.
    pub channels: Vec<Channel>,
    pub window: Window,
    pub measure: Measure,
    pub limit: u32,
    pub action: Action,
}

/// The hours of one weekday, in the debtor's zone; `None` closes the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

/// One country's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// ISO code of the debtors' country it governs.
    pub country: String,
    /// Where the rules come from, with the law's articles; "Sin política legal cargada"
    /// where none is.
    pub source: String,
    /// Monday first.
    pub hours: [Option<DayHours>; 7],
    pub closed_on_holidays: bool,
    /// What a contact outside the hours does.
    pub hours_action: Action,
    /// An answer on the channel a debtor wrote on in the last 24 hours does not count
    /// against the caps (information the debtor asked for).
    pub replies_exempt: bool,
    pub caps: Vec<Cap>,
    /// What the account's figures written to a reference (a third party) do.
    pub reference_disclosure: Action,
}

/// Where a policy's text comes from, for the settings page.
pub const NO_LEGAL_POLICY: &str = "Sin política legal cargada: rige el horario de contacto de la organización, sin topes, hasta que un administrador la complete.";

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

fn hours(open: (u32, u32), close: (u32, u32)) -> Option<DayHours> {
    Some(DayHours {
        open: t(open.0, open.1),
        close: t(close.0, close.1),
    })
}

impl Policy {
    /// Colombia, Ley 2300 de 2023 ("dejen de fregar").
    pub fn colombia() -> Policy {
        let week = hours((7, 0), (19, 0));
        Policy {
            country: "CO".into(),
            source: "Ley 2300 de 2023, art. 3: contacto solo por los canales que el consumidor autorizó; de lunes a viernes de 7:00 a 19:00 y sábados de 8:00 a 15:00, nunca domingos ni festivos; tras el primer contacto, no más de un contacto al día ni más de un canal en la misma semana. La ley exceptúa la información que el consumidor solicita: una respuesta a lo que el deudor escribió no cuenta como contacto nuevo.".into(),
            hours: [week, week, week, week, week, hours((8, 0), (15, 0)), None],
            closed_on_holidays: true,
            hours_action: Action::Block,
            replies_exempt: true,
            caps: vec![
                Cap {
                    name: "Un contacto al día".into(),
                    channels: CONTACT_CHANNELS.to_vec(),
                    window: Window::Day,
                    measure: Measure::Contacts,
                    limit: 1,
                    action: Action::Block,
                },
                Cap {
                    name: "Un canal por semana".into(),
                    channels: CONTACT_CHANNELS.to_vec(),
                    window: Window::IsoWeek,
                    measure: Measure::Channels,
                    limit: 1,
                    action: Action::Block,
                },
            ],
            reference_disclosure: Action::Block,
        }
    }

    /// Chile, Ley 19.496 art. 37 as amended by Ley 21.320 (2021).
    pub fn chile() -> Policy {
        let day = hours((8, 0), (20, 0));
        Policy {
            country: "CL".into(),
            source: "Ley 19.496, art. 37 (modificado por la Ley 21.320 de 2021): no más de un contacto telefónico o visita por semana; por otros medios (correo, SMS, correo electrónico, mensajería) no más de dos gestiones por semana, separadas por al menos dos días; sin comunicaciones a terceros que den cuenta de la morosidad; llamadas y visitas solo en los días y horas hábiles del art. 59 del Código de Procedimiento Civil (días no feriados, entre las 8:00 y las 20:00). Esta política aplica ese horario a todos los canales y cuenta la semana como 7 días corridos.".into(),
            hours: [day, day, day, day, day, day, None],
            closed_on_holidays: true,
            hours_action: Action::Block,
            replies_exempt: true,
            caps: vec![
                Cap {
                    name: "Llamadas por semana".into(),
                    channels: vec![Channel::Call],
                    window: Window::Rolling7,
                    measure: Measure::Contacts,
                    limit: 1,
                    action: Action::Block,
                },
                Cap {
                    name: "Mensajes por semana".into(),
                    channels: WRITTEN.to_vec(),
                    window: Window::Rolling7,
                    measure: Measure::Contacts,
                    limit: 2,
                    action: Action::Block,
                },
                Cap {
                    name: "Separación entre mensajes".into(),
                    channels: WRITTEN.to_vec(),
                    window: Window::Rolling7,
                    measure: Measure::DaysApart,
                    limit: 2,
                    action: Action::Block,
                },
            ],
            reference_disclosure: Action::Block,
        }
    }

    /// A country without a law loaded: the organisation's contact hours, no caps.
    pub fn organisation(country: &str, contact: &ContactHours) -> Policy {
        let day = Some(DayHours {
            open: contact.start,
            close: contact.end,
        });
        Policy {
            country: country.to_string(),
            source: NO_LEGAL_POLICY.into(),
            hours: std::array::from_fn(|i| if contact.days[i] { day } else { None }),
            closed_on_holidays: true,
            hours_action: Action::Warn,
            replies_exempt: true,
            caps: Vec::new(),
            reference_disclosure: Action::Block,
        }
    }

    /// The policy shipped for a country: the law where it is loaded, else the
    /// organisation's hours.
    pub fn shipped(country: &str, contact: &ContactHours) -> Policy {
        match country {
            "CO" => Policy::colombia(),
            "CL" => Policy::chile(),
            other => Policy::organisation(other, contact),
        }
    }

    /// Checks an edited policy; the errors name the form's fields.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for (i, h) in self.hours.iter().enumerate() {
            if let Some(h) = h {
                if h.open >= h.close {
                    errors.push(FieldError::new(
                        format!("hours_{i}"),
                        format!(
                            "{}: la hora de cierre debe ser posterior a la de apertura.",
                            WEEKDAYS[i]
                        ),
                    ));
                }
            }
        }
        if self.hours.iter().all(Option::is_none) {
            errors.push(FieldError::new(
                "hours_0",
                "Abre al menos un día: sin horario nadie podría contactar a los deudores.",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, cap) in self.caps.iter().enumerate() {
            let name = cap.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                errors.push(FieldError::new(
                    format!("cap_{i}_name"),
                    "Nombra el tope (hasta 80 caracteres).",
                ));
            } else if !names.insert(name.to_lowercase()) {
                errors.push(FieldError::new(
                    format!("cap_{i}_name"),
                    format!("Ya hay un tope llamado «{name}»."),
                ));
            }
            if cap.channels.is_empty() {
                errors.push(FieldError::new(
                    format!("cap_{i}_channels"),
                    format!("«{name}»: elige al menos un canal."),
                ));
            }
            if cap.limit == 0 || cap.limit > 100 {
                errors.push(FieldError::new(
                    format!("cap_{i}_limit"),
                    format!("«{name}»: el límite va de 1 a 100."),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn open_on(&self, day: NaiveDate, holidays: &[NaiveDate]) -> Option<DayHours> {
        if self.closed_on_holidays && holidays.contains(&day) {
            return None;
        }
        self.hours[day.weekday().num_days_from_monday() as usize]
    }
}

/// A contact already made or queued, at the debtor's wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastContact {
    pub at: NaiveDateTime,
    pub channel: Channel,
}

/// A contact about to be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The debtor's wall clock when it would leave.
    pub at: NaiveDateTime,
    pub channel: Channel,
    /// It answers what the party wrote on this channel in the last 24 hours.
    pub reply: bool,
}

/// Which rule a reason comes from: "horario", "festivo" or a cap's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub action: Action,
    pub text: String,
}

/// The judgement on one attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// The first moment, at or after the attempt, at which it would be allowed; `None`
    /// when it is allowed now or no moment in the next 60 days is.
    pub next_allowed: Option<NaiveDateTime>,
}

impl Decision {
    pub fn allow() -> Decision {
        Decision {
            verdict: Verdict::Allow,
            reasons: Vec::new(),
            next_allowed: None,
        }
    }

    /// Adds a reason and raises the verdict to what it does.
    pub fn add(&mut self, rule: &str, action: Action, text: String) {
        let raised = match action {
            Action::Block => Verdict::Block,
            Action::Warn => Verdict::Warn,
        };
        self.verdict = self.verdict.max(raised);
        self.reasons.push(Reason {
            rule: rule.to_string(),
            action,
            text,
        });
    }

    /// The reasons in one sentence per rule.
    pub fn explain(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Rule names, comma-separated, as the audit stores them.
    pub fn rules(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.rule.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether what stops it is only the hours (an automated send then waits).
    pub fn only_hours(&self) -> bool {
        self.reasons.iter().all(|r| r.rule == HOURS_RULE)
    }
}

/// The rule name of the days and hours.
pub const HOURS_RULE: &str = "Horario";
/// The rule name of the channels the debtor refused or did not authorise.
pub const CONSENT_RULE: &str = "Consentimiento";
/// The rule name of the guard on what a reference may read.
pub const DISCLOSURE_RULE: &str = "Terceros";

/// WhatsApp and WhatsApp Business reach the debtor on the same application: one medium.
fn medium(c: Channel) -> Channel {
    match c {
        Channel::WhatsAppBusiness => Channel::WhatsApp,
        other => other,
    }
}

fn in_window(window: Window, a: NaiveDateTime, b: NaiveDateTime) -> bool {
    match window {
        Window::Day => a.date() == b.date(),
        Window::IsoWeek => a.date().iso_week() == b.date().iso_week(),
        Window::Rolling7 => (a - b).abs() < Duration::days(7),
    }
}

fn weekday_name(d: NaiveDate) -> &'static str {
    WEEKDAYS[d.weekday().num_days_from_monday() as usize]
}

/// "domingos", "lunes".
fn weekdays_plural(d: NaiveDate) -> String {
    let name = weekday_name(d).to_lowercase();
    if name.ends_with('s') {
        name
    } else {
        name + "s"
    }
}

/// The rules of days, hours and caps at one moment (consent and disclosure are the
/// caller's: they depend on the address and the text, not the time).
fn judge(
    policy: &Policy,
    holidays: &[NaiveDate],
    history: &[PastContact],
    a: &Attempt,
) -> Decision {
    let mut d = Decision::allow();
    let day = a.at.date();
    if policy.closed_on_holidays && holidays.contains(&day) {
        d.add(
            HOURS_RULE,
            policy.hours_action,
            format!(
                "{} es festivo: no se contacta a los deudores.",
                day.format("%d/%m/%Y")
            ),
        );
    } else {
        match policy.hours[day.weekday().num_days_from_monday() as usize] {
            None => d.add(
                HOURS_RULE,
                policy.hours_action,
                format!(
                    "Los {} no se contacta a los deudores.",
                    weekdays_plural(day)
                ),
            ),
            Some(h) if a.at.time() < h.open || a.at.time() >= h.close => d.add(
                HOURS_RULE,
                policy.hours_action,
                format!(
                    "Fuera del horario de contacto: {} de {} a {}.",
                    weekday_name(day).to_lowercase(),
                    h.open.format("%H:%M"),
                    h.close.format("%H:%M")
                ),
            ),
            Some(_) => {}
        }
    }
    if a.reply && policy.replies_exempt {
        return d;
    }
    for cap in &policy.caps {
        if !cap.channels.contains(&a.channel) {
            continue;
        }
        let near: Vec<&PastContact> = history
            .iter()
            .filter(|c| in_window(cap.window, c.at, a.at) && cap.channels.contains(&c.channel))
            .collect();
        let broken = match cap.measure {
            Measure::Contacts => near.len() as u32 >= cap.limit,
            Measure::Channels => {
                let mut media: Vec<Channel> = near.iter().map(|c| medium(c.channel)).collect();
                media.push(medium(a.channel));
                media.sort();
                media.dedup();
                media.len() as u32 > cap.limit
            }
            Measure::DaysApart => near
                .iter()
                .any(|c| (c.at.date() - day).num_days().abs() < i64::from(cap.limit)),
        };
        if broken {
            let text = match cap.measure {
                Measure::Contacts => format!(
                    "{}: ya hay {} en {} (máximo {}).",
                    cap.name,
                    plural(near.len(), "contacto", "contactos"),
                    cap.window.label(),
                    cap.limit
                ),
                Measure::Channels => format!(
                    "{}: este deudor ya fue contactado por otro canal en {} (máximo {}).",
                    cap.name,
                    cap.window.label(),
                    plural(cap.limit as usize, "canal", "canales")
                ),
                Measure::DaysApart => format!(
                    "{}: debe haber al menos {} entre dos contactos.",
                    cap.name,
                    plural(cap.limit as usize, "día", "días")
                ),
            };
            d.add(&cap.name, cap.action, text);
        }
    }
    d
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// How far ahead [`preflight`] looks for the next allowed moment.
const LOOKAHEAD_DAYS: i64 = 60;

/// Judges an attempt against the policy, the holidays and the debtor's contacts (made
/// and queued, on every tab), and finds when it would next be allowed.
pub fn preflight(
    policy: &Policy,
    holidays: &[NaiveDate],
    history: &[PastContact],
    attempt: &Attempt,
) -> Decision {
    let mut decision = judge(policy, holidays, history, attempt);
    if decision.verdict != Verdict::Allow {
        decision.next_allowed = next_allowed(policy, holidays, history, attempt);
    }
    decision
}

/// The first moment at or after the attempt with no reason against it. Within a day
/// only a rolling window changes the verdict, and only when a contact leaves it: the
/// candidates are the day's opening and those moments.
fn next_allowed(
    policy: &Policy,
    holidays: &[NaiveDate],
    history: &[PastContact],
    attempt: &Attempt,
) -> Option<NaiveDateTime> {
    let start = attempt.at.date();
    // Inside a day's hours only a rolling cap can change the verdict; without one the
    // day's first candidate settles that day.
    let rolling = policy
        .caps
        .iter()
        .any(|c| c.window == Window::Rolling7 && c.channels.contains(&attempt.channel));
    for offset in 0..=LOOKAHEAD_DAYS {
        let day = start + Duration::days(offset);
        let Some(h) = policy.open_on(day, holidays) else {
            continue;
        };
        let mut at = day.and_time(h.open);
        if offset == 0 {
            at = at.max(attempt.at);
        }
        let close = day.and_time(h.close);
        while at < close {
            let probe = Attempt { at, ..*attempt };
            if judge(policy, holidays, history, &probe).verdict == Verdict::Allow {
                return Some(at);
            }
            if !rolling {
                break;
            }
            // The next moment a contact leaves a rolling window around `at`.
            let leaves = history
                .iter()
                .map(|c| c.at + Duration::days(7))
                .filter(|t| *t > at)
                .min();
            match leaves {
                Some(t) if t < close => at = t,
                _ => break,
            }
        }
    }
    None
}

/// Why a text may not be written to a reference: the account's figures, the payment
/// link and amounts are the debtor's business, not a third party's. `None` when
/// nothing in it discloses the debt.
pub fn disclosure(role: PartyRole, text: &str) -> Option<String> {
    if role != PartyRole::Reference {
        return None;
    }
    let lower = text.to_lowercase();
    const TAGS: [&str; 3] = ["{{deuda_vencida}}", "{{estado_cuenta}}", "{{link_pago}}"];
    const PHRASES: [&str; 2] = ["estado de cuenta", "paga aquí"];
    let mut found: Vec<String> = TAGS
        .iter()
        .chain(PHRASES.iter())
        .filter(|p| lower.contains(*p))
        .map(|p| format!("«{p}»"))
        .collect();
    if let Some(amount) = amount_in(text) {
        found.push(format!("el monto «{amount}»"));
    }
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "Una referencia es un tercero: no puede leer la deuda del cliente. Quita {}.",
        found.join(", ")
    ))
}

/// An amount typed in a text: a currency sign or code followed by a figure, or a
/// figure with thousands separators ("1.250.000", "$ 80,000").
fn amount_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '.' | ',')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            let figure: String = chars[start..i].iter().collect();
            let before: String = chars[start.saturating_sub(4)..start].iter().collect();
            let prefixed = before.trim_end().ends_with('$')
                || ["cop", "clp", "pen", "mxn", "usd", "s/"]
                    .iter()
                    .any(|code| before.to_lowercase().trim_end().ends_with(code));
            let grouped =
                figure.split(['.', ',']).skip(1).any(|g| g.len() == 3) && figure.len() >= 5;
            if prefixed || grouped {
                return Some(figure);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The words that, as a whole message on WhatsApp or SMS, ask to stop.
const OPT_OUT_WORDS: [&str; 7] = [
    "BAJA",
    "STOP",
    "NO ME ESCRIBAN",
    "NO ME ESCRIBAS",
    "NO ME ESCRIBA",
    "NO MAS MENSAJES",
    "CANCELAR SUSCRIPCION",
];

/// Whether an inbound message asks for no more messages on its channel: the whole
/// message is one of [`OPT_OUT_WORDS`], whatever its case, accents and punctuation.
pub fn is_opt_out(channel: Channel, body: &str) -> bool {
    if !matches!(
        channel,
        Channel::WhatsApp | Channel::WhatsAppBusiness | Channel::Sms
    ) {
        return false;
    }
    let folded: String = body
        .chars()
        .map(|c| match c {
            'á' | 'Á' => 'A',
            'é' | 'É' => 'E',
            'í' | 'Í' => 'I',
            'ó' | 'Ó' => 'O',
            'ú' | 'Ú' | 'ü' | 'Ü' => 'U',
            c if c.is_alphanumeric() => c.to_ascii_uppercase(),
            _ => ' ',
        })
        .collect();
    let words = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    OPT_OUT_WORDS.contains(&words.as_str())
}

/// The channels an opt-out on `channel` closes: WhatsApp closes both WhatsApp lines.
pub fn opted_out_channels(channel: Channel) -> Vec<Channel> {
    match channel {
        Channel::WhatsApp | Channel::WhatsAppBusiness => {
            vec![Channel::WhatsApp, Channel::WhatsAppBusiness]
        }
        other => vec![other],
    }
}

/// A public holiday of a country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub country: String,
    pub day: NaiveDate,
    pub name: String,
}

/// A country's line on the settings page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub country: String,
    pub country_name: String,
    /// A law is loaded for it (shipped, or an edited policy that cites one).
    pub legal: bool,
    /// An administrator changed the shipped policy.
    pub edited: bool,
    pub source: String,
}

/// One country's policy as the settings page edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDetail {
    pub policy: Policy,
    pub country_name: String,
    pub edited: bool,
    pub holidays: Vec<Holiday>,
}

/// The verdict the composer shows before sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactVerdict {
    pub verdict: Verdict,
    /// "Bloqueado: … próximo horario permitido: lunes 07:00 (hora de Bogotá)".
    pub message: String,
}

/// The sentence an advisor reads: the verdict, the reasons and, when it is not
/// allowed now, the next allowed moment at the debtor's wall clock.
pub fn describe(decision: &Decision, zone: &str) -> String {
    let head = match decision.verdict {
        Verdict::Allow => return "Permitido por la política de contacto.".into(),
        Verdict::Warn => "Advertencia",
        Verdict::Block => "Bloqueado",
    };
    let mut s = format!("{head}: {}", decision.explain());
    if let Some(next) = decision.next_allowed {
        s.push_str(&format!(
            " Próximo horario permitido: {} {} (hora de {}).",
            weekday_name(next.date()).to_lowercase(),
            next.format("%d/%m %H:%M"),
            zone_city(zone)
        ));
    }
    s
}

/// The city a zone is named after, as a debtor in it writes it: "America/Bogota" →
/// "Bogotá"; a zone not listed keeps its own spelling.
pub fn zone_city(zone: &str) -> String {
    const SPANISH: &[(&str, &str)] = &[
        ("America/Bogota", "Bogotá"),
        ("America/Mexico_City", "Ciudad de México"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires"),
        ("America/Panama", "Panamá"),
        ("America/Asuncion", "Asunción"),
    ];
    SPANISH
        .iter()
        .find(|(z, _)| *z == zone)
        .map(|(_, city)| city.to_string())
        .unwrap_or_else(|| zone.rsplit('/').next().unwrap_or(zone).replace('_', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn attempt(s: &str, channel: Channel) -> Attempt {
        Attempt {
            at: at(s),
            channel,
            reply: false,
        }
    }

    fn contact(s: &str, channel: Channel) -> PastContact {
        PastContact { at: at(s), channel }
    }

    /// (local time of the attempt, past contacts, channel, verdict, next allowed time)
    type Case<'a> = (
        &'a str,
        &'a [PastContact],
        Channel,
        Verdict,
        Option<&'a str>,
    );

    /// 2026-11-23 is a Monday; 2026-12-08 a holiday in both countries.
    #[test]
    fn colombia_at_its_edges() {
        let co = Policy::colombia();
        let holidays = [day("2026-12-08")];
        let cases: &[Case] = &[
            ("2026-11-23 18:59", &[], Channel::Sms, Verdict::Allow, None),
            (
                "2026-11-23 19:00",
                &[],
                Channel::Sms,
                Verdict::Block,
                Some("2026-11-24 07:00"),
            ),
            (
                "2026-11-23 06:59",
                &[],
                Channel::Call,
                Verdict::Block,
                Some("2026-11-23 07:00"),
            ),
            (
                "2026-11-28 14:59",
                &[],
                Channel::Email,
                Verdict::Allow,
                None,
            ),
            (
                "2026-11-28 15:00",
                &[],
                Channel::Email,
                Verdict::Block,
                Some("2026-11-30 07:00"),
            ),
            (
                "2026-11-29 10:00",
                &[],
                Channel::WhatsApp,
                Verdict::Block,
                Some("2026-11-30 07:00"),
            ),
            (
                "2026-12-08 10:00",
                &[],
                Channel::Sms,
                Verdict::Block,
                Some("2026-12-09 07:00"),
            ),
            (
                "2026-11-23 15:00",
                &[contact("2026-11-23 09:00", Channel::Sms)],
                Channel::Sms,
                Verdict::Block,
                Some("2026-11-24 07:00"),
            ),
            (
                "2026-11-24 09:00",
                &[contact("2026-11-23 09:00", Channel::Sms)],
                Channel::Call,
                Verdict::Block,
                Some("2026-11-30 07:00"),
            ),
            (
                "2026-11-24 09:00",
                &[contact("2026-11-23 09:00", Channel::WhatsAppBusiness)],
                Channel::WhatsApp,
                Verdict::Allow,
                None,
            ),
        ];
        for (when, history, channel, verdict, next) in cases {
            let d = preflight(&co, &holidays, history, &attempt(when, *channel));
            assert_eq!(d.verdict, *verdict, "{when} {channel:?}: {d:?}");
            assert_eq!(d.next_allowed, next.map(at), "{when} {channel:?}");
        }
    }

    #[test]
    fn chile_at_its_edges() {
        let cl = Policy::chile();
        let holidays = [day("2026-12-08")];
        let cases: &[Case] = &[
            ("2026-11-28 19:59", &[], Channel::Call, Verdict::Allow, None),
            (
                "2026-11-28 20:00",
                &[],
                Channel::Call,
                Verdict::Block,
                Some("2026-11-30 08:00"),
            ),
            (
                "2026-12-08 12:00",
                &[],
                Channel::Email,
                Verdict::Block,
                Some("2026-12-09 08:00"),
            ),
            (
                "2026-11-24 10:00",
                &[contact("2026-11-23 10:00", Channel::Sms)],
                Channel::Sms,
                Verdict::Block,
                Some("2026-11-25 08:00"),
            ),
            (
                "2026-11-25 10:00",
                &[contact("2026-11-23 10:00", Channel::Sms)],
                Channel::Email,
                Verdict::Allow,
                None,
            ),
            (
                "2026-11-27 10:00",
                &[
                    contact("2026-11-23 10:00", Channel::Sms),
                    contact("2026-11-25 10:00", Channel::Email),
                ],
                Channel::WhatsApp,
                Verdict::Block,
                Some("2026-11-30 10:00"),
            ),
            (
                "2026-11-26 10:00",
                &[contact("2026-11-23 10:00", Channel::Sms)],
                Channel::Call,
                Verdict::Allow,
                None,
            ),
            (
                "2026-11-27 09:00",
                &[contact("2026-11-23 11:30", Channel::Call)],
                Channel::Call,
                Verdict::Block,
                Some("2026-11-30 11:30"),
            ),
        ];
        for (when, history, channel, verdict, next) in cases {
            let d = preflight(&cl, &holidays, history, &attempt(when, *channel));
            assert_eq!(d.verdict, *verdict, "{when} {channel:?}: {d:?}");
            assert_eq!(d.next_allowed, next.map(at), "{when} {channel:?}");
        }
    }

    #[test]
    fn an_answer_to_what_the_debtor_wrote_is_not_a_new_contact_but_keeps_the_hours() {
        let co = Policy::colombia();
        let history = [contact("2026-11-23 09:00", Channel::Sms)];
        let mut reply = attempt("2026-11-23 15:00", Channel::WhatsApp);
        reply.reply = true;
        assert_eq!(
            preflight(&co, &[], &history, &reply).verdict,
            Verdict::Allow
        );
        reply.at = at("2026-11-23 20:00");
        assert_eq!(
            preflight(&co, &[], &history, &reply).verdict,
            Verdict::Block
        );
        let mut strict = co.clone();
        strict.replies_exempt = false;
        reply.at = at("2026-11-23 15:00");
        assert_eq!(
            preflight(&strict, &[], &history, &reply).verdict,
            Verdict::Block
        );
    }

    #[test]
    fn an_organisation_policy_warns_outside_its_hours_and_has_no_caps() {
        let pe = Policy::shipped("PE", &ContactHours::default());
        assert_eq!(pe.source, NO_LEGAL_POLICY);
        let d = preflight(&pe, &[], &[], &attempt("2026-11-23 21:00", Channel::Sms));
        assert_eq!(d.verdict, Verdict::Warn);
        assert_eq!(d.next_allowed, Some(at("2026-11-24 08:00")));
        let many: Vec<PastContact> = (0..10)
            .map(|i| contact(&format!("2026-11-23 {:02}:00", 8 + i), Channel::Sms))
            .collect();
        let d = preflight(&pe, &[], &many, &attempt("2026-11-23 19:00", Channel::Sms));
        assert_eq!(d.verdict, Verdict::Allow);
    }

    #[test]
    fn the_verdict_reads_as_a_sentence_with_the_next_allowed_time() {
        let d = preflight(
            &Policy::colombia(),
            &[],
            &[],
            &attempt("2026-11-29 10:00", Channel::Sms),
        );
        let s = describe(&d, "America/Bogota");
        assert!(
            s.starts_with("Bloqueado: Los domingos no se contacta"),
            "{s}"
        );
        assert!(
            s.ends_with("Próximo horario permitido: lunes 30/11 07:00 (hora de Bogotá)."),
            "{s}"
        );
        assert_eq!(zone_city("America/Mexico_City"), "Ciudad de México");
        assert_eq!(zone_city("America/Santiago"), "Santiago");
    }

    #[test]
    fn references_do_not_read_the_debt() {
        use PartyRole::*;
        assert!(disclosure(Reference, "Le enviamos su estado de cuenta").is_some());
        assert!(disclosure(Reference, "Paga aquí: {{link_pago}}")
            .unwrap()
            .contains("{{link_pago}}"));
        assert!(disclosure(Reference, "Debe $ 1.250.000")
            .unwrap()
            .contains("1.250.000"));
        assert!(disclosure(Reference, "Son COP 80000 pendientes").is_some());
        assert!(disclosure(Reference, "Saldo 1,250,000").is_some());
        assert!(disclosure(
            Reference,
            "Buenos días, ¿podría pedirle a Ana que nos llame al 3001234567?"
        )
        .is_none());
        assert!(disclosure(Client, "Su estado de cuenta: $ 1.250.000").is_none());
        assert!(disclosure(Guarantor, "{{deuda_vencida}}").is_none());
    }

    #[test]
    fn opt_out_words_are_whole_messages_on_chat_channels() {
        for yes in [
            "BAJA",
            "baja.",
            " Stop ",
            "No me escriban!!",
            "no más mensajes",
        ] {
            assert!(is_opt_out(Channel::WhatsApp, yes), "{yes}");
            assert!(is_opt_out(Channel::Sms, yes), "{yes}");
        }
        for no in ["bajar el monto", "no puedo pagar, stop", "Gracias"] {
            assert!(!is_opt_out(Channel::Sms, no), "{no}");
        }
        assert!(!is_opt_out(Channel::Email, "BAJA"));
    }

    #[test]
    fn policies_refuse_what_cannot_work() {
        let mut p = Policy::chile();
        p.hours = [None; 7];
        p.caps[0].limit = 0;
        p.caps[1].name = "llamadas por semana".into();
        p.caps[2].channels.clear();
        let fields: Vec<String> = p
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["hours_0", "cap_0_limit", "cap_1_name", "cap_2_channels"]
        );
        assert!(Policy::colombia().validate().is_ok());
    }

    /// The policy written out the long way: every rule from its definition, with no
    /// shared code, so that the property below compares two readings of it.
    fn model_allows(
        p: &Policy,
        holidays: &[NaiveDate],
        history: &[PastContact],
        a: &Attempt,
    ) -> bool {
        let d = a.at.date();
        let wd = d.weekday().num_days_from_monday() as usize;
        let open = !(p.closed_on_holidays && holidays.contains(&d))
            && p.hours[wd].is_some_and(|h| h.open <= a.at.time() && a.at.time() < h.close);
        if !open {
            return false;
        }
        if a.reply && p.replies_exempt {
            return true;
        }
        p.caps
            .iter()
            .filter(|c| c.channels.contains(&a.channel))
            .all(|cap| {
                let counted: Vec<&PastContact> = history
                    .iter()
                    .filter(|c| cap.channels.contains(&c.channel))
                    .filter(|c| match cap.window {
                        Window::Day => c.at.date() == d,
                        Window::IsoWeek => {
                            c.at.iso_week().year() == d.iso_week().year()
                                && c.at.iso_week().week() == d.iso_week().week()
                        }
                        Window::Rolling7 => {
                            let gap = if c.at > a.at {
                                c.at - a.at
                            } else {
                                a.at - c.at
                            };
                            gap.num_seconds() < 7 * 24 * 3600
                        }
                    })
                    .collect();
                match cap.measure {
                    Measure::Contacts => (counted.len() as u32) < cap.limit,
                    Measure::Channels => {
                        let wa = |c: Channel| {
                            if c == Channel::WhatsAppBusiness {
                                Channel::WhatsApp
                            } else {
                                c
                            }
                        };
                        let mut set = std::collections::HashSet::new();
                        set.insert(wa(a.channel));
                        for c in &counted {
                            set.insert(wa(c.channel));
                        }
                        set.len() as u32 <= cap.limit
                    }
                    Measure::DaysApart => counted.iter().all(|c| {
                        let gap = (c.at.date() - d).num_days();
                        gap >= i64::from(cap.limit) || -gap >= i64::from(cap.limit)
                    }),
                }
            })
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_policy(r: &mut Rng) -> Policy {
        let mut p = Policy::colombia();
        for h in p.hours.iter_mut() {
            *h = if r.below(4) == 0 {
                None
            } else {
                let open = r.below(12) as u32;
                let close = open + 1 + r.below(11) as u32;
                Some(DayHours {
                    open: t(open, 0),
                    close: t(close, 30),
                })
            };
        }
        p.closed_on_holidays = r.below(2) == 0;
        p.replies_exempt = r.below(2) == 0;
        p.hours_action = if r.below(2) == 0 {
            Action::Block
        } else {
            Action::Warn
        };
        p.caps = (0..r.below(4))
            .map(|i| Cap {
                name: format!("Tope {i}"),
                channels: CONTACT_CHANNELS
                    .iter()
                    .copied()
                    .filter(|_| r.below(2) == 0)
                    .collect(),
                window: Window::ALL[r.below(3) as usize],
                measure: Measure::ALL[r.below(3) as usize],
                limit: 1 + r.below(3) as u32,
                action: if r.below(2) == 0 {
                    Action::Block
                } else {
                    Action::Warn
                },
            })
            .collect();
        p
    }

    fn random_time(r: &mut Rng) -> NaiveDateTime {
        at("2026-12-01 00:00") + Duration::minutes(r.below(21 * 24 * 60) as i64)
    }

    #[test]
    fn the_preflight_never_allows_what_the_reference_model_forbids() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let holidays = [day("2026-12-08"), day("2026-12-25")];
        for case in 0..4000 {
            let p = random_policy(&mut r);
            let history: Vec<PastContact> = (0..r.below(6))
                .map(|_| PastContact {
                    at: random_time(&mut r),
                    channel: CONTACT_CHANNELS[r.below(5) as usize],
                })
                .collect();
            let a = Attempt {
                at: random_time(&mut r),
                channel: CONTACT_CHANNELS[r.below(5) as usize],
                reply: r.below(3) == 0,
            };
            let d = preflight(&p, &holidays, &history, &a);
            let allowed = model_allows(&p, &holidays, &history, &a);
            assert_eq!(
                d.verdict == Verdict::Allow,
                allowed,
                "case {case}: {p:?} {history:?} {a:?} {d:?}"
            );
            if let Some(next) = d.next_allowed {
                assert!(next >= a.at, "case {case}");
                let later = Attempt { at: next, ..a };
                assert!(
                    model_allows(&p, &holidays, &history, &later),
                    "case {case}: next {next}"
                );
                let before = Attempt {
                    at: next - Duration::minutes(1),
                    ..a
                };
                assert!(
                    next == a.at || !model_allows(&p, &holidays, &history, &before),
                    "case {case}: {next} is not the first"
                );
            }
        }
    }
}
