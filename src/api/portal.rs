//! The payment portal's server functions: public, authorised by the signed link alone.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::calls::DeclareInput;
use crate::domain::error::AppError;
use crate::domain::portal::PortalPage;

/// Opens the page of the link's client, recording the visit.
#[server(input = Json, endpoint = "portal_open")]
pub async fn portal_open(token: String) -> Result<PortalPage, AppError> {
    let state = super::ctx::state()?;
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

/// The debtor looked at the debt's detail.
#[server(input = Json, endpoint = "portal_viewed_debt")]
pub async fn portal_viewed_debt(token: String, visit_id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
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
    crate::server::portal::declare(&state.db, &token, visit_id, input, state.config.clock())
        .await?;
    Ok(())
}
