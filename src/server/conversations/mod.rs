//! Conversations: taking in inbound messages from every channel, replies and notes,
//! "Omitir", the "No registrados" tray, the inbox and the conversation screen.

pub mod compose;
mod inbox;
pub mod notify;
pub mod summary;

pub use inbox::inbox;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::domain::alerts::ContactProblem;
use crate::domain::client::PartyRole;
use crate::domain::contact::ContactKind;
use crate::domain::conversation::{
    tabs, AttachmentInput, AttachmentMeta, Channel, Conversation, DeliveryStatus, Direction,
    DismissTarget, Handling, InboundMessage, Message, Origin, PortalVisit, ReplyInput, StatusEntry,
    UnregisteredMessage, VisitState,
};
use crate::domain::error::AppError;
use crate::domain::user::Viewer;
use crate::server::channels::outbox;
use crate::server::db::{decode, Db, Tx};
use crate::server::{alerts, audit, clients};
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

struct NewMessage<'a> {
    client: Option<(i64, PartyRole, i32)>,
    direction: Direction,
    channel: Channel,
    address: &'a str,
    sender_name: &'a str,
    subject: &'a str,
    body: &'a str,
    body_html: &'a str,
    origin: Option<Origin>,
    author_id: Option<i64>,
    provider_message_id: Option<&'a str>,
    occurred_at: DateTime<Utc>,
    status: Option<DeliveryStatus>,
    pending: bool,
    cc: &'a str,
    bcc: &'a str,
    template_id: Option<i64>,
    template_params: &'a str,
}

