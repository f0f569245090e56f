//! Estrategias → Plantillas.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::error::AppError;
use crate::domain::templates::{Preview, Template, TemplateInput};

#[server(input = Json, endpoint = "list_templates")]
pub async fn list_templates() -> Result<Vec<Template>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::viewer()?;
    crate::server::templates::list(&state.db).await
}

/// Creates (`id` None) or changes a template; returns its id.
#[server(input = Json, endpoint = "save_template")]
pub async fn save_template(id: Option<i64>, input: TemplateInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::templates::save(&state.db, &viewer, id, input, crate::server::clock::now()).await
}

#[server(input = Json, endpoint = "delete_template")]
pub async fn delete_template(id: i64) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::templates::delete(&state.db, &viewer, id, crate::server::clock::now()).await
}

/// The text with a real client's values, as the form is typed.
#[server(input = Json, endpoint = "preview_template")]
pub async fn preview_template(
    subject: String,
    body: String,
    client_id: Option<i64>,
) -> Result<Preview, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::templates::preview(
        &state.db,
        &viewer,
        &subject,
        &body,
        client_id,
        &state.config.sending(),
        state.config.clock(),
    )
    .await
}
