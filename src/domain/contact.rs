//! Contact points (phones, e-mails, WhatsApp numbers) and their normal forms. Values are
//! stored normalised so that an inbound message from "+57 300 123 4567" and a phone typed
//! as "300-123-4567" for a Colombian client resolve to the same contact point.

use crate::domain::geo;
use crate::domain::message::Channel;

text_enum! {
    pub enum ContactKind {
        Phone => ("phone", "Teléfono"),
        Email => ("email", "Correo"),
        WhatsApp => ("whatsapp", "WhatsApp"),
    }
}

impl ContactKind {
    /// Normalises a value of this kind; the error is a Spanish sentence for the user.
    pub fn normalize(self, raw: &str, country_code: &str) -> Result<String, String> {
        match self {
            ContactKind::Phone | ContactKind::WhatsApp => normalize_phone(raw, country_code),
            ContactKind::Email => normalize_email(raw),
        }
    }

    /// The channels a debtor authorises, or not, on a contact point of this kind (Ley
    /// 2300, art. 3: "canales autorizados"). WhatsApp stands for both WhatsApp
    /// channels: the debtor reads them in the same application.
    pub fn authorisable(self) -> &'static [Channel] {
        match self {
            ContactKind::Phone => &[Channel::Sms, Channel::Call],
            ContactKind::Email => &[Channel::Email],
            ContactKind::WhatsApp => &[Channel::WhatsApp],
        }
    }
}

/// The channels stored as not authorised on a contact point, as the column holds them
/// ("sms,call"). A code this version does not know is dropped rather than failing the
/// whole client.
pub fn parse_withheld(column: &str) -> Vec<Channel> {
    column
        .split(',')
        .filter_map(|code| code.trim().parse().ok())
        .collect()
}

/// The column's form of [`parse_withheld`]'s input.
pub fn join_withheld(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// E.164 ("+573001234567"). Numbers without an international prefix are national numbers
/// of the client's country; a single leading trunk "0" is dropped.
pub fn normalize_phone(raw: &str, country_code: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("Escribe el número.".into());
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+')))
    {
        return Err(format!("El número tiene un carácter no válido: «{bad}»."));
    }
    if trimmed.rfind('+').is_some_and(|i| i > 0) {
        return Err("El signo + solo puede ir al comienzo del número.".into());
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let international = if trimmed.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let country = geo::country(country_code)
            .ok_or_else(|| "Elige el país del cliente para validar el número.".to_string())?;
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        if national.len() < 6 {
            return Err("El número es demasiado corto.".into());
        }
        format!("{}{}", country.calling_code, national)
    };
    match international.len() {
        0..=7 => Err("El número es demasiado corto.".into()),
        8..=15 => Ok(format!("+{international}")),
        _ => Err("El número es demasiado largo (máximo 15 dígitos).".into()),
    }
}

/// Lower-cased address with a plausible shape: one "@", a non-empty local part, a domain
/// with a dot and no spaces. Deliverability is for the channel to find out.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Escribe el correo.".into());
    }
    let invalid = || Err(format!("«{}» no es un correo válido.", raw.trim()));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid();
    };
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return invalid();
    }
    Ok(email)
}

/// The digits after the number's own calling code (the longest known one it starts
/// with): "+525512345678" → "5512345678", whatever the client's country.
pub fn national_digits(e164: &str) -> Option<&str> {
    let digits = e164.strip_prefix('+')?;
    geo::COUNTRIES
        .iter()
        .map(|c| c.calling_code)
        .filter(|code| digits.starts_with(code))
        .max_by_key(|code| code.len())
        .map(|code| &digits[code.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_take_the_country_calling_code() {
        assert_eq!(
            normalize_phone("300 123 4567", "CO").unwrap(),
            "+573001234567"
        );
        assert_eq!(
            normalize_phone("(01) 555-1234", "PE").unwrap(),
            "+5115551234"
        );
        assert_eq!(
            normalize_phone("011 4567-8901", "AR").unwrap(),
            "+541145678901"
        );
    }

    #[test]
    fn international_numbers_keep_their_own_code() {
        assert_eq!(
            normalize_phone("+52 55 1234 5678", "CO").unwrap(),
            "+525512345678"
        );
        assert_eq!(
            normalize_phone("0052 55 1234 5678", "CO").unwrap(),
            "+525512345678"
        );
    }

    #[test]
    fn bad_phones_say_why() {
        assert!(normalize_phone("", "CO").unwrap_err().contains("Escribe"));
        assert!(normalize_phone("300-abc", "CO")
            .unwrap_err()
            .contains("«a»"));
        assert!(normalize_phone("12 3+4", "CO")
            .unwrap_err()
            .contains("comienzo"));
        assert!(normalize_phone("1234", "CO").unwrap_err().contains("corto"));
        assert!(normalize_phone("+1234567890123456", "CO")
            .unwrap_err()
            .contains("largo"));
        assert!(normalize_phone("3001234567", "")
            .unwrap_err()
            .contains("país"));
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Ana.Diaz@Correo.COM ").unwrap(),
            "ana.diaz@correo.com"
        );
        for bad in [
            "ana",
            "ana@",
            "@correo.com",
            "ana@correo",
            "ana @correo.com",
            "a@b@c.com",
            "ana@.com",
            "ana@correo..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn national_digits_drop_the_numbers_own_calling_code() {
        assert_eq!(national_digits("+573001234567"), Some("3001234567"));
        assert_eq!(national_digits("+525512345678"), Some("5512345678"));
        assert_eq!(
            national_digits("+5939876543"),
            Some("9876543"),
            "593 wins over 59x prefixes"
        );
        assert_eq!(national_digits("+999123456"), None);
        assert_eq!(national_digits("3001234567"), None);
    }
}
