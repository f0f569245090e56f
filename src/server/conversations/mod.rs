//! Conversations: taking in inbound messages from every channel, replies and notes,
//! "Omitir", the "No registrados" tray, the inbox and the conversation screen.

pub mod compose;
mod inbox;
pub mod presence;
pub mod recent;

pub use inbox::{inbox, pending_messages};

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::client::PartyRole;
use crate::domain::contact::ContactKind;
use crate::domain::conversation::{
    tabs, Conversation, DismissTarget, InboundMessage, Message, PortalVisit, ReplyInput,
    UnregisteredMessage,
};
use crate::domain::error::AppError;
use crate::domain::governance::{describe, is_opt_out, Decision, Verdict};
use crate::domain::message::{
    AttachmentMeta, Channel, DeliveryStatus, Direction, Handling, Origin, StatusEntry, VisitState,
};
use crate::domain::user::Viewer;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::db::{Db, Tx};
use crate::server::messages::preflight::{self, Asker, Target};
use crate::server::messages::{self, NewMessage, PartyRef, Route};
use crate::server::{access, alerts, audit, clients};
use crate::{on_db, on_tx};

/// Most messages the conversation screen loads: the newest ones.
pub const CONVERSATION_LIMIT: i64 = 500;

/// Where an inbound message landed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ingested {
    /// The conversations it landed in (several when the sender's address is shared).
    pub client_ids: Vec<i64>,
    /// Stored in "No registrados": nobody has the sender's address.
    pub unregistered: bool,
    /// The provider delivered this id before; nothing was stored again.
    pub duplicate: bool,
}

/// The kinds of contact point a sender's address is looked up in: a mobile number is
/// often registered as a phone and used on WhatsApp, and the other way round.
fn lookup_kinds(kind: ContactKind) -> [&'static str; 2] {
    match kind {
        ContactKind::Phone | ContactKind::WhatsApp => ["phone", "whatsapp"],
        ContactKind::Email => ["email", "email"],
    }
}

