//! Client search by token prefix. Each client stores a few normalised terms (name words,
//! document, phone digits, e-mails); a query matches a client when every query token is a
//! prefix of one of its terms. Prefix ranges are index range scans on both engines, unlike
//! `LIKE '%…%'`, which reads the whole table.

use crate::domain::error::AppError;

pub const MIN_TOKEN_CHARS: usize = 2;
pub const MAX_QUERY_TOKENS: usize = 4;

/// Lower-case and strip Spanish/Portuguese accents so "Pérez" finds "perez" and back.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// Name words: every character that is not a letter or digit separates words
/// ("Pérez-Gómez" is "perez" and "gomez", "S.A.S." is dropped as single letters).
fn name_words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a query chunk is (the start of) an e-mail address, to be matched whole
/// against stored addresses: it has an "@", or a dot or underscore after at least two
/// letters or digits ("lucia.fl", "jl_pena"), unlike initials ("s.a.s").
fn looks_like_email(chunk: &str) -> bool {
    chunk.contains('@')
        || chunk
            .find(['.', '_'])
            .is_some_and(|i| i >= 2 && chunk[..i].chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Query words: e-mail-like chunks stay whole, everything else splits like names.
fn query_words(s: &str) -> Vec<String> {
    fold(s)
        .split_whitespace()
        .flat_map(|chunk| {
            if looks_like_email(chunk) {
                let email: String = chunk
                    .chars()
                    .filter(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '+' | '-')
                    })
                    .collect();
                vec![email.trim_end_matches('.').to_string()]
            } else {
                name_words(chunk)
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// What a client is findable by.
#[derive(Default)]
pub struct TermSource<'a> {
    pub names: Vec<&'a str>,
    pub document: &'a str,
    /// Phones and WhatsApp numbers in E.164.
    pub phones: Vec<&'a str>,
    pub emails: Vec<&'a str>,
}

pub fn client_terms(src: &TermSource<'_>) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for name in &src.names {
        terms.extend(name_words(name));
    }
    let doc = fold(src.document);
    if !doc.is_empty() {
        terms.push(doc);
    }
    for e164 in &src.phones {
        // Advisors type the national number far more often than the international one.
        if let Some(national) = crate::domain::contact::national_digits(e164) {
            terms.push(national.to_string());
        }
        terms.push(e164.chars().filter(char::is_ascii_digit).collect());
    }
    for email in &src.emails {
        terms.push(fold(email));
    }
    terms.retain(|t| t.len() >= MIN_TOKEN_CHARS);
    terms.sort();
    terms.dedup();
    terms
}

/// A parsed search query: the prefixes every match must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    pub prefixes: Vec<String>,
}

impl SearchQuery {
    /// `Ok(None)` for an empty query (no search).
    pub fn parse(raw: &str) -> Result<Option<Self>, AppError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        // A phone or document typed with spaces, dots or dashes is one number, not
        // several words: "300 123-4567", "80.123".
        let numeric = raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '+' | '.'));
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let mut prefixes: Vec<String> = if numeric && !digits.is_empty() {
            vec![digits]
        } else {
            query_words(raw)
        };
        prefixes.retain(|p| p.len() >= MIN_TOKEN_CHARS);
        if prefixes.is_empty() {
            return Err(AppError::invalid(
                "search",
                format!("Escribe al menos {MIN_TOKEN_CHARS} letras o números para buscar."),
            ));
        }
        prefixes.sort();
        prefixes.dedup();
        // A longer prefix subsumes a shorter one of the same word; keep the most selective.
        let mut kept: Vec<String> = Vec::new();
        for p in prefixes.into_iter().rev() {
            if !kept.iter().any(|k| k.starts_with(&p)) {
                kept.push(p);
            }
        }
        kept.sort_by_key(|p| std::cmp::Reverse(p.len()));
        kept.truncate(MAX_QUERY_TOKENS);
        Ok(Some(SearchQuery { prefixes: kept }))
    }
}

