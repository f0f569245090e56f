//! The outbox against a real database and providers that are real HTTP servers on
//! loopback, on SQLite and PostgreSQL: two dispatchers deliver each message once,
//! failures are retried with backoff until success or a terminal failure, a dispatcher
//! killed mid-delivery loses nothing, and the sandbox's signed callbacks move statuses
//! through the app's own webhook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::process::Server;
use crate::common::provider::{provider, Answer};
use crate::common::*;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::{InboundMessage, ReplyInput};
use recaudo::domain::error::AppError;
use recaudo::domain::message::{Channel, DeliveryStatus};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::providers::{Providers, Sandbox};
use recaudo::server::channels::webhooks::{self, Callback, CallbackEvent, SIGNATURE_HEADER};
use recaudo::server::channels::{self, SANDBOX_KEY};
use recaudo::server::config::Sending;
use recaudo::server::conversations;
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::Outgoing;
use recaudo::server::messages::outbox::Policy;
use recaudo::server::messages::status;
use recaudo::server::signing::sign;

fn dispatcher(db: &Db, policy: Policy, demo: bool, sandbox: Sandbox) -> Dispatcher {
    Dispatcher::new(
        db.clone(),
        policy,
        Providers::new(policy.request_timeout, demo, sandbox),
    )
}

fn configured() -> Sending {
    Sending {
        demo: false,
        ..sending()
    }
}

async fn advisor_with_clients(db: &Db, docs: &[&str]) -> (Viewer, Vec<i64>) {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let a = user(db, "a@x.co", Role::Advisor, None).await;
    let mut ids = Vec::new();
    for doc in docs {
        let mut input = client_input(doc, "Ana", &format!("Cliente {doc}"), Some(&a));
        input.debts = vec![debt(&format!("F-{doc}"), "2026-06-01", "100000", "0")];
        // Many messages to one debtor in a day: Colombia's caps would decide these tests.
        ids.push(client(db, &admin, &ungoverned(input)).await);
    }
    (viewer(db, &a).await, ids)
}

async fn send(db: &Db, v: &Viewer, client_id: i64, channel: Channel, body: &str) -> i64 {
    send_with(db, v, client_id, channel, body, &configured()).await
}

async fn send_with(
    db: &Db,
    v: &Viewer,
    client_id: i64,
    channel: Channel,
    body: &str,
    sending: &Sending,
) -> i64 {
    let subject = if channel == Channel::Email {
        "Su cuenta"
    } else {
        ""
    };
    conversations::reply(
        db,
        v,
        ReplyInput::text(client_id, PartyRole::Client, channel, subject, body),
        sending,
        clock(),
    )
    .await
    .unwrap()
}

/// (status, provider id, outbox state, attempts, statuses in order, last detail)
async fn outcome(db: &Db, id: i64) -> (String, Option<String>, String, i32, Vec<String>, String) {
    let (status, pid, state, attempts): (String, Option<String>, String, i32) =
        on_db!(db, p => sqlx::query_as(
        "SELECT m.status, m.provider_message_id, o.state, o.attempts FROM messages m
         JOIN outbox o ON o.message_id = m.id WHERE m.id = $1")
        .bind(id).fetch_one(p).await)
        .unwrap();
    let history: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT status, detail FROM message_statuses WHERE message_id = $1 ORDER BY id")
        .bind(id).fetch_all(p).await)
    .unwrap();
    let detail = history.last().map(|h| h.1.clone()).unwrap_or_default();
    (
        status,
        pid,
        state,
        attempts,
        history.into_iter().map(|h| h.0).collect(),
        detail,
    )
}

