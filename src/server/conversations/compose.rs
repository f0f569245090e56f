//! The composer on the server: what each party of a conversation can be written on,
//! and turning a reply into the message that is stored and queued, with the channel's
//! rules applied again whatever the browser showed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::channels::ProviderKind;
use crate::domain::client::{ClientDetail, Party, PartyRole};
use crate::domain::compose::{
    channel_options, check_channel, clean_copies, default_channel, whatsapp_window_open,
    ChannelCheck, ClientDocument, ComposerContext, CopySuggestion, DocumentRef, PartyComposer,
    PointInfo, ReplyTarget, TemplateChoice, WHATSAPP_WINDOW_HOURS,
};
use crate::domain::contact::ContactKind;
use crate::domain::conversation::ReplyInput;
use crate::domain::error::{AppError, FieldError};
use crate::domain::governance::{describe, ContactVerdict};
use crate::domain::message::{
    check_attachments, AttachmentInput, AttachmentMeta, Channel, MAX_BODY_CHARS,
};
use crate::domain::templates::{render, render_message, tag_params, tag_values, Template};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::db::Db;
use crate::server::messages::preflight::{self, OptOuts, Target};
use crate::server::messages::PartyRef;
use crate::server::{channels, clients, portal, templates};

/// A reply ready to be stored: address, final text, copies and files.
pub(super) struct Prepared {
    pub address: String,
    pub subject: String,
    pub body: String,
    pub cc: String,
    pub bcc: String,
    pub attachments: Vec<AttachmentInput>,
    pub template_id: Option<i64>,
    /// The template's tag values in order, as a JSON array (WhatsApp's parameters).
    pub template_params: String,
    /// The debtor's country and zone, which the contact policy reads.
    pub country: String,
    pub time_zone: String,
    /// What the advisor wrote or picked, tags unrendered, for the third-party guard.
    pub raw_text: String,
    /// The opt-outs of the client's addresses, read for the channel's choice.
    pub opt_outs: OptOuts,
}

pub(crate) fn points(party: &Party, opt_outs: &OptOuts) -> Vec<PointInfo> {
    party
        .contacts
        .iter()
        .map(|c| PointInfo {
            kind: c.kind,
            value: c.value.clone(),
            problem: c.problem,
            refused: opt_outs.refused(&c.value),
        })
        .collect()
}

/// The opt-outs of every address of a client's parties, and the channels withheld on
/// its contact points (read with the client).
pub(crate) async fn client_opt_outs(db: &Db, client: &ClientDetail) -> Result<OptOuts, AppError> {
    let addresses: Vec<String> = client
        .parties
        .iter()
        .flat_map(|p| p.contacts.iter().map(|c| c.value.clone()))
        .collect();
    let mut out = preflight::asked_to_stop(db, &addresses).await?;
    for c in client.parties.iter().flat_map(|p| p.contacts.iter()) {
        out.withhold(&c.value, &c.withheld);
    }
    Ok(out)
}

pub(crate) fn party_of(
    client: &ClientDetail,
    role: PartyRole,
    ordinal: i32,
) -> Result<&Party, AppError> {
    client
        .parties
        .iter()
        .find(|p| p.role == role && p.ordinal == ordinal)
        .ok_or_else(|| {
            AppError::invalid(
                "party",
                "El cliente no tiene registrada esa referencia o garante.",
            )
        })
}

/// When each party last wrote, on any channel and on WhatsApp.
#[derive(Default)]
pub(crate) struct LastInbound {
    any: Option<(DateTime<Utc>, Channel)>,
    pub whatsapp: Option<DateTime<Utc>>,
}

pub(crate) async fn last_inbound(
    db: &Db,
    client_id: i64,
) -> Result<HashMap<(PartyRole, i32), LastInbound>, AppError> {
    let rows: Vec<(PartyRole, i32, Channel, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
        "SELECT party_role, party_ordinal, channel, MAX(occurred_at) FROM messages
         WHERE client_id = $1 AND direction = 'inbound' GROUP BY party_role, party_ordinal, channel")
        .bind(client_id).fetch_all(p).await)?;
    let mut out: HashMap<(PartyRole, i32), LastInbound> = HashMap::new();
    for (role, ordinal, channel, at) in rows {
        let entry = out.entry((role, ordinal)).or_default();
        if entry.any.is_none_or(|(t, _)| at > t) {
            entry.any = Some((at, channel));
        }
        if matches!(channel, Channel::WhatsApp | Channel::WhatsAppBusiness)
            && entry.whatsapp.is_none_or(|t| at > t)
        {
            entry.whatsapp = Some(at);
        }
    }
    Ok(out)
}

