//! Starting the server: outside demo mode it refuses a database with demo users.

use recaudo::server::config::Config;
use recaudo::server::seed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_to_start_with_demo_users() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    let config = Config {
        database_url: url,
        demo: false,
        ..Config::defaults()
    };

    let db = recaudo::server::open_database(&config).await.unwrap();
    seed::ensure_demo_users(&db, crate::common::now())
        .await
        .unwrap();
    db.close().await;

    let refused = recaudo::server::serve(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("usuarios de demostración"), "{refused}");
    assert!(
        refused.contains("RECAUDO_DEMO=true"),
        "the message says what to do: {refused}"
    );
}
