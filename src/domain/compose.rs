//! Writing to a debtor from the conversation: which channels each party can be written
//! on and why not, the channel a reply starts on, and each channel's own rules (the
//! WhatsApp customer-service window, SMS length, e-mail copies). The browser shows these
//! rules as the user types; the server applies them again before anything is stored.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::alerts::ContactProblem;
use crate::domain::client::PartyRole;
use crate::domain::contact::{normalize_email, ContactKind};
use crate::domain::error::FieldError;
use crate::domain::message::{AttachmentMeta, Channel};

/// Outside this many hours since the party last wrote on WhatsApp, Meta accepts only
/// approved templates.
pub const WHATSAPP_WINDOW_HOURS: i64 = 24;
/// Most addresses in CC or in BCC.
pub const MAX_COPIES: usize = 10;
/// The channels a message can be composed on, in the order the composer shows them.
pub const COMPOSER_CHANNELS: [Channel; 5] = [
    Channel::WhatsApp,
    Channel::WhatsAppBusiness,
    Channel::Email,
    Channel::Sms,
    Channel::Call,
];

/// How the organisation has a channel: `visible` decides whether the composer shows
/// it at all, `active` whether it can be used, `configured` whether a provider (or the
/// demo sandbox) delivers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChannel {
    pub channel: Channel,
    pub active: bool,
    pub visible: bool,
    pub configured: bool,
}

/// One of a party's contact points, as far as choosing a channel goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointInfo {
    pub kind: ContactKind,
    pub value: String,
    pub problem: Option<ContactProblem>,
    /// Channels the owner of the address asked to stop ("BAJA"), with why.
    pub refused: Vec<(Channel, String)>,
}

impl PointInfo {
    fn refusal(&self, channel: Channel) -> Option<&str> {
        self.refused
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, why)| why.as_str())
    }
}

/// A channel button: where it sends to, or why it is greyed out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelOption {
    pub channel: Channel,
    pub address: Option<String>,
    /// Shown on hover when the channel cannot be chosen.
    pub blocked: Option<String>,
}

impl ChannelOption {
    pub fn usable(&self) -> bool {
        self.blocked.is_none()
    }
}

/// Whether a problem on a contact point stops this channel from using it: a wrong or
/// suspended number serves nothing, a number without WhatsApp still takes calls and SMS.
pub fn problem_blocks(problem: ContactProblem, channel: Channel) -> bool {
    match problem {
        ContactProblem::WrongPhone => matches!(
            channel,
            Channel::WhatsApp | Channel::WhatsAppBusiness | Channel::Sms | Channel::Call
        ),
        ContactProblem::WhatsAppUnavailable => {
            matches!(channel, Channel::WhatsApp | Channel::WhatsAppBusiness)
        }
        ContactProblem::EmailNotFound => channel == Channel::Email,
    }
}

/// The kinds of contact point a channel can use, preferred first: WhatsApp numbers are
/// often registered as plain phones and the other way round.
pub fn point_kinds(channel: Channel) -> &'static [ContactKind] {
    match channel {
        Channel::WhatsApp | Channel::WhatsAppBusiness => {
            &[ContactKind::WhatsApp, ContactKind::Phone]
        }
        Channel::Sms | Channel::Call => &[ContactKind::Phone, ContactKind::WhatsApp],
        Channel::Email => &[ContactKind::Email],
        Channel::Note => &[],
    }
}

/// The address a message on `channel` goes to: the first usable point of the preferred
/// kind. `Err` says why there is none.
pub fn pick_address(channel: Channel, points: &[PointInfo], party: &str) -> Result<String, String> {
    let mut candidates: Vec<&PointInfo> = Vec::new();
    for kind in point_kinds(channel) {
        candidates.extend(points.iter().filter(|p| p.kind == *kind));
    }
    if let Some(p) = candidates.iter().find(|p| {
        !p.problem.is_some_and(|pr| problem_blocks(pr, channel)) && p.refusal(channel).is_none()
    }) {
        return Ok(p.value.clone());
    }
    if let Some(why) = candidates.iter().find_map(|p| p.refusal(channel)) {
        return Err(why.to_string());
    }
    let what = if channel == Channel::Email {
        "correo"
    } else {
        "teléfono"
    };
    match candidates.first() {
        None => Err(format!("{party} no tiene {what} registrado.")),
        Some(p) => Err(format!(
            "{} está marcado: {}.",
            p.value,
            p.problem.map_or("", ContactProblem::label)
        )),
    }
}

