//! Interacciones and Indicadores de gestión on SQLite and PostgreSQL, against a portfolio
//! whose every figure was worked out by hand: four clients of three advisors in two
//! teams, with messages, outcomes, promises, payments and a portal visit at known times.

use std::io::Read;

use crate::common::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use recaudo::domain::alerts::{AlertKey, AlertKind, Contactability};
use recaudo::domain::calls::PromiseState;
use recaudo::domain::indicators::{IndicatorQuery, Rates};
use recaudo::domain::interactions::{
    ChannelFilter, Column, InteractionQuery, InteractionRow, Kind, RecordType, StatusFilter,
};
use recaudo::domain::message::Origin;
use recaudo::domain::user::{Role, User, Viewer};
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::interactions::export::Export;
use recaudo::server::interactions::{export, Holding, Reading};
use recaudo::server::tables;
use reqwest::header::ACCEPT;

struct Fixture {
    admin: Viewer,
    s1: User,
    a1: User,
    a2: User,
    a3: User,
    c: [i64; 4],
}

fn ago(days: i64, hours: i64) -> DateTime<Utc> {
    now() - Duration::days(days) + Duration::hours(hours)
}

fn day(days_ago: i64) -> NaiveDate {
    today() - Duration::days(days_ago)
}

/// A message row as the report reads it, stored as it is (a registration time apart
/// from when it happened).
struct Row<'a> {
    client: i64,
    direction: &'a str,
    channel: &'a str,
    origin: Option<&'a str>,
    author: Option<i64>,
    status: Option<&'a str>,
    template: Option<i64>,
    at: DateTime<Utc>,
    registered: DateTime<Utc>,
    body: &'a str,
}

