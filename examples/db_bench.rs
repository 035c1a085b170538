//! Database operations: append throughput (series per second, batches of 1,000 and of 1) and
//! `get` latency (median, p99) on seeded random walks of length 256.
//!
//! ```sh
//! cargo run --release --example db_bench
//! ```

use std::time::Instant;

use qabbadb::ingest::Dataset;
use qabbadb::{Database, Options};
use rand::{Rng, SeedableRng};

fn walks(count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut acc = 0.0;
            (0..256)
                .map(|_| {
                    acc += rng.gen_range(-1.0..1.0);
                    acc
                })
                .collect()
        })
        .collect()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
}

fn main() -> qabbadb::Result<()> {
    let dir = tempfile::tempdir().map_err(|e| qabbadb::Error::Io {
        path: "tmp".into(),
        source: e,
    })?;
    let path = dir.path().join("db");
    let t = Instant::now();
    let (db, _) = Database::build(
        &path,
        &Dataset::from_series(walks(10_000, 1)),
        &Options::default(),
    )?;
    println!(
        "build 10,000 series: {:.2} s ({:.0} series/s)",
        t.elapsed().as_secs_f64(),
        10_000.0 / t.elapsed().as_secs_f64()
    );
    let batches = walks(10_000, 2);
    let t = Instant::now();
    for chunk in batches.chunks(1_000) {
        db.append(&Dataset::from_series(chunk.to_vec()))?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "append 10 batches of 1,000: {secs:.2} s ({:.0} series/s)",
        10_000.0 / secs
    );
    let singles = walks(200, 3);
    let t = Instant::now();
    for s in &singles {
        db.append(&Dataset::from_series(vec![s.clone()]))?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("append 200 single series: {secs:.2} s ({:.0} series/s, {:.2} ms each: one segment and one MANIFEST commit each)", 200.0 / secs, secs * 1e3 / 200.0);
    let ids = db.snapshot().ids()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let (median, p99) = get_latency(&db, &ids, &mut rng)?;
    println!(
        "get (random ids over {} series in {} segments): median {median:.1} µs, p99 {p99:.1} µs",
        ids.len(),
        db.snapshot().info()?.segments.len(),
    );
    let t = Instant::now();
    db.compact()?;
    println!("compact to one segment: {:.2} s", t.elapsed().as_secs_f64());
    let (median, p99) = get_latency(&db, &ids, &mut rng)?;
    println!("get after compaction: median {median:.1} µs, p99 {p99:.1} µs");
    Ok(())
}

/// Median and p99 of 20,000 `get`s of random ids, in microseconds.
fn get_latency(
    db: &Database,
    ids: &[qabbadb::SeriesId],
    rng: &mut rand_chacha::ChaCha8Rng,
) -> qabbadb::Result<(f64, f64)> {
    let mut lat = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let id = ids[rng.gen_range(0..ids.len())];
        let t = Instant::now();
        std::hint::black_box(db.snapshot().get(id)?);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok((pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99)))
}
