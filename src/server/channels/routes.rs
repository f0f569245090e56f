//! The providers' callbacks over HTTP: every route checks the provider's signature
//! before it reads anything, applies the callback and acknowledges it only once it is
//! stored. Merged into the application by `http::router`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::email::mime::escape;
use super::email::unsubscribe;
use super::webhooks::{self, Callback, SIGNATURE_HEADER};
use super::{secret, twilio, voice, whatsapp, WHATSAPP_VERIFY_KEY};
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::server::db::Db;

/// What the callbacks need: the database, and the origin providers call this app at
/// (Twilio signs the URL it called).
#[derive(Clone)]
struct Webhooks {
    db: Db,
    origin: String,
}

/// The routes of every provider's callbacks, for an app reached at `origin`.
pub fn router<S: Clone + Send + Sync + 'static>(db: Db, origin: String) -> Router<S> {
    Router::new()
        .route("/api/webhooks/sandbox", post(sandbox_webhook))
        .route("/api/webhooks/relay/{channel}", post(relay_webhook))
        .route("/api/webhooks/twilio/sms", post(twilio_webhook))
        .route("/api/webhooks/twilio/voice", post(twilio_voice_status))
        .route("/api/webhooks/twilio/voice/dial", post(twilio_voice_dial))
        .route(
            "/api/webhooks/whatsapp/{channel}",
            get(whatsapp_handshake).post(whatsapp_webhook),
        )
        .route(
            &format!("{}{{token}}", unsubscribe::PATH),
            get(unsubscribe_page).post(unsubscribe_post),
        )
        .with_state(Webhooks { db, origin })
}

/// A small page of its own: the debtor is not signed in and may be on any mail client.
fn unsubscribe_html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Baja de correos de cobranza</title></head><body><main>\
         <h1>Baja de correos de cobranza</h1>{body}</main></body></html>"
    );
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// The link opened in a browser: it asks before acting, because mail scanners open
/// links on their own and must not unsubscribe anybody.
async fn unsubscribe_page(
    State(state): State<Webhooks>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    let key = match unsubscribe::key(&state.db).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    match unsubscribe::check(&key, &token) {
        None => unsubscribe_html(
            StatusCode::NOT_FOUND,
            "<p>El enlace de baja no es válido. Responde al correo pidiendo la baja.</p>",
        ),
        Some(address) => unsubscribe_html(
            StatusCode::OK,
            &format!(
                "<p>Dejarás de recibir correos de cobranza en <strong>{}</strong>.</p>\
                 <form method=\"post\"><button type=\"submit\">Confirmar la baja</button></form>",
                escape(&address)
            ),
        ),
    }
}

/// The one-click POST of the mail client, or the page's button.
async fn unsubscribe_post(
    State(state): State<Webhooks>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    match unsubscribe::apply(&state.db, &token, crate::server::clock::now()).await {
        Ok(address) => unsubscribe_html(
            StatusCode::OK,
            &format!(
                "<p>Listo: no enviaremos más correos de cobranza a <strong>{}</strong>.</p>",
                escape(&address)
            ),
        ),
        Err(AppError::Invalid(_)) => unsubscribe_html(
            StatusCode::NOT_FOUND,
            "<p>El enlace de baja no es válido. Responde al correo pidiendo la baja.</p>",
        ),
        Err(e) => e.into_response(),
    }
}

/// A provider's callback: checked against `key` before anything is read, applied, and
/// acknowledged only once stored.
async fn webhook(
    state: &Webhooks,
    endpoint: Option<Channel>,
    key: &[u8],
    signature_header: &str,
    headers: &HeaderMap,
    body: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<Callback, String>,
) -> Response {
    let signature = headers.get(signature_header).and_then(|v| v.to_str().ok());
    if !crate::server::signing::verify(key, body, signature) {
        return (StatusCode::UNAUTHORIZED, "Firma inválida.").into_response();
    }
    applied(state, endpoint, parse(body)).await
}

/// The secret a channel's provider signs its callbacks with.
async fn webhook_secret(state: &Webhooks, channel: Channel) -> Result<Vec<u8>, AppError> {
    Ok(super::load(&state.db, channel)
        .await?
        .webhook_secret
        .into_bytes())
}

