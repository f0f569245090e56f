//! The Interacciones report (seed 003 "Otras vistas", seed 004 §7): every communication
//! and management record of the visible clients, its filters, its columns and the text
//! of each cell. The screen and the downloads use the same cells, so a download is
//! exactly what the table shows.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::calls::{PaymentStatus, PromiseState};
use crate::domain::message::{DeliveryStatus, Origin, VisitState};
use crate::domain::money::format_cents;
use crate::domain::outcome::Outcome;
use crate::domain::report_params::{Params, Period};

/// Rows per screen page, and per chunk of a download.
pub const PAGE_SIZE: usize = 100;

text_enum! {
    /// What kind of record a row is. The order is the tie-break of the listing.
    pub enum Kind {
        Message => ("message", "Mensaje"),
        Outcome => ("outcome", "Gestión de llamada"),
        Payment => ("payment", "Pago a verificar"),
        Promise => ("promise", "Compromiso de pago"),
        Visit => ("visit", "Visita a la web de cobros"),
        Decision => ("decision", "Intento de contacto"),
    }
}

impl Kind {
    /// Its rank in the listing's order, as the SQL projects it.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Kind> {
        Kind::ALL.get(usize::try_from(rank).ok()?).copied()
    }
}

text_enum! {
    /// The "Tipo" filter.
    pub enum RecordType {
        Inbound => ("inbound", "Entrante"),
        Outbound => ("outbound", "Saliente"),
        Management => ("management", "Gestión"),
    }
}

text_enum! {
    /// The "Canal" filter: the conversation channels and the payment portal.
    pub enum ChannelFilter {
        WhatsApp => ("whatsapp", "WhatsApp"),
        WhatsAppBusiness => ("whatsapp_business", "WhatsApp Business"),
        Email => ("email", "Correo electrónico"),
        Sms => ("sms", "SMS"),
        Call => ("call", "Llamada"),
        Note => ("note", "Nota interna"),
        Portal => ("portal", "Web de cobros"),
    }
}

text_enum! {
    /// What the contact policy did to an attempt the report lists: only the attempts it
    /// stopped or that went ahead over a warning are rows; allowed ones are the messages.
    pub enum PolicyStatus {
        Blocked => ("policy_blocked", "Bloqueado por política"),
        Overridden => ("policy_overridden", "Enviado pese a advertencia"),
    }
}

/// The "Estado" filter: a message's delivery, a payment's review, a promise's state, a
/// visit's furthest step or a contact attempt's policy verdict. Stored names do not
/// collide across the five.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusFilter {
    Delivery(DeliveryStatus),
    Payment(PaymentStatus),
    Promise(PromiseState),
    Visit(VisitState),
    Policy(PolicyStatus),
}

impl StatusFilter {
    pub fn all() -> Vec<StatusFilter> {
        let mut v: Vec<StatusFilter> = DeliveryStatus::ALL
            .iter()
            .map(|s| StatusFilter::Delivery(*s))
            .collect();
        v.extend(PaymentStatus::ALL.iter().map(|s| StatusFilter::Payment(*s)));
        v.extend(PromiseState::ALL.iter().map(|s| StatusFilter::Promise(*s)));
        v.extend(VisitState::ALL.iter().map(|s| StatusFilter::Visit(*s)));
        v.extend(PolicyStatus::ALL.iter().map(|s| StatusFilter::Policy(*s)));
        v
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Delivery(s) => s.as_str(),
            StatusFilter::Payment(s) => s.as_str(),
            StatusFilter::Promise(s) => s.as_str(),
            StatusFilter::Visit(s) => s.as_str(),
            StatusFilter::Policy(s) => s.as_str(),
        }
    }

    pub fn label(self) -> String {
        match self {
            StatusFilter::Delivery(s) => format!("Mensaje: {}", s.label()),
            StatusFilter::Payment(s) => format!("Pago: {}", s.label()),
            StatusFilter::Promise(s) => format!("Compromiso: {}", s.label()),
            StatusFilter::Visit(s) => format!("Visita: {}", s.label()),
            StatusFilter::Policy(s) => format!("Contacto: {}", s.label()),
        }
    }

    /// From its stored name: the names of the four kinds do not collide. Runs for every
    /// row read, so it allocates nothing.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        s.parse()
            .map(StatusFilter::Delivery)
            .or_else(|_| s.parse().map(StatusFilter::Payment))
            .or_else(|_| s.parse().map(StatusFilter::Promise))
            .or_else(|_| s.parse().map(StatusFilter::Visit))
            .or_else(|_| s.parse().map(StatusFilter::Policy))
            .ok()
    }

    /// The kind of record that has this status.
    pub fn kind(self) -> Kind {
        match self {
            StatusFilter::Delivery(_) => Kind::Message,
            StatusFilter::Payment(_) => Kind::Payment,
            StatusFilter::Promise(_) => Kind::Promise,
            StatusFilter::Visit(_) => Kind::Visit,
            StatusFilter::Policy(_) => Kind::Decision,
        }
    }
}

