//! Two real `recaudo serve` processes on one PostgreSQL database, as two servers behind
//! a load balancer run: their schedulers send each flow step and campaign message once,
//! their dispatchers deliver each message once (counted at the provider's stand-in, not
//! in our tables), their promise jobs settle each promise once, and their mailbox
//! pollers store each received e-mail once. Both start at the same moment, so their
//! first passes race. And `kill -9` of a server, on both engines, in the middle of a
//! scheduler pass, of a burst of provider callbacks or of an import: nothing
//! acknowledged is lost, nothing is half done, and nothing is done twice once a server
//! runs again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::app::App;
use crate::common::mail::{MailServer, MAIL_PASSWORD, OFFICE};
use crate::common::process::Server;
use crate::common::provider::{provider, Answer};
use crate::common::*;
use recaudo::domain::automation::{CampaignInput, FlowInput, FlowStepInput};
use recaudo::domain::calls::CallCalendar;
use recaudo::domain::channels::{ChannelSettingInput, ProviderKind};
use recaudo::domain::client::PartyRole;
use recaudo::domain::message::Channel;
use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
use recaudo::domain::segments::{Rule, SegmentInput};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::{automation, calls, channels, segments, templates};

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

/// Two servers on the test's database, both taking connections.
async fn two_servers(t: &TestDb, env: &[(&str, &str)]) -> [Server; 2] {
    let mut servers = [Server::start(&t.url(), env), Server::start(&t.url(), env)];
    for s in &mut servers {
        s.ready().await;
    }
    servers
}

/// Polls `done` until it holds, for at most a minute; the servers' logs on failure.
async fn until<F, Fut>(servers: &[Server], what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}, after a minute; logs:\n{}",
            servers
                .iter()
                .map(Server::log)
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn admin(db: &Db) -> Viewer {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    viewer(db, &admin).await
}

fn template(name: &str, channel: Channel, body: &str) -> TemplateInput {
    TemplateInput {
        name: name.into(),
        channel,
        recipient: PartyRole::Client,
        purpose: Purpose::Flow,
        subject: if channel == Channel::Email {
            "Su cuenta".into()
        } else {
            String::new()
        },
        body: body.into(),
        approved: true,
    }
}

/// `n` debtors five days overdue (documents from `first`) and a flow whose day-5 step
/// sends them an SMS and schedules a call; returns the admin and the e-mail template
/// and segment a campaign can use.
async fn flow_over(db: &Db, first: usize, n: usize) -> (Viewer, i64, i64) {
    let admin = admin(db).await;
    let sms = templates::save(
        db,
        &admin,
        None,
        template(
            "Aviso SMS",
            Channel::Sms,
            "{{nombre}}, debe {{deuda_vencida}}",
        ),
        now(),
    )
    .await
    .unwrap();
    let email = templates::save(
        db,
        &admin,
        None,
        template("Aviso correo", Channel::Email, "Hola {{nombre}}"),
        now(),
    )
    .await
    .unwrap();
    let all = segments::save(
        db,
        &admin,
        None,
        SegmentInput {
            name: "Todos".into(),
            rule: Rule::default(),
        },
        now(),
    )
    .await
    .unwrap();
    let due = today() - chrono::Duration::days(5);
    for i in 0..n {
        let doc = format!("{}", first + i);
        let mut input = client_input(&doc, "Ana", &format!("Cliente {doc}"), None);
        input.debts = vec![debt(&format!("F-{doc}"), &due.to_string(), "250000", "0")];
        // An SMS and an e-mail the same day: Colombia's one channel a week would decide.
        client(db, &admin, &ungoverned(input)).await;
    }
    automation::save_flow(
        db,
        &admin,
        None,
        FlowInput {
            name: "Principal".into(),
            segment_id: Some(all),
            position: 1,
            active: true,
            steps: vec![
                FlowStepInput {
                    day: 5,
                    template_id: Some(sms),
                },
                FlowStepInput {
                    day: 5,
                    template_id: None,
                },
            ],
        },
        now(),
    )
    .await
    .unwrap();
    (admin, email, all)
}

const DEBTORS: usize = 60;