async fn two_dispatchers_deliver_every_message_exactly_once(db: Db) {
    let seen = provider(
        &db,
        Arc::new(|_, _| (Duration::from_millis(rand_ms(2, 15)), Answer::Status(200))),
    )
    .await;
    let (a, ids) = advisor_with_clients(&db, &["5001", "5002", "5003"]).await;
    let mut messages = Vec::new();
    for i in 0..60 {
        let channel = if i % 2 == 0 {
            Channel::Sms
        } else {
            Channel::Email
        };
        messages.push(send(&db, &a, ids[i % 3], channel, &format!("Mensaje {i}")).await);
    }
    let policy = Policy {
        batch: 4,
        ..Policy::default()
    };
    let one = dispatcher(&db, policy, false, silent_sandbox());
    let two = dispatcher(&db, policy, false, silent_sandbox());
    let (r1, r2) = tokio::join!(tokio::spawn(drain(one)), tokio::spawn(drain(two)));
    r1.unwrap();
    r2.unwrap();
    let seen = seen.lock().unwrap().seen.clone();
    let mut keys: Vec<String> = seen.iter().map(|s| s.key.clone()).collect();
    keys.sort();
    let mut expected: Vec<String> = messages.iter().map(|id| format!("recaudo-{id}")).collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "each message reached the provider exactly once"
    );
    for id in messages {
        let (status, pid, state, attempts, history, _) = outcome(&db, id).await;
        assert_eq!(
            (status.as_str(), state.as_str(), attempts),
            ("sent", "sent", 1)
        );
        assert_eq!(pid, Some(format!("prov-recaudo-{id}-1")));
        assert_eq!(history, ["queued", "sent"]);
    }
}

fn rand_ms(lo: u64, hi: u64) -> u64 {
    use rand::Rng;
    rand::thread_rng().gen_range(lo..hi)
}

async fn failures_are_retried_with_backoff_until_success_or_a_terminal_failure(db: Db) {
    let (a, ids) = advisor_with_clients(&db, &["7001", "7002", "7003"]).await;
    // 7001's phone: two server errors, then accepted. 7002's: never answers in time.
    // Any e-mail: refused as malformed.
    let seen = provider(
        &db,
        Arc::new(|m: &Outgoing, attempt| {
            if m.channel == Channel::Email {
                (Duration::ZERO, Answer::Status(400))
            } else if m.to.ends_with("0010000") {
                (
                    Duration::ZERO,
                    Answer::Status(if attempt < 3 { 503 } else { 200 }),
                )
            } else {
                (Duration::from_secs(3), Answer::Status(200))
            }
        }),
    )
    .await;
    let recovers = send(&db, &a, ids[0], Channel::Sms, "Hola").await;
    let hangs = send(&db, &a, ids[1], Channel::Sms, "Hola").await;
    let refused = send(&db, &a, ids[2], Channel::Email, "Hola").await;
    let policy = Policy {
        max_attempts: 3,
        base_delay: chrono::Duration::milliseconds(200),
        max_delay: chrono::Duration::milliseconds(800),
        request_timeout: Duration::from_millis(300),
        ..Policy::default()
    };
    drain(dispatcher(&db, policy, false, silent_sandbox())).await;

    let (status, pid, state, attempts, history, _) = outcome(&db, recovers).await;
    assert_eq!(
        (status.as_str(), state.as_str(), attempts),
        ("sent", "sent", 3)
    );
    assert_eq!(pid, Some(format!("prov-recaudo-{recovers}-3")));
    assert_eq!(history, ["queued", "sent"]);
    let seen = seen.lock().unwrap().seen.clone();
    let times: Vec<Instant> = seen
        .iter()
        .filter(|s| s.key == format!("recaudo-{recovers}"))
        .map(|s| s.at)
        .collect();
    assert_eq!(times.len(), 3);
    // The waits double: at least half of 200 ms, then half of 400 ms.
    assert!(times[1] - times[0] >= Duration::from_millis(100));
    assert!(times[2] - times[1] >= Duration::from_millis(200));

    let (status, _, state, attempts, history, detail) = outcome(&db, hangs).await;
    assert_eq!(
        (status.as_str(), state.as_str(), attempts),
        ("failed", "failed", 3)
    );
    assert_eq!(history, ["queued", "failed"]);
    assert!(
        detail.starts_with("Sin éxito tras 3 intentos: el proveedor no respondió a tiempo"),
        "{detail}"
    );
    assert_eq!(
        seen.iter()
            .filter(|s| s.key == format!("recaudo-{hangs}"))
            .count(),
        3
    );

    let (status, _, state, attempts, _, detail) = outcome(&db, refused).await;
    assert_eq!(
        (status.as_str(), state.as_str(), attempts),
        ("failed", "failed", 1)
    );
    assert_eq!(detail, "HTTP 400: proveedor con problemas");
    assert!(seen.iter().any(|s| s.to.ends_with("@correo.co")));
}

