//! The Clientes report: the clients list with the same scope, search, order and filters as
//! the screen, every page of it, amounts as "1.234,56", the Alerta column after the name.

use chrono::NaiveDate;

use crate::domain::error::AppError;
use crate::domain::listing::{ClientCursor, ClientListQuery, ClientRow};
use crate::domain::money::format_cents;
use crate::domain::user::Viewer;
use crate::server::db::Db;
use crate::server::downloads::Tracker;
use crate::server::tables::{self, Format};

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

/// One client's line, in [`HEADER`]'s order.
pub fn record(row: &ClientRow) -> Vec<String> {
    let alerts: Vec<String> = row.flags().into_iter().map(|f| f.hover).collect();
    vec![
        row.display_name.clone(),
        alerts.join(" | "),
        row.alerts().contactability().label().to_string(),
        row.document_number.clone(),
        row.advisor_name.clone().unwrap_or_default(),
        row.currency.clone(),
        format_cents(row.overdue_total_cents),
        row.days_overdue.to_string(),
        row.oldest_unpaid_due_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
    ]
}

/// The header line's cells.
pub fn header() -> Vec<String> {
    HEADER.iter().map(|h| h.to_string()).collect()
}

/// One page of the export and where the next one starts.
#[tracing::instrument(skip_all)]
pub async fn chunk(
    db: &Db,
    viewer: &Viewer,
    query: &ClientListQuery,
    after: Option<ClientCursor>,
    today: NaiveDate,
) -> Result<(Vec<Vec<String>>, Option<ClientCursor>), AppError> {
    let q = ClientListQuery {
        after,
        ..query.clone()
    };
    let page = super::list(db, viewer, &q, today).await?;
    Ok((page.rows.iter().map(record).collect(), page.next))
}

/// The whole report as a byte stream. The first page is read before it returns, so a
/// bad query is an error here rather than a cut-off file.
#[tracing::instrument(skip_all)]
pub async fn stream(
    db: &Db,
    viewer: &Viewer,
    query: &ClientListQuery,
    today: NaiveDate,
    format: Format,
    tracker: Option<Tracker>,
) -> Result<impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static, AppError> {
    let first = chunk(db, viewer, query, None, today).await?;
    let (db, viewer, query) = (db.clone(), viewer.clone(), query.clone());
    tables::stream(
        format,
        &header(),
        first,
        move |at| {
            let (db, viewer, query) = (db.clone(), viewer.clone(), query.clone());
            async move { chunk(&db, &viewer, &query, Some(at), today).await }
        },
        tracker,
    )
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
            call_blocked: None,
        };
        let r = record(&row);
        assert_eq!(HEADER[1], "Alerta");
        assert_eq!(r[0], "=HYPERLINK(\"x\")");
        assert_eq!(r[1], "No quiere pagar");
        assert_eq!(r[2], "Contactable");
        assert_eq!(r[6], "1.234,56");
        let mut csv = crate::server::tables::Encoder::new(crate::server::tables::Format::Csv);
        let mut text = csv.start(&header()).unwrap();
        text.extend(csv.rows(&[r]).unwrap());
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("\u{feff}Cliente;Alerta;"));
        assert!(text.contains("\n\"'=HYPERLINK(\"\"x\"\")\";No quiere pagar;Contactable;123;"));
    }
}
