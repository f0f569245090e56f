//! Ajustes › Política de contacto: each country's policy as administrators edit it,
//! and the holidays. Saving stores the whole policy; resetting goes back to the one
//! shipped with the application. Every change is audited.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::error::{AppError, FieldError};
use crate::domain::geo;
use crate::domain::governance::{Holiday, Policy, PolicyDetail, PolicySummary, NO_LEGAL_POLICY};
use crate::domain::user::Viewer;
use crate::server::audit;
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::messages::preflight::Policies;
use crate::{on_db, on_tx};

fn admin(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn country_name(code: &str) -> Result<&'static str, AppError> {
    geo::country(code)
        .map(|c| c.name)
        .ok_or_else(|| AppError::invalid("country", format!("País desconocido: «{code}».")))
}

/// Every country debtors can be from, with where its policy comes from.
#[tracing::instrument(skip_all)]
pub async fn summaries(
    db: &Db,
    viewer: &Viewer,
    clock: Clock,
) -> Result<Vec<PolicySummary>, AppError> {
    admin(viewer)?;
    let policies = Policies::current(db, clock.tz).await?;
    Ok(geo::COUNTRIES
        .iter()
        .map(|c| {
            let p = policies.policy(c.code);
            PolicySummary {
                country: c.code.to_string(),
                country_name: c.name.to_string(),
                legal: p.source != NO_LEGAL_POLICY,
                edited: policies.is_edited(c.code),
                source: p.source,
            }
        })
        .collect())
}

#[tracing::instrument(skip_all)]
pub async fn detail(
    db: &Db,
    viewer: &Viewer,
    country: &str,
    clock: Clock,
) -> Result<PolicyDetail, AppError> {
    admin(viewer)?;
    let name = country_name(country)?;
    let policies = Policies::current(db, clock.tz).await?;
    let days: Vec<(NaiveDate, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT day, name FROM holidays WHERE country = $1 ORDER BY day")
        .bind(country).fetch_all(p).await)?;
    Ok(PolicyDetail {
        policy: policies.policy(country),
        country_name: name.to_string(),
        edited: policies.is_edited(country),
        holidays: days
            .into_iter()
            .map(|(day, name)| Holiday {
                country: country.to_string(),
                day,
                name,
            })
            .collect(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    viewer: &Viewer,
    policy: Policy,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    country_name(&policy.country)?;
    policy.validate().map_err(AppError::Invalid)?;
    let mut policy = policy;
    policy.source = policy.source.trim().to_string();
    if policy.source.is_empty() {
        return Err(AppError::invalid(
            "source",
            "Di de dónde salen estas reglas (la ley y sus artículos, o la decisión de la organización).",
        ));
    }
    let rules = serde_json::to_string(&policy).map_err(AppError::internal)?;
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO contact_policies (country, rules, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (country) DO UPDATE SET rules = $2, updated_at = $3, updated_by = $4")
        .bind(&policy.country).bind(&rules).bind(now).bind(viewer.user_id)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let subject = format!("country:{}", policy.country);
    Policies::changed(&mut tx).await?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "contact_policy.save",
        &subject,
        &rules,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Back to the policy shipped with the application.
#[tracing::instrument(skip_all)]
pub async fn reset(
    db: &Db,
    viewer: &Viewer,
    country: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    country_name(country)?;
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM contact_policies WHERE country = $1")
        .bind(country).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let subject = format!("country:{country}");
    Policies::changed(&mut tx).await?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "contact_policy.reset",
        &subject,
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn add_holiday(
    db: &Db,
    viewer: &Viewer,
    country: &str,
    day: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    country_name(country)?;
    let mut errors = Vec::new();
    let parsed = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            "holiday_day",
            "Elige la fecha del festivo.",
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        errors.push(FieldError::new(
            "holiday_name",
            "Nombra el festivo (hasta 80 caracteres).",
        ));
    }
    let Some(day) = parsed.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let mut tx = db.begin().await?;
    let added = on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO holidays (country, day, name) VALUES ($1, $2, $3) ON CONFLICT (country, day) DO NOTHING")
        .bind(country).bind(day).bind(name).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if added == 0 {
        return Err(AppError::invalid(
            "holiday_day",
            format!("El {} ya es festivo.", day.format("%d/%m/%Y")),
        ));
    }
    let subject = format!("country:{country}");
    let detail = format!("{day} {name}");
    Policies::changed(&mut tx).await?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "holiday.add",
        &subject,
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn delete_holiday(
    db: &Db,
    viewer: &Viewer,
    country: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin(viewer)?;
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query("DELETE FROM holidays WHERE country = $1 AND day = $2")
        .bind(country).bind(day).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    let subject = format!("country:{country}");
    Policies::changed(&mut tx).await?;
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "holiday.delete",
        &subject,
        &day.to_string(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
