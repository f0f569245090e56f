//! Clients (debtors), their related parties and contact points, and the one validation
//! every write goes through (the form, the portfolio import and the demo seed).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::contact::ContactKind;
use crate::domain::debt::{parse_date, Debt, DebtSummary};
use crate::domain::error::FieldError;
use crate::domain::geo;
use crate::domain::message::Channel;
use crate::domain::money::parse_amount;
use crate::domain::search::{client_terms, TermSource};

text_enum! {
    pub enum ClientKind {
        Person => ("person", "Persona"),
        Company => ("company", "Empresa"),
    }
}

text_enum! {
    /// Who a contact point or a message belongs to, within one client's conversation.
    pub enum PartyRole {
        Client => ("client", "Cliente"),
        Reference => ("reference", "Referencia"),
        Guarantor => ("guarantor", "Garante"),
    }
}

/// References and guarantors are fixed slots (Referencia 1–2, Garante 1–2) so that each
/// keeps its identity, and its conversation tab, when another one is edited.
pub const RELATED_SLOTS: [(PartyRole, i32); 4] = [
    (PartyRole::Reference, 1),
    (PartyRole::Reference, 2),
    (PartyRole::Guarantor, 1),
    (PartyRole::Guarantor, 2),
];

pub const MAX_CONTACTS_PER_KIND: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ContactPoint {
    pub id: i64,
    pub kind: ContactKind,
    pub value: String,
    /// What went wrong with it, while it carries the contactability flag.
    pub problem: Option<crate::domain::alerts::ContactProblem>,
    /// The channels of its kind the debtor did not authorise (Ley 2300, art. 3).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub withheld: Vec<Channel>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Party {
    pub id: i64,
    pub role: PartyRole,
    pub ordinal: i32,
    pub name: String,
    pub relationship: String,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub contacts: Vec<ContactPoint>,
}

impl Party {
    pub fn title(&self) -> String {
        match self.role {
            PartyRole::Client => PartyRole::Client.label().to_string(),
            role => format!("{} {}", role.label(), self.ordinal),
        }
    }

