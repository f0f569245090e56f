//! What every message is made of, whoever writes or reads it: its channel, direction,
//! origin and delivery status, payment-portal visit states, and attachments with the
//! limits they follow.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::contact::{normalize_email, normalize_phone, ContactKind};
use crate::domain::error::FieldError;

text_enum! {
    pub enum Channel {
        WhatsApp => ("whatsapp", "WhatsApp"),
        WhatsAppBusiness => ("whatsapp_business", "WhatsApp Business"),
        Email => ("email", "Correo electrónico"),
        Sms => ("sms", "SMS"),
        Call => ("call", "Llamada"),
        Note => ("note", "Nota interna"),
    }
}

impl Channel {
    /// The kind of contact point a message on this channel is addressed to.
    pub fn contact_kind(self) -> Option<ContactKind> {
        match self {
            Channel::WhatsApp | Channel::WhatsAppBusiness => Some(ContactKind::WhatsApp),
            Channel::Sms | Channel::Call => Some(ContactKind::Phone),
            Channel::Email => Some(ContactKind::Email),
            Channel::Note => None,
        }
    }

    /// Channels a debtor can write from.
    pub const INBOUND: [Channel; 5] = [
        Channel::WhatsApp,
        Channel::WhatsAppBusiness,
        Channel::Email,
        Channel::Sms,
        Channel::Call,
    ];

    /// A short mark for the inbox row's channel icon.
    pub fn icon(self) -> &'static str {
        match self {
            Channel::WhatsApp => "WA",
            Channel::WhatsAppBusiness => "WB",
            Channel::Email => "@",
            Channel::Sms => "SMS",
            Channel::Call => "☎",
            Channel::Note => "✎",
        }
    }
}

text_enum! {
    pub enum Direction {
        Inbound => ("inbound", "Recibido"),
        Outbound => ("outbound", "Enviado"),
        /// Internal notes: seen by users only, never sent.
        Internal => ("internal", "Nota interna"),
    }
}

text_enum! {
    /// Why an outbound message was sent.
    pub enum Origin {
        Manual => ("manual", "Manual"),
        Flow => ("flow", "Flujo"),
        Event => ("event", "Evento"),
        Campaign => ("campaign", "Campaña"),
    }
}

text_enum! {
    pub enum DeliveryStatus {
        Queued => ("queued", "En cola"),
        Sent => ("sent", "Enviado"),
        Delivered => ("delivered", "Entregado"),
        Read => ("read", "Leído"),
        Failed => ("failed", "Fallido"),
    }
}

impl DeliveryStatus {
    /// The status as said of a message on `channel`: a call is dialled, rings, and is
    /// answered or not.
    pub fn label_on(self, channel: Channel) -> &'static str {
        match (channel, self) {
            (Channel::Call, DeliveryStatus::Queued) => "Marcando",
            (Channel::Call, DeliveryStatus::Sent) => "Llamando",
            (Channel::Call, DeliveryStatus::Delivered | DeliveryStatus::Read) => "Contestada",
            (Channel::Call, DeliveryStatus::Failed) => "No conectada",
            _ => self.label(),
        }
    }

    /// Whether a message in this status may move to `next`. Statuses only go forward:
    /// a late or repeated callback (delivered after read, a second delivered) changes
    /// nothing, and a failure counts only before the message was delivered.
    pub fn follows(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (self, next) {
            (Failed, _) => false,
            (Queued | Sent, Failed) => true,
            (_, Failed) => false,
            (from, to) => (to as u8) > (from as u8),
        }
    }
}

text_enum! {
    /// How a pending inbound stopped being pending.
    pub enum Handling {
        Replied => ("replied", "Respondido"),
        Dismissed => ("dismissed", "Omitido"),
    }
}

text_enum! {
    pub enum VisitState {
        Opened => ("opened", "Abrió el enlace"),
        ViewedDebt => ("viewed_debt", "Consultó la deuda"),
        StartedPayment => ("started_payment", "Inició el pago"),
        Paid => ("paid", "Pagó"),
        Abandoned => ("abandoned", "Abandonó"),
        DeclaredPayment => ("declared_payment", "Declaró un pago"),
        DeclaredPromise => ("declared_promise", "Registró un compromiso de pago"),
    }
}

