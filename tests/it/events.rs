//! The event stream (`/api/events`): a browser that reconnects with the last id it saw
//! gets every event it missed, in order, once; it never hears of a client outside its
//! user's scope; a connection that falls behind the in-memory ring catches up from the
//! table, and one whose events were pruned (or that brings an id this database never
//! gave) is told to reload.

use std::time::Duration;

use crate::common::app;
use crate::common::*;
use recaudo::domain::client::PartyRole;
use recaudo::domain::conversation::ReplyInput;
use recaudo::domain::message::Channel;
use recaudo::domain::user::{Role, Scope};
use recaudo::on_db;
use recaudo::server::conversations;
use recaudo::server::db::Db;
use recaudo::server::events::{self, Hub, Next, Subscription};

/// One server-sent event: its id, type and data.
#[derive(Debug, PartialEq, Eq)]
pub struct Sse {
    pub id: Option<i64>,
    pub kind: String,
    pub data: String,
}

/// An open `/api/events` response, read as the browser's EventSource reads it.
pub struct EventStream {
    res: reqwest::Response,
    buf: String,
}

impl EventStream {
    pub async fn open(client: &reqwest::Client, base: &str, last: Option<i64>) -> EventStream {
        let mut req = client.get(format!("{base}/api/events"));
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "the stream opens");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        EventStream {
            res,
            buf: String::new(),
        }
    }

    /// The next event with a type (comments and keep-alives skipped), or `None` when
    /// none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }

    async fn next(&mut self) -> Sse {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = Sse {
                    id: None,
                    kind: String::new(),
                    data: String::new(),
                };
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => event.id = Some(value.parse().unwrap()),
                        "event" => event.kind = value.to_string(),
                        "data" => event.data = value.to_string(),
                        _ => {}
                    }
                }
                if !event.kind.is_empty() {
                    return event;
                }
            }
            let chunk = self.res.chunk().await.unwrap().expect("the stream ended");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// Commits one change to each of `clients`, the way every service announces its changes.
async fn change(db: &Db, clients: &[i64]) {
    let mut tx = db.begin().await.unwrap();
    for id in clients {
        tx.announce(*id);
    }
    tx.commit().await.unwrap();
}

/// The events after `after` that `scope` may see, as the table holds them.
async fn recorded(db: &Db, after: i64, scope: Scope) -> Vec<(i64, i64)> {
    events::after(db, after, scope, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.client_id))
        .collect()
}

