//! The Interacciones download: the table's shown columns and filters, every row of the
//! period. Each kind of record is read from its own table in order, a chunk at a time,
//! and the kinds are merged newest first here, so every table is read once whatever the
//! mix, and memory holds one chunk per kind.

use std::collections::VecDeque;

use crate::domain::error::AppError;
use crate::domain::interactions::{Column, Cursor, InteractionQuery, InteractionRow, Kind};
use crate::domain::user::Viewer;
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::downloads::{self, Tracker};
use crate::server::tables::{self, Format};

use super::Reading;

/// Rows read per query, and per chunk of a download.
pub const CHUNK_ROWS: usize = 1_000;

/// The header cells of the shown columns.
pub fn header(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.label().to_string()).collect()
}

/// One kind's rows read ahead, and where its table resumes.
struct Queue {
    kind: Kind,
    rows: VecDeque<InteractionRow>,
    after: Option<Cursor>,
    done: bool,
}

/// A download in progress.
pub struct Export {
    db: Db,
    /// Rows per read and per chunk.
    chunk: usize,
    reading: Reading,
    queues: Vec<Queue>,
    columns: Vec<Column>,
}

impl Export {
    /// Checks the query; `chunk` rows are read at a time ([`CHUNK_ROWS`] for a download).
    /// On SQLite the download reads through a connection of its own
    /// ([`Db::long_reader`]), so the pool's page caches stay out of it.
    pub async fn open(
        db: &Db,
        viewer: &Viewer,
        query: &InteractionQuery,
        clock: Clock,
        chunk: usize,
    ) -> Result<Export, AppError> {
        let reading = Reading::new(db, viewer, query, clock, chunk).await?;
        let queues = reading
            .kinds()
            .into_iter()
            .map(|kind| Queue {
                kind,
                rows: VecDeque::new(),
                after: None,
                done: false,
            })
            .collect();
        Ok(Export {
            db: db.long_reader().await?,
            chunk,
            reading,
            queues,
            columns: query.shown_columns(),
        })
    }

    pub fn header(&self) -> Vec<String> {
        header(&self.columns)
    }

    /// The next rows, newest first: a chunk of them, fewer only at the end.
    pub async fn next_rows(&mut self) -> Result<Vec<InteractionRow>, AppError> {
        let mut out = Vec::with_capacity(self.chunk);
        while out.len() < self.chunk {
            for q in self
                .queues
                .iter_mut()
                .filter(|q| q.rows.is_empty() && !q.done)
            {
                let rows = self.reading.read(&self.db, &[q.kind], q.after).await?;
                q.done = rows.len() < self.chunk;
                q.after = rows.last().map(InteractionRow::cursor).or(q.after);
                q.rows.extend(rows);
            }
            let newest = self
                .queues
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.rows.front().map(|r| (r.cursor(), i)))
                .max_by_key(|(c, _)| (c.at, c.kind.rank(), c.id));
            match newest.and_then(|(_, i)| self.queues[i].rows.pop_front()) {
                Some(row) => out.push(row),
                None => break,
            }
        }
        Ok(out)
    }

    /// The next rows as the shown columns' cells.
    pub async fn next_cells(&mut self) -> Result<Vec<Vec<String>>, AppError> {
        let rows = self.next_rows().await?;
        Ok(rows.iter().map(|r| r.cells(&self.columns)).collect())
    }
}

/// The whole download as a byte stream. The query is checked and the first chunk read
/// before it returns, so a bad query is an error here rather than a cut-off file.
#[tracing::instrument(skip_all)]
pub async fn stream(
    db: &Db,
    viewer: &Viewer,
    query: &InteractionQuery,
    clock: Clock,
    format: Format,
    tracker: Option<Tracker>,
) -> Result<impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static, AppError> {
    let mut export = Export::open(db, viewer, query, clock, CHUNK_ROWS).await?;
    if let Some(t) = &tracker {
        let (db, reading) = (db.clone(), export.reading.clone());
        downloads::count_beside(t, async move { reading.count(&db).await });
    }
    let first = export.next_cells().await?;
    let header = export.header();
    let more = (first.len() == CHUNK_ROWS).then_some(export);
    tables::stream(
        format,
        &header,
        (first, more),
        |mut export: Export| async move {
            let cells = export.next_cells().await?;
            let more = cells.len() == CHUNK_ROWS;
            Ok((cells, more.then_some(export)))
        },
        tracker,
    )
}
