//! Secrets at rest: the channels' credentials and the server's own keys are stored
//! sealed with ChaCha20-Poly1305 under a key from the environment
//! (`RECAUDO_SECRET_KEY`, 32 bytes as 64 hex digits), so a copy of the database or a
//! backup alone does not hand them out. A stored value reads `sealed1:` and the base64
//! of a fresh 12-byte nonce followed by the ciphertext and its tag.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use crate::domain::error::AppError;
use crate::on_tx;
use crate::server::db::Db;

const PREFIX: &str = "sealed1:";
const NONCE_BYTES: usize = 12;

/// The key demo databases are sealed with. It is public, as demo data is: outside
/// demo mode the server does not start without a key of its own.
const DEMO_KEY: [u8; 32] = *b"recaudo-demo-key-not-for-real-db";

#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// A key given as 64 hex digits.
    pub fn from_hex(key: &str) -> Result<Sealer, String> {
        let bytes = crate::server::signing::unhex(key.trim())
            .filter(|b| b.len() == 32)
            .ok_or("RECAUDO_SECRET_KEY: 64 dígitos hexadecimales (32 bytes)")?;
        Ok(Sealer::new(&bytes))
    }

    pub fn demo() -> Sealer {
        Sealer::new(&DEMO_KEY)
    }

    /// The demo key as `from_hex` reads it: for the processes a test starts on a
    /// database its own handle seals with the demo key.
    pub fn demo_hex() -> String {
        crate::server::signing::hex(&DEMO_KEY)
    }

    fn new(key: &[u8]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// A new random key, as `from_hex` reads it.
    pub fn generate() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        crate::server::signing::hex(&key)
    }

    /// The value as stored. Empty stays empty: it means "not set".
    pub fn seal(&self, plain: &str) -> String {
        if plain.is_empty() || is_sealed(plain) {
            return plain.to_string();
        }
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 seals any length we store");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The value a stored one holds. One not sealed (written before sealing existed, or
    /// by hand) is read as it is; the next start seals it ([`seal_stored`]).
    pub fn open(&self, stored: &str) -> Result<String, AppError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let refused = || {
            AppError::internal(
                "a sealed secret does not open with RECAUDO_SECRET_KEY (another key sealed it?)",
            )
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| refused())?;
        if bytes.len() < NONCE_BYTES {
            return Err(refused());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| refused())?;
        String::from_utf8(plain).map_err(|_| refused())
    }
}

/// Every stored secret, for sealing and re-sealing: (table, key column, value column).
const SEALED_COLUMNS: [(&str, &str, &str); 3] = [
    ("channel_settings", "channel", "secret"),
    ("channel_settings", "channel", "webhook_secret"),
    ("app_secrets", "name", "value"),
];

/// Seals the secrets still stored in the clear; returns how many.
pub async fn seal_stored(db: &Db) -> Result<u64, AppError> {
    let sealer = db.sealer().clone();
    rewrite(db, |stored| {
        Ok((!is_sealed(stored)).then(|| sealer.seal(stored)))
    })
    .await
}

/// Opens every stored secret with `old` and seals it again with `new`, in one
/// transaction: the command that rotates the key. Returns how many values it wrote.
pub async fn reseal(db: &Db, old: &Sealer, new: &Sealer) -> Result<u64, AppError> {
    rewrite(db, |stored| Ok(Some(new.seal(&old.open(stored)?)))).await
}

/// Writes, in one transaction, what `change` makes of each stored secret.
async fn rewrite(
    db: &Db,
    change: impl Fn(&str) -> Result<Option<String>, AppError>,
) -> Result<u64, AppError> {
    let mut tx = db.begin().await?;
    let mut written = 0;
    for (table, key, column) in SEALED_COLUMNS {
        // Names from the list above, never from input.
        let rows: Vec<(String, String)> = on_tx!(&mut tx, c => sqlx::query_as(
            &format!("SELECT {key}, {column} FROM {table} WHERE {column} <> ''"))
            .fetch_all(&mut *c).await)?;
        for (id, stored) in rows {
            let Some(value) = change(&stored)? else {
                continue;
            };
            on_tx!(&mut tx, c => sqlx::query(
                &format!("UPDATE {table} SET {column} = $2 WHERE {key} = $1"))
                .bind(&id).bind(&value).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            written += 1;
        }
    }
    tx.commit().await?;
    Ok(written)
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key() {
        let sealer = Sealer::from_hex(&Sealer::generate()).unwrap();
        let sealed = sealer.seal("sk_live_supersecreto");
        assert!(is_sealed(&sealed) && !sealed.contains("supersecreto"));
        assert_ne!(
            sealed,
            sealer.seal("sk_live_supersecreto"),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), "sk_live_supersecreto");
        assert!(Sealer::demo().open(&sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(sealer.open(&tampered).is_err());
        assert_eq!(sealer.seal(""), "", "unset stays unset");
        assert_eq!(sealer.open("en claro").unwrap(), "en claro");
        assert!(Sealer::from_hex("abc").is_err());
    }
}