async fn a_browser_that_reconnects_gets_every_event_it_missed_in_order_and_only_its_own(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let sup = user(&db, "sup@x.co", Role::Supervisor, None).await;
    let a = user(&db, "a@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(&db, "b@x.co", Role::Advisor, None).await;
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..3 {
        let doc = format!("810{i}");
        mine.push(client(&db, &admin, &client_input(&doc, "Ana", "Pérez", Some(&a))).await);
        let doc = format!("820{i}");
        theirs.push(client(&db, &admin, &client_input(&doc, "Luis", "Gil", Some(&b))).await);
    }
    let app = app::start(db.clone()).await;
    let (browser, login) = app.login("a@x.co", PASSWORD).await;
    login.unwrap();

    let mut stream = EventStream::open(&browser, &app.base, None).await;
    change(&db, &[mine[0]]).await;
    let first = stream
        .next_within(Duration::from_secs(10))
        .await
        .expect("a change to one of my clients arrives");
    assert_eq!(
        (first.kind.as_str(), first.data.clone()),
        ("change", mine[0].to_string())
    );
    let seen = first.id.expect("every change has an id");
    drop(stream);

    // Offline: a thousand changes to my clients, among changes to another advisor's,
    // and one of them a real reply through the service.
    let a_viewer = viewer(&db, &a).await;
    let reply = ReplyInput::text(mine[1], PartyRole::Client, Channel::Sms, "", "Hola");
    conversations::reply(&db, &a_viewer, reply, &sending(), clock())
        .await
        .unwrap();
    let mut changes = 1;
    while changes < 1000 {
        let i = changes % 3;
        if changes % 4 == 0 {
            change(&db, &[theirs[i]]).await;
        }
        change(&db, &[mine[i]]).await;
        changes += 1;
    }
    let expected = recorded(&db, seen, Scope::Advisor(a.id)).await;
    assert!(
        expected.len() >= 1000,
        "{} changes recorded",
        expected.len()
    );

    let mut again = EventStream::open(&browser, &app.base, Some(seen)).await;
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let e = again
            .next_within(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("only {} of {} missed events", got.len(), expected.len()));
        assert_eq!(e.kind, "change");
        got.push((e.id.unwrap(), e.data.parse::<i64>().unwrap()));
    }
    assert_eq!(got, expected, "every missed event, in order, once");
    assert!(got.iter().all(|(_, c)| mine.contains(c)));

    // Live again: another advisor's change is not told; the next of mine is.
    change(&db, &[theirs[0]]).await;
    change(&db, &[mine[2]]).await;
    let next = again.next_within(Duration::from_secs(10)).await.unwrap();
    assert_eq!(next.data, mine[2].to_string(), "{next:?}");
    assert!(next.id.unwrap() > got.last().unwrap().0);

    // The supervisor of my team hears of my clients only; the administrator of all.
    let hub = Hub::start(db.clone()).await.unwrap();
    let drain = |scope: Scope| {
        let (db, hub) = (db.clone(), hub.clone());
        async move {
            let newest = recorded(&db, 0, Scope::All).await.last().unwrap().0;
            let mut sub = Subscription::open(db, &hub, scope, Some(seen));
            let mut clients = std::collections::BTreeSet::new();
            while sub.cursor() < newest {
                match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                    Ok(Ok(Next::Event(e))) => clients.insert(e.client_id),
                    other => panic!("{other:?}"),
                };
            }
            clients
        }
    };
    let sup_hears = drain(Scope::Supervisor(sup.id)).await;
    assert_eq!(sup_hears, mine.iter().copied().collect());
    let admin_hears = drain(Scope::All).await;
    assert_eq!(
        admin_hears,
        mine.iter().chain(&theirs).copied().collect(),
        "the administrator hears of every client"
    );

    // A cursor that is not a number is refused in Spanish.
    let res = browser
        .get(format!("{}/api/events", app.base))
        .header("Last-Event-ID", "ayer")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("no es válido"));
    // Signed out, there is no stream.
    let anonymous = app::browser()
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn a_connection_far_behind_catches_up_from_the_table_or_is_told_to_reload(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let mut clients = Vec::new();
    for i in 0..50 {
        let doc = format!("83{i:02}");
        clients.push(client(&db, &admin, &client_input(&doc, "Eva", "Sol", None)).await);
    }
    // A change that rolls back leaves no event.
    let before = recorded(&db, 0, Scope::All).await.len();
    let mut tx = db.begin().await.unwrap();
    tx.announce(clients[0]);
    drop(tx);
    assert_eq!(recorded(&db, 0, Scope::All).await.len(), before);

    let hub = Hub::start(db.clone()).await.unwrap();
    let mut slow = Subscription::open(db.clone(), &hub, Scope::All, None);
    // More than the in-memory ring holds, while this connection reads nothing.
    for _ in 0..110 {
        change(&db, &clients).await;
    }
    let expected = recorded(&db, slow.cursor(), Scope::All).await;
    assert_eq!(expected.len(), 5500);
    let newest = expected.last().unwrap().0;
    let started = std::time::Instant::now();
    while hub.head() < newest {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hub tails the table"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut got = Vec::new();
    while got.len() < expected.len() {
        match tokio::time::timeout(Duration::from_secs(10), slow.next()).await {
            Ok(Ok(Next::Event(e))) => got.push((e.id, e.client_id)),
            other => panic!("after {} events: {other:?}", got.len()),
        }
    }
    assert_eq!(got, expected, "caught up from the table, in order, once");

    // An id from another database (newer than any here) and one whose events were
    // pruned both ask for a reload.
    let mut stranger = Subscription::open(db.clone(), &hub, Scope::All, Some(newest + 1000));
    assert_eq!(stranger.next().await.unwrap(), Next::Reload);
    let pruned = events::prune(&db, chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert!(pruned >= 5500, "{pruned} pruned");
    let mut late = Subscription::open(db.clone(), &hub, Scope::All, Some(newest - 10));
    assert_eq!(late.next().await.unwrap(), Next::Reload);
    // Up to date when pruned: the next change still comes, with a newer id.
    let mut current = Subscription::open(db.clone(), &hub, Scope::All, Some(newest));
    change(&db, &[clients[7]]).await;
    match tokio::time::timeout(Duration::from_secs(10), current.next()).await {
        Ok(Ok(Next::Event(e))) => {
            assert_eq!(e.client_id, clients[7]);
            assert!(e.id > newest, "ids go on after pruning");
        }
        other => panic!("{other:?}"),
    }
    let (n,): (i64,) = on_db!(&db, p => sqlx::query_as("SELECT COUNT(*) FROM events")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(n, 1, "pruned events are gone");
}

/// "No registrados" belongs to no client and every user sees it: a message from an
/// unknown sender, and its linking to a client, are events of client 0 for every scope
/// (and the linking is also an event of that client, for its own scope only).
async fn no_registrados_changes_reach_every_user(db: Db) {
    use recaudo::domain::conversation::{InboundMessage, NO_CLIENT};
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let sup = user(&db, "laura@x.co", Role::Supervisor, None).await;
    let a = user(&db, "camila@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(&db, "mateo@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("8701", "Ana", "Pérez", Some(&a))).await;
    let (a, b) = (viewer(&db, &a).await, viewer(&db, &b).await);
    let unknown = InboundMessage::new(Channel::Sms, "+573009998877", "Hola, ¿quién es?", now());
    conversations::ingest(&db, unknown, now()).await.unwrap();
    for scope in [
        Scope::Advisor(a.user_id),
        Scope::Advisor(b.user_id),
        Scope::All,
    ] {
        assert_eq!(
            recorded(&db, 0, scope)
                .await
                .into_iter()
                .map(|(_, c)| c)
                .collect::<Vec<_>>(),
            [NO_CLIENT],
            "{scope:?}"
        );
    }
    let (message,): (i64,) = on_db!(&db, p => sqlx::query_as(
        "SELECT id FROM messages WHERE client_id IS NULL").fetch_one(p).await)
    .unwrap();
    let (head, _) = recorded(&db, 0, Scope::All).await[0];
    conversations::link(&db, &a, message, "8701", PartyRole::Client, 1, now())
        .await
        .unwrap();
    let db = &db;
    let clients = |scope| async move {
        recorded(db, head, scope)
            .await
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
    };
    assert_eq!(clients(Scope::Advisor(a.user_id)).await, [NO_CLIENT, id]);
    assert_eq!(
        clients(Scope::Advisor(b.user_id)).await,
        [NO_CLIENT],
        "not the other advisor's client"
    );
}

on_both_engines!(
    a_browser_that_reconnects_gets_every_event_it_missed_in_order_and_only_its_own,
    a_connection_far_behind_catches_up_from_the_table_or_is_told_to_reload,
    no_registrados_changes_reach_every_user,
);
