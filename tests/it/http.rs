//! The real HTTP application on a loopback port: server functions called directly, as
//! another client (or an attacker) would, on SQLite and PostgreSQL.

use crate::common::*;
use recaudo::domain::error::AppError;
use recaudo::server::db::Db;
use recaudo::server::seed;
use reqwest::header::{ACCEPT, LOCATION, ORIGIN};
use reqwest::StatusCode;
use serde_json::json;

async fn demo(db: &Db) {
    seed::seed(db, 60, clock()).await.unwrap();
}

async fn a_client_of_another_advisor_is_not_found_through_the_api(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (a1, logged) = app.login("asesor1@demo.recaudo", seed::DEMO_PASSWORD).await;
    assert_eq!(logged.unwrap(), "/clientes");

    let others: Vec<(i64, String, String)> = recaudo::on_db!(&app.db, p => sqlx::query_as(
        "SELECT c.id, c.display_name, c.document_number FROM clients c JOIN users u ON u.id = c.advisor_id
         WHERE u.email = 'asesor2@demo.recaudo' ORDER BY c.id LIMIT 3").fetch_all(p).await).unwrap();
    assert!(!others.is_empty());
    for (id, name, document) in &others {
        let (result, body) = app
            .call::<serde_json::Value>(&a1, "get_client", json!({ "id": id }))
            .await;
        assert_eq!(result.unwrap_err(), AppError::NotFound);
        assert!(
            !body.contains(name.as_str()) && !body.contains(document.as_str()),
            "leaked data: {body}"
        );
    }
    // Assigning them away is refused too, and changes nothing.
    let ids: Vec<i64> = others.iter().map(|o| o.0).collect();
    let (result, _) = app
        .call::<u64>(
            &a1,
            "assign_clients",
            json!({ "ids": ids, "advisor_id": null }),
        )
        .await;
    assert_eq!(result.unwrap_err(), AppError::Forbidden);

    let own: (i64,) = recaudo::on_db!(&app.db, p => sqlx::query_as(
        "SELECT c.id FROM clients c JOIN users u ON u.id = c.advisor_id WHERE u.email = 'asesor1@demo.recaudo' LIMIT 1")
        .fetch_one(p).await).unwrap();
    let (result, _) = app
        .call::<serde_json::Value>(&a1, "get_client", json!({ "id": own.0 }))
        .await;
    assert_eq!(result.unwrap()["advisor_name"], "Camila Rojas");

    // The list, asked for everything, still holds only the advisor's portfolio.
    let query = json!({ "query": { "search": "", "sort": "AmountDesc", "all_clients": true, "after": null } });
    let (page, _) = app
        .call::<serde_json::Value>(&a1, "list_clients", query)
        .await;
    let page = page.unwrap();
    let rows = page["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["advisor_name"] == "Camila Rojas"));

    let (users, _) = app
        .call::<serde_json::Value>(&a1, "list_users", json!({}))
        .await;
    assert_eq!(users.unwrap_err(), AppError::Forbidden);
}

async fn login_errors_reveal_nothing_and_sessions_end(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (_, wrong) = app.login("asesor1@demo.recaudo", "no-es-la-clave").await;
    let (_, unknown) = app.login("nadie@demo.recaudo", "no-es-la-clave").await;
    assert_eq!(wrong.unwrap_err(), AppError::BadCredentials);
    assert_eq!(unknown.unwrap_err(), AppError::BadCredentials);
    assert_eq!(
        AppError::BadCredentials.to_string(),
        "Correo o contraseña incorrectos."
    );
    let (_, empty) = app.login("", "").await;
    let empty = empty.unwrap_err();
    assert!(empty.field_message("email").is_some() && empty.field_message("password").is_some());

    let anonymous = browser();
    let res = anonymous
        .get(format!("{}/clientes?q=ana", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login?next=/clientes%3Fq%3Dana");
    let (result, _) = app
        .call::<serde_json::Value>(&anonymous, "get_client", json!({ "id": 1 }))
        .await;
    assert_eq!(result.unwrap_err(), AppError::Unauthenticated);

    let (admin, ok) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let res = admin
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()[LOCATION],
        "/",
        "a signed-in user skips the login page"
    );
    let res = admin
        .get(format!("{}/clientes", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    // Scripts run only from this site or with this response's nonce.
    let policy = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let page = res.text().await.unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {policy}"));
    for directive in [
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    let scripts = page.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        page.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every inline script carries the nonce: {page}"
    );
    let again = admin
        .get(format!("{}/clientes", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(nonce),
        "a nonce serves one response"
    );
    let (out, _) = app.call::<()>(&admin, "logout", json!({})).await;
    out.unwrap();
    let (after, _) = app
        .call::<serde_json::Value>(&admin, "list_users", json!({}))
        .await;
    assert_eq!(after.unwrap_err(), AppError::Unauthenticated);
}

async fn cross_site_posts_are_refused(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (admin, ok) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let assigned: (i64, Option<i64>) = recaudo::on_db!(&app.db, p => sqlx::query_as(
        "SELECT id, advisor_id FROM clients WHERE advisor_id IS NOT NULL ORDER BY id LIMIT 1").fetch_one(p).await).unwrap();
    let res = admin
        .post(format!("{}/api/assign_clients", app.base))
        .header(ORIGIN, "http://evil.example")
        .json(&json!({ "ids": [assigned.0], "advisor_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (still, _) = app
        .call::<serde_json::Value>(&admin, "get_client", json!({ "id": assigned.0 }))
        .await;
    assert_eq!(
        still.unwrap()["advisor_id"].as_i64(),
        assigned.1,
        "the refused request changed nothing"
    );
    // The same request from the site itself goes through.
    let res = admin
        .post(format!("{}/api/assign_clients", app.base))
        .header(ORIGIN, app.base.as_str())
        .header(ACCEPT, "application/json")
        .json(&json!({ "ids": [assigned.0], "advisor_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Without any header a browser would send, a state change is refused too.
    let res = admin
        .post(format!("{}/api/assign_clients", app.base))
        .header(ACCEPT, "application/json")
        .json(&json!({ "ids": [assigned.0], "advisor_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn invalid_client_fields_come_back_by_field_and_save_nothing(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (admin, ok) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let before = seed::client_count(&app.db).await.unwrap();
    let mut input = serde_json::to_value(recaudo::domain::client::ClientInput::blank()).unwrap();
    input["document_number"] = json!("12");
    input["first_name"] = json!("Ana");
    input["contacts"]["emails"] = json!(["no-es-correo"]);
    let (result, _) = app
        .call::<i64>(&admin, "save_client", json!({ "id": null, "input": input }))
        .await;
    let err = result.unwrap_err();
    assert!(err.field_message("document_number").is_some(), "{err:?}");
    assert!(err.field_message("last_name").is_some(), "{err:?}");
    assert!(err.field_message("contacts.emails.0").is_some(), "{err:?}");
    assert_eq!(seed::client_count(&app.db).await.unwrap(), before);

    input["document_number"] = json!("55.444.333");
    input["last_name"] = json!("Nueva");
    input["contacts"]["emails"] = json!(["ana.nueva@correo.co"]);
    let (created, _) = app
        .call::<i64>(&admin, "save_client", json!({ "id": null, "input": input }))
        .await;
    let id = created.unwrap();
    let (detail, _) = app
        .call::<serde_json::Value>(&admin, "get_client", json!({ "id": id }))
        .await;
    assert_eq!(detail.unwrap()["document_number"], "55444333");
}

async fn the_clients_export_holds_the_viewers_portfolio_with_its_alerts(db: Db) {
    use recaudo::domain::calls::CallCalendar;
    use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
    // Enough clients for the advisor's export to span several pages.
    seed::seed(&db, 300, clock()).await.unwrap();
    let advisor = demo_viewer(&db, "asesor1@demo.recaudo").await;
    let (id,): (i64,) = recaudo::on_db!(&db, p => sqlx::query_as(
        "SELECT c.id FROM clients c WHERE c.advisor_id = $1 ORDER BY c.id LIMIT 1")
        .bind(advisor.user_id).fetch_one(p).await)
    .unwrap();
    let wont = OutcomeInput {
        situation: Situation::OutboundContacted.as_str().into(),
        outcome: Outcome::WontPay.as_str().into(),
        note: "No quiere".into(),
        ..OutcomeInput::default()
    };
    recaudo::server::calls::register(&db, &advisor, id, wont, &CallCalendar::default(), clock())
        .await
        .unwrap();
    let app = start(db).await;

    let anonymous = browser()
        .get(format!("{}/api/clients/export", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let (a1, _) = app.login("asesor1@demo.recaudo", seed::DEMO_PASSWORD).await;
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            let (n,): (i64,) = recaudo::on_db!(&db, p => sqlx::query_as(sql).bind(advisor.user_id).fetch_one(p).await).unwrap();
            n as usize
        }
    };
    let res = a1
        .get(format!("{}/api/clients/export", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("\u{feff}Cliente;Alerta;Contactabilidad;Documento;Asesor;"));
    // Every page of the advisor's portfolio, and nobody else's.
    let own = count("SELECT COUNT(*) FROM clients WHERE advisor_id = $1").await;
    assert!(own > 50, "more than one page: {own}");
    assert_eq!(lines.len() - 1, own);
    assert!(lines[1..]
        .iter()
        .all(|l| l.split(';').nth(4) == Some("Camila Rojas")));

    // The filter of the screen narrows the file the same way.
    let res = a1
        .get(format!("{}/api/clients/export?no-pago=no-quiere", app.base))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let wont =
        count("SELECT COUNT(*) FROM clients WHERE advisor_id = $1 AND alert_key % 2 = 1").await;
    assert!(wont >= 1);
    assert_eq!(text.lines().count() - 1, wont);
    assert!(text.lines().skip(1).all(|l| l
        .split(';')
        .nth(1)
        .is_some_and(|a| a.contains("No quiere pagar"))));
}

async fn bodies_over_their_route_limit_are_refused_before_anything_is_stored(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let failures = || async {
        let (n,): (i64,) = recaudo::on_db!(&app.db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM login_failures").fetch_one(p).await)
        .unwrap();
        n
    };
    // Refused on its declared length alone: the server may answer before the client
    // has finished writing it, so the client can see the connection close instead.
    let huge = format!("{}@demo.recaudo", "a".repeat(20 * 1024 * 1024));
    let over = format!("{}@demo.recaudo", "a".repeat(300 * 1024));
    for email in [&over, &huge] {
        let sent = app.post_login(&browser(), email, "x").await;
        match sent {
            Ok(res) => {
                assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
                let error: AppError = serde_json::from_str(&res.text().await.unwrap()).unwrap();
                assert!(error.to_string().contains("256 KB"), "{error}");
            }
            Err(e) => assert!(email.len() > 1024 * 1024, "{e}"),
        }
    }
    assert_eq!(failures().await, 0);

    // The same body without a declared length is cut off as it streams past the limit.
    let mut raw = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://");
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.base
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
    let mut sent = 0;
    for _ in 0..16 {
        if raw.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += 1;
    }
    let _ = raw.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 64];
    let read = raw.read(&mut answer).await.unwrap_or(0);
    let status = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(
        !status.starts_with("HTTP/1.1 2"),
        "a streamed 1 MB login was taken ({sent} chunks sent): {status}"
    );
    assert_eq!(failures().await, 0);

    // A login of ordinary size is still answered, and counted.
    let (_, wrong) = app.login("asesor1@demo.recaudo", "no-es-la-clave").await;
    assert_eq!(wrong.unwrap_err(), AppError::BadCredentials);
    assert_eq!(failures().await, 1);

    // A provider's callback has its own, larger limit; the portfolio upload a larger one.
    let res = browser()
        .post(format!("{}/api/webhooks/sandbox", app.base))
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let res = browser()
        .post(format!("{}/api/webhooks/sandbox", app.base))
        .body(vec![b' '; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a 1 MB callback is read, and its signature checked"
    );
    let (admin, ok) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let csv = "x".repeat(1024 * 1024);
    let (result, body) = app
        .call::<serde_json::Value>(&admin, "import_portfolio", json!({ "csv": csv }))
        .await;
    assert!(
        matches!(result, Err(AppError::InvalidFile(..))),
        "a 1 MB file is read: {body}"
    );
}

async fn server_function_errors_answer_the_status_they_mean(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (a1, ok) = app.login("asesor1@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let (admin, ok) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    ok.unwrap();
    let (other,): (i64,) = recaudo::on_db!(&app.db, p => sqlx::query_as(
        "SELECT c.id FROM clients c JOIN users u ON u.id = c.advisor_id
         WHERE u.email = 'asesor2@demo.recaudo' ORDER BY c.id LIMIT 1").fetch_one(p).await)
    .unwrap();
    let invalid = json!({ "id": null, "input": recaudo::domain::client::ClientInput::blank() });
    let cases = [
        (
            &a1,
            "get_client",
            json!({ "id": other }).to_string(),
            StatusCode::NOT_FOUND,
        ),
        (&a1, "list_users", "{}".to_string(), StatusCode::FORBIDDEN),
        (
            &browser(),
            "list_users",
            "{}".to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            &admin,
            "save_client",
            invalid.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            "get_client",
            r#"{"id":"uno"}"#.to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            "get_client",
            "{".to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (client, name, body, expected) in cases {
        let (status, text) = app.raw(client, name, &body).await;
        assert_eq!(status, expected, "{name} {body}: {text}");
        let error: AppError = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: not an error the browser reads ({e}): {text}"));
        if expected == StatusCode::BAD_REQUEST {
            assert!(
                !text.contains("invalid type")
                    && !text.contains("expected")
                    && !text.contains("EOF"),
                "the decoder's own words are not echoed: {text}"
            );
            assert!(
                error.to_string().starts_with("No se pudo completar"),
                "{error}"
            );
        }
    }
    // Wrong passwords: 401, then 429 once this address must wait.
    for _ in 0..recaudo::server::auth::FREE_FAILURES_PER_PAIR {
        let res = app
            .post_login(&browser(), "asesor3@demo.recaudo", "mala")
            .await;
        assert_eq!(res.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let guessed = browser();
    let res = app
        .post_login(&guessed, "asesor3@demo.recaudo", seed::DEMO_PASSWORD)
        .await;
    assert_eq!(res.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn dates_at_the_calendar_edges_get_an_error_not_a_dropped_request(db: Db) {
    demo(&db).await;
    let app = start(db).await;
    let (admin, logged) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    logged.unwrap();
    // Dates the calendar holds but the API does not take are refused by name; the
    // calendar's own ends do not even decode.
    use recaudo::domain::indicators::IndicatorQuery;
    use recaudo::domain::interactions::InteractionQuery;
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    let queries = |from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>| {
        [
            (
                "list_interactions",
                json!({ "query": InteractionQuery { from, to, ..Default::default() } }),
            ),
            (
                "load_indicators",
                json!({ "query": IndicatorQuery { from, to, ..Default::default() } }),
            ),
        ]
    };
    let refused = [
        (None, day(9999, 12, 31)),
        (day(1, 1, 1), None),
        (day(1, 1, 1), day(9999, 12, 31)),
        (None, day(1899, 12, 31)),
    ];
    for (from, to) in refused {
        for (name, query) in queries(from, to) {
            let (result, body) = app.call::<serde_json::Value>(&admin, name, query).await;
            assert!(
                matches!(result, Err(AppError::Invalid(_))) && body.contains("fuera de rango"),
                "{name} {from:?} {to:?}: {body}"
            );
        }
    }
    // The calendar's own ends: refused as well, whether or not they decode.
    for (from, to) in [
        (None, Some(chrono::NaiveDate::MAX)),
        (Some(chrono::NaiveDate::MIN), None),
    ] {
        for (name, query) in queries(from, to) {
            let (result, body) = app.call::<serde_json::Value>(&admin, name, query).await;
            assert!(
                matches!(result, Err(AppError::Request(_) | AppError::Invalid(_))),
                "{name} {from:?} {to:?}: {body}"
            );
        }
    }
    // The same dates typed in the address bar: the pages and the download answer.
    for path in [
        "/api/interactions/export?hasta=%2B262142-12-31",
        "/api/interactions/export?desde=-262143-01-01",
        "/interacciones?hasta=%2B262142-12-31",
        "/indicadores?hasta=%2B262142-12-31&desde=-262143-01-01",
    ] {
        let res = admin
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: no answer: {e}"));
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(text.contains("fuera de rango"), "{path} ({status}): {text}");
    }
}

/// Records of a CSV after its header: a line break inside a quoted field (a message's
/// text) does not end one.
fn csv_records(text: &str) -> i64 {
    let mut quoted = false;
    let mut lines = 0;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => lines += 1,
            _ => {}
        }
    }
    lines - 1
}

async fn a_followed_download_reports_its_rows_its_total_and_how_it_ended(db: Db) {
    use recaudo::domain::downloads::{DownloadProgress, DownloadState};
    use recaudo::server::downloads::{self, Tracker, INTERRUPTED};
    demo(&db).await;
    let app = start(db).await;
    let (admin, logged) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    logged.unwrap();
    async fn progress(
        app: &App,
        client: &reqwest::Client,
        token: &str,
    ) -> (Result<Option<DownloadProgress>, AppError>, String) {
        app.call(client, "download_status", json!({ "token": token }))
            .await
    }
    /// The progress once `ready` holds for it (the server writes it beside the answer).
    async fn progress_when(
        app: &App,
        client: &reqwest::Client,
        token: &str,
        ready: fn(&DownloadProgress) -> bool,
    ) -> DownloadProgress {
        for _ in 0..100 {
            let (p, body) = progress(app, client, token).await;
            let p = p
                .unwrap_or_else(|e| panic!("{e:?}: {body}"))
                .expect("recorded");
            if ready(&p) {
                return p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the download {token} never got there");
    }
    let get = |path: String| admin.get(format!("{}{path}", app.base)).send();

    // Interacciones over the demo's history: every row told, then its count.
    let token = "interacciones-0123456789";
    let res = get(format!(
        "/api/interactions/export?formato=csv&desde=2026-01-01&descarga={token}"
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let rows = csv_records(&text);
    assert!(rows > 20, "the demo's history holds records: {rows}");
    let told = progress_when(&app, &admin, token, |p| p.total.is_some()).await;
    assert_eq!(
        told,
        DownloadProgress {
            rows,
            bytes: text.len() as i64,
            total: Some(rows),
            state: DownloadState::Done,
            error: String::new(),
        }
    );
    // The token is the downloader's own: another user asking for it learns nothing.
    let (advisor, _) = app.login("asesor1@demo.recaudo", seed::DEMO_PASSWORD).await;
    assert_eq!(progress(&app, &advisor, token).await.0.unwrap(), None);

    // The clients' export, as a workbook: rows and bytes, no total.
    let token = "clientes-0123456789abcd";
    let res = get(format!("/api/clients/export?formato=xlsx&descarga={token}"))
        .await
        .unwrap();
    let bytes = res.bytes().await.unwrap();
    let p = progress(&app, &admin, token).await.0.unwrap().unwrap();
    assert_eq!(
        (p.state, p.rows, p.bytes, p.total),
        (DownloadState::Done, 60, bytes.len() as i64, None)
    );

    // Refused before its first byte: the page is told why, in Spanish.
    let token = "rechazada-0123456789";
    let res = get(format!(
        "/api/interactions/export?formato=pdf&descarga={token}"
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p = progress(&app, &admin, token).await.0.unwrap().unwrap();
    assert_eq!(p.state, DownloadState::Failed);
    assert!(
        p.error.contains("no es un formato de descarga"),
        "{}",
        p.error
    );
    // A token that is not one is refused, and nothing is downloaded.
    let res = get("/api/clients/export?descarga=corto".to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("identificador de la descarga"));
    let (bad, body) = progress(&app, &admin, "corto' OR 1=1 --").await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{body}");

    // A download its browser left midway says so, with how far it got.
    let viewer = demo_viewer(&app.db, "admin@demo.recaudo").await;
    let token = "abandonada-0123456789";
    let mut tracker = Tracker::start(&app.db, &viewer, token).await.unwrap();
    tracker.count(1_000, 64_000);
    drop(tracker);
    let left = progress_when(&app, &admin, token, |p| p.state != DownloadState::Running).await;
    assert_eq!(
        (left.state, left.rows, left.error.as_str()),
        (DownloadState::Failed, 1_000, INTERRUPTED)
    );

    // A day later the maintenance forgets them all.
    let pruned = downloads::prune(
        &app.db,
        recaudo::server::clock::now() + chrono::Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(pruned, 4);
    assert_eq!(
        downloads::progress(&app.db, &viewer, token).await.unwrap(),
        None
    );
}

on_both_engines!(
    a_followed_download_reports_its_rows_its_total_and_how_it_ended,
    server_function_errors_answer_the_status_they_mean,
    bodies_over_their_route_limit_are_refused_before_anything_is_stored,
    dates_at_the_calendar_edges_get_an_error_not_a_dropped_request,
    the_clients_export_holds_the_viewers_portfolio_with_its_alerts,
    a_client_of_another_advisor_is_not_found_through_the_api,
    login_errors_reveal_nothing_and_sessions_end,
    cross_site_posts_are_refused,
    invalid_client_fields_come_back_by_field_and_save_nothing,
);