/// A provider failing in each way real ones do (server errors, a rate limit with
/// `Retry-After`, a reset connection, an answer cut after "200 OK", an answer after 30
/// seconds): every message ends sent once or failed for good with the reason.
async fn a_failing_provider_neither_loses_nor_doubles_a_message(db: Db) {
    let docs = ["7101", "7102", "7103", "7104", "7105", "7106"];
    let (a, ids) = advisor_with_clients(&db, &docs).await;
    let log = provider(
        &db,
        Arc::new(|m: &Outgoing, attempt| {
            let first = attempt == 1;
            let answer = |fault| {
                if first {
                    fault
                } else {
                    Answer::Status(200)
                }
            };
            match &m.to[m.to.len() - 7..m.to.len() - 4] {
                "101" if attempt < 3 => (Duration::ZERO, Answer::Status(500)),
                "102" => (Duration::ZERO, answer(Answer::RateLimited(2))),
                "103" => (Duration::ZERO, answer(Answer::Reset)),
                "104" => (Duration::ZERO, answer(Answer::Cut)),
                "105" if first => (Duration::from_secs(30), Answer::Status(200)),
                "106" => (Duration::ZERO, Answer::Status(500)),
                _ => (Duration::ZERO, Answer::Status(200)),
            }
        }),
    )
    .await;
    let policy = Policy {
        max_attempts: 4,
        base_delay: chrono::Duration::milliseconds(200),
        max_delay: chrono::Duration::milliseconds(800),
        ..Policy::default()
    };
    // A dispatcher's batch ends with its slowest send: the 30 s answer goes alone, after
    // the others, so that it does not stretch their waits.
    let mut messages = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if i == 4 {
            drain(dispatcher(&db, policy, false, silent_sandbox())).await;
        }
        messages.push(send(&db, &a, *id, Channel::Sms, "Hola").await);
    }
    drain(dispatcher(&db, policy, false, silent_sandbox())).await;

    // What the provider saw until now; the 30 s answer, still waiting, adds nothing.
    let log = std::mem::take(&mut *log.lock().unwrap());
    let key = |i: usize| format!("recaudo-{}", messages[i]);
    for (i, attempts, taken_at) in [(0, 3, 3), (1, 2, 2), (2, 2, 2), (3, 2, 1), (4, 2, 2)] {
        let (status, pid, state, tries, history, _) = outcome(&db, messages[i]).await;
        assert_eq!(
            (status.as_str(), state.as_str(), tries),
            ("sent", "sent", attempts),
            "{}",
            docs[i]
        );
        assert_eq!(history, ["queued", "sent"], "{}", docs[i]);
        assert_eq!(
            pid,
            Some(format!("prov-{}-{taken_at}", key(i))),
            "{}: the id of the send the provider took",
            docs[i]
        );
    }
    let mut delivered = log.delivered.clone();
    delivered.sort();
    let mut expected: Vec<String> = (0..5).map(key).collect();
    expected.sort();
    assert_eq!(
        delivered, expected,
        "each reached the debtor once, 7106 never"
    );

    let gaps = |i: usize| -> Vec<Duration> {
        log.attempts(&key(i))
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect()
    };
    let server_errors = gaps(0);
    assert!(
        server_errors[0] >= Duration::from_millis(100) && server_errors[0] < Duration::from_secs(2),
        "{server_errors:?}"
    );
    assert!(
        server_errors[1] >= Duration::from_millis(200),
        "the wait doubles"
    );
    assert!(
        gaps(1)[0] >= Duration::from_secs(2),
        "Retry-After: 2 is obeyed over a 200 ms backoff: {:?}",
        gaps(1)
    );
    for quick in [2, 3] {
        assert!(gaps(quick)[0] < Duration::from_secs(2), "{:?}", gaps(quick));
    }
    assert!(
        gaps(4)[0] >= Duration::from_secs(15),
        "the unanswered send is given up at the 15 s timeout: {:?}",
        gaps(4)
    );

    let (status, _, state, tries, history, detail) = outcome(&db, messages[5]).await;
    assert_eq!(
        (status.as_str(), state.as_str(), tries),
        ("failed", "failed", 4)
    );
    assert_eq!(history, ["queued", "failed"]);
    assert_eq!(
        detail,
        "Sin éxito tras 4 intentos: HTTP 500: proveedor con problemas"
    );
    assert_eq!(log.attempts(&key(5)).len(), 4);
}