async fn message(db: &Db, m: Row<'_>) -> i64 {
    let Row {
        client,
        direction,
        channel,
        origin,
        author,
        status,
        template,
        at,
        registered,
        body,
    } = m;
    let (id,): (i64,) = on_db!(db, p => sqlx::query_as(
        "INSERT INTO messages (client_id, party_role, party_ordinal, direction, channel, body, origin,
            author_id, status, template_id, occurred_at, created_at)
         VALUES ($1, 'client', 1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
        .bind(client).bind(direction).bind(channel).bind(body).bind(origin).bind(author).bind(status)
        .bind(template).bind(at).bind(registered).fetch_one(p).await)
    .unwrap();
    id
}

async fn outcome(
    db: &Db,
    client: i64,
    outcome: &str,
    class: &str,
    note: &str,
    user: i64,
    at: DateTime<Utc>,
) {
    on_db!(db, p => sqlx::query(
        "INSERT INTO outcomes (client_id, situation, outcome, contact_class, party_role, party_ordinal, note,
            user_id, occurred_at)
         VALUES ($1, 'outbound_contacted', $2, $3, 'client', 1, $4, $5, $6)")
        .bind(client).bind(outcome).bind(class).bind(note).bind(user).bind(at).execute(p).await.map(drop))
    .unwrap();
}

async fn promise(
    db: &Db,
    client: i64,
    state: PromiseState,
    user: i64,
    created: DateTime<Utc>,
    resolved: Option<DateTime<Utc>>,
) {
    on_db!(db, p => sqlx::query(
        "INSERT INTO promises (client_id, promised_date, amount_cents, currency, state, created_on, created_at,
            created_by, resolved_at)
         VALUES ($1, $2, 50000, 'COP', $3, $4, $5, $6, $7)")
        .bind(client).bind(day(-3)).bind(state.as_str()).bind(created.date_naive()).bind(created)
        .bind(user).bind(resolved).execute(p).await.map(drop))
    .unwrap();
}

async fn payment(
    db: &Db,
    client: i64,
    status: &str,
    cents: i64,
    note: &str,
    user: i64,
    at: DateTime<Utc>,
) {
    on_db!(db, p => sqlx::query(
        "INSERT INTO payments (client_id, paid_on, amount_cents, currency, method, note, status, declared_at,
            declared_by)
         VALUES ($1, $2, $3, 'COP', 'Transferencia', $4, $5, $6, $7)")
        .bind(client).bind(at.date_naive()).bind(cents).bind(note).bind(status).bind(at).bind(user)
        .execute(p).await.map(drop))
    .unwrap();
}

async fn fixture(db: &Db) -> Fixture {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let s1 = user(db, "sup1@x.co", Role::Supervisor, None).await;
    let s2 = user(db, "sup2@x.co", Role::Supervisor, None).await;
    let a1 = user(db, "ana@x.co", Role::Advisor, Some(&s1)).await;
    let a2 = user(db, "beto@x.co", Role::Advisor, Some(&s1)).await;
    let a3 = user(db, "caro@x.co", Role::Advisor, Some(&s2)).await;
    let mk = |doc: &'static str, name: &'static str, who: &User, debts: Vec<_>| {
        let mut input = client_input(doc, name, "Prueba", Some(who));
        input.debts = debts;
        input
    };
    let d =
        |n: &str, ago: i64, amount: &str, paid: &str| debt(n, &day(ago).to_string(), amount, paid);
    let c1 = client(
        db,
        &admin,
        &mk("1000001", "Uno", &a1, vec![d("D1", 10, "1000,00", "0")]),
    )
    .await;
    let c2 = client(
        db,
        &admin,
        &mk(
            "1000002",
            "Dos",
            &a1,
            vec![d("D2", 45, "500,00", "100,00"), d("D3", -5, "200,00", "0")],
        ),
    )
    .await;
    let c3 = client(
        db,
        &admin,
        &mk("1000003", "Tres", &a2, vec![d("D4", 200, "300,00", "0")]),
    )
    .await;
    let c4 = client(
        db,
        &admin,
        &mk(
            "1000004",
            "Cuatro",
            &a3,
            vec![d("D5", 95, "300,00", "0"), d("D6", 1, "100,00", "100,00")],
        ),
    )
    .await;
    let key = |bits: u8, c: Contactability| AlertKey::new(bits, c).0;
    for (id, k) in [
        (
            c3,
            key(AlertKind::WontPay.bit(), Contactability::Contactable),
        ),
        (
            c4,
            key(
                AlertKind::Contactability.bit(),
                Contactability::WithProblems,
            ),
        ),
    ] {
        on_db!(db, p => sqlx::query("UPDATE clients SET alert_key = $1 WHERE id = $2")
            .bind(k).bind(id).execute(p).await.map(drop))
        .unwrap();
    }
    let (template,): (i64,) = on_db!(db, p => sqlx::query_as(
        "INSERT INTO templates (name, channel, recipient, purpose, body, created_at, updated_at)
         VALUES ('Aviso correo', 'email', 'client', 'flow', 'Hola', $1, $1) RETURNING id")
        .bind(now()).fetch_one(p).await)
    .unwrap();

    // c1: a failed manual SMS registered two minutes after it was written, a WhatsApp
    // reply, two outcomes and a promise at the very same instant, a payment to verify.
    let sms = message(
        db,
        Row {
            client: c1,
            direction: "outbound",
            channel: "sms",
            origin: Some("manual"),
            author: Some(a1.id),
            status: Some("failed"),
            template: None,
            at: ago(1, 0),
            registered: ago(1, 0) + Duration::minutes(2),
            body: "Recuerde su pago",
        },
    )
    .await;
    on_db!(db, p => sqlx::query(
        "INSERT INTO message_statuses (message_id, status, detail, at) VALUES ($1, 'failed', 'Número inválido', $2)")
        .bind(sms).bind(ago(1, 1)).execute(p).await.map(drop))
    .unwrap();
    message(
        db,
        Row {
            client: c1,
            direction: "inbound",
            channel: "whatsapp",
            origin: None,
            author: None,
            status: None,
            template: None,
            at: ago(2, 0),
            registered: ago(2, 0),
            body: "Ya pagué",
        },
    )
    .await;
    outcome(
        db,
        c1,
        "promise_or_to_verify",
        "right_party",
        "Paga el viernes",
        a1.id,
        ago(3, 0),
    )
    .await;
    outcome(db, c1, "no_answer", "attempt", "", a1.id, ago(3, 0)).await;
    promise(db, c1, PromiseState::Pending, a1.id, ago(3, 0), None).await;
    payment(
        db,
        c1,
        "to_verify",
        25_000,
        "Transferencia enviada",
        a1.id,
        ago(4, 0),
    )
    .await;
    // c2: one outcome in the period and one before it, a kept promise, an approved
    // payment and a portal visit.
    outcome(
        db,
        c2,
        "promise_or_to_verify",
        "right_party",
        "",
        a1.id,
        ago(2, 0),
    )
    .await;
    outcome(
        db,
        c2,
        "promise_or_to_verify",
        "right_party",
        "",
        a1.id,
        ago(10, 0),
    )
    .await;
    promise(
        db,
        c2,
        PromiseState::Kept,
        a1.id,
        ago(5, 0),
        Some(ago(1, 0)),
    )
    .await;
    payment(db, c2, "approved", 10_000, "", a1.id, ago(5, 0)).await;
    let (visit,): (i64,) = on_db!(db, p => sqlx::query_as(
        "INSERT INTO portal_visits (client_id, page_name, visited_at) VALUES ($1, 'Estado de cuenta', $2) RETURNING id")
        .bind(c2).bind(ago(1, 1)).fetch_one(p).await)
    .unwrap();
    on_db!(db, p => sqlx::query(
        "INSERT INTO portal_visit_states (visit_id, state, at) VALUES ($1, 'opened', $2), ($1, 'viewed_debt', $3)")
        .bind(visit).bind(ago(1, 1)).bind(ago(1, 1) + Duration::seconds(30)).execute(p).await.map(drop))
    .unwrap();
    // c3: a third-party contact, and a promise made before the period and broken in it.
    outcome(
        db,
        c3,
        "third_party",
        "third_party",
        "Atendió la hermana",
        a2.id,
        ago(4, 0),
    )
    .await;
    promise(
        db,
        c3,
        PromiseState::Broken,
        a2.id,
        ago(20, 0),
        Some(ago(3, 0)),
    )
    .await;
    // c4: a delivered flow e-mail, a right-party contact, a cancelled promise.
    message(
        db,
        Row {
            client: c4,
            direction: "outbound",
            channel: "email",
            origin: Some("flow"),
            author: None,
            status: Some("delivered"),
            template: Some(template),
            at: ago(6, 0),
            registered: ago(6, 0),
            body: "Su estado de cuenta",
        },
    )
    .await;
    outcome(
        db,
        c4,
        "promise_or_to_verify",
        "right_party",
        "",
        a3.id,
        ago(6, 1),
    )
    .await;
    promise(db, c4, PromiseState::Cancelled, a3.id, ago(2, 0), None).await;

    Fixture {
        admin,
        s1,
        a1,
        a2,
        a3,
        c: [c1, c2, c3, c4],
    }
}

fn period() -> InteractionQuery {
    InteractionQuery {
        from: Some(day(6)),
        to: Some(today()),
        ..Default::default()
    }
}

/// Every row of the report, read `limit` at a time.
async fn all_rows(db: &Db, v: &Viewer, q: &InteractionQuery, limit: usize) -> Vec<InteractionRow> {
    let reading = Reading::new(db, v, q, clock(), limit).await.unwrap();
    every_page(db, &reading).await
}

/// Every page of `reading`, in order.
async fn every_page(db: &Db, reading: &Reading) -> Vec<InteractionRow> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = reading.page(db, after).await.unwrap();
        rows.extend(page.rows);
        match page.next {
            Some(c) => after = Some(c),
            None => return rows,
        }
    }
}

