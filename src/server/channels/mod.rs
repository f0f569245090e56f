//! Each channel's settings, the providers that deliver what the outbox holds (and the
//! dispatcher that hands it to them), and the providers' callbacks.

pub mod dispatcher;
pub mod email;
pub mod providers;
pub mod routes;
pub mod twilio;
pub mod voice;
pub mod webhooks;
pub mod whatsapp;

use chrono::{DateTime, Utc};

use crate::domain::channels::{hint, ChannelSettingInput, ChannelSettingView, ProviderKind};
use crate::domain::compose::OrgChannel;
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::domain::user::Viewer;
use crate::server::audit;
use crate::server::db::Db;
use crate::{on_db, on_tx};

/// A channel's stored settings, secrets included: server side only.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelSetting {
    pub channel: Channel,
    pub active: bool,
    pub visible: bool,
    pub provider: Option<ProviderKind>,
    pub base_url: String,
    pub sender: String,
    pub secret: String,
    pub webhook_secret: String,
    pub inbound_url: String,
}

const SETTING_COLUMNS: &str = "channel, active, visible, provider, base_url, sender, secret, \
    webhook_secret, inbound_url";

#[tracing::instrument(skip_all)]
pub async fn load_all(db: &Db) -> Result<Vec<ChannelSetting>, AppError> {
    let sql = format!("SELECT {SETTING_COLUMNS} FROM channel_settings ORDER BY channel");
    let rows: Vec<ChannelSetting> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    rows.into_iter().map(|s| opened(db, s)).collect()
}

/// A setting with its secrets as the providers take them.
fn opened(db: &Db, mut setting: ChannelSetting) -> Result<ChannelSetting, AppError> {
    setting.secret = db.sealer().open(&setting.secret)?;
    setting.webhook_secret = db.sealer().open(&setting.webhook_secret)?;
    Ok(setting)
}

/// One channel's settings: what a webhook or a single action needs, in one row's read.
#[tracing::instrument(skip_all)]
pub async fn load(db: &Db, channel: Channel) -> Result<ChannelSetting, AppError> {
    let sql = format!("SELECT {SETTING_COLUMNS} FROM channel_settings WHERE channel = $1");
    let row: Option<ChannelSetting> = on_db!(db, p => sqlx::query_as(&sql)
        .bind(channel).fetch_optional(p).await)?;
    opened(db, row.ok_or(AppError::NotFound)?)
}

/// The settings page's view: secrets as hints only. Administrators only.
#[tracing::instrument(skip_all)]
pub async fn views(
    db: &Db,
    viewer: &Viewer,
    origin: &str,
) -> Result<Vec<ChannelSettingView>, AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let verify_key = secret(db, WHATSAPP_VERIFY_KEY).await?;
    let mut out: Vec<ChannelSettingView> = load_all(db)
        .await?
        .into_iter()
        .map(|s| ChannelSettingView {
            meta_webhook: matches!(s.channel, Channel::WhatsApp | Channel::WhatsAppBusiness).then(
                || {
                    (
                        format!("{origin}/api/webhooks/whatsapp/{}", s.channel.as_str()),
                        whatsapp::verify_token(&verify_key, s.channel),
                    )
                },
            ),
            webhook_url: format!("{origin}/api/webhooks/relay/{}", s.channel.as_str()),
            channel: s.channel,
            active: s.active,
            visible: s.visible,
            provider: s.provider,
            base_url: s.base_url,
            inbound_url: s.inbound_url,
            sender: s.sender,
            secret_hint: hint(&s.secret),
            webhook_secret_hint: hint(&s.webhook_secret),
        })
        .collect();
    out.sort_by_key(|v| {
        crate::domain::channels::SETTING_CHANNELS
            .iter()
            .position(|c| *c == v.channel)
    });
    Ok(out)
}

/// Saves one channel's settings; an empty secret keeps the stored one. Audited without
/// the secrets.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    viewer: &Viewer,
    input: ChannelSettingInput,
    demo: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    if input.provider == Some(ProviderKind::Sandbox) && !demo {
        return Err(AppError::invalid(
            "provider",
            "El proveedor Sandbox (pruebas) solo se elige en modo demostración: sus mensajes no llegan a nadie.",
        ));
    }
    let stored = load(db, input.channel).await?;
    input
        .validate(!stored.secret.is_empty(), !stored.webhook_secret.is_empty())
        .map_err(AppError::Invalid)?;
    let keep = |new: &str, old: String| {
        let new = new.trim();
        if new.is_empty() {
            old
        } else {
            new.to_string()
        }
    };
    let secret = db.sealer().seal(&keep(&input.secret, stored.secret));
    let webhook_secret = db
        .sealer()
        .seal(&keep(&input.webhook_secret, stored.webhook_secret));
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE channel_settings SET active = $2, visible = $3, provider = $4, base_url = $5, sender = $6,
            secret = $7, webhook_secret = $8, updated_at = $9, updated_by = $10, inbound_url = $11
         WHERE channel = $1")
        .bind(input.channel.as_str()).bind(input.active).bind(input.visible)
        .bind(input.provider.map(ProviderKind::as_str)).bind(input.base_url.trim()).bind(input.sender.trim())
        .bind(&secret).bind(&webhook_secret).bind(now).bind(viewer.user_id).bind(input.inbound_url.trim())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "channel.settings",
        &format!("channel:{}", input.channel.as_str()),
        &format!(
            "active={} visible={} provider={}",
            input.active,
            input.visible,
            input.provider.map_or("none", ProviderKind::as_str)
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// "Probar conexión" for a channel, administrators only: `Ok` with what the provider
/// said, or `Invalid` with its refusal.
#[tracing::instrument(skip_all)]
pub async fn probe(
    db: &Db,
    viewer: &Viewer,
    channel: Channel,
    providers: &providers::Providers,
) -> Result<String, AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let setting = load(db, channel).await?;
    providers
        .probe(&setting)
        .await
        .map_err(|e| AppError::invalid("probe", e))
}

/// The provider that delivers a channel: the configured one, or in demo mode the
/// sandbox when none is.
pub fn effective_provider(setting: &ChannelSetting, demo: bool) -> Option<ProviderKind> {
    // A sandbox chosen while in demo mode sends nothing once the demo is over.
    let chosen = setting
        .provider
        .filter(|p| demo || *p != ProviderKind::Sandbox);
    chosen.or(demo.then_some(ProviderKind::Sandbox))
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

/// The key WhatsApp verify tokens are derived from.
pub const WHATSAPP_VERIFY_KEY: &str = "whatsapp_verify";

/// The key the sandbox signs its callbacks with.
pub const SANDBOX_KEY: &str = "sandbox_webhook";

/// A key the server signs with, created on first use. Every process reads the same
/// one: the insert that loses a race leaves the winner's.
#[tracing::instrument(skip_all)]
pub async fn secret(db: &Db, name: &str) -> Result<Vec<u8>, AppError> {
    use rand::RngCore;
    let read = || async {
        let found: Option<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT value FROM app_secrets WHERE name = $1").bind(name).fetch_optional(p).await)?;
        found
            .map(|(v,)| db.sealer().open(&v).map(String::into_bytes))
            .transpose()
    };
    if let Some(key) = read().await? {
        return Ok(key);
    }
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    let sealed = db.sealer().seal(&crate::server::signing::hex(&fresh));
    on_db!(db, p => sqlx::query(
        "INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name).bind(&sealed).execute(p).await.map(|r| r.rows_affected()))?;
    read()
        .await?
        .ok_or_else(|| AppError::internal(format!("secret {name} missing after its insert")))
}
