//! Joint digitization of all pieces: greedy aggregation and sampling k-means, one thread.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qabbadb::codec::compress::compress;
use qabbadb::codec::digitize::{digitize, Digitizer};

#[path = "data.rs"]
mod data;

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let walks = data::random_walks(10_000, 256, 2);
    let tol = 0.2236;
    let pieces: Vec<_> = walks.iter().flat_map(|z| compress(z, tol, None)).collect();
    let values = walks.len() as u64 * 256;
    let mut g = c.benchmark_group("digitize");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pieces.len() as u64));
    g.bench_function(
        BenchmarkId::new("ga-auto/randomwalk-10000x256-pieces", pieces.len()),
        |b| {
            b.iter(|| {
                pool.install(|| {
                    digitize(&pieces, Digitizer::Greedy { alpha: None }, 1.0, tol, values)
                        .centres
                        .len()
                })
            })
        },
    );
    g.bench_function(
        BenchmarkId::new("kmeans-64/randomwalk-10000x256-pieces", pieces.len()),
        |b| {
            let d = Digitizer::KMeans {
                k: 64,
                sample_rate: 0.5,
                seed: 0,
            };
            b.iter(|| pool.install(|| digitize(&pieces, d, 1.0, tol, values).centres.len()))
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