fn kinds(rows: &[InteractionRow]) -> Vec<(Kind, i64)> {
    rows.iter().map(|r| (r.kind, r.client_id)).collect()
}

async fn the_report_lists_every_record_of_the_period_newest_first(db: Db) {
    let f = fixture(&db).await;
    let [c1, c2, c3, c4] = f.c;
    let rows = all_rows(&db, &f.admin, &period(), 100).await;
    assert_eq!(
        kinds(&rows),
        vec![
            (Kind::Visit, c2),   // 1 day ago, an hour after the SMS
            (Kind::Message, c1), // the SMS
            // Three records at one instant: by kind, promises before outcomes before
            // messages.
            (Kind::Promise, c4),
            (Kind::Outcome, c2),
            (Kind::Message, c1),
            (Kind::Promise, c1),
            (Kind::Outcome, c1), // two outcomes at one instant: the newer id first
            (Kind::Outcome, c1),
            (Kind::Payment, c1),
            (Kind::Outcome, c3),
            (Kind::Promise, c2),
            (Kind::Payment, c2),
            (Kind::Outcome, c4),
            (Kind::Message, c4),
        ]
    );
    assert_eq!(rows.len(), 14, "{:#?}", kinds(&rows));
    for pair in rows.windows(2) {
        let (a, b) = (pair[0].cursor(), pair[1].cursor());
        assert!(
            (a.at, a.kind.rank(), a.id) > (b.at, b.kind.rank(), b.id),
            "newest first: {a:?} before {b:?}"
        );
    }
    // Pages of two resume exactly where they stopped, across kinds and equal times.
    assert_eq!(all_rows(&db, &f.admin, &period(), 2).await, rows);
    // A download merges one reader per kind: in chunks of two and of three it yields the
    // same rows in the same order.
    for chunk in [2, 3] {
        let mut export = Export::open(&db, &f.admin, &period(), clock(), chunk)
            .await
            .unwrap();
        let mut merged = Vec::new();
        loop {
            let part = export.next_rows().await.unwrap();
            assert!(part.len() <= chunk);
            let last = part.len() < chunk;
            merged.extend(part);
            if last {
                break;
            }
        }
        assert_eq!(merged, rows, "chunks of {chunk}");
    }

    let sms = &rows[1];
    assert_eq!(sms.cell(Column::Type), "Saliente");
    assert_eq!(sms.cell(Column::Channel), "SMS");
    assert_eq!(sms.cell(Column::Status), "Mensaje: Fallido");
    assert_eq!(sms.cell(Column::Error), "Número inválido");
    assert_eq!(sms.cell(Column::Origin), "Manual");
    assert_eq!(sms.cell(Column::User), format!("{} · ana", f.a1.id));
    assert_eq!(sms.cell(Column::Advisor), "ana");
    assert_eq!(sms.cell(Column::Supervisor), "sup1");
    // Bogotá is five hours behind UTC; the message was stored two minutes later.
    assert_eq!(sms.cell(Column::At), "2026-11-22 10:00:00");
    assert_eq!(sms.cell(Column::RegisteredAt), "2026-11-22 10:02:00");
    let visit = &rows[0];
    assert_eq!(visit.cell(Column::Type), "Entrante");
    assert_eq!(visit.cell(Column::Channel), "Web de cobros");
    assert_eq!(visit.cell(Column::Status), "Visita: Consultó la deuda");
    let first_outcome = &rows[7];
    assert!(first_outcome.id < rows[6].id);
    let noted = rows
        .iter()
        .find(|r| r.kind == Kind::Outcome && r.client_id == c1 && !r.notes.is_empty())
        .unwrap();
    assert_eq!(noted.cell(Column::Notes), "Paga el viernes");
    assert_eq!(noted.cell(Column::Detail), "Compromiso / A verificar");
    assert_eq!(noted.cell(Column::Type), "Gestión");
    assert_eq!(noted.cell(Column::Channel), "Llamada");
    let pay = rows
        .iter()
        .find(|r| r.kind == Kind::Payment && r.client_id == c1)
        .unwrap();
    assert_eq!(pay.cell(Column::Amount), "COP 250,00");
    assert_eq!(pay.cell(Column::Status), "Pago: A verificar");
    assert_eq!(pay.cell(Column::Notes), "Transferencia enviada");
    assert!(pay
        .cell(Column::Detail)
        .starts_with("Pagado el 2026-11-19 · Transferencia"));
    let mail = rows.last().unwrap();
    assert_eq!(mail.cell(Column::Template), "Aviso correo");
    assert_eq!(mail.cell(Column::Origin), "Flujo");
    assert_eq!(mail.cell(Column::User), "");
}