/// The related parties' e-mails, offered as copies of a message to `to`.
fn copy_suggestions(client: &ClientDetail, to: &Party) -> Vec<CopySuggestion> {
    client
        .parties
        .iter()
        .filter(|p| p.id != to.id)
        .flat_map(|p| {
            p.values(ContactKind::Email)
                .into_iter()
                .map(|email| CopySuggestion {
                    label: format!("{} ({})", p.name, p.title()),
                    email,
                })
        })
        .collect()
}

async fn documents(db: &Db, client_id: i64) -> Result<Vec<ClientDocument>, AppError> {
    let attached: Vec<(i64, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT f.id, f.file_name, f.content_type, f.size_bytes FROM message_attachments f
         JOIN messages m ON m.id = f.message_id WHERE m.client_id = $1 ORDER BY f.id DESC LIMIT 100")
        .bind(client_id).fetch_all(p).await)?;
    let managed: Vec<(i64, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, file_name, content_type, size_bytes FROM management_files
         WHERE client_id = $1 ORDER BY id DESC LIMIT 100")
        .bind(client_id).fetch_all(p).await)?;
    let doc = |reference, (id, file_name, content_type, size_bytes): (i64, String, String, i64)| {
        ClientDocument {
            reference,
            meta: AttachmentMeta {
                id,
                file_name,
                content_type,
                size_bytes,
            },
        }
    };
    Ok(managed
        .into_iter()
        .map(|r| doc(DocumentRef::ManagementFile(r.0), r))
        .chain(
            attached
                .into_iter()
                .map(|r| doc(DocumentRef::Attachment(r.0), r)),
        )
        .collect())
}

/// The files of the client's records named by `refs`; one that is not the client's is
/// refused.
async fn document_contents(
    db: &Db,
    client_id: i64,
    refs: &[DocumentRef],
) -> Result<Vec<AttachmentInput>, AppError> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let row: Option<(String, String, Vec<u8>)> = match *r {
            DocumentRef::Attachment(id) => on_db!(db, p => sqlx::query_as(
                "SELECT f.file_name, f.content_type, f.content FROM message_attachments f
                 JOIN messages m ON m.id = f.message_id WHERE f.id = $1 AND m.client_id = $2")
                .bind(id).bind(client_id).fetch_optional(p).await)?,
            DocumentRef::ManagementFile(id) => on_db!(db, p => sqlx::query_as(
                "SELECT file_name, content_type, content FROM management_files WHERE id = $1 AND client_id = $2")
                .bind(id).bind(client_id).fetch_optional(p).await)?,
        };
        let Some((file_name, content_type, content)) = row else {
            return Err(AppError::invalid(
                "documents",
                "Uno de los documentos elegidos ya no está en el expediente del cliente.",
            ));
        };
        out.push(AttachmentInput {
            file_name,
            content_type,
            content,
        });
    }
    Ok(out)
}

