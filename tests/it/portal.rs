//! The payment portal on SQLite and PostgreSQL: a signed link opens one client's page,
//! every visit and its states reach the conversation without counting as inbound, a
//! declared payment waits for verification under the portal's account, and a tampered
//! or expired link is refused with nothing stored.

use crate::common::*;
use chrono::Duration;
use recaudo::domain::calls::DeclareInput;
use recaudo::domain::error::AppError;
use recaudo::domain::message::{AttachmentInput, VisitState};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::{calls, conversations, portal};

const INSTRUCTIONS: &str = "Transfiere a la cuenta 123.";

async fn setup(db: &Db) -> (Viewer, i64, i64) {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let a = user(db, "a@x.co", Role::Advisor, None).await;
    let mut input = client_input("4001", "Ana", "Pérez", Some(&a));
    input.debts = vec![
        debt("F-1", "2026-06-01", "100000", "0"),
        debt("F-2", "2026-07-01", "50000", "50000"),
    ];
    let one = client(db, &admin, &input).await;
    let other = client(db, &admin, &client_input("4002", "Luis", "Gómez", Some(&a))).await;
    (viewer(db, &a).await, one, other)
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

const BROWSER: &str =
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";

fn payment() -> DeclareInput {
    DeclareInput {
        client_id: 0,
        payment: true,
        date: "2026-11-22".into(),
        amount: "40000".into(),
        payment_method: "Transferencia".into(),
        reference: "TRX-9".into(),
        note: String::new(),
        attachments: vec![AttachmentInput {
            file_name: "comprobante.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4".to_vec(),
        }],
    }
}

async fn a_debtor_opens_the_link_and_declares_a_payment(db: Db) {
    let (a, id, _) = setup(&db).await;
    let link = portal::link(&db, "https://cobros.example", id, 30, now())
        .await
        .unwrap();
    assert!(link.starts_with("https://cobros.example/pago/"), "{link}");
    let token = token_of(&link);

    let (client, page) = portal::open(&db, &token, INSTRUCTIONS, clock())
        .await
        .unwrap();
    assert_eq!(client, id);
    assert_eq!(page.client_name, "Ana Pérez");
    assert_eq!(page.overdue_total_cents, 10_000_000);
    assert_eq!(
        page.debts
            .iter()
            .map(|d| d.number.as_str())
            .collect::<Vec<_>>(),
        ["F-1"],
        "paid debts are left out"
    );
    assert_eq!(page.instructions, INSTRUCTIONS);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM portal_visits").await,
        0,
        "rendering the page records nothing: a link preview does that too"
    );
    let visit_id = portal::visit(&db, &token, BROWSER, now()).await.unwrap();

    portal::step(
        &db,
        &token,
        visit_id,
        VisitState::ViewedDebt,
        now() + Duration::seconds(20),
    )
    .await
    .unwrap();
    portal::declare(
        &db,
        &token,
        visit_id,
        payment(),
        Clock {
            now: now() + Duration::seconds(90),
            ..clock()
        },
    )
    .await
    .unwrap();

    let queue = calls::payments::queue(
        &db,
        &a,
        calls::payments::Approval { by_other: true },
        clock(),
    )
    .await
    .unwrap();
    assert_eq!(queue.len(), 1);
    let p = &queue[0].payment;
    assert_eq!(
        (p.client_id, p.amount_cents, p.reference.as_str()),
        (id, 4_000_000, "TRX-9")
    );
    assert_eq!(p.declared_by_name, "Web de cobros (deudor)");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM management_files WHERE file_name = 'comprobante.pdf'"
        )
        .await,
        1
    );

    let c = conversations::conversation(&db, &a, id, clock())
        .await
        .unwrap();
    assert_eq!(c.visits.len(), 1);
    assert_eq!(c.visits[0].page_name, "Paga aquí");
    let states: Vec<VisitState> = c.visits[0].states.iter().map(|s| s.0).collect();
    assert_eq!(
        states,
        [
            VisitState::Opened,
            VisitState::ViewedDebt,
            VisitState::DeclaredPayment
        ]
    );
    assert!(
        c.tabs.iter().all(|t| t.pending == 0),
        "a visit is not an inbound message"
    );

    // A robot previewing the link is marked as such; then a promise from a second visit.
    let preview = portal::visit(&db, &token, "WhatsApp/2.23.20.0 A", now())
        .await
        .unwrap();
    let again = portal::visit(&db, &token, BROWSER, now()).await.unwrap();
    let promise = DeclareInput {
        payment: false,
        date: "2026-11-30".into(),
        attachments: Vec::new(),
        ..payment()
    };
    portal::declare(&db, &token, again, promise, clock())
        .await
        .unwrap();
    let c = conversations::conversation(&db, &a, id, clock())
        .await
        .unwrap();
    assert_eq!(c.visits.len(), 3);
    let agents: Vec<(i64, &str)> = c
        .visits
        .iter()
        .map(|v| (v.id, v.preview_agent.as_str()))
        .collect();
    assert!(agents.contains(&(preview, "WhatsApp")), "{agents:?}");
    assert!(agents.contains(&(again, "")), "{agents:?}");
    assert!(c
        .gestion
        .promises
        .iter()
        .any(|p| p.amount_cents == 4_000_000 && p.created_by_name == "Web de cobros (deudor)"));
}

