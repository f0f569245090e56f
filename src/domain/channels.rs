//! Ajustes de canales de comunicación: which channels the organisation uses and shows,
//! and who delivers each.

use serde::{Deserialize, Serialize};

use crate::domain::error::FieldError;
use crate::domain::message::Channel;

text_enum! {
    pub enum ProviderKind {
        /// Built in: accepts sends and answers with realistic callbacks, no account.
        Sandbox => ("sandbox", "Sandbox (pruebas)"),
        /// Any HTTP service speaking Recaudo's relay shape: POST {base}/messages with a
        /// bearer token, callbacks signed with the webhook secret.
        Relay => ("relay", "Relay HTTP"),
        /// Meta's WhatsApp Cloud API: base URL, phone number id (sender), access token
        /// (secret) and app secret (webhook secret).
        WhatsAppCloud => ("whatsapp_cloud", "WhatsApp Cloud API (Meta)"),
        /// Twilio: for SMS its Messages API (the sender number or messaging service),
        /// for Llamada click-to-call through its Voice API (the caller ID); the
        /// account's URL and the auth token, which also signs its callbacks.
        Twilio => ("twilio", "Twilio (SMS y llamadas)"),
        /// A mail account: SMTP to send (base URL), IMAP to read replies and bounces
        /// (inbound URL), the sender address, and the account's password (secret).
        Smtp => ("smtp", "Correo SMTP + IMAP"),
    }
}

/// The channels the settings page lists.
pub const SETTING_CHANNELS: [Channel; 5] = [
    Channel::WhatsApp,
    Channel::WhatsAppBusiness,
    Channel::Email,
    Channel::Sms,
    Channel::Call,
];

/// A channel's settings as the settings page shows them: secrets only as "set or not"
/// and their last characters, never their value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettingView {
    pub channel: Channel,
    pub active: bool,
    pub visible: bool,
    pub provider: Option<ProviderKind>,
    pub base_url: String,
    pub sender: String,
    /// "…abcd" when a token is stored.
    pub secret_hint: Option<String>,
    pub webhook_secret_hint: Option<String>,
    /// E-mail: the IMAP mailbox replies and bounces are read from.
    #[serde(default)]
    pub inbound_url: String,
    /// Where the provider posts this channel's callbacks.
    pub webhook_url: String,
    /// WhatsApp channels: Meta's callback URL and the verify token to give Meta.
    pub meta_webhook: Option<(String, String)>,
}

/// What the settings form sends for one channel. A secret left empty keeps the stored one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettingInput {
    pub channel: Channel,
    pub active: bool,
    pub visible: bool,
    pub provider: Option<ProviderKind>,
    pub base_url: String,
    pub sender: String,
    pub secret: String,
    pub webhook_secret: String,
    #[serde(default)]
    pub inbound_url: String,
}

/// The last four characters of a secret, as a hint of which one is stored.
pub fn hint(secret: &str) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Some(if secret.chars().count() > 8 {
        format!("…{tail}")
    } else {
        "guardado".to_string()
    })
}

