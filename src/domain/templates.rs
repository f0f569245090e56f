//! Message templates (Estrategias → Plantillas) and the tags that both templates and
//! manual messages may carry: `{{nombre}}` and the like, replaced by the recipient's
//! values when the message is written. An unknown tag is an error, never sent as is.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::client::{ClientDetail, PartyRole};
use crate::domain::error::FieldError;
use crate::domain::message::{Channel, MAX_BODY_CHARS, MAX_SUBJECT_CHARS};
use crate::domain::money::format_money;

text_enum! {
    /// What a template is for: the main flow's steps, event triggers, or campaigns.
    pub enum Purpose {
        Flow => ("flow", "Flujo"),
        Event => ("event", "Evento"),
        Campaign => ("campaign", "Campaña"),
    }
}

/// The tags, with what each stands for.
pub const TAGS: &[(&str, &str)] = &[
    ("nombre", "Nombre del destinatario"),
    ("nombre_cliente", "Nombre del cliente"),
    ("deuda_vencida", "Deuda total vencida"),
    ("vencimiento_mas_antiguo", "Vencimiento más antiguo"),
    ("dias_atraso", "Días de atraso"),
    ("asesor", "Nombre del asesor"),
    ("link_pago", "Enlace «Paga aquí»"),
    ("estado_cuenta", "Estado de cuenta"),
];

/// The channels a template can be written for.
pub const TEMPLATE_CHANNELS: [Channel; 4] = [
    Channel::WhatsApp,
    Channel::WhatsAppBusiness,
    Channel::Email,
    Channel::Sms,
];

pub const MAX_NAME_CHARS: usize = 100;

/// A piece of a text: literal or a tag.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Tag(&'a str),
}

/// Splits a text at its `{{tag}}`s; `Err` names an unknown or unclosed tag.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("Hay una etiqueta sin cerrar: falta «}}».".into());
        };
        let name = after[..end].trim();
        if !TAGS.iter().any(|(t, _)| *t == name) {
            return Err(format!(
                "Etiqueta desconocida: «{{{{{name}}}}}». Las etiquetas válidas son {}.",
                TAGS.iter()
                    .map(|(t, _)| format!("{{{{{t}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(Piece::Tag(name));
        rest = &after[end + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks that every tag in `text` is known.
pub fn check_tags(text: &str) -> Result<(), String> {
    pieces(text).map(|_| ())
}

/// The values of the tags for one recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagValues(HashMap<&'static str, String>);

impl TagValues {
    pub fn set(&mut self, tag: &'static str, value: impl Into<String>) {
        debug_assert!(TAGS.iter().any(|(t, _)| *t == tag), "unknown tag {tag}");
        self.0.insert(tag, value.into());
    }
}

/// The tags' values for a message to `recipient` (a party of `client`).
pub fn tag_values(client: &ClientDetail, recipient: &str, payment_link: &str) -> TagValues {
    let mut v = TagValues::default();
    let overdue = format_money(client.summary.overdue_total_cents, &client.currency);
    v.set("nombre", recipient);
    v.set("nombre_cliente", &client.display_name);
    v.set("deuda_vencida", &overdue);
    v.set(
        "vencimiento_mas_antiguo",
        client
            .summary
            .oldest_unpaid_due_date
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default(),
    );
    v.set("dias_atraso", client.days_overdue.to_string());
    v.set("asesor", client.advisor_name.clone().unwrap_or_default());
    v.set("link_pago", payment_link);
    let mut lines: Vec<String> = client
        .debts
        .iter()
        .filter(|d| d.outstanding_cents() > 0)
        .map(|d| {
            format!(
                "- {}: {} por pagar, vence el {}",
                d.number,
                format_money(d.outstanding_cents(), &d.currency),
                d.due_date.format("%d/%m/%Y")
            )
        })
        .collect();
    lines.push(format!("Total vencido: {overdue}"));
    v.set("estado_cuenta", lines.join("\n"));
    v
}

/// The values of the tags of `text` in the order they appear: the parameters {{1}},
/// {{2}}… of the same template as registered with WhatsApp.
pub fn tag_params(text: &str, values: &TagValues) -> Result<Vec<String>, String> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Tag(t) => Some(values.0.get(t).cloned().unwrap_or_default()),
            Piece::Text(_) => None,
        })
        .collect())
}

/// The name a template is registered under with WhatsApp: lower case, without accents,
/// words joined by "_" ("Recordatorio de pago" → "recordatorio_de_pago").
pub fn whatsapp_name(name: &str) -> String {
    let folded = crate::domain::search::fold(name);
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The text with each tag replaced by its value.
pub fn render(text: &str, values: &TagValues) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for p in pieces(text)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Tag(t) => out.push_str(values.0.get(t).map_or("", String::as_str)),
        }
    }
    Ok(out)
}