    pub fn values(&self, kind: ContactKind) -> Vec<String> {
        self.contacts
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.value.clone())
            .collect()
    }

    fn withheld(&self, kind: ContactKind) -> Vec<Vec<Channel>> {
        self.contacts
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.withheld.clone())
            .collect()
    }

    /// Every channel not authorised, by address, as [`ValidParty::withheld`] holds them.
    fn withheld_pairs(&self) -> Vec<(String, Channel)> {
        self.contacts
            .iter()
            .flat_map(|c| c.withheld.iter().map(|ch| (c.value.clone(), *ch)))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetail {
    pub id: i64,
    pub kind: ClientKind,
    pub document_number: String,
    pub first_name: String,
    pub last_name: String,
    pub business_name: String,
    pub display_name: String,
    pub advisor_id: Option<i64>,
    pub advisor_name: Option<String>,
    pub supervisor_name: Option<String>,
    pub segment: String,
    pub country: String,
    pub time_zone: String,
    pub currency: String,
    pub summary: DebtSummary,
    pub days_overdue: i64,
    pub parties: Vec<Party>,
    pub debts: Vec<Debt>,
    /// Its raised alerts and contactability indicator.
    pub alerts: crate::domain::alerts::AlertKey,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientDetail {
    /// Its flags, the contactability ones per failed contact point.
    pub fn flags(&self) -> Vec<crate::domain::alerts::ShownFlag> {
        let points: Vec<(i64, &str, Option<crate::domain::alerts::ContactProblem>)> = self
            .parties
            .iter()
            .flat_map(|p| p.contacts.iter())
            .map(|c| (c.id, c.value.as_str(), c.problem))
            .collect();
        crate::domain::alerts::point_flags(self.alerts, &points)
    }

    /// The stored client in validated form (it was validated when written).
    pub fn to_valid(&self) -> ValidClient {
        ValidClient {
            kind: self.kind,
            document_number: self.document_number.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            business_name: self.business_name.clone(),
            display_name: self.display_name.clone(),
            segment: self.segment.clone(),
            country: self.country.clone(),
            time_zone: self.time_zone.clone(),
            currency: self.currency.clone(),
            advisor_id: self.advisor_id,
            parties: self
                .parties
                .iter()
                .map(|p| ValidParty {
                    role: p.role,
                    ordinal: p.ordinal,
                    name: p.name.clone(),
                    relationship: p.relationship.clone(),
                    contacts: p
                        .contacts
                        .iter()
                        .map(|c| (c.kind, c.value.clone()))
                        .collect(),
                    withheld: p.withheld_pairs(),
                })
                .collect(),
            debts: self
                .debts
                .iter()
                .map(|d| ValidDebt {
                    number: d.number.clone(),
                    product: d.product.clone(),
                    issue_date: d.issue_date,
                    due_date: d.due_date,
                    amount_cents: d.amount_cents,
                    paid_cents: d.paid_cents,
                    currency: d.currency.clone(),
                })
                .collect(),
        }
    }

    /// The form's starting point when editing this client.
    pub fn to_input(&self) -> ClientInput {
        let contacts_of = |p: &Party| ContactsInput {
            phones: p.values(ContactKind::Phone),
            emails: p.values(ContactKind::Email),
            whatsapps: p.values(ContactKind::WhatsApp),
            phones_withheld: p.withheld(ContactKind::Phone),
            emails_withheld: p.withheld(ContactKind::Email),
            whatsapps_withheld: p.withheld(ContactKind::WhatsApp),
        };
        let own = self.parties.iter().find(|p| p.role == PartyRole::Client);
        ClientInput {
            kind: self.kind.as_str().into(),
            document_number: self.document_number.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            business_name: self.business_name.clone(),
            segment: self.segment.clone(),
            country: self.country.clone(),
            time_zone: self.time_zone.clone(),
            advisor_id: self.advisor_id,
            contacts: own.map(contacts_of).unwrap_or_default(),
            related: RELATED_SLOTS
                .iter()
                .map(|&(role, ordinal)| {
                    match self
                        .parties
                        .iter()
                        .find(|p| p.role == role && p.ordinal == ordinal)
                    {
                        Some(p) => RelatedInput {
                            role: role.as_str().into(),
                            ordinal,
                            name: p.name.clone(),
                            relationship: p.relationship.clone(),
                            contacts: contacts_of(p),
                        },
                        None => RelatedInput::empty(role, ordinal),
                    }
                })
                .collect(),
            debts: self
                .debts
                .iter()
                .map(|d| DebtInput {
                    number: d.number.clone(),
                    product: d.product.clone(),
                    issue_date: d.issue_date.to_string(),
                    due_date: d.due_date.to_string(),
                    amount: crate::domain::money::cents_to_input(d.amount_cents),
                    paid: crate::domain::money::cents_to_input(d.paid_cents),
                    currency: d.currency.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsInput {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub whatsapps: Vec<String>,
    /// Beside each value of the list of the same name, the channels the debtor did not
    /// authorise on it; a shorter list leaves the rest authorised.
    #[serde(default)]
    pub phones_withheld: Vec<Vec<Channel>>,
    #[serde(default)]
    pub emails_withheld: Vec<Vec<Channel>>,
    #[serde(default)]
    pub whatsapps_withheld: Vec<Vec<Channel>>,
}

/// One kind's values as typed, with its form field key and the channels withheld.
type KindLists<'a> = (
    ContactKind,
    &'static str,
    &'a Vec<String>,
    &'a Vec<Vec<Channel>>,
);

impl ContactsInput {
    fn by_kind(&self) -> [KindLists<'_>; 3] {
        [
            (
                ContactKind::Phone,
                "phones",
                &self.phones,
                &self.phones_withheld,
            ),
            (
                ContactKind::Email,
                "emails",
                &self.emails,
                &self.emails_withheld,
            ),
            (
                ContactKind::WhatsApp,
                "whatsapps",
                &self.whatsapps,
                &self.whatsapps_withheld,
            ),
        ]
    }

    fn is_blank(&self) -> bool {
        self.by_kind()
            .iter()
            .all(|(_, _, vs, _)| vs.iter().all(|v| v.trim().is_empty()))
    }

    /// The values of one kind and the channels withheld beside them.
    pub fn lists(&self, kind: ContactKind) -> (&Vec<String>, &Vec<Vec<Channel>>) {
        match kind {
            ContactKind::Phone => (&self.phones, &self.phones_withheld),
            ContactKind::Email => (&self.emails, &self.emails_withheld),
            ContactKind::WhatsApp => (&self.whatsapps, &self.whatsapps_withheld),
        }
    }

    /// The values of one kind and the channels withheld beside them, to edit together.
    pub fn lists_mut(&mut self, kind: ContactKind) -> (&mut Vec<String>, &mut Vec<Vec<Channel>>) {
        match kind {
            ContactKind::Phone => (&mut self.phones, &mut self.phones_withheld),
            ContactKind::Email => (&mut self.emails, &mut self.emails_withheld),
            ContactKind::WhatsApp => (&mut self.whatsapps, &mut self.whatsapps_withheld),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedInput {
    pub role: String,
    pub ordinal: i32,
    pub name: String,
    pub relationship: String,
    pub contacts: ContactsInput,
}

impl RelatedInput {
    pub fn empty(role: PartyRole, ordinal: i32) -> Self {
        RelatedInput {
            role: role.as_str().into(),
            ordinal,
            ..Default::default()
        }
    }

    /// The prefix of this slot's field names: `related.reference.1`.
    pub fn field_prefix(&self) -> String {
        format!("related.{}.{}", self.role, self.ordinal)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtInput {
    pub number: String,
    pub product: String,
    pub issue_date: String,
    pub due_date: String,
    pub amount: String,
    pub paid: String,
    pub currency: String,
}

/// What the client form sends; every field as typed so that a value that does not parse
/// comes back as a message beside its input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInput {
    pub kind: String,
    pub document_number: String,
    pub first_name: String,
    pub last_name: String,
    pub business_name: String,
    pub segment: String,
    pub country: String,
    pub time_zone: String,
    pub advisor_id: Option<i64>,
    pub contacts: ContactsInput,
    pub related: Vec<RelatedInput>,
    pub debts: Vec<DebtInput>,
}

impl ClientInput {
    /// A blank form: a person in Colombia with the four related-party slots.
    pub fn blank() -> Self {
        ClientInput {
            kind: ClientKind::Person.as_str().into(),
            country: "CO".into(),
            time_zone: "America/Bogota".into(),
            related: RELATED_SLOTS
                .iter()
                .map(|&(role, ordinal)| RelatedInput::empty(role, ordinal))
                .collect(),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidParty {
    pub role: PartyRole,
    pub ordinal: i32,
    pub name: String,
    pub relationship: String,
    pub contacts: Vec<(ContactKind, String)>,
    /// The channels not authorised, by normalised address; each is one of its contact
    /// point's [`ContactKind::authorisable`] channels.
    pub withheld: Vec<(String, Channel)>,
}

impl ValidParty {
    /// The channels withheld on one of its contact points.
    pub fn withheld_on(&self, kind: ContactKind, value: &str) -> Vec<Channel> {
        kind.authorisable()
            .iter()
            .copied()
            .filter(|c| self.withheld.iter().any(|(v, w)| v == value && w == c))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidDebt {
    pub number: String,
    pub product: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub currency: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidClient {
    pub kind: ClientKind,
    pub document_number: String,
    pub first_name: String,
    pub last_name: String,
    pub business_name: String,
    pub display_name: String,
    pub segment: String,
    pub country: String,
    pub time_zone: String,
    pub currency: String,
    pub advisor_id: Option<i64>,
    /// The client's own party first, then the filled related slots.
    pub parties: Vec<ValidParty>,
    pub debts: Vec<ValidDebt>,
}

impl ValidClient {
    /// What the client is findable by: its own names and document, and every phone and
    /// e-mail of every party (an advisor looking up a guarantor's number finds the client).
    pub fn search_terms(&self) -> Vec<String> {
        let contacts = || self.parties.iter().flat_map(|p| p.contacts.iter());
        client_terms(&TermSource {
            names: vec![&self.first_name, &self.last_name, &self.business_name],
            document: &self.document_number,
            phones: contacts()
                .filter(|(k, _)| matches!(k, ContactKind::Phone | ContactKind::WhatsApp))
                .map(|(_, v)| v.as_str())
                .collect(),
            emails: contacts()
                .filter(|(k, _)| *k == ContactKind::Email)
                .map(|(_, v)| v.as_str())
                .collect(),
        })
    }

    pub fn summary(&self, today: NaiveDate) -> DebtSummary {
        DebtSummary::compute(
            self.debts.iter().map(|d| crate::domain::debt::DebtLine {
                due_date: d.due_date,
                amount_cents: d.amount_cents,
                paid_cents: d.paid_cents,
            }),
            today,
        )
    }
}

/// Document numbers are compared without punctuation: "1.234.567-8" is "12345678".
pub fn normalize_document(raw: &str) -> Result<String, String> {
    let doc: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect();
    if doc.is_empty() {
        return Err("Escribe el número de documento.".into());
    }
    if let Some(bad) = doc.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(format!(
            "El documento tiene un carácter no válido: «{bad}»."
        ));
    }
    if !(4..=20).contains(&doc.len()) {
        return Err("El documento debe tener entre 4 y 20 letras o números.".into());
    }
    Ok(doc)
}

pub fn display_name(kind: ClientKind, first: &str, last: &str, business: &str) -> String {
    match kind {
        ClientKind::Person => format!("{} {}", first.trim(), last.trim())
            .trim()
            .to_string(),
        ClientKind::Company => business.trim().to_string(),
    }
}

fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    max: usize,
    required: Option<&str>,
) -> String {
    let v = value.trim().to_string();
    if v.is_empty() {
        if let Some(message) = required {
            errors.push(FieldError::new(field, message));
        }
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("No puede superar los {max} caracteres."),
        ));
    }
    v
}

/// A party's contact points and the channels withheld on them.
type Contacts = (Vec<(ContactKind, String)>, Vec<(String, Channel)>);

fn contacts(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    input: &ContactsInput,
    country: &str,
) -> Contacts {
    let mut out: Vec<(ContactKind, String)> = Vec::new();
    let mut withheld: Vec<(String, Channel)> = Vec::new();
    for (kind, key, values, withheld_lists) in input.by_kind() {
        let filled: Vec<(usize, &String)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        if filled.len() > MAX_CONTACTS_PER_KIND {
            errors.push(FieldError::new(
                format!("{prefix}{key}"),
                format!("Máximo {MAX_CONTACTS_PER_KIND} por tipo."),
            ));
        }
        for (i, raw) in filled {
            let field = format!("{prefix}{key}.{i}");
            let value = match kind.normalize(raw, country) {
                Ok(v) => v,
                Err(m) => {
                    errors.push(FieldError::new(field, m));
                    continue;
                }
            };
            for &channel in withheld_lists.get(i).map_or(&[][..], Vec::as_slice) {
                if !kind.authorisable().contains(&channel) {
                    errors.push(FieldError::new(
                        field.clone(),
                        format!(
                            "{} no es un canal de un {}.",
                            channel.label(),
                            kind.label().to_lowercase()
                        ),
                    ));
                } else if !withheld.contains(&(value.clone(), channel)) {
                    withheld.push((value.clone(), channel));
                }
            }
            if !out.contains(&(kind, value.clone())) {
                out.push((kind, value));
            }
        }
    }
    (out, withheld)
}

/// Debts one client may hold unless the organisation sets another limit
/// (`max_debts_per_client`).
pub const DEFAULT_MAX_DEBTS: usize = 200;

impl ClientInput {
    /// Validates with the default limit of debts.
    pub fn validate(&self) -> Result<ValidClient, Vec<FieldError>> {
        self.validate_within(DEFAULT_MAX_DEBTS)
    }

    /// Validates, refusing every debt past the first `max_debts`: only those are read,
    /// so a request with a hundred thousand debts costs what one at the limit does.
    pub fn validate_within(&self, max_debts: usize) -> Result<ValidClient, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = match self.kind.as_str() {
            "person" => Some(ClientKind::Person),
            "company" => Some(ClientKind::Company),
            _ => {
                errors.push(FieldError::new("kind", "Elige persona o empresa."));
                None
            }
        };
        let document_number = normalize_document(&self.document_number)
            .map_err(|m| errors.push(FieldError::new("document_number", m)))
            .unwrap_or_default();
        let is_person = kind == Some(ClientKind::Person);
        let is_company = kind == Some(ClientKind::Company);
        let first_name = text(
            &mut errors,
            "first_name",
            &self.first_name,
            80,
            is_person.then_some("Escribe los nombres."),
        );
        let last_name = text(
            &mut errors,
            "last_name",
            &self.last_name,
            80,
            is_person.then_some("Escribe los apellidos."),
        );
        let business_name = text(
            &mut errors,
            "business_name",
            &self.business_name,
            160,
            is_company.then_some("Escribe la razón social."),
        );
        let segment = text(&mut errors, "segment", &self.segment, 60, None);
        let country = geo::country(&self.country);
        if country.is_none() {
            errors.push(FieldError::new("country", "País no reconocido: usa uno de la lista, por su código de dos letras (CO, MX, PE…)."));
        }
        let country_code = country.map_or("", |c| c.code);
        let time_zone = match self.time_zone.trim() {
            "" => country.map_or("", |c| c.time_zone).to_string(),
            tz if geo::is_time_zone(tz) => tz.to_string(),
            _ => {
                errors.push(FieldError::new(
                    "time_zone",
                    "Zona horaria no reconocida: usa una de la lista (America/Bogota, America/Lima…).",
                ));
                String::new()
            }
        };

        let (own, own_withheld) = contacts(&mut errors, "contacts.", &self.contacts, country_code);
        let mut parties = vec![ValidParty {
            role: PartyRole::Client,
            ordinal: 1,
            name: String::new(),
            relationship: String::new(),
            contacts: own,
            withheld: own_withheld,
        }];
        let mut seen_slots = Vec::new();
        for rel in &self.related {
            let prefix = rel.field_prefix();
            let slot = RELATED_SLOTS
                .iter()
                .find(|(role, ordinal)| role.as_str() == rel.role && *ordinal == rel.ordinal);
            let Some(&(role, ordinal)) = slot else {
                errors.push(FieldError::new(
                    prefix,
                    "Solo hay Referencia 1–2 y Garante 1–2.",
                ));
                continue;
            };
            if seen_slots.contains(&(role, ordinal)) {
                errors.push(FieldError::new(
                    prefix,
                    "Esta referencia o garante está repetido.",
                ));
                continue;
            }
            seen_slots.push((role, ordinal));
            if rel.name.trim().is_empty()
                && rel.relationship.trim().is_empty()
                && rel.contacts.is_blank()
            {
                continue;
            }
            let name = text(
                &mut errors,
                &format!("{prefix}.name"),
                &rel.name,
                120,
                Some("Escribe el nombre, o deja vacíos todos sus datos."),
            );
            let relationship = text(
                &mut errors,
                &format!("{prefix}.relationship"),
                &rel.relationship,
                60,
                None,
            );
            let (contacts, withheld) = contacts(
                &mut errors,
                &format!("{prefix}."),
                &rel.contacts,
                country_code,
            );
            parties.push(ValidParty {
                role,
                ordinal,
                name,
                relationship,
                contacts,
                withheld,
            });
        }

        let mut debts: Vec<ValidDebt> = Vec::new();
        // Duplicates and mixed currencies are judged against every debt as typed, not
        // only the ones that are otherwise valid, so one error does not hide another.
        let mut numbers_seen: HashSet<String> = HashSet::new();
        let mut first_currency: Option<String> = None;
        for i in max_debts..self.debts.len() {
            errors.push(FieldError::new(
                format!("debts.{i}.number"),
                format!(
                    "Un cliente admite hasta {max_debts} deudas: quita esta, o regístrala en otro cliente."
                ),
            ));
        }
        for (i, d) in self.debts.iter().enumerate().take(max_debts) {
            let f = |name: &str| format!("debts.{i}.{name}");
            let number = text(
                &mut errors,
                &f("number"),
                &d.number,
                40,
                Some("Escribe el número de orden."),
            );
            if !number.is_empty() && !numbers_seen.insert(number.clone()) {
                errors.push(FieldError::new(
                    f("number"),
                    "Este número de orden ya está en la lista.",
                ));
            }
            let product = text(&mut errors, &f("product"), &d.product, 60, None);
            let issue_date = parse_date(&d.issue_date)
                .map_err(|m| errors.push(FieldError::new(f("issue_date"), m)))
                .ok();
            let due_date = parse_date(&d.due_date)
                .map_err(|m| errors.push(FieldError::new(f("due_date"), m)))
                .ok();
            if let (Some(issue), Some(due)) = (issue_date, due_date) {
                if issue > due {
                    errors.push(FieldError::new(
                        f("due_date"),
                        "El vencimiento no puede ser anterior a la emisión.",
                    ));
                }
            }
            let amount = parse_amount(&d.amount)
                .map_err(|m| errors.push(FieldError::new(f("amount"), m)))
                .ok();
            if amount == Some(0) {
                errors.push(FieldError::new(
                    f("amount"),
                    "El monto debe ser mayor que cero.",
                ));
            }
            let paid = if d.paid.trim().is_empty() {
                Some(0)
            } else {
                parse_amount(&d.paid)
                    .map_err(|m| errors.push(FieldError::new(f("paid"), m)))
                    .ok()
            };
            if let (Some(a), Some(p)) = (amount, paid) {
                if p > a {
                    errors.push(FieldError::new(
                        f("paid"),
                        "Lo pagado no puede superar el monto.",
                    ));
                }
            }
            let currency = d.currency.trim().to_uppercase();
            if !geo::is_currency(&currency) {
                errors.push(FieldError::new(
                    f("currency"),
                    "Moneda no reconocida: usa una de la lista, por su código (COP, MXN, USD…).",
                ));
            } else {
                match &first_currency {
                    None => first_currency = Some(currency.clone()),
                    Some(first) if *first != currency => errors.push(FieldError::new(
                        f("currency"),
                        format!("Todas las deudas de un cliente van en la misma moneda ({first})."),
                    )),
                    Some(_) => {}
                }
            }
            if let (Some(issue_date), Some(due_date), Some(amount_cents), Some(paid_cents)) =
                (issue_date, due_date, amount, paid)
            {
                debts.push(ValidDebt {
                    number,
                    product,
                    issue_date,
                    due_date,
                    amount_cents,
                    paid_cents,
                    currency,
                });
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        let kind = kind.expect("no errors means a kind");
        let country = country.expect("no errors means a country");
        let display_name = display_name(kind, &first_name, &last_name, &business_name);
        parties[0].name = display_name.clone();
        let currency = debts
            .first()
            .map_or(country.currency, |d| d.currency.as_str())
            .to_string();
        Ok(ValidClient {
            kind,
            document_number,
            first_name: if kind == ClientKind::Person {
                first_name
            } else {
                String::new()
            },
            last_name: if kind == ClientKind::Person {
                last_name
            } else {
                String::new()
            },
            business_name: if kind == ClientKind::Company {
                business_name
            } else {
                String::new()
            },
            display_name,
            segment,
            country: country.code.to_string(),
            time_zone,
            currency,
            advisor_id: self.advisor_id,
            parties,
            debts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> ClientInput {
        let mut input = ClientInput::blank();
        input.document_number = "1.020.304.050".into();
        input.first_name = "María José".into();
        input.last_name = "Pérez Gómez".into();
        input.segment = "Tarjetas".into();
        input.contacts.phones = vec!["300 123 4567".into(), "".into()];
        input.contacts.emails = vec!["MJ.Perez@Correo.co".into()];
        input.related[0].name = "Carlos Pérez".into();
        input.related[0].relationship = "Hermano".into();
        input.related[0].contacts.phones = vec!["310 555 0000".into()];
        input.debts = vec![DebtInput {
            number: "F-1001".into(),
            product: "Tarjeta".into(),
            issue_date: "01/08/2026".into(),
            due_date: "2026-09-01".into(),
            amount: "1.250.000,00".into(),
            paid: "".into(),
            currency: "cop".into(),
        }];
        input
    }

    #[test]
    fn a_valid_person_is_normalised() {
        let v = person().validate().unwrap();
        assert_eq!(v.document_number, "1020304050");
        assert_eq!(v.display_name, "María José Pérez Gómez");
        assert_eq!(v.currency, "COP");
        assert_eq!(v.parties.len(), 2);
        assert_eq!(v.parties[0].role, PartyRole::Client);
        assert_eq!(v.parties[0].name, "María José Pérez Gómez");
        assert_eq!(
            v.parties[0].contacts,
            vec![
                (ContactKind::Phone, "+573001234567".to_string()),
                (ContactKind::Email, "mj.perez@correo.co".to_string())
            ]
        );
        assert_eq!(
            (v.parties[1].role, v.parties[1].ordinal),
            (PartyRole::Reference, 1)
        );
        assert_eq!(v.debts[0].amount_cents, 125_000_000);
        assert_eq!(v.debts[0].paid_cents, 0);
    }

    #[test]
    fn debts_past_the_limit_are_refused_one_by_one_and_duplicates_still_found() {
        let mut input = person();
        let first = input.debts[0].clone();
        input.debts = (0..50_000)
            .map(|i| DebtInput {
                number: format!("F-{i}"),
                ..first.clone()
            })
            .collect();
        input.debts[3].number = "F-1".into();
        let errors = input.validate_within(10).unwrap_err();
        assert_eq!(errors.len(), 50_000 - 10 + 1);
        assert_eq!(errors[0].field, "debts.10.number");
        assert!(errors[0].message.contains("hasta 10 deudas"));
        assert!(errors
            .iter()
            .any(|e| e.field == "debts.3.number" && e.message.contains("ya está en la lista")));
        input.debts.truncate(10);
        input.debts[3].number = "F-3".into();
        assert_eq!(input.validate_within(10).unwrap().debts.len(), 10);
    }

    #[test]
    fn a_company_needs_a_business_name_not_person_names() {
        let mut input = person();
        input.kind = "company".into();
        input.business_name = "".into();
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "business_name");
        input.business_name = "Ferretería El Tornillo S.A.S.".into();
        let v = input.validate().unwrap();
        assert_eq!(v.display_name, "Ferretería El Tornillo S.A.S.");
        assert_eq!(v.first_name, "");
    }

    #[test]
    fn errors_name_the_exact_field() {
        let mut input = person();
        input.document_number = "12".into();
        input.country = "ZZ".into();
        input.contacts.phones = vec!["".into(), "abc".into()];
        input.related[2].contacts.emails = vec!["x@y.co".into()];
        input.debts[0].due_date = "2026-07-01".into();
        input.debts[0].paid = "2.000.000".into();
        input.debts.push(DebtInput {
            number: "F-1001".into(),
            currency: "USD".into(),
            ..input.debts[0].clone()
        });
        let fields: Vec<String> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for expected in [
            "document_number",
            "country",
            "contacts.phones.1",
            "related.guarantor.1.name",
            "debts.0.due_date",
            "debts.0.paid",
            "debts.1.number",
            "debts.1.currency",
        ] {
            assert!(
                fields.contains(&expected.to_string()),
                "{expected} not in {fields:?}"
            );
        }
    }

    #[test]
    fn empty_related_slots_are_skipped_and_unknown_ones_refused() {
        let mut input = person();
        input.related[0] = RelatedInput::empty(PartyRole::Reference, 1);
        assert_eq!(input.validate().unwrap().parties.len(), 1);
        input.related.push(RelatedInput {
            name: "X".into(),
            ..RelatedInput::empty(PartyRole::Reference, 3)
        });
        assert_eq!(
            input.validate().unwrap_err()[0].field,
            "related.reference.3"
        );
    }

    #[test]
    fn duplicate_contacts_collapse() {
        let mut input = person();
        input.contacts.phones = vec!["3001234567".into(), "+57 300 123 4567".into()];
        let v = input.validate().unwrap();
        assert_eq!(v.parties[0].contacts.len(), 2);
    }

    #[test]
    fn channels_withheld_follow_their_value_and_stay_within_its_kind() {
        let mut input = person();
        input.contacts.phones = vec!["".into(), "300 123 4567".into(), "3109876543".into()];
        // A short list leaves the last phone authorised; the blank first slot is skipped.
        input.contacts.phones_withheld = vec![vec![], vec![Channel::Sms, Channel::Sms]];
        input.contacts.emails = vec!["a@b.co".into()];
        input.contacts.emails_withheld = vec![vec![Channel::Email]];
        let v = input.validate().unwrap();
        let own = &v.parties[0];
        assert_eq!(
            own.withheld_on(ContactKind::Phone, "+573001234567"),
            [Channel::Sms]
        );
        assert!(own
            .withheld_on(ContactKind::Phone, "+573109876543")
            .is_empty());
        assert_eq!(
            own.withheld_on(ContactKind::Email, "a@b.co"),
            [Channel::Email]
        );

        input.contacts.phones_withheld = vec![vec![], vec![Channel::Email]];
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "contacts.phones.1");
        assert!(
            errors[0].message.contains("no es un canal"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn the_form_shows_what_is_stored_withheld() {
        let mut input = person();
        input.contacts.phones = vec!["3001234567".into()];
        input.contacts.phones_withheld = vec![vec![Channel::Call]];
        let v = input.validate().unwrap();
        let again = detail_of(&v).to_input();
        assert_eq!(again.contacts.phones_withheld, vec![vec![Channel::Call]]);
        assert_eq!(
            again.validate().unwrap().parties[0].withheld,
            v.parties[0].withheld
        );
    }

    #[test]
    fn the_time_zone_defaults_to_the_country() {
        let mut input = person();
        input.country = "PE".into();
        input.time_zone = "".into();
        assert_eq!(input.validate().unwrap().time_zone, "America/Lima");
    }

    #[test]
    fn a_client_without_debts_takes_the_country_currency() {
        let mut input = person();
        input.debts.clear();
        input.country = "MX".into();
        assert_eq!(input.validate().unwrap().currency, "MXN");
    }

    #[test]
    fn documents_lose_punctuation() {
        assert_eq!(normalize_document(" 12.345.678-k ").unwrap(), "12345678K");
        assert!(normalize_document("12#45").unwrap_err().contains("«#»"));
        assert!(normalize_document("").is_err());
    }

    /// The stored form of a validated client, as reading it back would give.
    fn detail_of(v: &ValidClient) -> ClientDetail {
        ClientDetail {
            id: 1,
            kind: v.kind,
            document_number: v.document_number.clone(),
            first_name: v.first_name.clone(),
            last_name: v.last_name.clone(),
            business_name: v.business_name.clone(),
            display_name: v.display_name.clone(),
            advisor_id: None,
            advisor_name: None,
            supervisor_name: None,
            segment: v.segment.clone(),
            country: v.country.clone(),
            time_zone: v.time_zone.clone(),
            currency: v.currency.clone(),
            summary: DebtSummary::default(),
            days_overdue: 0,
            parties: v
                .parties
                .iter()
                .enumerate()
                .map(|(i, p)| Party {
                    id: i as i64,
                    role: p.role,
                    ordinal: p.ordinal,
                    name: p.name.clone(),
                    relationship: p.relationship.clone(),
                    contacts: p
                        .contacts
                        .iter()
                        .map(|(kind, value)| ContactPoint {
                            id: 0,
                            kind: *kind,
                            value: value.clone(),
                            problem: None,
                            withheld: p.withheld_on(*kind, value),
                        })
                        .collect(),
                })
                .collect(),
            debts: v
                .debts
                .iter()
                .map(|d| Debt {
                    id: 0,
                    number: d.number.clone(),
                    product: d.product.clone(),
                    issue_date: d.issue_date,
                    due_date: d.due_date,
                    amount_cents: d.amount_cents,
                    paid_cents: d.paid_cents,
                    currency: d.currency.clone(),
                })
                .collect(),
            alerts: Default::default(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn detail_round_trips_through_the_form() {
        let v = person().validate().unwrap();
        let detail = detail_of(&v);
        assert_eq!(detail.to_input().validate().unwrap(), v);
        assert_eq!(detail.to_valid(), v);
    }

    #[test]
    fn search_terms_include_related_parties_contacts() {
        let terms = person().validate().unwrap().search_terms();
        for t in [
            "maria",
            "jose",
            "perez",
            "gomez",
            "1020304050",
            "3001234567",
            "3105550000",
            "mj.perez@correo.co",
        ] {
            assert!(terms.contains(&t.to_string()), "{t} missing: {terms:?}");
        }
    }
}
