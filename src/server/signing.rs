//! Keyed signatures and the hex text they travel as: provider callbacks (HMAC-SHA256 in
//! Meta's and our own `sha256=<hex>` header, HMAC-SHA1 in Twilio's), payment-portal
//! links and WhatsApp verify tokens. Every check compares in constant time.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Bytes as lower-case hex text.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Bytes from hex text; `None` unless every pair is a hex byte.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// HMAC-SHA256 of the parts, one after the other.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha256>>(key, parts)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Whether `expected` is the HMAC-SHA256 of the parts. An empty key (nothing
/// configured) verifies nothing.
pub fn verify_sha256(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    !key.is_empty()
        && mac::<Hmac<Sha256>>(key, parts)
            .verify_slice(expected)
            .is_ok()
}

/// HMAC-SHA1 of the parts (Twilio's signatures).
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha1>>(key, parts)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Whether `expected` is the HMAC-SHA1 of the parts; an empty key verifies nothing.
pub fn verify_sha1(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    !key.is_empty() && mac::<Hmac<Sha1>>(key, parts).verify_slice(expected).is_ok()
}

/// `sha256=` and the hex HMAC of the body: Meta's `X-Hub-Signature-256` and our
/// `X-Recaudo-Signature`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(key, &[body])))
}

/// Whether `header` is the body's [`sign`]ature under `key`.
pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> bool {
    header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(unhex)
        .is_some_and(|expected| verify_sha256(key, &[body], &expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_the_exact_body_and_key() {
        let key = b"secreto";
        let body = br#"{"events":[]}"#;
        let sig = sign(key, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(key, body, Some(&sig)));
        assert!(
            !verify(key, br#"{"events":[ ]}"#, Some(&sig)),
            "a changed byte"
        );
        assert!(!verify(b"otra", body, Some(&sig)), "another key");
        assert!(!verify(key, body, None), "no header");
        assert!(!verify(key, body, Some("sha256=zz")), "not hex");
        assert!(!verify(key, body, Some(&sig[7..])), "no scheme");
        assert!(
            !verify(b"", body, Some(&sign(b"", body))),
            "no key configured"
        );
    }

    /// Meta documents `X-Hub-Signature-256` as "sha256=" and the hex HMAC-SHA256 of
    /// the raw body keyed with the app secret, without publishing a worked example;
    /// the HMAC itself is pinned to RFC 4231's test cases 1 and 2.
    #[test]
    fn the_meta_header_is_the_rfc_4231_hmac_of_the_body() {
        let case_1 = sign(&[0x0b; 20], b"Hi There");
        assert_eq!(
            case_1,
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let case_2 = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), case_2);
        assert!(verify(
            b"Jefe",
            b"what do ya want for nothing?",
            Some(case_2)
        ));
        assert!(verify(
            b"Jefe",
            b"what do ya want for nothing?",
            Some(&case_2.to_uppercase().replace("SHA256=", "sha256="))
        ));
    }

    /// Twilio's SMS callbacks carry base64 HMAC-SHA1: RFC 2202's test case 2.
    #[test]
    fn hmac_sha1_is_rfc_2202() {
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", &[b"what do ya ", b"want for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("é1"), None);
    }
}
