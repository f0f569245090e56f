//! The Interacciones download: the table's shown columns and filters, every page of it.

use chrono_tz::Tz;

use crate::domain::error::AppError;
use crate::domain::interactions::{Column, Cursor, InteractionQuery};
use crate::domain::user::Viewer;
use crate::server::db::Db;
use crate::server::tables::{self, Format};

use super::Reading;

/// Rows read per chunk of a download.
pub const CHUNK_ROWS: usize = 1_000;

/// The header cells of the shown columns.
pub fn header(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.label().to_string()).collect()
}

/// One chunk of the download, as cells, and where the next one starts.
pub async fn chunk(
    db: &Db,
    viewer: &Viewer,
    query: &InteractionQuery,
    tz: Tz,
    today: chrono::NaiveDate,
    after: Option<Cursor>,
) -> Result<(Vec<Vec<String>>, Option<Cursor>), AppError> {
    let reading = Reading::new(db, viewer, query, tz, today, CHUNK_ROWS).await?;
    let page = reading.page(db, after).await?;
    let columns = query.shown_columns();
    Ok((
        page.rows.iter().map(|r| r.cells(&columns)).collect(),
        page.next,
    ))
}

/// The whole download as a byte stream. The first chunk is read before it returns, so a
/// bad query is an error here rather than a cut-off file.
pub async fn stream(
    db: &Db,
    viewer: &Viewer,
    query: &InteractionQuery,
    tz: Tz,
    today: chrono::NaiveDate,
    format: Format,
) -> Result<impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static, AppError> {
    let first = chunk(db, viewer, query, tz, today, None).await?;
    let (db, viewer, query) = (db.clone(), viewer.clone(), query.clone());
    tables::stream(format, &header(&query.shown_columns()), first, move |at| {
        let (db, viewer, query) = (db.clone(), viewer.clone(), query.clone());
        async move { chunk(&db, &viewer, &query, tz, today, Some(at)).await }
    })
}
