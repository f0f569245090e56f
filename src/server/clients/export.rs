//! The clients list as a CSV download: the same scope, search, order and filters as the
//! screen, every page of it, in the import template's dialect (";" and "1.234,56").

use chrono::NaiveDate;

use crate::domain::error::AppError;
use crate::domain::listing::{ClientCursor, ClientListQuery, ClientRow};
use crate::domain::money::format_cents;
use crate::domain::user::Viewer;
use crate::server::db::Db;

pub const HEADER: [&str; 9] = [
    "Cliente",
    "Alerta",
    "Contactabilidad",
    "Documento",
    "Asesor",
    "Moneda",
    "Deuda vencida",
    "Días de atraso",
    "Vencimiento más antiguo",
];

/// A cell a spreadsheet would run as a formula is prefixed with an apostrophe.
fn inert(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// One client's line, in [`HEADER`]'s order.
pub fn record(row: &ClientRow) -> [String; 9] {
    let alerts: Vec<String> = row.flags().into_iter().map(|f| f.hover).collect();
    [
        inert(row.display_name.clone()),
        alerts.join(" | "),
        row.alerts().contactability().label().to_string(),
        inert(row.document_number.clone()),
        inert(row.advisor_name.clone().unwrap_or_default()),
        row.currency.clone(),
        format_cents(row.overdue_total_cents),
        row.days_overdue.to_string(),
        row.oldest_unpaid_due_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
    ]
}

fn write_line(out: &mut csv::Writer<Vec<u8>>, fields: &[impl AsRef<[u8]>]) -> Result<(), AppError> {
    out.write_record(fields).map_err(|e| {
        tracing::error!(error = %e, "csv write");
        AppError::Internal
    })
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new())
}

fn bytes(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, AppError> {
    out.into_inner().map_err(|e| {
        tracing::error!(error = %e, "csv flush");
        AppError::Internal
    })
}

/// The header line, with a byte-order mark so that spreadsheets read it as UTF-8.
pub fn header() -> Result<Vec<u8>, AppError> {
    let mut out = writer();
    write_line(&mut out, &HEADER)?;
    let mut line = "\u{feff}".as_bytes().to_vec();
    line.extend(bytes(out)?);
    Ok(line)
}

/// One page of the export and where the next one starts.
pub async fn chunk(
    db: &Db,
    viewer: &Viewer,
    query: &ClientListQuery,
    after: Option<ClientCursor>,
    today: NaiveDate,
) -> Result<(Vec<u8>, Option<ClientCursor>), AppError> {
    let q = ClientListQuery {
        after,
        ..query.clone()
    };
    let page = super::list(db, viewer, &q, today).await?;
    let mut out = writer();
    for row in &page.rows {
        write_line(&mut out, &record(row))?;
    }
    Ok((bytes(out)?, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::{AlertKey, AlertKind, Contactability};

    #[test]
    fn the_alert_follows_the_name_and_formulas_stay_inert() {
        let row = ClientRow {
            id: 1,
            display_name: "=HYPERLINK(\"x\")".into(),
            document_number: "123".into(),
            advisor_name: Some("Asesor 1".into()),
            overdue_total_cents: 123_456,
            currency: "COP".into(),
            oldest_unpaid_due_date: NaiveDate::from_ymd_opt(2026, 9, 1),
            days_overdue: 83,
            pending_count: 0,
            last_activity_at: None,
            last_activity_local: None,
            last_channel: None,
            last_subject: String::new(),
            call_due_date: None,
            call_reason: None,
            alert_key: AlertKey::new(AlertKind::WontPay.bit(), Contactability::Contactable).0,
            contact_problems: 0,
        };
        let r = record(&row);
        assert_eq!(HEADER[1], "Alerta");
        assert_eq!(r[0], "'=HYPERLINK(\"x\")");
        assert_eq!(r[1], "No quiere pagar");
        assert_eq!(r[2], "Contactable");
        assert_eq!(r[6], "1.234,56");
        let mut out = writer();
        write_line(&mut out, &r).unwrap();
        let line = String::from_utf8(bytes(out).unwrap()).unwrap();
        assert!(line.starts_with("\"'=HYPERLINK(\"\"x\"\")\";No quiere pagar;Contactable;123;"));
        assert!(header()
            .unwrap()
            .starts_with("\u{feff}Cliente;Alerta;".as_bytes()));
    }
}