impl ChannelSettingInput {
    /// `stored_secret`: whether a token is already stored (then it may be left empty).
    pub fn validate(
        &self,
        stored_secret: bool,
        stored_webhook_secret: bool,
    ) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        // An empty field keeps a stored secret.
        let missing_secret = self.secret.trim().is_empty() && !stored_secret;
        if !SETTING_CHANNELS.contains(&self.channel) {
            errors.push(FieldError::new("channel", "Canal desconocido."));
        }
        if self.provider == Some(ProviderKind::WhatsAppCloud) {
            if !matches!(self.channel, Channel::WhatsApp | Channel::WhatsAppBusiness) {
                errors.push(FieldError::new(
                    "provider",
                    "WhatsApp Cloud API solo sirve para los canales de WhatsApp.",
                ));
            }
            let id = self.sender.trim();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(FieldError::new(
                    "sender",
                    "Escribe el identificador del número de teléfono de Meta (solo dígitos).",
                ));
            }
        }
        if self.provider == Some(ProviderKind::Twilio) {
            if !matches!(self.channel, Channel::Sms | Channel::Call) {
                errors.push(FieldError::new(
                    "provider",
                    "Twilio solo sirve para los canales SMS y Llamada.",
                ));
            }
            if self.channel == Channel::Call
                && crate::domain::contact::normalize_phone(self.sender.trim(), "").is_err()
            {
                errors.push(FieldError::new(
                    "sender",
                    "Escribe el número de Twilio que verán el asesor y el deudor (+1…).",
                ));
            }
            if !self.base_url.contains("/Accounts/AC") {
                errors.push(FieldError::new(
                    "base_url",
                    "Escribe la URL de la cuenta: https://api.twilio.com/2010-04-01/Accounts/AC…",
                ));
            }
            if self.sender.trim().is_empty() {
                errors.push(FieldError::new(
                    "sender",
                    "Escribe el número remitente (+1…) o el servicio de mensajería (MG…).",
                ));
            }
            if missing_secret {
                errors.push(FieldError::new(
                    "secret",
                    "Escribe el Auth Token de Twilio.",
                ));
            }
        }
        if matches!(
            self.provider,
            Some(ProviderKind::Relay | ProviderKind::WhatsAppCloud)
        ) {
            let url = self.base_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
                errors.push(FieldError::new(
                    "base_url",
                    "Escribe la URL base del proveedor (https://…).",
                ));
            }
            if missing_secret {
                errors.push(FieldError::new("secret", "Escribe el token del proveedor."));
            }
            if self.webhook_secret.trim().is_empty() && !stored_webhook_secret {
                errors.push(FieldError::new(
                    "webhook_secret",
                    "Escribe el secreto con el que el proveedor firma sus avisos.",
                ));
            }
        }
        if self.provider == Some(ProviderKind::Smtp) {
            if self.channel != Channel::Email {
                errors.push(FieldError::new(
                    "provider",
                    "SMTP + IMAP solo sirve para el canal de correo.",
                ));
            }
            if let Err(e) = MailUrl::parse(&self.base_url, MailProtocol::Smtp) {
                errors.push(FieldError::new("base_url", e));
            }
            if !self.inbound_url.trim().is_empty() {
                if let Err(e) = MailUrl::parse(&self.inbound_url, MailProtocol::Imap) {
                    errors.push(FieldError::new("inbound_url", e));
                }
            }
            if parse_sender(&self.sender).is_none() {
                errors.push(FieldError::new(
                    "sender",
                    "Escribe el remitente: cobranzas@empresa.com o «Cobranzas <cobranzas@empresa.com>».",
                ));
            }
            if missing_secret {
                errors.push(FieldError::new(
                    "secret",
                    "Escribe la contraseña de la cuenta de correo.",
                ));
            }
        }
        if !self.webhook_secret.trim().is_empty() && self.webhook_secret.trim().chars().count() < 16
        {
            errors.push(FieldError::new(
                "webhook_secret",
                "El secreto del webhook debe tener al menos 16 caracteres.",
            ));
        }
        for (field, value, max) in [
            ("base_url", &self.base_url, 500),
            ("sender", &self.sender, 200),
            ("secret", &self.secret, 2000),
            ("webhook_secret", &self.webhook_secret, 500),
            ("inbound_url", &self.inbound_url, 500),
        ] {
            if value.chars().count() > max {
                errors.push(FieldError::new(field, format!("Hasta {max} caracteres.")));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

text_enum! {
    pub enum MailProtocol {
        Smtp => ("smtp", "SMTP"),
        Imap => ("imap", "IMAP"),
    }
}

/// How a mail connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTls {
    /// TLS from the first byte (smtps://, imaps://).
    Implicit,
    /// A plain connection upgraded with STARTTLS, which must be offered (smtp://).
    StartTls,
    /// No encryption: only to a server on this same machine (a local relay).
    None,
}

/// A mail server's address as the settings page takes it: `smtps://host[:port]`,
/// `smtp://host[:port]` (STARTTLS), `imaps://host[:port][/Carpeta]`, with an optional
/// `usuario@` (its `@` written `%40`) when the login is not the sender's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailUrl {
    pub tls: MailTls,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// IMAP: the folder read, INBOX unless named.
    pub mailbox: String,
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]") || host.starts_with("127.")
}

