//! Countries, currencies and time zones Recaudo accepts. An allow-list rather than free
//! text: phone numbers are normalised with the country's calling code, and "today" for a
//! debtor is computed in a zone the server knows.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    pub calling_code: &'static str,
    pub currency: &'static str,
    pub time_zone: &'static str,
}

#[rustfmt::skip]
pub const COUNTRIES: &[Country] = &[
    Country { code: "AR", name: "Argentina", calling_code: "54", currency: "ARS", time_zone: "America/Argentina/Buenos_Aires" },
    Country { code: "BO", name: "Bolivia", calling_code: "591", currency: "BOB", time_zone: "America/La_Paz" },
    Country { code: "BR", name: "Brasil", calling_code: "55", currency: "BRL", time_zone: "America/Sao_Paulo" },
    Country { code: "CL", name: "Chile", calling_code: "56", currency: "CLP", time_zone: "America/Santiago" },
    Country { code: "CO", name: "Colombia", calling_code: "57", currency: "COP", time_zone: "America/Bogota" },
    Country { code: "CR", name: "Costa Rica", calling_code: "506", currency: "CRC", time_zone: "America/Costa_Rica" },
    Country { code: "DO", name: "República Dominicana", calling_code: "1", currency: "DOP", time_zone: "America/Santo_Domingo" },
    Country { code: "EC", name: "Ecuador", calling_code: "593", currency: "USD", time_zone: "America/Guayaquil" },
    Country { code: "ES", name: "España", calling_code: "34", currency: "EUR", time_zone: "Europe/Madrid" },
    Country { code: "GT", name: "Guatemala", calling_code: "502", currency: "GTQ", time_zone: "America/Guatemala" },
    Country { code: "HN", name: "Honduras", calling_code: "504", currency: "HNL", time_zone: "America/Tegucigalpa" },
    Country { code: "MX", name: "México", calling_code: "52", currency: "MXN", time_zone: "America/Mexico_City" },
    Country { code: "NI", name: "Nicaragua", calling_code: "505", currency: "NIO", time_zone: "America/Managua" },
    Country { code: "PA", name: "Panamá", calling_code: "507", currency: "USD", time_zone: "America/Panama" },
    Country { code: "PE", name: "Perú", calling_code: "51", currency: "PEN", time_zone: "America/Lima" },
    Country { code: "PY", name: "Paraguay", calling_code: "595", currency: "PYG", time_zone: "America/Asuncion" },
    Country { code: "SV", name: "El Salvador", calling_code: "503", currency: "USD", time_zone: "America/El_Salvador" },
    Country { code: "US", name: "Estados Unidos", calling_code: "1", currency: "USD", time_zone: "America/New_York" },
    Country { code: "UY", name: "Uruguay", calling_code: "598", currency: "UYU", time_zone: "America/Montevideo" },
    Country { code: "VE", name: "Venezuela", calling_code: "58", currency: "VES", time_zone: "America/Caracas" },
];

pub const CURRENCIES: &[&str] = &[
    "ARS", "BOB", "BRL", "CLP", "COP", "CRC", "DOP", "EUR", "GTQ", "HNL", "MXN", "NIO", "PEN",
    "PYG", "USD", "UYU", "VES",
];

/// Every country's zone plus the other zones of countries that span several.
pub const TIME_ZONES: &[&str] = &[
    "America/Argentina/Buenos_Aires",
    "America/Asuncion",
    "America/Bogota",
    "America/Cancun",
    "America/Caracas",
    "America/Costa_Rica",
    "America/El_Salvador",
    "America/Guatemala",
    "America/Guayaquil",
    "America/La_Paz",
    "America/Lima",
    "America/Managua",
    "America/Manaus",
    "America/Mexico_City",
    "America/Monterrey",
    "America/Montevideo",
    "America/New_York",
    "America/Panama",
    "America/Punta_Arenas",
    "America/Santiago",
    "America/Santo_Domingo",
    "America/Sao_Paulo",
    "America/Tegucigalpa",
    "America/Tijuana",
    "Europe/Madrid",
    "Pacific/Galapagos",
];

pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code.trim()))
}

pub fn is_currency(code: &str) -> bool {
    CURRENCIES.contains(&code)
}

pub fn is_time_zone(name: &str) -> bool {
    TIME_ZONES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_default_is_itself_allowed() {
        for c in COUNTRIES {
            assert!(is_currency(c.currency), "{}", c.code);
            assert!(is_time_zone(c.time_zone), "{}", c.code);
            assert!(c.calling_code.chars().all(|d| d.is_ascii_digit()));
        }
    }

    #[test]
    fn country_lookup_ignores_case_and_spaces() {
        assert_eq!(country(" co").map(|c| c.calling_code), Some("57"));
        assert!(country("XX").is_none());
    }
}
