//! Estrategias: segments, the main flow, events, campaigns, and running the scheduler.
//! Administrators only: they reach the whole portfolio.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::automation::{
    AutomationSettings, Campaign, CampaignInput, EventRule, EventRuleInput, Flow, FlowInput,
    PassReport,
};
use crate::domain::error::AppError;
use crate::domain::segments::{Rule, Segment, SegmentInput, SegmentOptions};

#[server(input = Json, endpoint = "list_segments")]
pub async fn list_segments() -> Result<Vec<Segment>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::segments::list(&state.db).await
}

#[server(input = Json, endpoint = "segment_choices")]
pub async fn segment_choices() -> Result<SegmentOptions, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::segments::options(&state.db).await
}

/// The live count of the builder: how many clients the rule holds today.
#[server(input = Json, endpoint = "count_segment")]
pub async fn count_segment(rule: Rule) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::segments::count(&state.db, &rule, &state.config.clock()).await
}

#[server(input = Json, endpoint = "save_segment")]
pub async fn save_segment(id: Option<i64>, input: SegmentInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::segments::save(&state.db, &viewer, id, input, crate::server::clock::now()).await
}

#[server(input = Json, endpoint = "delete_segment")]
pub async fn delete_segment(id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::segments::delete(&state.db, &viewer, id, crate::server::clock::now()).await
}

#[server(input = Json, endpoint = "list_flows")]
pub async fn list_flows() -> Result<Vec<Flow>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::automation::flows(&state.db).await
}

#[server(input = Json, endpoint = "save_flow")]
pub async fn save_flow(id: Option<i64>, input: FlowInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::save_flow(&state.db, &viewer, id, input, crate::server::clock::now())
        .await
}

#[server(input = Json, endpoint = "delete_flow")]
pub async fn delete_flow(id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::delete_flow(&state.db, &viewer, id, crate::server::clock::now())
        .await
}

#[server(input = Json, endpoint = "list_events")]
pub async fn list_events() -> Result<Vec<EventRule>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::automation::events(&state.db).await
}

#[server(input = Json, endpoint = "save_event")]
pub async fn save_event(id: Option<i64>, input: EventRuleInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::save_event(
        &state.db,
        &viewer,
        id,
        input,
        crate::server::clock::now(),
    )
    .await
}

#[server(input = Json, endpoint = "delete_event")]
pub async fn delete_event(id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::delete_event(&state.db, &viewer, id, crate::server::clock::now())
        .await
}

#[server(input = Json, endpoint = "list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<Campaign>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::automation::campaigns(&state.db, state.config.clock()).await
}

#[server(input = Json, endpoint = "create_campaign")]
pub async fn create_campaign(input: CampaignInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::create_campaign(&state.db, &viewer, input, state.config.clock())
        .await
}

/// Returns how many waiting messages were withdrawn.
#[server(input = Json, endpoint = "cancel_campaign")]
pub async fn cancel_campaign(id: i64) -> Result<u64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::cancel_campaign(&state.db, &viewer, id, crate::server::clock::now())
        .await
}

#[server(input = Json, endpoint = "load_automation_settings")]
pub async fn load_automation_settings() -> Result<AutomationSettings, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::automation::settings(&state.db).await
}

#[server(input = Json, endpoint = "save_automation_settings")]
pub async fn save_automation_settings(input: AutomationSettings) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    crate::server::automation::save_settings(&state.db, &viewer, input, crate::server::clock::now())
        .await
}

/// Runs one scheduler pass now, as the server does every minute.
#[server(input = Json, endpoint = "run_scheduler")]
pub async fn run_scheduler() -> Result<PassReport, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::automation::scheduler::run_once(
        &state.db,
        &state.config.sending(),
        state.config.clock(),
    )
    .await
}
