//! Portfolio import: decode the CSV, plan it with `domain::import`, then write every
//! client in one transaction, or nothing.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::error::{AppError, RowError};
use crate::domain::import::{plan, ImportSummary, ImportedClient, MAX_LISTED_ERRORS};
use crate::domain::user::{Assignee, Viewer};
use crate::on_db;
use crate::server::clients::{self, NewClient};
use crate::server::clock::Clock;
use crate::server::db::{is_unique_violation, Db};
use crate::server::{audit, users};

pub const MAX_ROWS: usize = 200_000;

fn file_error(message: impl Into<String>) -> AppError {
    AppError::InvalidFile(
        vec![RowError {
            row: 1,
            column: "—".into(),
            message: message.into(),
        }],
        1,
    )
}

/// Splits the text into header and rows. The delimiter is whichever of `;`, `,` or tab
/// the header line uses most (Excel in Spanish writes `;`).
pub fn decode(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\u{fffd}') {
        return Err(file_error(
            "El archivo no está en UTF-8. En Excel, guárdalo como «CSV UTF-8 (delimitado por comas)».",
        ));
    }
    let first_line = text.lines().next().unwrap_or("");
    if first_line.trim().is_empty() {
        return Err(file_error(
            "El archivo está vacío o su primera fila no tiene encabezados.",
        ));
    }
    let delimiter = [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.matches(*d as char).count())
        .expect("three candidates");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(format!("No se pudo leer el encabezado: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if rows.len() >= MAX_ROWS {
            return Err(file_error(format!(
                "El archivo supera las {MAX_ROWS} filas; divídelo en partes."
            )));
        }
        match record {
            Ok(r) => rows.push(r.iter().map(str::to_string).collect()),
            Err(e) => {
                errors.push(RowError {
                    row: i + 2,
                    column: "—".into(),
                    message: format!("Fila mal formada: {e}"),
                });
                rows.push(Vec::new());
            }
        }
    }
    if !errors.is_empty() {
        let total = errors.len();
        errors.truncate(MAX_LISTED_ERRORS);
        return Err(AppError::InvalidFile(errors, total));
    }
    Ok((headers, rows))
}

#[derive(sqlx::FromRow)]
struct AdvisorKey {
    id: i64,
    email: String,
}

