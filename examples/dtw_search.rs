//! Exact DTW search with a Sakoe-Chiba window, and what the lower bounds saved.
//!
//! ```sh
//! cargo run --release --example dtw_search
//! ```

use qabbadb::{ingest, Database, Metric, Options, Query, Window};

fn main() -> qabbadb::Result<()> {
    let data_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ucr/CBF");
    let data = ingest::read(format!("{data_dir}/CBF_TEST.tsv").as_ref(), None)?;
    let dir = tempfile::tempdir().map_err(|e| qabbadb::Error::Io {
        path: "tempdir".into(),
        source: e,
    })?;
    let (db, _) = Database::build(&dir.path().join("cbf.qdb"), &data, &Options::default())?;

    let query = &data.series[10];
    for window in [
        Window::Fraction(0.05),
        Window::Fraction(0.1),
        Window::Points(3),
    ] {
        let r = db
            .snapshot()
            .search(&Query::knn(query, 3).metric(Metric::Dtw { window }))?;
        let ids: Vec<u64> = r.neighbors.iter().map(|n| n.id.0).collect();
        println!(
            "{window:?}: neighbours {ids:?}, DTW computed for {} of {} series, {} µs",
            r.stats.verified, r.stats.candidates, r.stats.micros
        );
        // Exact: the same answer as computing DTW against every stored series.
        assert_eq!(
            r.neighbors,
            db.snapshot()
                .search(
                    &Query::knn(query, 3)
                        .metric(Metric::Dtw { window })
                        .brute_force(true)
                )
                .map(|r| r.neighbors)?
        );
    }
    Ok(())
}
