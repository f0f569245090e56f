//! The scheduler: one pass sends the main flow's steps for the days it has not covered
//! yet, the events that happened, the campaigns that are due, and the fallback
//! messages for automated sends that failed.
//!
//! Each send claims its key first (`flow_sends`, `event_sends`, `campaign_sends`,
//! `fallbacks`) with `ON CONFLICT DO NOTHING` in the transaction that writes the
//! message: a pass run twice, or by two servers at once, sends nothing twice. On
//! PostgreSQL the second claimant waits for the first's commit and then finds the key.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::automation::{
    anchor_for, pass_days, suspension, CampaignState, PassReport, Trigger,
};
use crate::domain::calls::{CallReason, FlowStop};
use crate::domain::client::PartyRole;
use crate::domain::error::AppError;
use crate::domain::message::{Channel, Origin};
use crate::domain::segments::Tree;
use crate::domain::templates::Template;
use crate::on_db;
use crate::on_tx;
use crate::server::calls;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::db::Db;
use crate::server::segments::sql::Value;
use crate::server::segments::{self, Sql};
use crate::server::templates;

use super::send::{write, Draft, Sender};

/// Campaign clients written per batch: between batches a cancellation is seen.
const CAMPAIGN_BATCH: i64 = 500;
/// Debtors whose contacts and opt-outs the contact policy reads in one go.
const POLICY_BATCH: usize = 500;
/// How far back an event or a failure is still acted on.
const LOOKBACK_DAYS: i64 = 2;

/// One pass: flows, events, campaigns, fallbacks.
#[tracing::instrument(skip_all)]
pub async fn run_once(db: &Db, sending: &Sending, clock: Clock) -> Result<PassReport, AppError> {
    pass(&Sender::new(db, sending, clock).await?).await
}

/// A pass with no contact policy, for the governance bench's baseline.
#[cfg(feature = "bench")]
pub async fn run_once_ungoverned(
    db: &Db,
    sending: &Sending,
    clock: Clock,
) -> Result<PassReport, AppError> {
    pass(&Sender::new(db, sending, clock).await?.ungoverned()).await
}

async fn pass(sender: &Sender<'_>) -> Result<PassReport, AppError> {
    let mut report = PassReport::default();
    flows(sender, &mut report).await?;
    events(sender, &mut report).await?;
    campaigns(sender, &mut report).await?;
    fallbacks(sender, &mut report).await?;
    Ok(report)
}

/// Runs a pass every `every`, for as long as the server runs.
pub async fn run_forever(
    db: Db,
    config: std::sync::Arc<crate::server::config::Config>,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match run_once(&db, &config.sending(), config.clock()).await {
            Ok(r) if r.sent_anything() => tracing::info!(report = %r.describe(), "scheduler pass"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.reason(), "scheduler pass failed"),
        }
    }
}

struct Step {
    id: i64,
    flow: usize,
    day: i32,
    template: Option<Template>,
    covered: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct StepRow {
    id: i64,
    flow_id: i64,
    day: i32,
    template_id: Option<i64>,
    covered_through: Option<NaiveDate>,
}

/// A client a flow step falls on, with what may suspend its main flow.
#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    flow_stop: Option<FlowStop>,
    flow_paused_until: Option<NaiveDate>,
    promise_pending: bool,
}

