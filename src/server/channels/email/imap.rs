//! Reading the channel's mailbox over IMAP: replies and bounces, each message once.
//! Messages are read by UID past the last one taken in and never marked or moved, so
//! the mailbox stays as the organisation's mail client shows it.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::types::Mailbox;
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::Taken;
use crate::domain::channels::{parse_sender, MailProtocol, MailTls, MailUrl};
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::on_db;
use crate::server::channels::ChannelSetting;
use crate::server::db::Db;

const TIMEOUT: Duration = Duration::from_secs(30);
/// Messages read per pass: a mailbox with years of mail is caught up over several.
const BATCH: usize = 200;

/// What one pass over the mailbox did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    pub read: usize,
    pub taken_in: usize,
    pub bounces: usize,
    pub skipped: usize,
    /// Clients whose conversations changed.
    pub changed: Vec<i64>,
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: el servidor no respondió a tiempo")),
    }
}

async fn tls(
    url: &MailUrl,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|_| format!("«{}» no es un nombre de servidor válido.", url.host))?;
    timed(
        "No se pudo establecer TLS con el servidor IMAP",
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
}

async fn login<T>(stream: T, user: &str, password: &str) -> Result<Session<T>, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let mut client = Client::new(stream);
    timed("El servidor IMAP no saludó", async {
        client
            .read_response()
            .await?
            .ok_or_else(|| std::io::Error::other("conexión cerrada"))
    })
    .await?;
    timed(
        "El servidor IMAP rechazó el usuario o la contraseña",
        async { client.login(user, password).await.map_err(|(e, _)| e) },
    )
    .await
}

fn account(setting: &ChannelSetting) -> Result<(MailUrl, String), String> {
    if setting.inbound_url.trim().is_empty() {
        return Err("El canal de correo no tiene buzón IMAP configurado.".into());
    }
    let url = MailUrl::parse(&setting.inbound_url, MailProtocol::Imap)?;
    let user = match &url.user {
        Some(u) => u.clone(),
        None => parse_sender(&setting.sender)
            .map(|(_, address)| address)
            .ok_or_else(|| "El remitente del canal de correo no es válido.".to_string())?,
    };
    Ok((url, user))
}

/// A connection to the mailbox: TLS, or plain to a server on this machine.
trait Stream: AsyncRead + AsyncWrite + Unpin + Debug + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Debug + Send> Stream for T {}

/// Connects, signs in and opens the folder read-only.
async fn open(
    setting: &ChannelSetting,
) -> Result<(Session<Box<dyn Stream>>, MailUrl, Mailbox), String> {
    let (url, user) = account(setting)?;
    let tcp = timed(
        "No se pudo conectar con el servidor IMAP",
        TcpStream::connect((url.host.as_str(), url.port)),
    )
    .await?;
    let stream: Box<dyn Stream> = match url.tls {
        MailTls::Implicit => Box::new(tls(&url, tcp).await?),
        MailTls::StartTls | MailTls::None => Box::new(tcp),
    };
    let mut session = login(stream, &user, &setting.secret).await?;
    let mailbox = timed(
        &format!("No se pudo abrir la carpeta «{}»", url.mailbox),
        session.examine(&url.mailbox),
    )
    .await?;
    Ok((session, url, mailbox))
}

/// "Probar conexión" for the mailbox: signs in and opens the folder.
pub async fn probe(setting: &ChannelSetting) -> Result<String, String> {
    let (mut session, url, mailbox) = open(setting).await?;
    let _ = session.logout().await;
    Ok(format!(
        "Buzón IMAP «{}» abierto: {} mensajes.",
        url.mailbox, mailbox.exists
    ))
}

