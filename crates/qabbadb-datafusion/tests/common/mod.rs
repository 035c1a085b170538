//! What the SQL and the distributed tests share: the data, SQL literals, reading answers.

use std::path::Path;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use qabbadb::ingest::Dataset;

/// GunPoint, train then test: 200 labelled series of length 150.
pub fn gunpoint() -> Dataset {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ucr/GunPoint");
    let mut d =
        qabbadb::ingest::read(&root.join("GunPoint_TRAIN.tsv"), None).expect("GunPoint train");
    let t = qabbadb::ingest::read(&root.join("GunPoint_TEST.tsv"), None).expect("GunPoint test");
    d.series.extend(t.series);
    d.labels.extend(t.labels);
    d
}

/// `x` as a SQL array literal (every value exactly, in Rust's shortest round-trip form).
pub fn sql_array(x: &[f64]) -> String {
    let items: Vec<String> = x.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// (merged id, distance, rank) of a `knn` answer's `id, distance, rank, shard` columns.
pub fn answers(batches: &[RecordBatch], offsets: &[u64]) -> Vec<(u64, f64, u32)> {
    let mut out = Vec::new();
    for b in batches {
        let id = b
            .column_by_name("id")
            .expect("id")
            .as_primitive::<UInt64Type>();
        let d = b
            .column_by_name("distance")
            .expect("distance")
            .as_primitive::<Float64Type>();
        let rank = b
            .column_by_name("rank")
            .expect("rank")
            .as_primitive::<UInt32Type>();
        let shard = b
            .column_by_name("shard")
            .expect("shard")
            .as_primitive::<UInt32Type>();
        for i in 0..b.num_rows() {
            out.push((
                offsets[shard.value(i) as usize] + id.value(i),
                d.value(i),
                rank.value(i),
            ));
        }
    }
    out
}

/// (shard, id) of every answer row, in order.
pub fn shard_ids(batches: &[RecordBatch]) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    for b in batches {
        let id = b
            .column_by_name("id")
            .expect("id")
            .as_primitive::<UInt64Type>();
        let shard = b
            .column_by_name("shard")
            .expect("shard")
            .as_primitive::<UInt32Type>();
        out.extend((0..b.num_rows()).map(|i| (shard.value(i), id.value(i))));
    }
    out
}

/// z-normalised with the population σ (all zeros when constant): what search compares.
pub fn znorm(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt();
    x.iter()
        .map(|v| if s > 0.0 { (v - m) / s } else { 0.0 })
        .collect()
}
