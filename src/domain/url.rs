//! Addresses the app writes: query strings of the lists and reports (so that a filtered
//! screen is a link) and the page to come back to after logging in.

/// Percent-encodes a query-string value. Unreserved characters and `/` (which a query
/// may hold as it is) stay; every other byte of the UTF-8 text is escaped.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An address-bar query from its pairs, values percent-encoded (without the "?").
pub fn query_string(params: &[(&'static str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `path` with the query of `params`, when there is one.
pub fn with_query(path: &str, params: &[(&'static str, String)]) -> String {
    match query_string(params) {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_but_paths_stay_readable() {
        assert_eq!(
            encode("/clientes?q=ana pérez"),
            "/clientes%3Fq%3Dana%20p%C3%A9rez"
        );
        assert_eq!(encode("a&b=c#d+e"), "a%26b%3Dc%23d%2Be");
        assert_eq!(
            query_string(&[("q", "Pérez & hijos".into()), ("todos", "1".into())]),
            "q=P%C3%A9rez%20%26%20hijos&todos=1"
        );
        assert_eq!(with_query("/clientes", &[]), "/clientes");
        assert_eq!(
            with_query("/clientes", &[("orden", "nombre".into())]),
            "/clientes?orden=nombre"
        );
    }
}
