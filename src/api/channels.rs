//! Ajustes de canales de comunicación (administrators).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::channels::{ChannelSettingInput, ChannelSettingView};
use crate::domain::error::AppError;

#[server(input = Json, endpoint = "channel_settings")]
pub async fn channel_settings() -> Result<Vec<ChannelSettingView>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::channels::views(&state.db, &viewer, &state.config.origin()).await
}

#[server(input = Json, endpoint = "save_channel_setting")]
pub async fn save_channel_setting(input: ChannelSettingInput) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    let demo = state.config.demo;
    crate::server::channels::save(&state.db, &viewer, input, demo, crate::server::clock::now())
        .await
}

/// "Probar conexión": the channel's credentials checked against its provider.
#[server(input = Json, endpoint = "probe_channel")]
pub async fn probe_channel(channel: crate::domain::message::Channel) -> Result<String, AppError> {
    use crate::server::channels::providers::{Providers, Sandbox};
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    let sandbox = Sandbox {
        callback_url: String::new(),
        key: Vec::new(),
        delay: (0.0, 0.0),
    };
    let providers = Providers::new(
        std::time::Duration::from_secs(10),
        state.config.demo,
        sandbox,
    );
    crate::server::channels::probe(&state.db, &viewer, channel, &providers).await
}