/// The conversation tab an e-mail reply belongs to: that of the newest message it
/// names (In-Reply-To first, then References from the newest), whoever its sender is,
/// since debtors answer from another mailbox or forward to a relative.
async fn thread_party(tx: &mut Tx, references: &[String]) -> Result<Option<PartyRef>, AppError> {
    for id in references.iter().take(20) {
        let found: Option<(i64, PartyRole, i32)> = on_tx!(tx, c => sqlx::query_as(
            "SELECT client_id, party_role, party_ordinal FROM messages
             WHERE provider_message_id = $1 AND client_id IS NOT NULL
             ORDER BY id DESC LIMIT 1")
            .bind(id).fetch_optional(&mut *c).await)?;
        if let Some((client_id, role, ordinal)) = found {
            return Ok(Some(PartyRef::new(client_id, role, ordinal)));
        }
    }
    Ok(None)
}

/// Takes in a message from any channel. It lands, pending an answer, in the
/// conversation of every client whose parties have the sender's address (the brief's
/// first-phase rule for shared numbers), in the tab of the party that has it; with no
/// such party it lands in "No registrados". A provider id seen before is ignored.
#[tracing::instrument(skip_all)]
pub async fn ingest(
    db: &Db,
    message: InboundMessage,
    now: DateTime<Utc>,
) -> Result<Ingested, AppError> {
    let m = message.validate().map_err(AppError::Invalid)?;
    let mut tx = db.begin().await?;
    if let Some(pid) = &m.provider_message_id {
        let seen: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM messages WHERE provider_message_id = $1 LIMIT 1")
            .bind(pid).fetch_optional(&mut *c).await)?;
        if seen.is_some() {
            return Ok(Ingested {
                duplicate: true,
                ..Ingested::default()
            });
        }
    }
    let tabs = match thread_party(&mut tx, &m.references).await? {
        Some(tab) => vec![tab],
        None => {
            let [k1, k2] = lookup_kinds(m.kind);
            let found: Vec<(i64, PartyRole, i32)> = on_tx!(&mut tx, c => sqlx::query_as(
                "SELECT DISTINCT p.client_id, p.role, p.ordinal FROM contact_points cp
                 JOIN parties p ON p.id = cp.party_id
                 WHERE cp.kind IN ($1, $2) AND cp.value = $3
                 ORDER BY p.client_id, p.role, p.ordinal")
                .bind(k1).bind(k2).bind(&m.address).fetch_all(&mut *c).await)?;
            found
                .into_iter()
                .map(|(client_id, role, ordinal)| PartyRef::new(client_id, role, ordinal))
                .collect()
        }
    };
    let new = NewMessage::inbound(m.channel, &m.address, &m.body, m.received_at)
        .sender_name(&m.sender_name)
        .subject(&m.subject)
        .html(&m.body_html)
        .provider_id(m.provider_message_id.as_deref());
    let landed = messages::receive(&mut tx, &new, &tabs, &m.attachments, now).await?;
    if is_opt_out(m.channel, &m.body) {
        let source = format!("respondió «{}» por {}", m.body.trim(), m.channel.label());
        preflight::opt_out(&mut tx, &m.address, m.channel, &source, &tabs, now).await?;
    }
    for id in &landed {
        alerts::reached(&mut tx, *id, m.received_at).await?;
    }
    tx.commit().await?;
    let unregistered = tabs.is_empty();
    Ok(Ingested {
        unregistered,
        // Every copy lost the race to a concurrent delivery of the same id.
        duplicate: !unregistered && landed.is_empty(),
        client_ids: landed.into_iter().collect(),
    })
}

/// Writes a manual outbound message or an internal note in a conversation tab. The
/// message and its outbox row are written together, and it answers every pending
/// inbound of that tab's party at that moment; a note answers nothing. Returns the
/// message id.
#[tracing::instrument(skip_all)]
pub async fn reply(
    db: &Db,
    viewer: &Viewer,
    input: ReplyInput,
    sending: &Sending,
    clock: Clock,
) -> Result<i64, AppError> {
    input.validate().map_err(AppError::Invalid)?;
    if input.channel == Channel::Call {
        return Err(AppError::invalid(
            "channel",
            "Las llamadas se registran con su gestión, no como mensaje.",
        ));
    }
    let now = clock.now;
    let tab = PartyRef::new(input.client_id, input.party_role, input.party_ordinal);
    if input.channel == Channel::Note {
        access::ensure_visible(db, viewer, input.client_id, now).await?;
        let mut tx = db.begin().await?;
        let note = NewMessage::note(tab, &input.body, now)
            .author(viewer.user_id)
            .sender_name(&viewer.name);
        let id = messages::note(&mut tx, &note, now).await?;
        tx.commit().await?;
        return Ok(id);
    }
    let prepared = compose::prepare(db, viewer, &input, sending, clock).await?;
    let text = format!(
        "{}\n{}\n{}",
        prepared.raw_text, prepared.subject, prepared.body
    );
    let target = Target {
        tab,
        country: &prepared.country,
        time_zone: &prepared.time_zone,
        channel: input.channel,
        address: &prepared.address,
        text: &text,
    };
    let (policies, decision) =
        preflight::check(db, clock.tz, &target, &prepared.opt_outs, now).await?;
    let zone = policies.zone(&prepared.time_zone).name();
    let reason = input.override_reason.as_str();
    if stops(&decision, reason) {
        return Err(refusal(db, &target, &decision, viewer.user_id, zone, now).await?);
    }
    let message = NewMessage::outbound(
        tab,
        input.channel,
        &prepared.address,
        &prepared.body,
        Origin::Manual,
        now,
    )
    .author(viewer.user_id)
    .sender_name(&viewer.name)
    .subject(&prepared.subject)
    .copies(&prepared.cc, &prepared.bcc)
    .template(prepared.template_id, &prepared.template_params);
    let mut tx = db.begin().await?;
    let decision = preflight::confirm(&mut tx, &policies, &target, &prepared.opt_outs, now).await?;
    if stops(&decision, reason) {
        // Another send took the allowance since the check: this one is judged on that.
        drop(tx);
        return Err(refusal(db, &target, &decision, viewer.user_id, zone, now).await?);
    }
    let asker = Asker::User {
        id: viewer.user_id,
        override_reason: reason,
    };
    let id = messages::send(
        &mut tx,
        &message,
        &prepared.attachments,
        Route::Outbox { due: now },
        now,
    )
    .await?;
    preflight::record(&mut tx, tab, input.channel, &decision, asker, Some(id), now).await?;
    messages::answer_pending(&mut tx, tab, None, viewer.user_id, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Whether a decision stops a send: a block, or a warning the advisor gave no reason
/// to override.
fn stops(decision: &Decision, override_reason: &str) -> bool {
    match decision.verdict {
        Verdict::Block => true,
        Verdict::Warn => override_reason.trim().is_empty(),
        Verdict::Allow => false,
    }
}

/// The error a stopped send answers with; a block is recorded as a decision taken.
async fn refusal(
    db: &Db,
    target: &Target<'_>,
    decision: &Decision,
    user_id: i64,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<AppError, AppError> {
    if decision.verdict != Verdict::Block {
        return Ok(AppError::invalid(
            "override_reason",
            format!(
                "{} Para enviarlo de todos modos, escribe el motivo.",
                describe(decision, zone)
            ),
        ));
    }
    let mut tx = db.begin().await?;
    let asker = Asker::User {
        id: user_id,
        override_reason: "",
    };
    preflight::record(
        &mut tx,
        target.tab,
        target.channel,
        decision,
        asker,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(AppError::invalid("policy", describe(decision, zone)))
}

/// "Omitir": marks pending inbound messages handled without replying, keeping who and
/// when. Only messages up to the one the user was shown; returns how many.
#[tracing::instrument(skip_all)]
pub async fn dismiss(
    db: &Db,
    viewer: &Viewer,
    target: DismissTarget,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    access::ensure_visible(db, viewer, target.client_id, now).await?;
    let mut tx = db.begin().await?;
    let n = messages::dismiss(
        &mut tx,
        target.client_id,
        target.party_role,
        target.up_to_message_id,
        viewer.user_id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// The newest messages from unknown senders, not yet linked to a client.
#[tracing::instrument(skip_all)]
pub async fn unregistered(db: &Db, clock: Clock) -> Result<Vec<UnregisteredMessage>, AppError> {
    type Row = (i64, Channel, String, String, String, String, DateTime<Utc>);
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(
        "SELECT id, channel, address, sender_name, subject, body, occurred_at FROM messages
         WHERE client_id IS NULL ORDER BY occurred_at DESC, id DESC LIMIT 200")
        .fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, channel, address, sender_name, subject, body, at)| UnregisteredMessage {
                id,
                channel,
                address,
                sender_name,
                subject,
                body,
                at: clock.local(at),
            },
        )
        .collect())
}

/// Moves a message from "No registrados" into a client's conversation, pending in the
/// chosen party's tab. The client is named by its document number.
#[tracing::instrument(skip_all)]
pub async fn link(
    db: &Db,
    viewer: &Viewer,
    message_id: i64,
    document_number: &str,
    party_role: PartyRole,
    party_ordinal: i32,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let document = document_number.trim();
    let client: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM clients WHERE document_number = $1")
        .bind(document).fetch_optional(p).await)?;
    let missing = || AppError::invalid("document_number", "No hay un cliente con ese documento.");
    let (client_id,) = client.ok_or_else(missing)?;
    access::ensure_visible(db, viewer, client_id, now)
        .await
        .map_err(|e| match e {
            AppError::NotFound => missing(),
            other => other,
        })?;
    let mut tx = db.begin().await?;
    let party: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id FROM parties WHERE client_id = $1 AND role = $2 AND ordinal = $3")
        .bind(client_id).bind(party_role).bind(party_ordinal).fetch_optional(&mut *c).await)?;
    if party.is_none() {
        return Err(AppError::invalid(
            "party",
            "El cliente no tiene registrada esa referencia o garante.",
        ));
    }
    let tab = PartyRef::new(client_id, party_role, party_ordinal);
    if !messages::assign(&mut tx, message_id, tab, viewer.user_id, now).await? {
        return Err(AppError::Conflict(
            "Ese mensaje ya no está en No registrados.".into(),
        ));
    }
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "message.link",
        &format!("message:{message_id}"),
        &format!("client:{client_id}"),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(client_id)
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    party_role: PartyRole,
    party_ordinal: i32,
    direction: Direction,
    channel: Channel,
    address: String,
    sender_name: String,
    subject: String,
    body: String,
    body_html: String,
    cc: String,
    bcc: String,
    origin: Option<Origin>,
    author_name: Option<String>,
    occurred_at: DateTime<Utc>,
    status: Option<DeliveryStatus>,
    pending: bool,
    handling: Option<Handling>,
    handled_by_name: Option<String>,
    handled_at: Option<DateTime<Utc>>,
}

/// The conversation screen: the client, its newest messages with their delivery
/// history and attachments, portal visits, and the tabs.
#[tracing::instrument(skip_all)]
pub async fn conversation(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    clock: Clock,
) -> Result<Conversation, AppError> {
    let now = clock.now;
    let client = clients::get(db, viewer, client_id, clock).await?;
    let mut rows: Vec<MessageRow> = on_db!(db, p => sqlx::query_as(
        "SELECT m.id, m.party_role, m.party_ordinal, m.direction, m.channel, m.address, m.sender_name,
                m.subject, m.body, m.body_html, m.cc, m.bcc, m.origin, a.name AS author_name, m.occurred_at, m.status, m.pending,
                m.handling, h.name AS handled_by_name, m.handled_at
         FROM messages m
         LEFT JOIN users a ON a.id = m.author_id
         LEFT JOIN users h ON h.id = m.handled_by
         WHERE m.client_id = $1 ORDER BY m.occurred_at DESC, m.id DESC LIMIT $2")
        .bind(client_id).bind(CONVERSATION_LIMIT).fetch_all(p).await)?;
    rows.reverse();
    let oldest = rows.first().map(|r| (r.occurred_at, r.id));
    let (since, since_id) = oldest.unwrap_or((now, i64::MAX));
    let statuses: Vec<(i64, DeliveryStatus, String, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
        "SELECT s.message_id, s.status, s.detail, s.at FROM message_statuses s
         JOIN messages m ON m.id = s.message_id
         WHERE m.client_id = $1 AND (m.occurred_at, m.id) >= ($2, $3) ORDER BY s.at, s.id")
        .bind(client_id).bind(since).bind(since_id).fetch_all(p).await)?;
    let files: Vec<(i64, i64, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT f.message_id, f.id, f.file_name, f.content_type, f.size_bytes FROM message_attachments f
         JOIN messages m ON m.id = f.message_id
         WHERE m.client_id = $1 AND (m.occurred_at, m.id) >= ($2, $3) ORDER BY f.id")
        .bind(client_id).bind(since).bind(since_id).fetch_all(p).await)?;
    let mut history: HashMap<i64, Vec<StatusEntry>> = HashMap::new();
    for (id, status, detail, at) in statuses {
        history.entry(id).or_default().push(StatusEntry {
            status,
            detail,
            at: clock.local(at),
        });
    }
    let mut attachments: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    for (message_id, id, file_name, content_type, size_bytes) in files {
        attachments
            .entry(message_id)
            .or_default()
            .push(AttachmentMeta {
                id,
                file_name,
                content_type,
                size_bytes,
            });
    }
    let mut pending = [0i64; 3];
    let mut messages = Vec::with_capacity(rows.len());
    for r in rows {
        if r.pending {
            pending[r.party_role as usize] += 1;
        }
        messages.push(Message {
            id: r.id,
            party_role: r.party_role,
            party_ordinal: r.party_ordinal,
            direction: r.direction,
            channel: r.channel,
            address: r.address,
            sender_name: r.sender_name,
            subject: r.subject,
            body: r.body,
            body_html: r.body_html,
            cc: r.cc,
            bcc: r.bcc,
            origin: r.origin,
            author_name: r.author_name,
            at: clock.local(r.occurred_at),
            status: r.status,
            history: history.remove(&r.id).unwrap_or_default(),
            attachments: attachments.remove(&r.id).unwrap_or_default(),
            pending: r.pending,
            handling: r.handling,
            handled_by_name: r.handled_by_name,
            handled_at: r.handled_at.map(|t| clock.local(t)),
        });
    }
    let visits = visits(db, client_id, clock).await?;
    let gestion = crate::server::calls::gestion(db, client_id, clock).await?;
    let (tabs, open_tab) = tabs(pending);
    Ok(Conversation {
        last_message_id: messages.iter().map(|m| m.id).max().unwrap_or(0),
        client,
        messages,
        visits,
        tabs,
        open_tab,
        alert_history: alerts::history(db, client_id, clock).await?,
        gestion,
    })
}

/// A visit with one of its states.
#[derive(sqlx::FromRow)]
struct VisitStateRow {
    id: i64,
    page_name: String,
    visited_at: DateTime<Utc>,
    preview_agent: String,
    state: VisitState,
    at: DateTime<Utc>,
}

async fn visits(db: &Db, client_id: i64, clock: Clock) -> Result<Vec<PortalVisit>, AppError> {
    let rows: Vec<VisitStateRow> = on_db!(db, p => sqlx::query_as(
        "SELECT v.id, v.page_name, v.visited_at, v.preview_agent, s.state, s.at FROM portal_visits v
         JOIN portal_visit_states s ON s.visit_id = v.id
         WHERE v.client_id = $1 ORDER BY v.visited_at, v.id, s.at, s.id")
        .bind(client_id).fetch_all(p).await)?;
    let mut visits: Vec<PortalVisit> = Vec::new();
    for r in rows {
        let state = (r.state, clock.local(r.at));
        match visits.last_mut() {
            Some(v) if v.id == r.id => v.states.push(state),
            _ => visits.push(PortalVisit {
                id: r.id,
                page_name: r.page_name,
                at: clock.local(r.visited_at),
                states: vec![state],
                preview_agent: r.preview_agent,
            }),
        }
    }
    Ok(visits)
}

/// An attachment's bytes, for a viewer who may read its conversation.
#[tracing::instrument(skip_all)]
pub async fn attachment(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(String, String, Vec<u8>), AppError> {
    let row: Option<(Option<i64>, String, String, Vec<u8>)> = on_db!(db, p => sqlx::query_as(
        "SELECT m.client_id, f.file_name, f.content_type, f.content FROM message_attachments f
         JOIN messages m ON m.id = f.message_id WHERE f.id = $1")
        .bind(id).fetch_optional(p).await)?;
    let Some((client_id, file_name, content_type, content)) = row else {
        return Err(AppError::NotFound);
    };
    if let Some(client_id) = client_id {
        access::ensure_visible(db, viewer, client_id, now).await?;
    }
    Ok((file_name, content_type, content))
}
