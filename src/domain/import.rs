//! Portfolio import: a table (one row per debt, client and related-party columns repeated)
//! becomes validated clients, or a list of every problem by row and column. Each client's
//! rows go through the same validation as the client form.

use std::collections::HashMap;

use crate::domain::client::{
    ClientInput, DebtInput, PartyRole, RelatedInput, ValidClient, MAX_CONTACTS_PER_KIND,
    RELATED_SLOTS,
};
use crate::domain::contact::ContactKind;
use crate::domain::error::RowError;
use crate::domain::message::Channel;
use crate::domain::search::fold;

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub debts: usize,
}

/// Several values in one cell (two phones) are separated by this character.
pub const MULTI_VALUE_SEPARATOR: char = '|';
pub const MAX_LISTED_ERRORS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Col {
    Kind,
    Document,
    FirstName,
    LastName,
    BusinessName,
    Country,
    TimeZone,
    Segment,
    Advisor,
    Phone,
    Email,
    WhatsApp,
    /// The channels the client did not authorise on their own contact points.
    Withheld,
    Related(usize, RelCol),
    Number,
    Product,
    IssueDate,
    DueDate,
    Amount,
    Paid,
    Currency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RelCol {
    Name,
    Relationship,
    Phone,
    Email,
    WhatsApp,
}

/// The headers Recaudo writes in its template, in order.
pub fn template_headers() -> Vec<String> {
    let mut h: Vec<String> = [
        "Tipo",
        "Documento",
        "Nombres",
        "Apellidos",
        "Razón social",
        "País",
        "Zona horaria",
        "Segmento",
        "Asesor ID",
        "Teléfono",
        "Correo",
        "WhatsApp",
        "Canales no autorizados",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (role, ordinal) in RELATED_SLOTS {
        let base = format!("{} {}", role.label(), ordinal);
        h.push(base.clone());
        for suffix in ["relación", "teléfono", "correo", "WhatsApp"] {
            h.push(format!("{base} {suffix}"));
        }
    }
    h.extend(
        [
            "Número de orden",
            "Producto",
            "Fecha de emisión",
            "Fecha de vencimiento",
            "Monto",
            "Monto pagado",
            "Moneda",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    h
}

fn column_for(header: &str) -> Option<Col> {
    let h = fold(header)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let base = match h.as_str() {
        "tipo" | "tipo de cliente" | "tipo cliente" => Some(Col::Kind),
        "documento"
        | "numero de documento"
        | "nro documento"
        | "dni"
        | "cedula"
        | "rut"
        | "nit" => Some(Col::Document),
        "nombres" | "nombre" => Some(Col::FirstName),
        "apellidos" | "apellido" => Some(Col::LastName),
        "razon social" | "nombre comercial" => Some(Col::BusinessName),
        "pais" => Some(Col::Country),
        "zona horaria" => Some(Col::TimeZone),
        "segmento" | "cartera" => Some(Col::Segment),
        "asesor id" | "asesor" | "correo asesor" | "email asesor" => Some(Col::Advisor),
        "telefono" | "telefonos" | "celular" => Some(Col::Phone),
        "correo" | "email" | "e-mail" => Some(Col::Email),
        "whatsapp" => Some(Col::WhatsApp),
        "canales no autorizados" => Some(Col::Withheld),
        "numero de orden" | "orden" | "nro orden" | "factura" => Some(Col::Number),
        "producto" => Some(Col::Product),
        "fecha de emision" | "emision" => Some(Col::IssueDate),
        "fecha de vencimiento" | "vencimiento" => Some(Col::DueDate),
        "monto" | "importe" => Some(Col::Amount),
        "monto pagado" | "pagado" => Some(Col::Paid),
        "moneda" => Some(Col::Currency),
        _ => None,
    };
    base.or_else(|| {
        RELATED_SLOTS
            .iter()
            .enumerate()
            .find_map(|(slot, (role, ordinal))| {
                let prefix = format!("{} {}", fold(role.label()), ordinal);
                let rest = h.strip_prefix(&prefix)?.trim();
                let col = match rest {
                    "" | "nombre" => RelCol::Name,
                    "relacion" | "parentesco" => RelCol::Relationship,
                    "telefono" => RelCol::Phone,
                    "correo" | "email" => RelCol::Email,
                    "whatsapp" => RelCol::WhatsApp,
                    _ => return None,
                };
                Some(Col::Related(slot, col))
            })
    })
}

const REQUIRED: [(Col, &str); 2] = [(Col::Document, "Documento"), (Col::Country, "País")];
const DEBT_COLS: [Col; 7] = [
    Col::Number,
    Col::Product,
    Col::IssueDate,
    Col::DueDate,
    Col::Amount,
    Col::Paid,
    Col::Currency,
];

/// Looks an advisor up by the "Asesor ID" cell (user id or e-mail).
pub type AdvisorLookup<'a> = dyn Fn(&str) -> Result<i64, String> + 'a;

#[derive(Debug)]
pub struct ImportedClient {
    pub client: ValidClient,
    pub rows: Vec<usize>,
    /// Optional client-level cells the file left empty: on re-import they keep what is
    /// stored instead of clearing it.
    pub left_empty: LeftEmpty,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeftEmpty {
    pub segment: bool,
    pub time_zone: bool,
    pub advisor: bool,
}

impl ImportedClient {
    /// Re-importing updates and never duplicates: the file's values win where it has
    /// them, contacts are added to the stored ones, debts are matched by order number and
    /// debts absent from the file are kept. The error names the column to fix.
    pub fn merge_into(&self, stored: ValidClient) -> Result<ValidClient, (String, String)> {
        let incoming = &self.client;
        let mut merged = incoming.clone();
        if self.left_empty.segment {
            merged.segment = stored.segment.clone();
        }
        if self.left_empty.time_zone {
            merged.time_zone = stored.time_zone.clone();
        }
        if self.left_empty.advisor {
            merged.advisor_id = stored.advisor_id;
        }
        merged.parties = stored.parties.clone();
        for party in &incoming.parties {
            match merged
                .parties
                .iter_mut()
                .find(|p| p.role == party.role && p.ordinal == party.ordinal)
            {
                Some(existing) => {
                    existing.name = party.name.clone();
                    if !party.relationship.is_empty() {
                        existing.relationship = party.relationship.clone();
                    }
                    for contact in &party.contacts {
                        if !existing.contacts.contains(contact) {
                            existing.contacts.push(contact.clone());
                        }
                    }
                    // A file can withhold a channel but not lift what is stored: consent
                    // given back is recorded on the client's form.
                    for w in &party.withheld {
                        if !existing.withheld.contains(w) {
                            existing.withheld.push(w.clone());
                        }
                    }
                }
                None => merged.parties.push(party.clone()),
            }
        }
        for party in &merged.parties {
            for &kind in ContactKind::ALL {
                if party.contacts.iter().filter(|(k, _)| *k == kind).count() > MAX_CONTACTS_PER_KIND
                {
                    let header = match party.role {
                        PartyRole::Client => kind.label().to_string(),
                        role => {
                            let suffix = match kind {
                                ContactKind::Phone => "teléfono",
                                ContactKind::Email => "correo",
                                ContactKind::WhatsApp => "WhatsApp",
                            };
                            format!("{} {} {suffix}", role.label(), party.ordinal)
                        }
                    };
                    return Err((
                        header,
                        format!(
                            "Con lo ya guardado, {} quedaría con más de {MAX_CONTACTS_PER_KIND} valores de {}; quita alguno en la ficha del cliente.",
                            if party.role == PartyRole::Client { "el cliente".to_string() } else { format!("{} {}", party.role.label(), party.ordinal) },
                            kind.label().to_lowercase()
                        ),
                    ));
                }
            }
        }
        merged.debts = stored.debts.clone();
        for debt in &incoming.debts {
            match merged.debts.iter_mut().find(|d| d.number == debt.number) {
                Some(existing) => *existing = debt.clone(),
                None => merged.debts.push(debt.clone()),
            }
        }
        if let Some(first) = merged.debts.first() {
            if let Some(other) = merged.debts.iter().find(|d| d.currency != first.currency) {
                return Err((
                    "Moneda".into(),
                    format!(
                        "El cliente ya tiene deudas en {} y el archivo trae {}; todas sus deudas van en la misma moneda.",
                        first.currency, other.currency
                    ),
                ));
            }
            merged.currency = first.currency.clone();
        }
        Ok(merged)
    }
}

/// Where each field of a client's form came from, to put its error on a row and column.
#[derive(Default)]
struct Sources {
    by_field: HashMap<String, (usize, String)>,
}

impl Sources {
    fn note(&mut self, field: String, row: usize, header: &str) {
        self.by_field
            .entry(field)
            .or_insert_with(|| (row, header.to_string()));
    }
}

struct Group {
    input: ClientInput,
    sources: Sources,
    rows: Vec<usize>,
    /// The first row each client-level value came from, to report disagreements.
    first_value: HashMap<Col, (usize, String)>,
    has_advisor: bool,
    /// What "Canales no autorizados" said, applied to every own contact point of the
    /// channel's kind once all the client's rows are read.
    withheld: Vec<Channel>,
}

/// "SMS|Llamada" → the channels, by their names as the screens show them; the error
/// names the word it does not know.
fn parse_channels(cell: &str) -> Result<Vec<Channel>, String> {
    let mut out = Vec::new();
    for word in cell
        .split(MULTI_VALUE_SEPARATOR)
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let channel = match fold(word).as_str() {
            "sms" => Channel::Sms,
            "llamada" | "llamadas" | "telefono" => Channel::Call,
            "correo" | "email" | "correo electronico" => Channel::Email,
            "whatsapp" => Channel::WhatsApp,
            _ => {
                return Err(format!(
                    "«{word}» no es un canal: usa SMS, Llamada, Correo o WhatsApp, separados por «{MULTI_VALUE_SEPARATOR}»."
                ))
            }
        };
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    Ok(out)
}

/// A header as an error names it: cut short, so that a file cannot make its error
/// list as large as itself.
fn header_shown(h: &str) -> String {
    const SHOWN: usize = 60;
    let t = h.trim();
    if t.chars().count() <= SHOWN {
        t.to_string()
    } else {
        format!("{}…", t.chars().take(SHOWN).collect::<String>())
    }
}

pub fn plan(
    headers: &[String],
    rows: &[Vec<String>],
    advisor: &AdvisorLookup<'_>,
    max_debts: usize,
) -> Result<Vec<ImportedClient>, (Vec<RowError>, usize)> {
    let mut errors: Vec<RowError> = Vec::new();
    let err = |errors: &mut Vec<RowError>, row: usize, column: &str, message: String| {
        errors.push(RowError {
            row,
            column: column.to_string(),
            message,
        });
    };

    let mut cols: Vec<Option<Col>> = Vec::new();
    for h in headers {
        let col = column_for(h);
        let shown = header_shown(h);
        match col {
            None if h.trim().is_empty() => {}
            None => err(
                &mut errors,
                1,
                &shown,
                format!(
                    "Columna desconocida «{shown}». Columnas válidas: {}.",
                    template_headers().join(", ")
                ),
            ),
            Some(c) if cols.contains(&Some(c)) => {
                err(&mut errors, 1, &shown, "Columna repetida.".into())
            }
            Some(_) => {}
        }
        cols.push(col);
    }
    for (col, name) in REQUIRED {
        if !cols.contains(&Some(col)) {
            err(&mut errors, 1, name, format!("Falta la columna «{name}»."));
        }
    }
    let has_names = cols.contains(&Some(Col::FirstName)) || cols.contains(&Some(Col::BusinessName));
    if !has_names {
        err(
            &mut errors,
            1,
            "Nombres",
            "Falta la columna «Nombres» (o «Razón social» para empresas).".into(),
        );
    }
    if rows.is_empty() && errors.is_empty() {
        err(
            &mut errors,
            2,
            "—",
            "El archivo no tiene filas de datos.".into(),
        );
    }
    if !errors.is_empty() {
        let total = errors.len();
        return Err((errors, total));
    }

    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Group> = HashMap::new();
    for (i, record) in rows.iter().enumerate() {
        let row = i + 2;
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if record.len() > headers.len() {
            err(
                &mut errors,
                row,
                "—",
                format!(
                    "La fila tiene {} valores y el encabezado {} columnas.",
                    record.len(),
                    headers.len()
                ),
            );
            continue;
        }
        let cell = |c: Col| -> (&str, &str) {
            cols.iter()
                .position(|x| *x == Some(c))
                .map(|p| (record.get(p).map_or("", |v| v.trim()), headers[p].trim()))
                .unwrap_or(("", ""))
        };
        let (doc, doc_header) = cell(Col::Document);
        if doc.is_empty() {
            err(
                &mut errors,
                row,
                doc_header,
                "Falta el documento del cliente.".into(),
            );
            continue;
        }
        let key =
            crate::domain::client::normalize_document(doc).unwrap_or_else(|_| doc.to_string());
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Group {
                input: ClientInput {
                    related: RELATED_SLOTS
                        .iter()
                        .map(|&(r, o)| RelatedInput::empty(r, o))
                        .collect(),
                    ..ClientInput::default()
                },
                sources: Sources::default(),
                rows: Vec::new(),
                first_value: HashMap::new(),
                has_advisor: false,
                withheld: Vec::new(),
            }
        });
        group.rows.push(row);

        // Client-level values: the first non-empty one wins; a different one later is an error.
        let single = [
            (Col::Kind, "kind"),
            (Col::Document, "document_number"),
            (Col::FirstName, "first_name"),
            (Col::LastName, "last_name"),
            (Col::BusinessName, "business_name"),
            (Col::Country, "country"),
            (Col::TimeZone, "time_zone"),
            (Col::Segment, "segment"),
            (Col::Advisor, "advisor_id"),
            (Col::Withheld, "contacts"),
        ];
        for (col, field) in single {
            let (value, header) = cell(col);
            if value.is_empty() {
                continue;
            }
            match group.first_value.get(&col) {
                // Rows are grouped by the normalised document, so its spellings agree.
                Some(_) if col == Col::Document => continue,
                Some((first_row, first)) if fold(first) != fold(value) => {
                    err(&mut errors, row, header, format!(
                        "«{value}» no coincide con «{first}» de la fila {first_row} para el mismo documento."
                    ));
                    continue;
                }
                Some(_) => continue,
                None => {
                    group.first_value.insert(col, (row, value.to_string()));
                }
            }
            group.sources.note(field.to_string(), row, header);
            let input = &mut group.input;
            match col {
                Col::Kind => {
                    input.kind = match fold(value).as_str() {
                        "persona" | "natural" | "persona natural" => "person".into(),
                        "empresa" | "juridica" | "persona juridica" => "company".into(),
                        _ => {
                            err(
                                &mut errors,
                                row,
                                header,
                                format!("«{value}» no es un tipo válido: usa persona o empresa."),
                            );
                            continue;
                        }
                    }
                }
                Col::Document => input.document_number = value.into(),
                Col::FirstName => input.first_name = value.into(),
                Col::LastName => input.last_name = value.into(),
                Col::BusinessName => input.business_name = value.into(),
                Col::Country => input.country = value.into(),
                Col::TimeZone => input.time_zone = value.into(),
                Col::Segment => input.segment = value.into(),
                Col::Advisor => match advisor(value) {
                    Ok(id) => {
                        input.advisor_id = Some(id);
                        group.has_advisor = true;
                    }
                    Err(m) => err(&mut errors, row, header, m),
                },
                Col::Withheld => match parse_channels(value) {
                    Ok(channels) => group.withheld = channels,
                    Err(m) => err(&mut errors, row, header, m),
                },
                _ => unreachable!("only client-level columns are listed"),
            }
        }

        // Contacts accumulate across the client's rows.
        let contact_cols = [
            (Col::Phone, "phones"),
            (Col::Email, "emails"),
            (Col::WhatsApp, "whatsapps"),
        ];
        for (col, key) in contact_cols {
            let (value, header) = cell(col);
            for v in value
                .split(MULTI_VALUE_SEPARATOR)
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                let list = match col {
                    Col::Phone => &mut group.input.contacts.phones,
                    Col::Email => &mut group.input.contacts.emails,
                    _ => &mut group.input.contacts.whatsapps,
                };
                group
                    .sources
                    .note(format!("contacts.{key}.{}", list.len()), row, header);
                group.sources.note(format!("contacts.{key}"), row, header);
                list.push(v.to_string());
            }
        }
        for (slot, &(slot_role, slot_ordinal)) in RELATED_SLOTS.iter().enumerate() {
            let prefix = group.input.related[slot].field_prefix();
            for rel_col in [
                RelCol::Name,
                RelCol::Relationship,
                RelCol::Phone,
                RelCol::Email,
                RelCol::WhatsApp,
            ] {
                let (value, header) = cell(Col::Related(slot, rel_col));
                if value.is_empty() {
                    continue;
                }
                let rel = &mut group.input.related[slot];
                match rel_col {
                    RelCol::Name | RelCol::Relationship => {
                        let (field, target) = if rel_col == RelCol::Name {
                            ("name", &mut rel.name)
                        } else {
                            ("relationship", &mut rel.relationship)
                        };
                        if target.is_empty() {
                            *target = value.to_string();
                            group.sources.note(format!("{prefix}.{field}"), row, header);
                        } else if fold(target) != fold(value) {
                            err(&mut errors, row, header, format!(
                                "«{value}» no coincide con «{target}» de una fila anterior del mismo documento."
                            ));
                        }
                    }
                    _ => {
                        let (key, list) = match rel_col {
                            RelCol::Phone => ("phones", &mut rel.contacts.phones),
                            RelCol::Email => ("emails", &mut rel.contacts.emails),
                            _ => ("whatsapps", &mut rel.contacts.whatsapps),
                        };
                        for v in value
                            .split(MULTI_VALUE_SEPARATOR)
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                        {
                            group.sources.note(
                                format!("{prefix}.{key}.{}", list.len()),
                                row,
                                header,
                            );
                            group.sources.note(format!("{prefix}.{key}"), row, header);
                            list.push(v.to_string());
                        }
                    }
                }
            }
            // An empty name with data is reported on the slot's name column.
            let name_header = cols
                .iter()
                .position(|x| *x == Some(Col::Related(slot, RelCol::Name)))
                .map_or_else(
                    || format!("{} {slot_ordinal}", slot_role.label()),
                    |p| headers[p].trim().to_string(),
                );
            group
                .sources
                .note(format!("{prefix}.name"), row, &name_header);
        }

        // One debt per row, unless every debt column is empty.
        if DEBT_COLS.iter().any(|c| !cell(*c).0.is_empty()) {
            let i = group.input.debts.len();
            let fields = [
                (Col::Number, "number"),
                (Col::Product, "product"),
                (Col::IssueDate, "issue_date"),
                (Col::DueDate, "due_date"),
                (Col::Amount, "amount"),
                (Col::Paid, "paid"),
                (Col::Currency, "currency"),
            ];
            for (col, field) in fields {
                let header = match cell(col).1 {
                    "" => missing_debt_header(col).to_string(),
                    h => h.to_string(),
                };
                group
                    .sources
                    .note(format!("debts.{i}.{field}"), row, &header);
            }
            group.input.debts.push(DebtInput {
                number: cell(Col::Number).0.into(),
                product: cell(Col::Product).0.into(),
                issue_date: cell(Col::IssueDate).0.into(),
                due_date: cell(Col::DueDate).0.into(),
                amount: cell(Col::Amount).0.into(),
                paid: cell(Col::Paid).0.into(),
                currency: cell(Col::Currency).0.into(),
            });
        }
    }

    let mut planned = Vec::new();
    for key in order {
        let mut group = groups.remove(&key).expect("grouped");
        if group.input.kind.is_empty() {
            group.input.kind =
                if group.input.first_name.is_empty() && !group.input.business_name.is_empty() {
                    "company".into()
                } else {
                    "person".into()
                };
        }
        let own = &mut group.input.contacts;
        for kind in ContactKind::ALL {
            let withheld: Vec<Channel> = kind
                .authorisable()
                .iter()
                .copied()
                .filter(|c| group.withheld.contains(c))
                .collect();
            let (values, lists) = own.lists_mut(*kind);
            *lists = vec![withheld; values.len()];
        }
        let first_row = group.rows[0];
        match group.input.validate_within(max_debts) {
            Ok(mut client) => {
                if !group.has_advisor {
                    client.advisor_id = None;
                }
                let left_empty = LeftEmpty {
                    segment: !group.first_value.contains_key(&Col::Segment),
                    time_zone: !group.first_value.contains_key(&Col::TimeZone),
                    advisor: !group.has_advisor,
                };
                planned.push(ImportedClient {
                    client,
                    rows: group.rows,
                    left_empty,
                });
            }
            Err(field_errors) => {
                for fe in field_errors {
                    let (row, column) = group
                        .sources
                        .by_field
                        .get(&fe.field)
                        .cloned()
                        .unwrap_or_else(|| (first_row, column_name_for_field(&fe.field)));
                    err(&mut errors, row, &column, fe.message);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        errors.sort_by_key(|e| e.row);
        let total = errors.len();
        errors.truncate(MAX_LISTED_ERRORS);
        Err((errors, total))
    }
}

fn missing_debt_header(col: Col) -> &'static str {
    match col {
        Col::Number => "Número de orden",
        Col::Product => "Producto",
        Col::IssueDate => "Fecha de emisión",
        Col::DueDate => "Fecha de vencimiento",
        Col::Amount => "Monto",
        Col::Paid => "Monto pagado",
        _ => "Moneda",
    }
}

/// The template's header for a client-level field whose column is absent from the file.
fn column_name_for_field(field: &str) -> String {
    match field {
        "kind" => "Tipo",
        "document_number" => "Documento",
        "first_name" => "Nombres",
        "last_name" => "Apellidos",
        "business_name" => "Razón social",
        "country" => "País",
        "time_zone" => "Zona horaria",
        "segment" => "Segmento",
        _ => "—",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::DEFAULT_MAX_DEBTS;

    fn table(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut lines = csv.lines();
        let split = |l: &str| l.split(';').map(str::to_string).collect::<Vec<_>>();
        let headers = split(lines.next().unwrap());
        (headers, lines.map(split).collect())
    }

    fn advisors(cell: &str) -> Result<i64, String> {
        match cell {
            "asesor1@demo.recaudo" | "11" => Ok(11),
            _ => Err(format!("No hay un asesor activo «{cell}».")),
        }
    }

    const HEADER: &str = "Documento;Nombres;Apellidos;País;Asesor ID;Teléfono;Referencia 1;Referencia 1 teléfono;Número de orden;Fecha de emisión;Fecha de vencimiento;Monto;Monto pagado;Moneda";

    #[test]
    fn rows_of_one_document_become_one_client_with_several_debts() {
        let (h, rows) = table(&format!(
            "{HEADER}\n\
             10203040;Ana;Ríos;CO;asesor1@demo.recaudo;3001112233;Luis Ríos;3104445566;F-1;2026-01-01;2026-02-01;1.000.000;0;COP\n\
             10.203.040;Ana;Ríos;CO;;3001112299;;;F-2;2026-02-01;2026-03-01;500000;100000;COP\n\
             90807060;Beto;Sala;PE;11;;;;F-9;2026-01-01;2026-02-01;50,50;;PEN"
        ));
        let plan = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap();
        assert_eq!(plan.len(), 2);
        let ana = &plan[0];
        assert_eq!(ana.rows, vec![2, 3]);
        assert_eq!(ana.client.document_number, "10203040");
        assert_eq!(ana.client.advisor_id, Some(11));
        assert_eq!(ana.client.debts.len(), 2);
        assert_eq!(ana.client.parties[0].contacts.len(), 2);
        assert_eq!(ana.client.parties[1].name, "Luis Ríos");
        assert_eq!(plan[1].client.debts[0].amount_cents, 5050);
    }

    #[test]
    fn every_problem_is_reported_by_row_and_column() {
        let (h, rows) = table(&format!(
            "{HEADER}\n\
             10203040;Ana;Ríos;CO;nadie@x.co;300-abc;;;F-1;2026-01-01;31/02/2026;1.000;0;COP\n\
             10203040;Anita;Ríos;CO;;;;;F-1;2026-01-01;2026-02-01;10;0;USD\n\
             ;Sin;Doc;CO;;;;;F-3;2026-01-01;2026-02-01;10;0;COP"
        ));
        let (errors, total) = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert_eq!(total, errors.len());
        let found =
            |row: usize, column: &str| errors.iter().any(|e| e.row == row && e.column == column);
        assert!(found(2, "Asesor ID"), "{errors:?}");
        assert!(found(2, "Teléfono"), "{errors:?}");
        assert!(found(2, "Fecha de vencimiento"), "{errors:?}");
        assert!(found(3, "Nombres"), "{errors:?}");
        assert!(found(3, "Número de orden"), "{errors:?}");
        assert!(found(3, "Moneda"), "{errors:?}");
        assert!(found(4, "Documento"), "{errors:?}");
        assert!(errors.windows(2).all(|w| w[0].row <= w[1].row));
    }

    #[test]
    fn channels_not_authorised_apply_to_the_clients_own_points_of_their_kind() {
        let header = "Documento;Nombres;Apellidos;País;Teléfono;Correo;Canales no autorizados;Referencia 1;Referencia 1 teléfono;Número de orden;Fecha de emisión;Fecha de vencimiento;Monto;Moneda";
        let (h, rows) = table(&format!(
            "{header}\n\
             10203040;Ana;Ríos;CO;3001112233;ana@x.co;SMS|correo;Luis;3104445566;F-1;2026-01-01;2026-02-01;10;COP\n\
             10203040;Ana;Ríos;CO;3001112299;;;;;F-2;2026-01-01;2026-02-01;10;COP\n\
             90807060;Beto;Sala;CO;3005556677;;Fax;;;F-9;2026-01-01;2026-02-01;10;COP"
        ));
        let (errors, _) = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].row, errors[0].column.as_str()),
            (4, "Canales no autorizados")
        );
        assert!(
            errors[0].message.contains("«Fax» no es un canal"),
            "{errors:?}"
        );

        let plan = plan(&h, &rows[..2], &advisors, DEFAULT_MAX_DEBTS).unwrap();
        let ana = &plan[0].client;
        for phone in ["+573001112233", "+573001112299"] {
            assert_eq!(
                ana.parties[0].withheld_on(ContactKind::Phone, phone),
                [Channel::Sms]
            );
        }
        assert_eq!(
            ana.parties[0].withheld_on(ContactKind::Email, "ana@x.co"),
            [Channel::Email]
        );
        assert!(
            ana.parties[1].withheld.is_empty(),
            "a reference's consent is its own"
        );
    }

    #[test]
    fn header_problems_stop_before_any_row() {
        let (h, rows) = table("Documento;Nombres;Colorido\n1;2;3");
        let (errors, _) = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert!(errors.iter().all(|e| e.row == 1));
        assert!(errors
            .iter()
            .any(|e| e.column == "Colorido" && e.message.contains("desconocida")));
        assert!(errors.iter().any(|e| e.column == "País"));
    }

    #[test]
    fn a_huge_header_is_named_cut_short() {
        let huge = "x".repeat(100_000);
        let (errors, _) = plan(&[huge], &[], &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert!(errors
            .iter()
            .all(|e| e.column.len() < 100 && e.message.len() < 1_000));
    }

    #[test]
    fn headers_match_without_accents_or_case() {
        assert_eq!(column_for("  PAIS "), Some(Col::Country));
        assert_eq!(column_for("Fecha de Vencimiento"), Some(Col::DueDate));
        assert_eq!(
            column_for("Garante 2 Teléfono"),
            Some(Col::Related(3, RelCol::Phone))
        );
        assert_eq!(
            column_for("Referencia 1"),
            Some(Col::Related(0, RelCol::Name))
        );
        for h in template_headers() {
            assert!(column_for(&h).is_some(), "{h}");
        }
    }

    #[test]
    fn a_related_party_without_a_name_points_at_its_name_column() {
        let (h, rows) = table(&format!(
            "{HEADER}\n10203040;Ana;Ríos;CO;;;;3104445566;F-1;2026-01-01;2026-02-01;10;0;COP"
        ));
        let (errors, _) = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert_eq!(
            (errors[0].row, errors[0].column.as_str()),
            (2, "Referencia 1")
        );
    }

    fn one(csv_rows: &str) -> ImportedClient {
        let (h, rows) = table(&format!("{HEADER}\n{csv_rows}"));
        plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn reimport_adds_contacts_and_upserts_debts_by_number() {
        let stored = one("10203040;Ana;Ríos;CO;11;3001112233;Luis;3104445566;F-1;2026-01-01;2026-02-01;100;0;COP\n\
                          10203040;Ana;Ríos;CO;;;;;F-2;2026-01-01;2026-02-01;200;0;COP")
            .client;
        let again = one(
            "10203040;Ana María;Ríos;CO;;3009998877;Luis;;F-1;2026-01-01;2026-02-01;100;100;COP",
        );
        let merged = again.merge_into(stored).unwrap();
        assert_eq!(merged.first_name, "Ana María");
        assert_eq!(
            merged.advisor_id,
            Some(11),
            "an empty advisor cell keeps the stored one"
        );
        assert_eq!(merged.parties[0].contacts.len(), 2);
        assert_eq!(merged.parties[1].contacts.len(), 1);
        assert_eq!(merged.debts.len(), 2);
        assert_eq!(merged.debts[0].paid_cents, 10_000);
        assert_eq!(merged.debts[1].number, "F-2");
    }

    #[test]
    fn reimport_refuses_to_mix_currencies() {
        let stored = one("10203040;Ana;Ríos;CO;;;;;F-1;2026-01-01;2026-02-01;100;0;COP").client;
        let again = one("10203040;Ana;Ríos;CO;;;;;F-9;2026-01-01;2026-02-01;100;0;USD");
        let (column, message) = again.merge_into(stored).unwrap_err();
        assert_eq!(column, "Moneda");
        assert!(message.contains("COP"), "{message}");
    }

    #[test]
    fn reimport_refuses_to_pile_up_contacts() {
        let stored = one("10203040;Ana;Ríos;CO;;3001111111|3002222222|3003333333;;;F-1;2026-01-01;2026-02-01;100;0;COP").client;
        let again = one("10203040;Ana;Ríos;CO;;3004444444|3005555555|3006666666;;;F-1;2026-01-01;2026-02-01;100;0;COP");
        let (column, _) = again.merge_into(stored).unwrap_err();
        assert_eq!(column, "Teléfono");
    }

    #[test]
    fn too_many_errors_are_cut_but_counted() {
        let mut csv = HEADER.to_string();
        for i in 0..(MAX_LISTED_ERRORS + 50) {
            csv.push_str(&format!("\n{};A;B;CO;;;;;F;x;y;z;0;COP", 100000 + i));
        }
        let (h, rows) = table(&csv);
        let (errors, total) = plan(&h, &rows, &advisors, DEFAULT_MAX_DEBTS).unwrap_err();
        assert_eq!(errors.len(), MAX_LISTED_ERRORS);
        assert!(total > MAX_LISTED_ERRORS);
    }

    #[test]
    fn rows_past_the_debts_limit_are_each_pointed_out() {
        let mut csv = HEADER.to_string();
        for i in 0..5 {
            csv.push_str(&format!(
                "\n10203040;Ana;Ríos;CO;;;;;F-{i};2026-01-01;2026-02-01;100;0;COP"
            ));
        }
        let (h, rows) = table(&csv);
        assert_eq!(plan(&h, &rows, &advisors, 5).unwrap().len(), 1);
        let (errors, total) = plan(&h, &rows, &advisors, 3).unwrap_err();
        assert_eq!(total, 2, "{errors:?}");
        assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), [5, 6]);
        assert!(errors[0].message.contains("hasta 3 deudas"), "{errors:?}");
    }
}
