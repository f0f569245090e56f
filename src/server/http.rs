//! The axum application: Leptos routes and server functions behind the session layer,
//! the conversation events, attachments and downloads; the providers' callbacks come
//! from `channels::routes`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, HOST, LOCATION, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::Duration;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::app::{shell, App};
use crate::domain::error::AppError;
use crate::domain::listing::ClientListQuery;
use crate::domain::user::Viewer;
use crate::server::auth::{self, SessionPolicy, SESSION_COOKIE};
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::{channels, conversations, downloads, tables};

/// The portfolio CSV and messages with attachments (base64 inside the server
/// function's JSON) are the large bodies.
const UPLOAD_BODY_BYTES: usize = 32 * 1024 * 1024;
/// A provider's callback, or a batch of them.
const WEBHOOK_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Every other request: a login, a filter, a form.
const SMALL_BODY_BYTES: usize = 256 * 1024;

/// The server functions that carry files.
const UPLOAD_ROUTES: [&str; 4] = [
    "/api/import_portfolio",
    "/api/reply",
    "/api/declare",
    "/api/register_outcome",
];
/// The public portal's declaration: one receipt (10 MB, in base64) and the form.
const PORTAL_DECLARE_BYTES: usize = 16 * 1024 * 1024;

/// The largest body a request to `path` may carry.
fn body_limit_for(path: &str) -> usize {
    if path == "/api/portal_declare" {
        PORTAL_DECLARE_BYTES
    } else if UPLOAD_ROUTES.contains(&path) {
        UPLOAD_BODY_BYTES
    } else if path.starts_with("/api/webhooks/") {
        WEBHOOK_BODY_BYTES
    } else {
        SMALL_BODY_BYTES
    }
}

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    /// What the public endpoints counted in this process.
    pub limits: Arc<crate::server::rate_limit::RateLimits>,
    /// This process's tail of the event stream.
    pub events: Arc<crate::server::events::Hub>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::minutes(self.config.session_idle_minutes),
            absolute: Duration::hours(self.config.session_absolute_hours),
        }
    }
}

/// The signed-in user of this request (`None` when anonymous), resolved once by the
/// session layer and read by server functions from the request parts.
#[derive(Clone, Debug)]
pub struct CurrentViewer(pub Option<Viewer>);

/// The raw session token, for logout.
#[derive(Clone, Debug)]
pub struct SessionToken(pub Option<String>);

/// The peer address, for the login rate limit.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// The listener every server of this binary accepts on. Its sockets send small writes at
/// once (`TCP_NODELAY`): a streamed page ends with a short write that otherwise waited
/// for the browser's delayed ACK, 40 ms on every page of a kept-alive connection.
pub fn listener(
    tcp: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    tcp.tap_io(no_delay)
}

fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::warn!(error = %e, "TCP_NODELAY could not be set");
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/api/events", axum::routing::get(events))
        .route(
            "/api/attachments/{id}",
            axum::routing::get(download_attachment),
        )
        .route(
            "/api/management-files/{id}",
            axum::routing::get(download_management_file),
        )
        .route("/api/clients/export", axum::routing::get(export_clients))
        .route(
            "/api/interactions/export",
            axum::routing::get(export_interactions),
        )
        .merge(channels::routes::router(
            state.db.clone(),
            state.config.origin(),
        ))
        .leptos_routes_with_context(&state, routes, || (), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session_layer,
        ))
        .layer(axum::middleware::from_fn(server_fn_status))
        .layer(axum::middleware::from_fn(body_limit))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(request_span))
        .with_state(state)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Cross-site state changes are refused. A browser sends `Origin` with every POST and
