//! Sending over SMTP: a multipart message (text and its HTML alternative, attachments),
//! copies, and the headers that thread it in the debtor's mail client.

use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::mime::text_to_html;
use crate::domain::channels::{parse_sender, MailProtocol, MailTls, MailUrl};
use crate::server::channels::ChannelSetting;
use crate::server::messages::outbox::{Delivery, Outgoing};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The sender's mailbox and the SMTP connection the settings describe.
fn transport(
    setting: &ChannelSetting,
) -> Result<(Mailbox, AsyncSmtpTransport<Tokio1Executor>), String> {
    let url = MailUrl::parse(&setting.base_url, MailProtocol::Smtp)?;
    let (name, address) = parse_sender(&setting.sender)
        .ok_or_else(|| "El remitente del canal de correo no es válido.".to_string())?;
    let from = Mailbox::new(
        (!name.is_empty()).then_some(name),
        address
            .parse()
            .map_err(|e| format!("El remitente no es válido: {e}"))?,
    );
    let builder = match url.tls {
        MailTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&url.host),
        MailTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&url.host),
        MailTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &url.host,
        )),
    }
    .map_err(|e| format!("No se pudo preparar la conexión SMTP: {e}"))?;
    let user = url.user.unwrap_or(address);
    Ok((
        from,
        builder
            .port(url.port)
            .credentials(Credentials::new(user, setting.secret.clone()))
            .timeout(Some(TIMEOUT))
            .build(),
    ))
}

/// The Message-ID of a message we send: the same on every attempt, so that a retried
/// send and the replies to either copy thread as one.
pub fn message_id(m: &Outgoing, from: &Mailbox) -> String {
    format!("{}@{}", m.idempotency_key, from.email.domain())
}

fn mailboxes(list: &[String]) -> Result<Vec<Mailbox>, String> {
    list.iter()
        .map(|a| {
            a.parse::<Mailbox>()
                .map_err(|e| format!("La dirección «{a}» no es válida: {e}"))
        })
        .collect()
}

/// `List-Unsubscribe`: where the debtor's mail client posts an unsubscribe.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post`: the link takes a one-click POST (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// The MIME message for one send.
pub fn build(m: &Outgoing, from: &Mailbox) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", message_id(m, from))));
    builder = builder.to(mailboxes(std::slice::from_ref(&m.to))?.remove(0));
    for cc in mailboxes(&m.cc)? {
        builder = builder.cc(cc);
    }
    for bcc in mailboxes(&m.bcc)? {
        builder = builder.bcc(bcc);
    }
    if let Some(url) = &m.unsubscribe {
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost);
    }
    if let Some(last) = m.thread.last() {
        builder = builder.in_reply_to(format!("<{last}>")).references(
            m.thread
                .iter()
                .map(|id| format!("<{id}>"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let alternative = MultiPart::alternative_plain_html(m.body.clone(), text_to_html(&m.body));
    let body = if m.attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &m.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .map_err(|_| format!("Tipo de adjunto no válido: {}", a.content_type))?;
            let part: SinglePart =
                Attachment::new(a.file_name.clone()).body(a.content.clone(), content_type);
            mixed = mixed.singlepart(part);
        }
        mixed
    };
    builder
        .multipart(body)
        .map_err(|e| format!("No se pudo armar el correo: {e}"))
}

pub async fn send(setting: &ChannelSetting, m: &Outgoing) -> Delivery {
    let (from, transport) = match transport(setting) {
        Ok(t) => t,
        Err(e) => return Delivery::Rejected(e),
    };
    let message = match build(m, &from) {
        Ok(message) => message,
        Err(e) => return Delivery::Rejected(e),
    };
    match transport.send(message).await {
        Ok(_) => Delivery::Accepted(message_id(m, &from)),
        // 5xx: the server refused this message or its recipient, and would again.
        Err(e) if e.is_permanent() => {
            Delivery::Rejected(format!("El servidor de correo rechazó el envío: {e}"))
        }
        // 4xx, timeouts and dropped connections pass.
        Err(e) => Delivery::Retry(format!("El servidor de correo no tomó el envío: {e}")),
    }
}

/// "Probar conexión": signs in to the SMTP server.
pub async fn probe(setting: &ChannelSetting) -> Result<String, String> {
    let (_, transport) = transport(setting)?;
    match transport.test_connection().await {
        Ok(true) => Ok("El servidor SMTP aceptó la conexión y las credenciales.".into()),
        Ok(false) => Err("El servidor SMTP no respondió como se esperaba.".into()),
        Err(e) if e.is_permanent() => Err(format!(
            "El servidor SMTP rechazó las credenciales o el remitente: {e}"
        )),
        Err(e) => Err(format!("No se pudo conectar con el servidor SMTP: {e}")),
    }
}
