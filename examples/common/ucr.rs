//! What the UCR examples share: the fixed-length bundled sets, 1-NN classification accuracy
//! over a database, and that accuracy over the original series.

use qabbadb::ingest::Dataset;
use qabbadb::{Database, Exactness, Metric, Options, Query, Window};
use rayon::prelude::*;

/// The bundled UCR sets whose series all have one length.
pub const FIXED_LENGTH: &[&str] = &[
    "ACSF1",
    "ArrowHead",
    "Beef",
    "CBF",
    "Coffee",
    "ECG200",
    "ECG5000",
    "GunPoint",
    "ItalyPowerDemand",
    "Lightning7",
    "OSULeaf",
    "Trace",
];

/// Full-window DTW.
pub const FULL_DTW: Metric = Metric::Dtw {
    window: Window::Fraction(1.0),
};

/// 1-NN accuracy of `test` against `train` over the original series (Euclidean, full-window
/// DTW), from a database that keeps them, built in `dir`.
pub fn original_accuracies(
    dir: &std::path::Path,
    train: &Dataset,
    test: &Dataset,
) -> qabbadb::Result<(f64, f64)> {
    let (db, _) = Database::build(dir, train, &Options::default().keep_raw(true))?;
    Ok((
        accuracy(&db, test, Metric::Euclidean, Exactness::Original),
        accuracy(&db, test, FULL_DTW, Exactness::Original),
    ))
}

/// Accuracy of 1-NN over `db` for the test split `test` (queries in parallel).
pub fn accuracy(db: &Database, test: &Dataset, metric: Metric, exactness: Exactness) -> f64 {
    let correct: usize = test
        .series
        .par_iter()
        .zip(&test.labels)
        .map(|(q, label)| {
            let r = db
                .snapshot()
                .search(&Query::knn(q, 1).metric(metric).exactness(exactness))
                .ok()?;
            let id = r.neighbors.first()?.id;
            (db.snapshot().label(id).ok()? == *label).then_some(1)
        })
        .map(|c| c.unwrap_or(0))
        .sum();
    correct as f64 / test.len() as f64
}
