//! A received e-mail (raw MIME) → a reply or a bounce: any bytes, never a panic; what is
//! kept fits the conversation's limits and its HTML is inert.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recaudo::domain::message::{
    ATTACHMENT_TYPES, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES, MAX_SUBJECT_CHARS,
};
use recaudo::server::channels::email::mime::{self, Inbound};

/// Elements that must never survive sanitising.
const ACTIVE: [&str; 8] = [
    "script", "iframe", "form", "svg", "style", "object", "embed", "math",
];

/// Attributes whose value is an address the browser may follow or load.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "action", "formaction", "srcset", "cite"];

/// Outside tags the sanitiser escapes every `<`, so each `<` opens a real tag: none may
/// be an active element, carry an event handler, or hold a `javascript:` address.
fn inert(html: &str) {
    for tag in html.split('<').skip(1) {
        let tag = tag
            .split('>')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!ACTIVE.contains(&name.as_str()), "<{tag}> in {html}");
        // The sanitiser writes every value in double quotes, after its attribute's name.
        let mut names = String::new();
        let mut attribute = String::new();
        for (i, part) in tag.split('"').enumerate() {
            if i % 2 == 0 {
                names.push_str(part);
                attribute = part
                    .trim_end()
                    .trim_end_matches('=')
                    .rsplit(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or_default()
                    .to_string();
            } else if URL_ATTRIBUTES.contains(&attribute.as_str()) {
                assert!(
                    !part.trim_start().starts_with("javascript:"),
                    "<{tag}> in {html}"
                );
            }
        }
        let handler = names
            .split(|c: char| c.is_whitespace())
            .any(|word| word.starts_with("on") && word.contains('='));
        assert!(!handler, "<{tag}> in {html}");
    }
}

fuzz_target!(|data: &[u8]| {
    inert(&mime::sanitize_html(&String::from_utf8_lossy(data)));
    if let Some(Inbound::Mail(mail)) = mime::parse(data) {
        inert(&mail.html);
        assert!(mail.subject.chars().count() <= MAX_SUBJECT_CHARS);
        assert!(mail.attachments.len() <= MAX_ATTACHMENTS);
        for a in &mail.attachments {
            assert!(a.content.len() <= MAX_ATTACHMENT_BYTES);
            assert!(ATTACHMENT_TYPES.contains(&a.content_type.as_str()));
        }
    }
});
