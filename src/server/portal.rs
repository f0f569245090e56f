//! Links to the payment portal ("Web de cobros"): `/pago/{client}-{expiry}-{signature}`,
//! signed with a key only the server holds, so a link opens one client's page until
//! it expires and any change to it is refused.

use chrono::{DateTime, Utc};

use crate::domain::calls::DeclareInput;
use crate::domain::error::AppError;
use crate::domain::message::VisitState;
use crate::domain::portal::PortalPage;
use crate::domain::user::Scope;
use crate::on_db;
use crate::server::channels::secret;
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::messages::visits;
use crate::server::signing::{hex, hmac_sha256, unhex, verify_sha256};
use crate::server::users::PORTAL_USER_EMAIL;
use crate::server::{calls, clients};

/// The page name visits are shown under in the conversation.
pub const PAGE_NAME: &str = "Paga aquí";

const KEY_NAME: &str = "portal_links";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("El enlace no es válido. Pide a tu asesor uno nuevo.")]
    Invalid,
    #[error("El enlace venció. Pide a tu asesor uno nuevo.")]
    Expired,
}

fn signed_text(client_id: i64, expires: i64) -> String {
    format!("portal:{client_id}:{expires}")
}

/// The token for a client's page, valid until `expires`.
pub fn token(key: &[u8], client_id: i64, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let digest = hmac_sha256(key, &[signed_text(client_id, expires).as_bytes()]);
    format!("{client_id}-{expires}-{}", hex(&digest))
}