async fn flows(s: &Sender<'_>, report: &mut PassReport) -> Result<(), AppError> {
    let now = s.clock.now;
    let db = s.db;
    let today = s.clock.today;
    let flows: Vec<(i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, segment_id FROM flows WHERE active ORDER BY position, id").fetch_all(p).await)?;
    let mut trees: Vec<Tree> = Vec::with_capacity(flows.len());
    for (_, segment) in &flows {
        trees.push(segments::tree(db, *segment).await?);
    }
    let rows: Vec<StepRow> = on_db!(db, p => sqlx::query_as(
        "SELECT st.id, st.flow_id, CAST(st.day AS INTEGER) AS day, st.template_id, st.covered_through
         FROM flow_steps st JOIN flows f ON f.id = st.flow_id WHERE f.active ORDER BY st.id").fetch_all(p).await)?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(flow) = flows.iter().position(|(f, _)| *f == row.flow_id) else {
            continue;
        };
        let id = row.id;
        let template = match row.template_id {
            Some(t) => Some(templates::get(db, t).await?.ok_or_else(|| {
                AppError::internal(format!("flow step {id}: template {t} missing"))
            })?),
            None => None,
        };
        steps.push(Step {
            id,
            flow,
            day: row.day,
            template,
            covered: row.covered_through,
        });
    }
    let clock = &s.clock;
    let due = s.due_at();
    for step in &steps {
        for day in pass_days(step.covered, today) {
            // The clients whose oldest due date puts this step on `day`, in this flow's
            // segment and in none of the flows before it, not sent it yet.
            let mut sql = Sql::new(
                "SELECT c.id, c.flow_stop, c.flow_paused_until,
                    EXISTS (SELECT 1 FROM promises p WHERE p.client_id = c.id AND p.state = 'pending')
                        AS promise_pending
                 FROM clients c WHERE c.oldest_unpaid_due_date = ",
            );
            sql.bind(Value::Date(anchor_for(day, step.day)))
                .push(" AND ")
                .tree(&trees[step.flow], clock);
            for earlier in &trees[..step.flow] {
                sql.push(" AND NOT ").tree(earlier, clock);
            }
            sql.push(" AND NOT EXISTS (SELECT 1 FROM flow_sends fs WHERE fs.step_id = ")
                .bind(Value::Int(step.id))
                .push(" AND fs.client_id = c.id) ORDER BY c.id");
            let candidates: Vec<Candidate> = sql.rows(db).await?;
            for chunk in candidates.chunks(POLICY_BATCH) {
                let ids: Vec<i64> = chunk.iter().map(|c| c.id).collect();
                let mut batch = s.batch(&ids).await?;
                for c in chunk {
                    let client_id = c.id;
                    if suspension(c.flow_stop, c.flow_paused_until, c.promise_pending, today)
                        .is_some()
                    {
                        report.suspended_skipped += 1;
                        continue;
                    }
                    let draft = match &step.template {
                        Some(t) => match s.template(client_id, t, &batch).await? {
                            Some(d) => Some(d),
                            None => continue,
                        },
                        None => None,
                    };
                    let mut tx = db.begin().await?;
                    let claimed: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
                    "INSERT INTO flow_sends (step_id, client_id, sent_on) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING RETURNING client_id")
                    .bind(step.id).bind(client_id).bind(today).fetch_optional(&mut *c).await)?;
                    if claimed.is_none() {
                        continue;
                    }
                    match &draft {
                        Some(d) => {
                            let message =
                                write(&mut tx, d, Origin::Flow, &mut batch, due, now).await?;
                            on_tx!(&mut tx, c => sqlx::query(
                            "UPDATE flow_sends SET message_id = $3 WHERE step_id = $1 AND client_id = $2")
                            .bind(step.id).bind(client_id).bind(message)
                            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
                            report.flow_messages += 1;
                        }
                        None => {
                            let call_day = clock.local_day(due);
                            calls::schedule(
                                &mut tx,
                                client_id,
                                call_day,
                                CallReason::Flow,
                                None,
                                now,
                            )
                            .await?;
                            report.flow_calls += 1;
                        }
                    }
                    tx.commit().await?;
                }
            }
            if !report.days.contains(&day) {
                report.days.push(day);
            }
        }
        on_db!(db, p => sqlx::query(
            "UPDATE flow_steps SET covered_through = $2 WHERE id = $1
             AND (covered_through IS NULL OR covered_through < $2)")
            .bind(step.id).bind(today).execute(p).await.map(|r| r.rows_affected()))?;
    }
    report.days.sort();
    Ok(())
}

/// The promises or payments that fire a rule and have not yet: (source id, client).
fn event_sources(
    trigger: Trigger,
    rule_id: i64,
    since: DateTime<Utc>,
    today: NaiveDate,
    days_before: i32,
) -> Sql {
    let not_sent = " AND NOT EXISTS (SELECT 1 FROM event_sends e WHERE e.rule_id = $1 AND e.source_id = x.id) ORDER BY x.id";
    let (text, when) = match trigger {
        Trigger::PromiseCreated => ("SELECT x.id, x.client_id FROM promises x WHERE x.created_at >= $2", Value::Time(since)),
        Trigger::PromiseDue => (
            "SELECT x.id, x.client_id FROM promises x WHERE x.state = 'pending' AND x.promised_date = $2",
            Value::Date(today + Duration::days(i64::from(days_before))),
        ),
        Trigger::PromiseBroken => (
            "SELECT x.id, x.client_id FROM promises x WHERE x.state = 'broken' AND x.resolved_at >= $2",
            Value::Time(since),
        ),
        Trigger::PaymentToVerify => ("SELECT x.id, x.client_id FROM payments x WHERE x.declared_at >= $2", Value::Time(since)),
        Trigger::PaymentApproved => (
            "SELECT x.id, x.client_id FROM payments x WHERE x.status = 'approved' AND x.reviewed_at >= $2",
            Value::Time(since),
        ),
        Trigger::PaymentRejected => (
            "SELECT x.id, x.client_id FROM payments x WHERE x.status = 'rejected' AND x.reviewed_at >= $2",
            Value::Time(since),
        ),
    };
    let mut sql = Sql::new(text);
    sql.push(not_sent);
    sql.binds = vec![Value::Int(rule_id), when];
    sql
}

/// Events reach every client, the suspended ones too: that is what they are for.
async fn events(s: &Sender<'_>, report: &mut PassReport) -> Result<(), AppError> {
    let now = s.clock.now;
    let db = s.db;
    let rules: Vec<(i64, Trigger, i32, i64, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, trigger_kind, CAST(days_before AS INTEGER), template_id, created_at FROM event_rules WHERE active ORDER BY id")
        .fetch_all(p).await)?;
    let due = s.due_at();
    for (rule_id, trigger, days_before, template_id, created_at) in rules {
        let Some(template) = templates::get(db, template_id).await? else {
            continue;
        };
        // A rule acts on what happens from its creation on, never on older history.
        let since = created_at.max(now - Duration::days(LOOKBACK_DAYS));
        let sources: Vec<(i64, i64)> =
            event_sources(trigger, rule_id, since, s.clock.today, days_before)
                .rows(db)
                .await?;
        for chunk in sources.chunks(POLICY_BATCH) {
            let ids: Vec<i64> = chunk.iter().map(|(_, c)| *c).collect();
            let mut batch = s.batch(&ids).await?;
            for &(source_id, client_id) in chunk {
                let Some(draft) = s.template(client_id, &template, &batch).await? else {
                    continue;
                };
                let mut tx = db.begin().await?;
                let claimed: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
                "INSERT INTO event_sends (rule_id, source_id, client_id, sent_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING RETURNING rule_id")
                .bind(rule_id).bind(source_id).bind(client_id).bind(now).fetch_optional(&mut *c).await)?;
                if claimed.is_none() {
                    continue;
                }
                let message = write(&mut tx, &draft, Origin::Event, &mut batch, due, now).await?;
                on_tx!(&mut tx, c => sqlx::query(
                "UPDATE event_sends SET message_id = $3 WHERE rule_id = $1 AND source_id = $2")
                .bind(rule_id).bind(source_id).bind(message).execute(&mut *c).await.map(|r| r.rows_affected()))?;
                tx.commit().await?;
                report.event_messages += 1;
            }
        }
    }
    Ok(())
}

