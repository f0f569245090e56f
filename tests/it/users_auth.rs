//! Users and sessions against a real database, on SQLite and PostgreSQL.

use crate::common::*;
use chrono::Duration;
use recaudo::domain::error::AppError;
use recaudo::domain::user::{Role, UserInput};
use recaudo::server::auth::{
    self, SessionPolicy, ALERT_FAILURES_PER_EMAIL, FAILURE_WINDOW_MINUTES, FIRST_DELAY_SECONDS,
    FREE_FAILURES_PER_PAIR, MAX_EMAIL_CHARS, MAX_FAILURES_PER_IP, MAX_PASSWORD_BYTES,
};
use recaudo::server::db::Db;
use recaudo::server::{audit, users};

const POLICY: SessionPolicy = SessionPolicy {
    idle: Duration::minutes(30),
    absolute: Duration::hours(12),
};

async fn login_opens_a_session_that_expires(db: Db) {
    let sup = user(&db, "sup@x.co", Role::Supervisor, None).await;
    let adv = user(&db, "Ana@X.co", Role::Advisor, Some(&sup)).await;
    let token = auth::login(&db, POLICY, " ANA@x.co ", PASSWORD, "10.0.0.1", now())
        .await
        .unwrap();
    let v = auth::resolve_session(&db, POLICY, &token, now() + Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v.user_id, v.role, v.has_clients),
        (adv.id, Role::Advisor, false)
    );

    // Activity keeps it alive past the idle limit, up to the absolute one.
    let mut t = now();
    for _ in 0..20 {
        t += Duration::minutes(25);
        assert!(
            auth::resolve_session(&db, POLICY, &token, t)
                .await
                .unwrap()
                .is_some(),
            "alive at {t}"
        );
    }
    assert!(
        auth::resolve_session(&db, POLICY, &token, now() + Duration::hours(12))
            .await
            .unwrap()
            .is_none()
    );
    // Gone for good once expired.
    assert!(
        auth::resolve_session(&db, POLICY, &token, now() + Duration::minutes(1))
            .await
            .unwrap()
            .is_none()
    );

    let idle = auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now())
        .await
        .unwrap();
    assert!(
        auth::resolve_session(&db, POLICY, &idle, now() + Duration::minutes(31))
            .await
            .unwrap()
            .is_none()
    );

    // The hourly purge drops sessions past their idle limit and keeps live ones.
    let live = auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now())
        .await
        .unwrap();
    let at_10 = now() + Duration::minutes(10);
    assert!(auth::resolve_session(&db, POLICY, &live, at_10)
        .await
        .unwrap()
        .is_some());
    assert_eq!(auth::purge_expired(&db, POLICY, at_10).await.unwrap(), 0);
    assert_eq!(
        auth::purge_expired(&db, POLICY, now() + Duration::minutes(45))
            .await
            .unwrap(),
        1
    );
    assert!(auth::resolve_session(&db, POLICY, &live, at_10)
        .await
        .unwrap()
        .is_none());

    let other = auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now())
        .await
        .unwrap();
    auth::logout(&db, &other).await.unwrap();
    assert!(auth::resolve_session(&db, POLICY, &other, now())
        .await
        .unwrap()
        .is_none());
    assert!(auth::resolve_session(&db, POLICY, "forged-token", now())
        .await
        .unwrap()
        .is_none());
}

async fn bad_credentials_are_generic_and_rate_limited(db: Db) {
    user(&db, "ana@x.co", Role::Admin, None).await;
    let wrong = auth::login(&db, POLICY, "ana@x.co", "incorrecta", "10.0.0.2", now()).await;
    let unknown = auth::login(&db, POLICY, "nadie@x.co", PASSWORD, "10.0.0.2", now()).await;
    assert_eq!(wrong, Err(AppError::BadCredentials));
    assert_eq!(
        unknown,
        Err(AppError::BadCredentials),
        "an unknown e-mail reads the same"
    );

    // One address guessing: free tries, then a wait that doubles at every failure.
    let t0 = now();
    let from = |ip: &'static str, password: &'static str, at| {
        let db = db.clone();
        async move { auth::login(&db, POLICY, "ana@x.co", password, ip, at).await }
    };
    for _ in 0..FREE_FAILURES_PER_PAIR {
        assert_eq!(
            from("10.0.0.3", "incorrecta", t0).await,
            Err(AppError::BadCredentials)
        );
    }
    assert_eq!(
        from("10.0.0.3", PASSWORD, t0).await,
        Err(AppError::RateLimited),
        "even the right password waits"
    );
    let first = Duration::seconds(FIRST_DELAY_SECONDS);
    assert_eq!(
        from("10.0.0.3", "incorrecta", t0 + first).await,
        Err(AppError::BadCredentials)
    );
    assert_eq!(
        from("10.0.0.3", PASSWORD, t0 + first * 2).await,
        Err(AppError::RateLimited),
        "the wait doubled"
    );
    assert!(from("10.0.0.3", PASSWORD, t0 + first * 3).await.is_ok());

    // Failures from anywhere never lock the owner out: another address logs in at once,
    // and the administrators are told once the account reaches the alert level.
    for ip in ["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9"] {
        assert_eq!(
            from(ip, "incorrecta", t0).await,
            Err(AppError::BadCredentials)
        );
    }
    assert!(from("10.0.0.4", PASSWORD, t0).await.is_ok());
    let alerts = auth::login_alerts(&db, clock()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].email, "ana@x.co");
    assert!(alerts[0].failures >= ALERT_FAILURES_PER_EMAIL && alerts[0].addresses >= 5);
    assert!(alerts[0].sentence().contains("intentos fallidos"));
    let told: (i64,) = recaudo::on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1").bind(auth::LOGIN_ALERT).fetch_one(p).await).unwrap();
    assert_eq!(told.0, 1, "one alert per window");

    // One address trying many accounts is stopped at the per-address cap.
    for i in 0..MAX_FAILURES_PER_IP {
        let email = format!("nadie{i}@x.co");
        auth::login(&db, POLICY, &email, "x", "10.0.0.66", t0)
            .await
            .unwrap_err();
    }
    assert_eq!(
        from("10.0.0.66", PASSWORD, t0).await,
        Err(AppError::RateLimited)
    );
    let later = t0 + Duration::minutes(FAILURE_WINDOW_MINUTES + 1);
    assert!(from("10.0.0.66", PASSWORD, later).await.is_ok());
}