async fn filters_narrow_the_report(db: Db) {
    let f = fixture(&db).await;
    let [c1, c2, c3, c4] = f.c;
    let only = |change: fn(&mut InteractionQuery, &Fixture)| {
        let mut q = period();
        change(&mut q, &f);
        q
    };
    let read = |q: InteractionQuery| {
        let (db, admin) = (db.clone(), f.admin.clone());
        async move { kinds(&all_rows(&db, &admin, &q, 100).await) }
    };
    let by_advisor = read(only(|q, f| q.advisor_id = Some(f.a1.id))).await;
    assert_eq!(by_advisor.len(), 10);
    assert!(by_advisor.iter().all(|(_, c)| *c == c1 || *c == c2));
    let team2 = read(only(|q, f| q.supervisor_id = Some(f.a3.id))).await;
    assert!(team2.is_empty(), "an advisor is nobody's supervisor");
    let calls = read(only(|q, _| q.channel = Some(ChannelFilter::Call))).await;
    assert_eq!(calls.len(), 5);
    assert!(calls.iter().all(|(k, _)| *k == Kind::Outcome));
    let failed = read(only(|q, _| {
        q.status = Some(StatusFilter::Delivery(
            recaudo::domain::message::DeliveryStatus::Failed,
        ))
    }))
    .await;
    assert_eq!(failed, vec![(Kind::Message, c1)]);
    let inbound = read(only(|q, _| q.record_type = Some(RecordType::Inbound))).await;
    assert_eq!(inbound, vec![(Kind::Visit, c2), (Kind::Message, c1)]);
    let flow = read(only(|q, _| q.origin = Some(Origin::Flow))).await;
    assert_eq!(flow, vec![(Kind::Message, c4)]);
    let manual = read(only(|q, _| q.origin = Some(Origin::Manual))).await;
    assert_eq!(
        manual.len(),
        11,
        "everything but the reply, the visit and the flow e-mail"
    );
    let broken_in_period = read(only(|q, _| {
        q.status = Some(StatusFilter::Promise(PromiseState::Broken))
    }))
    .await;
    assert!(broken_in_period.is_empty(), "made before the period");
    let older = read(InteractionQuery {
        from: Some(day(25)),
        to: Some(day(7)),
        ..Default::default()
    })
    .await;
    assert_eq!(older, vec![(Kind::Outcome, c2), (Kind::Promise, c3)]);
    // A saved segment filters by its rule: "Asesor = beto".
    let admin = f.admin.clone();
    let rule = recaudo::domain::segments::Rule::Condition(recaudo::domain::segments::Condition {
        variable: recaudo::domain::segments::Variable::Advisor,
        op: recaudo::domain::segments::Op::Eq,
        value: f.a2.id.to_string(),
    });
    let seg = recaudo::server::segments::save(
        &db,
        &admin,
        None,
        recaudo::domain::segments::SegmentInput {
            name: "De Beto".into(),
            rule,
        },
        now(),
    )
    .await
    .unwrap();
    let segment = read(InteractionQuery {
        segment_id: Some(seg),
        ..period()
    })
    .await;
    assert_eq!(segment, vec![(Kind::Outcome, c3)]);
    let missing = InteractionQuery {
        segment_id: Some(seg + 100),
        ..period()
    };
    let gone = Reading::new(&db, &admin, &missing, clock(), 10).await;
    assert!(gone.err().unwrap().to_string().contains("ya no existe"));
}

/// The download as the browser gets it, parsed back into cells.
async fn download(base: &str, client: &reqwest::Client, query: &str) -> (String, Vec<u8>) {
    let res = client
        .get(format!("{base}/api/interactions/export?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK, "{query}");
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    (kind, res.bytes().await.unwrap().to_vec())
}

fn csv_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn xlsx_cells(bytes: Vec<u8>) -> Vec<Vec<String>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    };
    sheet
        .split("<row>")
        .skip(1)
        .map(|row| {
            row.split("<t xml:space=\"preserve\">")
                .skip(1)
                .map(|cell| unescape(cell.split("</t>").next().unwrap()))
                .collect()
        })
        .collect()
}

async fn login(base: &str, email: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/login"))
        .header(reqwest::header::ORIGIN, base)
        .header(ACCEPT, "application/json")
        .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login {email}: {}", res.status());
    client
}

