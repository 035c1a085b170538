//! Seeded workloads shared by the benches (included with `#[path]`).

#![allow(dead_code)]

use rand::{Rng, SeedableRng};

/// `count` z-normalised random walks of length `n`, seeded.
pub fn random_walks(count: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut acc = 0.0f64;
            let w: Vec<f64> = (0..n)
                .map(|_| {
                    acc += rng.gen_range(-1.0..1.0);
                    acc
                })
                .collect();
            qabbadb::codec::Moments::of(&w).normalize(&w)
        })
        .collect()
}

/// ECG5000 (train) from the bundled UCR data, z-normalised.
pub fn ecg5000() -> Vec<Vec<f64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ucr/ECG5000/ECG5000_TRAIN.tsv"
    );
    let d = qabbadb::ingest::read(path.as_ref(), None).expect("bundled data");
    d.series
        .iter()
        .map(|s| qabbadb::codec::Moments::of(s).normalize(s))
        .collect()
}