/// One pass: takes in every message past the last one read, in UID order, recording
/// progress after each so that a pass cut short resumes where it stopped.
#[tracing::instrument(skip_all)]
pub async fn poll(
    db: &Db,
    setting: &ChannelSetting,
    now: DateTime<Utc>,
) -> Result<PollReport, String> {
    let (mut session, _, mailbox) = open(setting).await?;
    let validity = i64::from(mailbox.uid_validity.unwrap_or(0));
    let report = read_new(db, &mut session, validity, now).await;
    let _ = session.logout().await;
    report
}

async fn read_new(
    db: &Db,
    session: &mut Session<Box<dyn Stream>>,
    validity: i64,
    now: DateTime<Utc>,
) -> Result<PollReport, String> {
    let last = last_uid(db, validity).await.map_err(|e| e.reason())?;
    let found = timed(
        "El servidor IMAP no respondió a la búsqueda",
        session.uid_search(format!("UID {}:*", last + 1)),
    )
    .await?;
    // "n:*" always includes the newest message, even when it is older than n.
    let mut uids: Vec<u32> = found.into_iter().filter(|u| i64::from(*u) > last).collect();
    uids.sort_unstable();
    uids.truncate(BATCH);
    let mut report = PollReport::default();
    for uid in uids {
        report.read += 1;
        match fetch(session, uid).await? {
            Some(raw) => match super::receive(db, &raw, now).await {
                Ok(taken) => {
                    report.changed.extend_from_slice(taken.changed());
                    match taken {
                        Taken::Mail(_) => report.taken_in += 1,
                        Taken::Bounce(_) => report.bounces += 1,
                        Taken::Skipped(reason) => {
                            tracing::warn!(uid, %reason, "e-mail skipped");
                            report.skipped += 1;
                        }
                    }
                }
                // The database failing is worth another pass; the UID is not recorded.
                Err(e) => return Err(format!("No se pudo guardar el correo: {}", e.reason())),
            },
            None => report.skipped += 1,
        }
        save_uid(db, validity, i64::from(uid), now)
            .await
            .map_err(|e| e.reason())?;
    }
    Ok(report)
}

/// One message's raw bytes, without marking it read.
async fn fetch(
    session: &mut Session<Box<dyn Stream>>,
    uid: u32,
) -> Result<Option<Vec<u8>>, String> {
    let mut fetches = timed(
        "El servidor IMAP no entregó el mensaje",
        session.uid_fetch(uid.to_string(), "BODY.PEEK[]"),
    )
    .await?;
    let mut raw = None;
    while let Some(fetch) = tokio::time::timeout(TIMEOUT, fetches.next())
        .await
        .map_err(|_| "El servidor IMAP no entregó el mensaje a tiempo".to_string())?
    {
        let fetch = fetch.map_err(|e| format!("IMAP: {e}"))?;
        if fetch.uid == Some(uid) {
            raw = fetch.body().map(<[u8]>::to_vec);
        }
    }
    Ok(raw)
}

/// The last UID taken in under this UIDVALIDITY; 0 when the mailbox was renumbered.
async fn last_uid(db: &Db, validity: i64) -> Result<i64, AppError> {
    let row: Option<(i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT uid_validity, last_uid FROM mailbox_state WHERE channel = $1")
        .bind(Channel::Email.as_str()).fetch_optional(p).await)?;
    Ok(match row {
        Some((v, uid)) if v == validity => uid,
        _ => 0,
    })
}

/// Progress only moves forward, whichever of two pollers records it first.
async fn save_uid(db: &Db, validity: i64, uid: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    on_db!(db, p => sqlx::query(
        "INSERT INTO mailbox_state (channel, uid_validity, last_uid, polled_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (channel) DO UPDATE SET
            last_uid = CASE WHEN mailbox_state.uid_validity = excluded.uid_validity
                AND mailbox_state.last_uid > excluded.last_uid
                THEN mailbox_state.last_uid ELSE excluded.last_uid END,
            uid_validity = excluded.uid_validity, polled_at = excluded.polled_at")
        .bind(Channel::Email.as_str()).bind(validity).bind(uid).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
