//! 1-NN classification of the bundled UCR datasets: the test split queried against a database
//! of the train split, with exact answers over the original series (Euclidean and full-window
//! DTW) beside the accuracies the UCR archive publishes, and with answers over the
//! reconstructions at several tolerances and error bounds.
//!
//! ```sh
//! cargo run --release --example ucr_1nn                 # every bundled dataset, markdown table
//! cargo run --release --example ucr_1nn -- GunPoint CBF # some of them
//! ```
//!
//! The published figures are the error rates of the archive's `DataSummary.csv` (Dau et al.,
//! "The UCR Time Series Archive", 2019; columns `ED (w=0)` and `DTW (w=100)`), kept in
//! `tests/data/ucr/published_1nn.csv`; accuracy = 1 − error rate.

use std::time::Instant;

#[path = "common/ucr.rs"]
#[allow(dead_code)]
mod ucr;

use qabbadb::ingest;
use qabbadb::{Database, Exactness, Metric, Options, Window};

const TOLS: [f64; 4] = [0.05, 0.1, 0.2, 0.4];
/// Error bounds of the error-bounded columns (the series are z-normalised: units of σ).
const DELTAS: [f64; 2] = [0.01, 0.05];

fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ucr")
}

/// (name, published ED accuracy, published full-window DTW accuracy).
fn published() -> Vec<(String, f64, f64)> {
    let text = std::fs::read_to_string(data_dir().join("published_1nn.csv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("dataset"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                1.0 - f.get(1)?.parse::<f64>().ok()?,
                1.0 - f.get(2)?.parse::<f64>().ok()?,
            ))
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let full = Metric::Dtw {
        window: Window::Fraction(1.0),
    };
    println!(
        "| dataset | train | test | ED published | ED original-exact | DTW published | DTW original-exact | {} | match (3 decimals) | seconds |",
        TOLS.map(|t| format!("ED / DTW at tol {t} (bits/value)"))
            .into_iter()
            .chain(DELTAS.map(|d| format!("ED / DTW at max-error {d} (bits/value)")))
            .collect::<Vec<_>>()
            .join(" | "),
    );
    println!(
        "|---|---:|---:|---:|---:|---:|---:|{}---|---:|",
        "---:|".repeat(TOLS.len() + DELTAS.len())
    );
    for (name, ed_pub, dtw_pub) in published() {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        let t = Instant::now();
        let dir = data_dir().join(&name);
        let train = ingest::read(&dir.join(format!("{name}_TRAIN.tsv")), None);
        let test = ingest::read(&dir.join(format!("{name}_TEST.tsv")), None);
        let (train, test) = match (train, test) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("{name}: {e}");
                let why = if e.to_string().contains("NaN") {
                    "not read: missing values"
                } else {
                    "not read"
                };
                println!(
                    "| {name} | | | {ed_pub:.4} | – | {dtw_pub:.4} | – | {}{why} | |",
                    "– | ".repeat(TOLS.len() + DELTAS.len())
                );
                continue;
            }
        };
        let tmp = tempfile::tempdir()?;
        let (ed, dtw) = ucr::original_accuracies(&tmp.path().join("raw"), &train, &test)?;
        let mut cells = Vec::new();
        let configs = TOLS
            .map(|t| (format!("t{t}"), Options::default().tol(t)))
            .into_iter()
            .chain(DELTAS.map(|d| (format!("d{d}"), Options::default().max_error(Some(d)))));
        for (dirname, options) in configs {
            let (db, _) = Database::build(&tmp.path().join(dirname), &train, &options)?;
            let bits = db.snapshot().info()?.bits_per_point;
            cells.push(format!(
                "{:.4} / {:.4} ({bits:.2})",
                ucr::accuracy(&db, &test, Metric::Euclidean, Exactness::Reconstructed),
                ucr::accuracy(&db, &test, full, Exactness::Reconstructed)
            ));
        }
        let r3 = |x: f64| (x * 1000.0).round() as i64;
        let same = |a: f64, b: f64| if r3(a) == r3(b) { "yes" } else { "NO" };
        let lens: std::collections::BTreeSet<usize> = train.series.iter().map(Vec::len).collect();
        let note = if lens.len() > 1 {
            " (variable length: only series of the query's length are candidates)"
        } else {
            ""
        };
        println!(
            "| {name} | {} | {} | {ed_pub:.4} | {ed:.4} | {dtw_pub:.4} | {dtw:.4} | {} | ED {}, DTW {}{note} | {:.1} |",
            train.len(),
            test.len(),
            cells.join(" | "),
            same(ed, ed_pub),
            same(dtw, dtw_pub),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
