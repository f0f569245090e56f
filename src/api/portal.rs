//! The payment portal's server functions: public, authorised by the signed link alone.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::calls::DeclareInput;
use crate::domain::error::AppError;
use crate::domain::portal::PortalPage;

/// Opens the page of the link's client, recording the visit.
/// What the page shows; records nothing (see `portal_visit`).
#[server(input = Json, endpoint = "portal_open")]
pub async fn portal_open(token: String) -> Result<PortalPage, AppError> {
    let state = super::ctx::state()?;
    limited(&state, &token)?;
    let config = &state.config;
    let (_, page) = crate::server::portal::open(
        &state.db,
        &token,
        &config.payment_instructions,
        config.clock(),
    )
    .await?;
    Ok(page)
}

/// The page, running in the debtor's browser, records the visit; returns its id.
#[server(input = Json, endpoint = "portal_visit")]
pub async fn portal_visit(token: String) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    limited(&state, &token)?;
    crate::server::portal::visit(
        &state.db,
        &token,
        &super::ctx::user_agent(),
        crate::server::clock::now(),
    )
    .await
}

/// Requests a link and an address may make to the portal in a minute: a debtor reading
/// and declaring needs a handful; more is a robot or an attack.
#[cfg(feature = "ssr")]
const PER_LINK_PER_MINUTE: u32 = 30;
#[cfg(feature = "ssr")]
const PER_ADDRESS_PER_MINUTE: u32 = 120;

#[cfg(feature = "ssr")]
fn limited(state: &crate::server::http::AppState, token: &str) -> Result<(), AppError> {
    let now = std::time::Instant::now();
    let address = super::ctx::client_ip();
    let allowed = state
        .limits
        .allow(&format!("portal-link:{token}"), PER_LINK_PER_MINUTE, now)
        && state.limits.allow(
            &format!("portal-address:{address}"),
            PER_ADDRESS_PER_MINUTE,
            now,
        );
    if allowed {
        Ok(())
    } else {
        Err(AppError::RateLimited)
    }
}

/// The debtor looked at the debt's detail.
#[server(input = Json, endpoint = "portal_viewed_debt")]
pub async fn portal_viewed_debt(token: String, visit_id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    limited(&state, &token)?;
    crate::server::portal::step(
        &state.db,
        &token,
        visit_id,
        crate::domain::message::VisitState::ViewedDebt,
        crate::server::clock::now(),
    )
    .await?;
    Ok(())
}

/// The debtor declares a payment (with its receipt) or a promise.
#[server(input = Json, endpoint = "portal_declare")]
pub async fn portal_declare(
    token: String,
    visit_id: i64,
    input: DeclareInput,
) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    limited(&state, &token)?;
    crate::server::portal::declare(&state.db, &token, visit_id, input, state.config.clock())
        .await?;
    Ok(())
}
