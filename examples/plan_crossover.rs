//! Where the scan plan stops paying: median query time of [`Plan::Index`] against
//! [`Plan::Scan`] on random walks of length 256 (uniform steps, seeded), one database per size,
//! keep-raw with residuals bounding every value within 1 % of σ, queries fresh walks and stored
//! walks plus noise, exact 1-NN over the reconstructions and over the originals, Euclidean and
//! DTW (10 % window), one thread. Answers are checked equal between the plans.
//!
//! ```sh
//! cargo run --release --example plan_crossover -- [SIZES] [QUERIES]
//! ```
//!
//! `SIZES` is a comma-separated list of series counts (default `500,1000,2000,4000,8000,16000`).

use std::time::Instant;

use qabbadb::ingest::Dataset;
use qabbadb::{Database, Exactness, Metric, Options, Plan, Query, Window};
use rand::{Rng, SeedableRng};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn walk(rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
    let mut acc = 0.0;
    (0..256)
        .map(|_| {
            acc += rng.gen_range(-1.0..1.0);
            acc
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .get(1)
        .map_or("500,1000,2000,4000,8000,16000", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let queries: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(40);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    println!("| series | metric | exact over | queries | index (median ms) | scan (median ms) | index ÷ scan |");
    println!("|---:|---|---|---|---:|---:|---:|");
    for &n in &sizes {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
        let series: Vec<Vec<f64>> = (0..n).map(|_| walk(&mut rng)).collect();
        let fresh: Vec<Vec<f64>> = (0..queries).map(|_| walk(&mut rng)).collect();
        let noisy: Vec<Vec<f64>> = (0..queries)
            .map(|i| {
                series[i * n / queries]
                    .iter()
                    .map(|v| v + rng.gen_range(-0.3..0.3))
                    .collect()
            })
            .collect();
        let dir = tempfile::tempdir()?;
        let opts = Options::default().keep_raw(true).max_error(Some(0.01));
        let (db, _) = Database::build(&dir.path().join("w"), &Dataset::from_series(series), &opts)?;
        let snap = db.snapshot();
        for metric in [
            Metric::Euclidean,
            Metric::Dtw {
                window: Window::Fraction(0.1),
            },
        ] {
            for exactness in [Exactness::Reconstructed, Exactness::Original] {
                for (kind, qs) in [("fresh", &fresh), ("noisy", &noisy)] {
                    let mut times = [Vec::new(), Vec::new()];
                    for q in qs.iter() {
                        let mut answers = Vec::new();
                        for (p, plan) in [Plan::Index, Plan::Scan].into_iter().enumerate() {
                            let query = Query::knn(q, 1)
                                .metric(metric)
                                .exactness(exactness)
                                .plan(plan);
                            // Warm: the first query of a plan builds what it keeps.
                            pool.install(|| snap.search(&query))?;
                            let t = Instant::now();
                            let got = pool.install(|| snap.search(&query))?;
                            times[p].push(t.elapsed().as_secs_f64() * 1e3);
                            answers.push(got.neighbors);
                        }
                        assert_eq!(answers[0], answers[1], "the plans disagree");
                    }
                    let [index, scan] = times.map(median);
                    let m = match metric {
                        Metric::Euclidean => "ED",
                        Metric::Dtw { .. } => "DTW 10 %",
                    };
                    let e = match exactness {
                        Exactness::Reconstructed => "reconstructions",
                        Exactness::Original => "originals",
                    };
                    println!(
                        "| {n} | {m} | {e} | {kind} | {index:.3} | {scan:.3} | {:.2} |",
                        index / scan
                    );
                }
            }
        }
    }
    Ok(())
}
