//! Template text and its tags: any text is accepted or refused alike by the check and by
//! rendering, never a panic; each tag is replaced once, in one pass, and the rest of the
//! text is kept as written; a WhatsApp template name is lower-case ASCII words joined by
//! "_".
#![no_main]

use libfuzzer_sys::fuzz_target;
use recaudo::domain::templates::{check_tags, render, tag_params, whatsapp_name, TagValues, TAGS};

/// What every tag stands for here: a mark the text can only hold as typed.
const MARK: char = '\u{1}';

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut values = TagValues::default();
    for (tag, _) in TAGS {
        values.set(tag, MARK);
    }
    let rendered = render(text, &values);
    assert_eq!(check_tags(text).is_ok(), rendered.is_ok());
    if let Ok(out) = rendered {
        let tags = tag_params(text, &values).unwrap().len();
        assert_eq!(
            out.matches(MARK).count(),
            text.matches(MARK).count() + tags,
            "{text:?} → {out:?}"
        );
    }
    let name = whatsapp_name(text);
    assert!(name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    assert!(!name.starts_with('_') && !name.ends_with('_') && !name.contains("__"));
});