/// A message's subject and text with the tags replaced; an unknown tag is noted against
/// its field ("subject" or "body") in `errors`.
pub fn render_message(
    subject: &str,
    body: &str,
    values: &TagValues,
    errors: &mut Vec<FieldError>,
) -> (String, String) {
    let mut field = |name: &str, text: &str| {
        render(text, values).unwrap_or_else(|e| {
            errors.push(FieldError::new(name, e));
            String::new()
        })
    };
    (field("subject", subject), field("body", body))
}

/// A template as stored and listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub channel: Channel,
    pub recipient: PartyRole,
    pub purpose: Purpose,
    pub subject: String,
    pub body: String,
    pub approved: bool,
}

/// A template's text as one client would receive it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub client_id: i64,
    pub client_name: String,
    pub subject: String,
    pub body: String,
}

/// A template as the Plantillas form sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInput {
    pub name: String,
    pub channel: Channel,
    pub recipient: PartyRole,
    pub purpose: Purpose,
    pub subject: String,
    pub body: String,
    pub approved: bool,
}

impl TemplateInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(FieldError::new("name", "Ponle un nombre a la plantilla."));
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                "name",
                format!("El nombre admite hasta {MAX_NAME_CHARS} caracteres."),
            ));
        }
        if !TEMPLATE_CHANNELS.contains(&self.channel) {
            errors.push(FieldError::new(
                "channel",
                "Las plantillas son para WhatsApp, correo o SMS.",
            ));
        }
        if self.channel == Channel::Email && self.subject.trim().is_empty() {
            errors.push(FieldError::new(
                "subject",
                "Una plantilla de correo necesita un asunto.",
            ));
        }
        if self.subject.chars().count() > MAX_SUBJECT_CHARS {
            errors.push(FieldError::new(
                "subject",
                format!("El asunto admite hasta {MAX_SUBJECT_CHARS} caracteres."),
            ));
        }
        if self.body.trim().is_empty() {
            errors.push(FieldError::new("body", "Escribe el texto de la plantilla."));
        } else if self.body.chars().count() > MAX_BODY_CHARS {
            errors.push(FieldError::new(
                "body",
                format!("El texto admite hasta {MAX_BODY_CHARS} caracteres."),
            ));
        }
        if let Err(e) = check_tags(&self.subject) {
            errors.push(FieldError::new("subject", e));
        }
        if let Err(e) = check_tags(&self.body) {
            errors.push(FieldError::new("body", e));
        }
        let text = format!("{}\n{}", self.subject, self.body);
        if let Some(why) = crate::domain::governance::disclosure(self.recipient, &text) {
            errors.push(FieldError::new("body", why));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TagValues {
        let mut v = TagValues::default();
        v.set("nombre", "Ana Gómez");
        v.set("deuda_vencida", "$ 1.250.000");
        v
    }

    #[test]
    fn tags_are_replaced_and_spaces_inside_braces_allowed() {
        assert_eq!(
            render("Hola {{nombre}}, debes {{ deuda_vencida }}.", &values()).unwrap(),
            "Hola Ana Gómez, debes $ 1.250.000."
        );
        assert_eq!(render("Sin etiquetas", &values()).unwrap(), "Sin etiquetas");
        assert_eq!(
            render("{{asesor}}", &values()).unwrap(),
            "",
            "a known tag without a value for this recipient is left empty"
        );
        assert_eq!(render("a { b } c", &values()).unwrap(), "a { b } c");
    }

    #[test]
    fn whatsapp_takes_the_tags_as_ordered_parameters_and_a_plain_name() {
        assert_eq!(
            tag_params("{{deuda_vencida}} para {{nombre}}; {{asesor}}", &values()).unwrap(),
            ["$ 1.250.000", "Ana Gómez", ""]
        );
        assert_eq!(
            whatsapp_name("Recordatorio de pago"),
            "recordatorio_de_pago"
        );
        assert_eq!(
            whatsapp_name(" Aviso: ¡Vencimiento próximo! "),
            "aviso_vencimiento_proximo"
        );
    }

    #[test]
    fn unknown_and_unclosed_tags_are_errors() {
        let e = render("Hola {{nombres}}", &values()).unwrap_err();
        assert!(e.starts_with("Etiqueta desconocida: «{{nombres}}»"), "{e}");
        assert!(e.contains("{{link_pago}}"));
        assert!(check_tags("Hola {{nombre")
            .unwrap_err()
            .contains("sin cerrar"));
    }

    #[test]
    fn template_input_rules() {
        let ok = TemplateInput {
            name: "Recordatorio".into(),
            channel: Channel::Email,
            recipient: PartyRole::Client,
            purpose: Purpose::Flow,
            subject: "Tu deuda".into(),
            body: "Hola {{nombre}}".into(),
            approved: false,
        };
        assert!(ok.validate().is_ok());
        let bad = TemplateInput {
            name: " ".into(),
            channel: Channel::Call,
            subject: String::new(),
            body: "{{saldo}}".into(),
            ..ok.clone()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "channel", "body"]);
        let no_subject = TemplateInput {
            subject: String::new(),
            ..ok
        };
        assert_eq!(no_subject.validate().unwrap_err()[0].field, "subject");
    }
}