#[tracing::instrument(skip_all)]
pub async fn import_csv(
    db: &Db,
    viewer: &Viewer,
    text: &str,
    max_debts: usize,
    clock: Clock,
) -> Result<ImportSummary, AppError> {
    let now = clock.now;
    if !viewer.is_admin() {
        return Err(AppError::Forbidden);
    }
    let assignees: HashMap<i64, Assignee> = users::assignees(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let emails: Vec<AdvisorKey> = on_db!(db, p => sqlx::query_as("SELECT id, email FROM users WHERE role <> 'admin' AND email <> $1").bind(crate::server::users::PORTAL_USER_EMAIL).fetch_all(p).await)?;
    let by_email: HashMap<String, i64> = emails.into_iter().map(|k| (k.email, k.id)).collect();
    // Reading and validating a file of tens of thousands of rows takes CPU for a while:
    // it runs beside the async workers, which keep answering everyone else.
    let text = text.to_string();
    let known = assignees.clone();
    let (rows, planned) = tokio::task::spawn_blocking(move || {
        let (headers, rows) = decode(&text)?;
        let lookup = |cell: &str| -> Result<i64, String> {
            let cell = cell.trim();
            let id = cell
                .parse::<i64>()
                .ok()
                .filter(|id| known.contains_key(id))
                .or_else(|| by_email.get(&cell.to_lowercase()).copied());
            match id.and_then(|id| known.get(&id)) {
                Some(a) if a.active => Ok(a.id),
                Some(_) => Err(format!("El usuario «{cell}» está desactivado.")),
                None => Err(format!(
                    "No hay un asesor o supervisor «{cell}» (usa su ID o su correo)."
                )),
            }
        };
        plan(&headers, &rows, &lookup, max_debts)
            .map(|planned| (rows.len(), planned))
            .map_err(|(errors, total)| AppError::InvalidFile(errors, total))
    })
    .await
    .map_err(AppError::internal)??;

    let mut existing: HashMap<String, i64> = HashMap::new();
    for chunk in planned.chunks(1000) {
        let found: Vec<(i64, String)> = on_db!(db, p => {
            let mut qb = QueryBuilder::new("SELECT id, document_number FROM clients WHERE document_number IN (");
            let mut list = qb.separated(", ");
            for item in chunk {
                list.push_bind(item.client.document_number.as_str());
            }
            qb.push(")");
            qb.build_query_as::<(i64, String)>().fetch_all(p).await
        })?;
        existing.extend(found.into_iter().map(|(id, doc)| (doc, id)));
    }

    // Merge re-imported clients into what is stored; a merge that would break a rule is
    // reported like any other error in the file.
    let mut updates = Vec::new();
    let mut errors = Vec::new();
    let mut new: Vec<&ImportedClient> = Vec::new();
    for item in &planned {
        match existing.get(&item.client.document_number) {
            Some(&id) => {
                let stored = clients::get(db, viewer, id, clock).await?.to_valid();
                match item.merge_into(stored) {
                    Ok(merged) => updates.push((id, merged)),
                    Err((column, message)) => errors.push(RowError {
                        row: item.rows[0],
                        column,
                        message,
                    }),
                }
            }
            None => new.push(item),
        }
    }
    if !errors.is_empty() {
        let total = errors.len();
        errors.truncate(MAX_LISTED_ERRORS);
        return Err(AppError::InvalidFile(errors, total));
    }

    let team = |advisor_id: Option<i64>| {
        advisor_id
            .and_then(|id| assignees.get(&id))
            .and_then(Assignee::team_supervisor)
    };
    let new_items: Vec<NewClient> = new
        .iter()
        .map(|i| NewClient {
            client: &i.client,
            advisor_id: i.client.advisor_id,
            supervisor_id: team(i.client.advisor_id),
        })
        .collect();
    let mut tx = db.begin().await?;
    let written = async {
        clients::insert_new(&mut tx, &new_items, clock).await?;
        for (id, merged) in &updates {
            clients::replace_existing(
                &mut tx,
                *id,
                merged,
                clients::Rewrite {
                    advisor_id: merged.advisor_id,
                    supervisor_id: team(merged.advisor_id),
                    by: Some(viewer.user_id),
                },
                clock,
            )
            .await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    match written {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict(
                "Otro usuario registró uno de estos clientes mientras importabas. Vuelve a importar el archivo.".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let summary = ImportSummary {
        rows,
        created: new_items.len(),
        updated: updates.len(),
        debts: planned.iter().map(|p| p.client.debts.len()).sum(),
    };
    audit::record(
        &mut tx,
        Some(viewer.user_id),
        "portfolio.import",
        "clients",
        &format!(
            "{} filas, {} nuevos, {} actualizados",
            summary.rows, summary.created, summary.updated
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    // Keep the planner's statistics in step after a large load, without making the
    // person who imported wait for it.
    if summary.created + summary.updated > 1000 {
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.refresh_statistics().await {
                tracing::warn!(error = %e, "statistics refresh after import failed");
            }
        });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_sniffed_from_the_header() {
        for (text, n) in [
            ("a;b;c\n1;2;3", 3),
            ("a,b\n1,2", 2),
            ("a\tb\tc\td\n1\t2\t3\t4", 4),
        ] {
            let (h, rows) = decode(text).unwrap();
            assert_eq!(h.len(), n);
            assert_eq!(rows[0].len(), n);
        }
    }

    #[test]
    fn quoted_cells_keep_their_delimiters_and_bom_is_dropped() {
        let (h, rows) =
            decode("\u{feff}Nombre;Notas\n\"Pérez; Ana\";\"dijo \"\"hola\"\"\"").unwrap();
        assert_eq!(h[0], "Nombre");
        assert_eq!(rows[0], vec!["Pérez; Ana", "dijo \"hola\""]);
    }

    #[test]
    fn undecodable_and_empty_files_are_refused() {
        assert!(decode("Nombre;Pa\u{fffd}s\n")
            .unwrap_err()
            .to_string()
            .contains("1 error"));
        assert!(matches!(decode(""), Err(AppError::InvalidFile(..))));
    }
}
