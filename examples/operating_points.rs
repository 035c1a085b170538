//! Operating points of the codec for search: 1-NN classification of the fixed-length bundled
//! UCR datasets (test split against a database of the train split) over the reconstructions,
//! against the same over the originals, for several pairs of tolerance and error budget, with
//! the bits per value each costs (index excluded).
//!
//! ```sh
//! cargo run --release --example operating_points -- 0.2:0.5 0.2:0.1 0.4:0.02   # TOL:MAX_RMSE …
//! ```
//!
//! Each line: the dataset, the 1-NN accuracy over the originals (Euclidean / full-window DTW),
//! then per operating point the difference of the accuracies over the reconstructions from
//! those, the bits per value and the number of corrected series (FORMAT.md §4.12).

#[path = "common/ucr.rs"]
#[allow(dead_code)]
mod ucr;

use qabbadb::ingest;
use qabbadb::{Database, Exactness, Metric, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = ucr::FULL_DTW;
    let dir0 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ucr");
    let configs: Vec<(f64, f64)> = std::env::args()
        .skip(1)
        .map(|a| -> Result<(f64, f64), Box<dyn std::error::Error>> {
            let (t, m) = a
                .split_once(':')
                .ok_or("operating points are TOL:MAX_RMSE")?;
            Ok((t.parse()?, m.parse()?))
        })
        .collect::<Result<_, _>>()?;
    for &name in ucr::FIXED_LENGTH {
        let dir = dir0.join(name);
        let train = ingest::read(&dir.join(format!("{name}_TRAIN.tsv")), None)?;
        let test = ingest::read(&dir.join(format!("{name}_TEST.tsv")), None)?;
        let tmp = tempfile::tempdir()?;
        let (ed, dtw) = ucr::original_accuracies(&tmp.path().join("raw"), &train, &test)?;
        let mut line = format!("{name:18} orig {ed:.3}/{dtw:.3}");
        for (i, (t, m)) in configs.iter().enumerate() {
            let (db, _) = Database::build(
                &tmp.path().join(format!("c{i}")),
                &train,
                &Options::default().tol(*t).max_rmse(*m),
            )?;
            let info = db.snapshot().info()?;
            // Bits per value without the index.
            let idx = info.sections.get("index").copied().unwrap_or(0);
            let bits = (info.bytes - idx) as f64 * 8.0 / info.points as f64;
            let a = ucr::accuracy(&db, &test, Metric::Euclidean, Exactness::Reconstructed);
            let b = ucr::accuracy(&db, &test, full, Exactness::Reconstructed);
            line += &format!(
                " | {t}:{m} {:+.3}/{:+.3} {bits:.2}b c{}",
                a - ed,
                b - dtw,
                info.corrected_series
            );
        }
        println!("{line}");
    }
    Ok(())
}
