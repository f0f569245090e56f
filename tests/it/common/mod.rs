//! Test harness: a fresh database per test on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (a schema of its own, dropped afterwards).
#![allow(dead_code)]

pub mod app;
pub mod mail;
pub mod process;
pub mod provider;

pub use app::{browser, start, App};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use recaudo::domain::client::{ClientInput, DebtInput, ValidClient};
use recaudo::domain::user::{Role, User, UserInput, Viewer};
use recaudo::server::auth::has_associated_clients;
pub use recaudo::server::clock::Clock;
use recaudo::server::db::Db;
use recaudo::server::{clients, users};

pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let db = Db::connect(&path.to_string_lossy()).await.expect("sqlite");
        db.migrate().await.expect("migrations");
        TestDb {
            db,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// `None` (after a printed notice) when no PostgreSQL is configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!(
                "NOTICE: TEST_DATABASE_URL is not set; the PostgreSQL run of this test is skipped"
            );
            return None;
        };
        let schema = format!("t_{}", random_suffix());
        let admin = Db::connect(&url)
            .await
            .expect("postgres at TEST_DATABASE_URL");
        recaudo::on_db!(&admin, p => sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(p).await.map(drop))
            .expect("create schema");
        admin.close().await;
        let db = Db::connect_with_schema(&url, Some(&schema))
            .await
            .expect("postgres");
        db.migrate().await.expect("migrations");
        Some(TestDb {
            db,
            _dir: None,
            pg: Some((url, schema)),
        })
    }
}

impl TestDb {
    /// The URL another process reaches this database at: the SQLite file, or the
    /// PostgreSQL server with this test's schema as its search path.
    pub fn url(&self) -> String {
        match (&self.pg, &self._dir) {
            (Some((url, schema)), _) => {
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}options=-c%20search_path%3D{schema}")
            }
            (None, Some(dir)) => format!("sqlite://{}", dir.path().join("test.db").display()),
            (None, None) => unreachable!("a test database is SQLite or PostgreSQL"),
        }
    }
}

fn random_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        rand_u32()
    )
}

fn rand_u32() -> u32 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish() as u32
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Dropped on success and on panic alike; async cleanup needs a runtime of its own.
        if let Some((url, schema)) = self.pg.take() {
            let db = self.db.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    // A connection some task never gives back must not hold the suite:
                    // the schema goes all the same.
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), db.close()).await;
                    if let Ok(admin) = Db::connect(&url).await {
                        let _ = recaudo::on_db!(&admin, p => sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(p).await.map(drop));
                        admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// Runs each named `async fn(Db)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = $crate::common::TestDb::sqlite().await;
                    $crate::common::watched(super::$name(t.db.clone())).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(t) = $crate::common::TestDb::postgres().await {
                        $crate::common::watched(super::$name(t.db.clone())).await;
                    }
                }
            }
        )*
    };
}

