//! Tabular downloads, CSV or XLSX, written a chunk at a time: each call returns the
//! bytes ready to send, so a report of any length is streamed in constant memory.

use std::io::Write;
use std::sync::{Arc, Mutex};

use zip::write::SimpleFileOptions;
use zip::write::StreamWriter;
use zip::{CompressionMethod, ZipWriter};

use crate::domain::error::AppError;
use crate::server::downloads::Tracker;

/// The download formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// From the `formato` parameter; CSV when absent.
    pub fn parse(s: Option<&str>) -> Result<Format, AppError> {
        match s.map(str::trim) {
            None | Some("") | Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(other) => Err(AppError::invalid(
                "formato",
                format!("«{other}» no es un formato de descarga: elija csv o xlsx."),
            )),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

fn internal(what: &'static str) -> impl Fn(std::io::Error) -> AppError {
    move |e| AppError::internal(format!("table download, {what}: {e}"))
}

/// A cell a spreadsheet would run as a formula is prefixed with an apostrophe.
pub fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Writes one table: [`Encoder::start`] with the header, [`Encoder::rows`] per chunk,
/// [`Encoder::finish`] once. Every call returns the bytes to send next.
pub enum Encoder {
    Csv,
    Xlsx(Box<Xlsx>),
}

impl Encoder {
    pub fn new(format: Format) -> Encoder {
        match format {
            Format::Csv => Encoder::Csv,
            Format::Xlsx => Encoder::Xlsx(Box::new(Xlsx::new())),
        }
    }

    pub fn start(&mut self, header: &[String]) -> Result<Vec<u8>, AppError> {
        match self {
            Encoder::Csv => {
                // The byte-order mark makes spreadsheets read the file as UTF-8.
                let mut out = "\u{feff}".as_bytes().to_vec();
                out.extend(csv_lines(std::iter::once(header))?);
                Ok(out)
            }
            Encoder::Xlsx(x) => x.start(header),
        }
    }

    pub fn rows(&mut self, rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
        match self {
            Encoder::Csv => csv_lines(rows.iter().map(Vec::as_slice)),
            Encoder::Xlsx(x) => x.rows(rows),
        }
    }

    pub fn finish(&mut self) -> Result<Vec<u8>, AppError> {
        match self {
            Encoder::Csv => Ok(Vec::new()),
            Encoder::Xlsx(x) => x.finish(),
        }
    }
}

/// Lines in the dialect of the import template: ";" between fields, as spreadsheets in
/// Spanish expect, with formulas made inert.
fn csv_lines<'a>(rows: impl Iterator<Item = &'a [String]>) -> Result<Vec<u8>, AppError> {
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    for row in rows {
        out.write_record(row.iter().map(|c| inert(c)))
            .map_err(|e| internal("csv")(e.into()))?;
    }
    out.into_inner()
        .map_err(|e| internal("csv flush")(e.into_error()))
}

/// Bytes the zip writer has produced and not yet handed out.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("sink poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An Office Open XML workbook of one sheet, deflated and written as a streamed zip
/// (sizes in data descriptors), so nothing is held back but the compressor's window.
pub struct Xlsx {
    sink: Sink,
    zip: Option<ZipWriter<StreamWriter<Sink>>>,
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Reporte" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
/// Two cell formats: plain, and bold for the header.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs></styleSheet>"#;
const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>"#;
const SHEET_END: &str = "</sheetData></worksheet>";

/// Text as XML character data: escaped, and without the control characters XML 1.0
/// cannot hold at all.
fn xml_text(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

fn xml_row(cells: &[String], style: Option<u8>, out: &mut String) {
    out.push_str("<row>");
    for cell in cells {
        match style {
            Some(s) => out.push_str(&format!(
                "<c t=\"inlineStr\" s=\"{s}\"><is><t xml:space=\"preserve\">"
            )),
            None => out.push_str("<c t=\"inlineStr\"><is><t xml:space=\"preserve\">"),
        }
        xml_text(cell, out);
        out.push_str("</t></is></c>");
    }
    out.push_str("</row>");
}

impl Xlsx {
    fn new() -> Xlsx {
        let sink = Sink::default();
        Xlsx {
            zip: Some(ZipWriter::new_stream(sink.clone())),
            sink,
        }
    }

    fn zip(&mut self) -> Result<&mut ZipWriter<StreamWriter<Sink>>, AppError> {
        self.zip
            .as_mut()
            .ok_or_else(|| AppError::internal("xlsx written after it was finished"))
    }

    fn start(&mut self, header: &[String]) -> Result<Vec<u8>, AppError> {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        let zip_error = |e: zip::result::ZipError| internal("xlsx")(std::io::Error::other(e));
        let zip = self.zip()?;
        for (name, body) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ] {
            zip.start_file(name, options).map_err(zip_error)?;
            zip.write_all(body.as_bytes())
                .map_err(internal("xlsx part"))?;
        }
        // The sheet is the last entry: its rows follow as they come.
        zip.start_file("xl/worksheets/sheet1.xml", options)
            .map_err(zip_error)?;
        let mut xml = String::from(SHEET_START);
        xml_row(header, Some(1), &mut xml);
        zip.write_all(xml.as_bytes())
            .map_err(internal("xlsx header"))?;
        Ok(self.sink.take())
    }

    fn rows(&mut self, rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
        let mut xml = String::new();
        for row in rows {
            xml_row(row, None, &mut xml);
        }
        self.zip()?
            .write_all(xml.as_bytes())
            .map_err(internal("xlsx rows"))?;
        Ok(self.sink.take())
    }

    fn finish(&mut self) -> Result<Vec<u8>, AppError> {
        let mut zip = self
            .zip
            .take()
            .ok_or_else(|| AppError::internal("xlsx finished twice"))?;
        zip.write_all(SHEET_END.as_bytes())
            .map_err(internal("xlsx end"))?;
        zip.finish()
            .map_err(|e| internal("xlsx finish")(std::io::Error::other(e)))?;
        Ok(self.sink.take())
    }
}

/// The whole download as a stream of byte chunks: the header and `first`, then the
/// chunk `next` reads from each cursor until there is none, then the end. A failure
/// midway ends the stream with an error, so the download is cut short rather than
/// passing for a complete file. The `tracker`, if the page follows this download,
/// hears of every chunk, of the end and of a failure.
pub fn stream<C, F, Fut>(
    format: Format,
    header: &[String],
    first: (Vec<Vec<String>>, Option<C>),
    next: F,
    tracker: Option<Tracker>,
) -> Result<impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static, AppError>
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(Vec<Vec<String>>, Option<C>), AppError>> + Send,
{
    enum Step<C> {
        Read(C),
        Finish,
        Done,
    }
    let io = |e: AppError| std::io::Error::other(e.to_string());
    let mut encoder = Encoder::new(format);
    let mut head = encoder.start(header)?;
    head.extend(encoder.rows(&first.0)?);
    let mut tracker = tracker;
    if let Some(t) = &mut tracker {
        t.count(first.0.len(), head.len());
    }
    let step = first.1.map_or(Step::Finish, Step::Read);
    let rest = futures::stream::unfold(
        (encoder, step, next, tracker),
        move |(mut encoder, step, next, mut tracker)| async move {
            match step {
                Step::Done => None,
                Step::Finish => {
                    let end = encoder.finish().map_err(io);
                    if let Some(mut t) = tracker.take() {
                        match &end {
                            Ok(bytes) => {
                                t.count(0, bytes.len());
                                t.done().await
                            }
                            Err(e) => t.failed(&e.to_string()).await,
                        }
                    }
                    Some((end, (encoder, Step::Done, next, None)))
                }
                Step::Read(cursor) => {
                    let read = next(cursor).await;
                    let (bytes, step) = match read {
                        Ok((rows, more)) => {
                            let bytes = encoder.rows(&rows).map_err(io);
                            if let (Some(t), Ok(b)) = (&mut tracker, &bytes) {
                                t.count(rows.len(), b.len());
                                t.report().await;
                            }
                            let step = match (&bytes, more) {
                                (Err(_), _) => Step::Done,
                                (Ok(_), Some(c)) => Step::Read(c),
                                (Ok(_), None) => Step::Finish,
                            };
                            (bytes, step)
                        }
                        Err(e) => (Err(io(e)), Step::Done),
                    };
                    let tracker = match (&bytes, tracker) {
                        (Err(e), Some(t)) => {
                            t.failed(&e.to_string()).await;
                            None
                        }
                        (_, tracker) => tracker,
                    };
                    Some((bytes, (encoder, step, next, tracker)))
                }
            }
        },
    );
    Ok(futures::StreamExt::chain(
        futures::stream::once(async move { Ok(head) }),
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn table() -> (Vec<String>, Vec<Vec<String>>) {
        (
            vec!["Cliente".into(), "Notas".into()],
            vec![
                vec!["Ana Pérez".into(), "Dijo: \"pago <mañana> & listo\"".into()],
                vec!["=1+1".into(), "bell\u{7}".into()],
            ],
        )
    }

    fn write(format: Format) -> Vec<u8> {
        let (header, rows) = table();
        let mut e = Encoder::new(format);
        let mut out = e.start(&header).unwrap();
        for r in &rows {
            out.extend(e.rows(std::slice::from_ref(r)).unwrap());
        }
        out.extend(e.finish().unwrap());
        out
    }

    #[test]
    fn csv_starts_with_a_byte_order_mark_and_keeps_formulas_inert() {
        let text = String::from_utf8(write(Format::Csv)).unwrap();
        assert_eq!(
            text,
            "\u{feff}Cliente;Notas\nAna Pérez;\"Dijo: \"\"pago <mañana> & listo\"\"\"\n'=1+1;bell\u{7}\n"
        );
    }

    #[test]
    fn xlsx_is_a_workbook_whose_sheet_holds_every_cell() {
        let bytes = write(Format::Xlsx);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let names: Vec<String> = archive.file_names().map(String::from).collect();
        for part in [
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        ] {
            assert!(names.iter().any(|n| n == part), "{part} in {names:?}");
        }
        let mut sheet = String::new();
        archive
            .by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        assert!(sheet.contains(">Ana Pérez<"), "{sheet}");
        assert!(sheet.contains("Dijo: &quot;pago &lt;mañana&gt; &amp; listo&quot;"));
        assert!(sheet.contains(">=1+1<"), "a string cell is never a formula");
        assert!(sheet.contains(">bell<"), "control characters are dropped");
        assert_eq!(sheet.matches("<row>").count(), 3);
        assert!(sheet.ends_with("</sheetData></worksheet>"));
    }

    #[test]
    fn an_unknown_format_is_refused_in_spanish() {
        assert_eq!(Format::parse(None).unwrap(), Format::Csv);
        assert_eq!(Format::parse(Some("xlsx")).unwrap(), Format::Xlsx);
        let e = Format::parse(Some("pdf")).unwrap_err();
        assert!(e.to_string().contains("«pdf»") || format!("{e:?}").contains("«pdf»"));
    }
}
