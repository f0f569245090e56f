//! E-mail through the organisation's own mail account: sent over SMTP, replies and
//! bounces read from its mailbox over IMAP (or handed over by the mail server through
//! `recaudo receive-mail`).

pub mod imap;
pub mod mime;
pub mod smtp;
pub mod unsubscribe;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::alerts::ContactProblem;
use crate::domain::channels::ProviderKind;
use crate::domain::contact::ContactKind;
use crate::domain::conversation::InboundMessage;
use crate::domain::error::AppError;
use crate::domain::message::{Channel, DeliveryStatus};
use crate::on_db;
use crate::server::db::Db;
use crate::server::messages::status;
use crate::server::{alerts, conversations};
use mime::{Bounce, Inbound};

/// What became of one received e-mail.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Taken in as a message: the clients whose conversations it landed in.
    Mail(Vec<i64>),
    /// A delivery report: the clients whose messages or contact points it changed.
    Bounce(Vec<i64>),
    /// Nothing a conversation can hold (no sender, say), with why.
    Skipped(String),
}

impl Taken {
    pub fn changed(&self) -> &[i64] {
        match self {
            Taken::Mail(c) | Taken::Bounce(c) => c,
            Taken::Skipped(_) => &[],
        }
    }
}

/// Takes in one raw message. Receiving it again changes nothing: a reply's Message-ID
/// is stored once, and a handled delivery report is remembered.
#[tracing::instrument(skip_all)]
pub async fn receive(db: &Db, raw: &[u8], now: DateTime<Utc>) -> Result<Taken, AppError> {
    match mime::parse(raw) {
        None => Ok(Taken::Skipped(
            "no es un correo (no tiene encabezados)".into(),
        )),
        Some(Inbound::Bounce(bounce)) => bounced(db, bounce, now).await.map(Taken::Bounce),
        Some(Inbound::Mail(mail)) => {
            let message = InboundMessage {
                sender_name: mail.name,
                subject: mail.subject,
                provider_message_id: Some(mail.message_id),
                body_html: mail.html,
                references: mail.references,
                attachments: mail.attachments,
                ..InboundMessage::new(
                    Channel::Email,
                    &mail.from,
                    &mail.text,
                    mail.date.filter(|d| *d <= now).unwrap_or(now),
                )
            };
            match conversations::ingest(db, message, now).await {
                Ok(ingested) => Ok(Taken::Mail(ingested.client_ids)),
                // Mail nobody could answer (no sender address, nothing in it) is left
                // in the mailbox, not retried for ever.
                Err(AppError::Invalid(errors)) => Ok(Taken::Skipped(
                    errors
                        .into_iter()
                        .map(|e| e.message)
                        .collect::<Vec<_>>()
                        .join(" "),
                )),
                Err(e) => Err(e),
            }
        }
    }
}

/// A permanent failure fails the message when the bounced address is the one it went
/// to, and flags that address ("Correo no encontrado") wherever it is registered; a
/// copy's bounce flags the copy's address only. Delays are the server's to retry. A
/// report read again (a pass cut short before it recorded its progress) changes
/// nothing: it is remembered once handled.
async fn bounced(db: &Db, bounce: Bounce, now: DateTime<Utc>) -> Result<Vec<i64>, AppError> {
    let seen: Option<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT report_id FROM mail_reports WHERE report_id = $1")
        .bind(&bounce.id).fetch_optional(p).await)?;
    if seen.is_some() {
        return Ok(Vec::new());
    }
    let mut changed = Vec::new();
    for r in bounce.recipients {
        if !r.permanent {
            tracing::info!(address = %r.address, status = %r.status, "e-mail delayed");
            continue;
        }
        let detail = format!(
            "Rebote {}: {}",
            r.status,
            if r.diagnostic.is_empty() {
                "el servidor de destino no aceptó la dirección"
            } else {
                &r.diagnostic
            }
        );
        let mut message_id = None;
        if let Some(original) = &bounce.original_id {
            match status::outbound_email(db, original).await? {
                Some((id, to)) if to.eq_ignore_ascii_case(&r.address) => {
                    message_id = Some(id);
                    if let Some(applied) = status::from_provider(
                        db,
                        original,
                        Some(Channel::Email),
                        DeliveryStatus::Failed,
                        &detail,
                        None,
                        now,
                    )
                    .await?
                    {
                        changed.push(applied.client_id);
                    }
                }
                Some((id, _)) => message_id = Some(id),
                None => {}
            }
        }
        match alerts::contact_failed(
            db,
            ContactKind::Email,
            &r.address,
            ContactProblem::EmailNotFound,
            message_id,
            now,
        )
        .await
        {
            Ok(clients) => changed.extend(clients),
            // A report about an address that is not an e-mail address flags nothing.
            Err(AppError::Invalid(_)) => {}
            Err(e) => return Err(e),
        }
    }
    on_db!(db, p => sqlx::query(
        "INSERT INTO mail_reports (report_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(&bounce.id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    changed.sort_unstable();
    changed.dedup();
    Ok(changed)
}

/// Reads the e-mail channel's mailbox every `interval` while it is configured.
pub async fn poll_forever(db: Db, interval: Duration) {
    loop {
        match super::load(&db, Channel::Email).await {
            Ok(s) if reads_mailbox(&s) => {
                match imap::poll(&db, &s, crate::server::clock::now()).await {
                    Ok(report) if report.read > 0 => {
                        tracing::info!(
                            read = report.read,
                            taken_in = report.taken_in,
                            bounces = report.bounces,
                            "mailbox read"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mailbox not read"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.reason(), "channel settings not read"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Whether the e-mail channel has a mailbox of its own to read.
fn reads_mailbox(s: &super::ChannelSetting) -> bool {
    s.active && s.provider == Some(ProviderKind::Smtp) && !s.inbound_url.trim().is_empty()
}
