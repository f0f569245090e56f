//! One-click unsubscribe (RFC 8058) for the e-mails Recaudo sends. Each carries
//! `List-Unsubscribe: <{origin}/baja/{token}>` and `List-Unsubscribe-Post`, so the
//! debtor's mail client offers "Cancelar suscripción" and posts to us without opening a
//! page. The token names the address and is signed with a key only the server holds,
//! so nobody can unsubscribe an address they were not written at. It does not expire:
//! an old e-mail's link must keep working.

use chrono::{DateTime, Utc};

use crate::domain::contact::ContactKind;
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::on_tx;
use crate::server::channels::secret;
use crate::server::db::Db;
use crate::server::messages::preflight;
use crate::server::messages::PartyRef;
use crate::server::signing::{hex, hmac_sha256, unhex, verify_sha256};

const KEY_NAME: &str = "opt_out_links";

/// Where the links point, before the token.
pub const PATH: &str = "/baja/";

/// The opt-out's source as the conversation's note and the audit show it.
pub const SOURCE: &str = "usó el enlace de baja del correo";

fn signed_text(address: &str) -> String {
    format!("opt-out:email:{address}")
}

pub async fn key(db: &Db) -> Result<Vec<u8>, AppError> {
    secret(db, KEY_NAME).await
}

pub fn token(key: &[u8], address: &str) -> String {
    let digest = hmac_sha256(key, &[signed_text(address).as_bytes()]);
    format!("{}-{}", hex(address.as_bytes()), hex(&digest))
}

pub fn link(key: &[u8], origin: &str, address: &str) -> String {
    format!("{origin}{PATH}{}", token(key, address))
}

/// The address an intact token names.
pub fn check(key: &[u8], token: &str) -> Option<String> {
    let (address, sig) = token.split_once('-')?;
    let address = String::from_utf8(unhex(address)?).ok()?;
    let sig = unhex(sig).filter(|s| s.len() == 32)?;
    verify_sha256(key, &[signed_text(&address).as_bytes()], &sig).then_some(address)
}

/// Records the opt-out a token asks for, with a note in every tab that has the address;
/// returns the address. Asking twice changes nothing.
#[tracing::instrument(skip_all)]
pub async fn apply(db: &Db, token: &str, now: DateTime<Utc>) -> Result<String, AppError> {
    let address = check(&key(db).await?, token).ok_or_else(|| {
        AppError::invalid(
            "token",
            "El enlace de baja no es válido. Responde al correo pidiendo la baja.".to_string(),
        )
    })?;
    let mut tx = db.begin().await?;
    let already: Option<(String,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT address FROM contact_opt_outs WHERE address = $1 AND channel = $2")
        .bind(&address).bind(Channel::Email.as_str()).fetch_optional(&mut *c).await)?;
    if already.is_some() {
        return Ok(address);
    }
    let tabs: Vec<(i64, crate::domain::client::PartyRole, i32)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT DISTINCT p.client_id, p.role, p.ordinal FROM contact_points cp
         JOIN parties p ON p.id = cp.party_id
         WHERE cp.kind = $1 AND cp.value = $2 ORDER BY p.client_id, p.role, p.ordinal")
        .bind(ContactKind::Email.as_str()).bind(&address).fetch_all(&mut *c).await)?;
    let tabs: Vec<PartyRef> = tabs
        .into_iter()
        .map(|(client, role, ordinal)| PartyRef::new(client, role, ordinal))
        .collect();
    preflight::opt_out(&mut tx, &address, Channel::Email, SOURCE, &tabs, now).await?;
    tx.commit().await?;
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_address_and_nothing_else() {
        let key = b"k".repeat(32);
        let t = token(&key, "ana@deudores.test");
        assert_eq!(check(&key, &t).as_deref(), Some("ana@deudores.test"));
        assert_eq!(check(b"other", &t), None);
        let forged = token(&key, "ana@deudores.test").replacen(&hex(b"ana"), &hex(b"eva"), 1);
        assert_eq!(check(&key, &forged), None);
        assert_eq!(check(&key, "zz-zz"), None);
        assert_eq!(check(&key, ""), None);
        assert_eq!(
            link(&key, "https://r.test", "a@b.c"),
            format!("https://r.test/baja/{}", token(&key, "a@b.c"))
        );
    }
}
