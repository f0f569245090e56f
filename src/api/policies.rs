//! Ajustes › Política de contacto.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::error::AppError;
use crate::domain::governance::{Policy, PolicyDetail, PolicySummary};

#[server(input = Json, endpoint = "contact_policies")]
pub async fn contact_policies() -> Result<Vec<PolicySummary>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::governance::summaries(&state.db, &viewer, state.config.clock()).await
}

#[server(input = Json, endpoint = "contact_policy")]
pub async fn contact_policy(country: String) -> Result<PolicyDetail, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::governance::detail(&state.db, &viewer, &country, state.config.clock()).await
}

#[server(input = Json, endpoint = "save_contact_policy")]
pub async fn save_contact_policy(policy: Policy) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::governance::save(&state.db, &viewer, policy, state.config.clock().now).await
}

#[server(input = Json, endpoint = "reset_contact_policy")]
pub async fn reset_contact_policy(country: String) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::governance::reset(&state.db, &viewer, &country, state.config.clock().now).await
}

#[server(input = Json, endpoint = "add_holiday")]
pub async fn add_holiday(country: String, day: String, name: String) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let now = state.config.clock().now;
    crate::server::governance::add_holiday(&state.db, &viewer, &country, &day, &name, now).await
}

#[server(input = Json, endpoint = "delete_holiday")]
pub async fn delete_holiday(country: String, day: chrono::NaiveDate) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let now = state.config.clock().now;
    crate::server::governance::delete_holiday(&state.db, &viewer, &country, day, now).await
}