/// The campaign's clients not written yet, after `after`: its segment, less the clients
/// whose communications are paused.
fn campaign_batch(tree: &Tree, clock: &Clock, campaign: i64, after: i64) -> Sql {
    let mut sql = Sql::new("SELECT c.id FROM clients c WHERE c.id > ");
    sql.bind(Value::Int(after))
        .push(" AND (c.flow_paused_until IS NULL OR c.flow_paused_until < ")
        .bind(Value::Date(clock.today))
        .push(") AND ")
        .tree(tree, clock)
        .push(" AND NOT EXISTS (SELECT 1 FROM campaign_sends cs WHERE cs.campaign_id = ")
        .bind(Value::Int(campaign))
        .push(" AND cs.client_id = c.id) ORDER BY c.id LIMIT ")
        .bind(Value::Int(CAMPAIGN_BATCH));
    sql
}

async fn campaigns(s: &Sender<'_>, report: &mut PassReport) -> Result<(), AppError> {
    let now = s.clock.now;
    let db = s.db;
    let due_campaigns: Vec<(i64, i64, i64, CampaignState)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, segment_id, template_id, state FROM campaigns
         WHERE state IN ('scheduled', 'running') AND scheduled_at <= $1 ORDER BY scheduled_at, id")
        .bind(now).fetch_all(p).await)?;
    let clock = &s.clock;
    let due = s.due_at();
    for (campaign, segment, template_id, state) in due_campaigns {
        let tree = segments::tree(db, segment).await?;
        let template = templates::get(db, template_id).await?.ok_or_else(|| {
            AppError::internal(format!(
                "campaign {campaign}: template {template_id} missing"
            ))
        })?;
        if state == CampaignState::Scheduled {
            let mut count = Sql::new("SELECT COUNT(*) FROM clients c WHERE (c.flow_paused_until IS NULL OR c.flow_paused_until < ");
            count
                .bind(Value::Date(clock.today))
                .push(") AND ")
                .tree(&tree, clock);
            let total = count.count(db).await?;
            on_db!(db, p => sqlx::query(
                "UPDATE campaigns SET state = 'running', total = $2 WHERE id = $1 AND state = 'scheduled'")
                .bind(campaign).bind(total).execute(p).await.map(|r| r.rows_affected()))?;
        }
        loop {
            let (state, after): (CampaignState, i64) = on_db!(db, p => sqlx::query_as(
                "SELECT state, after_client FROM campaigns WHERE id = $1").bind(campaign).fetch_one(p).await)?;
            if state != CampaignState::Running {
                break;
            }
            let clients: Vec<(i64,)> = campaign_batch(&tree, clock, campaign, after)
                .rows(db)
                .await?;
            let Some(&(last,)) = clients.last() else {
                on_db!(db, p => sqlx::query(
                    "UPDATE campaigns SET state = 'done', finished_at = $2 WHERE id = $1 AND state = 'running'")
                    .bind(campaign).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
                break;
            };
            let ids: Vec<i64> = clients.iter().map(|(c,)| *c).collect();
            let mut batch = s.batch(&ids).await?;
            for (client_id,) in clients {
                let Some(draft) = s.template(client_id, &template, &batch).await? else {
                    continue;
                };
                let mut tx = db.begin().await?;
                let claimed: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
                    "INSERT INTO campaign_sends (campaign_id, client_id) SELECT $1, $2
                     WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND state = 'running')
                     ON CONFLICT DO NOTHING RETURNING client_id")
                    .bind(campaign).bind(client_id).fetch_optional(&mut *c).await)?;
                if claimed.is_none() {
                    continue;
                }
                let message =
                    write(&mut tx, &draft, Origin::Campaign, &mut batch, due, now).await?;
                on_tx!(&mut tx, c => sqlx::query(
                    "UPDATE campaign_sends SET message_id = $3 WHERE campaign_id = $1 AND client_id = $2")
                    .bind(campaign).bind(client_id).bind(message).execute(&mut *c).await.map(|r| r.rows_affected()))?;
                tx.commit().await?;
                report.campaign_messages += 1;
            }
            on_db!(db, p => sqlx::query(
                "UPDATE campaigns SET after_client = $2 WHERE id = $1 AND after_client < $2")
                .bind(campaign).bind(last).execute(p).await.map(|r| r.rows_affected()))?;
        }
    }
    Ok(())
}

