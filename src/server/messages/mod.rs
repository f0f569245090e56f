//! The message lifecycle, and its only writer: messages in and out, their statuses and
//! outbox rows, the answered state of inbound ones, and payment-portal visits. Every
//! change keeps the client's conversation summary in the same transaction and is
//! announced when that transaction commits. Every outbound message, manual or
//! automated, is created by [`send`].

pub mod outbox;
pub mod preflight;
pub mod status;
mod summary;
pub mod visits;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::client::PartyRole;
use crate::domain::error::AppError;
use crate::domain::message::{
    AttachmentInput, Channel, DeliveryStatus, Direction, Handling, Origin,
};
use crate::on_tx;
use crate::server::db::Tx;

/// One tab of a client's conversation: the client, a reference or a guarantor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyRef {
    pub client_id: i64,
    pub role: PartyRole,
    pub ordinal: i32,
}

impl PartyRef {
    pub fn new(client_id: i64, role: PartyRole, ordinal: i32) -> PartyRef {
        PartyRef {
            client_id,
            role,
            ordinal,
        }
    }
}

/// A message about to be stored. Built by [`NewMessage::inbound`],
/// [`NewMessage::outbound`] or [`NewMessage::note`], with the optional parts set by
/// the methods that follow them.
#[derive(Clone, Debug)]
pub struct NewMessage {
    party: Option<PartyRef>,
    direction: Direction,
    channel: Channel,
    address: String,
    sender_name: String,
    subject: String,
    body: String,
    body_html: String,
    origin: Option<Origin>,
    author_id: Option<i64>,
    provider_message_id: Option<String>,
    occurred_at: DateTime<Utc>,
    cc: String,
    bcc: String,
    template_id: Option<i64>,
    template_params: String,
}

impl NewMessage {
    fn new(direction: Direction, channel: Channel, body: &str, at: DateTime<Utc>) -> Self {
        NewMessage {
            party: None,
            direction,
            channel,
            address: String::new(),
            sender_name: String::new(),
            subject: String::new(),
            body: body.to_string(),
            body_html: String::new(),
            origin: None,
            author_id: None,
            provider_message_id: None,
            occurred_at: at,
            cc: String::new(),
            bcc: String::new(),
            template_id: None,
            template_params: "[]".into(),
        }
    }

    /// A message a channel delivered from `address`; where it lands is decided by
    /// [`receive`].
    pub fn inbound(channel: Channel, address: &str, body: &str, at: DateTime<Utc>) -> Self {
        NewMessage {
            address: address.to_string(),
            ..Self::new(Direction::Inbound, channel, body, at)
        }
    }

    /// A message to a party, on `channel`, to `address`.
    pub fn outbound(
        to: PartyRef,
        channel: Channel,
        address: &str,
        body: &str,
        origin: Origin,
        at: DateTime<Utc>,
    ) -> Self {
        NewMessage {
            party: Some(to),
            address: address.to_string(),
            origin: Some(origin),
            ..Self::new(Direction::Outbound, channel, body, at)
        }
    }

    /// An internal note in a party's tab: seen by users only, never sent.
    pub fn note(tab: PartyRef, body: &str, at: DateTime<Utc>) -> Self {
        NewMessage {
            party: Some(tab),
            ..Self::new(Direction::Internal, Channel::Note, body, at)
        }
    }

    /// The user who wrote it or had it sent.
    pub fn author(mut self, user_id: i64) -> Self {
        self.author_id = Some(user_id);
        self
    }

    /// The name shown as its sender.
    pub fn sender_name(mut self, name: &str) -> Self {
        self.sender_name = name.to_string();
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = subject.to_string();
        self
    }

    /// A received e-mail's sanitised HTML.
    pub fn html(mut self, html: &str) -> Self {
        self.body_html = html.to_string();
        self
    }

    /// The provider's id: the same id is stored once per conversation.
    pub fn provider_id(mut self, id: Option<&str>) -> Self {
        self.provider_message_id = id.map(str::to_string);
        self
    }