/// A flow whose day-5 step sends an SMS and schedules a call, and a campaign by e-mail,
/// over 60 debtors five days overdue; the provider takes 300 ms per send, so that one
/// dispatcher alone (8 sends at once) would need seconds.
async fn two_servers_send_each_step_once_and_deliver_each_message_once(t: TestDb) {
    let db = t.db.clone();
    let log = provider(
        &db,
        Arc::new(|_, _| (Duration::from_millis(300), Answer::Status(200))),
    )
    .await;
    let (admin, email, all) = flow_over(&db, 8100, DEBTORS).await;
    automation::create_campaign(
        &db,
        &admin,
        CampaignInput {
            name: "Aviso general".into(),
            segment_id: Some(all),
            template_id: Some(email),
            scheduled_at: String::new(),
        },
        clock(),
    )
    .await
    .unwrap();

    let servers = two_servers(&t, &[]).await;
    let expected = 2 * DEBTORS as i64;
    until(&servers, "not every message went out", || async {
        count(
            &db,
            "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id
             WHERE o.state = 'sent' AND m.origin IN ('flow', 'campaign')",
        )
        .await
            == expected
            && unfinished(&db).await == 0
    })
    .await;
    // A late pass or a second delivery would show up now.
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (what, sql) in [
        (
            "flow SMS",
            "SELECT COUNT(*) FROM clients c WHERE (SELECT COUNT(*) FROM messages m
               WHERE m.client_id = c.id AND m.origin = 'flow') <> 1",
        ),
        (
            "campaign e-mails",
            "SELECT COUNT(*) FROM clients c WHERE (SELECT COUNT(*) FROM messages m
               WHERE m.client_id = c.id AND m.origin = 'campaign') <> 1",
        ),
        (
            "flow calls",
            "SELECT COUNT(*) FROM clients c WHERE (SELECT COUNT(*) FROM call_tasks k
               WHERE k.client_id = c.id AND k.reason = 'flow') <> 1",
        ),
    ] {
        assert_eq!(
            count(&db, sql).await,
            0,
            "a debtor without exactly one {what}"
        );
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, expected);

    let log = log.lock().unwrap();
    let mut keys: Vec<&String> = log.seen.iter().map(|s| &s.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (log.seen.len(), keys.len(), log.delivered.len()),
        (expected as usize, expected as usize, expected as usize),
        "each message reached the provider once"
    );
    assert!(
        log.max_in_flight > 8,
        "both dispatchers were sending at once (one alone sends 8 at a time): {}",
        log.max_in_flight
    );
}

/// The promises job runs when a server starts and hourly: 40 promises whose deadline
/// passed, no payments. Each is broken once, with one call scheduled for it.
async fn two_servers_settle_each_promise_once(t: TestDb) {
    const PROMISES: usize = 40;
    let db = t.db.clone();
    let admin = admin(&db).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    let long_ago = today() - chrono::Duration::days(20);
    let mut va = viewer(&db, &a).await;
    for i in 0..PROMISES {
        let doc = format!("{}", 8300 + i);
        let mut input = client_input(&doc, "Ana", &format!("Cliente {doc}"), Some(&a));
        input.debts = vec![debt(&format!("F-{doc}"), "2026-06-01", "250000", "0")];
        let id = client(&db, &admin, &input).await;
        if i == 0 {
            va = viewer(&db, &a).await;
        }
        let promise = OutcomeInput {
            date: long_ago.to_string(),
            amount: "100.000".into(),
            situation: Situation::OutboundContacted.as_str().into(),
            outcome: Outcome::PromiseOrToVerify.as_str().into(),
            ..OutcomeInput::default()
        };
        calls::register(
            &db,
            &va,
            id,
            promise,
            &CallCalendar::default(),
            clock_on(long_ago),
        )
        .await
        .unwrap();
    }

    let servers = two_servers(&t, &[]).await;
    until(&servers, "promises still pending", || async {
        count(&db, "SELECT COUNT(*) FROM promises WHERE state = 'pending'").await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM promises WHERE state = 'broken'").await,
        PROMISES as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM promises p WHERE (SELECT COUNT(*) FROM call_tasks k
               WHERE k.promise_id = p.id AND k.reason = 'broken_promise') <> 1"
        )
        .await,
        0,
        "one call per broken promise"
    );
    // What each process says it changed: only a change that took counts.
    let broken: usize = servers
        .iter()
        .flat_map(|s| {
            s.log()
                .lines()
                .filter(|l| l.contains("promises settled"))
                .filter_map(|l| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix("broken="))
                        .and_then(|n| n.parse::<usize>().ok())
                })
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(
        broken,
        PROMISES,
        "each promise changed once across both servers; logs:\n{}\n---\n{}",
        servers[0].log(),
        servers[1].log()
    );
}

