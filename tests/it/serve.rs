//! Starting the server: outside demo mode it refuses a database with demo users.

use recaudo::server::config::{Config, SecretKey};
use recaudo::server::sealed::Sealer;
use recaudo::server::seed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_to_start_with_demo_users() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    let config = Config {
        database_url: url,
        demo: false,
        payment_instructions: "Transferencia a la cuenta 123 del Banco Real.".into(),
        secret_key: Some(SecretKey::new(Sealer::generate())),
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

async fn stored(db: &recaudo::server::db::Db, sql: &str) -> String {
    let (value,): (String,) =
        recaudo::on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    value
}

/// Secrets are sealed at rest with the configured key: what a channel's settings and the
/// server's own keys store opens with it and with no other; values stored in the clear
/// before are sealed at the next start; the rotation re-seals everything.
async fn secrets_are_sealed_at_rest_and_rotate(db: recaudo::server::db::Db) {
    use crate::common::*;
    use recaudo::domain::channels::ProviderKind;
    use recaudo::domain::message::Channel;
    use recaudo::domain::user::Role;
    use recaudo::server::{channels, sealed};

    let key = Sealer::from_hex(&Sealer::generate()).unwrap();
    let db = db.with_sealer(key.clone());
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let mut input = provider_setting(
        Channel::Sms,
        Some(ProviderKind::Relay),
        "https://sms.example.com",
        "RECAUDO",
        "sk_live_supersecreto_1234",
    );
    input.webhook_secret = "firma-de-webhook-muy-larga".into();
    channels::save(&db, &admin, input, false, now())
        .await
        .unwrap();
    let portal_key = channels::secret(&db, "portal_links").await.unwrap();

    let raw = stored(
        &db,
        "SELECT secret FROM channel_settings WHERE channel = 'sms'",
    )
    .await;
    assert!(
        sealed::is_sealed(&raw) && !raw.contains("supersecreto"),
        "{raw}"
    );
    let raw = stored(
        &db,
        "SELECT webhook_secret FROM channel_settings WHERE channel = 'sms'",
    )
    .await;
    assert!(sealed::is_sealed(&raw) && !raw.contains("firma"), "{raw}");
    let raw = stored(
        &db,
        "SELECT value FROM app_secrets WHERE name = 'portal_links'",
    )
    .await;
    assert!(sealed::is_sealed(&raw), "{raw}");
    let sms = channels::load(&db, Channel::Sms).await.unwrap();
    assert_eq!(sms.secret, "sk_live_supersecreto_1234");

    // Another key opens nothing; a value written in the clear is sealed at the start.
    let other = db.clone().with_sealer(Sealer::demo());
    assert!(channels::load(&other, Channel::Sms).await.is_err());
    recaudo::on_db!(&db, p => sqlx::query(
        "UPDATE channel_settings SET secret = 'escrito-a-mano' WHERE channel = 'email'")
        .execute(p).await.map(drop))
    .unwrap();
    assert_eq!(sealed::seal_stored(&db).await.unwrap(), 1);
    let raw = stored(
        &db,
        "SELECT secret FROM channel_settings WHERE channel = 'email'",
    )
    .await;
    assert!(sealed::is_sealed(&raw), "{raw}");
    assert_eq!(
        channels::load(&db, Channel::Email).await.unwrap().secret,
        "escrito-a-mano"
    );

    // Rotation: everything opens with the new key, nothing with the old one.
    let new = Sealer::from_hex(&Sealer::generate()).unwrap();
    assert_eq!(sealed::reseal(&db, &key, &new).await.unwrap(), 4);
    let rotated = db.clone().with_sealer(new);
    assert_eq!(
        channels::load(&rotated, Channel::Sms).await.unwrap().secret,
        "sk_live_supersecreto_1234"
    );
    assert_eq!(
        channels::secret(&rotated, "portal_links").await.unwrap(),
        portal_key
    );
    assert!(channels::load(&db, Channel::Sms).await.is_err());
}

on_both_engines!(secrets_are_sealed_at_rest_and_rotate);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_needs_a_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("prod.db").display()),
        demo: false,
        payment_instructions: "Transferencia a la cuenta 123 del Banco Real.".into(),
        ..Config::defaults()
    };
    let refused = recaudo::server::serve(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("RECAUDO_SECRET_KEY"), "{refused}");
}