async fn oversized_credentials_are_refused_before_anything_is_stored(db: Db) {
    user(&db, "ana@x.co", Role::Admin, None).await;
    let huge_email = format!("{}@x.co", "a".repeat(2 * 1024 * 1024));
    let huge_password = "p".repeat(MAX_PASSWORD_BYTES + 1);
    for (email, password, field) in [
        (huge_email.as_str(), "incorrecta", "email"),
        ("ana@x.co", huge_password.as_str(), "password"),
    ] {
        match auth::login(&db, POLICY, email, password, "10.0.0.2", now()).await {
            Err(AppError::Invalid(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, field);
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let stored: (i64,) = recaudo::on_db!(&db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM login_failures").fetch_one(p).await)
    .unwrap();
    assert_eq!(stored.0, 0);
    let longest = format!("{}@x.co", "a".repeat(MAX_EMAIL_CHARS - 5));
    assert_eq!(
        auth::login(&db, POLICY, &longest, "incorrecta", "10.0.0.2", now()).await,
        Err(AppError::BadCredentials),
        "the longest address allowed is counted like any other"
    );
}

async fn deactivating_a_user_ends_their_sessions(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let adv = user(&db, "ana@x.co", Role::Advisor, None).await;
    let admin_v = viewer(&db, &admin).await;
    let token = auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now())
        .await
        .unwrap();
    edit_user(&db, &admin_v, &adv, |u| u.active = false)
        .await
        .unwrap();
    assert!(auth::resolve_session(&db, POLICY, &token, now())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now()).await,
        Err(AppError::BadCredentials)
    );

    // A new password from the admin works, and the old one no longer does.
    edit_user(&db, &admin_v, &adv, |u| {
        u.active = true;
        u.password = "otra-clave-segura".into();
    })
    .await
    .unwrap();
    assert!(auth::login(
        &db,
        POLICY,
        "ana@x.co",
        "otra-clave-segura",
        "10.0.0.1",
        now()
    )
    .await
    .is_ok());
    assert!(
        auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.1", now())
            .await
            .is_err()
    );
    let log = audit::recent(&db, 10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "user.update" && e.detail.contains("desactivado")),
        "{log:?}"
    );
}

async fn user_rules_are_reported_beside_the_field(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin_v = viewer(&db, &admin).await;
    let sup = user(&db, "sup@x.co", Role::Supervisor, None).await;
    let adv = user(&db, "adv@x.co", Role::Advisor, Some(&sup)).await;

    let taken = UserInput {
        email: "ADV@x.co".into(),
        password: "una-clave-larga".into(),
        ..adv.to_input()
    };
    let err = users::create(&db, None, taken.validate(true).unwrap(), false, now())
        .await
        .unwrap_err();
    assert_eq!(
        err.field_message("email").as_deref(),
        Some("Ya existe un usuario con ese correo.")
    );

    let under_advisor = UserInput {
        email: "x@x.co".into(),
        supervisor_id: Some(adv.id),
        password: "una-clave-larga".into(),
        ..adv.to_input()
    };
    let err = users::create(
        &db,
        None,
        under_advisor.validate(true).unwrap(),
        false,
        now(),
    )
    .await
    .unwrap_err();
    assert!(err.field_message("supervisor_id").is_some());

    let err = edit_user(&db, &admin_v, &sup, |u| u.role = "advisor".into())
        .await
        .unwrap_err();
    assert!(err
        .field_message("role")
        .unwrap()
        .contains("asesores a cargo"));

    let err = edit_user(&db, &admin_v, &admin, |u| u.active = false)
        .await
        .unwrap_err();
    assert!(err.field_message("active").is_some());
    assert!(
        edit_user(&db, &admin_v, &admin, |u| u.role = "supervisor".into())
            .await
            .unwrap_err()
            .field_message("role")
            .is_some()
    );

    let listed = users::list(&db).await.unwrap();
    assert_eq!(
        listed.iter().map(|u| u.role).collect::<Vec<_>>(),
        vec![Role::Admin, Role::Supervisor, Role::Advisor]
    );
    assert_eq!(listed[2].supervisor_name.as_deref(), Some("sup"));
}

on_both_engines!(
    login_opens_a_session_that_expires,
    bad_credentials_are_generic_and_rate_limited,
    oversized_credentials_are_refused_before_anything_is_stored,
    deactivating_a_user_ends_their_sessions,
    user_rules_are_reported_beside_the_field,
);