/// The composer's options for every party of a client the viewer may read.
#[tracing::instrument(skip_all)]
pub async fn context(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    sending: &Sending,
    clock: Clock,
) -> Result<ComposerContext, AppError> {
    let now = clock.now;
    let client = clients::get(db, viewer, client_id, clock).await?;
    let settings = channels::load_all(db).await?;
    let org = channels::org_channels(&settings, sending.demo);
    let last = last_inbound(db, client_id).await?;
    let opt_outs = client_opt_outs(db, &client).await?;
    let local = |t: DateTime<Utc>| clock.local(t);
    let parties = client
        .parties
        .iter()
        .map(|p| {
            let options = channel_options(&org, &points(p, &opt_outs), &p.name);
            let seen = last.get(&(p.role, p.ordinal));
            let window_until = seen
                .and_then(|l| l.whatsapp)
                .filter(|t| whatsapp_window_open(Some(local(*t)), local(now)))
                .map(|t| local(t + chrono::Duration::hours(WHATSAPP_WINDOW_HOURS)));
            PartyComposer {
                role: p.role,
                ordinal: p.ordinal,
                name: p.name.clone(),
                default_channel: default_channel(
                    seen.and_then(|l| l.any).map(|(_, c)| c),
                    &options,
                ),
                options,
                window_until,
                copy_suggestions: copy_suggestions(&client, p),
            }
        })
        .collect();
    let link = portal::link(
        db,
        &sending.origin,
        client_id,
        sending.portal_link_days,
        now,
    )
    .await?;
    let choices = templates::list(db)
        .await?
        .into_iter()
        .map(|t| {
            let recipient = client
                .parties
                .iter()
                .find(|p| p.role == t.recipient)
                .map_or(client.display_name.as_str(), |p| p.name.as_str());
            let values = tag_values(&client, recipient, &link);
            TemplateChoice {
                preview: render(&t.body, &values).unwrap_or_else(|e| e),
                subject: render(&t.subject, &values).unwrap_or_else(|e| e),
                id: t.id,
                name: t.name,
                channel: t.channel,
                recipient: t.recipient,
                approved: t.approved,
            }
        })
        .collect();
    Ok(ComposerContext {
        parties,
        sandbox_channels: settings
            .iter()
            .filter(|s| {
                channels::effective_provider(s, sending.demo) == Some(ProviderKind::Sandbox)
            })
            .map(|s| s.channel)
            .collect(),
        sms_max_segments: sending.sms_max_segments,
        templates: choices,
        documents: documents(db, client_id).await?,
    })
}

/// Checks a reply against its channel and party and writes out its final text.
pub(super) async fn prepare(
    db: &Db,
    viewer: &Viewer,
    input: &ReplyInput,
    sending: &Sending,
    clock: Clock,
) -> Result<Prepared, AppError> {
    let now = clock.now;
    let client = clients::get(db, viewer, input.client_id, clock).await?;
    let party = party_of(&client, input.party_role, input.party_ordinal)?;
    let settings = channels::load_all(db).await?;
    let org = channels::org_channels(&settings, sending.demo);
    let opt_outs = client_opt_outs(db, &client).await?;
    let option = channel_options(&org, &points(party, &opt_outs), &party.name)
        .into_iter()
        .find(|o| o.channel == input.channel)
        .ok_or_else(|| {
            AppError::invalid(
                "channel",
                format!("{} no está disponible.", input.channel.label()),
            )
        })?;
    if let Some(reason) = option.blocked {
        return Err(AppError::invalid("channel", reason));
    }
    let address = option.address.unwrap_or_default();
    let template: Option<Template> = match input.template_id {
        Some(id) => Some(
            templates::get(db, id)
                .await?
                .ok_or_else(|| AppError::invalid("template", "Esa plantilla ya no existe."))?,
        ),
        None => None,
    };
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(t) = &template {
        if t.channel != input.channel {
            errors.push(FieldError::new(
                "template",
                format!("La plantilla «{}» es para {}.", t.name, t.channel.label()),
            ));
        }
        if t.recipient != input.party_role {
            errors.push(FieldError::new(
                "template",
                format!(
                    "La plantilla «{}» es para escribir a: {}.",
                    t.name,
                    t.recipient.label()
                ),
            ));
        }
    }
    let link = portal::link(
        db,
        &sending.origin,
        client.id,
        sending.portal_link_days,
        now,
    )
    .await?;
    let values = tag_values(&client, &party.name, &link);
    let (subject, body) = match &template {
        Some(t) => (t.subject.as_str(), t.body.as_str()),
        None => (input.subject.as_str(), input.body.as_str()),
    };
    let (subject, body) = render_message(subject, body, &values, &mut errors);
    let params = template
        .as_ref()
        .and_then(|t| tag_params(&t.body, &values).ok())
        .unwrap_or_default();
    if body.chars().count() > MAX_BODY_CHARS {
        errors.push(FieldError::new(
            "body",
            format!("Con las etiquetas completas, el mensaje pasa de {MAX_BODY_CHARS} caracteres."),
        ));
    }
    let whatsapp_last = last_inbound(db, client.id)
        .await?
        .remove(&(party.role, party.ordinal))
        .and_then(|l| l.whatsapp);
    let copies = !(input.cc.is_empty() && input.bcc.is_empty());
    errors.extend(check_channel(&ChannelCheck {
        channel: input.channel,
        body: &body,
        attachments: input.attachments.len() + input.documents.len(),
        copies,
        window_open: whatsapp_window_open(whatsapp_last.map(|t| t.naive_utc()), now.naive_utc()),
        template_approved: template.as_ref().map(|t| t.approved),
        sms_max_segments: sending.sms_max_segments,
    }));
    let (cc, bcc) = if input.channel == Channel::Email {
        let cc = clean_copies("cc", &input.cc, &address, &mut errors);
        let bcc = clean_copies("bcc", &input.bcc, &address, &mut errors);
        (cc.join(", "), bcc.join(", "))
    } else {
        (String::new(), String::new())
    };
    let mut attachments = input.attachments.clone();
    attachments.extend(document_contents(db, client.id, &input.documents).await?);
    check_attachments(&mut errors, &attachments);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Prepared {
        address,
        subject,
        body,
        cc,
        bcc,
        attachments,
        raw_text: match &template {
            Some(t) => format!("{}\n{}", t.subject, t.body),
            None => format!("{}\n{}", input.subject, input.body),
        },
        template_id: template.map(|t| t.id),
        template_params: serde_json::to_string(&params).map_err(AppError::internal)?,
        country: client.country.clone(),
        time_zone: client.time_zone.clone(),
        opt_outs,
    })
}

