//! Flows, events and campaigns as the administrator sets them up, and the settings they
//! share (contact hours, the fallback channel). The scheduler ([`scheduler`]) sends.

pub mod scheduler;
pub mod send;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::automation::{
    step_day_label, AutomationSettings, Campaign, CampaignInput, CampaignState, ContactHours,
    EventRule, EventRuleInput, Flow, FlowInput, FlowStep,
};
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::domain::message::DeliveryStatus;
use crate::domain::user::Viewer;
use crate::on_db;
use crate::on_tx;
use crate::server::clock::Clock;
use crate::server::db::{saved_id, Db, Tx};
use crate::server::{audit, messages, templates};

fn admin(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[tracing::instrument(skip_all)]
pub async fn settings(db: &Db) -> Result<AutomationSettings, AppError> {
    let (days, start, end, enabled, body): (String, String, String, bool, String) = on_db!(db, p => sqlx::query_as(
        "SELECT contact_days, contact_start, contact_end, fallback_enabled, fallback_body
         FROM automation_settings WHERE id = 1").fetch_one(p).await)?;
    let contact = ContactHours::parse(&days, &start, &end)
        .map_err(|e| crate::server::db::corrupt("contact hours", format!("{e:?}")))?;
    Ok(AutomationSettings {
        contact,
        fallback_enabled: enabled,
        fallback_body: body,
    })
}

#[tracing::instrument(skip_all)]
pub async fn save_settings(
    db: &Db,
    viewer: &Viewer,
    input: AutomationSettings,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    let c = input.contact;
    let start = c.start.format("%H:%M").to_string();
    let end = c.end.format("%H:%M").to_string();
    ContactHours::parse(&c.days_text(), &start, &end).map_err(AppError::Invalid)?;
    let body = input.fallback_body.trim();
    if let Err(e) = crate::domain::templates::check_tags(body) {
        return Err(AppError::invalid("fallback_body", e));
    }
    if input.fallback_enabled && body.is_empty() {
        return Err(AppError::invalid(
            "fallback_body",
            "Escribe el mensaje del canal alternativo.",
        ));
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, x => sqlx::query(
        "UPDATE automation_settings SET contact_days = $1, contact_start = $2, contact_end = $3,
            fallback_enabled = $4, fallback_body = $5, updated_at = $6, updated_by = $7,
            policy_revision = policy_revision + 1 WHERE id = 1")
        .bind(c.days_text()).bind(&start).bind(&end).bind(input.fallback_enabled).bind(body)
        .bind(now).bind(viewer.user_id).execute(&mut *x).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "automation.settings",
        "automation",
        &format!(
            "{} {start}-{end} alternativo={}",
            c.days_text(),
            input.fallback_enabled
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The template a flow, event or campaign names: it must exist.
async fn template_named(db: &Db, id: i64) -> Result<crate::domain::templates::Template, AppError> {
    templates::get(db, id)
        .await?
        .ok_or_else(|| AppError::invalid("template", "Esa plantilla ya no existe."))
}

async fn segment_exists(db: &Db, id: i64) -> Result<(), AppError> {
    crate::server::segments::get(db, id)
        .await
        .map(drop)
        .map_err(|e| match e {
            AppError::NotFound => AppError::invalid("segment", "Ese segmento ya no existe."),
            e => e,
        })
}

/// A flow's step with its template, if it sends one.
#[derive(sqlx::FromRow)]
struct StepRow {
    id: i64,
    flow_id: i64,
    day: i32,
    template_id: Option<i64>,
    template_name: Option<String>,
    channel: Option<Channel>,
    sent: i64,
}

#[tracing::instrument(skip_all)]
pub async fn flows(db: &Db) -> Result<Vec<Flow>, AppError> {
    let mut flows: Vec<Flow> = on_db!(db, p => sqlx::query_as(
        "SELECT f.id, f.name, f.segment_id, s.name AS segment_name, CAST(f.position AS INTEGER) AS position,
            f.active
         FROM flows f JOIN segments s ON s.id = f.segment_id ORDER BY f.position, f.id").fetch_all(p).await)?;
    let steps: Vec<StepRow> = on_db!(db, p => sqlx::query_as(
        "SELECT st.id, st.flow_id, CAST(st.day AS INTEGER) AS day, st.template_id, t.name AS template_name,
            t.channel, (SELECT COUNT(*) FROM flow_sends fs WHERE fs.step_id = st.id) AS sent
         FROM flow_steps st LEFT JOIN templates t ON t.id = st.template_id ORDER BY st.day, st.id")
        .fetch_all(p).await)?;
    for flow in &mut flows {
        for s in steps.iter().filter(|s| s.flow_id == flow.id) {
            let channel = s.channel.unwrap_or(Channel::Call);
            flow.steps.push(FlowStep {
                id: s.id,
                day: s.day,
                template_id: s.template_id,
                action: match &s.template_name {
                    Some(n) => format!(
                        "{}: plantilla «{n}» por {}",
                        step_day_label(s.day),
                        channel.label()
                    ),
                    None => format!("{}: llamada en la bandeja Llamadas", step_day_label(s.day)),
                },
                channel,
                sent: s.sent,
            });
        }
    }
    Ok(flows)
}

/// Creates or changes a flow. Steps kept as they were keep what they sent, so that
/// editing a flow never sends a step twice to anyone.
#[tracing::instrument(skip_all)]
pub async fn save_flow(
    db: &Db,
    viewer: &Viewer,
    id: Option<i64>,
    input: FlowInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    admin(viewer)?;
    let (name, segment_id, steps) = input.check().map_err(AppError::Invalid)?;
    segment_exists(db, segment_id).await?;
    for s in &steps {
        if let Some(t) = s.template_id {
            template_named(db, t).await?;
        }
    }
    let mut tx = db.begin().await?;
    let saved: Result<Option<(i64,)>, sqlx::Error> = match id {
        None => on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO flows (name, segment_id, position, active, created_at, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id")
            .bind(&name).bind(segment_id).bind(i64::from(input.position)).bind(input.active).bind(now)
            .bind(viewer.user_id).fetch_optional(&mut *c).await),
        Some(id) => on_tx!(&mut tx, c => sqlx::query_as(
            "UPDATE flows SET name = $1, segment_id = $2, position = $3, active = $4, updated_at = $5, updated_by = $6
             WHERE id = $7 RETURNING id")
            .bind(&name).bind(segment_id).bind(i64::from(input.position)).bind(input.active).bind(now)
            .bind(viewer.user_id).bind(id).fetch_optional(&mut *c).await),
    };
    let flow_id = saved_id(saved, || {
        AppError::invalid("name", "Ya existe un flujo con ese nombre.")
    })?;
    let existing: Vec<(i64, i32, Option<i64>)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT id, CAST(day AS INTEGER), template_id FROM flow_steps WHERE flow_id = $1")
        .bind(flow_id).fetch_all(&mut *c).await)?;
    for (step_id, day, template) in &existing {
        if !steps
            .iter()
            .any(|s| s.day == *day && s.template_id == *template)
        {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM flow_steps WHERE id = $1")
                .bind(step_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    for s in &steps {
        if !existing
            .iter()
            .any(|(_, d, t)| *d == s.day && *t == s.template_id)
        {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO flow_steps (flow_id, day, template_id) VALUES ($1, $2, $3)")
                .bind(flow_id).bind(i64::from(s.day)).bind(s.template_id)
                .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "flow.save",
        &format!("flow:{flow_id}"),
        &format!("{name}: {} pasos", steps.len()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(flow_id)
}

#[tracing::instrument(skip_all)]
pub async fn delete_flow(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    let mut tx = db.begin().await?;
    audit::delete_recorded(&mut tx, viewer.user_id, "flows", "flow", id, now).await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn events(db: &Db) -> Result<Vec<EventRule>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT e.id, e.name, e.trigger_kind AS trigger, CAST(e.days_before AS INTEGER) AS days_before,
            e.template_id, t.name AS template_name, t.channel, e.active,
            (SELECT COUNT(*) FROM event_sends s WHERE s.rule_id = e.id) AS sent
         FROM event_rules e JOIN templates t ON t.id = e.template_id ORDER BY e.name").fetch_all(p).await)?)
}

#[tracing::instrument(skip_all)]
pub async fn save_event(
    db: &Db,
    viewer: &Viewer,
    id: Option<i64>,
    input: EventRuleInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    admin(viewer)?;
    let (name, template_id) = input.check().map_err(AppError::Invalid)?;
    template_named(db, template_id).await?;
    let mut tx = db.begin().await?;
    let saved: Result<Option<(i64,)>, sqlx::Error> = match id {
        None => on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO event_rules (name, trigger_kind, days_before, template_id, active, created_at, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id")
            .bind(&name).bind(input.trigger.as_str()).bind(i64::from(input.days_before)).bind(template_id)
            .bind(input.active).bind(now).bind(viewer.user_id).fetch_optional(&mut *c).await),
        Some(id) => on_tx!(&mut tx, c => sqlx::query_as(
            "UPDATE event_rules SET name = $1, trigger_kind = $2, days_before = $3, template_id = $4, active = $5,
                updated_at = $6, updated_by = $7 WHERE id = $8 RETURNING id")
            .bind(&name).bind(input.trigger.as_str()).bind(i64::from(input.days_before)).bind(template_id)
            .bind(input.active).bind(now).bind(viewer.user_id).bind(id).fetch_optional(&mut *c).await),
    };
    let id = saved_id(saved, || {
        AppError::invalid("name", "Ya existe un evento con ese nombre.")
    })?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "event.save",
        &format!("event:{id}"),
        &name,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip_all)]
pub async fn delete_event(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    let mut tx = db.begin().await?;
    audit::delete_recorded(&mut tx, viewer.user_id, "event_rules", "event", id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A campaign as stored, its time still in UTC.
#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: i64,
    name: String,
    segment_name: String,
    template_name: String,
    channel: Channel,
    scheduled_at: DateTime<Utc>,
    state: CampaignState,
    total: Option<i64>,
    written: i64,
    delivered: i64,
    failed: i64,
}

#[tracing::instrument(skip_all)]
pub async fn campaigns(db: &Db, clock: Clock) -> Result<Vec<Campaign>, AppError> {
    let rows: Vec<CampaignRow> = on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.name, s.name AS segment_name, t.name AS template_name, t.channel, c.scheduled_at,
            c.state, c.total,
            (SELECT COUNT(*) FROM campaign_sends cs WHERE cs.campaign_id = c.id) AS written,
            (SELECT COUNT(*) FROM campaign_sends cs JOIN messages m ON m.id = cs.message_id
                WHERE cs.campaign_id = c.id AND m.status IN ('delivered', 'read')) AS delivered,
            (SELECT COUNT(*) FROM campaign_sends cs JOIN messages m ON m.id = cs.message_id
                WHERE cs.campaign_id = c.id AND m.status = 'failed') AS failed
         FROM campaigns c JOIN segments s ON s.id = c.segment_id JOIN templates t ON t.id = c.template_id
         ORDER BY c.scheduled_at DESC, c.id DESC LIMIT 200").fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| Campaign {
            id: r.id,
            name: r.name,
            segment_name: r.segment_name,
            template_name: r.template_name,
            channel: r.channel,
            scheduled_at: clock.local(r.scheduled_at),
            state: r.state,
            total: r.total,
            written: r.written,
            delivered: r.delivered,
            failed: r.failed,
        })
        .collect())
}

/// Programs a campaign; an empty time sends at the scheduler's next pass.
#[tracing::instrument(skip_all)]
pub async fn create_campaign(
    db: &Db,
    viewer: &Viewer,
    input: CampaignInput,
    clock: Clock,
) -> Result<i64, AppError> {
    admin(viewer)?;
    let now = clock.now;
    let (name, segment_id, template_id, at) = input.check().map_err(AppError::Invalid)?;
    segment_exists(db, segment_id).await?;
    template_named(db, template_id).await?;
    let at = match at {
        None => now,
        Some(local) => clock
            .tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| {
                AppError::invalid(
                    "scheduled_at",
                    "Esa hora no existe en la zona horaria de la organización.",
                )
            })?,
    };
    if at < now - chrono::Duration::minutes(5) {
        return Err(AppError::invalid(
            "scheduled_at",
            "La fecha y hora ya pasaron: elige una futura o déjala vacía para enviar ahora.",
        ));
    }
    let mut tx = db.begin().await?;
    let (id,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "INSERT INTO campaigns (name, segment_id, template_id, scheduled_at, state, created_at, created_by)
         VALUES ($1, $2, $3, $4, 'scheduled', $5, $6) RETURNING id")
        .bind(&name).bind(segment_id).bind(template_id).bind(at).bind(now).bind(viewer.user_id)
        .fetch_one(&mut *c).await)?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "campaign.create",
        &format!("campaign:{id}"),
        &name,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Stops a campaign: nothing more is written, and what still waits in the outbox (for
/// the contact hours) is withdrawn. What already went out stays. A finished campaign
/// can be cancelled while some of its messages wait. Returns how many were withdrawn.
#[tracing::instrument(skip_all)]
pub async fn cancel_campaign(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    admin(viewer)?;
    let mut tx = db.begin().await?;
    let state: Option<(CampaignState,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT state FROM campaigns WHERE id = $1").bind(id).fetch_optional(&mut *c).await)?;
    let (state,) = state.ok_or(AppError::NotFound)?;
    if state == CampaignState::Cancelled {
        return Err(AppError::invalid(
            "campaign",
            "La campaña ya estaba cancelada.",
        ));
    }
    let waiting = withdraw(&mut tx, id, now).await?;
    if state == CampaignState::Done && waiting == 0 {
        return Err(AppError::invalid(
            "campaign",
            "La campaña ya terminó: no queda nada por enviar.",
        ));
    }
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE campaigns SET state = 'cancelled', finished_at = $2, cancelled_by = $3 WHERE id = $1")
        .bind(id).bind(now).bind(viewer.user_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "campaign.cancel",
        &format!("campaign:{id}"),
        &format!("{waiting} mensajes retirados"),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(waiting)
}

/// Fails the campaign's messages still waiting to go out, and keeps the fallback from
/// sending them another way.
async fn withdraw(tx: &mut Tx, campaign_id: i64, now: DateTime<Utc>) -> Result<u64, AppError> {
    let waiting: Vec<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT o.message_id FROM campaign_sends cs JOIN outbox o ON o.message_id = cs.message_id
         WHERE cs.campaign_id = $1 AND o.state = 'pending'")
        .bind(campaign_id).fetch_all(&mut *c).await)?;
    for (message_id,) in &waiting {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO fallbacks (failed_message_id, note, decided_at) VALUES ($1, 'Campaña cancelada', $2)
             ON CONFLICT DO NOTHING")
            .bind(message_id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        messages::status::advance(
            tx,
            *message_id,
            DeliveryStatus::Failed,
            "Campaña cancelada antes del envío",
            now,
        )
        .await?;
    }
    Ok(waiting.len() as u64)
}