/// Where the next page starts: the last row's time, kind and id (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: Kind,
    pub id: i64,
}

/// The report's filters, as the address bar carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionQuery {
    /// First and last local day of the period; empty for the default period.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub record_type: Option<RecordType>,
    pub channel: Option<ChannelFilter>,
    pub status: Option<StatusFilter>,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
    pub segment_id: Option<i64>,
    pub origin: Option<Origin>,
    /// Shown columns in order; empty means [`Column::DEFAULT`].
    pub columns: Vec<Column>,
    pub after: Option<Cursor>,
}

impl InteractionQuery {
    /// The period to read: the chosen days, or the last 30 up to today.
    pub fn period(&self, today: NaiveDate) -> Result<Period, String> {
        Period::settle(self.from, self.to, today)
    }

    pub fn shown_columns(&self) -> Vec<Column> {
        if self.columns.is_empty() {
            Column::DEFAULT.to_vec()
        } else {
            self.columns.clone()
        }
    }

    /// Whether rows of `kind` can pass the filters at all; the others are not queried.
    pub fn admits(&self, kind: Kind) -> bool {
        let types: &[RecordType] = match kind {
            Kind::Message => &[
                RecordType::Inbound,
                RecordType::Outbound,
                RecordType::Management,
            ],
            Kind::Outcome | Kind::Payment | Kind::Promise => &[RecordType::Management],
            Kind::Visit => &[RecordType::Inbound],
            Kind::Decision => &[RecordType::Outbound],
        };
        let channels: &[ChannelFilter] = match kind {
            Kind::Message => &[
                ChannelFilter::WhatsApp,
                ChannelFilter::WhatsAppBusiness,
                ChannelFilter::Email,
                ChannelFilter::Sms,
                ChannelFilter::Call,
                ChannelFilter::Note,
            ],
            Kind::Outcome => &[ChannelFilter::Call],
            Kind::Payment | Kind::Promise | Kind::Visit => &[ChannelFilter::Portal],
            Kind::Decision => &[
                ChannelFilter::WhatsApp,
                ChannelFilter::WhatsAppBusiness,
                ChannelFilter::Email,
                ChannelFilter::Sms,
                ChannelFilter::Call,
            ],
        };
        let origin_ok = match (kind, self.origin) {
            (_, None) | (Kind::Message | Kind::Decision, _) => true,
            (Kind::Visit, Some(_)) => false,
            (_, Some(o)) => o == Origin::Manual,
        };
        // A payment or promise is on the portal channel only when the debtor declared it
        // there; that is decided per row, so the kind stays in.
        let channel_ok = match self.channel {
            None => true,
            Some(ChannelFilter::Portal) => {
                matches!(kind, Kind::Payment | Kind::Promise | Kind::Visit)
            }
            Some(c) => channels.contains(&c),
        };
        self.record_type.is_none_or(|f| types.contains(&f))
            && channel_ok
            && self.status.is_none_or(|s| s.kind() == kind)
            && origin_ok
    }

