//! ABBA compression: O(1)-per-point criterion against the naive re-fit, one thread.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qabbadb::codec::compress::{compress, compress_naive};

#[path = "data.rs"]
mod data;

fn bench(c: &mut Criterion) {
    let walks = data::random_walks(1000, 256, 1);
    let ecg = data::ecg5000();
    let mut g = c.benchmark_group("compress");
    for (name, set) in [
        ("randomwalk-1000x256", &walks),
        ("ecg5000-train-500x140", &ecg),
    ] {
        let points: usize = set.iter().map(Vec::len).sum();
        g.throughput(Throughput::Elements(points as u64));
        for tol in [0.1, 0.2236] {
            g.bench_with_input(
                BenchmarkId::new(format!("incremental/{name}"), tol),
                &tol,
                |b, &tol| {
                    b.iter(|| {
                        set.iter()
                            .map(|z| compress(z, tol, None).len())
                            .sum::<usize>()
                    })
                },
            );
            g.bench_with_input(
                BenchmarkId::new(format!("naive/{name}"), tol),
                &tol,
                |b, &tol| {
                    b.iter(|| {
                        set.iter()
                            .map(|z| compress_naive(z, tol, None).len())
                            .sum::<usize>()
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