/// The counters behind Indicadores (appended by PostgreSQL's triggers) are folded by
/// every server when it starts and every few minutes: both fold at the same moment
/// here, and the indicators read from the folded counters still equal a recount from
/// the rows, so no appended row was folded twice or lost.
async fn two_servers_fold_the_indicator_counters_once(t: TestDb) {
    use recaudo::domain::indicators::IndicatorQuery;
    use recaudo::server::indicators::{indicators_by, Counting};
    let db = t.db.clone();
    let admin = admin(&db).await;
    let a = user(&db, "a@x.co", Role::Advisor, None).await;
    for i in 0..30 {
        let doc = format!("{}", 8600 + i);
        let mut input = client_input(&doc, "Ana", &format!("Cliente {doc}"), Some(&a));
        input.debts = vec![debt(&format!("F-{doc}"), "2026-06-01", "250000", "0")];
        let id = client(&db, &admin, &input).await;
        let outcome = if i % 3 == 0 {
            Outcome::WontPay
        } else {
            Outcome::NoAnswer
        };
        let situation = if i % 3 == 0 {
            Situation::OutboundContacted
        } else {
            Situation::OutboundNotContacted
        };
        let input = OutcomeInput {
            situation: situation.as_str().into(),
            outcome: outcome.as_str().into(),
            ..OutcomeInput::default()
        };
        calls::register(&db, &admin, id, input, &CallCalendar::default(), clock())
            .await
            .unwrap();
    }
    let appended = "SELECT (SELECT COUNT(*) FROM indicator_hours WHERE NOT merged)
        + (SELECT COUNT(*) FROM portfolio_keys WHERE NOT merged)
        + (SELECT COUNT(*) FROM portfolio_debts WHERE NOT merged)";
    assert!(count(&db, appended).await > 60);

    let servers = two_servers(&t, &[]).await;
    until(&servers, "counter rows still appended", || async {
        count(&db, appended).await == 0
    })
    .await;
    let q = IndicatorQuery::default();
    let counted = indicators_by(&db, &admin, &q, clock(), Counting::Counters)
        .await
        .unwrap();
    let recounted = indicators_by(&db, &admin, &q, clock(), Counting::Rows)
        .await
        .unwrap();
    assert_eq!(counted, recounted);
    assert_eq!((counted.clients, counted.total.outcomes), (30, 30));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM portfolio_keys").await,
        count(&db, "SELECT COUNT(DISTINCT alert_key) FROM clients").await,
        "one merged row per key"
    );
}

/// 30 replies wait in the office mailbox when both servers start; each polls it at once
/// and every 5 seconds.
async fn two_servers_store_each_received_email_once(t: TestDb) {
    const MAILS: usize = 30;
    let db = t.db.clone();
    let mail = MailServer::start();
    let admin = admin(&db).await;
    channels::save(
        &db,
        &admin,
        ChannelSettingInput {
            inbound_url: mail.imap_url(),
            ..provider_setting(
                Channel::Email,
                Some(ProviderKind::Smtp),
                &mail.smtp_url(),
                &format!("Cobranzas ACME <{OFFICE}>"),
                MAIL_PASSWORD,
            )
        },
        false,
        now(),
    )
    .await
    .unwrap();
    let mut input = client_input("8501", "Ana", "Pérez", None);
    input.contacts.emails = vec!["ana@deudores.test".into()];
    client(&db, &admin, &input).await;
    for i in 0..MAILS {
        let raw = format!(
            "From: Ana <ana@deudores.test>\nTo: {OFFICE}\nSubject: Pago {i}\n\
             Message-ID: <respuesta-{i}@deudores.test>\nDate: Mon, 23 Nov 2026 10:00:00 -0500\n\
             Content-Type: text/plain; charset=utf-8\n\nYa pagué la cuota {i}.\n"
        );
        mail.deliver("ana@deudores.test", OFFICE, &raw).await;
    }
    mail.wait_for(OFFICE, MAILS).await;

    let servers = two_servers(&t, &[("RECAUDO_MAIL_POLL_SECS", "5")]).await;
    let stored = || async {
        count(
            &db,
            "SELECT COUNT(*) FROM messages WHERE channel = 'email' AND direction = 'inbound'",
        )
        .await
    };
    until(&servers, "replies not stored", || async {
        stored().await >= MAILS as i64
    })
    .await;
    // Both have polled again by now.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(stored().await, MAILS as i64);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT provider_message_id) FROM messages WHERE direction = 'inbound'"
        )
        .await,
        MAILS as i64
    );
}