    /// The address-bar query that reproduces it (without the cursor).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(d) = self.from {
            p.push(("desde", d.to_string()));
        }
        if let Some(d) = self.to {
            p.push(("hasta", d.to_string()));
        }
        if let Some(f) = self.record_type {
            p.push(("tipo", f.as_str().to_string()));
        }
        if let Some(c) = self.channel {
            p.push(("canal", c.as_str().to_string()));
        }
        if let Some(s) = self.status {
            p.push(("estado", s.as_str().to_string()));
        }
        if let Some(id) = self.advisor_id {
            p.push(("asesor", id.to_string()));
        }
        if let Some(id) = self.supervisor_id {
            p.push(("supervisor", id.to_string()));
        }
        if let Some(id) = self.segment_id {
            p.push(("segmento", id.to_string()));
        }
        if let Some(o) = self.origin {
            p.push(("origen", o.as_str().to_string()));
        }
        if !self.columns.is_empty() && self.columns != Column::DEFAULT {
            let keys: Vec<&str> = self.columns.iter().map(|c| c.as_str()).collect();
            p.push(("columnas", keys.join(",")));
        }
        p
    }

    /// Back from an address-bar query. A value that is not one of the choices is an
    /// error naming the field, so a mistyped link never silently widens the report.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let p = Params(get);
        let columns = match p.text("columnas") {
            None => Vec::new(),
            Some(list) => {
                let mut cols = Vec::new();
                for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    let c: Column = key
                        .parse()
                        .map_err(|_| format!("«{key}» no es una columna del reporte."))?;
                    if !cols.contains(&c) {
                        cols.push(c);
                    }
                }
                cols
            }
        };
        Ok(InteractionQuery {
            from: p.date("desde", "Desde")?,
            to: p.date("hasta", "Hasta")?,
            record_type: p.choice("tipo", "Tipo", |s| s.parse().ok())?,
            channel: p.choice("canal", "Canal", |s| s.parse().ok())?,
            status: p.choice("estado", "Estado", StatusFilter::parse)?,
            advisor_id: p.id("asesor", "Asesor")?,
            supervisor_id: p.id("supervisor", "Supervisor")?,
            segment_id: p.id("segmento", "Segmento")?,
            origin: p.choice("origen", "Origen", |s| s.parse().ok())?,
            columns,
            after: None,
        })
    }
}

text_enum! {
    /// A column of the table and of the downloads.
    pub enum Column {
        At => ("fecha", "Fecha"),
        RegisteredAt => ("registro", "Fecha de registro"),
        Type => ("tipo", "Tipo"),
        Kind => ("registro_tipo", "Tipo de registro"),
        Channel => ("canal", "Canal"),
        Client => ("cliente", "Cliente"),
        Document => ("documento", "Documento"),
        Advisor => ("asesor", "Asesor"),
        Supervisor => ("supervisor", "Supervisor"),
        Origin => ("origen", "Origen"),
        Template => ("plantilla", "Plantilla"),
        Detail => ("detalle", "Detalle"),
        Amount => ("monto", "Monto"),
        Status => ("estado", "Estado"),
        Error => ("error", "Mensaje de error"),
        Notes => ("notas", "Notas"),
        User => ("usuario", "Usuario gestión"),
    }
}

impl Column {
    pub const DEFAULT: &'static [Column] = &[
        Column::At,
        Column::Type,
        Column::Channel,
        Column::Client,
        Column::Advisor,
        Column::Origin,
        Column::Detail,
        Column::Status,
        Column::Notes,
        Column::User,
        Column::RegisteredAt,
    ];
}

