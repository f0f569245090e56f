//! Alerts: lifting a flag by hand.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::alerts::LiftInput;
use crate::domain::error::AppError;

/// Lifts a client's flag, with the reason; audited.
#[server(input = Json, endpoint = "lift_alert")]
pub async fn lift_alert(input: LiftInput) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::alerts::lift(&state.db, &viewer, &input, crate::server::clock::now()).await
}