/// Applies a verified callback and answers the provider: 200 only once it is stored.
async fn applied(
    state: &Webhooks,
    endpoint: Option<Channel>,
    parsed: Result<Callback, String>,
) -> Response {
    let callback = match parsed {
        Ok(c) => c,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("Cuerpo inválido: {e}")).into_response()
        }
    };
    match webhooks::apply(&state.db, callback, endpoint, crate::server::clock::now()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn sandbox_webhook(
    State(state): State<Webhooks>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match super::secret(&state.db, super::SANDBOX_KEY).await {
        Ok(key) => {
            webhook(
                &state,
                None,
                &key,
                SIGNATURE_HEADER,
                &headers,
                &body,
                own_shape,
            )
            .await
        }
        Err(e) => e.into_response(),
    }
}

/// Callbacks of a channel's relay provider, signed with that channel's webhook secret.
async fn relay_webhook(
    State(state): State<Webhooks>,
    axum::extract::Path(channel): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // An unknown channel has no secret: its callbacks fail the signature check.
    let (endpoint, key) = match channel.parse() {
        Ok(channel) => match webhook_secret(&state, channel).await {
            Ok(key) => (Some(channel), key),
            Err(e) => return e.into_response(),
        },
        Err(_) => (None, Vec::new()),
    };
    webhook(
        &state,
        endpoint,
        &key,
        SIGNATURE_HEADER,
        &headers,
        &body,
        own_shape,
    )
    .await
}

/// The callbacks of the sandbox and the relay: Recaudo's own shape.
fn own_shape(body: &[u8]) -> Result<Callback, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn whatsapp_channel(name: &str) -> Result<Channel, AppError> {
    use Channel;
    match name.parse::<Channel>() {
        Ok(c @ (Channel::WhatsApp | Channel::WhatsAppBusiness)) => Ok(c),
        _ => Err(AppError::NotFound),
    }
}

/// A Twilio callback for `channel`, signed with that channel's auth token over the
/// public URL it called, applied once verified.
async fn twilio_signed(
    state: &Webhooks,
    channel: Channel,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    parse: impl FnOnce(&[(String, String)]) -> Result<Callback, String>,
) -> Response {
    let token = match super::load(&state.db, channel).await {
        Ok(setting) => setting.secret,
        Err(e) => return e.into_response(),
    };
    let fields = twilio::fields(body);
    let url = format!("{}{path}", state.origin);
    let signature = headers
        .get(twilio::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !twilio::verify(&token, &url, &fields, signature) {
        return (StatusCode::UNAUTHORIZED, "Firma inválida.").into_response();
    }
    applied(state, Some(channel), parse(&fields)).await
}

/// Twilio's SMS callbacks: statuses and inbound messages.
async fn twilio_webhook(
    State(state): State<Webhooks>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    twilio_signed(
        &state,
        Channel::Sms,
        twilio::CALLBACK_PATH,
        &headers,
        &body,
        twilio::callback,
    )
    .await
}

/// Twilio Voice: the advisor's leg ended (only its failures matter).
async fn twilio_voice_status(
    State(state): State<Webhooks>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    twilio_signed(
        &state,
        Channel::Call,
        voice::STATUS_PATH,
        &headers,
        &body,
        voice::callback,
    )
    .await
}

/// Twilio Voice: how the dial to the debtor ended; answered with TwiML that hangs up.
async fn twilio_voice_dial(
    State(state): State<Webhooks>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let response = twilio_signed(
        &state,
        Channel::Call,
        voice::DIAL_PATH,
        &headers,
        &body,
        voice::callback,
    )
    .await;
    if response.status() != StatusCode::OK {
        return response;
    }
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], voice::HANG_UP).into_response()
}

/// Meta's subscription handshake: the challenge back when the verify token (shown on
/// the settings page) matches.
async fn whatsapp_handshake(
    State(state): State<Webhooks>,
    axum::extract::Path(channel): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let channel = match whatsapp_channel(&channel) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let key = match secret(&state.db, WHATSAPP_VERIFY_KEY).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let expected = whatsapp::verify_token(&key, channel);
    let get = |k: &str| q.get(k).map(String::as_str);
    match whatsapp::handshake(
        get("hub.mode"),
        get("hub.verify_token"),
        get("hub.challenge"),
        &expected,
    ) {
        Some(challenge) => (StatusCode::OK, challenge).into_response(),
        None => (StatusCode::FORBIDDEN, "Token de verificación inválido.").into_response(),
    }
}

/// Meta's notifications for a WhatsApp channel, signed with its app secret (the
/// channel's webhook secret).
async fn whatsapp_webhook(
    State(state): State<Webhooks>,
    axum::extract::Path(channel): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let channel = match whatsapp_channel(&channel) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let key = match webhook_secret(&state, channel).await {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    webhook(
        &state,
        Some(channel),
        &key,
        whatsapp::SIGNATURE_HEADER,
        &headers,
        &body,
        |b| whatsapp::callback(b, channel),
    )
    .await
}