/// Inserts one message with its attachments; `None` when the provider id is already
/// stored for that conversation (a concurrent duplicate delivery).
async fn insert_message(
    tx: &mut Tx,
    m: &NewMessage<'_>,
    attachments: &[AttachmentInput],
    now: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let (client_id, role, ordinal) = match m.client {
        Some((c, r, o)) => (Some(c), Some(r.as_str()), Some(o)),
        None => (None, None, None),
    };
    let id: Option<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO messages (client_id, party_role, party_ordinal, direction, channel, address, sender_name,
            subject, body, origin, author_id, provider_message_id, occurred_at, created_at, status, pending,
            cc, bcc, template_id, template_params, body_html)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT DO NOTHING RETURNING id")
        .bind(client_id).bind(role).bind(ordinal).bind(m.direction.as_str()).bind(m.channel.as_str())
        .bind(m.address).bind(m.sender_name).bind(m.subject).bind(m.body).bind(m.origin.map(Origin::as_str))
        .bind(m.author_id).bind(m.provider_message_id).bind(m.occurred_at).bind(now)
        .bind(m.status.map(DeliveryStatus::as_str)).bind(m.pending)
        .bind(m.cc).bind(m.bcc).bind(m.template_id).bind(m.template_params).bind(m.body_html)
        .fetch_optional(&mut *c).await)?;
    let Some((id,)) = id else { return Ok(None) };
    if let Some(status) = m.status {
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

/// The conversation tab an e-mail reply belongs to: that of the newest message it
/// names (In-Reply-To first, then References from the newest), whoever its sender is,
/// since debtors answer from another mailbox or forward to a relative.
async fn thread_party(
    tx: &mut Tx,
    references: &[String],
) -> Result<Option<(i64, String, i32)>, AppError> {
    for id in references.iter().take(20) {
        let found: Option<(i64, String, i32)> = on_tx!(tx, c => sqlx::query_as(
            "SELECT client_id, party_role, party_ordinal FROM messages
             WHERE provider_message_id = $1 AND client_id IS NOT NULL
             ORDER BY id DESC LIMIT 1")
            .bind(id).fetch_optional(&mut *c).await)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Takes in a message from any channel. It lands, pending an answer, in the
/// conversation of every client whose parties have the sender's address (the brief's
/// first-phase rule for shared numbers), in the tab of the party that has it; with no
/// such party it lands in "No registrados". A provider id seen before is ignored.
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
    let parties = match thread_party(&mut tx, &m.references).await? {
        Some(party) => vec![party],
        None => {
            let [k1, k2] = lookup_kinds(m.kind);
            on_tx!(&mut tx, c => sqlx::query_as(
                "SELECT DISTINCT p.client_id, p.role, p.ordinal FROM contact_points cp
                 JOIN parties p ON p.id = cp.party_id
                 WHERE cp.kind IN ($1, $2) AND cp.value = $3
                 ORDER BY p.client_id, p.role, p.ordinal")
                .bind(k1).bind(k2).bind(&m.address).fetch_all(&mut *c).await)?
        }
    };
    let mut new = NewMessage {
        client: None,
        direction: Direction::Inbound,
        channel: m.channel,
        address: &m.address,
        sender_name: &m.sender_name,
        subject: &m.subject,
        body: &m.body,
        body_html: &m.body_html,
        origin: None,
        author_id: None,
        provider_message_id: m.provider_message_id.as_deref(),
        occurred_at: m.received_at,
        status: None,
        pending: false,
        cc: "",
        bcc: "",
        template_id: None,
        template_params: "[]",
    };
    let mut landed = BTreeSet::new();
    let unregistered = parties.is_empty();
    if unregistered {
        insert_message(&mut tx, &new, &m.attachments, now).await?;
    }
    for (client_id, role, ordinal) in parties {
        let role: PartyRole = decode("party role", &role)?;
        new.client = Some((client_id, role, ordinal));
        new.pending = true;
        if insert_message(&mut tx, &new, &m.attachments, now)
            .await?
            .is_some()
        {
            landed.insert(client_id);
        }
    }
    for id in &landed {
        summary::refresh(&mut tx, *id).await?;
        alerts::reached(&mut tx, *id, m.received_at).await?;
    }
    tx.commit().await?;
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
pub async fn reply(
    db: &Db,
    viewer: &Viewer,
    input: ReplyInput,
    sending: &compose::Sending,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    input.validate().map_err(AppError::Invalid)?;
    if input.channel == Channel::Call {
        return Err(AppError::invalid(
            "channel",
            "Las llamadas se registran con su gestión, no como mensaje.",
        ));
    }
    let note = input.channel == Channel::Note;
    let prepared = if note {
        clients::ensure_visible(db, viewer, input.client_id, now).await?;
        compose::Prepared {
            address: String::new(),
            subject: String::new(),
            body: input.body.clone(),
            cc: String::new(),
            bcc: String::new(),
            attachments: Vec::new(),
            template_id: None,
            template_params: "[]".into(),
        }
    } else {
        compose::prepare(db, viewer, &input, sending, now).await?
    };
    let mut tx = db.begin().await?;
    let new = NewMessage {
        client: Some((input.client_id, input.party_role, input.party_ordinal)),
        direction: if note {
            Direction::Internal
        } else {
            Direction::Outbound
        },
        channel: input.channel,
        address: &prepared.address,
        sender_name: &viewer.name,
        subject: &prepared.subject,
        body: &prepared.body,
        body_html: "",
        origin: (!note).then_some(Origin::Manual),
        author_id: Some(viewer.user_id),
        provider_message_id: None,
        occurred_at: now,
        status: (!note).then_some(DeliveryStatus::Queued),
        pending: false,
        cc: &prepared.cc,
        bcc: &prepared.bcc,
        template_id: prepared.template_id,
        template_params: &prepared.template_params,
    };
    let id = insert_message(&mut tx, &new, &prepared.attachments, now)
        .await?
        .ok_or(AppError::Internal)?;
    if !note {
        outbox::enqueue(&mut tx, id, now).await?;
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE messages SET pending = FALSE, handling = $1, handled_at = $2, handled_by = $3
             WHERE client_id = $4 AND party_role = $5 AND party_ordinal = $6 AND pending")
            .bind(Handling::Replied.as_str()).bind(now).bind(viewer.user_id)
            .bind(input.client_id).bind(input.party_role.as_str()).bind(input.party_ordinal)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    summary::refresh(&mut tx, input.client_id).await?;
    tx.commit().await?;
    Ok(id)
}

/// "Omitir": marks pending inbound messages handled without replying, keeping who and
/// when. Only messages up to the one the user was shown; returns how many.
pub async fn dismiss(
    db: &Db,
    viewer: &Viewer,
    target: DismissTarget,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    clients::ensure_visible(db, viewer, target.client_id, now).await?;
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE messages SET pending = FALSE, handling = $1, handled_at = $2, handled_by = $3
         WHERE client_id = $4 AND pending AND ($5 IS NULL OR party_role = $5) AND ($6 IS NULL OR id <= $6)")
        .bind(Handling::Dismissed.as_str()).bind(now).bind(viewer.user_id).bind(target.client_id)
        .bind(target.party_role.map(PartyRole::as_str)).bind(target.up_to_message_id)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    summary::refresh(&mut tx, target.client_id).await?;
    tx.commit().await?;
    Ok(n)
}

#[derive(sqlx::FromRow)]
struct UnregisteredRow {
    id: i64,
    channel: String,
    address: String,
    sender_name: String,
    subject: String,
    body: String,
    occurred_at: DateTime<Utc>,
}

fn local(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// The newest messages from unknown senders, not yet linked to a client.
pub async fn unregistered(db: &Db, tz: Tz) -> Result<Vec<UnregisteredMessage>, AppError> {
    let rows: Vec<UnregisteredRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, channel, address, sender_name, subject, body, occurred_at FROM messages
         WHERE client_id IS NULL ORDER BY occurred_at DESC, id DESC LIMIT 200")
        .fetch_all(p).await)?;
    rows.into_iter()
        .map(|r| {
            Ok(UnregisteredMessage {
                id: r.id,
                channel: decode("channel", &r.channel)?,
                address: r.address,
                sender_name: r.sender_name,
                subject: r.subject,
                body: r.body,
                at: local(r.occurred_at, tz),
            })
        })
        .collect()
}

/// Moves a message from "No registrados" into a client's conversation, pending in the
/// chosen party's tab. The client is named by its document number.
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
    clients::ensure_visible(db, viewer, client_id, now)
        .await
        .map_err(|e| match e {
            AppError::NotFound => missing(),
            other => other,
        })?;
    let mut tx = db.begin().await?;
    let party: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id FROM parties WHERE client_id = $1 AND role = $2 AND ordinal = $3")
        .bind(client_id).bind(party_role.as_str()).bind(party_ordinal).fetch_optional(&mut *c).await)?;
    if party.is_none() {
        return Err(AppError::invalid(
            "party",
            "El cliente no tiene registrada esa referencia o garante.",
        ));
    }
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE messages SET client_id = $1, party_role = $2, party_ordinal = $3, pending = TRUE,
            linked_at = $4, linked_by = $5
         WHERE id = $6 AND client_id IS NULL")
        .bind(client_id).bind(party_role.as_str()).bind(party_ordinal).bind(now).bind(viewer.user_id)
        .bind(message_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "Ese mensaje ya no está en No registrados.".into(),
        ));
    }
    summary::refresh(&mut tx, client_id).await?;
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

/// Moves an outbound message to `status` if that is forward of where it is
/// (`DeliveryStatus::follows`), with the history row; a status reported twice, or late,
/// changes nothing. Once a provider reports on a message its outbox row is done.
/// Returns the message's client when the status moved.
pub(crate) async fn advance_status(
    tx: &mut Tx,
    message_id: i64,
    status: DeliveryStatus,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let from: Vec<String> = DeliveryStatus::ALL
        .iter()
        .filter(|s| s.follows(status))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    if from.is_empty() {
        return Ok(None);
    }
    // The IN list holds only the enum's own names, never outside text.
    let sql = format!(
        "UPDATE messages SET status = $2 WHERE id = $1 AND direction = 'outbound'
         AND status IN ({}) RETURNING client_id",
        from.join(", ")
    );
    let moved: Option<(Option<i64>,)> = on_tx!(tx, c => sqlx::query_as(&sql)
        .bind(message_id).bind(status.as_str()).fetch_optional(&mut *c).await)?;
    let Some((client_id,)) = moved else {
        return Ok(None);
    };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO message_statuses (message_id, status, detail, at) VALUES ($1, $2, $3, $4)")
        .bind(message_id).bind(status.as_str()).bind(detail).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE outbox SET state = 'sent', worker = NULL, updated_at = $2 WHERE message_id = $1 AND state = 'pending'")
        .bind(message_id).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Read) {
        alerts::delivered(tx, message_id, at).await?;
    }
    Ok(client_id)
}

/// Records a delivery status of an outbound message (see `advance_status`).
pub async fn record_status(
    db: &Db,
    message_id: i64,
    status: DeliveryStatus,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let exists: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id FROM messages WHERE id = $1 AND direction = 'outbound'")
        .bind(message_id).fetch_optional(&mut *c).await)?;
    if exists.is_none() {
        return Err(AppError::NotFound);
    }
    advance_status(&mut tx, message_id, status, detail, at).await?;
    tx.commit().await?;
    Ok(())
}

/// The outbound message a provider's status callback is about, once applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedStatus {
    pub message_id: i64,
    pub client_id: i64,
    pub channel: Channel,
    pub address: String,
    /// Open screens were told by the transaction itself (PostgreSQL).
    pub announced: bool,
    /// The clients whose contact point the failure flagged.
    pub flagged: Vec<i64>,
}

