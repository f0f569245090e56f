//! E-mail as it travels: the HTML alternative of what we send, and what arrives made
//! into either a reply to take in or a delivery-status notification (RFC 3464).

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::server::signing::hex;

use crate::domain::message::{
    AttachmentInput, ATTACHMENT_TYPES, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES, MAX_BODY_CHARS,
    MAX_HTML_CHARS, MAX_SUBJECT_CHARS,
};

/// What arrived in the mailbox.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    Mail(Received),
    Bounce(Bounce),
}

/// A person's e-mail, fitted to what a conversation stores.
#[derive(Debug, PartialEq, Eq)]
pub struct Received {
    /// Its Message-ID without angle brackets; made from its bytes when it has none.
    pub message_id: String,
    pub from: String,
    pub name: String,
    pub subject: String,
    pub text: String,
    /// Sanitised: nothing in it runs, loads or navigates by itself.
    pub html: String,
    pub attachments: Vec<AttachmentInput>,
    /// In-Reply-To first, then References from the newest.
    pub references: Vec<String>,
    pub date: Option<DateTime<Utc>>,
}

/// A delivery-status notification about a message we sent.
#[derive(Debug, PartialEq, Eq)]
pub struct Bounce {
    /// The report's own Message-ID (made from its bytes when it has none).
    pub id: String,
    /// The Message-ID of the message it reports on, from the returned copy or headers.
    pub original_id: Option<String>,
    pub recipients: Vec<BouncedRecipient>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct BouncedRecipient {
    pub address: String,
    /// The enhanced status code, e.g. 5.1.1.
    pub status: String,
    /// 5.x.x: the address does not take mail. 4.x.x: a delay the server still retries.
    pub permanent: bool,
    pub diagnostic: String,
}

/// `<id@host>` → `id@host`.
pub fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(14)).collect();
    out.push_str("\n…(recortado)");
    out
}

/// Parses a raw message; `None` when it has no headers at all.
pub fn parse(raw: &[u8]) -> Option<Inbound> {
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let message_id = clip_id(message.message_id().map(bare_id).unwrap_or_else(|| {
        let digest = Sha256::digest(raw);
        format!("sin-id-{}@recaudo", hex(&digest[..12]))
    }));
    if let Some(report) = message
        .parts
        .iter()
        .find(|p| is_type(p.content_type(), "message", "delivery-status"))
    {
        let original_id = message.parts.iter().find_map(|p| match &p.body {
            PartType::Message(m) => m.message_id().map(bare_id),
            PartType::Text(t) if is_type(p.content_type(), "text", "rfc822-headers") => {
                header_value(t, "message-id").map(|v| bare_id(&v))
            }
            _ => None,
        });
        return Some(Inbound::Bounce(Bounce {
            id: message_id,
            original_id,
            recipients: delivery_status(&String::from_utf8_lossy(report.contents())),
        }));
    }
    let sender = message.from().and_then(|a| a.first());
    let from = sender
        .and_then(|a| a.address())
        .unwrap_or_default()
        .trim()
        .to_string();
    let name = sender
        .and_then(|a| a.name())
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut references: Vec<String> = message
        .in_reply_to()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|r| bare_id(r))
        .collect();
    let mut older: Vec<String> = message
        .references()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|r| bare_id(r))
        .collect();
    older.reverse();
    for r in older {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    references.retain(|r| !r.is_empty() && r.len() <= 200);
    // Only a real HTML part: the parser would dress a text-only message up as HTML.
    let html = message
        .html_body
        .first()
        .and_then(|&i| message.parts.get(i as usize))
        .and_then(|p| match &p.body {
            // Cut markup would not be markup any more: past the limit, the text is shown.
            PartType::Html(h) => {
                Some(sanitize_html(h)).filter(|h| h.chars().count() <= MAX_HTML_CHARS)
            }
            _ => None,
        })
        .unwrap_or_default();
    let mut text = message
        .body_text(0)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let mut attachments = Vec::new();
    let mut refused = Vec::new();
    for part in message.attachments() {
        let file_name = part
            .attachment_name()
            .map(|n| n.replace(['/', '\\'], "_"))
            .unwrap_or_else(|| "adjunto".into());
        let content_type = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub).to_ascii_lowercase(),
                None => c.ctype().to_ascii_lowercase(),
            })
            .unwrap_or_default();
        let content = part.contents().to_vec();
        let fits = ATTACHMENT_TYPES.contains(&content_type.as_str())
            && content.len() <= MAX_ATTACHMENT_BYTES
            && attachments.len() < MAX_ATTACHMENTS
            && file_name.chars().count() <= 200;
        if fits {
            attachments.push(AttachmentInput {
                file_name,
                content_type,
                content,
            });
        } else {
            refused.push(file_name);
        }
    }
    // A debtor's e-mail is never turned away for what it carries: what a conversation
    // cannot keep is named so the advisor can ask for it another way.
    if !refused.is_empty() {
        text.push_str(&format!(
            "\n\n[Adjuntos no guardados (tipo o tamaño no admitido): {}]",
            refused.join(", ")
        ));
    }
    Some(Inbound::Mail(Received {
        message_id,
        from,
        name: clip(&name, 200),
        subject: message
            .subject()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_SUBJECT_CHARS)
            .collect(),
        text: clip(text.trim(), MAX_BODY_CHARS),
        html,
        attachments,
        references,
        date: message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
    }))
}