    /// E-mail copies, as comma-separated addresses.
    pub fn copies(mut self, cc: &str, bcc: &str) -> Self {
        self.cc = cc.to_string();
        self.bcc = bcc.to_string();
        self
    }

    /// Written from a template, with its tags' values in order (a JSON array).
    pub fn template(mut self, id: Option<i64>, params: &str) -> Self {
        self.template_id = id;
        self.template_params = params.to_string();
        self
    }

    fn status(&self) -> Option<DeliveryStatus> {
        (self.direction == Direction::Outbound).then_some(DeliveryStatus::Queued)
    }

    fn pending(&self) -> bool {
        self.direction == Direction::Inbound && self.party.is_some()
    }
}

/// Inserts one message with its attachments; `None` when the provider id is already
/// stored for that conversation (a concurrent duplicate delivery).
async fn insert(
    tx: &mut Tx,
    m: &NewMessage,
    attachments: &[AttachmentInput],
    now: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let (client_id, role, ordinal) = match m.party {
        Some(p) => (Some(p.client_id), Some(p.role.as_str()), Some(p.ordinal)),
        None => (None, None, None),
    };
    let status = m.status();
    let id: Option<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO messages (client_id, party_role, party_ordinal, direction, channel, address, sender_name,
            subject, body, origin, author_id, provider_message_id, occurred_at, created_at, status, pending,
            cc, bcc, template_id, template_params, body_html)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT DO NOTHING RETURNING id")
        .bind(client_id).bind(role).bind(ordinal).bind(m.direction.as_str()).bind(m.channel.as_str())
        .bind(&m.address).bind(&m.sender_name).bind(&m.subject).bind(&m.body).bind(m.origin.map(Origin::as_str))
        .bind(m.author_id).bind(&m.provider_message_id).bind(m.occurred_at).bind(now)
        .bind(status.map(DeliveryStatus::as_str)).bind(m.pending())
        .bind(&m.cc).bind(&m.bcc).bind(m.template_id).bind(&m.template_params).bind(&m.body_html)
        .fetch_optional(&mut *c).await)?;
    let Some((id,)) = id else { return Ok(None) };
    if let Some(status) = status {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO message_statuses (message_id, status, detail, at) VALUES ($1, $2, '', $3)")
            .bind(id).bind(status.as_str()).bind(m.occurred_at)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    for a in attachments {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO message_attachments (message_id, file_name, content_type, size_bytes, content)
             VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(a.file_name.trim()).bind(&a.content_type).bind(a.content.len() as i64)
            .bind(&a.content)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(Some(id))
}

/// The client's summary is rewritten and its screens told.
async fn changed(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
    summary::refresh(tx, client_id).await?;
    tx.announce(client_id);
    Ok(())
}

/// Stores an inbound message in each of these tabs, pending an answer, or in "No
/// registrados" when there are none. Returns the clients it landed with: a tab that
/// already has the provider's id (a concurrent delivery) gets no copy.
pub async fn receive(
    tx: &mut Tx,
    m: &NewMessage,
    tabs: &[PartyRef],
    attachments: &[AttachmentInput],
    now: DateTime<Utc>,
) -> Result<BTreeSet<i64>, AppError> {
    let mut landed = BTreeSet::new();
    if tabs.is_empty() {
        if insert(tx, m, attachments, now).await?.is_some() {
            tx.announce(crate::domain::conversation::NO_CLIENT);
        }
        return Ok(landed);
    }
    let mut copy = m.clone();
    for tab in tabs {
        copy.party = Some(*tab);
        if insert(tx, &copy, attachments, now).await?.is_some() {
            landed.insert(tab.client_id);
        }
    }
    for client_id in &landed {
        changed(tx, *client_id).await?;
    }
    Ok(landed)
}

/// Stores an internal note; returns its id.
pub async fn note(tx: &mut Tx, m: &NewMessage, now: DateTime<Utc>) -> Result<i64, AppError> {
    let tab = m
        .party
        .ok_or_else(|| AppError::internal("a note without its tab"))?;
    let id = insert(tx, m, &[], now)
        .await?
        .ok_or_else(|| AppError::internal("a note's insert wrote nothing"))?;
    changed(tx, tab.client_id).await?;
    Ok(id)
}

/// How an outbound message leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through the outbox, from `due` on (an automated message waits for the contact
    /// hours).
    Outbox { due: DateTime<Utc> },
    /// Placed by the caller itself right away (a click-to-call), which then reports
    /// with [`status::call_placed`].
    Direct,
    /// It cannot go: kept failed with the reason, so that the conversation shows it and
    /// the fallback channel may take over.
    Blocked(String),
}

