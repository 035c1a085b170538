//! Search over many segments against one: the same random walks (length 256, seeded) stored as
//! one segment (one build) and as `S` segments (a build of the first `N/S` series, then `S − 1`
//! appends), queried with fresh walks and with stored walks plus noise; median latency and the
//! mean nodes visited and series verified per query, exact k-NN over the reconstructions,
//! Euclidean and DTW at a 10 % window, on all threads. The answers of the many-segment database
//! are checked against its brute force.
//!
//! ```sh
//! cargo run --release --example segments -- [SERIES] [SEGMENTS] [QUERIES]
//! ```

#[path = "../benches/data.rs"]
mod data;

use std::time::Instant;

use qabbadb::ingest::Dataset;
use qabbadb::{Database, Metric, Options, Query, Snapshot, Window};
use rand::{Rng, SeedableRng};

struct Row {
    median_ms: f64,
    nodes: f64,
    verified: f64,
}

fn run(snap: &Snapshot, qs: &[Vec<f64>], k: usize, metric: Metric, check: bool) -> Row {
    let mut times = Vec::new();
    let (mut nodes, mut verified) = (0u64, 0u64);
    for q in qs {
        let query = Query::knn(q, k).metric(metric);
        let t = Instant::now();
        let r = snap.search(&query).expect("search");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        nodes += r.stats.nodes_visited;
        verified += r.stats.verified;
        if check {
            let b = snap.search(&query.brute_force(true)).expect("brute force");
            let ids = |v: &[qabbadb::Neighbor]| v.iter().map(|n| n.id).collect::<Vec<_>>();
            assert_eq!(ids(&r.neighbors), ids(&b.neighbors), "index ≠ brute force");
        }
    }
    times.sort_by(f64::total_cmp);
    Row {
        median_ms: times[times.len() / 2],
        nodes: nodes as f64 / qs.len() as f64,
        verified: verified as f64 / qs.len() as f64,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| -> Result<usize, std::num::ParseIntError> {
        args.get(i).map_or(Ok(d), |s| s.parse())
    };
    let (n, segments, queries) = (arg(1, 100_000)?, arg(2, 10)?, arg(3, 50)?);
    let series = data::random_walks(n, 256, 7);
    let fresh = data::random_walks(queries, 256, 8);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let noisy: Vec<Vec<f64>> = (0..queries)
        .map(|i| {
            series[i * n / queries]
                .iter()
                .map(|v| v + rng.gen_range(-0.3..0.3))
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let opts = Options::default();
    let (one, _) = Database::build(
        &dir.path().join("one"),
        &Dataset::from_series(series.clone()),
        &opts,
    )?;
    let chunk = n.div_ceil(segments);
    let mut parts = series.chunks(chunk);
    let first = parts.next().ok_or("no series")?;
    let (many, _) = Database::build(
        &dir.path().join("many"),
        &Dataset::from_series(first.to_vec()),
        &opts,
    )?;
    for part in parts {
        many.append(&Dataset::from_series(part.to_vec()))?;
    }
    let (one, many) = (one.snapshot(), many.snapshot());
    println!(
        "{n} random walks × 256, {} threads; segments: {} and {}",
        rayon::current_num_threads(),
        one.info()?.segments.len(),
        many.info()?.segments.len()
    );
    println!("| queries | metric | k | one segment: ms | nodes | verified | {segments} segments: ms | nodes | verified | many ÷ one |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let dtw = Metric::Dtw {
        window: Window::Fraction(0.1),
    };
    for (kind, qs) in [("fresh", &fresh), ("noisy", &noisy)] {
        for (name, metric, k) in [
            ("euclidean", Metric::Euclidean, 1),
            ("euclidean", Metric::Euclidean, 10),
            ("dtw 10 %", dtw, 1),
        ] {
            // Warm: the first query decodes what the segments keep.
            run(&one, &qs[..1], k, metric, false);
            run(&many, &qs[..1], k, metric, false);
            let a = run(&one, qs, k, metric, false);
            let b = run(&many, qs, k, metric, false);
            println!(
                "| {kind} | {name} | {k} | {:.2} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
                a.median_ms,
                a.nodes,
                a.verified,
                b.median_ms,
                b.nodes,
                b.verified,
                b.median_ms / a.median_ms
            );
            run(&many, &qs[..qs.len().min(5)], k, metric, true);
        }
    }
    Ok(())
}
