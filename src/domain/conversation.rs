//! Conversations: messages to and from a client's parties, their delivery history,
//! payment-portal visits, and the rules for what a message may carry.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::client::{ClientDetail, PartyRole};
use crate::domain::contact::ContactKind;
use crate::domain::error::FieldError;
use crate::domain::message::{
    check_attachments, normalize_address, AttachmentInput, AttachmentMeta, Channel, DeliveryStatus,
    Direction, Handling, Origin, StatusEntry, VisitState, MAX_BODY_CHARS, MAX_HTML_CHARS,
    MAX_SUBJECT_CHARS,
};

/// A message as a channel delivers it, before we know whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The phone number or e-mail address it came from, as the provider gives it.
    pub from: String,
    pub sender_name: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentInput>,
    /// The provider's id: a second delivery of the same id is ignored.
    pub provider_message_id: Option<String>,
    pub received_at: DateTime<Utc>,
    /// E-mail: the HTML version, already sanitised.
    #[serde(default)]
    pub body_html: String,
    /// E-mail: the Message-IDs it answers (In-Reply-To, then References), which place it
    /// in the conversation of the message it replies to before its sender's address is
    /// looked up.
    #[serde(default)]
    pub references: Vec<String>,
}

/// An inbound message that passed validation, its sender's address normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidInbound {
    pub channel: Channel,
    pub kind: ContactKind,
    pub address: String,
    pub sender_name: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentInput>,
    pub provider_message_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub body_html: String,
    pub references: Vec<String>,
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize, what: &str) {
    let n = value.chars().count();
    if n > max {
        errors.push(FieldError::new(
            field,
            format!("{what} admite hasta {max} caracteres; tiene {n}."),
        ));
    }
}
impl InboundMessage {
    /// A text message with no subject, attachments or provider id.
    pub fn new(channel: Channel, from: &str, body: &str, received_at: DateTime<Utc>) -> Self {
        InboundMessage {
            channel,
            from: from.to_string(),
            sender_name: String::new(),
            subject: String::new(),
            body: body.to_string(),
            attachments: Vec::new(),
            provider_message_id: None,
            received_at,
            body_html: String::new(),
            references: Vec::new(),
        }
    }

    pub fn validate(self) -> Result<ValidInbound, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = match self.channel.contact_kind() {
            Some(kind) => Some(kind),
            None => {
                errors.push(FieldError::new(
                    "channel",
                    "Una nota interna no llega por un canal.",
                ));
                None
            }
        };
        let address = kind.and_then(|k| match normalize_address(k, &self.from) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push(FieldError::new("from", e));
                None
            }
        });
        if self.body.trim().is_empty() && self.attachments.is_empty() {
            errors.push(FieldError::new(
                "body",
                "El mensaje no tiene texto ni adjuntos.",
            ));
        }
        check_text(
            &mut errors,
            "body",
            &self.body,
            MAX_BODY_CHARS,
            "El mensaje",
        );
        check_text(
            &mut errors,
            "body_html",
            &self.body_html,
            MAX_HTML_CHARS,
            "El HTML del correo",
        );
        check_text(
            &mut errors,
            "subject",
            &self.subject,
            MAX_SUBJECT_CHARS,
            "El asunto",
        );
        check_text(
            &mut errors,
            "sender_name",
            &self.sender_name,
            200,
            "El nombre",
        );
        if let Some(id) = &self.provider_message_id {
            if id.trim().is_empty() || id.len() > 200 {
                errors.push(FieldError::new(
                    "provider_message_id",
                    "El identificador del proveedor debe tener entre 1 y 200 caracteres.",
                ));
            }
        }
        check_attachments(&mut errors, &self.attachments);
        match (kind, address) {
            (Some(kind), Some(address)) if errors.is_empty() => Ok(ValidInbound {
                channel: self.channel,
                kind,
                address,
                sender_name: self.sender_name.trim().to_string(),
                subject: self.subject.trim().to_string(),
                body: self.body,
                attachments: self.attachments,
                provider_message_id: self.provider_message_id.map(|s| s.trim().to_string()),
                received_at: self.received_at,
                body_html: self.body_html,
                references: self.references,
            }),
            _ => Err(errors),
        }
    }
}

/// The client id the event stream gives a change to "No registrados" (a message from
/// an unknown sender arrived, or was linked to a client): every signed-in user may see
/// that tray. No client has it: ids start at 1.
pub const NO_CLIENT: i64 = 0;

/// An outbound message or note written by a user in a conversation tab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyInput {
    pub client_id: i64,
    pub party_role: PartyRole,
    pub party_ordinal: i32,
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentInput>,
    /// E-mail copies: addresses as typed or picked from the related parties.
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Sent from this template: its subject and text, with this recipient's values,
    /// replace `subject` and `body`.
    #[serde(default)]
    pub template_id: Option<i64>,
    /// Files of the client's records sent along, besides the uploaded ones.
    #[serde(default)]
    pub documents: Vec<crate::domain::compose::DocumentRef>,
    /// Why the advisor goes ahead despite a warning of the contact policy; audited.
    #[serde(default)]
    pub override_reason: String,
    /// The user's answer to the collision guard: sent even though another user
    /// attended the client a moment ago (see `domain::recent`).
    #[serde(default)]
    pub despite_recent: bool,
}