/// One record as the report lists it. Times are already in the organisation's zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRow {
    pub kind: Kind,
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub at_local: NaiveDateTime,
    pub registered_local: NaiveDateTime,
    pub record_type: RecordType,
    /// `None` for a payment or promise a user registered outside the portal.
    pub channel: Option<ChannelFilter>,
    pub client_id: i64,
    pub client_name: String,
    pub document: String,
    pub advisor: Option<String>,
    pub supervisor: Option<String>,
    pub origin: Option<Origin>,
    pub template: Option<String>,
    /// The message's subject or text, the outcome, the promised date, the portal page.
    pub detail: String,
    pub outcome: Option<Outcome>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub status: Option<StatusFilter>,
    pub error: String,
    pub notes: String,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
}

impl InteractionRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            at: self.at,
            kind: self.kind,
            id: self.id,
        }
    }

    /// The text of one cell, the same on screen and in the downloads.
    pub fn cell(&self, column: Column) -> String {
        let time = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        match column {
            Column::At => time(self.at_local),
            Column::RegisteredAt => time(self.registered_local),
            Column::Type => self.record_type.label().to_string(),
            Column::Kind => self.kind.label().to_string(),
            Column::Channel => self
                .channel
                .map(|c| c.label().to_string())
                .unwrap_or_default(),
            Column::Client => self.client_name.clone(),
            Column::Document => self.document.clone(),
            Column::Advisor => self.advisor.clone().unwrap_or_default(),
            Column::Supervisor => self.supervisor.clone().unwrap_or_default(),
            Column::Origin => self
                .origin
                .map(|o| o.label().to_string())
                .unwrap_or_default(),
            Column::Template => self.template.clone().unwrap_or_default(),
            Column::Detail => match (self.kind, self.outcome) {
                (Kind::Outcome, Some(o)) if self.detail.is_empty() => o.label().to_string(),
                (Kind::Outcome, Some(o)) => format!("{}: {}", o.label(), self.detail),
                _ => self.detail.clone(),
            },
            Column::Amount => match (self.amount_cents, &self.currency) {
                (Some(c), Some(cur)) => format!("{cur} {}", format_cents(c)),
                (Some(c), None) => format_cents(c),
                _ => String::new(),
            },
            Column::Status => self.status.map(|s| s.label()).unwrap_or_default(),
            Column::Error => self.error.clone(),
            Column::Notes => self.notes.clone(),
            Column::User => match (self.user_id, &self.user_name) {
                (Some(id), Some(name)) => format!("{id} · {name}"),
                (Some(id), None) => id.to_string(),
                _ => String::new(),
            },
        }
    }

    pub fn cells(&self, columns: &[Column]) -> Vec<String> {
        columns.iter().map(|c| self.cell(*c)).collect()
    }
}

