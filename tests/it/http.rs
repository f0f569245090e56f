//! The real HTTP application on a loopback port: server functions called directly, as
//! another client (or an attacker) would, on SQLite and PostgreSQL.

use crate::common::*;
use recaudo::domain::error::AppError;
use recaudo::server::db::Db;
use recaudo::server::seed;
use reqwest::header::{ACCEPT, LOCATION, ORIGIN};
use reqwest::StatusCode;
use serde_json::json;

struct App {
    base: String,
    db: Db,
}

async fn start(db: Db) -> App {
    App {
        base: serve(db.clone()).await,
        db,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl App {
    async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> (reqwest::Client, Result<String, AppError>) {
        let client = browser();
        let res = client
            .post(format!("{}/api/login", self.base))
            .header(ACCEPT, "application/json")
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/clientes"),
            ])
            .send()
            .await
            .unwrap();
        let result = decode::<String>(res).await;
        (client, result)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        client: &reqwest::Client,
        name: &str,
        body: serde_json::Value,
    ) -> (Result<T, AppError>, String) {
        let res = client
            .post(format!("{}/api/{name}", self.base))
            .header(ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let result = if status.is_success() {
            Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}")))
        } else {
            Err(serde_json::from_str::<AppError>(&text)
                .unwrap_or_else(|e| panic!("{name} ({status}): {e}: {text}")))
        };
        (result, text)
    }
}

async fn decode<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> Result<T, AppError> {
    let ok = res.status().is_success();
    let text = res.text().await.unwrap();
    if ok {
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        Err(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }
}

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

on_both_engines!(
    the_clients_export_holds_the_viewers_portfolio_with_its_alerts,
    a_client_of_another_advisor_is_not_found_through_the_api,
    login_errors_reveal_nothing_and_sessions_end,
    cross_site_posts_are_refused,
    invalid_client_fields_come_back_by_field_and_save_nothing,
);
