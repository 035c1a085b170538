//! Exact k-NN on 20,000 seeded random walks of length 256: indexed search (Euclidean and DTW,
//! window 10 %) beside the brute-force scans over raw values, one query at a time.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use qabbadb::baselines as scan;
use qabbadb::ingest::Dataset;
use qabbadb::{Database, Metric, Options, Query, Window};

#[path = "data.rs"]
mod data;

fn bench(c: &mut Criterion) {
    let rows = data::random_walks(20_000, 256, 7);
    let queries = data::random_walks(20, 256, 8);
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::build(
        &dir.path().join("b.qdb"),
        &Dataset::from_series(rows.clone()),
        &Options::default(),
    )
    .unwrap();
    db.snapshot()
        .search(&Query::knn(&queries[0], 1).metric(Metric::Euclidean))
        .unwrap();
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    let mut g = c.benchmark_group("knn");
    g.sample_size(10);
    for k in [1usize, 10] {
        g.bench_function(
            BenchmarkId::new("index-ed/randomwalk-20000x256/2-threads", k),
            |b| {
                b.iter(|| {
                    queries
                        .iter()
                        .map(|q| {
                            db.snapshot()
                                .search(&Query::knn(q, k).metric(Metric::Euclidean))
                                .unwrap()
                                .neighbors
                                .len()
                        })
                        .sum::<usize>()
                })
            },
        );
        g.bench_function(
            BenchmarkId::new("scan-ed-f32/randomwalk-20000x256/2-threads", k),
            |b| {
                b.iter(|| {
                    queries
                        .iter()
                        .map(|q| {
                            let qf: Vec<f32> = q.iter().map(|&v| v as f32).collect();
                            scan::ed_scan_f32(&flat, 256, &qf, k).len()
                        })
                        .sum::<usize>()
                })
            },
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let w = Window::Fraction(0.1);
    g.bench_function("index-dtw10/randomwalk-20000x256/1-thread", |b| {
        b.iter(|| {
            pool.install(|| {
                queries
                    .iter()
                    .map(|q| {
                        db.snapshot()
                            .search(&Query::knn(q, 1).metric(Metric::Dtw { window: w }))
                            .unwrap()
                            .neighbors
                            .len()
                    })
                    .sum::<usize>()
            })
        })
    });
    g.bench_function("scan-dtw10-ucrsuite/randomwalk-20000x256/1-thread", |b| {
        b.iter(|| {
            queries
                .iter()
                .map(|q| scan::dtw_scan(&rows, q, w.radius(256), 1).0.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

/// The DTW kernels on 8 candidates of 256 points, window 10 %, computed in full: the scalar
/// kernel eight times against one lane batch (dispatched: AVX-512 or AVX2 where present; and the
/// baseline build). Cells per batch: 8 × 256 × 51.
fn kernel(c: &mut Criterion) {
    use qabbadb::distance::dtw;
    use qabbadb::distance::dtw_lanes::{LaneDtw, LANES};
    let rows = data::random_walks(LANES + 1, 256, 9);
    let (q, cands) = (&rows[0], &rows[1..]);
    let r = Window::Fraction(0.1).radius(256);
    let x: Vec<[f64; LANES]> = (0..256)
        .map(|j| std::array::from_fn(|l| cands[l][j]))
        .collect();
    let limit = [f64::INFINITY; LANES];
    let mut lanes = LaneDtw::default();
    let mut g = c.benchmark_group("dtw-kernel");
    g.bench_function("scalar/8x256/window-10%", |b| {
        b.iter(|| cands.iter().map(|x| dtw::distance_sq(q, x, r)).sum::<f64>())
    });
    g.bench_function("lanes/8x256/window-10%", |b| {
        b.iter(|| lanes.distance_sq(q, &x, r, &limit, None)[0])
    });
    g.bench_function("lanes-baseline/8x256/window-10%", |b| {
        b.iter(|| lanes.distance_sq_baseline(q, &x, r, &limit, None)[0])
    });
    g.finish();
}

criterion_group!(benches, bench, kernel);
criterion_main!(benches);
