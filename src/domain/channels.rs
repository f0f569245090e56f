//! Ajustes de canales de comunicación: which channels the organisation uses and shows,
//! and who delivers each.

use crate::domain::conversation::Channel;

text_enum! {
    pub enum ProviderKind {
        /// Built in: accepts sends and answers with realistic callbacks, no account.
        Sandbox => ("sandbox", "Sandbox (pruebas)"),
        /// Any HTTP service speaking Recaudo's relay shape: POST {base}/messages with a
        /// bearer token, callbacks signed with the webhook secret.
        Relay => ("relay", "Relay HTTP"),
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
