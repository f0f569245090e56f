use clap::{Parser, Subcommand};

use recaudo::domain::error::{AppError, FieldError};
use recaudo::domain::user::UserInput;
#[cfg(feature = "bench")]
use recaudo::server::bench;
use recaudo::server::config::Config;
use recaudo::server::{self, seed, users, CommandError};

#[derive(Parser)]
#[command(
    name = "recaudo",
    version,
    about = "Recaudo: espacio de trabajo de cobranzas"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Sirve la aplicación web (la opción por defecto).
    Serve,
    /// Aplica las migraciones pendientes y termina.
    Migrate,
    /// Crea los usuarios de demostración y, en una base sin clientes, una cartera de prueba.
    Seed {
        #[arg(long, default_value_t = server::DEMO_CLIENTS)]
        clients: usize,
    },
    #[cfg(feature = "bench")]
    /// Siembra una base nueva y mide: «clients» (página de clientes y búsqueda, por
    /// defecto), «inbox» (bandeja Recibidos, contador y vista de conversación) o
    /// «calls» (bandeja Llamadas, contador, registro de gestión y revisión de compromisos)
    /// o «alerts» (Clientes y Recibidos con cada filtro de alertas) o «webhooks» (avisos
    /// de estado de WhatsApp firmados, enviados por un segundo proceso durante --seconds)
    /// o «flows» (una pasada diaria del programador: flujo, eventos, campañas) o
    /// «export» (descarga del reporte de Interacciones de --rows filas en CSV y XLSX) o
    /// «governance» (costo de la política de contacto: verificación del redactor y pasada
    /// diaria con y sin políticas) o «events» (--subscribers navegadores con el flujo de
    /// eventos abierto mientras se confirman --rate cambios por segundo) o «http»
    /// (funciones del servidor y la página completa de Recibidos por HTTP, con sesiones
    /// reales, desde un segundo proceso; --seconds por cifra).
    Bench {
        #[arg(value_parser = ["clients", "inbox", "calls", "alerts", "webhooks", "flows", "export", "governance", "events", "http"], default_value = "clients")]
        kind: String,
        #[arg(long, default_value_t = 100_000)]
        clients: usize,
        /// Mensajes que se cargan para «inbox» y «http».
        #[arg(long, default_value_t = 2_000_000)]
        messages: usize,
        /// PostgreSQL (postgres://…) donde crear un esquema temporal; sin él, un SQLite temporal.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Páginas que se recorren para medir una página profunda.
        #[arg(long, default_value_t = 100)]
        depth: usize,
        /// Segundos de carga para «webhooks» (para «http», por cifra).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Conexiones simultáneas del proceso de carga de «webhooks» y «http».
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Interacciones que se cargan para «export».
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Navegadores con el flujo de eventos abierto, para «events».
        #[arg(long, default_value_t = 1_000)]
        subscribers: usize,
        /// Cambios confirmados por segundo durante «events».
        #[arg(long, default_value_t = 500)]
        rate: u64,
    },
    #[cfg(feature = "bench")]
    /// El proceso de cada descarga de `bench export`: mide su memoria por separado.
    #[command(hide = true)]
    BenchExportRun {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        format: String,
    },
    #[cfg(feature = "bench")]
    /// El segundo proceso de `bench webhooks`: publica los avisos firmados.
    #[command(hide = true)]
    BenchWebhooksLoad {
        #[arg(long)]
        url: String,
        #[arg(long)]
        messages: usize,
        #[arg(long)]
        seconds: u64,
        #[arg(long)]
        concurrency: usize,
    },
    #[cfg(feature = "bench")]
    /// El segundo proceso de `bench http`: inicia sesiones y mide las peticiones.
    #[command(hide = true)]
    BenchHttpLoad {
        #[arg(long)]
        url: String,
        #[arg(long)]
        seconds: u64,
        #[arg(long)]
        concurrency: usize,
    },
    /// Las mediciones (`bench`) vienen solo en la compilación con `--features bench`.
    #[cfg(not(feature = "bench"))]
    #[command(hide = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        _args: Vec<String>,
    },
    /// Ejecuta una pasada del programador (flujo principal, eventos, campañas y canal
    /// alternativo), como hace el servidor cada minuto.
    RunScheduler,
    /// Simula mensajes entrantes (canal sandbox) en la base configurada.
    Simulate {
        #[arg(long, default_value_t = 20)]
        messages: usize,
    },
    /// Simula que un canal no pudo llegar a una dirección: un rebote de correo
    /// (email_not_found), WhatsApp no disponible (whatsapp_unavailable) o un número
    /// equivocado (wrong_phone). Marca la alerta de contactabilidad.
    SimulateFailure {
        /// Correo o número, como está registrado.
        #[arg(long)]
        address: String,
        #[arg(long)]
        problem: String,
    },
    /// Recibe un correo (RFC 822) por la entrada estándar, como un servidor de correo lo
    /// entrega a un programa (el transporte pipe de Postfix): una respuesta entra en su
    /// conversación y un aviso de rebote marca la dirección.
    ReceiveMail,
    /// Copia la base SQLite en RUTA mientras los servidores siguen funcionando (una copia
    /// coherente, verificada antes de darla por buena). Para PostgreSQL, usa pg_dump.
    Backup {
        /// Archivo nuevo donde guardar la copia; nunca se sobrescribe uno existente.
        ruta: std::path::PathBuf,
    },
    /// Imprime una clave nueva para RECAUDO_SECRET_KEY (64 dígitos hexadecimales).
    GenerateSecretKey,
    /// Vuelve a sellar los secretos guardados con la clave de RECAUDO_NEW_SECRET_KEY
    /// (los abre con la de RECAUDO_SECRET_KEY), en una sola transacción. Después,
    /// arranca los servidores con la clave nueva en RECAUDO_SECRET_KEY.
    RotateSecretKey,
    /// Crea un usuario.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// admin, supervisor o advisor
        #[arg(long)]
        role: String,
        /// Correo del supervisor (solo para asesores).
        #[arg(long)]
        supervisor: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Teléfono del usuario para las llamadas (+57…).
        #[arg(long)]
        phone: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli.command.unwrap_or(Command::Serve)).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The form's errors, one per line, as the command line shows them.
