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
        payment_instructions: "Transferencia a la cuenta 123 del Banco Real.".into(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_the_example_payment_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    let config = Config {
        database_url: url,
        demo: false,
        ..Config::defaults()
    };
    let refused = recaudo::server::serve(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("payment_instructions"), "{refused}");
    assert!(
        !dir.path().join("prod.db").exists(),
        "refused before anything is created"
    );
}

#[test]
fn the_simulate_commands_refuse_outside_demo_mode() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    for args in [
        &["simulate", "--messages", "3"][..],
        &[
            "simulate-failure",
            "--address",
            "+573001112233",
            "--problem",
            "wrong_phone",
        ][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_recaudo"))
            .args(args)
            .env("RECAUDO_DEMO", "false")
            .env("RECAUDO_DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} ran: {stderr}");
        assert!(stderr.contains("modo demostración"), "{args:?}: {stderr}");
    }
}