impl ReplyInput {
    /// A message with only a text (and a subject for e-mails).
    pub fn text(
        client_id: i64,
        party_role: PartyRole,
        channel: Channel,
        subject: &str,
        body: &str,
    ) -> Self {
        ReplyInput {
            client_id,
            party_role,
            party_ordinal: 1,
            channel,
            subject: subject.into(),
            body: body.into(),
            attachments: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            template_id: None,
            documents: Vec::new(),
            override_reason: String::new(),
            despite_recent: false,
        }
    }

    /// The rules that hold whatever the channel; the channel's own (addresses, the
    /// WhatsApp window, SMS length) are checked where the message is written.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(1..=2).contains(&self.party_ordinal)
            || (self.party_role == PartyRole::Client && self.party_ordinal != 1)
        {
            errors.push(FieldError::new("party", "Destinatario desconocido."));
        }
        let templated = self.template_id.is_some();
        if self.body.trim().is_empty() && !templated {
            errors.push(FieldError::new("body", "Escribe el mensaje."));
        }
        if templated && self.channel == Channel::Note {
            errors.push(FieldError::new(
                "template",
                "Las notas internas no usan plantillas.",
            ));
        }
        check_text(
            &mut errors,
            "body",
            &self.body,
            MAX_BODY_CHARS,
            "El mensaje",
        );
        check_text(
            &mut errors,
            "subject",
            &self.subject,
            MAX_SUBJECT_CHARS,
            "El asunto",
        );
        if self.channel == Channel::Email && self.subject.trim().is_empty() && !templated {
            errors.push(FieldError::new("subject", "El correo necesita un asunto."));
        }
        if self.channel == Channel::Note
            && !(self.attachments.is_empty() && self.documents.is_empty())
        {
            errors.push(FieldError::new(
                "attachments",
                "Las notas internas no llevan adjuntos.",
            ));
        }
        check_attachments(&mut errors, &self.attachments);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A message as the conversation shows it. Times are local to the organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub party_role: PartyRole,
    pub party_ordinal: i32,
    pub direction: Direction,
    pub channel: Channel,
    pub address: String,
    pub sender_name: String,
    pub subject: String,
    pub body: String,
    /// E-mail copies, as sent.
    pub cc: String,
    pub bcc: String,
    /// A received e-mail's HTML, sanitised when it was taken in: shown instead of the
    /// text when present.
    #[serde(default)]
    pub body_html: String,
    pub origin: Option<Origin>,
    pub author_name: Option<String>,
    pub at: NaiveDateTime,
    pub status: Option<DeliveryStatus>,
    pub history: Vec<StatusEntry>,
    pub attachments: Vec<AttachmentMeta>,
    pub pending: bool,
    pub handling: Option<Handling>,
    pub handled_by_name: Option<String>,
    pub handled_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalVisit {
    pub id: i64,
    pub page_name: String,
    pub at: NaiveDateTime,
    pub states: Vec<(VisitState, NaiveDateTime)>,
    /// The link-preview robot that made the visit (its name); empty for a person.
    #[serde(default)]
    pub preview_agent: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tab {
    pub role: PartyRole,
    pub pending: i64,
}

/// Everything the conversation screen shows about one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub client: ClientDetail,
    pub messages: Vec<Message>,
    pub visits: Vec<PortalVisit>,
    pub tabs: Vec<Tab>,
    /// The tab to open on: the first with something pending, else the client's.
    pub open_tab: PartyRole,
    /// The newest message id the viewer was shown: "Omitir" handles nothing newer.
    pub last_message_id: i64,
    /// Phones, call outcomes, promises and payments.
    pub gestion: crate::domain::calls::Gestion,
    /// What raised and lifted the client's alerts, newest first.
    pub alert_history: Vec<crate::domain::alerts::AlertHistoryEntry>,
}

/// The tabs in their fixed order, with the pending count of each, and the one to open.
pub fn tabs(pending: [i64; 3]) -> (Vec<Tab>, PartyRole) {
    let roles = [
        PartyRole::Client,
        PartyRole::Reference,
        PartyRole::Guarantor,
    ];
    let tabs: Vec<Tab> = roles
        .iter()
        .zip(pending)
        .map(|(role, pending)| Tab {
            role: *role,
            pending,
        })
        .collect();
    let open = tabs
        .iter()
        .find(|t| t.pending > 0)
        .map_or(PartyRole::Client, |t| t.role);
    (tabs, open)
}

/// Up to two initials of a name, for the avatars beside each message.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// What `Omitir` applies to: one tab, or (from the inbox list) the whole conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DismissTarget {
    pub client_id: i64,
    pub party_role: Option<PartyRole>,
    /// Messages newer than this, which the user has not seen, stay pending.
    pub up_to_message_id: Option<i64>,
}