/// Writes an outbound message, queued, and sends it on its route. Every message to a
/// debtor or a related party is created here. Returns its id.
pub async fn send(
    tx: &mut Tx,
    m: &NewMessage,
    attachments: &[AttachmentInput],
    route: Route,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let tab = match (m.direction, m.party) {
        (Direction::Outbound, Some(tab)) => tab,
        _ => {
            return Err(AppError::internal(
                "only an outbound message to a tab is sent",
            ))
        }
    };
    let id = insert(tx, m, attachments, now)
        .await?
        .ok_or_else(|| AppError::internal("an outbound message's insert wrote nothing"))?;
    match route {
        Route::Outbox { due } => outbox::enqueue(tx, id, due, now).await?,
        Route::Direct => {}
        Route::Blocked(reason) => {
            on_tx!(tx, c => sqlx::query("UPDATE messages SET held = TRUE WHERE id = $1")
                .bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            status::advance(tx, id, DeliveryStatus::Failed, &reason, now).await?;
        }
    }
    changed(tx, tab.client_id).await?;
    Ok(id)
}

/// The pending inbound messages of a tab are answered by `user_id` (a reply sent, or
/// a call that took them): on every channel, or on `channel` only.
pub async fn answer_pending(
    tx: &mut Tx,
    tab: PartyRef,
    channel: Option<Channel>,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<u64, AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE messages SET pending = FALSE, handling = $1, handled_at = $2, handled_by = $3
         WHERE client_id = $4 AND party_role = $5 AND party_ordinal = $6 AND pending
           AND ($7 IS NULL OR channel = $7)")
        .bind(Handling::Replied.as_str()).bind(at).bind(user_id)
        .bind(tab.client_id).bind(tab.role.as_str()).bind(tab.ordinal)
        .bind(channel.map(Channel::as_str))
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    changed(tx, tab.client_id).await?;
    Ok(n)
}

/// "Omitir": pending inbound messages of a client (of one party role, or all) up to
/// the one the user was shown are handled without an answer; returns how many.
pub async fn dismiss(
    tx: &mut Tx,
    client_id: i64,
    role: Option<PartyRole>,
    up_to_message_id: Option<i64>,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<u64, AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE messages SET pending = FALSE, handling = $1, handled_at = $2, handled_by = $3
         WHERE client_id = $4 AND pending AND ($5 IS NULL OR party_role = $5) AND ($6 IS NULL OR id <= $6)")
        .bind(Handling::Dismissed.as_str()).bind(at).bind(user_id).bind(client_id)
        .bind(role.map(PartyRole::as_str)).bind(up_to_message_id)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    changed(tx, client_id).await?;
    Ok(n)
}

/// Moves a message from "No registrados" into a tab, pending an answer. `false` when
/// it is no longer there (linked meanwhile).
pub async fn assign(
    tx: &mut Tx,
    message_id: i64,
    tab: PartyRef,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE messages SET client_id = $1, party_role = $2, party_ordinal = $3, pending = TRUE,
            linked_at = $4, linked_by = $5
         WHERE id = $6 AND client_id IS NULL")
        .bind(tab.client_id).bind(tab.role.as_str()).bind(tab.ordinal).bind(at).bind(user_id)
        .bind(message_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(false);
    }
    changed(tx, tab.client_id).await?;
    tx.announce(crate::domain::conversation::NO_CLIENT);
    Ok(true)
}
