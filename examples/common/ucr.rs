//! What the UCR examples share: 1-NN classification accuracy over a database.

use qabbadb::ingest::Dataset;
use qabbadb::{Database, Exactness, Metric, Query};
use rayon::prelude::*;

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
