use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::error::AppError;
use crate::domain::user::{LoginAlert, User, UserInput};

#[server(input = Json, endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::users::list(&state.db).await
}

/// Accounts with repeated failed logins, for the administrators.
#[server(input = Json, endpoint = "login_alerts")]
pub async fn login_alerts() -> Result<Vec<LoginAlert>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::auth::login_alerts(&state.db, state.config.clock()).await
}

#[server(input = Json, endpoint = "get_user")]
pub async fn get_user(id: i64) -> Result<User, AppError> {
    let state = super::ctx::state()?;
    super::ctx::admin()?;
    crate::server::users::get(&state.db, id).await
}

/// Creates (`id` empty) or edits a user.
#[server(input = Json, endpoint = "save_user")]
pub async fn save_user(id: Option<i64>, input: UserInput) -> Result<User, AppError> {
    use crate::server::users;
    let state = super::ctx::state()?;
    let admin = super::ctx::admin()?;
    let valid = input.validate(id.is_none()).map_err(AppError::Invalid)?;
    let now = crate::server::clock::now();
    match id {
        None => users::create(&state.db, Some(admin.user_id), valid, false, now).await,
        Some(id) => users::update(&state.db, &admin, id, valid, now).await,
    }
}