/// `Sec-Fetch-Site` with every request: the origin must be this site, scheme included.
/// A state change carrying neither comes from a program, and only two are expected:
/// the providers' callbacks (signed) and the mail clients' one-click unsubscribe
/// (carrying its token).
fn origin_allowed(headers: &HeaderMap, config: &Config, path: &str) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some(site) => site == "same-origin",
            None => {
                path.starts_with("/api/webhooks/")
                    || path.starts_with(channels::email::unsubscribe::PATH)
            }
        };
    };
    if let Some(public) = &config.public_origin {
        return origin == public;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let scheme = if config.secure_cookies {
        "https"
    } else {
        "http"
    };
    !host.is_empty() && origin == format!("{scheme}://{host}")
}

/// The address the login rate limit counts by. Behind a proxy (a public origin is
/// configured) every request comes from the proxy, so the address is the last entry of
/// `X-Forwarded-For`: the one the proxy appended, which the client cannot forge.
fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, behind_proxy: bool) -> String {
    let forwarded = behind_proxy
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()
        })
        .flatten()
        .map(str::trim)
        .filter(|ip| !ip.is_empty());
    match (forwarded, peer) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(peer)) => peer.ip().to_string(),
        (None, None) => "desconocida".to_string(),
    }
}

/// The compiled bundle and the files of `public/`.
fn is_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
        || (!path.starts_with("/api/") && path.rsplit('/').next().unwrap_or("").contains('.'))
}

/// The payment portal and the e-mail unsubscribe page: public, authorised by their
/// signed links.
fn is_public_page(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/pago/")
        || path.starts_with(channels::email::unsubscribe::PATH)
}

/// Page loads that need a session (not server functions, assets or public pages).
fn is_page(method: &Method, path: &str) -> bool {
    method == Method::GET && !path.starts_with("/api/") && !is_public_page(path) && !is_asset(path)
}

fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

async fn session_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !req.method().is_safe() && !origin_allowed(req.headers(), &state.config, req.uri().path()) {
        tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
        let error = AppError::Request("origen no permitido".into());
        return (StatusCode::FORBIDDEN, axum::Json(&error)).into_response();
    }
    // Assets need no viewer: resolving the session for them would cost a query each.
    if is_asset(req.uri().path()) {
        return next.run(req).await;
    }
    let token = cookie_value(req.headers(), SESSION_COOKIE);
    let viewer = match &token {
        Some(t) => {
            match auth::resolve_session(
                &state.db,
                state.session_policy(),
                t,
                crate::server::clock::now(),
            )
            .await
            {
                Ok(v) => v,
                Err(_) => {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "El servicio no está disponible. Inténtalo en unos minutos.",
                    )
                        .into_response()
                }
            }
        }
        None => None,
    };
    let path = req.uri().path().to_string();
    if viewer.is_none() && is_page(req.method(), &path) {
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        return redirect(&format!(
            "/login?next={}",
            crate::domain::url::encode(target)
        ));
    }
    if viewer.is_some() && path == "/login" && req.method() == Method::GET {
        return redirect("/");
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = client_ip(req.headers(), peer, state.config.public_origin.is_some());
    let extensions = req.extensions_mut();
    extensions.insert(CurrentViewer(viewer));
    extensions.insert(SessionToken(token));
    extensions.insert(ClientIp(ip));
    next.run(req).await
}

/// The status that says what kind of error this is, so that monitoring tells a refused
/// or mistaken request from a failure; the body keeps the Spanish message.
pub fn error_status(error: &AppError) -> StatusCode {
    match error {
        AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Invalid(_) | AppError::InvalidFile(..) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Request(_) => StatusCode::BAD_REQUEST,
        AppError::Conflict(_) | AppError::RecentlyAttended(_) => StatusCode::CONFLICT,
        AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The HTTP answer for a refused request outside the server functions.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (error_status(&self), self.to_string()).into_response()
    }
}

/// The largest server-function error body read to find its status: an error is a
/// sentence or a list of field messages, far below this.
const ERROR_BODY_BYTES: usize = 1024 * 1024;

