//! The one error type that crosses the wire between server functions and the browser.
//!
//! Every variant carries only what the user may see. Internal failures are logged on the
//! server with their cause (in the span of the request or job that met them) and reach
//! the browser as the opaque `Internal`: the cause stays on the server.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A validation message attached to one form field (`field` is the input's name, for
/// nested inputs a path such as `debts.2.due_date`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem in one cell of an uploaded file. `row` counts lines as a spreadsheet does
/// (the header is row 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Tu sesión expiró o no has iniciado sesión. Vuelve a ingresar.")]
    Unauthenticated,
    #[error("No tienes permiso para realizar esta acción.")]
    Forbidden,
    #[error("No encontrado.")]
    NotFound,
    #[error("Correo o contraseña incorrectos.")]
    BadCredentials,
    #[error("Demasiados intentos. Espera unos minutos e inténtalo de nuevo.")]
    RateLimited,
    #[error("{}", invalid_summary(.0))]
    Invalid(Vec<FieldError>),
    #[error("{}", file_summary(.0, *.1))]
    InvalidFile(Vec<RowError>, usize),
    #[error("{0}")]
    Conflict(String),
    /// Another user wrote to or called this client a moment ago: the request goes
    /// through when sent again with its confirmation (see `domain::recent`).
    #[error("{0}")]
    RecentlyAttended(String),
    #[error("Ocurrió un error interno. Inténtalo de nuevo; si persiste, avisa al administrador.")]
    Internal {
        #[serde(skip)]
        cause: Cause,
    },
    #[error("No se pudo completar la solicitud: {0}")]
    Request(String),
}

fn invalid_summary(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.message.clone(),
        _ => format!("Revisa los {} campos marcados.", errors.len()),
    }
}

fn file_summary(listed: &[RowError], total: usize) -> String {
    let count = if total == 1 {
        "1 error".to_string()
    } else {
        format!("{total} errores")
    };
    if total > listed.len() {
        format!(
            "El archivo tiene {count} (se muestran los primeros {}). No se importó nada.",
            listed.len()
        )
    } else {
        format!("El archivo tiene {count}. No se importó nada.")
    }
}

/// Why an internal error happened, for the server's log. It never crosses the wire,
/// and two internal errors are the same answer to the user whatever their causes, so
/// it compares equal to any other.
#[derive(Clone, Debug, Default)]
pub struct Cause(String);

impl PartialEq for Cause {
    fn eq(&self, _: &Cause) -> bool {
        true
    }
}

impl Eq for Cause {}

impl AppError {
    /// An internal failure: logged on the server with its cause, where it happens (so
    /// in its request's or job's span), and kept for whoever logs the error again.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let cause = cause.to_string();
        #[cfg(feature = "ssr")]
        tracing::error!(%cause, "internal error");
        AppError::Internal {
            cause: Cause(cause),
        }
    }

    /// What went wrong, for a log line: an internal error's cause (empty once it has
    /// crossed the wire), any other error's message.
    pub fn reason(&self) -> String {
        match self {
            AppError::Internal { cause } => cause.0.clone(),
            other => other.to_string(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for one field, when this is a validation error that names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// What the framework itself refused or failed, in words for the user. A decoder's
    /// own text (which names our types and fields) is logged on the server, never sent.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::Request("no hay conexión con el servidor".into())
            }
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => {
                #[cfg(feature = "ssr")]
                tracing::debug!(error = %value, "server function input refused");
                AppError::Request("los datos enviados no tienen el formato esperado".into())
            }
            ServerFnErrorErr::Registration(_) | ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                AppError::Request("esa operación no existe".into())
            }
            other => AppError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_invalid_field_reads_as_its_own_message() {
        let err = AppError::invalid("email", "Correo inválido");
        assert_eq!(err.to_string(), "Correo inválido");
        assert_eq!(
            err.field_message("email").as_deref(),
            Some("Correo inválido")
        );
        assert_eq!(err.field_message("name"), None);
    }

    #[test]
    fn many_invalid_fields_are_counted() {
        let err = AppError::Invalid(vec![FieldError::new("a", "x"), FieldError::new("b", "y")]);
        assert_eq!(err.to_string(), "Revisa los 2 campos marcados.");
    }

    #[test]
    fn file_errors_say_nothing_was_imported() {
        let listed = vec![RowError {
            row: 2,
            column: "Documento".into(),
            message: "vacío".into(),
        }];
        assert_eq!(
            AppError::InvalidFile(listed.clone(), 1).to_string(),
            "El archivo tiene 1 error. No se importó nada."
        );
        assert!(AppError::InvalidFile(listed, 300)
            .to_string()
            .contains("primeros 1"));
    }

    #[test]
    fn errors_survive_the_wire() {
        let err = AppError::Invalid(vec![FieldError::new("email", "Correo inválido")]);
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), err);
    }

    #[test]
    fn an_internal_cause_stays_on_the_server() {
        let err = AppError::internal("database: connection refused to 10.0.0.5");
        assert_eq!(err.reason(), "database: connection refused to 10.0.0.5");
        assert!(!err.to_string().contains("10.0.0.5"));
        let json = serde_json::to_string(&err).unwrap();
        assert!(!json.contains("10.0.0.5"), "{json}");
        let back: AppError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, err);
        assert_eq!(back.reason(), "");
        assert_eq!(
            AppError::invalid("email", "Correo inválido").reason(),
            "Correo inválido"
        );
    }
}