/// `kill -9` of the only server while its first scheduler pass writes a flow step to 600
/// debtors; a server started again on the database finishes the pass, and nobody gets
/// the step twice.
async fn a_server_killed_mid_pass_resumes_without_sending_twice(t: TestDb) {
    const N: i64 = 600;
    let db = t.db.clone();
    provider(&db, Arc::new(|_, _| (Duration::ZERO, Answer::Status(200)))).await;
    flow_over(&db, 9000, N as usize).await;
    let written = || count(&db, "SELECT COUNT(*) FROM messages WHERE origin = 'flow'");
    let mut first = Server::start(&t.url(), &[]);
    let started = Instant::now();
    while written().await < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the pass never began:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let at_kill = written().await;
    assert!(at_kill < N, "killed mid-pass: {at_kill} of {N} written");

    let second = [Server::start(&t.url(), &[])];
    until(&second, "the pass never finished", || async {
        written().await == N
            && count(&db, "SELECT COUNT(*) FROM call_tasks WHERE reason = 'flow'").await == N
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for sql in [
        "SELECT COUNT(*) FROM clients c WHERE (SELECT COUNT(*) FROM messages m
           WHERE m.client_id = c.id AND m.origin = 'flow') <> 1",
        "SELECT COUNT(*) FROM clients c WHERE (SELECT COUNT(*) FROM call_tasks k
           WHERE k.client_id = c.id AND k.reason = 'flow') <> 1",
        "SELECT COUNT(*) FROM messages m WHERE m.origin = 'flow'
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id)",
    ] {
        assert_eq!(count(&db, sql).await, 0, "{sql}");
    }
}

/// `kill -9` of the server in the middle of a burst of 2,000 signed callbacks, 16 at
/// once: every callback it acknowledged is stored; the provider then sends again what
/// was not acknowledged (all of it, as a careless one would) and each is stored once.
async fn a_server_killed_in_a_webhook_burst_keeps_every_acknowledged_callback(t: TestDb) {
    use futures::StreamExt;
    use recaudo::server::channels::webhooks::{Callback, CallbackEvent, SIGNATURE_HEADER};
    use recaudo::server::signing::sign;
    const N: usize = 2000;
    let db = t.db.clone();
    let key = channels::secret(&db, channels::SANDBOX_KEY).await.unwrap();
    let bodies: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        (0..N)
            .map(|i| {
                let id = format!("rafaga-{i}");
                let body = serde_json::to_vec(&Callback {
                    events: vec![CallbackEvent::Message {
                        id: id.clone(),
                        channel: "whatsapp".into(),
                        from: format!("+5730000{:05}", i % 20),
                        body: format!("Mensaje {i}"),
                        at: None,
                    }],
                })
                .unwrap();
                (id, body)
            })
            .collect(),
    );
    let burst = |base: String, acked: Arc<std::sync::Mutex<Vec<String>>>| {
        let (bodies, key) = (bodies.clone(), key.clone());
        async move {
            let http = reqwest::Client::new();
            futures::stream::iter(0..N)
                .map(|i| {
                    let (id, body) = bodies[i].clone();
                    let post = http
                        .post(format!("{base}/api/webhooks/sandbox"))
                        .header("content-type", "application/json")
                        .header(SIGNATURE_HEADER, sign(&key, &body))
                        .body(body)
                        .send();
                    async move { (id, post.await) }
                })
                .buffer_unordered(16)
                .for_each(|(id, r)| {
                    if r.is_ok_and(|r| r.status().is_success()) {
                        acked.lock().unwrap().push(id);
                    }
                    async {}
                })
                .await;
        }
    };

    let mut first = Server::start(&t.url(), &[]);
    first.ready().await;
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let running = tokio::spawn(burst(first.base(), acked.clone()));
    let started = Instant::now();
    while acked.lock().unwrap().len() < N / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the burst stalled:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    running.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < N,
        "killed mid-burst: {} of {N} acknowledged",
        acked.len()
    );

    let mut second = [Server::start(&t.url(), &[])];
    second[0].ready().await;
    let stored = || async {
        let rows: Vec<(String,)> = on_db!(&db, p => sqlx::query_as(
            "SELECT provider_message_id FROM messages WHERE provider_message_id LIKE 'rafaga-%'")
            .fetch_all(p).await)
        .unwrap();
        rows.into_iter().map(|(id,)| id).collect::<Vec<_>>()
    };
    let after_crash: std::collections::HashSet<String> = stored().await.into_iter().collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !after_crash.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");

    let again = Arc::new(std::sync::Mutex::new(Vec::new()));
    burst(second[0].base(), again.clone()).await;
    assert_eq!(
        again.lock().unwrap().len(),
        N,
        "every callback acknowledged at last"
    );
    let mut all = stored().await;
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!((total, all.len()), (N, N), "each callback stored once");
}

