//! A portfolio file (CSV) → decoding → the import plan: any text gives a plan or a list of
//! errors, never a panic; a plan has each document once, each drawn from rows that exist.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recaudo::domain::import::plan;
use recaudo::server::import::decode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((headers, rows)) = decode(text) else {
        return;
    };
    let advisor = |cell: &str| -> Result<i64, String> {
        match cell.trim() {
            "7" | "asesor@demo.recaudo" => Ok(7),
            other => Err(format!("No hay un asesor «{other}»")),
        }
    };
    let Ok(planned) = plan(&headers, &rows, &advisor, 20) else {
        return;
    };
    let mut documents: Vec<&str> = planned
        .iter()
        .map(|p| p.client.document_number.as_str())
        .collect();
    documents.sort_unstable();
    let all = documents.len();
    documents.dedup();
    assert_eq!(documents.len(), all, "a document planned twice");
    for p in &planned {
        assert!(!p.rows.is_empty());
        // Row 1 is the header; data rows are numbered from 2.
        assert!(p.rows.iter().all(|r| (2..=rows.len() + 1).contains(r)));
        assert!(p.client.debts.len() <= 20);
    }
});
