//! The whole codec (compress + digitize + quantize + assign + decode + error), and decode alone,
//! on 1 and 2 threads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qabbadb::codec::{decode_symbolic, fit_encode, CodecParams, Storage};

#[path = "data.rs"]
mod data;

fn bench(c: &mut Criterion) {
    let walks = data::random_walks(10_000, 256, 3);
    let params = CodecParams {
        tol: 0.2236,
        max_rmse: f64::INFINITY,
        ..Default::default()
    };
    let points = (walks.len() * 256) as u64;
    let mut g = c.benchmark_group("codec");
    g.sample_size(10);
    g.throughput(Throughput::Elements(points));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_function(
            BenchmarkId::new(
                "fit-encode/randomwalk-10000x256",
                format!("{threads}-threads"),
            ),
            |b| b.iter(|| pool.install(|| fit_encode(&walks, &params).unwrap().1.len())),
        );
    }
    let (cb, enc, _) = fit_encode(&walks, &params).unwrap();
    let centres = cb.centres();
    g.bench_function(
        BenchmarkId::new("decode/randomwalk-10000x256", "1-thread"),
        |b| {
            b.iter(|| {
                enc.iter()
                    .map(|e| match &e.storage {
                        Storage::Symbolic(s) => {
                            decode_symbolic(e.len as usize, e.start, e.moments, s, &centres).len()
                        }
                        Storage::Lossless(_) => 0,
                    })
                    .sum::<usize>()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