/// A message received through one server reaches a browser whose event stream is on the
/// other: the table is the source, PostgreSQL's notification wakes the other process.
async fn a_message_received_by_one_server_reaches_a_browser_on_the_other(t: TestDb) {
    use crate::events::EventStream;
    use recaudo::server::channels::webhooks::{Callback, CallbackEvent, SIGNATURE_HEADER};
    use recaudo::server::signing::sign;
    let db = t.db.clone();
    let admin = admin(&db).await;
    let a = user(&db, "asesora@x.co", Role::Advisor, None).await;
    let id = client(&db, &admin, &client_input("8401", "Ana", "Pérez", Some(&a))).await;
    let servers = two_servers(&t, &[]).await;
    let on_b = App {
        base: servers[1].base(),
        db: db.clone(),
    };
    let (browser, login) = on_b.login("asesora@x.co", PASSWORD).await;
    login.unwrap();
    let mut stream = EventStream::open(&browser, &on_b.base, None).await;

    let key = channels::secret(&db, channels::SANDBOX_KEY).await.unwrap();
    let body = serde_json::to_vec(&Callback {
        events: vec![CallbackEvent::Message {
            id: "proceso-8401".into(),
            channel: "sms".into(),
            from: "+573004010000".into(),
            body: "Ya pagué".into(),
            at: None,
        }],
    })
    .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/api/webhooks/sandbox", servers[0].base()))
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(&key, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let heard = stream
        .next_within(Duration::from_secs(15))
        .await
        .unwrap_or_else(|| {
            panic!(
                "nothing reached the other server's stream; logs:\n{}\n---\n{}",
                servers[0].log(),
                servers[1].log()
            )
        });
    assert_eq!(
        (heard.kind.as_str(), heard.data),
        ("change", id.to_string())
    );
}

/// A portfolio file of `n` people, each with a phone, an e-mail and one debt, in the
/// columns of the template offered on the import page.
fn portfolio(n: usize) -> String {
    let template = include_str!("../../public/plantilla-cartera.csv");
    let header: Vec<&str> = template.lines().next().unwrap().split(';').collect();
    let mut csv = header.join(";");
    for i in 0..n {
        let doc = 5_000_000 + i;
        let cells: Vec<String> = header
            .iter()
            .map(|column| match *column {
                "Tipo" => "persona".into(),
                "Documento" => doc.to_string(),
                "Nombres" => "Ana".into(),
                "Apellidos" => format!("Cliente {i}"),
                "País" => "CO".into(),
                "Segmento" => "Cartera importada".into(),
                "Teléfono" => format!("310 {:03} {:04}", i / 10_000, i % 10_000),
                "Correo" => format!("cliente{doc}@correo.co"),
                "Número de orden" => format!("F-{doc}"),
                "Producto" => "Tarjeta".into(),
                "Fecha de emisión" => "2026-01-01".into(),
                "Fecha de vencimiento" => "2026-02-01".into(),
                "Monto" => "100.000,00".into(),
                "Monto pagado" => "0".into(),
                "Moneda" => "COP".into(),
                _ => String::new(),
            })
            .collect();
        csv.push('\n');
        csv.push_str(&cells.join(";"));
    }
    csv
}

/// `kill -9` of the server while it imports a file of 2,000 clients, again and again,
/// each time 25 ms later, until an import finishes: after every kill the database
/// holds none of the file or all of it, never part. On PostgreSQL one kill waits until
/// the import's transaction has taken client ids (the identity sequence moves outside
/// transactions), so it surely lands in the middle of the writing.
async fn a_server_killed_mid_import_leaves_none_or_all_of_the_file(t: TestDb) {
    use reqwest::header::{ACCEPT, ORIGIN};
    const N: i64 = 2000;
    let db = t.db.clone();
    user(&db, "admin@x.co", Role::Admin, None).await;
    let csv = Arc::new(portfolio(N as usize));
    let postgres = matches!(db.engine(), recaudo::server::db::Engine::Postgres);
    let taken_ids = || async {
        count(
            &db,
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM clients_id_seq",
        )
        .await
    };
    let consistent = || async {
        let n = count(&db, "SELECT COUNT(*) FROM clients").await;
        for sql in [
            "SELECT COUNT(*) FROM debts",
            "SELECT COUNT(*) FROM parties",
            "SELECT COUNT(DISTINCT client_id) FROM contact_points",
            "SELECT COUNT(DISTINCT client_id) FROM client_search_terms",
        ] {
            assert_eq!(count(&db, sql).await, n, "{sql}");
        }
        n
    };
    let mut kills = 0;
    let mut mid_write = false;
    for round in 0.. {
        let mut server = Server::start(&t.url(), &[("RECAUDO_SECURE_COOKIES", "false")]);
        server.ready().await;
        let app = App {
            base: server.base(),
            db: db.clone(),
        };
        let (http, login) = app.login("admin@x.co", PASSWORD).await;
        login.unwrap();
        let ids_before = if postgres { taken_ids().await } else { 0 };
        let base = app.base.clone();
        let body = serde_json::json!({ "csv": csv.as_str() });
        let request = tokio::spawn(async move {
            http.post(format!("{base}/api/import_portfolio"))
                .header(ORIGIN, base.as_str())
                .header(ACCEPT, "application/json")
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        });
        let wait_for_ids = postgres && round == 0;
        if wait_for_ids {
            let started = Instant::now();
            while taken_ids().await == ids_before && !request.is_finished() {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "{}",
                    server.log()
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        } else if !postgres {
            tokio::time::sleep(Duration::from_millis(25) * round).await;
        }
        let imported = if postgres && round > 0 {
            request.await.unwrap()
        } else {
            server.kill();
            kills += 1;
            request.await.unwrap()
        };
        drop(server);
        let n = consistent().await;
        assert!(n == 0 || n == N, "round {round}: {n} of {N} clients");
        if wait_for_ids && n == 0 && taken_ids().await > ids_before {
            mid_write = true;
        }
        if imported || n == N {
            assert_eq!(n, N, "an import acknowledged is stored");
            break;
        }
    }
    eprintln!(
        "import under kill -9: {kills} kills before an import finished; one mid-write: {mid_write}"
    );
    assert!(kills > 0);
    if postgres {
        assert!(mid_write, "a kill landed while the import was writing");
    }
    assert_eq!(
        count(&db, "SELECT COUNT(DISTINCT document_number) FROM clients").await,
        N
    );
}

/// Runs each named `async fn(TestDb)` with the database's server processes, on SQLite
/// and on PostgreSQL.
macro_rules! on_both_engines_with_servers {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::common::TestDb::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(t) = crate::common::TestDb::postgres().await {
                        super::$name(t).await;
                    }
                }
            }
        )*
    };
}

on_both_engines_with_servers!(
    a_server_killed_mid_pass_resumes_without_sending_twice,
    a_server_killed_mid_import_leaves_none_or_all_of_the_file,
    a_server_killed_in_a_webhook_burst_keeps_every_acknowledged_callback,
);

macro_rules! on_two_postgres_servers {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(t) = crate::common::TestDb::postgres().await {
                    super::$name(t).await;
                }
            }
        )*
    };
}

mod postgres {
    on_two_postgres_servers!(
        two_servers_send_each_step_once_and_deliver_each_message_once,
        two_servers_settle_each_promise_once,
        two_servers_fold_the_indicator_counters_once,
        two_servers_store_each_received_email_once,
        a_message_received_by_one_server_reaches_a_browser_on_the_other,
    );
}
