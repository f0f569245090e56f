use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::client::PartyRole;
use crate::domain::compose::{ComposerContext, ReplyTarget};
use crate::domain::conversation::{Conversation, DismissTarget, ReplyInput, UnregisteredMessage};
use crate::domain::error::AppError;
use crate::domain::governance::ContactVerdict;
use crate::domain::listing::{InboxPage, InboxQuery};

#[server(input = Json, endpoint = "inbox")]
pub async fn inbox(query: InboxQuery) -> Result<InboxPage, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::inbox(&state.db, &viewer, &query, state.config.clock()).await
}

#[server(input = Json, endpoint = "get_conversation")]
pub async fn get_conversation(client_id: i64) -> Result<Conversation, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::conversation(&state.db, &viewer, client_id, state.config.clock())
        .await
}

/// Writes an outbound message or an internal note in a conversation tab; an outbound
/// message answers that party's pending messages. Returns the new message's id.
#[server(input = Json, endpoint = "reply")]
pub async fn reply(input: ReplyInput) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    let (config, clock) = (&state.config, state.config.clock());
    crate::server::conversations::recent::guard_reply(
        &state.db,
        &viewer,
        &input,
        config.recent_contact_minutes,
        clock,
    )
    .await?;
    crate::server::conversations::reply(&state.db, &viewer, input, &config.sending(), clock).await
}

/// The open conversation's heartbeat: says that this user has it open (or is writing
/// in it) and answers who else has.
#[server(input = Json, endpoint = "conversation_presence")]
pub async fn conversation_presence(
    client_id: i64,
    beat: crate::domain::presence::Beat,
) -> Result<Vec<crate::domain::presence::Colleague>, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::presence::beat(
        &state.db,
        &viewer,
        client_id,
        beat,
        state.config.clock().now,
    )
    .await
}

/// Sandbox only: the party answers in a few seconds, through the webhook.
#[server(input = Json, endpoint = "simulate_reply")]
pub async fn simulate_reply(target: ReplyTarget) -> Result<(), AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::compose::simulate_reply(
        &state.db,
        &viewer,
        target,
        &state.config.sending(),
        format!("{}/api/webhooks/sandbox", state.config.local_origin()),
        state.config.clock(),
    )
    .await
}

/// The contact policy's verdict on writing (or calling) `target` now, with `text`.
#[server(input = Json, endpoint = "contact_check")]
pub async fn contact_check(target: ReplyTarget, text: String) -> Result<ContactVerdict, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::compose::contact_check(
        &state.db,
        &viewer,
        target,
        &text,
        &state.config.sending(),
        state.config.clock(),
    )
    .await
}

/// What the composer offers for each party of a conversation.
#[server(input = Json, endpoint = "get_composer")]
pub async fn get_composer(client_id: i64) -> Result<ComposerContext, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::compose::context(
        &state.db,
        &viewer,
        client_id,
        &state.config.sending(),
        state.config.clock(),
    )
    .await
}

/// "Omitir": returns how many pending messages it handled.
#[server(input = Json, endpoint = "dismiss")]
pub async fn dismiss(target: DismissTarget) -> Result<u64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::dismiss(&state.db, &viewer, target, crate::server::clock::now())
        .await
}

#[server(input = Json, endpoint = "list_unregistered")]
pub async fn list_unregistered() -> Result<Vec<UnregisteredMessage>, AppError> {
    let state = super::ctx::state()?;
    super::ctx::viewer()?;
    crate::server::conversations::unregistered(&state.db, state.config.clock()).await
}

/// Links a "No registrados" message to the client with that document; returns the
/// client's id.
#[server(input = Json, endpoint = "link_message")]
pub async fn link_message(
    message_id: i64,
    document_number: String,
    party_role: PartyRole,
    party_ordinal: i32,
) -> Result<i64, AppError> {
    let state = super::ctx::state()?;
    let viewer = super::ctx::viewer()?;
    crate::server::conversations::link(
        &state.db,
        &viewer,
        message_id,
        &document_number,
        party_role,
        party_ordinal,
        crate::server::clock::now(),
    )
    .await
}
