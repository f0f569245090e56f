//! Writing one automated message: the recipient's address on the template's channel,
//! the text with the client's values, and the channel's rules, the same the composer
//! applies. What cannot go out is still written, failed with its reason, so that the
//! conversation shows it and the fallback channel can take over.

use chrono::{DateTime, Utc};

use crate::domain::automation::{AutomationSettings, ContactHours};
use crate::domain::client::{ClientDetail, PartyRole};
use crate::domain::compose::{
    channel_options, check_channel, whatsapp_window_open, ChannelCheck, OrgChannel,
};
use crate::domain::error::{AppError, FieldError};
use crate::domain::message::{Channel, Origin, MAX_BODY_CHARS};
use crate::domain::templates::{render_message, tag_params, tag_values, Template};
use crate::domain::user::Scope;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::conversations::compose::{last_inbound, points};
use crate::server::db::{Db, Tx};
use crate::server::messages::{self, NewMessage, PartyRef, Route};
use crate::server::{channels, clients, portal};

/// What the automated senders share for one pass.
pub struct Sender<'a> {
    pub db: &'a Db,
    pub sending: &'a Sending,
    /// When the pass runs.
    pub clock: Clock,
    pub org: Vec<OrgChannel>,
    pub settings: AutomationSettings,
    /// The portal links' key, read once per pass instead of once per message.
    link_key: Vec<u8>,
}

/// A message ready to be written.
pub struct Draft {
    pub to: PartyRef,
    pub channel: Channel,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub template_id: Option<i64>,
    pub params: String,
    /// Why it cannot go out.
    pub blocked: Option<String>,
}

impl<'a> Sender<'a> {
    pub async fn new(
        db: &'a Db,
        sending: &'a Sending,
        clock: Clock,
    ) -> Result<Sender<'a>, AppError> {
        let settings = channels::load_all(db).await?;
        Ok(Sender {
            db,
            sending,
            clock,
            org: channels::org_channels(&settings, sending.demo),
            settings: super::settings(db).await?,
            link_key: portal::link_key(db).await?,
        })
    }

    /// The first moment at or after the pass's within the contact hours.
    pub fn due_at(&self) -> DateTime<Utc> {
        open_at(&self.settings.contact, self.clock)
    }

    /// The template for the client, addressed to the party it is written for.
    pub async fn template(&self, client_id: i64, t: &Template) -> Result<Option<Draft>, AppError> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(None);
        };
        let party = client
            .parties
            .iter()
            .filter(|p| p.role == t.recipient)
            .min_by_key(|p| p.ordinal);
        let ordinal = party.map_or(1, |p| p.ordinal);
        let mut draft = self
            .draft(
                &client,
                (t.recipient, ordinal),
                t.channel,
                &t.subject,
                &t.body,
            )
            .await?;
        draft.template_id = Some(t.id);
        if party.is_none() {
            draft.blocked = Some(format!(
                "El cliente no tiene {} registrado.",
                t.recipient.label().to_lowercase()
            ));
        } else if draft.blocked.is_none() {
            draft.blocked = self.window(&draft, Some(t.approved)).await?;
        }
        Ok(Some(draft))
    }

    /// A text of our own (the fallback's standard message) for one party.
    pub async fn text(
        &self,
        client_id: i64,
        party: (PartyRole, i32),
        channel: Channel,
        body: &str,
    ) -> Result<Option<Draft>, AppError> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(None);
        };
        let mut draft = self
            .draft(&client, party, channel, "Aviso sobre su cuenta", body)
            .await?;
        if draft.blocked.is_none() {
            draft.blocked = self.window(&draft, None).await?;
        }
        Ok(Some(draft))
    }

    async fn client(&self, id: i64) -> Result<Option<ClientDetail>, AppError> {
        clients::load_detail(self.db, Scope::All, id, self.clock.today).await
    }

    async fn draft(
        &self,
        client: &ClientDetail,
        (role, ordinal): (PartyRole, i32),
        channel: Channel,
        subject: &str,
        body: &str,
    ) -> Result<Draft, AppError> {
        let party = client
            .parties
            .iter()
            .find(|p| p.role == role && p.ordinal == ordinal);
        let option = party.and_then(|p| {
            channel_options(&self.org, &points(p), &p.name)
                .into_iter()
                .find(|o| o.channel == channel)
        });
        let (address, mut blocked) = match &option {
            Some(o) => (o.address.clone().unwrap_or_default(), o.blocked.clone()),
            None => (
                String::new(),
                Some(format!("{} no está disponible.", channel.label())),
            ),
        };
        let link = portal::link_with(
            &self.link_key,
            &self.sending.origin,
            client.id,
            self.sending.portal_link_days,
            self.clock.now,
        );
        let values = tag_values(client, party.map_or("", |p| p.name.as_str()), &link);
        let mut errors: Vec<FieldError> = Vec::new();
        let (subject, body) = render_message(subject, body, &values, &mut errors);
        let params = tag_params(&body, &values).unwrap_or_default();
        if body.chars().count() > MAX_BODY_CHARS {
            errors.push(FieldError::new("body", "El mensaje es demasiado largo."));
        }
        if blocked.is_none() && !errors.is_empty() {
            blocked = Some(joined(&errors));
        }
        Ok(Draft {
            to: PartyRef::new(client.id, role, ordinal),
            channel,
            address,
            subject: if channel == Channel::Email {
                subject
            } else {
                String::new()
            },
            body,
            template_id: None,
            params: serde_json::to_string(&params).map_err(AppError::internal)?,
            blocked,
        })
    }

    /// The channel's own rules: the SMS length, and WhatsApp's 24-hour window, outside
    /// which only approved templates go.
    async fn window(
        &self,
        draft: &Draft,
        template_approved: Option<bool>,
    ) -> Result<Option<String>, AppError> {
        // Only WhatsApp has a window: the other channels skip the query.
        let last = if matches!(draft.channel, Channel::WhatsApp | Channel::WhatsAppBusiness) {
            last_inbound(self.db, draft.to.client_id)
                .await?
                .remove(&(draft.to.role, draft.to.ordinal))
                .and_then(|l| l.whatsapp)
        } else {
            None
        };
        let errors = check_channel(&ChannelCheck {
            channel: draft.channel,
            body: &draft.body,
            attachments: 0,
            copies: false,
            window_open: whatsapp_window_open(
                last.map(|t| t.naive_utc()),
                self.clock.now.naive_utc(),
            ),
            template_approved,
            sms_max_segments: self.sending.sms_max_segments,
        });
        Ok((!errors.is_empty()).then(|| joined(&errors)))
    }
}

fn joined(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first moment at or after the clock's within `hours`, in the organisation's zone.
pub fn open_at(hours: &ContactHours, clock: Clock) -> DateTime<Utc> {
    let local = clock.local(clock.now);
    let open = hours.next_open(local);
    if open == local {
        return clock.now;
    }
    clock.instant(open)
}

/// Writes the draft in `tx`: queued for `due`, or failed with why it cannot go.
pub async fn write(
    tx: &mut Tx,
    draft: &Draft,
    origin: Origin,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let message = NewMessage::outbound(
        draft.to,
        draft.channel,
        &draft.address,
        &draft.body,
        origin,
        now,
    )
    .subject(&draft.subject)
    .template(draft.template_id, &draft.params);
    let route = match &draft.blocked {
        None => Route::Outbox { due },
        Some(reason) => Route::Blocked(reason.clone()),
    };
    messages::send(tx, &message, &[], route, now).await
}