/// `%40` and friends, as userinfo writes them.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl MailUrl {
    pub fn parse(url: &str, protocol: MailProtocol) -> Result<MailUrl, String> {
        let url = url.trim();
        let example = match protocol {
            MailProtocol::Smtp => "smtps://smtp.empresa.com:465 o smtp://smtp.empresa.com:587",
            MailProtocol::Imap => "imaps://imap.empresa.com:993",
        };
        let bad = || {
            format!(
                "Escribe la dirección del servidor {}: {example}.",
                protocol.label()
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let (tls, default_port) = match (protocol, scheme.to_ascii_lowercase().as_str()) {
            (MailProtocol::Smtp, "smtps") => (MailTls::Implicit, 465),
            (MailProtocol::Smtp, "smtp") => (MailTls::StartTls, 587),
            (MailProtocol::Imap, "imaps") => (MailTls::Implicit, 993),
            (MailProtocol::Imap, "imap") => (MailTls::None, 143),
            _ => return Err(bad()),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(percent_decode(u).ok_or_else(bad)?), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') => (h, p.parse::<u16>().map_err(|_| bad())?),
            _ => (hostport, default_port),
        };
        let host = host.to_ascii_lowercase();
        if host.is_empty()
            || port == 0
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(bad());
        }
        let loopback = is_loopback(&host);
        let tls = match tls {
            // A relay on this machine is reached in the clear; anywhere else the
            // password must not cross the network unencrypted.
            MailTls::StartTls | MailTls::None if loopback => MailTls::None,
            MailTls::None => {
                return Err(format!(
                    "Para un servidor remoto usa imaps:// (TLS): {example}."
                ))
            }
            other => other,
        };
        let mailbox = percent_decode(path).ok_or_else(bad)?;
        Ok(MailUrl {
            tls,
            host,
            port,
            user: user.filter(|u| !u.is_empty()),
            mailbox: if mailbox.trim().is_empty() {
                "INBOX".into()
            } else {
                mailbox.trim().to_string()
            },
        })
    }
}

