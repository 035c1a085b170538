//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// Path of a bundled UCR file, e.g. `ucr("GunPoint", "TRAIN")`.
pub fn ucr(name: &str, split: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/ucr/{name}/{name}_{split}.tsv"))
}

/// The datasets bundled in tests/data/ucr.
pub const DATASETS: &[&str] = &[
    "ACSF1",
    "ArrowHead",
    "Beef",
    "CBF",
    "Coffee",
    "ECG200",
    "ECG5000",
    "GesturePebbleZ1",
    "GunPoint",
    "ItalyPowerDemand",
    "Lightning7",
    "OSULeaf",
    "PLAID",
    "Trace",
];

/// Runs the `qabbadb` binary; returns (exit code, stdout, stderr).
pub fn qabbadb(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
        .args(args)
        .output()
        .expect("the qabbadb binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one segment file of a freshly built database directory.
pub fn segment_file(db: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(db)
        .expect("database directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "qseg"))
        .collect();
    assert_eq!(segs.len(), 1, "one segment expected in {}", db.display());
    segs.pop().unwrap()
}

/// A seeded random walk of `n` steps uniform in [-1, 1).
pub fn walk(seed: u64, n: usize) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut acc = 0.0;
    (0..n)
        .map(|_| {
            acc += rng.gen_range(-1.0..1.0);
            acc
        })
        .collect()
}

/// Opens the database in `dir` for writing once its lock is free. Dropping a writer releases
/// its lock at once, but the tests run beside others that start child processes, and a child
/// holds a copy of every open descriptor from its fork until its exec (where they close):
/// a lock dropped in that window stays held for that long.
pub fn open_when_free(dir: &Path) -> qabbadb::Database {
    let start = std::time::Instant::now();
    loop {
        match qabbadb::Database::open(dir) {
            Err(qabbadb::Error::Locked(_)) if start.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => return other.unwrap(),
        }
    }
}
