//! Message templates: Estrategias → Plantillas.

use chrono::{DateTime, Utc};

use crate::domain::error::AppError;
use crate::domain::templates::{render_message, tag_values, Preview, Template, TemplateInput};
use crate::domain::user::Viewer;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::db::{saved_id, Db};
use crate::server::{audit, clients, portal};
use crate::{on_db, on_tx};

const COLUMNS: &str = "id, name, channel, recipient, purpose, subject, body, approved";

#[tracing::instrument(skip_all)]
pub async fn list(db: &Db) -> Result<Vec<Template>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as(
        &format!("SELECT {COLUMNS} FROM templates ORDER BY name"))
        .fetch_all(p).await)?)
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, id: i64) -> Result<Option<Template>, AppError> {
    Ok(on_db!(db, p => sqlx::query_as(
        &format!("SELECT {COLUMNS} FROM templates WHERE id = $1"))
        .bind(id).fetch_optional(p).await)?)
}

/// The text as a client of the viewer's (the one named, else the first) would receive
/// it: the live preview of the Plantillas form.
#[tracing::instrument(skip_all)]
pub async fn preview(
    db: &Db,
    viewer: &Viewer,
    subject: &str,
    body: &str,
    client_id: Option<i64>,
    sending: &Sending,
    clock: Clock,
) -> Result<Preview, AppError> {
    let now = clock.now;
    let id = match client_id {
        Some(id) => id,
        None => {
            let first: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
                "SELECT id FROM clients ORDER BY id LIMIT 1").fetch_optional(p).await)?;
            first
                .ok_or_else(|| {
                    AppError::invalid("client", "Aún no hay clientes para la vista previa.")
                })?
                .0
        }
    };
    let client = clients::get(db, viewer, id, clock).await?;
    let link = portal::link(db, &sending.origin, id, sending.portal_link_days, now).await?;
    let values = tag_values(&client, &client.display_name, &link);
    let mut errors = Vec::new();
    let (subject, body) = render_message(subject, body, &values, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Preview {
        client_id: id,
        client_name: client.display_name,
        subject,
        body,
    })
}

fn name_taken() -> AppError {
    AppError::invalid("name", "Ya hay una plantilla con ese nombre.")
}

/// Creates (`id` None) or changes a template; administrators only.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    viewer: &Viewer,
    id: Option<i64>,
    input: TemplateInput,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    input.validate().map_err(AppError::Invalid)?;
    let mut tx = db.begin().await?;
    let saved: Result<Option<(i64,)>, sqlx::Error> = match id {
        None => on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO templates (name, channel, recipient, purpose, subject, body, approved, created_at, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id")
            .bind(input.name.trim()).bind(input.channel.as_str()).bind(input.recipient.as_str())
            .bind(input.purpose.as_str()).bind(input.subject.trim()).bind(&input.body).bind(input.approved)
            .bind(now).bind(viewer.user_id).fetch_optional(&mut *c).await),
        Some(id) => on_tx!(&mut tx, c => sqlx::query_as(
            "UPDATE templates SET name = $1, channel = $2, recipient = $3, purpose = $4, subject = $5, body = $6,
                approved = $7, updated_at = $8, updated_by = $9 WHERE id = $10 RETURNING id")
            .bind(input.name.trim()).bind(input.channel.as_str()).bind(input.recipient.as_str())
            .bind(input.purpose.as_str()).bind(input.subject.trim()).bind(&input.body).bind(input.approved)
            .bind(now).bind(viewer.user_id).bind(id).fetch_optional(&mut *c).await),
    };
    let id = saved_id(saved, name_taken)?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "template.save",
        &format!("template:{id}"),
        input.name.trim(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deletes a template; messages sent from it keep their text.
#[tracing::instrument(skip_all)]
pub async fn delete(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin().await?;
    let users: Vec<(String,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT 'el flujo «' || f.name || '»' FROM flow_steps st JOIN flows f ON f.id = st.flow_id WHERE st.template_id = $1
         UNION SELECT 'el evento «' || name || '»' FROM event_rules WHERE template_id = $1
         UNION SELECT 'la campaña «' || name || '»' FROM campaigns WHERE template_id = $1")
        .bind(id).fetch_all(&mut *c).await)?;
    if !users.is_empty() {
        let names: Vec<String> = users.into_iter().map(|(n,)| n).collect();
        return Err(AppError::invalid(
            "template",
            format!(
                "La plantilla se usa en {}: quítala de ahí antes de eliminarla.",
                names.join(", ")
            ),
        ));
    }
    audit::delete_recorded(&mut tx, viewer.user_id, "templates", "template", id, now).await?;
    tx.commit().await?;
    Ok(())
}
