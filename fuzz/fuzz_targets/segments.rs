//! A segment's rule tree as the builder posts it (JSON) → validation → SQL: whatever the
//! input, the statement's text holds only the builder's own words, and every value
//! arrives as a bound parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recaudo::domain::segments::Rule;
use recaudo::server::clock::Clock;
use recaudo::server::segments::sql::Sql;

/// The text with its quoted words (`'client'`, the enums' own names) and `$n`
/// placeholders taken out: only identifiers, numbers and SQL punctuation may remain.
fn only_builder_words(text: &str) -> Result<(), String> {
    let mut rest = text;
    let mut outside = String::new();
    while let Some(start) = rest.find('\'') {
        outside.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('\'').ok_or("an unclosed quote")?;
        let word = &after[..end];
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("quoted «{word}»"));
        }
        rest = &after[end + 1..];
    }
    outside.push_str(rest);
    match outside
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " \n_.,()=<>&$*".contains(*c)))
    {
        Some(c) => Err(format!("«{c}» outside the builder's words")),
        None => Ok(()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(rule) = serde_json::from_slice::<Rule>(data) else {
        return;
    };
    let Ok(tree) = rule.check() else {
        return;
    };
    let clock = Clock::at(
        "2026-11-24T15:00:00Z".parse().unwrap(),
        chrono_tz::America::Bogota,
    );
    let mut sql = Sql::new("SELECT c.id FROM clients c WHERE ");
    sql.tree(&tree, &clock);
    if let Err(e) = only_builder_words(&sql.text) {
        panic!("{e}: {}", sql.text);
    }
    let placeholders = sql.text.matches('$').count();
    assert_eq!(placeholders, sql.binds.len(), "{}", sql.text);
});
