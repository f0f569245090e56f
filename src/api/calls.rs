//! Calls: the Llamadas tray, registering outcomes, promises and payments to verify.

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::calls::{CallCalendar, DeclareInput, QueuedPayment, ReviewInput};
use crate::domain::error::AppError;
use crate::domain::listing::{InboxPage, InboxQuery};
use crate::domain::outcome::OutcomeInput;

#[server(input = Json, endpoint = "calls_tray")]
pub async fn calls_tray(query: InboxQuery) -> Result<InboxPage, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::calls::calls_tray(&state.db, &viewer, &query, state.config.clock()).await
}

/// The days no call may be scheduled on, and today in the organisation's zone, for the
/// callback picker.
#[server(input = Json, endpoint = "calls_calendar")]
pub async fn calls_calendar() -> Result<(CallCalendar, NaiveDate), AppError> {
    let state = super::ctx::state()?;
    super::ctx::viewer()?;
    Ok((state.config.call_calendar.clone(), state.config.today()))
}

/// Registers a call's outcome for a client; returns the outcome's id.
#[server(input = Json, endpoint = "register_outcome")]
pub async fn register_outcome(client_id: i64, input: OutcomeInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let (config, clock) = (&state.config, state.config.clock());
    crate::server::conversations::recent::guard(
        &state.db,
        &viewer,
        client_id,
        input.despite_recent,
        config.recent_contact_minutes,
        clock,
    )
    .await?;
    let done = crate::server::calls::register(
        &state.db,
        &viewer,
        client_id,
        input,
        &config.call_calendar,
        clock,
    )
    .await?;
    Ok(done.outcome_id)
}

/// A promise or a payment to verify registered from the debt panel.
#[server(input = Json, endpoint = "declare")]
pub async fn declare(input: DeclareInput) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::calls::declare(&state.db, &viewer, input, state.config.clock()).await?;
    Ok(())
}

#[server(input = Json, endpoint = "payments_to_verify")]
pub async fn payments_to_verify() -> Result<Vec<QueuedPayment>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let approval = state.config.payment_approval();
    crate::server::calls::payments::queue(&state.db, &viewer, approval, state.config.clock()).await
}

#[server(input = Json, endpoint = "review_payment")]
pub async fn review_payment(input: ReviewInput) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let config = &state.config;
    crate::server::calls::payments::review(
        &state.db,
        &viewer,
        input,
        config.payment_approval(),
        config.promise_policy,
        config.clock(),
    )
    .await
}

/// "Llamar" through the organisation's telephony provider: rings the advisor's phone,
/// then the client's. Returns what the advisor should expect.
#[server(input = Json, endpoint = "click_to_call")]
pub async fn click_to_call(contact_point_id: i64) -> Result<String, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(AppError::internal)?;
    let dialled = crate::server::calls::dial::click_to_call(
        &state.db,
        &viewer,
        contact_point_id,
        &http,
        &state.config.origin(),
        state.config.clock(),
    )
    .await?;
    Ok(format!(
        "Tu teléfono ({}) va a sonar; al contestar te conectamos con {}.",
        dialled.advisor_phone, dialled.number
    ))
}
