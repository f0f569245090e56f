//! Passwords, sessions and the login rate limit.

use std::sync::LazyLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::error::{AppError, FieldError};
use crate::domain::user::{LoginAlert, Role, Viewer};
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::{on_db, on_tx};

pub const SESSION_COOKIE: &str = "recaudo_session";

/// Failed logins one address may make on one e-mail before each next try waits
/// [`FIRST_DELAY_SECONDS`], doubled at every further failure, up to the window.
pub const FREE_FAILURES_PER_PAIR: i64 = 3;
pub const FIRST_DELAY_SECONDS: i64 = 5;
/// Failed logins allowed per client address, on any e-mail, within the window.
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// Failed logins on one e-mail, from any address, within the window, at which the
/// administrators are told. The account is never locked: a lock would let anyone
/// keep its owner out.
pub const ALERT_FAILURES_PER_EMAIL: i64 = 5;
/// What the login form takes: the longest e-mail address SMTP allows, and a password
/// far longer than anyone types. Checked before anything is counted or stored.
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A session is touched at most this often: reads stay reads.
const TOUCH_EVERY_SECONDS: i64 = 60;

#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), run off the async threads.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::internal(format!("hashing task failed: {e}")))?
    .map_err(|e| AppError::internal(format!("hashing failed: {e}")))
}

/// Verifying against this when the e-mail is unknown makes both failures take as long,
/// so response time does not tell which e-mails have accounts.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"recaudo-dummy-password", &salt)
        .expect("hashing a constant")
        .to_string()
});

pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks the credentials and opens a session; the token goes into the cookie.
#[tracing::instrument(skip_all)]
pub async fn login(
    db: &Db,
    policy: SessionPolicy,
    email: &str,
    password: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let mut too_long = Vec::new();
    if email.chars().count() > MAX_EMAIL_CHARS {
        too_long.push(FieldError::new(
            "email",
            format!("El correo no puede tener más de {MAX_EMAIL_CHARS} caracteres."),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        too_long.push(FieldError::new(
            "password",
            format!("La contraseña no puede tener más de {MAX_PASSWORD_BYTES} caracteres."),
        ));
    }
    if !too_long.is_empty() {
        return Err(AppError::Invalid(too_long));
    }
    let since = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    let (by_ip,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM login_failures WHERE ip = $1 AND at > $2")
        .bind(ip).bind(since).fetch_one(p).await)?;
    let pair: Vec<(DateTime<Utc>,)> = on_db!(db, p => sqlx::query_as(
        "SELECT at FROM login_failures WHERE email = $1 AND ip = $2 AND at > $3 ORDER BY at DESC")
        .bind(&email).bind(ip).bind(since).fetch_all(p).await)?;
    let waits_until = pair
        .first()
        .and_then(|(last,)| Some(*last + pair_delay(pair.len() as i64)?));
    if by_ip >= MAX_FAILURES_PER_IP || waits_until.is_some_and(|t| now < t) {
        tracing::warn!(%email, %ip, "login rate limited");
        return Err(AppError::RateLimited);
    }

    let found: Option<(i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE email = $1 AND active")
        .bind(&email).fetch_optional(p).await)?;
    let (user_id, hash) = match found {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    if !verify_password(hash, password.to_string()).await {
        failed(db, &email, ip, user_id, now).await?;
        return Err(AppError::BadCredentials);
    }
    let user_id = user_id.expect("a verified password belongs to a user");

    let token = new_token();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => {
        sqlx::query("DELETE FROM login_failures WHERE email = $1 AND ip = $2").bind(&email).bind(ip).execute(&mut *c).await.map(|r| r.rows_affected())?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)")
            .bind(token_hash(&token)).bind(user_id).bind(now).bind(now + policy.absolute)
            .execute(&mut *c).await.map(|r| r.rows_affected())?;
    });
    tx.commit().await?;
    Ok(token)
}

/// How long one address waits after its `failures`-th failure on one e-mail.
fn pair_delay(failures: i64) -> Option<Duration> {
    if failures < FREE_FAILURES_PER_PAIR {
        return None;
    }
    let doublings = failures - FREE_FAILURES_PER_PAIR;
    let seconds = FIRST_DELAY_SECONDS
        .checked_shl(doublings.min(20) as u32)
        .unwrap_or(i64::MAX)
        .min(FAILURE_WINDOW_MINUTES * 60);
    Some(Duration::seconds(seconds))
}

/// Counts a failed login; when a user's e-mail reaches the alert level, records it for
/// the administrators, once per window.
async fn failed(
    db: &Db,
    email: &str,
    ip: &str,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let since = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
    let mut tx = db.begin().await?;
    let (failures, addresses): (i64, i64) = on_tx!(&mut tx, c => {
        sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)")
            .bind(email).bind(ip).bind(now).execute(&mut *c).await?;
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT ip) FROM login_failures WHERE email = $1 AND at > $2")
            .bind(email).bind(since).fetch_one(&mut *c).await
    })?;
    if let (true, Some(id)) = (failures >= ALERT_FAILURES_PER_EMAIL, user_id) {
        let subject = format!("user:{id}");
        let (told,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject = $2 AND at > $3")
            .bind(LOGIN_ALERT).bind(&subject).bind(since).fetch_one(&mut *c).await)?;
        if told == 0 {
            tracing::warn!(%email, failures, addresses, "repeated failed logins on an account");
            crate::server::audit::record(
                &mut tx,
                None,
                LOGIN_ALERT,
                &subject,
                &format!("{failures} intentos fallidos desde {addresses} direcciones"),
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The audit action of repeated failed logins on an account.
pub const LOGIN_ALERT: &str = "login.failures";

/// The accounts of active users with [`ALERT_FAILURES_PER_EMAIL`] failed logins or
/// more in the last 24 hours, last attacked first.
pub async fn login_alerts(db: &Db, clock: Clock) -> Result<Vec<LoginAlert>, AppError> {
    let rows: Vec<(String, i64, i64, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
        "SELECT f.email, COUNT(*), COUNT(DISTINCT f.ip), MAX(f.at)
         FROM login_failures f JOIN users u ON u.email = f.email AND u.active
         WHERE f.at > $1 GROUP BY f.email HAVING COUNT(*) >= $2 ORDER BY MAX(f.at) DESC")
        .bind(clock.now - Duration::hours(24)).bind(ALERT_FAILURES_PER_EMAIL).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(email, failures, addresses, last)| LoginAlert {
            email,
            failures,
            addresses,
            last_at: clock.local(last),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: i64,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    name: String,
    email: String,
    role: Role,
    filter_unlocked: bool,
}

/// The viewer behind a session token, or `None` when it is unknown, expired (idle or
/// absolute) or its user was deactivated.
#[tracing::instrument(skip_all)]
pub async fn resolve_session(
    db: &Db,
    policy: SessionPolicy,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Viewer>, AppError> {
    let hash = token_hash(token);
    let row: Option<SessionRow> = on_db!(db, p => sqlx::query_as(
        "SELECT s.user_id, s.last_seen_at, s.expires_at, u.name, u.email, u.role, u.filter_unlocked
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND u.active")
        .bind(&hash).fetch_optional(p).await)?;
    let Some(row) = row else { return Ok(None) };
    if now >= row.expires_at || now >= row.last_seen_at + policy.idle {
        on_db!(db, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(&hash).execute(p).await.map(|r| r.rows_affected()))?;
        return Ok(None);
    }
    if now - row.last_seen_at >= Duration::seconds(TOUCH_EVERY_SECONDS) {
        on_db!(db, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(&hash).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    }
    let role = row.role;
    let has_clients = has_associated_clients(db, role, row.user_id).await?;
    Ok(Some(Viewer {
        user_id: row.user_id,
        name: row.name,
        email: row.email,
        role,
        filter_unlocked: row.filter_unlocked,
        has_clients,
    }))
}

/// One index probe: is any client assigned to this user (or, for a supervisor, their team)?
#[tracing::instrument(skip_all)]
pub async fn has_associated_clients(db: &Db, role: Role, user_id: i64) -> Result<bool, AppError> {
    let sql = match role {
        Role::Admin => return Ok(false),
        Role::Advisor => "SELECT 1 FROM clients WHERE advisor_id = $1 LIMIT 1",
        Role::Supervisor => "SELECT 1 FROM clients WHERE supervisor_id = $1 LIMIT 1",
    };
    let found: Option<(i32,)> =
        on_db!(db, p => sqlx::query_as(sql).bind(user_id).fetch_optional(p).await)?;
    Ok(found.is_some())
}

#[tracing::instrument(skip_all)]
pub async fn logout(db: &Db, token: &str) -> Result<(), AppError> {
    on_db!(db, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(token)).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Drops expired sessions and old login failures.
#[tracing::instrument(skip_all)]
pub async fn purge_expired(
    db: &Db,
    policy: SessionPolicy,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let n = on_db!(db, p => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now).bind(now - policy.idle).execute(p).await.map(|r| r.rows_affected()))?;
    on_db!(db, p => sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(now - Duration::days(1)).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n)
}

/// The `Set-Cookie` value for a new session (or, with `None`, one that clears it).
pub fn session_cookie(token: Option<&str>, policy: SessionPolicy, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            policy.absolute.num_seconds()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let policy = SessionPolicy {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        };
        let c = session_cookie(Some("tok"), policy, true);
        assert!(c.starts_with("recaudo_session=tok;"));
        for part in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Max-Age=43200",
            "Path=/",
        ] {
            assert!(c.contains(part), "{part} missing in {c}");
        }
        assert!(session_cookie(None, policy, false).contains("Max-Age=0"));
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correcta-horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(hash.clone()), "correcta-horse".into()).await);
        assert!(!verify_password(Some(hash), "incorrecta".into()).await);
        assert!(!verify_password(None, "recaudo-dummy-password".into()).await);
    }
}
