//! The real HTTP application on a loopback port, called as another client (or an
//! attacker) would: a cookie-keeping client, the login, and server functions by name.

use recaudo::domain::error::AppError;
use recaudo::server::db::Db;
use reqwest::header::{ACCEPT, ORIGIN};
use reqwest::StatusCode;

use super::serve;

pub struct App {
    pub base: String,
    pub db: Db,
}

pub async fn start(db: Db) -> App {
    App {
        base: serve(db.clone()).await,
        db,
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        // A request the server never answers fails the test by its address.
        .timeout(std::time::Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl App {
    /// The login form posted by `client`, as the browser posts it.
    pub async fn post_login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Result<reqwest::Response> {
        client
            .post(format!("{}/api/login", self.base))
            .header(ORIGIN, self.base.as_str())
            .header(ACCEPT, "application/json")
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/clientes"),
            ])
            .send()
            .await
    }

    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> (reqwest::Client, Result<String, AppError>) {
        let client = browser();
        let res = self.post_login(&client, email, password).await.unwrap();
        let result = decode::<String>(res).await;
        (client, result)
    }

    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        client: &reqwest::Client,
        name: &str,
        body: serde_json::Value,
    ) -> (Result<T, AppError>, String) {
        let res = client
            .post(format!("{}/api/{name}", self.base))
            .header(ORIGIN, self.base.as_str())
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

impl App {
    /// A server function's raw answer: its status and body.
    pub async fn raw(
        &self,
        client: &reqwest::Client,
        name: &str,
        body: &str,
    ) -> (StatusCode, String) {
        let res = client
            .post(format!("{}/api/{name}", self.base))
            .header(ORIGIN, self.base.as_str())
            .header(ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }
}

pub async fn decode<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> Result<T, AppError> {
    let ok = res.status().is_success();
    let text = res.text().await.unwrap();
    if ok {
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        Err(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }
}