/// The contact policy's verdict on `target` now, as the composer shows it before
/// sending. The server judges again on send.
#[tracing::instrument(skip_all)]
pub async fn contact_check(
    db: &Db,
    viewer: &Viewer,
    target: ReplyTarget,
    text: &str,
    sending: &Sending,
    clock: Clock,
) -> Result<ContactVerdict, AppError> {
    let client = clients::get(db, viewer, target.client_id, clock).await?;
    let party = party_of(&client, target.party_role, target.party_ordinal)?;
    let settings = channels::load_all(db).await?;
    let org = channels::org_channels(&settings, sending.demo);
    let opt_outs = client_opt_outs(db, &client).await?;
    let address = channel_options(&org, &points(party, &opt_outs), &party.name)
        .into_iter()
        .find(|o| o.channel == target.channel)
        .and_then(|o| o.address)
        .unwrap_or_default();
    let tab = PartyRef::new(client.id, party.role, party.ordinal);
    let check = Target {
        tab,
        country: &client.country,
        time_zone: &client.time_zone,
        channel: target.channel,
        address: &address,
        text,
    };
    let (policies, decision) = preflight::check(db, clock.tz, &check, &opt_outs, clock.now).await?;
    Ok(ContactVerdict {
        verdict: decision.verdict,
        message: describe(&decision, policies.zone(&client.time_zone).name()),
    })
}

/// The sandbox's stand-in for a debtor answering: after a few seconds an inbound message
/// from the party's address arrives through the webhook, as a provider would post it.
/// Only on channels the sandbox delivers.
#[tracing::instrument(skip_all)]
pub async fn simulate_reply(
    db: &Db,
    viewer: &Viewer,
    target: ReplyTarget,
    sending: &Sending,
    callback_url: String,
    clock: Clock,
) -> Result<(), AppError> {
    let ReplyTarget {
        client_id,
        party_role: role,
        party_ordinal: ordinal,
        channel,
    } = target;
    let client = clients::get(db, viewer, client_id, clock).await?;
    let party = party_of(&client, role, ordinal)?;
    let settings = channels::load_all(db).await?;
    let sandboxed = settings.iter().any(|s| {
        s.channel == channel
            && channels::effective_provider(s, sending.demo) == Some(ProviderKind::Sandbox)
    });
    if !sandboxed || channel == Channel::Call {
        return Err(AppError::invalid(
            "channel",
            "La respuesta simulada solo existe en los canales del sandbox.",
        ));
    }
    let from = crate::domain::compose::pick_address(
        channel,
        &points(party, &OptOuts::default()),
        &party.name,
    )
    .map_err(|e| AppError::invalid("channel", e))?;
    let sandbox = crate::server::channels::providers::Sandbox {
        callback_url,
        key: channels::secret(db, channels::SANDBOX_KEY).await?,
        delay: (0.0, 0.0),
    };
    tokio::spawn(async move {
        // About as long as a person takes to glance at the phone and answer.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let http = reqwest::Client::new();
        sandbox
            .reply(
                &http,
                channel,
                &from,
                "Gracias, recibí su mensaje. Lo reviso y les confirmo.",
            )
            .await;
    });
    Ok(())
}
