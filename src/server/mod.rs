//! Server-only code: configuration, database, services and the HTTP application.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod backup;
#[cfg(feature = "bench")]
pub mod bench;
pub mod calls;
pub mod channels;
pub mod clients;
pub mod clock;
pub mod config;
pub mod conversations;
pub mod db;
pub mod downloads;
pub mod events;
pub mod governance;
pub mod http;
pub mod import;
pub mod indicators;
pub mod interactions;
pub mod messages;
pub mod notify;
pub mod portal;
pub mod rate_limit;
pub mod sandbox;
pub mod sealed;
pub mod seed;
pub mod segments;
pub mod signing;
pub mod tables;
pub mod templates;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::domain::error::AppError;
use crate::server::config::{Config, DEFAULT_PAYMENT_INSTRUCTIONS};
use crate::server::db::Db;
use crate::server::http::AppState;

/// How often the scheduler looks for flow steps, events, campaigns and fallbacks due.
pub const SCHEDULER_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Clients the demo seed creates when `serve` starts in demo mode on an empty database.
pub const DEMO_CLIENTS: usize = 2_000;

/// Why a command (`serve`, `migrate`, `seed`…) stopped: what `main` prints before it
/// exits with an error.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Config(String),
    #[error("No se pudo abrir la base de datos {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("No se pudieron aplicar las migraciones: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "La base de datos tiene usuarios de demostración (@{}), con una contraseña pública. \
         Fuera del modo demo el servidor no arranca así: usa una base de datos sin datos de demostración, \
         o arranca con RECAUDO_DEMO=true para probar la aplicación.",
        seed::DEMO_DOMAIN
    )]
    DemoUsers,
    #[error(
        "Las instrucciones de pago son las del ejemplo (una cuenta bancaria ficticia): los deudores \
         pagarían a una cuenta que no existe. Escribe las de tu organización en payment_instructions \
         (Leptos.toml) o RECAUDO_PAYMENT_INSTRUCTIONS antes de arrancar fuera del modo demo."
    )]
    PlaceholderPaymentInstructions,
    #[error(
        "Falta RECAUDO_SECRET_KEY: la clave (64 dígitos hexadecimales) con la que se guardan \
         sellados los secretos de los canales. Genera una con `recaudo generate-secret-key` y \
         guárdala fuera de la base de datos; sin ella no se leen los secretos ya guardados."
    )]
    MissingSecretKey,
    #[error("Este comando solo existe en modo demostración (RECAUDO_DEMO=true): {0}")]
    DemoOnly(&'static str),
    #[error("Configuración de Leptos: {0}")]
    Leptos(String),
    #[error("No se pudo escuchar las notificaciones de PostgreSQL: {0}")]
    Listen(sqlx::Error),
    #[error("No se pudo escuchar en {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("El servidor se detuvo: {0}")]
    Serve(std::io::Error),
    /// A service refused or failed; an internal failure shows its cause here, where
    /// only the operator reads it.
    #[error("{what}: {}", .source.reason())]
    Service {
        what: &'static str,
        source: AppError,
    },
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

impl CommandError {
    /// A service's error, with what the command was doing.
    pub fn service(what: &'static str) -> impl FnOnce(AppError) -> CommandError {
        move |source| CommandError::Service { what, source }
    }
}

pub async fn open_database(config: &Config) -> Result<Db, CommandError> {
    let sealer = match (&config.secret_key, config.demo) {
        (Some(key), _) => sealed::Sealer::from_hex(key.expose()).map_err(CommandError::Config)?,
        (None, true) => sealed::Sealer::demo(),
        (None, false) => return Err(CommandError::MissingSecretKey),
    };
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|source| CommandError::Open {
            url: redact(&config.database_url),
            source,
        })?
        .with_sealer(sealer);
    db.migrate().await?;
    let sealed = sealed::seal_stored(&db)
        .await
        .map_err(CommandError::service(
            "No se pudieron sellar los secretos guardados",
        ))?;
    if sealed > 0 {
        tracing::info!(sealed, "secrets stored in the clear are now sealed");
    }
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
pub async fn serve(config: Config) -> Result<(), CommandError> {
    if !config.demo && config.payment_instructions == DEFAULT_PAYMENT_INSTRUCTIONS {
        return Err(CommandError::PlaceholderPaymentInstructions);
    }
    let db = open_database(&config).await?;
    if config.demo {
        let report = seed::seed(&db, DEMO_CLIENTS, config.clock())
            .await
            .map_err(CommandError::service(
                "No se pudieron crear los datos de demostración",
            ))?;
        if report.clients_created > 0 {
            tracing::info!(clients = report.clients_created, "demo portfolio seeded");
        }
    } else if seed::demo_users_exist(&db)
        .await
        .map_err(CommandError::service("No se pudieron leer los usuarios"))?
    {
        return Err(CommandError::DemoUsers);
    }

    let leptos =
        leptos::config::get_configuration(None).map_err(|e| CommandError::Leptos(e.to_string()))?;
    let state = AppState {
        leptos_options: leptos.leptos_options,
        db: db.clone(),
        config: Arc::new(config.clone()),
        limits: Arc::default(),
        events: events::Hub::start(db.clone())
            .await
            .map_err(CommandError::Listen)?,
    };
    db.listen().await.map_err(CommandError::Listen)?;
    tokio::spawn(maintenance(state.clone()));
    tokio::spawn(fold_indicators(db.clone()));
    tokio::spawn(dispatcher(&state).await?.run());
    tokio::spawn(automation::scheduler::run_forever(
        db.clone(),
        state.config.clone(),
        SCHEDULER_EVERY,
    ));
    tokio::spawn(channels::email::poll_forever(
        db.clone(),
        std::time::Duration::from_secs(config.mail_poll_secs),
    ));

    let listener = tokio::net::TcpListener::bind(config.bind_address)
        .await
        .map_err(|source| CommandError::Bind {
            address: config.bind_address,
            source,
        })?;
    println!("Recaudo escuchando en http://{}", config.bind_address);
    axum::serve(
        http::listener(listener),
        http::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(CommandError::Serve)?;
    db.close().await;
    Ok(())
}

/// This process's outbox dispatcher, its sandbox posting callbacks back to this server.
async fn dispatcher(state: &AppState) -> Result<channels::dispatcher::Dispatcher, CommandError> {
    use channels::dispatcher::Dispatcher;
    use channels::providers::{Providers, Sandbox};
    use messages::outbox::Policy;
    let key = channels::secret(&state.db, channels::SANDBOX_KEY)
        .await
        .map_err(CommandError::service(
            "No se pudo leer la clave del sandbox",
        ))?;
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
    Ok(Dispatcher::new(state.db.clone(), policy, providers))
}

/// Every few minutes: fold the indicator counters PostgreSQL's triggers appended, so
/// that Indicadores sums a few rows per hour and advisor rather than one per event.
async fn fold_indicators(db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = indicators::fold(&db).await {
            tracing::error!(error = %e.reason(), "indicator folding failed");
        }
    }
}

/// Hourly: roll summaries forward past due dates, settle promises whose deadline passed,
/// drop expired sessions, the events too old to replay and old heartbeats. All are
/// idempotent, so several server processes may run them.
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let clock = state.config.clock();
        match clients::roll_forward(&state.db, clock.today).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(clients = n, "summaries rolled forward"),
            Err(e) => tracing::error!(error = %e.reason(), "roll-forward failed"),
        }
        match calls::promises::settle(&state.db, state.config.promise_policy, clock).await {
            Ok(s) if s.kept + s.broken > 0 => {
                tracing::info!(kept = s.kept, broken = s.broken, "promises settled")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.reason(), "promise settlement failed"),
        }
        if let Err(e) = auth::purge_expired(&state.db, state.session_policy(), clock.now).await {
            tracing::error!(error = %e.reason(), "session purge failed");
        }
        if let Err(e) = events::prune(&state.db, clock.now - events::RETENTION).await {
            tracing::error!(error = %e, "event pruning failed");
        }
        let stale = clock.now - chrono::Duration::minutes(1);
        if let Err(e) = conversations::presence::prune(&state.db, stale).await {
            tracing::error!(error = %e.reason(), "presence pruning failed");
        }
        let day_ago = clock.now - chrono::Duration::days(1);
        if let Err(e) = downloads::prune(&state.db, day_ago).await {
            tracing::error!(error = %e.reason(), "download progress pruning failed");
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