/// The composer's buttons for one party, hidden channels left out.
pub fn channel_options(
    org: &[OrgChannel],
    points: &[PointInfo],
    party: &str,
) -> Vec<ChannelOption> {
    COMPOSER_CHANNELS
        .iter()
        .filter_map(|channel| {
            let setting = org.iter().find(|o| o.channel == *channel)?;
            if !setting.visible {
                return None;
            }
            let address = pick_address(*channel, points, party);
            let blocked = if !setting.active {
                Some(format!(
                    "{} no está activo para la organización.",
                    channel.label()
                ))
            } else if !setting.configured && *channel != Channel::Call {
                Some(format!(
                    "{} no tiene proveedor configurado (Ajustes de canales).",
                    channel.label()
                ))
            } else {
                address.as_ref().err().cloned()
            };
            Some(ChannelOption {
                channel: *channel,
                address: address.ok(),
                blocked,
            })
        })
        .collect()
}

/// The channel a reply starts on: the one the party last wrote from, else e-mail, and
/// when that cannot be used either, the first that can.
pub fn default_channel(
    last_inbound: Option<Channel>,
    options: &[ChannelOption],
) -> Option<Channel> {
    let usable = |c: Channel| options.iter().any(|o| o.channel == c && o.usable());
    last_inbound
        .filter(|c| *c != Channel::Call && usable(*c))
        .or_else(|| usable(Channel::Email).then_some(Channel::Email))
        .or_else(|| {
            options
                .iter()
                .find(|o| o.usable() && o.channel != Channel::Call)
                .map(|o| o.channel)
        })
}

/// How long an SMS is: characters and the parts it travels in. GSM-7 text fits 160
/// characters in one part and 153 per part when split; anything outside that alphabet
/// sends the whole message as UCS-2, 70 and 67. Extension characters take two septets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsLength {
    pub chars: usize,
    pub segments: usize,
    pub unicode: bool,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

pub fn sms_length(body: &str) -> SmsLength {
    let mut septets = 0usize;
    let mut unicode = false;
    for c in body.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            unicode = true;
        }
    }
    let chars = body.chars().count();
    let (units, single, multi) = if unicode {
        // UTF-16 code units: characters outside the BMP (emojis) take two.
        (body.encode_utf16().count(), 70, 67)
    } else {
        (septets, 160, 153)
    };
    let segments = match units {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(multi),
    };
    SmsLength {
        chars,
        segments,
        unicode,
    }
}

/// Whether the WhatsApp window is open at `now` after the party last wrote at `last`.
pub fn whatsapp_window_open(last_inbound: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_inbound.is_some_and(|at| now - at < chrono::Duration::hours(WHATSAPP_WINDOW_HOURS))
}

/// A file already in the client's records that can go along with an e-mail: an
/// attachment of one of its messages, or a receipt or document of an outcome or payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DocumentRef {
    Attachment(i64),
    ManagementFile(i64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDocument {
    pub reference: DocumentRef,
    pub meta: AttachmentMeta,
}

/// A related party's e-mail offered for CC; never added unless picked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopySuggestion {
    pub label: String,
    pub email: String,
}

/// A party of a client on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTarget {
    pub client_id: i64,
    pub party_role: PartyRole,
    pub party_ordinal: i32,
    pub channel: Channel,
}

/// What the composer needs for one conversation tab's party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyComposer {
    pub role: PartyRole,
    pub ordinal: i32,
    pub name: String,
    pub options: Vec<ChannelOption>,
    pub default_channel: Option<Channel>,
    /// The WhatsApp window is open until then; `None` when it is closed.
    pub window_until: Option<NaiveDateTime>,
    pub copy_suggestions: Vec<CopySuggestion>,
}

/// A template as the composer's "Plantillas" list offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateChoice {
    pub id: i64,
    pub name: String,
    pub channel: Channel,
    pub recipient: PartyRole,
    pub approved: bool,
    pub subject: String,
    /// The body with this client's values in place of the tags.
    pub preview: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposerContext {
    pub parties: Vec<PartyComposer>,
    /// Channels delivered by the sandbox: there the debtor's answer can be simulated.
    pub sandbox_channels: Vec<Channel>,
    pub sms_max_segments: usize,
    pub templates: Vec<TemplateChoice>,
    pub documents: Vec<ClientDocument>,
}

