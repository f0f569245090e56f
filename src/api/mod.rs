//! Server functions: the API. Each one reads the viewer, calls a service and returns
//! domain types; none builds SQL. Endpoints are fixed (`/api/<name>`) so that other
//! clients and the tests can call them.

pub mod alerts;
pub mod auth;
pub mod automation;
pub mod calls;
pub mod channels;
pub mod clients;
pub mod conversations;
pub mod policies;
pub mod portal;
pub mod reports;
pub mod templates;
pub mod users;

/// Where to go after logging in: only paths of this site, never another host. A
/// browser drops tabs and line breaks from a URL before reading it, so "/\t/host"
/// would become "//host": no control character or blank is let through anywhere.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next != "/login";
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use leptos::prelude::use_context;

    use crate::domain::error::AppError;
    use crate::domain::user::Viewer;
    use crate::server::http::{AppState, ClientIp, CurrentViewer, SessionToken};

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            AppError::internal("application state missing from the server function context")
        })
    }

    fn parts() -> Result<http::request::Parts, AppError> {
        use_context::<http::request::Parts>().ok_or_else(|| {
            AppError::internal("request parts missing from the server function context")
        })
    }

    pub fn viewer() -> Result<Viewer, AppError> {
        parts()?
            .extensions
            .get::<CurrentViewer>()
            .and_then(|c| c.0.clone())
            .ok_or(AppError::Unauthenticated)
    }

    pub fn admin() -> Result<Viewer, AppError> {
        let v = viewer()?;
        if v.is_admin() {
            Ok(v)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn session_token() -> Option<String> {
        parts()
            .ok()?
            .extensions
            .get::<SessionToken>()
            .and_then(|t| t.0.clone())
    }

    /// The request's `User-Agent`, empty when it has none.
    pub fn user_agent() -> String {
        parts()
            .ok()
            .and_then(|p| {
                p.headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }

    pub fn client_ip() -> String {
        parts()
            .ok()
            .and_then(|p| p.extensions.get::<ClientIp>().map(|ip| ip.0.clone()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next("/clientes?q=ana"), "/clientes?q=ana");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
            "clientes",
            "/login",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/clientes\u{0}",
            "/\u{a0}/evil.example",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
