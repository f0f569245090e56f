//! Interacciones and Indicadores de gestión: every user reads their own portfolio's.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::downloads::DownloadProgress;
use crate::domain::error::AppError;
use crate::domain::indicators::{IndicatorQuery, Indicators};
use crate::domain::interactions::{InteractionChoices, InteractionPage, InteractionQuery};

#[server(input = Json, endpoint = "list_interactions")]
pub async fn list_interactions(query: InteractionQuery) -> Result<InteractionPage, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::interactions::page(&state.db, &viewer, &query, state.config.clock()).await
}

/// The advisors, supervisors and segments the report's filters offer this viewer.
#[server(input = Json, endpoint = "report_choices")]
pub async fn report_choices() -> Result<InteractionChoices, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::interactions::choices(&state.db, &viewer).await
}

#[server(input = Json, endpoint = "load_indicators")]
pub async fn load_indicators(query: IndicatorQuery) -> Result<Indicators, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::indicators::indicators(&state.db, &viewer, &query, state.config.clock()).await
}

/// How far the viewer's download under `token` has got; `None` until its server starts it.
#[server(input = Json, endpoint = "download_status")]
pub async fn download_status(token: String) -> Result<Option<DownloadProgress>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::downloads::progress(&state.db, &viewer, &token).await
}