fn field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn run(command: Command) -> Result<(), CommandError> {
    let config = Config::load().map_err(CommandError::Config)?;
    if let Some(start) = config.clock_start {
        server::clock::start_at(start);
    }
    match command {
        Command::Serve => server::serve(config).await,
        Command::Migrate => {
            server::open_database(&config).await?;
            println!(
                "Migraciones aplicadas en {}",
                server::redact(&config.database_url)
            );
            Ok(())
        }
        Command::Seed { clients } => {
            let db = server::open_database(&config).await?;
            let report = seed::seed(&db, clients, config.clock())
                .await
                .map_err(CommandError::service("No se pudo sembrar la demostración"))?;
            if report.clients_created > 0 {
                println!(
                    "Cartera de demostración creada: {} clientes.",
                    report.clients_created
                );
            } else {
                println!(
                    "La base ya tenía {} clientes; no se agregaron clientes de demostración.",
                    report.clients_existing
                );
            }
            println!(
                "Usuarios de demostración (contraseña «{}»):",
                seed::DEMO_PASSWORD
            );
            for (email, name, role, supervisor) in seed::DEMO_USERS {
                let team = supervisor
                    .map(|s| format!(", equipo de {s}"))
                    .unwrap_or_default();
                println!("  {email:<28} {name} ({}{team})", role.label());
            }
            Ok(())
        }
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => Err(CommandError::Input(
            "Esta compilación no incluye las mediciones: compila con \
             `cargo build --release --features ssr,bench` y usa ese binario."
                .into(),
        )),
        #[cfg(feature = "bench")]
        Command::Bench {
            kind,
            clients,
            messages,
            database_url,
            iterations,
            depth,
            seconds,
            concurrency,
            rows,
            subscribers,
            rate,
        } => bench::run(
            bench::BenchArgs {
                kind: match kind.as_str() {
                    "inbox" => bench::BenchKind::Inbox,
                    "calls" => bench::BenchKind::Calls,
                    "alerts" => bench::BenchKind::Alerts,
                    "webhooks" => bench::BenchKind::Webhooks,
                    "flows" => bench::BenchKind::Flows,
                    "governance" => bench::BenchKind::Governance,
                    "export" => bench::BenchKind::Export,
                    "events" => bench::BenchKind::Events,
                    "http" => bench::BenchKind::Http,
                    _ => bench::BenchKind::Clients,
                },
                clients,
                messages,
                database_url,
                iterations,
                depth,
                seconds,
                concurrency,
                rows,
                subscribers,
                rate,
            },
            &config,
        )
        .await
        .map_err(CommandError::Input),
        #[cfg(feature = "bench")]
        Command::BenchHttpLoad {
            url,
            seconds,
            concurrency,
        } => bench::http::load(bench::http::LoadArgs {
            url,
            seconds,
            concurrency,
        })
        .await
        .map_err(CommandError::Input),
        #[cfg(feature = "bench")]
        Command::BenchWebhooksLoad {
            url,
            messages,
            seconds,
            concurrency,
        } => bench::webhooks::load(bench::webhooks::LoadArgs {
            url,
            messages,
            seconds,
            concurrency,
        })
        .await
        .map_err(CommandError::Input),
        #[cfg(feature = "bench")]
        Command::BenchExportRun {
            database_url,
            format,
        } => bench::export::run(&database_url, &format, &config)
            .await
            .map_err(CommandError::Input),
        Command::RunScheduler => {
            let db = server::open_database(&config).await?;
            let report =
                server::automation::scheduler::run_once(&db, &config.sending(), config.clock())
                    .await
                    .map_err(CommandError::service("El programador no terminó su pasada"))?;
            println!("{}", report.describe());
            Ok(())
        }
        Command::Simulate { messages } => {
            if !config.demo {
                return Err(CommandError::DemoOnly(
                    "los mensajes simulados llegarían a deudores reales",
                ));
            }
            let db = server::open_database(&config).await?;
            let landed = server::sandbox::simulate(&db, messages, server::clock::now())
                .await
                .map_err(CommandError::service("No se pudieron simular los mensajes"))?;
            println!("{messages} mensajes simulados; llegaron a {landed} conversaciones.");
            Ok(())
        }
        Command::SimulateFailure { address, problem } => {
            if !config.demo {
                return Err(CommandError::DemoOnly(
                    "una falla simulada marcaría una dirección real",
                ));
            }
            let db = server::open_database(&config).await?;
            let flagged =
                server::sandbox::simulate_failure(&db, &address, &problem, server::clock::now())
                    .await
                    .map_err(CommandError::service("No se pudo simular la falla"))?;
            println!("{address}: alerta de contactabilidad en {flagged} clientes.");
            Ok(())
        }
        Command::ReceiveMail => {
            use std::io::Read;
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .map_err(|source| CommandError::Io {
                    what: "No se pudo leer el correo",
                    source,
                })?;
            let db = server::open_database(&config).await?;
            let taken = server::channels::email::receive(&db, &raw, server::clock::now())
                .await
                .map_err(CommandError::service("No se pudo guardar el correo"))?;
            match taken {
                server::channels::email::Taken::Mail(c) if c.is_empty() => {
                    println!("Correo recibido: sin cliente con esa dirección (queda en No registrados) o ya guardado antes.")
                }
                server::channels::email::Taken::Mail(c) => {
                    println!("Correo recibido en {} conversaciones.", c.len())
                }
                server::channels::email::Taken::Bounce(c) => {
                    println!("Rebote registrado: {} clientes afectados.", c.len())
                }
                server::channels::email::Taken::Skipped(why) => {
                    return Err(CommandError::Input(format!("Correo no guardado: {why}")))
                }
            }
            Ok(())
        }
        Command::Backup { ruta } => {
            let copied = server::backup::sqlite(&config.database_url, &ruta)
                .await
                .map_err(|e| CommandError::Input(e.to_string()))?;
            println!(
                "Copia guardada en {}: {} tablas, {} filas ({} clientes, {} mensajes), {:.1} MB; integridad verificada.",
                ruta.display(),
                copied.tables,
                copied.rows,
                copied.clients,
                copied.messages,
                copied.bytes as f64 / 1_048_576.0
            );
            Ok(())
        }
        Command::GenerateSecretKey => {
            println!("{}", server::sealed::Sealer::generate());
            Ok(())
        }
        Command::RotateSecretKey => {
            let new = std::env::var("RECAUDO_NEW_SECRET_KEY").map_err(|_| {
                CommandError::Input(
                    "Falta RECAUDO_NEW_SECRET_KEY: la clave nueva (genera una con `recaudo generate-secret-key`).".into(),
                )
            })?;
            let new = server::sealed::Sealer::from_hex(&new).map_err(CommandError::Input)?;
            let db = server::open_database(&config).await?;
            let old = db.sealer().clone();
            let written =
                server::sealed::reseal(&db, &old, &new)
                    .await
                    .map_err(CommandError::service(
                        "No se pudieron volver a sellar los secretos",
                    ))?;
            println!(
                "{written} secretos sellados con la clave nueva. Arranca los servidores con ella en RECAUDO_SECRET_KEY."
            );
            Ok(())
        }
        Command::CreateUser {
            email,
            password,
            role,
            supervisor,
            name,
            phone,
        } => {
            let db = server::open_database(&config).await?;
            let supervisor_id = match supervisor {
                Some(s) => Some(
                    users::find_by_email(&db, &s)
                        .await
                        .map_err(CommandError::service("No se pudo buscar el supervisor"))?
                        .ok_or_else(|| {
                            CommandError::Input(format!("No existe un usuario con el correo {s}"))
                        })?
                        .id,
                ),
                None => None,
            };
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let input = UserInput {
                name,
                email,
                role,
                supervisor_id,
                filter_unlocked: false,
                active: true,
                password,
                phone: phone.unwrap_or_default(),
            };
            let valid = input
                .validate(true)
                .map_err(|errors| CommandError::Input(field_errors(&errors)))?;
            let user = users::create(&db, None, valid, false, server::clock::now())
                .await
                .map_err(|e| match e {
                    AppError::Invalid(errors) => CommandError::Input(field_errors(&errors)),
                    other => CommandError::service("No se pudo crear el usuario")(other),
                })?;
            println!(
                "Usuario creado: {} <{}> ({}), id {}",
                user.name,
                user.email,
                user.role.label(),
                user.id
            );
            Ok(())
        }
    }
}
