//! How far a report download has got. The browser saves the file itself, straight to
//! disk, from a plain link; the server that streams it writes its progress under a
//! token the page chose, and the page reads it back while the file arrives.

use serde::{Deserialize, Serialize};

/// Where a download stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownloadState {
    Running,
    Done,
    Failed,
}

impl DownloadState {
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadState::Running => "running",
            DownloadState::Done => "done",
            DownloadState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DownloadState> {
        [
            DownloadState::Running,
            DownloadState::Done,
            DownloadState::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A download's progress as its server last wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadProgress {
    pub rows: i64,
    pub bytes: i64,
    /// The rows the file will hold, once counted (the count runs beside the download).
    pub total: Option<i64>,
    pub state: DownloadState,
    /// Why it failed, for the user.
    pub error: String,
}

/// What the page says while the file arrives and once it is saved.
pub fn progress_text(p: &DownloadProgress) -> String {
    let size = size_text(p.bytes.max(0) as usize);
    match p.state {
        DownloadState::Running => match percent(p.rows, p.total) {
            Some(pct) => format!(
                "Descargando: {} de {} ({pct} %) · {size}…",
                p.rows,
                rows_text(p.total.unwrap_or_default())
            ),
            None => format!("Descargando: {} · {size}…", rows_text(p.rows)),
        },
        DownloadState::Done => format!("Descarga lista: {} · {size}.", rows_text(p.rows)),
        DownloadState::Failed if p.error.is_empty() => {
            "No se pudo descargar el reporte: vuelva a intentarlo.".to_string()
        }
        DownloadState::Failed => p.error.clone(),
    }
}

fn rows_text(n: i64) -> String {
    if n == 1 {
        "1 fila".to_string()
    } else {
        format!("{n} filas")
    }
}

/// Whole percent of `total` written, never 100 before the end (the count may be a few
/// rows short of a file still growing) and none without a total.
pub fn percent(rows: i64, total: Option<i64>) -> Option<i64> {
    let total = total.filter(|t| *t > 0)?;
    Some((rows.max(0).saturating_mul(100) / total).min(99))
}

/// The longest token a page may choose; a token is letters, digits, `-` and `_`.
pub const TOKEN_MAX: usize = 64;
/// Tokens shorter than this could be guessed by another tab of the same user.
pub const TOKEN_MIN: usize = 16;

pub fn check_token(token: &str) -> Result<(), String> {
    let ok = (TOKEN_MIN..=TOKEN_MAX).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "El identificador de la descarga debe tener de {TOKEN_MIN} a {TOKEN_MAX} letras, dígitos, «-» o «_»."
        ))
    }
}

/// A size for people: "850 kB", "12,4 MB".
pub fn size_text(bytes: usize) -> String {
    if bytes < 1_000_000 {
        format!("{} kB", bytes.div_ceil(1000))
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6).replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rows: i64, total: Option<i64>, state: DownloadState) -> DownloadProgress {
        DownloadProgress {
            rows,
            bytes: 2_500_000,
            total,
            state,
            error: String::new(),
        }
    }

    #[test]
    fn the_page_says_rows_size_and_a_percentage_once_the_total_is_known() {
        assert_eq!(
            progress_text(&at(1200, None, DownloadState::Running)),
            "Descargando: 1200 filas · 2,5 MB…"
        );
        assert_eq!(
            progress_text(&at(1200, Some(4800), DownloadState::Running)),
            "Descargando: 1200 de 4800 filas (25 %) · 2,5 MB…"
        );
        assert_eq!(
            progress_text(&at(4800, Some(4800), DownloadState::Done)),
            "Descarga lista: 4800 filas · 2,5 MB."
        );
        assert_eq!(
            progress_text(&at(1, Some(1), DownloadState::Done)),
            "Descarga lista: 1 fila · 2,5 MB."
        );
        let mut failed = at(10, None, DownloadState::Failed);
        assert!(progress_text(&failed).contains("vuelva a intentarlo"));
        failed.error = "La descarga se interrumpió.".into();
        assert_eq!(progress_text(&failed), "La descarga se interrumpió.");
    }

    #[test]
    fn the_percentage_stays_below_100_until_the_end_and_needs_a_total() {
        assert_eq!(percent(0, Some(10)), Some(0));
        assert_eq!(percent(5, Some(10)), Some(50));
        assert_eq!(percent(10, Some(10)), Some(99));
        assert_eq!(percent(12, Some(10)), Some(99));
        assert_eq!(percent(5, Some(0)), None);
        assert_eq!(percent(5, None), None);
        assert_eq!(percent(i64::MAX, Some(3)), Some(99));
    }

    #[test]
    fn tokens_are_long_enough_and_plain() {
        assert!(check_token("a1B2c3D4e5F6g7H8").is_ok());
        assert!(check_token(&"x".repeat(TOKEN_MAX)).is_ok());
        for bad in [
            "short",
            "",
            "a1B2c3D4e5F6g7H8 ",
            "a1B2c3D4e5F6g7H8'",
            "ñandú-ñandú-ñandú",
        ] {
            assert!(
                check_token(bad).unwrap_err().contains("identificador"),
                "{bad}"
            );
        }
        assert!(check_token(&"x".repeat(TOKEN_MAX + 1)).is_err());
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(850_000), "850 kB");
        assert_eq!(size_text(12_400_000), "12,4 MB");
        for state in ["running", "done", "failed"] {
            assert_eq!(DownloadState::parse(state).unwrap().as_str(), state);
        }
        assert_eq!(DownloadState::parse("other"), None);
    }
}
