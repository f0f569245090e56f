//! Ajustes de canales de comunicación: which channels the organisation uses and shows,
//! and who delivers each.

use serde::{Deserialize, Serialize};

use crate::domain::conversation::Channel;
use crate::domain::error::FieldError;

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
        /// Twilio's Messages API for SMS: the account's URL, the sender number (or
        /// messaging service) and the auth token, which also signs its callbacks.
        Twilio => ("twilio", "Twilio (SMS)"),
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
            if self.channel != Channel::Sms {
                errors.push(FieldError::new(
                    "provider",
                    "Twilio solo sirve para el canal SMS.",
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
            if self.secret.trim().is_empty() && !stored_secret {
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
            if self.secret.trim().is_empty() && !stored_secret {
                errors.push(FieldError::new("secret", "Escribe el token del proveedor."));
            }
            if self.webhook_secret.trim().is_empty() && !stored_webhook_secret {
                errors.push(FieldError::new(
                    "webhook_secret",
                    "Escribe el secreto con el que el proveedor firma sus avisos.",
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
        }
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
