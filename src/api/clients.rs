use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::client::{ClientDetail, ClientInput};
use crate::domain::error::AppError;
use crate::domain::import::ImportSummary;
use crate::domain::listing::{ClientListQuery, ClientPage};
use crate::domain::user::Assignee;

#[server(input = Json, endpoint = "list_clients")]
pub async fn list_clients(query: ClientListQuery) -> Result<ClientPage, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::clients::list(&state.db, &viewer, &query, state.config.today()).await
}

#[server(input = Json, endpoint = "get_client")]
pub async fn get_client(id: i64) -> Result<ClientDetail, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::clients::get(&state.db, &viewer, id, state.config.clock()).await
}

/// Creates (`id` empty) or replaces a client; returns its id.
#[server(input = Json, endpoint = "save_client")]
pub async fn save_client(id: Option<i64>, input: ClientInput) -> Result<i64, AppError> {
    use crate::server::clients;
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let max_debts = state.config.max_debts_per_client;
    let valid = tokio::task::spawn_blocking(move || input.validate_within(max_debts))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::Invalid)?;
    let clock = state.config.clock();
    match id {
        None => clients::create(&state.db, &viewer, valid, clock).await,
        Some(id) => clients::update(&state.db, &viewer, id, valid, clock)
            .await
            .map(|()| id),
    }
}

/// Assigns the clients to an advisor or supervisor (`None`: unassign); returns how many.
#[server(input = Json, endpoint = "assign_clients")]
pub async fn assign_clients(ids: Vec<i64>, advisor_id: Option<i64>) -> Result<u64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::clients::assign(
        &state.db,
        &viewer,
        &ids,
        advisor_id,
        crate::server::clock::now(),
    )
    .await
}

/// The users the viewer may assign clients to.
#[server(input = Json, endpoint = "list_assignees")]
pub async fn list_assignees() -> Result<Vec<Assignee>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let all = crate::server::users::assignees(&state.db).await?;
    Ok(all
        .into_iter()
        .filter(|a| viewer.may_assign_to(a))
        .collect())
}

#[server(input = Json, endpoint = "import_portfolio")]
pub async fn import_portfolio(csv: String) -> Result<ImportSummary, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::admin()?;
    let config = &state.config;
    crate::server::import::import_csv(
        &state.db,
        &viewer,
        &csv,
        config.max_debts_per_client,
        config.clock(),
    )
    .await
}
