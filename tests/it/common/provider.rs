//! A relay provider's stand-in on loopback, on a bare TCP listener so that it can fail
//! the ways real providers fail: a status (500, 429 with `Retry-After`), a connection
//! reset before any answer, an answer cut after its headers, an answer after a long
//! wait. It keeps idempotency keys as the relay contract asks: a key it already took is
//! answered with the same id and not delivered again, so `delivered` is what debtors
//! would receive and `seen` every request that reached it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::Outgoing;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const TOKEN: &str = "token-de-prueba";

/// A send as the provider received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub key: String,
    pub to: String,
    pub at: Instant,
}

/// What the provider does with a send once its wait is over.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// This HTTP status; a success takes the send.
    Status(u16),
    /// 429 with `Retry-After` in seconds.
    RateLimited(u32),
    /// The connection is reset (RST) without a word.
    Reset,
    /// "200 OK" and its headers, then the connection closes before the body: the
    /// provider took the send and the sender cannot know.
    Cut,
}

/// What the provider does with the `attempt`-th request for a send: wait, then answer.
pub type Behaviour = Arc<dyn Fn(&Outgoing, usize) -> (Duration, Answer) + Send + Sync>;

#[derive(Default)]
pub struct Log {
    pub seen: Vec<Seen>,
    /// Idempotency keys taken, in order: each is one message a debtor receives.
    pub delivered: Vec<String>,
    ids: HashMap<String, String>,
    in_flight: usize,
    /// The most requests it was answering at once.
    pub max_in_flight: usize,
}

impl Log {
    pub fn attempts(&self, key: &str) -> Vec<Instant> {
        self.seen
            .iter()
            .filter(|s| s.key == key)
            .map(|s| s.at)
            .collect()
    }
}

pub type Provider = Arc<Mutex<Log>>;

/// Starts the stand-in and points the SMS and e-mail channels at it.
pub async fn provider(db: &Db, behaviour: Behaviour) -> Provider {
    let log = Provider::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shared = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, shared.clone(), behaviour.clone()));
        }
    });
    on_db!(db, p => sqlx::query(
        "UPDATE channel_settings SET provider = 'relay', base_url = $1, secret = $2 WHERE channel IN ('sms', 'email')")
        .bind(&base).bind(TOKEN).execute(p).await.map(drop)).unwrap();
    log
}

/// One request: its headers (names in lower case) and body; `None` once the client
/// closed the connection.
async fn request(reader: &mut BufReader<TcpStream>) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((headers, body))
}

async fn respond(stream: &mut TcpStream, status: u16, extra: &str, body: &str) -> bool {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .is_ok()
}

async fn connection(stream: TcpStream, log: Provider, behaviour: Behaviour) {
    let mut reader = BufReader::new(stream);
    while let Some((headers, body)) = request(&mut reader).await {
        if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}")) {
            respond(reader.get_mut(), 401, "", "bad token").await;
            return;
        }
        let Ok(m) = serde_json::from_slice::<Outgoing>(&body) else {
            respond(reader.get_mut(), 400, "", "not a send").await;
            return;
        };
        let attempt = {
            let mut log = log.lock().unwrap();
            log.seen.push(Seen {
                key: m.idempotency_key.clone(),
                to: m.to.clone(),
                at: Instant::now(),
            });
            log.in_flight += 1;
            log.max_in_flight = log.max_in_flight.max(log.in_flight);
            log.attempts(&m.idempotency_key).len()
        };
        let (wait, answer) = behaviour(&m, attempt);
        tokio::time::sleep(wait).await;
        let id = {
            let mut log = log.lock().unwrap();
            log.in_flight = log.in_flight.saturating_sub(1);
            let taken = matches!(answer, Answer::Cut)
                || matches!(answer, Answer::Status(s) if (200..300).contains(&s));
            if taken && !log.ids.contains_key(&m.idempotency_key) {
                let id = format!("prov-{}-{attempt}", m.idempotency_key);
                log.ids.insert(m.idempotency_key.clone(), id);
                log.delivered.push(m.idempotency_key.clone());
            }
            log.ids.get(&m.idempotency_key).cloned().unwrap_or_default()
        };
        let stream = reader.get_mut();
        let open = match answer {
            Answer::Status(s) if (200..300).contains(&s) => {
                respond(stream, s, "", &format!(r#"{{"id":"{id}"}}"#)).await
            }
            Answer::Status(s) => respond(stream, s, "", "proveedor con problemas").await,
            Answer::RateLimited(secs) => {
                let extra = format!("retry-after: {secs}\r\n");
                respond(stream, 429, &extra, "demasiadas solicitudes").await
            }
            Answer::Reset => {
                let _ = stream.set_zero_linger();
                false
            }
            Answer::Cut => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n{\"id\"";
                let _ = stream.write_all(head.as_bytes()).await;
                false
            }
        };
        if !open {
            return;
        }
    }
}
