//! Each channel's settings, and the providers that deliver what the outbox holds.

pub mod outbox;
pub mod providers;
pub mod webhooks;

use crate::domain::channels::ProviderKind;
use crate::domain::compose::OrgChannel;
use crate::domain::conversation::Channel;
use crate::domain::error::AppError;
use crate::on_db;
use crate::server::db::{decode, Db};

/// A channel's stored settings, secrets included: server side only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSetting {
    pub channel: Channel,
    pub active: bool,
    pub visible: bool,
    pub provider: Option<ProviderKind>,
    pub base_url: String,
    pub sender: String,
    pub secret: String,
    pub webhook_secret: String,
}

type SettingRow = (
    String,
    bool,
    bool,
    Option<String>,
    String,
    String,
    String,
    String,
);

pub async fn load_all(db: &Db) -> Result<Vec<ChannelSetting>, AppError> {
    let rows: Vec<SettingRow> = on_db!(db, p => sqlx::query_as(
        "SELECT channel, active, visible, provider, base_url, sender, secret, webhook_secret
         FROM channel_settings ORDER BY channel")
        .fetch_all(p).await)?;
    rows.into_iter()
        .map(
            |(channel, active, visible, provider, base_url, sender, secret, webhook_secret)| {
                Ok(ChannelSetting {
                    channel: decode("channel", &channel)?,
                    active,
                    visible,
                    provider: provider
                        .as_deref()
                        .map(|p| decode("provider", p))
                        .transpose()?,
                    base_url,
                    sender,
                    secret,
                    webhook_secret,
                })
            },
        )
        .collect()
}

/// The provider that delivers a channel: the configured one, or in demo mode the
/// sandbox when none is.
pub fn effective_provider(setting: &ChannelSetting, demo: bool) -> Option<ProviderKind> {
    setting.provider.or(demo.then_some(ProviderKind::Sandbox))
}

/// The settings as the composer weighs them.
pub fn org_channels(settings: &[ChannelSetting], demo: bool) -> Vec<OrgChannel> {
    settings
        .iter()
        .map(|s| OrgChannel {
            channel: s.channel,
            active: s.active,
            visible: s.visible,
            configured: effective_provider(s, demo).is_some(),
        })
        .collect()
}

/// The key the sandbox signs its callbacks with.
pub const SANDBOX_KEY: &str = "sandbox_webhook";

/// A key the server signs with, created on first use. Every process reads the same
/// one: the insert that loses a race leaves the winner's.
pub async fn secret(db: &Db, name: &str) -> Result<Vec<u8>, AppError> {
    use rand::RngCore;
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    on_db!(db, p => sqlx::query(
        "INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name).bind(&hex).execute(p).await.map(|r| r.rows_affected()))?;
    let (value,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT value FROM app_secrets WHERE name = $1").bind(name).fetch_one(p).await)?;
    Ok(value.into_bytes())
}
