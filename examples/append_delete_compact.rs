//! A database over time: append batches, delete series, compact, and read a snapshot while the
//! writer changes the database.
//!
//! ```sh
//! cargo run --release --example append_delete_compact
//! ```

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Options};

fn main() -> qabbadb::Result<()> {
    let data_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ucr/GunPoint");
    let train = ingest::read(format!("{data_dir}/GunPoint_TRAIN.tsv").as_ref(), None)?;
    let test = ingest::read(format!("{data_dir}/GunPoint_TEST.tsv").as_ref(), None)?;
    let dir = tempfile::tempdir().map_err(|e| qabbadb::Error::Io {
        path: "tempdir".into(),
        source: e,
    })?;
    let path = dir.path().join("gunpoint.qdb");

    let (db, _) = Database::build(&path, &train, &Options::default().keep_raw(true))?;
    let before = db.snapshot();
    for chunk in test.series.chunks(50).zip(test.labels.chunks(50)) {
        let r = db.append(&Dataset {
            series: chunk.0.to_vec(),
            labels: chunk.1.to_vec(),
        })?;
        if let (Some(first), Some(last)) = (r.ids.first(), r.ids.last()) {
            println!("appended ids {first}..={last}");
        }
    }
    println!("deleted {} series", db.delete(&[0, 1, 2, 120])?.deleted);
    println!(
        "the snapshot taken before still sees {} series; the database now {}",
        before.len(),
        db.snapshot().len()
    );
    db.compact()?;
    let info = db.snapshot().info()?;
    println!(
        "after compaction: {} segment(s), {} live series, {} deleted",
        info.segments.len(),
        info.series,
        info.deleted
    );
    // The original values are kept bit for bit.
    assert_eq!(db.snapshot().get_raw(60)?, test.series[10]);
    assert!(Database::verify(&path).is_empty());
    Ok(())
}
