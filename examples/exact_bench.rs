//! Exactness over the originals: 1-NN latency of reconstruction-exact and original-exact search
//! beside brute force over the originals, and what the raw values cost, on an `.npy` matrix.
//! With a third argument `REL`, the database is also error-bounded at δ = REL × the mean
//! standard deviation of the series (`--max-error`), which tightens every series' ε.
//!
//! ```sh
//! cargo run --release --example exact_bench -- target/bench-search/100000/data.npy target/bench-search/100000/fresh.npy
//! cargo run --release --example exact_bench -- target/bench-search/100000/data.npy target/bench-search/100000/fresh.npy 0.05
//! ```

use std::time::Instant;

use qabbadb::{ingest, Database, Exactness, Metric, Options, Query, Window};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = ingest::read(args[1].as_ref(), None)?;
    let queries = ingest::read(args[2].as_ref(), None)?;
    let max_error = match args.get(3) {
        Some(rel) => {
            let sigma = data
                .series
                .iter()
                .map(|s| qabbadb::codec::Moments::of(s).std)
                .sum::<f64>()
                / data.len() as f64;
            let delta = rel.parse::<f64>()? * sigma;
            println!("error-bounded: δ = {rel} × mean σ = {delta:.4}");
            Some(delta)
        }
        None => None,
    };
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let (db, _) = Database::build(
        &dir.path().join("db"),
        &data,
        &Options::default().keep_raw(true).max_error(max_error),
    )?;
    let info = db.snapshot().info()?;
    let raw = info.sections.get("raw").copied().unwrap_or(0);
    let residuals = info.sections.get("residuals").copied().unwrap_or(0);
    println!(
        "{} series: build {:.1} s; file {:.2} bits/value of which raw values {:.2}, residuals {:.2} bits/value",
        data.len(),
        t.elapsed().as_secs_f64(),
        info.bits_per_point,
        raw as f64 * 8.0 / info.points as f64,
        residuals as f64 * 8.0 / info.points as f64
    );
    db.snapshot()
        .search(&Query::knn(&queries.series[0], 1).metric(Metric::Euclidean))?;
    for (name, metric, count) in [
        ("Euclidean", Metric::Euclidean, 50usize),
        (
            "DTW 10%",
            Metric::Dtw {
                window: Window::Fraction(0.1),
            },
            5,
        ),
    ] {
        let (mut rec, mut orig, mut brute, mut reads) = (Vec::new(), Vec::new(), Vec::new(), 0u64);
        for q in queries.series.iter().take(count) {
            let r = db.snapshot().search(
                &Query::knn(q, 1)
                    .metric(metric)
                    .exactness(Exactness::Reconstructed),
            )?;
            rec.push(r.stats.micros as f64 / 1e3);
            let o = db.snapshot().search(
                &Query::knn(q, 1)
                    .metric(metric)
                    .exactness(Exactness::Original),
            )?;
            orig.push(o.stats.micros as f64 / 1e3);
            reads += o.stats.raw_reads;
            let t = Instant::now();
            let b = db
                .snapshot()
                .search(
                    &Query::knn(q, 1)
                        .metric(metric)
                        .exactness(qabbadb::Exactness::Original)
                        .brute_force(true),
                )
                .map(|r| r.neighbors)?;
            brute.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(o.neighbors, b);
        }
        println!(
            "{name} 1-NN, {count} fresh queries: reconstruction-exact {:.2} ms, original-exact {:.2} ms ({:.1} raw reads a query), brute force over the originals {:.1} ms (medians)",
            median(rec),
            median(orig),
            reads as f64 / count as f64,
            median(brute)
        );
    }
    Ok(())
}