/// The cleaned-up copy lists of an e-mail: each address normalised, duplicates and the
/// main recipient dropped. Errors name the field ("cc" or "bcc").
pub fn clean_copies(
    field: &str,
    raw: &[String],
    to: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in raw.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        match normalize_email(a) {
            Ok(e) if e == to || out.contains(&e) => {}
            Ok(e) => out.push(e),
            Err(_) => errors.push(FieldError::new(
                field,
                format!("«{a}» no es un correo electrónico válido."),
            )),
        }
    }
    if out.len() > MAX_COPIES {
        errors.push(FieldError::new(
            field,
            format!("Se admiten hasta {MAX_COPIES} direcciones en copia."),
        ));
    }
    out
}

/// What the channel allows of a message about to be sent. `template_approved` is
/// `Some` when the message comes from a template (and whether WhatsApp approved it).
pub struct ChannelCheck<'a> {
    pub channel: Channel,
    pub body: &'a str,
    /// How many files go along.
    pub attachments: usize,
    pub copies: bool,
    pub window_open: bool,
    pub template_approved: Option<bool>,
    pub sms_max_segments: usize,
}

pub fn check_channel(c: &ChannelCheck<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let whatsapp = matches!(c.channel, Channel::WhatsApp | Channel::WhatsAppBusiness);
    if whatsapp && !c.window_open && c.template_approved != Some(true) {
        errors.push(FieldError::new(
            "template",
            "Pasaron más de 24 horas desde el último mensaje del cliente por WhatsApp: solo se pueden enviar plantillas aprobadas.",
        ));
    }
    if whatsapp && c.attachments > 1 {
        errors.push(FieldError::new(
            "attachments",
            "Por WhatsApp va un adjunto por mensaje.",
        ));
    }
    if c.channel == Channel::Sms {
        if c.attachments > 0 {
            errors.push(FieldError::new(
                "attachments",
                "Los SMS no llevan adjuntos.",
            ));
        }
        let len = sms_length(c.body);
        if len.segments > c.sms_max_segments {
            errors.push(FieldError::new(
                "body",
                format!(
                    "El SMS ocupa {} partes; el máximo configurado es {}.",
                    len.segments, c.sms_max_segments
                ),
            ));
        }
    }
    if c.copies && c.channel != Channel::Email {
        errors.push(FieldError::new(
            "cc",
            "Solo los correos llevan copia (CC) o copia oculta (CCO).",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(active: bool) -> Vec<OrgChannel> {
        COMPOSER_CHANNELS
            .iter()
            .map(|c| OrgChannel {
                channel: *c,
                active,
                visible: true,
                configured: true,
            })
            .collect()
    }

    fn point(kind: ContactKind, value: &str, problem: Option<ContactProblem>) -> PointInfo {
        PointInfo {
            kind,
            value: value.into(),
            problem,
            refused: Vec::new(),
        }
    }

    #[test]
    fn sms_length_counts_gsm_parts_and_unicode() {
        assert_eq!(sms_length("").segments, 0);
        assert_eq!(sms_length(&"a".repeat(160)).segments, 1);
        assert_eq!(sms_length(&"a".repeat(161)).segments, 2);
        assert_eq!(sms_length(&"a".repeat(306)).segments, 2);
        assert_eq!(sms_length(&"a".repeat(307)).segments, 3);
        // Spanish accents outside GSM-7 switch the whole message to UCS-2.
        let accented = format!("Informació{}", "n".repeat(60));
        let l = sms_length(&accented);
        assert!(l.unicode);
        assert_eq!((l.chars, l.segments), (70, 1));
        assert_eq!(sms_length(&"ó".repeat(71)).segments, 2);
        // ñ and é are in GSM-7; the euro sign takes two septets.
        let l = sms_length(&format!("Señor José{}", "€".repeat(76)));
        assert!(!l.unicode);
        assert_eq!(l.segments, 2);
        // An emoji is two UTF-16 units.
        assert_eq!(sms_length(&"😀".repeat(35)).segments, 1);
        assert_eq!(sms_length(&"😀".repeat(36)).segments, 2);
    }

    #[test]
    fn a_failed_point_is_skipped_and_explains_itself_when_it_was_the_only_one() {
        let points = vec![
            point(
                ContactKind::Phone,
                "+573001111111",
                Some(ContactProblem::WhatsAppUnavailable),
            ),
            point(
                ContactKind::Email,
                "ana@example.com",
                Some(ContactProblem::EmailNotFound),
            ),
        ];
        let options = channel_options(&org(true), &points, "Ana");
        let find = |c| options.iter().find(|o| o.channel == c).unwrap();
        assert_eq!(
            find(Channel::WhatsApp).blocked.as_deref(),
            Some("+573001111111 está marcado: WhatsApp no disponible.")
        );
        assert!(find(Channel::Sms).usable());
        assert!(find(Channel::Call).usable());
        assert_eq!(
            find(Channel::Email).blocked.as_deref(),
            Some("ana@example.com está marcado: Correo no encontrado.")
        );
        let more = vec![
            point(
                ContactKind::WhatsApp,
                "+573002222222",
                Some(ContactProblem::WrongPhone),
            ),
            point(ContactKind::Phone, "+573003333333", None),
        ];
        let options = channel_options(&org(true), &more, "Ana");
        assert_eq!(
            options[0].address.as_deref(),
            Some("+573003333333"),
            "the usable phone serves WhatsApp when the WhatsApp number is wrong"
        );
        let none = channel_options(&org(true), &[], "Luis");
        assert_eq!(
            none[2].blocked.as_deref(),
            Some("Luis no tiene correo registrado.")
        );
    }

    #[test]
    fn organisation_settings_hide_grey_or_leave_channels() {
        let points = vec![point(ContactKind::Phone, "+573001111111", None)];
        let mut settings = org(true);
        settings[1].visible = false;
        settings[3].active = false;
        settings[0].configured = false;
        let options = channel_options(&settings, &points, "Ana");
        assert_eq!(options.len(), 4, "the hidden channel is left out");
        assert!(options[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("proveedor configurado"));
        let sms = options.iter().find(|o| o.channel == Channel::Sms).unwrap();
        assert_eq!(
            sms.blocked.as_deref(),
            Some("SMS no está activo para la organización.")
        );
    }

    #[test]
    fn the_default_channel_follows_the_last_inbound_then_email() {
        let points = vec![
            point(ContactKind::Phone, "+573001111111", None),
            point(ContactKind::Email, "ana@example.com", None),
        ];
        let options = channel_options(&org(true), &points, "Ana");
        assert_eq!(
            default_channel(Some(Channel::Sms), &options),
            Some(Channel::Sms)
        );
        assert_eq!(default_channel(None, &options), Some(Channel::Email));
        assert_eq!(
            default_channel(Some(Channel::Call), &options),
            Some(Channel::Email)
        );
        let phone_only = channel_options(&org(true), &points[..1], "Ana");
        assert_eq!(default_channel(None, &phone_only), Some(Channel::WhatsApp));
        assert_eq!(
            default_channel(None, &channel_options(&org(false), &points, "Ana")),
            None
        );
    }

    #[test]
    fn the_whatsapp_window_lasts_24_hours() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert!(!whatsapp_window_open(None, at));
        assert!(whatsapp_window_open(
            Some(at),
            at + chrono::Duration::hours(23)
        ));
        assert!(!whatsapp_window_open(
            Some(at),
            at + chrono::Duration::hours(24)
        ));
    }

    #[test]
    fn channel_rules() {
        let base = ChannelCheck {
            channel: Channel::WhatsApp,
            body: "Hola",
            attachments: 0,
            copies: false,
            window_open: false,
            template_approved: None,
            sms_max_segments: 2,
        };
        assert_eq!(check_channel(&base)[0].field, "template");
        assert_eq!(
            check_channel(&ChannelCheck {
                template_approved: Some(false),
                ..base
            })[0]
                .field,
            "template"
        );
        assert!(check_channel(&ChannelCheck {
            template_approved: Some(true),
            ..base
        })
        .is_empty());
        assert!(check_channel(&ChannelCheck {
            window_open: true,
            ..base
        })
        .is_empty());
        let two_files = ChannelCheck {
            window_open: true,
            attachments: 2,
            ..base
        };
        assert_eq!(
            check_channel(&two_files)[0].message,
            "Por WhatsApp va un adjunto por mensaje."
        );
        let long = "a".repeat(400);
        let sms = ChannelCheck {
            channel: Channel::Sms,
            body: &long,
            attachments: 1,
            copies: true,
            ..base
        };
        let fields: Vec<String> = check_channel(&sms).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["attachments", "body", "cc"]);
    }

    #[test]
    fn copies_are_normalised_deduplicated_and_checked() {
        let mut errors = Vec::new();
        let raw = vec![
            " Ref@Example.com ".to_string(),
            "ref@example.com".into(),
            "ana@example.com".into(),
            "no-es-correo".into(),
            String::new(),
        ];
        let out = clean_copies("cc", &raw, "ana@example.com", &mut errors);
        assert_eq!(out, ["ref@example.com"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("no-es-correo"));
        let many: Vec<String> = (0..11).map(|i| format!("p{i}@example.com")).collect();
        let mut errors = Vec::new();
        clean_copies("bcc", &many, "", &mut errors);
        assert_eq!(errors[0].field, "bcc");
    }
}
