//! Users and sessions against a real database, on SQLite and PostgreSQL.

use crate::common::*;
use chrono::Duration;
use recaudo::domain::error::AppError;
use recaudo::domain::user::{Role, UserInput};
use recaudo::server::auth::{self, SessionPolicy, MAX_FAILURES_PER_EMAIL};
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

    for _ in 1..MAX_FAILURES_PER_EMAIL {
        auth::login(&db, POLICY, "ana@x.co", "incorrecta", "10.0.0.3", now())
            .await
            .unwrap_err();
    }
    // Locked even with the right password, until the window passes.
    assert_eq!(
        auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.4", now()).await,
        Err(AppError::RateLimited)
    );
    let later = now() + Duration::minutes(16);
    assert!(
        auth::login(&db, POLICY, "ana@x.co", PASSWORD, "10.0.0.4", later)
            .await
            .is_ok()
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
    deactivating_a_user_ends_their_sessions,
    user_rules_are_reported_beside_the_field,
);
