//! Build a database from a UCR file, then ask for the nearest stored series to a few queries.
//!
//! ```sh
//! cargo run --release --example build_and_query
//! ```

use qabbadb::{ingest, Database, Metric, Options, Query};

fn main() -> qabbadb::Result<()> {
    let data_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ucr/ECG200");
    let train = ingest::read(format!("{data_dir}/ECG200_TRAIN.tsv").as_ref(), None)?;
    let test = ingest::read(format!("{data_dir}/ECG200_TEST.tsv").as_ref(), None)?;

    let dir = tempfile::tempdir().map_err(|e| qabbadb::Error::Io {
        path: "tempdir".into(),
        source: e,
    })?;
    let (db, _) = Database::build(&dir.path().join("ecg200.qdb"), &train, &Options::default())?;
    let info = db.snapshot().info()?;
    println!(
        "{} series in {} bytes ({:.1}x smaller than float64)",
        info.series, info.bytes, info.ratio_vs_f64
    );

    // 1-NN classification of the test split: the label of the nearest stored heartbeat.
    let mut correct = 0;
    for (q, label) in test.series.iter().zip(&test.labels) {
        let r = db
            .snapshot()
            .search(&Query::knn(q, 1).metric(Metric::Euclidean))?;
        let nearest = r.neighbors[0].id;
        if db.snapshot().label(nearest)? == *label {
            correct += 1;
        }
    }
    println!(
        "1-NN accuracy over the reconstructions: {:.3}",
        correct as f64 / test.len() as f64
    );
    Ok(())
}