/// The client a token opens, if it is intact and not expired.
pub fn check(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
    let mut parts = token.splitn(3, '-');
    let (Some(client), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let client_id: i64 = client.parse().map_err(|_| LinkError::Invalid)?;
    let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
    let bytes = unhex(sig)
        .filter(|b| b.len() == 32)
        .ok_or(LinkError::Invalid)?;
    if !verify_sha256(key, &[signed_text(client_id, expires).as_bytes()], &bytes) {
        return Err(LinkError::Invalid);
    }
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(client_id)
}

/// The full address of a client's portal page.
#[tracing::instrument(skip_all)]
pub async fn link(
    db: &Db,
    origin: &str,
    client_id: i64,
    valid_days: i64,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    Ok(link_with(
        &link_key(db).await?,
        origin,
        client_id,
        valid_days,
        now,
    ))
}

/// The key portal links are signed with: read once by whoever writes many links.
#[tracing::instrument(skip_all)]
pub async fn link_key(db: &Db) -> Result<Vec<u8>, AppError> {
    secret(db, KEY_NAME).await
}

/// [`link`] with the key already read.
pub fn link_with(
    key: &[u8],
    origin: &str,
    client_id: i64,
    valid_days: i64,
    now: DateTime<Utc>,
) -> String {
    let expires = now + chrono::Duration::days(valid_days);
    format!("{origin}/pago/{}", token(key, client_id, expires))
}

/// The client of a portal token.
#[tracing::instrument(skip_all)]
pub async fn client_of(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<i64, LinkError>, AppError> {
    let key = secret(db, KEY_NAME).await?;
    Ok(check(&key, token, now))
}

fn refused(e: LinkError) -> AppError {
    AppError::invalid("token", e.to_string())
}

/// The client a token opens, or the reason it does not.
async fn client(db: &Db, token: &str, now: DateTime<Utc>) -> Result<i64, AppError> {
    client_of(db, token, now).await?.map_err(refused)
}

/// What a client's page shows. Nothing is recorded: a server-rendered page is also
/// what a link-preview robot or a mail scanner fetches ([`visit`] records the debtor).
#[tracing::instrument(skip_all)]
pub async fn open(
    db: &Db,
    token: &str,
    instructions: &str,
    clock: Clock,
) -> Result<(i64, PortalPage), AppError> {
    let client_id = client(db, token, clock.now).await?;
    let detail = clients::load_detail(db, Scope::All, client_id, clock.today)
        .await?
        .ok_or_else(|| refused(LinkError::Invalid))?;
    let page = PortalPage {
        client_name: detail.display_name,
        currency: detail.currency,
        overdue_total_cents: detail.summary.overdue_total_cents,
        days_overdue: detail.days_overdue,
        debts: detail
            .debts
            .into_iter()
            .filter(|d| d.outstanding_cents() > 0)
            .collect(),
        instructions: instructions.to_string(),
    };
    Ok((client_id, page))
}

/// Records a visit ("Abrió el enlace") from the page running in a browser, marked with
/// the robot's name when the `User-Agent` is a known link-preview one; returns the
/// visit, to which the later states are added.
#[tracing::instrument(skip_all)]
pub async fn visit(
    db: &Db,
    token: &str,
    user_agent: &str,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let client_id = client(db, token, now).await?;
    let agent = crate::domain::portal::preview_agent(user_agent);
    visits::record(
        db,
        client_id,
        PAGE_NAME,
        agent,
        &[(VisitState::Opened, now)],
    )
    .await
}

/// Adds a state to a visit of the token's client; returns the client.
#[tracing::instrument(skip_all)]
pub async fn step(
    db: &Db,
    token: &str,
    visit_id: i64,
    state: VisitState,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let client_id = client(db, token, now).await?;
    visits::add_state(db, client_id, visit_id, state, now).await?;
    Ok(client_id)
}

/// What the debtor declares on the page: a payment (to verify, with its receipt) or a
/// promise, registered under the portal's account and added to the visit.
#[tracing::instrument(skip_all)]
pub async fn declare(
    db: &Db,
    token: &str,
    visit_id: i64,
    mut input: DeclareInput,
    clock: Clock,
) -> Result<i64, AppError> {
    let now = clock.now;
    let client_id = client(db, token, now).await?;
    input.client_id = client_id;
    let (user,): (i64,) = on_db!(db, p => sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(PORTAL_USER_EMAIL).fetch_one(p).await)?;
    let state = if input.payment {
        VisitState::DeclaredPayment
    } else {
        VisitState::DeclaredPromise
    };
    // The visit is checked first, so that a bad one saves nothing.
    let visit: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM portal_visits WHERE id = $1 AND client_id = $2")
        .bind(visit_id).bind(client_id).fetch_optional(p).await)?;
    if visit.is_none() {
        return Err(AppError::NotFound);
    }
    calls::declare_as(db, user, input, clock).await?;
    step(db, token, visit_id, state, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_their_client_until_they_expire_and_refuse_any_change() {
        let key = b"clave de prueba";
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .to_utc();
        let t = token(key, 42, now + chrono::Duration::days(30));
        assert_eq!(check(key, &t, now), Ok(42));
        assert_eq!(
            check(key, &t, now + chrono::Duration::days(30)),
            Err(LinkError::Expired)
        );
        let other_client = t.replacen("42-", "43-", 1);
        assert_eq!(check(key, &other_client, now), Err(LinkError::Invalid));
        let (head, sig) = t.rsplit_once('-').unwrap();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        assert_eq!(
            check(key, &format!("{head}-{flipped}{}", &sig[1..]), now),
            Err(LinkError::Invalid)
        );
        let later = t.replacen(
            &format!("-{}-", (now + chrono::Duration::days(30)).timestamp()),
            &format!("-{}-", (now + chrono::Duration::days(300)).timestamp()),
            1,
        );
        assert_eq!(
            check(key, &later, now),
            Err(LinkError::Invalid),
            "a longer life"
        );
        assert_eq!(check(b"otra clave", &t, now), Err(LinkError::Invalid));
        for bad in ["", "42", "42-1", "x-1-ab", &format!("{head}-zz")] {
            assert_eq!(check(key, bad, now), Err(LinkError::Invalid), "{bad}");
        }
    }
}