async fn a_dispatcher_killed_mid_delivery_loses_nothing(db: Db) {
    let seen = provider(
        &db,
        Arc::new(|_, _| (Duration::from_millis(400), Answer::Status(200))),
    )
    .await;
    let (a, ids) = advisor_with_clients(&db, &["8001"]).await;
    let mut messages = Vec::new();
    for i in 0..10 {
        messages.push(send(&db, &a, ids[0], Channel::Sms, &format!("Mensaje {i}")).await);
    }
    let policy = Policy {
        lease: chrono::Duration::seconds(1),
        batch: 10,
        concurrency: 10,
        ..Policy::default()
    };
    let doomed = dispatcher(&db, policy, false, silent_sandbox());
    let task = tokio::spawn(async move { doomed.run_once().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let (claimed,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE state = 'sending'").fetch_one(p).await)
    .unwrap();
    assert_eq!(claimed, 10, "the killed dispatcher held every row");

    // Another process takes the rows over once the dead one's lease has run out.
    drain(dispatcher(&db, policy, false, silent_sandbox())).await;
    let seen = seen.lock().unwrap().seen.clone();
    for id in &messages {
        let (status, pid, state, attempts, history, _) = outcome(&db, *id).await;
        assert_eq!(
            (status.as_str(), state.as_str(), attempts),
            ("sent", "sent", 2)
        );
        assert!(pid.is_some());
        assert_eq!(history, ["queued", "sent"]);
        let copies = seen
            .iter()
            .filter(|s| s.key == format!("recaudo-{id}"))
            .count();
        assert!((1..=2).contains(&copies), "{copies} sends of {id}");
    }
}

/// The current status, then the history: read in this order, the history holds at
/// least the status seen, as both are written in one transaction.
async fn status(db: &Db, id: i64) -> (String, Vec<String>) {
    let (s,): (String,) =
        on_db!(db, p => sqlx::query_as("SELECT status FROM messages WHERE id = $1")
        .bind(id).fetch_one(p).await)
        .unwrap();
    let (_, _, _, _, history, _) = outcome(db, id).await;
    (s, history)
}

async fn wait_for(db: &Db, id: i64, wanted: &str) -> Vec<String> {
    let started = Instant::now();
    loop {
        let (s, history) = status(db, id).await;
        if s == wanted {
            return history;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stuck at {s}, waiting for {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A provider's callback with one status of one message.
fn status_callback(id: &str, status: &str) -> Vec<u8> {
    serde_json::to_vec(&Callback {
        events: vec![CallbackEvent::Status {
            id: id.into(),
            status: status.into(),
            at: None,
            error: None,
            problem: None,
            retry: false,
        }],
    })
    .unwrap()
}

async fn a_status_before_its_message_is_kept_and_applied_when_the_message_is(db: Db) {
    provider(&db, Arc::new(|_, _| (Duration::ZERO, Answer::Status(200)))).await;
    let (a, ids) = advisor_with_clients(&db, &["9101"]).await;
    let id = send(&db, &a, ids[0], Channel::Sms, "Hola").await;
    let pid = format!("prov-recaudo-{id}-1");
    let early =
        |channel, status, at| status::from_provider(&db, &pid, Some(channel), status, "", None, at);
    // The provider's callbacks outrun its answer to the send, out of order, and one
    // arrives at another channel's endpoint.
    let read = early(Channel::Sms, DeliveryStatus::Read, now());
    assert_eq!(read.await.unwrap(), None);
    let delivered = early(
        Channel::Sms,
        DeliveryStatus::Delivered,
        now() - chrono::Duration::seconds(1),
    );
    assert_eq!(delivered.await.unwrap(), None);
    let elsewhere = early(Channel::Email, DeliveryStatus::Failed, now());
    assert_eq!(elsewhere.await.unwrap(), None);
    drain(dispatcher(&db, Policy::default(), false, silent_sandbox())).await;
    let (status, recorded, _, _, history, _) = outcome(&db, id).await;
    assert_eq!(recorded.as_deref(), Some(pid.as_str()));
    assert_eq!(status, "read");
    assert_eq!(history, ["queued", "sent", "delivered", "read"]);
    let (left,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM parked_statuses").fetch_one(p).await)
    .unwrap();
    assert_eq!(left, 0, "applied or dropped, never kept");
    // Once the message is known, another channel's endpoint is refused outright.
    let refused = early(Channel::Email, DeliveryStatus::Failed, now()).await;
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");

    // An inbound message at an endpoint of another channel is refused; one dated in the
    // year 9999 is dated when it arrived.
    let inbound = |id: &str, channel: &str, at| Callback {
        events: vec![CallbackEvent::Message {
            id: id.into(),
            channel: channel.into(),
            from: "+573000010000".into(),
            body: "Hola".into(),
            at,
        }],
    };
    let stray = webhooks::apply(
        &db,
        inbound("in-1", "whatsapp", None),
        Some(Channel::Sms),
        now(),
    );
    assert!(matches!(stray.await, Err(AppError::Invalid(_))));
    let year_9999 = chrono::DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
        .unwrap()
        .to_utc();
    webhooks::apply(
        &db,
        inbound("in-2", "sms", Some(year_9999)),
        Some(Channel::Sms),
        now(),
    )
    .await
    .unwrap();
    let (at,): (chrono::DateTime<chrono::Utc>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT occurred_at FROM messages WHERE provider_message_id = 'in-2'").fetch_one(p).await)
    .unwrap();
    assert_eq!(at, now());
    let (stored,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE provider_message_id = 'in-1'").fetch_one(p).await)
    .unwrap();
    assert_eq!(stored, 0);
}

async fn the_sandbox_reports_through_the_signed_webhook(db: Db) {
    let base = serve(db.clone()).await;
    let (a, ids) = advisor_with_clients(&db, &["9001"]).await;
    let admin = user(&db, "admin2@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let mut bouncing = client_input("9002", "Luis", "Rebote", None);
    bouncing.advisor_id = Some(a.user_id);
    bouncing.contacts.emails = vec!["luis@rebote.example".into()];
    bouncing.debts = vec![debt("F-9002", "2026-06-01", "100000", "0")];
    let bouncing = client(&db, &admin, &bouncing).await;
    let key = channels::secret(&db, SANDBOX_KEY).await.unwrap();
    let sandbox = Sandbox {
        callback_url: format!("{base}/api/webhooks/sandbox"),
        key: key.clone(),
        // "Delivered" at once: it may well arrive before the send's answer is recorded,
        // and must still land (the sandbox retries what the webhook does not accept).
        delay: (0.0, 0.05),
    };
    let d = dispatcher(&db, Policy::default(), true, sandbox);
    tokio::spawn(d.clone().run());

    // The debtor wrote on WhatsApp, so the window is open for a free text.
    conversations::ingest(
        &db,
        InboundMessage::new(Channel::WhatsApp, "+573000010000", "¿Cuánto debo?", now()),
        now(),
    )
    .await
    .unwrap();
    let sent = send_with(
        &db,
        &a,
        ids[0],
        Channel::WhatsApp,
        "Le escribo el detalle",
        &sending(),
    )
    .await;
    assert_eq!(
        wait_for(&db, sent, "read").await,
        ["queued", "sent", "delivered", "read"]
    );

    let bounced = send_with(&db, &a, bouncing, Channel::Email, "Hola", &sending()).await;
    assert_eq!(
        wait_for(&db, bounced, "failed").await,
        ["queued", "sent", "failed"]
    );
    let (problem,): (Option<String>,) = on_db!(&db, p => sqlx::query_as(
        "SELECT failed_problem FROM contact_points WHERE value = 'luis@rebote.example'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(
        problem.as_deref(),
        Some("email_not_found"),
        "the bounce flags the address"
    );

    // Forged, altered, unsigned or late callbacks change nothing.
    let (pid,): (String,) = on_db!(&db, p => sqlx::query_as(
        "SELECT provider_message_id FROM messages WHERE id = $1").bind(sent).fetch_one(p).await)
    .unwrap();
    let body = |status: &str| status_callback(&pid, status);
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, signature: Option<String>| {
        let mut req = http
            .post(format!("{base}/api/webhooks/sandbox"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = signature {
            req = req.header(SIGNATURE_HEADER, s);
        }
        req.send()
    };
    let failed = body("failed");
    let wrong_key = post(failed.clone(), Some(sign(b"otra clave", &failed)))
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), reqwest::StatusCode::UNAUTHORIZED);
    let missing = post(failed.clone(), None).await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::UNAUTHORIZED);
    let mut altered = body("delivered");
    let signature = sign(&key, &altered);
    let at = altered.iter().position(|b| *b == b'd').unwrap();
    altered[at] = b'D';
    let changed = post(altered, Some(signature)).await.unwrap();
    assert_eq!(changed.status(), reqwest::StatusCode::UNAUTHORIZED);
    let late = body("delivered");
    let ok = post(late.clone(), Some(sign(&key, &late))).await.unwrap();
    assert_eq!(
        ok.status(),
        reqwest::StatusCode::OK,
        "a late callback is acknowledged"
    );
    let (s, history) = status(&db, sent).await;
    assert_eq!(s, "read", "and moves nothing back");
    assert_eq!(history, ["queued", "sent", "delivered", "read"]);

    // A status for an id not recorded yet is acknowledged and kept for its message.
    let unknown = status_callback("desconocido", "delivered");
    let r = post(unknown.clone(), Some(sign(&key, &unknown)))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let (parked,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM parked_statuses WHERE provider_message_id = 'desconocido'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(parked, 1);

    // An inbound message delivered twice is stored once.
    let inbound = serde_json::to_vec(&Callback {
        events: vec![CallbackEvent::Message {
            id: "sbx-in-1".into(),
            channel: "whatsapp".into(),
            from: "+573000010000".into(),
            body: "Gracias".into(),
            at: None,
        }],
    })
    .unwrap();
    for _ in 0..2 {
        let r = post(inbound.clone(), Some(sign(&key, &inbound)))
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    let (n,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE provider_message_id = 'sbx-in-1'").fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 1);
}

/// The server process is killed (SIGKILL) while its dispatcher waits on the provider;
/// a new process started on the same database delivers everything it had claimed.
async fn a_server_killed_mid_dispatch_and_restarted_loses_nothing(t: TestDb) {
    let db = t.db.clone();
    let seen = provider(
        &db,
        Arc::new(|_, _| (Duration::from_secs(2), Answer::Status(200))),
    )
    .await;
    let (a, ids) = advisor_with_clients(&db, &["6001"]).await;
    let mut messages = Vec::new();
    for i in 0..6 {
        messages.push(send(&db, &a, ids[0], Channel::Sms, &format!("Mensaje {i}")).await);
    }
    let mut first = Server::start(&t.url(), &[]);
    let started = Instant::now();
    while seen.lock().unwrap().seen.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first server never sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let (claimed,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE state = 'sending'").fetch_one(p).await)
    .unwrap();
    assert!(claimed > 0, "killed while sending");

    let mut second = Server::start(&t.url(), &[]);
    let started = Instant::now();
    while unfinished(&db).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the restarted server never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.kill();
    let seen = seen.lock().unwrap().seen.clone();
    for id in &messages {
        let (status, pid, state, _, history, _) = outcome(&db, *id).await;
        assert_eq!((status.as_str(), state.as_str()), ("sent", "sent"));
        assert!(pid.is_some());
        assert_eq!(history, ["queued", "sent"]);
        let copies = seen
            .iter()
            .filter(|s| s.key == format!("recaudo-{id}"))
            .count();
        assert!((1..=2).contains(&copies), "{copies} sends of {id}");
    }
}

mod a_server_killed_mid_dispatch_and_restarted_loses_nothing {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_server_killed_mid_dispatch_and_restarted_loses_nothing(
            crate::common::TestDb::sqlite().await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(t) = crate::common::TestDb::postgres().await {
            super::a_server_killed_mid_dispatch_and_restarted_loses_nothing(t).await;
        }
    }
}

on_both_engines!(
    two_dispatchers_deliver_every_message_exactly_once,
    failures_are_retried_with_backoff_until_success_or_a_terminal_failure,
    a_failing_provider_neither_loses_nor_doubles_a_message,
    a_dispatcher_killed_mid_delivery_loses_nothing,
    the_sandbox_reports_through_the_signed_webhook,
    a_status_before_its_message_is_kept_and_applied_when_the_message_is,
);