/// The exclusive upper bound of the range of terms starting with `prefix`: terms are ASCII
/// and compared byte-wise (SQLite's BINARY, PostgreSQL's "C" collation).
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).expect("ASCII stays UTF-8");
        }
    }
    "\u{7f}".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_strips_accents_and_case() {
        assert_eq!(fold("María José PEÑA Güemes"), "maria jose pena guemes");
    }

    #[test]
    fn client_terms_cover_names_document_phones_and_emails() {
        let terms = client_terms(&TermSource {
            names: vec!["José Luis", "Pérez-Gómez"],
            document: "10203040",
            phones: vec!["+573001234567"],
            emails: vec!["Jose.Perez@Correo.com"],
        });
        for expected in [
            "jose",
            "luis",
            "perez",
            "gomez",
            "10203040",
            "3001234567",
            "573001234567",
            "jose.perez@correo.com",
        ] {
            assert!(
                terms.contains(&expected.to_string()),
                "missing {expected}: {terms:?}"
            );
        }
    }

    #[test]
    fn hyphenated_names_are_found_by_either_part() {
        let terms = client_terms(&TermSource {
            names: vec!["Pérez-Gómez"],
            ..Default::default()
        });
        for query in ["perez", "gomez", "Pérez-Gómez"] {
            let q = SearchQuery::parse(query).unwrap().unwrap();
            for p in &q.prefixes {
                assert!(terms.iter().any(|t| t.starts_with(p)), "{query}: {p}");
            }
        }
    }

    #[test]
    fn an_email_query_stays_whole() {
        let q = SearchQuery::parse("Jose.Perez@correo").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["jose.perez@correo"]);
        // The start of an address, before its "@", is matched against whole addresses.
        let q = SearchQuery::parse("lucia.fl").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["lucia.fl"]);
        let terms = client_terms(&TermSource {
            emails: vec!["lucia.flores15@correo.com"],
            ..Default::default()
        });
        assert!(terms.iter().any(|t| t.starts_with("lucia.fl")));
    }

    #[test]
    fn initials_are_not_an_email() {
        let q = SearchQuery::parse("Tornillo S.A.S.").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["tornillo"]);
    }

    #[test]
    fn a_phone_with_spaces_is_one_token() {
        let q = SearchQuery::parse("300 123-4567").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["3001234567"]);
    }

    #[test]
    fn a_partial_document_with_dots_is_one_token() {
        assert_eq!(
            SearchQuery::parse("80.123").unwrap().unwrap().prefixes,
            vec!["80123"]
        );
        assert_eq!(
            SearchQuery::parse("+57 315").unwrap().unwrap().prefixes,
            vec!["57315"]
        );
        assert!(SearchQuery::parse("7").is_err());
    }

    #[test]
    fn words_are_folded_and_short_ones_dropped() {
        let q = SearchQuery::parse("  Pérez  a  Gó ").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["perez", "go"]);
    }

    #[test]
    fn a_prefix_of_another_word_is_redundant() {
        let q = SearchQuery::parse("gom gomez").unwrap().unwrap();
        assert_eq!(q.prefixes, vec!["gomez"]);
    }

    #[test]
    fn empty_and_too_short_queries() {
        assert_eq!(SearchQuery::parse("   ").unwrap(), None);
        assert!(matches!(SearchQuery::parse("a"), Err(AppError::Invalid(_))));
    }

    #[test]
    fn upper_bound_is_the_next_string_after_every_extension() {
        assert_eq!(prefix_upper_bound("gom"), "gon");
        assert_eq!(prefix_upper_bound("a@"), "aA");
        let ub = prefix_upper_bound("perez");
        assert!("perez" < ub.as_str() && "perezzzz" < ub.as_str() && "pereza" < ub.as_str());
        assert!("pereza" >= "perez" && "perf" >= ub.as_str());
    }
}