/// Longest message body, in characters: far above any chat message, and enough for a
/// long e-mail once its quoted history is trimmed.
pub const MAX_BODY_CHARS: usize = 20_000;
/// A received e-mail's sanitised HTML: newsletters' markup runs long, but a screen has
/// no use for more.
pub const MAX_HTML_CHARS: usize = 200_000;
pub const MAX_SUBJECT_CHARS: usize = 250;
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_ATTACHMENTS: usize = 10;
/// Attachment types debtors send and advisors need: documents and pictures of receipts.
pub const ATTACHMENT_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AttachmentInput {
    pub file_name: String,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// Bytes as base64 text in JSON.
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The size, type and count rules every attachment follows, sent or received.
pub fn check_attachments(errors: &mut Vec<FieldError>, attachments: &[AttachmentInput]) {
    if attachments.len() > MAX_ATTACHMENTS {
        errors.push(FieldError::new(
            "attachments",
            format!("Se admiten hasta {MAX_ATTACHMENTS} adjuntos por mensaje."),
        ));
    }
    for (i, a) in attachments.iter().enumerate() {
        let field = format!("attachments.{i}");
        let name = a.file_name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.contains(['/', '\\']) {
            errors.push(FieldError::new(
                &field,
                "El adjunto necesita un nombre de archivo válido (sin barras, hasta 200 caracteres).",
            ));
        }
        if !ATTACHMENT_TYPES.contains(&a.content_type.as_str()) {
            errors.push(FieldError::new(
                &field,
                format!(
                    "«{name}»: el tipo {} no está permitido (PDF, imágenes, texto, Word o Excel).",
                    a.content_type
                ),
            ));
        }
        if a.content.len() > MAX_ATTACHMENT_BYTES {
            errors.push(FieldError::new(
                &field,
                format!(
                    "«{name}» pesa {:.1} MB; el máximo es {} MB.",
                    a.content.len() as f64 / (1024.0 * 1024.0),
                    MAX_ATTACHMENT_BYTES / (1024 * 1024)
                ),
            ));
        }
    }
}

/// Normalises a sender's address as a channel delivers it: phones are international
/// (WhatsApp's webhook omits the "+", SMS providers send E.164), e-mails lower-cased.
pub fn normalize_address(kind: ContactKind, raw: &str) -> Result<String, String> {
    match kind {
        ContactKind::Phone | ContactKind::WhatsApp => {
            let t = raw.trim();
            if t.starts_with('+') || t.starts_with("00") {
                normalize_phone(t, "")
            } else {
                normalize_phone(&format!("+{t}"), "")
            }
        }
        ContactKind::Email => normalize_email(raw),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEntry {
    pub status: DeliveryStatus,
    pub detail: String,
    pub at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AttachmentMeta {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_go_forward() {
        use DeliveryStatus::*;
        let allowed: Vec<(DeliveryStatus, DeliveryStatus)> = DeliveryStatus::ALL
            .iter()
            .flat_map(|a| DeliveryStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.follows(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Queued, Sent),
                (Queued, Delivered),
                (Queued, Read),
                (Queued, Failed),
                (Sent, Delivered),
                (Sent, Read),
                (Sent, Failed),
                (Delivered, Read),
            ]
        );
    }

    #[test]
    fn attachment_bytes_travel_as_base64() {
        let a = AttachmentInput {
            file_name: "recibo.pdf".into(),
            content_type: "application/pdf".into(),
            content: vec![0, 255, 37, 80],
        };
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""content":"AP8lUA==""#), "{json}");
        assert_eq!(serde_json::from_str::<AttachmentInput>(&json).unwrap(), a);
        assert!(serde_json::from_str::<AttachmentInput>(
            r#"{"file_name":"x","content_type":"text/plain","content":"no es base64!"}"#
        )
        .is_err());
    }
}
