//! User management: the rules that need the database on top of `UserInput::validate`.

use chrono::{DateTime, Utc};

use crate::domain::error::{AppError, FieldError};
use crate::domain::user::{Assignee, Role, User, ValidUser, Viewer};
use crate::server::audit;
use crate::server::auth::hash_password;
use crate::server::db::{is_unique_violation, Db, Tx};
use crate::{on_db, on_tx};

/// The account the payment portal declares payments and promises under (migration
/// 0005): it cannot sign in, and it is neither listed, edited nor assigned clients.
pub const PORTAL_USER_EMAIL: &str = "web-de-cobros@recaudo.invalid";

const USER_SELECT: &str =
    "SELECT u.id, u.name, u.email, u.role, u.supervisor_id, s.name AS supervisor_name,
        u.filter_unlocked, u.active, u.is_demo, u.phone
    FROM users u LEFT JOIN users s ON s.id = u.supervisor_id";

#[tracing::instrument(skip_all)]
pub async fn list(db: &Db) -> Result<Vec<User>, AppError> {
    let sql = format!(
        "{USER_SELECT} WHERE u.email <> '{PORTAL_USER_EMAIL}' ORDER BY CASE u.role WHEN 'admin' THEN 0 WHEN 'supervisor' THEN 1 ELSE 2 END, u.name, u.id"
    );
    Ok(on_db!(db, p => sqlx::query_as::<_, User>(&sql).fetch_all(p).await)?)
}

#[tracing::instrument(skip_all)]
pub async fn get(db: &Db, id: i64) -> Result<User, AppError> {
    let sql = format!("{USER_SELECT} WHERE u.id = $1 AND u.email <> '{PORTAL_USER_EMAIL}'");
    on_db!(db, p => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all)]
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, AppError> {
    let sql = format!("{USER_SELECT} WHERE u.email = $1");
    Ok(
        on_db!(db, p => sqlx::query_as::<_, User>(&sql).bind(email.trim().to_lowercase()).fetch_optional(p).await)?,
    )
}

/// Users clients can be assigned to, active or not (the caller filters with the rules).
#[tracing::instrument(skip_all)]
pub async fn assignees(db: &Db) -> Result<Vec<Assignee>, AppError> {
    let sql = format!(
        "SELECT id, name, role, supervisor_id, active FROM users
         WHERE role <> 'admin' AND email <> '{PORTAL_USER_EMAIL}' ORDER BY name, id"
    );
    Ok(on_db!(db, p => sqlx::query_as::<_, Assignee>(&sql).fetch_all(p).await)?)
}

pub async fn assignee(tx: &mut Tx, id: i64) -> Result<Option<Assignee>, AppError> {
    let sql = format!(
        "SELECT id, name, role, supervisor_id, active FROM users WHERE id = $1 AND email <> '{PORTAL_USER_EMAIL}'"
    );
    Ok(on_tx!(tx, c => sqlx::query_as::<_, Assignee>(&sql).bind(id).fetch_optional(&mut *c).await)?)
}

async fn check_supervisor(
    tx: &mut Tx,
    supervisor_id: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    if let Some(sid) = supervisor_id {
        let ok =
            matches!(assignee(tx, sid).await?, Some(a) if a.active && a.role == Role::Supervisor);
        if !ok {
            errors.push(FieldError::new(
                "supervisor_id",
                "Elige un supervisor activo.",
            ));
        }
    }
    Ok(())
}

fn email_taken() -> AppError {
    AppError::invalid("email", "Ya existe un usuario con ese correo.")
}