/// Longer than any test takes on a loaded machine (the slowest take about a minute).
const HUNG_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs a test body, failing it if it has not finished after [`HUNG_AFTER`]: a test
/// stuck on a request or a lock fails by name and the suite goes on, rather than holding
/// CI until its time limit.
pub async fn watched(test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(HUNG_AFTER, test).await.is_err() {
        panic!("the test did not finish within {HUNG_AFTER:?}: it hung");
    }
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

pub fn tz() -> chrono_tz::Tz {
    chrono_tz::America::Bogota
}

/// The tests' moment: [`now`], on [`today`], in [`tz`].
pub fn clock() -> Clock {
    Clock {
        now: now(),
        today: today(),
        tz: tz(),
    }
}

/// The tests' clock on another day, at the same time of day.
pub fn clock_on(day: NaiveDate) -> Clock {
    Clock {
        now: now() + (day - today()),
        today: day,
        tz: tz(),
    }
}

/// The whole HTTP application on a loopback port; returns its base address.
pub async fn serve(db: Db) -> String {
    use recaudo::server::http::{router, AppState};
    let state = AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("recaudo")
            .build(),
        events: recaudo::server::events::Hub::start(db.clone())
            .await
            .unwrap(),
        db,
        config: std::sync::Arc::new(recaudo::server::config::Config::defaults()),
        limits: std::sync::Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            recaudo::server::http::listener(listener),
            router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

/// A sandbox that posts no callbacks, for dispatchers whose channels use other providers.
pub fn silent_sandbox() -> recaudo::server::channels::providers::Sandbox {
    recaudo::server::channels::providers::Sandbox {
        callback_url: String::new(),
        key: Vec::new(),
        delay: (0.0, 0.0),
    }
}

/// Outbox rows still to deliver or being delivered.
pub async fn unfinished(db: &Db) -> i64 {
    let (n,): (i64,) = recaudo::on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetch_one(p).await)
    .unwrap();
    n
}

/// Runs a dispatcher until the outbox has nothing left to do.
pub async fn drain(d: recaudo::server::channels::dispatcher::Dispatcher) {
    let started = std::time::Instant::now();
    loop {
        let n = d.run_once().await.unwrap();
        if n == 0 {
            if unfinished(&d.db).await == 0 {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the outbox never emptied"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Sending as in demo mode: every channel goes through the sandbox.
pub fn sending() -> recaudo::server::config::Sending {
    recaudo::server::config::Sending {
        origin: "http://127.0.0.1:3000".into(),
        sms_max_segments: 3,
        demo: true,
        portal_link_days: 30,
    }
}

pub const PASSWORD: &str = "clave-de-prueba";

pub async fn user(db: &Db, email: &str, role: Role, supervisor: Option<&User>) -> User {
    let input = UserInput {
        name: email.split('@').next().unwrap().to_string(),
        email: email.to_string(),
        role: role.as_str().to_string(),
        supervisor_id: supervisor.map(|s| s.id),
        filter_unlocked: false,
        active: true,
        password: PASSWORD.to_string(),
        phone: String::new(),
    };
    users::create(db, None, input.validate(true).unwrap(), false, now())
        .await
        .unwrap()
}

/// Edits a user as an admin would in the users form: the stored values with `change`
/// applied (the password stays unless `change` sets one).
pub async fn edit_user(
    db: &Db,
    admin: &Viewer,
    u: &User,
    change: impl FnOnce(&mut UserInput),
) -> Result<User, recaudo::domain::error::AppError> {
    let mut input = u.to_input();
    change(&mut input);
    users::update(db, admin, u.id, input.validate(false).unwrap(), now()).await
}

/// The viewer a session for this user would build.
pub async fn viewer(db: &Db, u: &User) -> Viewer {
    let u = users::get(db, u.id).await.unwrap();
    Viewer {
        user_id: u.id,
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role,
        filter_unlocked: u.filter_unlocked,
        has_clients: has_associated_clients(db, u.role, u.id).await.unwrap(),
    }
}

/// The viewer of a demo user, by e-mail.
pub async fn demo_viewer(db: &Db, email: &str) -> Viewer {
    let u = users::find_by_email(db, email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {email}"));
    viewer(db, &u).await
}

pub fn client_input(
    document: &str,
    first: &str,
    last: &str,
    advisor: Option<&User>,
) -> ClientInput {
    let mut input = ClientInput::blank();
    input.document_number = document.into();
    input.first_name = first.into();
    input.last_name = last.into();
    input.advisor_id = advisor.map(|a| a.id);
    input.contacts.phones = vec![format!("300 {} 0000", &document[document.len() - 3..])];
    let local = recaudo::domain::search::fold(first).replace(' ', ".");
    input.contacts.emails = vec![format!("{local}.{document}@correo.co")];
    input
}

/// Moves a test debtor to Peru (Lima keeps Bogotá's offset), a country Recaudo ships no
/// legal contact policy for: the organisation's contact hours apply and no cap counts
/// how often the test writes. For tests about something other than contact governance,
/// which Colombia's "one contact a day" would otherwise decide. The debtor's numbers
/// stay Colombian: a local number gets +57 before Peru's code could claim it.
pub fn ungoverned(mut input: ClientInput) -> ClientInput {
    fn colombian(numbers: &mut [String]) {
        for n in numbers
            .iter_mut()
            .filter(|n| !n.trim_start().starts_with('+'))
        {
            *n = format!("+57 {n}");
        }
    }
    input.country = "PE".into();
    input.time_zone = "America/Lima".into();
    colombian(&mut input.contacts.phones);
    colombian(&mut input.contacts.whatsapps);
    for party in &mut input.related {
        colombian(&mut party.contacts.phones);
        colombian(&mut party.contacts.whatsapps);
    }
    input
}

pub fn debt(number: &str, due: &str, amount: &str, paid: &str) -> DebtInput {
    DebtInput {
        number: number.into(),
        product: "Tarjeta".into(),
        issue_date: "2025-01-01".into(),
        due_date: due.into(),
        amount: amount.into(),
        paid: paid.into(),
        currency: "COP".into(),
    }
}

pub fn valid(input: &ClientInput) -> ValidClient {
    input
        .validate()
        .unwrap_or_else(|e| panic!("invalid test client: {e:?}"))
}

/// Creates a client as an admin would.
pub async fn client(db: &Db, admin: &Viewer, input: &ClientInput) -> i64 {
    clients::create(db, admin, valid(input), clock())
        .await
        .unwrap()
}

/// One form request a Twilio-shaped stand-in received: its Authorization header and fields.
pub type SeenForm = (String, Vec<(String, String)>);
pub type SeenForms = std::sync::Arc<std::sync::Mutex<Vec<SeenForm>>>;

/// Records one form request; returns its `To` field and the requests seen so far,
/// this one included.
pub fn record_form(
    seen: &SeenForms,
    headers: &axum::http::HeaderMap,
    form: Vec<(String, String)>,
) -> (String, Vec<SeenForm>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let to = form_field(&form, "To").to_string();
    let mut seen = seen.lock().unwrap();
    seen.push((auth, form));
    (to, seen.clone())
}

pub fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// A provider's stand-in (any axum app) on a free loopback port; returns its address.
pub async fn stand_in(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An active, visible channel delivered by `provider` with these credentials; no
/// webhook secret or mailbox unless the test sets them.
pub fn provider_setting(
    channel: recaudo::domain::message::Channel,
    provider: Option<recaudo::domain::channels::ProviderKind>,
    base_url: &str,
    sender: &str,
    secret: &str,
) -> recaudo::domain::channels::ChannelSettingInput {
    recaudo::domain::channels::ChannelSettingInput {
        channel,
        active: true,
        visible: true,
        provider,
        base_url: base_url.into(),
        sender: sender.into(),
        secret: secret.into(),
        webhook_secret: String::new(),
        inbound_url: String::new(),
    }
}
