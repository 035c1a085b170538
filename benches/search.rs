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

criterion_group!(benches, bench);
criterion_main!(benches);
