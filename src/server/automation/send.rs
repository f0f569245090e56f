//! Writing one automated message: the recipient's address on the template's channel,
//! the text with the client's values, and the channel's rules, the same the composer
//! applies. What cannot go out is still written, failed with its reason, so that the
//! conversation shows it and the fallback channel can take over.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::automation::{AutomationSettings, ContactHours};
use crate::domain::client::{ClientDetail, PartyRole};
use crate::domain::compose::{
    channel_options, check_channel, whatsapp_window_open, ChannelCheck, OrgChannel,
};
use crate::domain::error::{AppError, FieldError};
use crate::domain::governance::{describe, Decision, Verdict};
use crate::domain::message::{Channel, Origin, MAX_BODY_CHARS};
use crate::domain::templates::{render_message, tag_params, tag_values, Template};
use crate::domain::user::Scope;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::conversations::compose::{last_inbound, points};
use crate::server::db::{Db, Tx};
use crate::server::messages::preflight::{self, Asker, OptOuts, Policies, Target};
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
    /// The contact policies every automated message passes.
    policies: Arc<Policies>,
    /// Off only in `recaudo bench governance`, to measure what the policies cost.
    governed: bool,
}

/// What the policy reads of a batch of debtors, read for the whole batch at once:
/// their contacts around the pass and the opt-outs of their addresses. What the pass
/// writes is added as it goes, so a second message to a debtor counts the first.
#[derive(Default)]
pub struct Batch {
    histories: BTreeMap<i64, Vec<(Channel, DateTime<Utc>)>>,
    opt_outs: HashMap<i64, OptOuts>,
}

impl Batch {
    fn history(&self, client_id: i64) -> Result<&[(Channel, DateTime<Utc>)], AppError> {
        self.histories
            .get(&client_id)
            .map(Vec::as_slice)
            .ok_or_else(|| not_read(client_id))
    }

    fn opt_outs(&self, client_id: i64) -> Result<OptOuts, AppError> {
        self.opt_outs
            .get(&client_id)
            .cloned()
            .ok_or_else(|| not_read(client_id))
    }
}