/// A message the flow, an event, a campaign or the fallback writes on its own.
pub struct Automated<'a> {
    pub client: (i64, PartyRole, i32),
    pub channel: Channel,
    pub address: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub origin: Origin,
    pub template_id: Option<i64>,
    pub template_params: &'a str,
    /// When it may go out (the contact hours), or why it cannot go at all: then it is
    /// kept failed with the reason, and the fallback channel may take over.
    pub send: Result<DateTime<Utc>, &'a str>,
}

/// Writes an automated message in `tx` and queues it, or records it failed.
pub(crate) async fn write_automated(
    tx: &mut Tx,
    m: &Automated<'_>,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let new = NewMessage {
        client: Some(m.client),
        direction: Direction::Outbound,
        channel: m.channel,
        address: m.address,
        sender_name: "",
        subject: m.subject,
        body: m.body,
        body_html: "",
        origin: Some(m.origin),
        author_id: None,
        provider_message_id: None,
        occurred_at: now,
        status: Some(DeliveryStatus::Queued),
        pending: false,
        cc: "",
        bcc: "",
        template_id: m.template_id,
        template_params: m.template_params,
    };
    let id = insert_message(tx, &new, &[], now)
        .await?
        .ok_or(AppError::Internal)?;
    match m.send {
        Ok(due) => outbox::enqueue_at(tx, id, due, now).await?,
        Err(reason) => {
            advance_status(tx, id, DeliveryStatus::Failed, reason, now).await?;
        }
    }
    summary::refresh(tx, m.client.0).await?;
    Ok(id)
}

