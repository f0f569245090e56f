//! Server-only code: configuration, database, services and the HTTP application.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod bench;
pub mod calls;
pub mod channels;
pub mod clients;
pub mod config;
pub mod conversations;
pub mod db;
pub mod http;
pub mod import;
pub mod indicators;
pub mod interactions;
pub mod portal;
pub mod sandbox;
pub mod seed;
pub mod segments;
pub mod tables;
pub mod templates;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;

use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::http::AppState;

/// How often the scheduler looks for flow steps, events, campaigns and fallbacks due.
pub const SCHEDULER_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Clients the demo seed creates when `serve` starts in demo mode on an empty database.
pub const DEMO_CLIENTS: usize = 2_000;

pub async fn open_database(config: &Config) -> Result<Db, String> {
    let db = Db::connect(&config.database_url).await.map_err(|e| {
        format!(
            "No se pudo abrir la base de datos {}: {e}",
            redact(&config.database_url)
        )
    })?;
    db.migrate()
        .await
        .map_err(|e| format!("No se pudieron aplicar las migraciones: {e}"))?;
    Ok(db)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Runs the web application until Ctrl-C.
pub async fn serve(config: Config) -> Result<(), String> {
    let db = open_database(&config).await?;
    if config.demo {
        let report = seed::seed(&db, DEMO_CLIENTS, config.today(), Utc::now())
            .await
            .map_err(|e| format!("No se pudieron crear los datos de demostración: {e}"))?;
        if report.clients_created > 0 {
            tracing::info!(clients = report.clients_created, "demo portfolio seeded");
        }
    } else if seed::demo_users_exist(&db)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "La base de datos tiene usuarios de demostración (@{}), con una contraseña pública. \
             Fuera del modo demo el servidor no arranca así: usa una base de datos sin datos de demostración, \
             o arranca con RECAUDO_DEMO=true para probar la aplicación.",
            seed::DEMO_DOMAIN
        ));
    }

    let leptos = leptos::config::get_configuration(None)
        .map_err(|e| format!("Configuración de Leptos: {e}"))?;
    let state = AppState {
        leptos_options: leptos.leptos_options,
        db: db.clone(),
        config: Arc::new(config.clone()),
        notifier: conversations::notify::Notifier::default(),
        outbox_wake: Arc::default(),
    };
    state
        .notifier
        .listen(&db)
        .await
        .map_err(|e| format!("No se pudo escuchar las notificaciones de PostgreSQL: {e}"))?;
    tokio::spawn(maintenance(state.clone()));
    tokio::spawn(dispatcher(&state).await?.run());
    tokio::spawn(automation::scheduler::run_forever(
        db.clone(),
        state.config.clone(),
        SCHEDULER_EVERY,
    ));
    tokio::spawn(channels::email::poll_forever(
        db.clone(),
        state.notifier.clone(),
        std::time::Duration::from_secs(config.mail_poll_secs),
    ));

    let listener = tokio::net::TcpListener::bind(config.bind_address)
        .await
        .map_err(|e| format!("No se pudo escuchar en {}: {e}", config.bind_address))?;
    println!("Recaudo escuchando en http://{}", config.bind_address);
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())?;
    db.close().await;
    Ok(())
}

/// This process's outbox dispatcher, its sandbox posting callbacks back to this server.
async fn dispatcher(state: &AppState) -> Result<channels::outbox::Dispatcher, String> {
    use channels::outbox::{Dispatcher, Policy};
    use channels::providers::{Providers, Sandbox};
    let key = channels::secret(&state.db, channels::SANDBOX_KEY)
        .await
        .map_err(|e| format!("No se pudo leer la clave del sandbox: {e}"))?;
    let sandbox = Sandbox {
        callback_url: format!("{}/api/webhooks/sandbox", state.config.local_origin()),
        key,
        delay: (1.5, 2.5),
    };
    let policy = Policy {
        lease: chrono::Duration::seconds(state.config.outbox_lease_secs),
        ..Policy::default()
    };
    let mut providers = Providers::new(policy.request_timeout, state.config.demo, sandbox);
    providers.origin = Some(state.config.origin());
    let mut d = Dispatcher::new(state.db.clone(), policy, providers);
    d.notifier = Some(state.notifier.clone());
    d.wake = state.outbox_wake.clone();
    Ok(d)
}

/// Hourly: roll summaries forward past due dates, settle promises whose deadline passed
/// and drop expired sessions. All are idempotent, so several server processes may run
/// them.
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match clients::roll_forward(&state.db, state.config.today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(clients = n, "summaries rolled forward"),
            Err(e) => tracing::error!(error = %e, "roll-forward failed"),
        }
        let config = &state.config;
        match calls::promises::settle(&state.db, config.today(), config.promise_policy, Utc::now())
            .await
        {
            Ok(s) if s.kept + s.broken > 0 => {
                tracing::info!(kept = s.kept, broken = s.broken, "promises settled")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "promise settlement failed"),
        }
        if let Err(e) = auth::purge_expired(&state.db, state.session_policy(), Utc::now()).await {
            tracing::error!(error = %e, "session purge failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            super::redact("postgres://app:secreto@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(super::redact("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            super::redact("sqlite://data/recaudo.db"),
            "sqlite://data/recaudo.db"
        );
    }
}