/// Server functions answer every error with 500; here the error in the body decides
/// the status instead ([`error_status`]). Other responses pass untouched.
async fn server_fn_status(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let server_fn = req.method() == Method::POST
        && path.starts_with("/api/")
        && !path.starts_with("/api/webhooks/");
    let res = next.run(req).await;
    if !server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let size = axum::body::HttpBody::size_hint(&body).upper();
    if size.is_none_or(|n| n > ERROR_BODY_BYTES as u64) {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = error_status(&error);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn signed_in(viewer: CurrentViewer) -> Result<Viewer, AppError> {
    viewer.0.ok_or(AppError::Unauthenticated)
}

/// How long one event stream runs before the browser is asked to reconnect: each
/// reconnection passes the session check again, so a user signed out or deactivated
/// stops hearing of changes within this time.
const EVENT_STREAM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
/// How soon the browser reconnects after a stream ends or breaks.
const EVENT_STREAM_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// The signed-in user's event stream (see [`crate::server::events`]): `change` with the
/// client's id for every change they may see, each with its id, so that a browser that
/// reconnects with `Last-Event-ID` (or `?desde=` when it opens a new stream) is sent
/// every one it missed, in order; `reload` when those are no longer there.
async fn events(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<CurrentViewer>,
    headers: HeaderMap,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    use crate::server::events::{Next, Subscription};
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures::StreamExt;
    let viewer = signed_in(viewer)?;
    let last = match headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(params.get("desde").map(String::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::Request(format!("El último evento recibido («{v}») no es válido."))
        })?),
    };
    let subscription =
        Subscription::open(state.db.clone(), &state.events, viewer.read_scope(), last);
    let until = tokio::time::Instant::now() + EVENT_STREAM_LIFETIME;
    let first = Event::default().retry(EVENT_STREAM_RETRY).comment("");
    let stream = futures::stream::unfold(Some(subscription), move |sub| async move {
        let mut sub = sub?;
        let next = tokio::time::timeout_at(until, sub.next()).await.ok()?;
        let event = match next {
            Ok(Next::Event(e)) => Event::default()
                .id(e.id.to_string())
                .event("change")
                .data(e.client_id.to_string()),
            Ok(Next::Reload) => return Some((Event::default().event("reload").data(""), None)),
            Err(e) => {
                // The browser reconnects with its last id and misses nothing.
                tracing::warn!(error = %e, "event stream interrupted");
                return None;
            }
        };
        Some((event, Some(sub)))
    });
    let stream = futures::stream::once(async { first })
        .chain(stream)
        .map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// An attachment, always as a download: never rendered by the browser as a page.
async fn download_attachment(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<CurrentViewer>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let viewer = signed_in(viewer)?;
    let (file_name, content_type, content) =
        conversations::attachment(&state.db, &viewer, id, crate::server::clock::now()).await?;
    Ok(download(&file_name, &content_type, content))
}

/// A receipt or other file of an outcome or a payment, as a download.
async fn download_management_file(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<CurrentViewer>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let viewer = signed_in(viewer)?;
    let (file_name, content_type, content) =
        crate::server::calls::file(&state.db, &viewer, id, crate::server::clock::now()).await?;
    Ok(download(&file_name, &content_type, content))
}

/// The Clientes report (CSV or XLSX, `formato`), with the query string of the Clientes
/// screen. Written page by page as it streams, so a whole portfolio never sits in memory.
async fn export_clients(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<CurrentViewer>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    use crate::server::clients::export;
    let viewer = signed_in(viewer)?;
    let today = state.config.today();
    let token = params.get("descarga").map(String::as_str);
    let opened = async {
        let tracker = followed(&state.db, &viewer, token).await?;
        let format = tables::Format::parse(params.get("formato").map(String::as_str))?;
        let query = ClientListQuery::from_params(|k| params.get(k).cloned());
        let body = export::stream(&state.db, &viewer, &query, today, format, tracker).await?;
        Ok(streamed(format, &format!("clientes-{today}"), body))
    };
    told(&state.db, &viewer, token, opened.await).await
}

/// The Interacciones report (CSV or XLSX), with the query string of its screen: the same
/// filters and shown columns, every row of the period.
async fn export_interactions(
    State(state): State<AppState>,
    axum::Extension(viewer): axum::Extension<CurrentViewer>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    use crate::server::interactions::export;
    let viewer = signed_in(viewer)?;
    let clock = state.config.clock();
    let today = clock.today;
    let token = params.get("descarga").map(String::as_str);
    let opened = async {
        let tracker = followed(&state.db, &viewer, token).await?;
        let format = tables::Format::parse(params.get("formato").map(String::as_str))?;
        let query =
            crate::domain::interactions::InteractionQuery::from_params(|k| params.get(k).cloned())
                .map_err(|e| AppError::invalid("query", e))?;
        let body = export::stream(&state.db, &viewer, &query, clock, format, tracker).await?;
        Ok(streamed(format, &format!("interacciones-{today}"), body))
    };
    told(&state.db, &viewer, token, opened.await).await
}

/// The progress of a download whose page follows it (`descarga=<token>`).
async fn followed(
    db: &Db,
    viewer: &Viewer,
    token: Option<&str>,
) -> Result<Option<downloads::Tracker>, AppError> {
    match token {
        Some(token) => Ok(Some(downloads::Tracker::start(db, viewer, token).await?)),
        None => Ok(None),
    }
}

/// A followed download refused before its first byte: its page is told why, as the
/// browser, which saves the answer as a file, shows only that it failed.
async fn told(
    db: &Db,
    viewer: &Viewer,
    token: Option<&str>,
    opened: Result<Response, AppError>,
) -> Result<Response, AppError> {
    if let (Some(token), Err(e)) = (token, &opened) {
        if let Err(not) = downloads::refused(db, viewer, token, &e.to_string()).await {
            tracing::debug!(error = %not.reason(), "download refusal not recorded");
        }
    }
    opened
}

fn streamed(
    format: tables::Format,
    stem: &str,
    body: impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
) -> Response {
    let mut res = axum::body::Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let name = format!("attachment; filename=\"{stem}.{}\"", format.extension());
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    res
}

fn download(file_name: &str, content_type: &str, content: Vec<u8>) -> Response {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"");
    let mut res = content.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(axum::http::header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Every request runs in a span of its own, so that what a service logs (an internal
/// error's cause) says which request met it.
async fn request_span(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
    next.run(req).instrument(span).await
}

/// Refuses a body over its route's limit: at once when it declares its length, and as
/// soon as it streams past it otherwise, so nothing larger is ever buffered. Server
/// functions read their bodies without axum's extractors, so axum's own limit would
/// not reach them.
async fn body_limit(req: Request, next: Next) -> Response {
    let limit = body_limit_for(req.uri().path());
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let error = AppError::Request(format!(
            "el contenido enviado supera el máximo de {} KB.",
            limit / 1024
        ));
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(&error)).into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// The policy of every page: scripts only from this site or carrying the page's nonce
/// (the hydration script Leptos writes inline), WebAssembly allowed to compile, no
/// plugins, no `<base>`, no framing, and every fetch back to this site.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// What a response that is not an app page gets (files, data, the unsubscribe page):
/// it is never framed.
const NON_PAGE_POLICY: &str = "frame-ancestors 'none'";

/// Sets the page's Content-Security-Policy with the nonce Leptos gave this response.
/// Called while the page renders on the server.
pub fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce.to_string())) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let cacheable = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(CONTENT_SECURITY_POLICY) {
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_POLICY),
        );
    }
    if !cacheable {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn config(public_origin: Option<&str>) -> Config {
        let mut c = Config::defaults();
        c.public_origin = public_origin.map(str::to_string);
        c
    }

    #[test]
    fn each_kind_of_error_has_its_own_status() {
        let cases = [
            (AppError::Unauthenticated, 401),
            (AppError::BadCredentials, 401),
            (AppError::Forbidden, 403),
            (AppError::NotFound, 404),
            (AppError::Request("x".into()), 400),
            (AppError::invalid("a", "b".to_string()), 422),
            (AppError::InvalidFile(vec![], 0), 422),
            (AppError::Conflict("x".into()), 409),
            (AppError::RecentlyAttended("x".into()), 409),
            (AppError::RateLimited, 429),
            (AppError::internal("x"), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error_status(&error).as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn same_origin_posts_pass_and_cross_site_ones_do_not() {
        let c = config(None);
        let allowed = |pairs: &[(&str, &str)], c: &Config| {
            origin_allowed(&headers(pairs), c, "/api/assign_clients")
        };
        let site = ("host", "127.0.0.1:3000");
        assert!(allowed(&[("origin", "http://127.0.0.1:3000"), site], &c));
        assert!(!allowed(&[("origin", "http://evil.example"), site], &c));
        assert!(!allowed(&[("origin", "null"), site], &c));
        assert!(
            !allowed(&[("origin", "https://127.0.0.1:3000"), site], &c),
            "the scheme counts"
        );
        assert!(!allowed(&[("sec-fetch-site", "cross-site")], &c));
        assert!(!allowed(&[("sec-fetch-site", "same-site")], &c));
        assert!(allowed(&[("sec-fetch-site", "same-origin")], &c));
        assert!(
            !allowed(&[site], &c),
            "a state change with neither header is not a browser's"
        );
        for machine in ["/api/webhooks/twilio/sms", "/baja/tok"] {
            assert!(
                origin_allowed(&headers(&[site]), &c, machine),
                "{machine}: providers and mail clients send neither"
            );
        }
        assert!(!origin_allowed(
            &headers(&[("origin", "http://evil.example")]),
            &c,
            "/api/webhooks/twilio/sms"
        ));
        let behind_proxy = config(Some("https://cobranzas.example"));
        assert!(allowed(
            &[
                ("origin", "https://cobranzas.example"),
                ("host", "10.0.0.5")
            ],
            &behind_proxy
        ));
        assert!(!allowed(
            &[("origin", "http://cobranzas.example"), ("host", "10.0.0.5")],
            &behind_proxy
        ));
        let mut tls = config(None);
        tls.secure_cookies = true;
        assert!(allowed(&[("origin", "https://127.0.0.1:3000"), site], &tls));
        assert!(!allowed(&[("origin", "http://127.0.0.1:3000"), site], &tls));
    }

    #[test]
    fn behind_a_proxy_the_proxys_own_forwarded_entry_counts() {
        let peer: Option<SocketAddr> = Some("10.0.0.5:41000".parse().unwrap());
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 200.1.1.7")]);
        assert_eq!(client_ip(&h, peer, true), "200.1.1.7");
        assert_eq!(
            client_ip(&h, peer, false),
            "10.0.0.5",
            "not behind a proxy: the header is ignored"
        );
        assert_eq!(client_ip(&headers(&[]), peer, true), "10.0.0.5");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; recaudo_session=tok; b=2")]);
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(
            cookie_value(&headers(&[("cookie", "recaudo_session=")]), SESSION_COOKIE),
            None
        );
    }

    #[test]
    fn only_page_loads_redirect_to_login() {
        assert!(is_page(&Method::GET, "/clientes"));
        assert!(is_page(&Method::GET, "/clientes/12"));
        assert!(!is_page(&Method::GET, "/login"));
        assert!(!is_page(&Method::POST, "/clientes"));
        assert!(!is_page(&Method::GET, "/api/list_clients"));
        assert!(!is_page(&Method::GET, "/pkg/recaudo.wasm"));
        assert!(!is_page(&Method::GET, "/favicon.svg"));
        assert!(is_asset("/pkg/recaudo.wasm") && is_asset("/plantilla-cartera.csv"));
        assert!(!is_asset("/api/clients/export.csv"));
        assert!(!is_asset("/clientes/12") && !is_asset("/api/get_client"));
    }
}
