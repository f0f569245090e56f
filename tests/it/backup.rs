//! `recaudo backup`, run as its own process while this one keeps writing: the copy is
//! the database as of one commit (no client without the contact points written in the
//! same transaction), it holds every row committed before it started, and a server
//! opens it as it opens its own database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::*;
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::{clients, users};

type Rows = Vec<(i64, String, String)>;

async fn clients_up_to(db: &Db, last: i64) -> Rows {
    on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.document_number, group_concat(cp.value, ' ')
         FROM clients c JOIN contact_points cp ON cp.client_id = c.id
         WHERE c.id <= $1 GROUP BY c.id, c.document_number ORDER BY c.id")
        .bind(last).fetch_all(p).await)
    .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

fn backup(url: &str, to: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_recaudo"))
        .arg("backup")
        .arg(to)
        .env("RECAUDO_DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_copy_holds_every_committed_row_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vivo.db").display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let doc = format!("9{:09}", written);
                client(&db, &admin, &client_input(&doc, "Ana", "Rojas", None)).await;
                written += 1;
            }
            written
        })
    };
    while count(&db, "SELECT COUNT(*) FROM clients").await < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = count(&db, "SELECT COUNT(*) FROM clients").await;
    let copy = dir.path().join("copias").join("recaudo-copia.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let taken = {
        let (url, copy) = (url.clone(), copy.clone());
        tokio::task::spawn_blocking(move || backup(&url, &copy))
            .await
            .unwrap()
    };
    let during = count(&db, "SELECT COUNT(*) FROM clients").await;
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    let stdout = String::from_utf8_lossy(&taken.stdout);
    let stderr = String::from_utf8_lossy(&taken.stderr);
    assert!(taken.status.success(), "{stderr}");
    assert!(stdout.contains("integridad verificada"), "{stdout}");
    assert!(
        during > before,
        "the writer kept committing while the copy was taken ({before} → {during}, {written} in all)"
    );
    assert!(
        !dir.path().join("copias/recaudo-copia.db.parcial").exists(),
        "nothing is left beside the copy"
    );

    let restored = Db::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    restored.migrate().await.unwrap();
    let copied = count(&restored, "SELECT COUNT(*) FROM clients").await;
    assert!(
        (before..=during).contains(&copied),
        "{before} ≤ {copied} ≤ {during}"
    );
    assert!(stdout.contains(&format!("{copied} clientes")), "{stdout}");
    let halves = count(
        &restored,
        "SELECT COUNT(*) FROM clients c WHERE NOT EXISTS
           (SELECT 1 FROM contact_points cp WHERE cp.client_id = c.id)",
    )
    .await;
    assert_eq!(halves, 0, "no client without its contact points");
    let last = count(&restored, "SELECT MAX(id) FROM clients").await;
    let live = clients_up_to(&db, last).await;
    assert_eq!(
        clients_up_to(&restored, last).await,
        live,
        "every client committed up to the copy, with its contact points"
    );
    assert_eq!(live.len() as i64, copied);

    // The restored database serves the application as the live one did.
    let admin = users::find_by_email(&restored, "admin@x.co")
        .await
        .unwrap()
        .unwrap();
    let admin = viewer(&restored, &admin).await;
    let shown = clients::get(&restored, &admin, last, clock())
        .await
        .unwrap();
    assert_eq!(shown.document_number, live.last().unwrap().1);
    restored.close().await;

    // A second copy never overwrites the first; a PostgreSQL database is pointed to
    // its own tool; a database that is not there is not created by the attempt.
    let again = backup(&url, &copy);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Ya existe"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let postgres = backup(
        "postgres://postgres@127.0.0.1:5432/test",
        &dir.path().join("pg.db"),
    );
    assert!(!postgres.status.success());
    assert!(String::from_utf8_lossy(&postgres.stderr).contains("pg_dump"));
    let missing = dir.path().join("no-existe.db");
    let absent = backup(
        &format!("sqlite://{}", missing.display()),
        &dir.path().join("otra.db"),
    );
    assert!(String::from_utf8_lossy(&absent.stderr).contains("No existe la base"));
    assert!(!missing.exists());
    db.close().await;
}