async fn tampered_expired_or_foreign_links_store_nothing(db: Db) {
    let (_, id, other) = setup(&db).await;
    let token = token_of(&portal::link(&db, "", id, 30, now()).await.unwrap());
    fn refused<T>(r: Result<T, AppError>, text: &str) {
        match r {
            Err(AppError::Invalid(f)) => assert!(f[0].message.contains(text), "{}", f[0].message),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        }
    }
    let (head, sig) = token.rsplit_once('-').unwrap();
    let flipped = format!(
        "{head}-{}{}",
        if sig.starts_with('a') { 'b' } else { 'a' },
        &sig[1..]
    );
    refused(
        portal::open(&db, &flipped, INSTRUCTIONS, clock()).await,
        "no es válido",
    );
    let other_client = token.replacen(&format!("{id}-"), &format!("{other}-"), 1);
    refused(
        portal::open(&db, &other_client, INSTRUCTIONS, clock()).await,
        "no es válido",
    );
    refused(
        portal::open(
            &db,
            &token,
            INSTRUCTIONS,
            Clock {
                now: now() + Duration::days(31),
                ..clock()
            },
        )
        .await,
        "venció",
    );
    refused(
        portal::declare(&db, &flipped, 1, payment(), clock()).await,
        "no es válido",
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM portal_visits").await, 0);

    // A visit of another client's link, or a bad declaration, saves nothing either.
    let other_token = token_of(&portal::link(&db, "", other, 30, now()).await.unwrap());
    let foreign = portal::visit(&db, &other_token, BROWSER, now())
        .await
        .unwrap();
    assert!(matches!(
        portal::declare(&db, &token, foreign, payment(), clock()).await,
        Err(AppError::NotFound)
    ));
    let own = portal::visit(&db, &token, BROWSER, now()).await.unwrap();
    let bad = DeclareInput {
        amount: "mucho".into(),
        ..payment()
    };
    assert!(matches!(
        portal::declare(&db, &token, own, bad, clock()).await,
        Err(AppError::Invalid(_))
    ));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM management_files").await, 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM portal_visit_states WHERE state <> 'opened'"
        )
        .await,
        0
    );
}

async fn the_portal_page_is_public_and_explains_a_bad_link(db: Db) {
    let (_, id, _) = setup(&db).await;
    let base = serve(db.clone()).await;
    let token = token_of(&portal::link(&db, "", id, 30, now()).await.unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{base}/pago/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK, "no login needed");
    let html = page.text().await.unwrap();
    assert!(html.contains("Hola, Ana Pérez"), "{html}");
    let last = if token.ends_with('0') { '1' } else { '0' };
    let bad = format!("{}{last}", &token[..token.len() - 1]);
    let html = http
        .get(format!("{base}/pago/{bad}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Enlace no válido") && html.contains("Pide a tu asesor uno nuevo"));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM portal_visits").await,
        0,
        "a page fetched without running it (a link preview) is no visit"
    );

    // One link asking again and again is told to wait; another link is not.
    let open = |token: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.post(format!("{base}/api/portal_open"))
                .header(reqwest::header::ORIGIN, base.as_str())
                .json(&serde_json::json!({ "token": token }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let mut answers = Vec::new();
    for _ in 0..35 {
        answers.push(open(token.clone()).await);
    }
    // The page fetched above counted too.
    let first_refused = answers
        .iter()
        .position(|s| *s == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .unwrap_or_else(|| panic!("never refused: {answers:?}"));
    assert!(first_refused >= 28, "{answers:?}");
    assert!(
        answers[..first_refused].iter().all(|s| s.is_success()),
        "{answers:?}"
    );
    assert!(answers[first_refused..]
        .iter()
        .all(|s| *s == reqwest::StatusCode::TOO_MANY_REQUESTS));
    let other = token_of(&portal::link(&db, "", id, 29, now()).await.unwrap());
    assert!(open(other).await.is_success());
}

on_both_engines!(
    a_debtor_opens_the_link_and_declares_a_payment,
    tampered_expired_or_foreign_links_store_nothing,
    the_portal_page_is_public_and_explains_a_bad_link,
);