/// A sender as written in the settings: `dirección` or `Nombre <dirección>`; the name
/// (possibly empty) and the address.
pub fn parse_sender(s: &str) -> Option<(String, String)> {
    let s = s.trim();
    let (name, address) = match (s.find('<'), s.ends_with('>')) {
        (Some(open), true) => (
            s[..open].trim().trim_matches('"').trim(),
            &s[open + 1..s.len() - 1],
        ),
        _ => ("", s),
    };
    let address = address.trim();
    let (local, domain) = address.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.contains(char::is_whitespace)
        && !address.contains(['<', '>', ',', ';'])
        && !domain.contains('@')
        && !name.contains(['<', '>', '"']);
    valid.then(|| (name.to_string(), address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> ChannelSettingInput {
        ChannelSettingInput {
            channel: Channel::Sms,
            active: true,
            visible: true,
            provider: Some(ProviderKind::Relay),
            base_url: "https://sms.example.com/v1".into(),
            sender: "RECAUDO".into(),
            secret: "tok-123456789".into(),
            webhook_secret: "un-secreto-largo-de-webhook".into(),
            inbound_url: String::new(),
        }
    }

    #[test]
    fn mail_urls_read_tls_port_login_and_folder() {
        let smtp = MailUrl::parse("smtps://smtp.empresa.com", MailProtocol::Smtp).unwrap();
        assert_eq!(
            (smtp.tls, smtp.port, smtp.user),
            (MailTls::Implicit, 465, None)
        );
        let starttls = MailUrl::parse(
            "smtp://cobros%40empresa.com@Smtp.Empresa.com:2587",
            MailProtocol::Smtp,
        )
        .unwrap();
        assert_eq!(starttls.tls, MailTls::StartTls);
        assert_eq!(starttls.host, "smtp.empresa.com");
        assert_eq!(starttls.port, 2587);
        assert_eq!(starttls.user.as_deref(), Some("cobros@empresa.com"));
        let local = MailUrl::parse("smtp://127.0.0.1:2525", MailProtocol::Smtp).unwrap();
        assert_eq!(
            local.tls,
            MailTls::None,
            "a local relay is reached in the clear"
        );
        let imap = MailUrl::parse(
            "imaps://imap.empresa.com/Cobranzas%20Respuestas",
            MailProtocol::Imap,
        )
        .unwrap();
        assert_eq!(
            (imap.port, imap.mailbox.as_str()),
            (993, "Cobranzas Respuestas")
        );
        assert_eq!(
            MailUrl::parse("imap://127.0.0.1:1143", MailProtocol::Imap)
                .unwrap()
                .mailbox,
            "INBOX"
        );
        for bad in [
            "",
            "smtp.empresa.com",
            "http://smtp.empresa.com",
            "smtps://",
            "smtps://smtp.empresa.com:99999",
            "smtps://smtp empresa.com",
            "imaps://imap.empresa.com",
        ] {
            assert!(MailUrl::parse(bad, MailProtocol::Smtp).is_err(), "{bad}");
        }
        let remote_plain = MailUrl::parse("imap://imap.empresa.com", MailProtocol::Imap);
        assert!(remote_plain.unwrap_err().contains("imaps://"));
    }

    #[test]
    fn senders_take_a_name_or_not() {
        assert_eq!(
            parse_sender("Cobranzas ACME <cobros@acme.com.co>"),
            Some(("Cobranzas ACME".into(), "cobros@acme.com.co".into()))
        );
        assert_eq!(
            parse_sender(" cobros@acme.com "),
            Some((String::new(), "cobros@acme.com".into()))
        );
        for bad in [
            "cobros",
            "cobros@acme",
            "<cobros@acme.com",
            "a b@acme.com",
            "x@@acme.com",
        ] {
            assert_eq!(parse_sender(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_smtp_account_needs_a_server_a_sender_and_a_password() {
        let mail = ChannelSettingInput {
            channel: Channel::Email,
            provider: Some(ProviderKind::Smtp),
            base_url: "smtps://smtp.acme.com".into(),
            inbound_url: "imaps://imap.acme.com".into(),
            sender: "Cobranzas <cobros@acme.com>".into(),
            secret: "clave".into(),
            webhook_secret: String::new(),
            ..relay()
        };
        assert!(mail.validate(false, false).is_ok());
        let wrong = ChannelSettingInput {
            channel: Channel::Sms,
            base_url: "https://smtp.acme.com".into(),
            inbound_url: "imap://imap.acme.com".into(),
            sender: "Cobranzas".into(),
            secret: String::new(),
            ..mail
        };
        let fields: Vec<String> = wrong
            .validate(false, false)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["provider", "base_url", "inbound_url", "sender", "secret"]
        );
    }

    #[test]
    fn secrets_are_hinted_never_shown() {
        assert_eq!(hint(""), None);
        assert_eq!(hint("corto").as_deref(), Some("guardado"));
        assert_eq!(hint("sk_live_0123456789abcd").as_deref(), Some("…abcd"));
    }

    #[test]
    fn a_relay_needs_its_url_and_secrets_unless_stored() {
        assert!(relay().validate(false, false).is_ok());
        let empty = ChannelSettingInput {
            base_url: "ftp://x".into(),
            secret: String::new(),
            webhook_secret: String::new(),
            ..relay()
        };
        let fields: Vec<String> = empty
            .validate(false, false)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["base_url", "secret", "webhook_secret"]);
        let kept = ChannelSettingInput {
            secret: String::new(),
            webhook_secret: String::new(),
            ..relay()
        };
        assert!(
            kept.validate(true, true).is_ok(),
            "empty keeps the stored secrets"
        );
        let short = ChannelSettingInput {
            webhook_secret: "corto".into(),
            ..relay()
        };
        assert_eq!(
            short.validate(false, false).unwrap_err()[0].field,
            "webhook_secret"
        );
        let meta = ChannelSettingInput {
            channel: Channel::WhatsApp,
            provider: Some(ProviderKind::WhatsAppCloud),
            base_url: "https://graph.facebook.com/v21.0".into(),
            sender: "106540352242922".into(),
            ..relay()
        };
        assert!(meta.validate(false, false).is_ok());
        let wrong = ChannelSettingInput {
            channel: Channel::Sms,
            sender: "mi número".into(),
            ..meta
        };
        let fields: Vec<String> = wrong
            .validate(false, false)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["provider", "sender"]);
        let sandbox = ChannelSettingInput {
            provider: Some(ProviderKind::Sandbox),
            base_url: String::new(),
            secret: String::new(),
            webhook_secret: String::new(),
            ..relay()
        };
        assert!(sandbox.validate(false, false).is_ok());
    }
}