/// One page of the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionPage {
    pub rows: Vec<InteractionRow>,
    pub next: Option<Cursor>,
    /// The period read, once settled: the default one when none was chosen.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The filters' choices for this viewer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionChoices {
    pub advisors: Vec<(i64, String)>,
    pub supervisors: Vec<(i64, String)>,
    pub segments: Vec<(i64, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<InteractionQuery, String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        InteractionQuery::from_params(|k| m.get(k).cloned())
    }

    #[test]
    fn the_address_bar_round_trips_and_bad_values_name_their_field() {
        let q = InteractionQuery {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 24),
            record_type: Some(RecordType::Management),
            channel: Some(ChannelFilter::Call),
            status: Some(StatusFilter::Promise(PromiseState::Kept)),
            advisor_id: Some(7),
            supervisor_id: Some(3),
            segment_id: Some(2),
            origin: Some(Origin::Manual),
            columns: vec![Column::Notes, Column::User, Column::RegisteredAt],
            after: None,
        };
        let pairs: Vec<(&str, String)> = q.params();
        let back = parse(
            &pairs
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(back, q);
        assert_eq!(parse(&[]).unwrap(), InteractionQuery::default());
        for status in StatusFilter::all() {
            assert_eq!(StatusFilter::parse(status.as_str()), Some(status));
        }
        let e = parse(&[("canal", "fax")]).unwrap_err();
        assert!(e.contains("«fax»") && e.contains("Canal"), "{e}");
        let e = parse(&[("desde", "24/11/2026")]).unwrap_err();
        assert!(e.contains("Desde"), "{e}");
        let e = parse(&[("columnas", "fecha,sueldo")]).unwrap_err();
        assert!(e.contains("«sueldo»"), "{e}");
    }

    #[test]
    fn filters_rule_out_whole_kinds() {
        let only = |q: InteractionQuery| -> Vec<Kind> {
            Kind::ALL.iter().copied().filter(|k| q.admits(*k)).collect()
        };
        assert_eq!(only(InteractionQuery::default()).len(), 6);
        let email = InteractionQuery {
            channel: Some(ChannelFilter::Email),
            ..Default::default()
        };
        assert_eq!(only(email), vec![Kind::Message, Kind::Decision]);
        let calls = InteractionQuery {
            channel: Some(ChannelFilter::Call),
            ..Default::default()
        };
        assert_eq!(
            only(calls),
            vec![Kind::Message, Kind::Outcome, Kind::Decision]
        );
        let stopped = InteractionQuery {
            status: Some(StatusFilter::Policy(PolicyStatus::Blocked)),
            ..Default::default()
        };
        assert_eq!(only(stopped), vec![Kind::Decision]);
        let kept = InteractionQuery {
            status: Some(StatusFilter::Promise(PromiseState::Kept)),
            ..Default::default()
        };
        assert_eq!(only(kept), vec![Kind::Promise]);
        let inbound = InteractionQuery {
            record_type: Some(RecordType::Inbound),
            ..Default::default()
        };
        assert_eq!(only(inbound), vec![Kind::Message, Kind::Visit]);
        let campaign = InteractionQuery {
            origin: Some(Origin::Campaign),
            ..Default::default()
        };
        assert_eq!(only(campaign), vec![Kind::Message, Kind::Decision]);
        let manual = InteractionQuery {
            origin: Some(Origin::Manual),
            ..Default::default()
        };
        assert_eq!(
            only(manual),
            vec![
                Kind::Message,
                Kind::Outcome,
                Kind::Payment,
                Kind::Promise,
                Kind::Decision
            ]
        );
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(Kind::from_rank(i as i64), Some(*k));
        }
    }

    #[test]
    fn cells_read_as_an_advisor_expects() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 20)
            .unwrap()
            .and_hms_opt(9, 5, 0)
            .unwrap();
        let row = InteractionRow {
            kind: Kind::Outcome,
            id: 9,
            at: t.and_utc(),
            at_local: t,
            registered_local: t + Duration::minutes(3),
            record_type: RecordType::Management,
            channel: Some(ChannelFilter::Call),
            client_id: 1,
            client_name: "Ana Pérez".into(),
            document: "10203040".into(),
            advisor: Some("Asesor Uno".into()),
            supervisor: None,
            origin: Some(Origin::Manual),
            template: None,
            detail: String::new(),
            outcome: Some(Outcome::PromiseOrToVerify),
            amount_cents: Some(150_000),
            currency: Some("COP".into()),
            status: None,
            error: String::new(),
            notes: "Paga el viernes".into(),
            user_id: Some(4),
            user_name: Some("Asesor Uno".into()),
        };
        assert_eq!(row.cell(Column::At), "2026-11-20 09:05:00");
        assert_eq!(row.cell(Column::RegisteredAt), "2026-11-20 09:08:00");
        assert_eq!(row.cell(Column::Detail), "Compromiso / A verificar");
        assert_eq!(row.cell(Column::Amount), "COP 1.500,00");
        assert_eq!(row.cell(Column::User), "4 · Asesor Uno");
        assert_eq!(row.cell(Column::Notes), "Paga el viernes");
        assert_eq!(row.cell(Column::Supervisor), "");
        assert_eq!(
            row.cells(&[Column::Type, Column::Channel]),
            vec!["Gestión", "Llamada"]
        );
    }
}
