use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::error::AppError;
use crate::domain::user::Viewer;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub viewer: Viewer,
    pub refresh_interval_secs: u64,
}

#[server(endpoint = "current_session")]
pub async fn current_session() -> Result<SessionInfo, AppError> {
    let state = super::ctx::state()?;
    Ok(SessionInfo {
        viewer: super::ctx::viewer()?,
        refresh_interval_secs: state.config.refresh_interval_secs,
    })
}

/// Opens a session and returns where to go next.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: String) -> Result<String, AppError> {
    use crate::server::auth;
    let mut missing = Vec::new();
    if email.trim().is_empty() {
        missing.push(crate::domain::error::FieldError::new(
            "email",
            "Escribe tu correo.",
        ));
    }
    if password.is_empty() {
        missing.push(crate::domain::error::FieldError::new(
            "password",
            "Escribe tu contraseña.",
        ));
    }
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    let state = super::ctx::state()?;
    let policy = state.session_policy();
    let token = auth::login(
        &state.db,
        policy,
        &email,
        &password,
        &super::ctx::client_ip(),
        crate::server::clock::now(),
    )
    .await?;
    let cookie = auth::session_cookie(Some(&token), policy, state.config.secure_cookies);
    set_cookie(&cookie)?;
    Ok(super::safe_next(&next))
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::auth;
    let state = super::ctx::state()?;
    if let Some(token) = super::ctx::session_token() {
        auth::logout(&state.db, &token).await?;
    }
    set_cookie(&auth::session_cookie(
        None,
        state.session_policy(),
        state.config.secure_cookies,
    ))
}

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) -> Result<(), AppError> {
    use http::header::{HeaderValue, SET_COOKIE};
    let response = use_context::<leptos_axum::ResponseOptions>()
        .ok_or_else(|| AppError::internal("response options missing from the server function"))?;
    let value = HeaderValue::from_str(value).map_err(AppError::internal)?;
    response.append_header(SET_COOKIE, value);
    Ok(())
}