/// A click-to-call's record in the conversation: an outbound call on the party's tab,
/// queued until the provider takes it. Returns the message id.
pub async fn record_call(
    db: &Db,
    author_id: i64,
    client: (i64, PartyRole, i32),
    number: &str,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let body = format!("Llamada a {number}");
    let new = NewMessage {
        client: Some(client),
        direction: Direction::Outbound,
        channel: Channel::Call,
        address: number,
        sender_name: "",
        subject: "",
        body: &body,
        body_html: "",
        origin: Some(Origin::Manual),
        author_id: Some(author_id),
        provider_message_id: None,
        occurred_at: now,
        status: Some(DeliveryStatus::Queued),
        pending: false,
        cc: "",
        bcc: "",
        template_id: None,
        template_params: "[]",
    };
    let mut tx = db.begin().await?;
    let id = insert_message(&mut tx, &new, &[], now)
        .await?
        .ok_or(AppError::Internal)?;
    summary::refresh(&mut tx, client.0).await?;
    tx.commit().await?;
    Ok(id)
}

/// What the provider said of a call just placed: its id (the call is ringing the
/// advisor), or why it did not start.
pub async fn call_placed(
    db: &Db,
    message_id: i64,
    outcome: Result<&str, &str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    match outcome {
        Ok(sid) => {
            on_tx!(&mut tx, c => sqlx::query("UPDATE messages SET provider_message_id = $2 WHERE id = $1")
                .bind(message_id).bind(sid).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            advance_status(
                &mut tx,
                message_id,
                DeliveryStatus::Sent,
                "Llamando a tu teléfono",
                now,
            )
            .await?;
        }
        Err(e) => {
            advance_status(&mut tx, message_id, DeliveryStatus::Failed, e, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The outbound message a provider id names, with the address it went to.
pub async fn outbound_email(db: &Db, provider_id: &str) -> Result<Option<(i64, String)>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, address FROM messages WHERE provider_message_id = $1 AND direction = 'outbound'
         AND channel = 'email' LIMIT 1")
        .bind(provider_id).fetch_optional(p).await)?)
}

/// Applies a provider's status callback to the message with its id; `None` when the
/// status moves nothing. An id not stored (yet) is NotFound: a provider can call back
/// before its answer to the send is recorded, and then retries. A failure that names
/// the address's problem flags it in the same transaction: a callback redelivered after
/// a crash finds the status already failed and would not flag it any more.
pub async fn provider_status(
    db: &Db,
    provider_id: &str,
    status: DeliveryStatus,
    detail: &str,
    problem: Option<ContactProblem>,
    at: DateTime<Utc>,
) -> Result<Option<AppliedStatus>, AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, String, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id, channel, address FROM messages WHERE provider_message_id = $1 AND direction = 'outbound'
         LIMIT 1")
        .bind(provider_id).fetch_optional(&mut *c).await)?;
    let Some((message_id, channel, address)) = row else {
        return Err(AppError::NotFound);
    };
    let Some(client_id) = advance_status(&mut tx, message_id, status, detail, at).await? else {
        return Ok(None);
    };
    let channel: Channel = decode("channel", &channel)?;
    let flagged = match (status, problem, channel.contact_kind()) {
        (DeliveryStatus::Failed, Some(problem), Some(kind)) => {
            alerts::contact_failed_in(&mut tx, kind, &address, problem, Some(message_id), at)
                .await?
        }
        _ => Vec::new(),
    };
    let announced = notify::announce_in(&mut tx, client_id).await?;
    tx.commit().await?;
    Ok(Some(AppliedStatus {
        message_id,
        client_id,
        channel,
        address,
        announced,
        flagged,
    }))
}