/// A debtor judged without what the policy reads would be judged on nothing: refuse.
fn not_read(client_id: i64) -> AppError {
    AppError::internal(format!(
        "client {client_id} was not read into the scheduler's batch"
    ))
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
    /// When the contact policy lets it go, if later than the pass's contact hours.
    pub due: Option<DateTime<Utc>>,
    /// The contact policy's judgement, stored with the message.
    pub decision: Option<Decision>,
    /// The opt-outs of the party's addresses, read once for the channel's choice and
    /// the policy's judgement.
    opt_outs: OptOuts,
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
            policies: Policies::current(db, clock.tz).await?,
            governed: true,
        })
    }

    /// The same sender with no contact policy: the baseline of the governance bench.
    #[cfg(feature = "bench")]
    pub fn ungoverned(self) -> Self {
        Sender {
            governed: false,
            ..self
        }
    }

    /// Reads what the contact policy needs of these debtors, in two queries.
    pub async fn batch(&self, client_ids: &[i64]) -> Result<Batch, AppError> {
        if !self.governed {
            return Ok(Batch::default());
        }
        let mut histories = preflight::histories(self.db, client_ids, self.due_at()).await?;
        for id in client_ids {
            histories.entry(*id).or_default();
        }
        Ok(Batch {
            histories,
            opt_outs: preflight::clients_opt_outs(self.db, client_ids).await?,
        })
    }

    /// The first moment at or after the pass's within the contact hours.
    pub fn due_at(&self) -> DateTime<Utc> {
        open_at(&self.settings.contact, self.clock)
    }

    /// The template for the client, addressed to the party it is written for.
    pub async fn template(
        &self,
        client_id: i64,
        t: &Template,
        batch: &Batch,
    ) -> Result<Option<Draft>, AppError> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(None);
        };
        let party = client
            .parties
            .iter()
            .filter(|p| p.role == t.recipient)
            .min_by_key(|p| p.ordinal);
        let ordinal = party.map_or(1, |p| p.ordinal);
        let mut draft = self.draft(
            &client,
            (t.recipient, ordinal),
            t.channel,
            (&t.subject, &t.body),
            batch,
        )?;
        draft.template_id = Some(t.id);
        if party.is_none() {
            draft.blocked = Some(format!(
                "El cliente no tiene {} registrado.",
                t.recipient.label().to_lowercase()
            ));
        } else if draft.blocked.is_none() {
            draft.blocked = self.window(&draft, Some(t.approved)).await?;
        }
        if draft.blocked.is_none() {
            let raw = format!("{}\n{}", t.subject, t.body);
            self.govern(&client, &mut draft, &raw, batch)?;
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
        batch: &Batch,
    ) -> Result<Option<Draft>, AppError> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(None);
        };
        let mut draft = self.draft(
            &client,
            party,
            channel,
            ("Aviso sobre su cuenta", body),
            batch,
        )?;
        if draft.blocked.is_none() {
            draft.blocked = self.window(&draft, None).await?;
        }
        if draft.blocked.is_none() {
            self.govern(&client, &mut draft, body, batch)?;
        }
        Ok(Some(draft))
    }

    /// The contact policy on the draft: it leaves at the first moment both the
    /// organisation's contact hours and the debtor's policy allow, or, stopped by a cap,
    /// the debtor's consent or the third-party guard, it is held with the reason. A job
    /// cannot write a reason, so a warning holds it too.
    fn govern(
        &self,
        client: &ClientDetail,
        draft: &mut Draft,
        raw: &str,
        batch: &Batch,
    ) -> Result<(), AppError> {
        if !self.governed {
            return Ok(());
        }
        let text = format!("{raw}\n{}\n{}", draft.subject, draft.body);
        let target = Target {
            tab: draft.to,
            country: &client.country,
            time_zone: &client.time_zone,
            channel: draft.channel,
            address: &draft.address,
            text: &text,
        };
        let mut at = self.due_at();
        let history = batch.history(client.id)?;
        // Each round moves to a later opening of either calendar; both repeat weekly,
        // so a handful of rounds settles it or shows they never meet.
        for _ in 0..16 {
            let decision =
                preflight::judge(&self.policies, &target, history, &draft.opt_outs, false, at);
            if decision.verdict == Verdict::Allow {
                draft.due = Some(at);
                draft.decision = Some(decision);
                return Ok(());
            }
            let next = decision
                .only_hours()
                .then(|| preflight::next_instant(&self.policies, &client.time_zone, &decision))
                .flatten();
            match next {
                Some(t) => at = open_at(&self.settings.contact, self.clock.with_now(t)),
                None => {
                    let zone = self.policies.zone(&client.time_zone).name();
                    draft.blocked = Some(format!(
                        "Política de contacto. {}",
                        describe(&decision, zone)
                    ));
                    draft.decision = Some(decision);
                    return Ok(());
                }
            }
        }
        draft.blocked = Some(
            "Política de contacto: el horario de la organización y el del país del deudor no coinciden en ningún momento.".into(),
        );
        Ok(())
    }

    async fn client(&self, id: i64) -> Result<Option<ClientDetail>, AppError> {
        clients::load_detail(self.db, Scope::All, id, self.clock.today).await
    }

    fn draft(
        &self,
        client: &ClientDetail,
        (role, ordinal): (PartyRole, i32),
        channel: Channel,
        (subject, body): (&str, &str),
        batch: &Batch,
    ) -> Result<Draft, AppError> {
        let party = client
            .parties
            .iter()
            .find(|p| p.role == role && p.ordinal == ordinal);
        let opt_outs = if self.governed {
            batch.opt_outs(client.id)?
        } else {
            OptOuts::default()
        };
        let option = party.and_then(|p| {
            channel_options(&self.org, &points(p, &opt_outs), &p.name)
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
            due: None,
            decision: None,
            opt_outs,
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

/// Writes the draft in `tx`: queued for when it may leave (the pass's `due`, or later
/// where the debtor's policy says so), or failed with why it cannot go. A decision the
/// policy took against it is stored with it; one that let it go as the pass planned is
/// not, since the message itself records that, and storing it would double the rows
/// every automated message writes. A message that waits is dated when it leaves.
pub async fn write(
    tx: &mut Tx,
    draft: &Draft,
    origin: Origin,
    batch: &mut Batch,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let due = draft.due.unwrap_or(due).max(now);
    if draft.blocked.is_none() {
        if let Some(history) = batch.histories.get_mut(&draft.to.client_id) {
            history.push((draft.channel, due));
        }
    }
    let message = NewMessage::outbound(
        draft.to,
        draft.channel,
        &draft.address,
        &draft.body,
        origin,
        if draft.blocked.is_some() { now } else { due },
    )
    .subject(&draft.subject)
    .template(draft.template_id, &draft.params);
    let route = match &draft.blocked {
        None => Route::Outbox { due },
        Some(reason) => Route::Blocked(reason.clone()),
    };
    let id = messages::send(tx, &message, &[], route, now).await?;
    if let Some(decision) = draft
        .decision
        .as_ref()
        .filter(|d| d.verdict != Verdict::Allow)
    {
        let asker = Asker::Job(origin.as_str());
        preflight::record(tx, draft.to, draft.channel, decision, asker, Some(id), now).await?;
    }
    Ok(id)
}