async fn downloads_hold_exactly_the_table_and_only_what_the_viewer_may_see(db: Db) {
    let f = fixture(&db).await;
    let base = serve(db.clone()).await;
    // The app's clock is the real one: ask for the fixture's days explicitly.
    let columns = [
        Column::At,
        Column::Client,
        Column::Notes,
        Column::User,
        Column::RegisteredAt,
        Column::Status,
    ];
    let q = InteractionQuery {
        columns: columns.to_vec(),
        ..period()
    };
    let params: String = q
        .params()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let table: Vec<Vec<String>> = all_rows(&db, &f.admin, &q, 100)
        .await
        .iter()
        .map(|r| r.cells(&columns))
        .collect();
    let header: Vec<String> = export::header(&columns);
    assert_eq!(
        header,
        [
            "Fecha",
            "Cliente",
            "Notas",
            "Usuario gestión",
            "Fecha de registro",
            "Estado"
        ]
    );

    let admin = login(&base, "admin@x.co").await;
    let (kind, csv) = download(&base, &admin, &format!("{params}&formato=csv")).await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    let cells = csv_cells(&csv);
    assert_eq!(cells[0], header);
    let inert: Vec<Vec<String>> = table
        .iter()
        .map(|r| r.iter().map(|c| tables::inert(c)).collect())
        .collect();
    assert_eq!(cells[1..], inert[..]);
    assert!(cells.iter().any(|r| r[2] == "Paga el viernes"));

    let (kind, xlsx) = download(&base, &admin, &format!("{params}&formato=xlsx")).await;
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let sheet = xlsx_cells(xlsx);
    assert_eq!(sheet[0], header);
    assert_eq!(sheet[1..], table[..]);

    // An advisor's download is their portfolio, whatever the link asks for.
    let beto = login(&base, "beto@x.co").await;
    let (_, own) = download(&base, &beto, &format!("{params}&formato=csv")).await;
    let own = csv_cells(&own);
    assert_eq!(own.len(), 2, "the header and c3's outcome: {own:?}");
    assert!(own[1][1].starts_with("Tres"));
    let (_, other) = download(&base, &beto, &format!("{params}&asesor={}", f.a1.id)).await;
    assert_eq!(
        csv_cells(&other).len(),
        1,
        "another advisor's records: none"
    );
    let sup = login(&base, "sup2@x.co").await;
    let (_, team) = download(&base, &sup, &params).await;
    assert!(csv_cells(&team)[1..]
        .iter()
        .all(|r| r[1].starts_with("Cuatro")));
    assert_eq!(csv_cells(&team).len(), 4);

    // Bad input is a clear error, and nobody anonymous downloads anything.
    let res = admin
        .get(format!("{base}/api/interactions/export?canal=fax"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("«fax»"));
    let res = admin
        .get(format!("{base}/api/interactions/export?formato=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let res = reqwest::get(format!("{base}/api/interactions/export"))
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    // The Clientes report comes as XLSX too, the Alerta column after the name.
    let res = admin
        .get(format!("{base}/api/clients/export?formato=xlsx&todos=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let clients = xlsx_cells(res.bytes().await.unwrap().to_vec());
    assert_eq!(
        clients[0][..2],
        ["Cliente".to_string(), "Alerta".to_string()]
    );
    assert_eq!(clients.len(), 5);
    assert!(clients.iter().any(|r| r[1] == "No quiere pagar"));
}

async fn indicators_match_the_hand_computed_figures(db: Db) {
    let f = fixture(&db).await;
    let q = IndicatorQuery {
        from: Some(day(6)),
        to: Some(today()),
        ..Default::default()
    };
    let ind = recaudo::server::indicators::indicators(&db, &f.admin, &q, clock())
        .await
        .unwrap();
    assert_eq!(ind.clients, 4);
    assert_eq!(
        ind.contactability,
        vec![
            (Contactability::NotContactable, 0),
            (Contactability::WithProblems, 1),
            (Contactability::Contactable, 1),
            (Contactability::New, 2),
        ]
    );
    let alert = |k: AlertKind| ind.alerts.iter().find(|(a, _)| *a == k).unwrap().1;
    assert_eq!(alert(AlertKind::WontPay), 1);
    assert_eq!(alert(AlertKind::Contactability), 1);
    assert_eq!(alert(AlertKind::CantPay), 0);
    let rates = |outcomes, right_party, promises, kept, broken| Rates {
        outcomes,
        right_party,
        promises,
        kept,
        broken,
    };
    assert_eq!(ind.total, rates(5, 3, 3, 1, 1));
    let of = |groups: &[recaudo::domain::indicators::GroupRates], id: i64| {
        groups.iter().find(|g| g.user_id == Some(id)).unwrap().rates
    };
    assert_eq!(of(&ind.advisors, f.a1.id), rates(3, 2, 2, 1, 0));
    assert_eq!(of(&ind.advisors, f.a2.id), rates(1, 0, 0, 0, 1));
    assert_eq!(of(&ind.advisors, f.a3.id), rates(1, 1, 1, 0, 0));
    assert_eq!(of(&ind.teams, f.s1.id), rates(4, 2, 2, 1, 1));
    assert_eq!(ind.teams.len(), 2);
    let a1 = of(&ind.advisors, f.a1.id);
    assert_eq!(
        recaudo::domain::indicators::percent(a1.right_party_rate()),
        "66,7 %"
    );
    assert_eq!(
        recaudo::domain::indicators::percent(a1.promise_rate()),
        "100,0 %"
    );

    assert_eq!(ind.receivables.len(), 1);
    let cop = &ind.receivables[0];
    assert_eq!(cop.currency, "COP");
    assert_eq!(cop.overdue_cents, 200_000);
    assert_eq!(cop.due_recently_cents, 160_000);
    assert_eq!(cop.dso(), Some(112.5));
    assert_eq!(cop.buckets, [100_000, 40_000, 0, 30_000, 30_000]);
    assert_eq!((cop.to_verify, cop.to_verify_cents), (1, 25_000));

    // An advisor's indicators are their own portfolio, whatever they ask for.
    let ana = viewer(&db, &f.a1).await;
    let own = recaudo::server::indicators::indicators(&db, &ana, &q, clock())
        .await
        .unwrap();
    assert_eq!(own.clients, 2);
    assert_eq!(own.total, rates(3, 2, 2, 1, 0));
    assert_eq!(own.receivables[0].overdue_cents, 140_000);
    assert_eq!(own.receivables[0].buckets, [100_000, 40_000, 0, 0, 0]);
    let asked = IndicatorQuery {
        advisor_id: Some(f.a3.id),
        ..q.clone()
    };
    let none = recaudo::server::indicators::indicators(&db, &ana, &asked, clock())
        .await
        .unwrap();
    assert_eq!(none.clients, 0);
    assert!(none.receivables.is_empty() && none.advisors.is_empty());
    // A supervisor narrowed to one team sees that team.
    let team = IndicatorQuery {
        supervisor_id: Some(f.s1.id),
        ..q.clone()
    };
    let s1 = recaudo::server::indicators::indicators(&db, &f.admin, &team, clock())
        .await
        .unwrap();
    assert_eq!(s1.clients, 3);
    assert_eq!(s1.total, rates(4, 2, 2, 1, 1));
    let bad = IndicatorQuery {
        from: Some(today()),
        to: Some(day(3)),
        ..Default::default()
    };
    let e = recaudo::server::indicators::indicators(&db, &f.admin, &bad, clock())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("«Desde»"), "{e}");
}

/// The moment `at`, on the organisation's date there.
fn clock_at(at: DateTime<Utc>) -> recaudo::server::clock::Clock {
    recaudo::server::clock::Clock::at(at, tz())
}

/// The counters the triggers keep against a recount from the rows, on a random
/// portfolio built through the services: debts in two currencies due over seven months,
/// outcomes, promises and payments to verify at random minutes over 40 days, promises
/// settled on later days, payments reviewed, debts paid, clients reassigned between advisors and teams, an advisor moved to
/// another team, promises stored already settled. Every scope, several periods; before
/// and after folding (PostgreSQL's triggers append, the fold merges).
/// A portfolio worked at random through the services, and who may look at it.
struct Random {
    admin: Viewer,
    viewers: [Viewer; 7],
    s2: User,
    a3: User,
}

/// 24 clients of four advisors in two teams (and none), with debts in two currencies;
/// 160 outcomes and 60 messages at random minutes over 40 days, promises settled later,
/// payments reviewed, clients reassigned, an advisor moved to the other team.
async fn random_portfolio(db: &Db) -> Random {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use recaudo::domain::calls::{CallCalendar, PromisePolicy};
    use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
    use recaudo::server::{calls, clients};

    let mut rng = StdRng::seed_from_u64(24);
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let s1 = user(db, "sup1@x.co", Role::Supervisor, None).await;
    let s2 = user(db, "sup2@x.co", Role::Supervisor, None).await;
    let a1 = user(db, "ana@x.co", Role::Advisor, Some(&s1)).await;
    let a2 = user(db, "beto@x.co", Role::Advisor, Some(&s1)).await;
    let a3 = user(db, "caro@x.co", Role::Advisor, Some(&s2)).await;
    let a4 = user(db, "dani@x.co", Role::Advisor, None).await;
    let advisors = [&a1, &a2, &a3, &a4];
    let mut ids = Vec::new();
    for i in 0..24 {
        let holder = (i < 22).then(|| advisors[i % 4]);
        let doc = format!("{}", 7100 + i);
        let mut input = client_input(&doc, "Cliente", &format!("Número {i}"), holder);
        // Due dates from half a year ago to next month, some paid in part or whole, in
        // two currencies: every aging bucket, the DSO's window, the per-currency split.
        input.debts = (0..rng.gen_range(1..4))
            .map(|n| {
                let due = today() + Duration::days(rng.gen_range(-200..40));
                let amount: i64 = rng.gen_range(1..50) * 10_000;
                let paid = [0, amount / 3, amount][rng.gen_range(0..3)];
                let mut d = debt(
                    &format!("F-{doc}-{n}"),
                    &due.to_string(),
                    &amount.to_string(),
                    &paid.to_string(),
                );
                d.currency = if i % 3 == 0 { "USD" } else { "COP" }.into();
                d
            })
            .collect();
        ids.push(client(db, &admin, &input).await);
    }

    let start = now() - Duration::days(40);
    // Their own generator, so the outcomes stay the ones the indicators were checked on.
    let mut chatter = StdRng::seed_from_u64(25);
    for _ in 0..60 {
        let at = start + Duration::minutes(chatter.gen_range(0..40 * 24 * 60));
        let (direction, channel) = [
            ("inbound", "whatsapp"),
            ("outbound", "sms"),
            ("outbound", "email"),
        ][chatter.gen_range(0..3)];
        message(
            db,
            Row {
                client: ids[chatter.gen_range(0..ids.len())],
                direction,
                channel,
                origin: (direction == "outbound").then_some("manual"),
                author: None,
                status: (direction == "outbound")
                    .then(|| ["sent", "delivered", "failed"][chatter.gen_range(0..3)]),
                template: None,
                at,
                registered: at,
                body: "Hola",
            },
        )
        .await;
    }
    let policy = PromisePolicy::default();
    for step in 0..160 {
        // Any minute of the 40 days, so that events fall near the organisation's midnight.
        let at = start + Duration::minutes(rng.gen_range(0..40 * 24 * 60));
        let clock = clock_at(at);
        let id = ids[rng.gen_range(0..ids.len())];
        let input = match rng.gen_range(0..4) {
            0 => OutcomeInput {
                date: (clock.today + Duration::days(rng.gen_range(0..4))).to_string(),
                amount: "100.000".into(),
                ..outcome_input(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
            },
            // "Ya pagó": a payment to verify.
            _ if step % 7 == 3 => OutcomeInput {
                date: clock.today.to_string(),
                amount: "40.000".into(),
                already_paid: true,
                ..outcome_input(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
            },
            1 => outcome_input(Situation::OutboundNotContacted, Outcome::ThirdParty),
            2 => outcome_input(Situation::OutboundContacted, Outcome::WontPay),
            _ => outcome_input(Situation::OutboundNotContacted, Outcome::NoAnswer),
        };
        calls::register(db, &admin, id, input, &CallCalendar::default(), clock)
            .await
            .unwrap();
        match step % 40 {
            13 => {
                let later = clock_at(at + Duration::days(rng.gen_range(3..9)));
                calls::promises::settle(db, policy, later).await.unwrap();
            }
            20 => {
                // A payment applied to a debt (as a reviewed payment does).
                let id = ids[rng.gen_range(0..ids.len())];
                on_db!(db, p => sqlx::query(
                    "UPDATE debts SET paid_cents = amount_cents WHERE id = (SELECT MIN(id) FROM debts WHERE client_id = $1)")
                    .bind(id).execute(p).await.map(drop))
                .unwrap();
            }
            33 | 34 => {
                // A payment reviewed, approved or rejected.
                let status = if step % 40 == 33 {
                    "approved"
                } else {
                    "rejected"
                };
                on_db!(db, p => sqlx::query(
                    "UPDATE payments SET status = $1 WHERE id = (SELECT MIN(id) FROM payments WHERE status = 'to_verify')")
                    .bind(status).execute(p).await.map(drop))
                .unwrap();
            }
            27 => {
                let moved: Vec<i64> = (0..5).map(|_| ids[rng.gen_range(0..ids.len())]).collect();
                let mut moved = moved;
                moved.sort_unstable();
                moved.dedup();
                let to = advisors[rng.gen_range(0..advisors.len())].id;
                clients::assign(db, &admin, &moved, Some(to), at)
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
    // An advisor changes team: their clients follow, with their history.
    edit_user(db, &admin, &a2, |u| u.supervisor_id = Some(s2.id))
        .await
        .unwrap();
    clients::assign(db, &admin, &ids[..3], None, now())
        .await
        .unwrap();
    // Promises stored already settled (an import, the fixtures above).
    on_db!(db, p => sqlx::query(
        "INSERT INTO promises (client_id, promised_date, amount_cents, currency, state, created_on, created_at,
            created_by, resolved_at)
         VALUES ($1, $2, 50000, 'COP', 'kept', $2, $3, $4, $5)")
        .bind(ids[5]).bind(day(9)).bind(ago(9, 3)).bind(admin.user_id).bind(ago(2, 1))
        .execute(p).await.map(drop))
    .unwrap();
    calls::promises::settle(db, policy, clock()).await.unwrap();

    let viewers = [
        admin.clone(),
        viewer(db, &s1).await,
        viewer(db, &s2).await,
        viewer(db, &a1).await,
        viewer(db, &a2).await,
        viewer(db, &a3).await,
        viewer(db, &a4).await,
    ];
    Random {
        admin,
        viewers,
        s2,
        a3,
    }
}

async fn indicators_counted_by_hour_equal_a_recount_from_the_rows(db: Db) {
    use recaudo::server::indicators::{fold, indicators_by, Counting};

    let Random {
        admin,
        viewers,
        s2,
        a3,
    } = random_portfolio(&db).await;
    let periods = [
        IndicatorQuery::default(),
        IndicatorQuery {
            from: Some(day(45)),
            to: Some(today()),
            ..Default::default()
        },
        IndicatorQuery {
            from: Some(day(20)),
            to: Some(day(11)),
            advisor_id: Some(a3.id),
            ..Default::default()
        },
        IndicatorQuery {
            from: Some(day(38)),
            to: Some(day(2)),
            supervisor_id: Some(s2.id),
            ..Default::default()
        },
    ];
    let mut compared = 0;
    for round in 0..2 {
        for v in &viewers {
            for q in &periods {
                let counted = indicators_by(&db, v, q, clock(), Counting::Counters)
                    .await
                    .unwrap();
                let recounted = indicators_by(&db, v, q, clock(), Counting::Rows)
                    .await
                    .unwrap();
                assert_eq!(
                    counted, recounted,
                    "round {round}, viewer {}, {q:?}",
                    v.email
                );
                compared += usize::from(counted.total.outcomes > 0);
            }
        }
        fold(&db).await.unwrap();
    }
    assert!(compared > 20, "the comparisons saw outcomes: {compared}");
    let everything = indicators_by(&db, &admin, &periods[1], clock(), Counting::Counters)
        .await
        .unwrap();
    assert_eq!(everything.total.outcomes, 160);
    assert!(
        everything.total.kept + everything.total.broken > 5,
        "{:?}",
        everything.total
    );
    assert_eq!(
        everything.receivables.len(),
        2,
        "{:?}",
        everything.receivables
    );
    assert!(everything.receivables.iter().any(|r| r.to_verify > 0));
    assert!(everything.alerts.iter().any(|(_, n)| *n > 0));
}

/// After a bulk load the fold gives a counter table back its size: every read of the
/// counters scans the table, empty pages too (PostgreSQL only: SQLite's triggers never
/// append).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fold_leaves_the_counter_tables_small_on_postgres() {
    use recaudo::server::indicators::fold;
    let Some(t) = TestDb::postgres().await else {
        return;
    };
    let db = t.db.clone();
    let size = |db: Db| async move {
        let (bytes,): (i64,) = on_db!(&db, p => sqlx::query_as(
            "SELECT pg_relation_size('portfolio_keys')").fetch_one(p).await)
        .unwrap();
        bytes
    };
    // What importing 20,000 clients appends: a row per client, on three keys.
    on_db!(&db, p => sqlx::query(
        "INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients, merged)
         SELECT 0, 0, n % 3, 1, FALSE FROM generate_series(1, 20000) n")
        .execute(p).await.map(drop))
    .unwrap();
    let before = size(db.clone()).await;
    assert!(fold(&db).await.unwrap() >= 20_000);
    let after = size(db.clone()).await;
    assert!(
        after <= 8192,
        "{before} bytes before the fold, {after} after"
    );
    let merged: Vec<(i64, i64)> = on_db!(&db, p => sqlx::query_as(
        "SELECT alert_key, CAST(clients AS BIGINT) FROM portfolio_keys WHERE merged ORDER BY alert_key")
        .fetch_all(p).await)
    .unwrap();
    assert_eq!(merged, vec![(0, 6666), (1, 6667), (2, 6667)]);
}

/// Every row of the report, read `limit` at a time with the clients matched as `holding`.
async fn rows_held(
    db: &Db,
    v: &Viewer,
    q: &InteractionQuery,
    limit: usize,
    holding: Holding,
) -> Vec<InteractionRow> {
    let reading = Reading::new(db, v, q, clock(), limit)
        .await
        .unwrap()
        .with_holding(holding);
    every_page(db, &reading).await
}

async fn interactions_read_by_time_equal_the_joined_reading(db: Db) {
    let Random {
        viewers, s2, a3, ..
    } = random_portfolio(&db).await;
    let whole = InteractionQuery {
        from: Some(day(45)),
        to: Some(today()),
        ..Default::default()
    };
    let queries = [
        InteractionQuery::default(),
        whole.clone(),
        InteractionQuery {
            advisor_id: Some(a3.id),
            ..whole.clone()
        },
        InteractionQuery {
            supervisor_id: Some(s2.id),
            channel: Some(ChannelFilter::WhatsApp),
            ..whole.clone()
        },
        InteractionQuery {
            from: Some(day(30)),
            to: Some(day(3)),
            record_type: Some(RecordType::Management),
            ..Default::default()
        },
    ];
    let mut compared = 0;
    for v in &viewers {
        for q in &queries {
            for limit in [4, 100] {
                let joined = rows_held(&db, v, q, limit, Holding::Joined).await;
                let looked_up = rows_held(&db, v, q, limit, Holding::LookedUp).await;
                assert_eq!(
                    joined, looked_up,
                    "viewer {}, limit {limit}, {q:?}",
                    v.email
                );
                compared += joined.len();
            }
        }
    }
    assert!(compared > 1_000, "the comparisons saw rows: {compared}");
}

fn outcome_input(
    situation: recaudo::domain::outcome::Situation,
    outcome: recaudo::domain::outcome::Outcome,
) -> recaudo::domain::outcome::OutcomeInput {
    recaudo::domain::outcome::OutcomeInput {
        situation: situation.as_str().into(),
        outcome: outcome.as_str().into(),
        despite_recent: true,
        ..Default::default()
    }
}

on_both_engines!(
    the_report_lists_every_record_of_the_period_newest_first,
    filters_narrow_the_report,
    downloads_hold_exactly_the_table_and_only_what_the_viewer_may_see,
    indicators_match_the_hand_computed_figures,
    indicators_counted_by_hour_equal_a_recount_from_the_rows,
    interactions_read_by_time_equal_the_joined_reading,
);