/// Records a visit to the payment portal with the states it went through.
pub async fn record_visit(
    db: &Db,
    client_id: i64,
    page_name: &str,
    states: &[(VisitState, DateTime<Utc>)],
) -> Result<i64, AppError> {
    let Some(first) = states.first() else {
        return Err(AppError::invalid(
            "states",
            "Una visita tiene al menos un estado.",
        ));
    };
    let mut tx = db.begin().await?;
    let (id,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "INSERT INTO portal_visits (client_id, page_name, visited_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(client_id).bind(page_name).bind(first.1).fetch_one(&mut *c).await)?;
    for (state, at) in states {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO portal_visit_states (visit_id, state, at) VALUES ($1, $2, $3)")
            .bind(id).bind(state.as_str()).bind(*at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    party_role: String,
    party_ordinal: i32,
    direction: String,
    channel: String,
    address: String,
    sender_name: String,
    subject: String,
    body: String,
    body_html: String,
    cc: String,
    bcc: String,
    origin: Option<String>,
    author_name: Option<String>,
    occurred_at: DateTime<Utc>,
    status: Option<String>,
    pending: bool,
    handling: Option<String>,
    handled_by_name: Option<String>,
    handled_at: Option<DateTime<Utc>>,
}

/// The conversation screen: the client, its newest messages with their delivery
/// history and attachments, portal visits, and the tabs.
pub async fn conversation(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    today: NaiveDate,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Conversation, AppError> {
    let client = clients::get(db, viewer, client_id, today, now).await?;
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
    let statuses: Vec<(i64, String, String, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
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
            status: decode("status", &status)?,
            detail,
            at: local(at, tz),
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
    let mut live = false;
    let mut messages = Vec::with_capacity(rows.len());
    for r in rows {
        let role: PartyRole = decode("party role", &r.party_role)?;
        let direction: Direction = decode("direction", &r.direction)?;
        let channel: Channel = decode("channel", &r.channel)?;
        if r.pending {
            pending[role as usize] += 1;
        }
        let recent = now - r.occurred_at < chrono::Duration::hours(24);
        let whatsapp = matches!(channel, Channel::WhatsApp | Channel::WhatsAppBusiness);
        // A recent message still on its way: its statuses are worth seeing as they come.
        let travelling = match r.status.as_deref() {
            Some("queued" | "sent") => true,
            Some("delivered") => whatsapp,
            _ => false,
        };
        live |= recent
            && ((direction == Direction::Inbound && whatsapp)
                || (direction == Direction::Outbound && travelling));
        messages.push(Message {
            id: r.id,
            party_role: role,
            party_ordinal: r.party_ordinal,
            direction,
            channel,
            address: r.address,
            sender_name: r.sender_name,
            subject: r.subject,
            body: r.body,
            body_html: r.body_html,
            cc: r.cc,
            bcc: r.bcc,
            origin: r
                .origin
                .as_deref()
                .map(|o| decode("origin", o))
                .transpose()?,
            author_name: r.author_name,
            at: local(r.occurred_at, tz),
            status: r
                .status
                .as_deref()
                .map(|s| decode("status", s))
                .transpose()?,
            history: history.remove(&r.id).unwrap_or_default(),
            attachments: attachments.remove(&r.id).unwrap_or_default(),
            pending: r.pending,
            handling: r
                .handling
                .as_deref()
                .map(|h| decode("handling", h))
                .transpose()?,
            handled_by_name: r.handled_by_name,
            handled_at: r.handled_at.map(|t| local(t, tz)),
        });
    }
    let visits = visits(db, client_id, tz).await?;
    let gestion = crate::server::calls::gestion(db, client_id, today, tz).await?;
    let (tabs, open_tab) = tabs(pending);
    Ok(Conversation {
        last_message_id: messages.iter().map(|m| m.id).max().unwrap_or(0),
        client,
        messages,
        visits,
        tabs,
        open_tab,
        live,
        alert_history: alerts::history(db, client_id, tz).await?,
        gestion,
    })
}

/// A visit with one of its states: (visit id, page, visited at, state, state at).
type VisitStateRow = (i64, String, DateTime<Utc>, String, DateTime<Utc>);

async fn visits(db: &Db, client_id: i64, tz: Tz) -> Result<Vec<PortalVisit>, AppError> {
    let rows: Vec<VisitStateRow> = on_db!(db, p => sqlx::query_as(
        "SELECT v.id, v.page_name, v.visited_at, s.state, s.at FROM portal_visits v
         JOIN portal_visit_states s ON s.visit_id = v.id
         WHERE v.client_id = $1 ORDER BY v.visited_at, v.id, s.at, s.id")
        .bind(client_id).fetch_all(p).await)?;
    let mut visits: Vec<PortalVisit> = Vec::new();
    for (id, page_name, at, state, state_at) in rows {
        let state: VisitState = decode("visit state", &state)?;
        match visits.last_mut() {
            Some(v) if v.id == id => v.states.push((state, local(state_at, tz))),
            _ => visits.push(PortalVisit {
                id,
                page_name,
                at: local(at, tz),
                states: vec![(state, local(state_at, tz))],
            }),
        }
    }
    Ok(visits)
}

/// An attachment's bytes, for a viewer who may read its conversation.
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
        clients::ensure_visible(db, viewer, client_id, now).await?;
    }
    Ok((file_name, content_type, content))
}