/// Creates a user. `actor` is `None` for the command line.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Db,
    actor: Option<i64>,
    input: ValidUser,
    is_demo: bool,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let password = input
        .password
        .clone()
        .ok_or_else(|| AppError::invalid("password", "Escribe una contraseña."))?;
    let hash = hash_password(password).await?;
    let mut tx = db.begin().await?;
    let mut errors = Vec::new();
    check_supervisor(&mut tx, input.supervisor_id, &mut errors).await?;
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let inserted = on_tx!(&mut tx, c => sqlx::query_as::<_, (i64,)>(
        "INSERT INTO users (name, email, password_hash, role, supervisor_id, filter_unlocked, active, is_demo, created_at, updated_at, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id")
        .bind(&input.name).bind(&input.email).bind(&hash).bind(input.role.as_str())
        .bind(input.supervisor_id).bind(input.filter_unlocked).bind(input.active).bind(is_demo).bind(now)
        .bind(&input.phone)
        .fetch_one(&mut *c).await);
    let id = match inserted {
        Ok((id,)) => id,
        Err(e) if is_unique_violation(&e) => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        actor,
        "user.create",
        &format!("user:{id}"),
        &format!("{} ({})", input.email, input.role.as_str()),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// Edits a user. Deactivation, a role change or a new password end the user's sessions.
#[tracing::instrument(skip_all)]
pub async fn update(
    db: &Db,
    actor: &Viewer,
    id: i64,
    input: ValidUser,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let current = get(db, id).await?;
    let mut errors = Vec::new();
    if id == actor.user_id {
        if input.role != Role::Admin && actor.role == Role::Admin {
            errors.push(FieldError::new(
                "role",
                "No puedes quitarte el rol de administrador.",
            ));
        }
        if !input.active {
            errors.push(FieldError::new(
                "active",
                "No puedes desactivar tu propio usuario.",
            ));
        }
    }
    let hash = match &input.password {
        Some(p) => Some(hash_password(p.clone()).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    check_supervisor(&mut tx, input.supervisor_id, &mut errors).await?;
    if input.supervisor_id == Some(id) {
        errors.push(FieldError::new(
            "supervisor_id",
            "Un usuario no puede ser su propio supervisor.",
        ));
    }
    if current.role == Role::Supervisor && input.role != Role::Supervisor {
        let advisors: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM users WHERE supervisor_id = $1 LIMIT 1").bind(id).fetch_optional(&mut *c).await)?;
        if advisors.is_some() {
            errors.push(FieldError::new(
                "role",
                "Tiene asesores a cargo: asígnalos a otro supervisor primero.",
            ));
        }
    }
    if input.role == Role::Admin && current.role != Role::Admin {
        let holds: Option<(i64,)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id FROM clients WHERE advisor_id = $1 LIMIT 1").bind(id).fetch_optional(&mut *c).await)?;
        if holds.is_some() {
            errors.push(FieldError::new(
                "role",
                "Tiene clientes asignados: reasígnalos antes de hacerlo administrador.",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let updated = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE users SET name = $2, email = $3, role = $4, supervisor_id = $5, filter_unlocked = $6,
             active = $7, password_hash = COALESCE($8, password_hash), updated_at = $9, phone = $10
         WHERE id = $1")
        .bind(id).bind(&input.name).bind(&input.email).bind(input.role.as_str()).bind(input.supervisor_id)
        .bind(input.filter_unlocked).bind(input.active).bind(hash.as_deref()).bind(now).bind(&input.phone)
        .execute(&mut *c).await.map(|r| r.rows_affected()));
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    }
    // The user's clients follow the new team.
    let team = Assignee {
        id,
        name: input.name.clone(),
        role: input.role,
        supervisor_id: input.supervisor_id,
        active: input.active,
    }
    .team_supervisor();
    on_tx!(&mut tx, c => sqlx::query("UPDATE clients SET supervisor_id = $2 WHERE advisor_id = $1")
        .bind(id).bind(team).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if !input.active || input.role != current.role || hash.is_some() {
        on_tx!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    let mut changes = Vec::new();
    if current.role != input.role {
        changes.push(format!(
            "rol {} → {}",
            current.role.as_str(),
            input.role.as_str()
        ));
    }
    if current.active != input.active {
        changes.push(if input.active {
            "activado".into()
        } else {
            "desactivado".to_string()
        });
    }
    if current.filter_unlocked != input.filter_unlocked {
        changes.push(format!("filtro desbloqueado: {}", input.filter_unlocked));
    }
    if current.supervisor_id != input.supervisor_id {
        changes.push(format!(
            "supervisor {:?} → {:?}",
            current.supervisor_id, input.supervisor_id
        ));
    }
    if hash.is_some() {
        changes.push("contraseña cambiada".into());
    }
    audit::record(
        &mut tx,
        Some(actor.user_id),
        "user.update",
        &format!("user:{id}"),
        &changes.join("; "),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}