/// A message from an unknown sender, in the "No registrados" tray.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisteredMessage {
    pub id: i64,
    pub channel: Channel,
    pub address: String,
    pub sender_name: String,
    pub subject: String,
    pub body: String,
    pub at: NaiveDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::{MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES};

    fn inbound(channel: Channel, from: &str, body: &str) -> InboundMessage {
        InboundMessage {
            provider_message_id: Some("wamid.1".into()),
            ..InboundMessage::new(
                channel,
                from,
                body,
                DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            )
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn senders_are_normalised_per_channel() {
        let v = inbound(Channel::WhatsApp, "+57 300 123 4567", "Hola")
            .validate()
            .unwrap();
        assert_eq!(
            (v.kind, v.address.as_str()),
            (ContactKind::WhatsApp, "+573001234567")
        );
        let v = inbound(Channel::Email, " Ana.Diaz@Correo.COM ", "Hola")
            .validate()
            .unwrap();
        assert_eq!(v.address, "ana.diaz@correo.com");
        let v = inbound(Channel::Sms, "+573001234567", "Hola")
            .validate()
            .unwrap();
        assert_eq!(v.kind, ContactKind::Phone);
    }

    #[test]
    fn bad_senders_and_notes_are_refused() {
        let e = inbound(Channel::Email, "no-es-correo", "Hola")
            .validate()
            .unwrap_err();
        assert_eq!(fields(&e), ["from"]);
        let e = inbound(Channel::Note, "+573001234567", "Hola")
            .validate()
            .unwrap_err();
        assert_eq!(fields(&e), ["channel"]);
    }

    #[test]
    fn empty_and_over_long_bodies_are_refused() {
        let e = inbound(Channel::Sms, "+573001234567", "  ")
            .validate()
            .unwrap_err();
        assert_eq!(fields(&e), ["body"]);
        let long = "a".repeat(MAX_BODY_CHARS + 1);
        let e = inbound(Channel::Sms, "+573001234567", &long)
            .validate()
            .unwrap_err();
        assert_eq!(fields(&e), ["body"]);
        assert!(e[0].message.contains("20000"));
        let exact = "ñ".repeat(MAX_BODY_CHARS);
        assert!(inbound(Channel::Sms, "+573001234567", &exact)
            .validate()
            .is_ok());
    }

    #[test]
    fn attachments_are_limited_in_size_type_and_number() {
        let file = |name: &str, ty: &str, size: usize| AttachmentInput {
            file_name: name.into(),
            content_type: ty.into(),
            content: vec![0; size],
        };
        let mut m = inbound(Channel::Email, "ana@correo.com", "");
        m.attachments = vec![file("recibo.pdf", "application/pdf", MAX_ATTACHMENT_BYTES)];
        assert!(
            m.clone().validate().is_ok(),
            "an attachment alone is a message"
        );
        m.attachments = vec![
            file("grande.pdf", "application/pdf", MAX_ATTACHMENT_BYTES + 1),
            file("script.html", "text/html", 10),
            file("../x.pdf", "application/pdf", 10),
        ];
        let e = m.clone().validate().unwrap_err();
        assert_eq!(
            fields(&e),
            ["attachments.0", "attachments.1", "attachments.2"]
        );
        assert!(e[0].message.contains("máximo es 10 MB"));
        m.attachments = (0..=MAX_ATTACHMENTS)
            .map(|i| file(&format!("{i}.png"), "image/png", 1))
            .collect();
        assert_eq!(fields(&m.validate().unwrap_err()), ["attachments"]);
    }

    #[test]
    fn replies_need_a_body_and_e_mails_a_subject() {
        let reply = ReplyInput::text(1, PartyRole::Client, Channel::Email, "", "Le escribimos");
        assert_eq!(fields(&reply.validate().unwrap_err()), ["subject"]);
        let sms = ReplyInput {
            channel: Channel::Sms,
            body: " ".into(),
            ..reply.clone()
        };
        assert_eq!(fields(&sms.validate().unwrap_err()), ["body"]);
        let bad_party = ReplyInput {
            party_ordinal: 2,
            channel: Channel::Sms,
            ..reply.clone()
        };
        assert_eq!(fields(&bad_party.validate().unwrap_err()), ["party"]);
        let guarantor = ReplyInput {
            party_role: PartyRole::Guarantor,
            party_ordinal: 2,
            channel: Channel::Note,
            ..reply
        };
        assert!(guarantor.validate().is_ok());
        let templated = ReplyInput {
            template_id: Some(3),
            body: String::new(),
            ..ReplyInput::text(1, PartyRole::Client, Channel::Email, "", "")
        };
        assert!(
            templated.validate().is_ok(),
            "the template brings text and subject"
        );
    }

    #[test]
    fn the_first_tab_with_something_pending_opens() {
        assert_eq!(tabs([0, 0, 2]).1, PartyRole::Guarantor);
        assert_eq!(tabs([0, 1, 2]).1, PartyRole::Reference);
        assert_eq!(tabs([0, 0, 0]).1, PartyRole::Client);
        assert_eq!(tabs([3, 0, 0]).0.len(), 3);
    }

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("María José Pérez"), "MJ");
        assert_eq!(initials("ana"), "A");
        assert_eq!(initials("  "), "");
        assert_eq!(initials("Ñandú (Ltda.)"), "ÑL");
    }
}