/// A failed automated message, in its tab.
#[derive(sqlx::FromRow)]
struct Failed {
    id: i64,
    client_id: i64,
    party_role: PartyRole,
    party_ordinal: i32,
    channel: Channel,
    origin: Origin,
}

/// "Canal alternativo": a failed automated message is followed by the standard message
/// on the last channel that reached that party (delivered, read, or written from).
async fn fallbacks(s: &Sender<'_>, report: &mut PassReport) -> Result<(), AppError> {
    let now = s.clock.now;
    if !s.settings.fallback_enabled {
        return Ok(());
    }
    let db = s.db;
    let failed: Vec<Failed> = on_db!(db, p => sqlx::query_as(
        "SELECT m.id, m.client_id, m.party_role, m.party_ordinal, m.channel, m.origin FROM messages m
         WHERE m.status = 'failed' AND m.origin IN ('flow', 'event', 'campaign') AND m.occurred_at >= $1
            AND m.client_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM fallbacks f WHERE f.failed_message_id = m.id)
            AND NOT EXISTS (SELECT 1 FROM fallbacks f WHERE f.fallback_message_id = m.id)
         ORDER BY m.id LIMIT 1000")
        .bind(now - Duration::days(LOOKBACK_DAYS)).fetch_all(p).await)?;
    let due = s.due_at();
    let ids: Vec<i64> = failed.iter().map(|f| f.client_id).collect();
    let mut batch = s.batch(&ids).await?;
    for Failed {
        id: message_id,
        client_id,
        party_role: role,
        party_ordinal: ordinal,
        channel,
        origin,
    } in failed
    {
        let last: Option<(Channel,)> = on_db!(db, p => sqlx::query_as(
            "SELECT channel FROM messages WHERE client_id = $1 AND party_role = $2 AND party_ordinal = $3
                AND channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms') AND channel <> $4
                AND (direction = 'inbound' OR status IN ('delivered', 'read'))
             ORDER BY occurred_at DESC, id DESC LIMIT 1")
            .bind(client_id).bind(role).bind(ordinal).bind(channel).fetch_optional(p).await)?;
        let draft: Option<Draft> = match last {
            Some((c,)) => {
                s.text(
                    client_id,
                    (role, ordinal),
                    c,
                    &s.settings.fallback_body,
                    &batch,
                )
                .await?
            }
            None => None,
        };
        let note = if draft.is_some() {
            ""
        } else {
            "Ningún otro canal llegó antes a este destinatario"
        };
        let mut tx = db.begin().await?;
        let claimed: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO fallbacks (failed_message_id, note, decided_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING RETURNING failed_message_id")
            .bind(message_id).bind(note).bind(now).fetch_optional(&mut *c).await)?;
        if claimed.is_none() {
            continue;
        }
        if let Some(d) = &draft {
            let id = write(&mut tx, d, origin, &mut batch, due, now).await?;
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE fallbacks SET fallback_message_id = $2 WHERE failed_message_id = $1")
                .bind(message_id).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            report.fallbacks += 1;
        }
        tx.commit().await?;
    }
    Ok(())
}
