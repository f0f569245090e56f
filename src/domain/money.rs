//! Money is integer cents plus an ISO currency code; never floating point.

/// A trillion currency units: far above any debt, far below overflow when summed.
pub const MAX_CENTS: i64 = 100_000_000_000_000;

/// Parses an amount as people type it in Latin America: "1234", "1234,56", "1234.56",
/// "1.234.567,89", "1,234,567.89". When both separators appear, the last one is the
/// decimal separator. Amounts have at most two decimals, so a separator followed by three
/// digits ("1.234", "1,234") groups thousands whichever character it is.
pub fn parse_amount(raw: &str) -> Result<i64, String> {
    let s: String = raw.trim().chars().filter(|c| !c.is_whitespace()).collect();
    let s = s.strip_prefix('$').unwrap_or(&s);
    if s.is_empty() {
        return Err("Escribe el monto.".into());
    }
    if s.starts_with('-') {
        return Err("El monto no puede ser negativo.".into());
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_digit() || *c == '.' || *c == ','))
    {
        return Err(format!("El monto tiene un carácter no válido: «{bad}»."));
    }
    let last_dot = s.rfind('.');
    let last_comma = s.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) => lone_separator(s, '.')?,
        (None, Some(_)) => lone_separator(s, ',')?,
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal_sep {
        Some(sep) => {
            let i = s.rfind(sep).expect("separator present");
            (&s[..i], &s[i + 1..])
        }
        None => (s, ""),
    };
    let thousands = match decimal_sep {
        Some('.') => ',',
        Some(_) => '.',
        None => {
            if last_dot.is_some() {
                '.'
            } else {
                ','
            }
        }
    };
    if int_part.contains(decimal_sep.unwrap_or('\0')) {
        return Err(format!(
            "«{}» tiene el separador decimal repetido.",
            raw.trim()
        ));
    }
    if !valid_grouping(int_part, thousands) {
        return Err(format!("«{}» no es un monto válido.", raw.trim()));
    }
    if frac_part.len() > 2 {
        return Err("El monto admite como máximo dos decimales.".into());
    }
    let too_big = || "El monto es demasiado grande.".to_string();
    let digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    let units: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| too_big())?
    };
    let cents: i64 = format!("{frac_part:0<2}").parse().unwrap_or(0);
    units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .filter(|v| *v <= MAX_CENTS)
        .ok_or_else(too_big)
}

/// A single kind of separator: decimal when it appears once with one or two digits after
/// it, thousands when three digits follow it.
fn lone_separator(s: &str, sep: char) -> Result<Option<char>, String> {
    let count = s.matches(sep).count();
    let after = s.len() - s.rfind(sep).expect("separator present") - 1;
    match (count, after) {
        (1, 1 | 2) => Ok(Some(sep)),
        (_, 3) => Ok(None),
        _ => Err(format!("«{s}» no es un monto válido.")),
    }
}

fn valid_grouping(int_part: &str, thousands: char) -> bool {
    if !int_part.contains(thousands) {
        return int_part.chars().all(|c| c.is_ascii_digit());
    }
    let groups: Vec<&str> = int_part.split(thousands).collect();
    let first = groups[0];
    !first.is_empty()
        && first.len() <= 3
        && first.chars().all(|c| c.is_ascii_digit())
        && groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

/// "1.234.567,89" (es-LatAm grouping), without the currency.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}", abs % 100)
}

/// "COP 1.234.567,89".
pub fn format_money(cents: i64, currency: &str) -> String {
    format!("{currency} {}", format_cents(cents))
}

/// The plain form used to pre-fill inputs: "1234567,89", which `parse_amount` reads back.
pub fn cents_to_input(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_ways_of_writing_amounts() {
        for (raw, cents) in [
            ("1234", 123_400),
            ("1234,5", 123_450),
            ("1234.56", 123_456),
            ("1.234.567,89", 123_456_789),
            ("1,234,567.89", 123_456_789),
            ("1.234.567", 123_456_700),
            ("1.234", 123_400),
            ("1,234", 123_400),
            ("$ 2.500,00", 250_000),
            ("0,99", 99),
            (",5", 50),
        ] {
            assert_eq!(parse_amount(raw), Ok(cents), "{raw}");
        }
    }

    #[test]
    fn refuses_malformed_amounts() {
        for bad in [
            "",
            "-5",
            "12a",
            "1.23.4",
            "1,2345",
            "12.345,678",
            "1.2,3.4",
            "99999999999999999",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_with_latin_american_grouping() {
        assert_eq!(format_cents(0), "0,00");
        assert_eq!(format_cents(5), "0,05");
        assert_eq!(format_cents(123_456_789), "1.234.567,89");
        assert_eq!(format_cents(-100_000), "-1.000,00");
        assert_eq!(format_money(250_000, "COP"), "COP 2.500,00");
    }

    #[test]
    fn input_form_reads_back() {
        for cents in [0, 7, 123_456_789, 100] {
            assert_eq!(parse_amount(&cents_to_input(cents)), Ok(cents));
        }
    }
}