/// Message-IDs past 200 characters are stored as their digest, still unique.
fn clip_id(id: String) -> String {
    if id.len() <= 200 {
        return id;
    }
    let digest = Sha256::digest(id.as_bytes());
    format!("{}@digest", hex(&digest))
}

fn is_type(ct: Option<&mail_parser::ContentType>, ctype: &str, subtype: &str) -> bool {
    ct.is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case(ctype)
            && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(subtype))
    })
}

/// Header-style fields, continuation lines joined, in blocks separated by blank lines.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

fn header_value(headers: &str, name: &str) -> Option<String> {
    field_blocks(headers)
        .into_iter()
        .next()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// The per-recipient blocks of a `message/delivery-status` body.
fn delivery_status(text: &str) -> Vec<BouncedRecipient> {
    field_blocks(text)
        .into_iter()
        .filter_map(|block| {
            let get = |name: &str| {
                block
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
            };
            let recipient = get("final-recipient").or_else(|| get("original-recipient"))?;
            // "rfc822; ana@example.com"
            let address = recipient
                .split_once(';')
                .map_or(recipient, |(_, a)| a)
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_ascii_lowercase();
            let status = get("status").unwrap_or_default().trim().to_string();
            let action = get("action").unwrap_or_default().to_ascii_lowercase();
            let permanent = status.starts_with('5') || (status.is_empty() && action == "failed");
            // "delivered", "relayed" and "expanded" report success: nothing to flag.
            let problem = permanent || status.starts_with('4') || action == "delayed";
            problem.then(|| BouncedRecipient {
                address,
                status,
                permanent,
                diagnostic: get("diagnostic-code")
                    .map(|d| d.split_once(';').map_or(d, |(_, t)| t).trim().to_string())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A received e-mail's HTML made inert for display: no scripts, event handlers, forms,
/// frames, SVG or styles; links only to absolute web, mail and phone addresses, opened
/// apart;
/// images kept as their description, since loading them would tell the sender that
/// (and when) the message was read.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        // A relative link would point into this application.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src" | "srcset") => None,
            _ => Some(value.into()),
        })
        .clean(html)
        .to_string()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML alternative of a message typed as text: paragraphs, line breaks and links
/// (the payment link above all) made clickable.
pub fn text_to_html(text: &str) -> String {
    let mut html = String::from("<!DOCTYPE html><html><body>");
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.trim().lines().enumerate() {
            if i > 0 {
                html.push_str("<br>");
            }
            for (j, word) in line.split(' ').enumerate() {
                if j > 0 {
                    html.push(' ');
                }
                if word.starts_with("https://") || word.starts_with("http://") {
                    let url = escape(word);
                    html.push_str(&format!("<a href=\"{url}\">{url}</a>"));
                } else {
                    html.push_str(&escape(word));
                }
            }
        }
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX_BOUNCE: &str = "Return-Path: <>\r\n\
From: Mail Delivery System <MAILER-DAEMON@mx.acme.com>\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: cobros@acme.com\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"B1\"\r\n\
Message-Id: <bounce-1@mx.acme.com>\r\n\
\r\n\
--B1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
<nadie@rebote.test>: Usuario desconocido\r\n\
\r\n\
--B1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.acme.com\r\n\
\r\n\
Final-Recipient: rfc822; Nadie@rebote.test\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nadie@rebote.test>:\r\n\
\t Recipient address rejected\r\n\
\r\n\
Final-Recipient: rfc822; lento@demora.test\r\n\
Action: delayed\r\n\
Status: 4.4.1\r\n\
\r\n\
Final-Recipient: rfc822; bien@acme.com\r\n\
Action: delivered\r\n\
Status: 2.0.0\r\n\
\r\n\
--B1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: cobros@acme.com\r\n\
To: nadie@rebote.test\r\n\
Subject: Recordatorio\r\n\
Message-ID: <recaudo-42@acme.com>\r\n\
\r\n\
Hola\r\n\
\r\n\
--B1--\r\n";

    #[test]
    fn a_bounce_names_the_original_and_each_failed_recipient() {
        let Some(Inbound::Bounce(b)) = parse(POSTFIX_BOUNCE.as_bytes()) else {
            panic!("not read as a bounce");
        };
        assert_eq!(b.id, "bounce-1@mx.acme.com");
        assert_eq!(b.original_id.as_deref(), Some("recaudo-42@acme.com"));
        assert_eq!(b.recipients.len(), 2, "a delivered recipient is no problem");
        let hard = &b.recipients[0];
        assert_eq!(
            (hard.address.as_str(), hard.status.as_str(), hard.permanent),
            ("nadie@rebote.test", "5.1.1", true)
        );
        assert!(hard.diagnostic.contains("Recipient address rejected"));
        let soft = &b.recipients[1];
        assert_eq!((soft.status.as_str(), soft.permanent), ("4.4.1", false));
    }

    #[test]
    fn a_bounce_with_only_the_headers_still_names_the_original() {
        let raw = POSTFIX_BOUNCE.replace(
            "Content-Type: message/rfc822",
            "Content-Type: text/rfc822-headers",
        );
        let Some(Inbound::Bounce(b)) = parse(raw.as_bytes()) else {
            panic!("not read as a bounce");
        };
        assert_eq!(b.original_id.as_deref(), Some("recaudo-42@acme.com"));
    }

    #[test]
    fn a_reply_keeps_its_thread_text_html_and_allowed_files() {
        let raw = "From: \"Ana Pérez\" <Ana@Deudores.test>\r\n\
To: cobros@acme.com\r\n\
Subject: =?utf-8?q?Re:_Recordatorio_de_pago?=\r\n\
Message-ID: <r1@deudores.test>\r\n\
In-Reply-To: <recaudo-42@acme.com>\r\n\
References: <recaudo-40@acme.com> <recaudo-42@acme.com>\r\n\
Date: Tue, 24 Nov 2026 10:00:00 -0500\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"M\"\r\n\
\r\n\
--M\r\n\
Content-Type: multipart/alternative; boundary=\"A\"\r\n\
\r\n\
--A\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Pago el viernes.\r\n\
--A\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p onclick=\"robar()\">Pago el <b>viernes</b>.<script>alert(1)</script></p>\r\n\
--A--\r\n\
--M\r\n\
Content-Type: application/pdf; name=\"recibo.pdf\"\r\n\
Content-Disposition: attachment; filename=\"recibo.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--M\r\n\
Content-Type: application/x-msdownload; name=\"factura.exe\"\r\n\
Content-Disposition: attachment; filename=\"factura.exe\"\r\n\
\r\n\
MZ\r\n\
--M--\r\n";
        let Some(Inbound::Mail(m)) = parse(raw.as_bytes()) else {
            panic!("not read as mail");
        };
        assert_eq!(m.message_id, "r1@deudores.test");
        assert_eq!(
            (m.from.as_str(), m.name.as_str()),
            ("Ana@Deudores.test", "Ana Pérez")
        );
        assert_eq!(m.subject, "Re: Recordatorio de pago");
        assert_eq!(
            m.references,
            ["recaudo-42@acme.com", "recaudo-40@acme.com"],
            "In-Reply-To first, then the newest reference"
        );
        assert!(m.text.starts_with("Pago el viernes."));
        assert!(m.text.contains("factura.exe"), "{}", m.text);
        assert_eq!(m.html, "<p>Pago el <b>viernes</b>.</p>");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].file_name, "recibo.pdf");
        assert_eq!(m.attachments[0].content, b"%PDF-1.4\n");
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-11-24T15:00:00+00:00");
    }

    #[test]
    fn a_message_without_id_gets_a_stable_one() {
        let raw = b"From: a@b.co\r\nSubject: x\r\n\r\nHola\r\n";
        let Some(Inbound::Mail(m)) = parse(raw) else {
            panic!()
        };
        let Some(Inbound::Mail(again)) = parse(raw) else {
            panic!()
        };
        assert!(m.message_id.starts_with("sin-id-"));
        assert_eq!(m.message_id, again.message_id);
        assert!(parse(b"").is_none());
    }

    #[test]
    fn hostile_html_is_made_inert() {
        let hostile = r#"<div onmouseover="x()" style="background:url(https://spy.test/bg.png)">
            <script>document.cookie</script>
            <a href="javascript:alert(1)">pagar</a>
            <a href="https://banco.test/pagar">banco</a>
            <img src="https://spy.test/pixel.gif" alt="logo" onerror="x()">
            <svg onload="x()"><circle r="4"/></svg>
            <iframe src="https://spy.test/"></iframe>
            <form action="https://spy.test/"><input name="clave"></form>
            <style>body{display:none}</style>
            <a href="data:text/html;base64,PHNjcmlwdD4=">data</a>
            <a href="/api/clients/export">exportar</a>
            <math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>
        </div>"#;
        let clean = sanitize_html(hostile);
        for banned in [
            "<script",
            "onmouseover",
            "onerror",
            "onload",
            "javascript:",
            "<svg",
            "<iframe",
            "<form",
            "<input",
            "<style",
            "spy.test",
            "/api/",
            "data:",
            "style=",
            "<math",
        ] {
            assert!(
                !clean.to_ascii_lowercase().contains(banned),
                "{banned} survived: {clean}"
            );
        }
        assert!(clean.contains(r#"href="https://banco.test/pagar""#));
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#));
        assert!(clean.contains(r#"alt="logo""#));
    }

    #[test]
    fn typed_text_becomes_paragraphs_with_links() {
        assert_eq!(
            text_to_html("Hola <Ana> & co.\nPaga aquí: https://x.test/pago/1?a=1&b=2\n\nGracias"),
            "<!DOCTYPE html><html><body><p>Hola &lt;Ana&gt; &amp; co.<br>Paga aquí: \
             <a href=\"https://x.test/pago/1?a=1&amp;b=2\">https://x.test/pago/1?a=1&amp;b=2</a></p>\
             <p>Gracias</p></body></html>"
        );
    }
}
