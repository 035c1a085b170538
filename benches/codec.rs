//! The whole codec (compress + digitize + quantize + assign + decode + error), and decode alone,
//! on 1 and 2 threads; symbol blocks encoded and decoded with each block codec.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qabbadb::codec::symbols::{decode_block, encode_block, BlockCodec};
use qabbadb::codec::{decode_symbolic, fit_encode, rans, CodecParams, Storage};

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
                        Storage::Symbolic(s) | Storage::Corrected(s, _) => {
                            decode_symbolic(e.len as usize, e.start, e.moments, s, &centres).len()
                        }
                        Storage::Lossless(_) => 0,
                    })
                    .sum::<usize>()
            })
        },
    );
    g.finish();

    // Symbol blocks (FORMAT.md §4.5) of the same walks: each encoding, encode and decode.
    let mut blocks: Vec<Vec<u32>> = vec![Vec::new()];
    for e in &enc {
        if let Storage::Symbolic(s) = &e.storage {
            if blocks.last().is_some_and(|b| b.len() + s.len() > 16_384) {
                blocks.push(Vec::new());
            }
            blocks.last_mut().unwrap().extend_from_slice(s);
        }
    }
    let k = cb.len();
    let incs: Vec<i32> = cb.symbols.iter().map(|c| c[1]).collect();
    let refs: Vec<&[u32]> = blocks.iter().map(Vec::as_slice).collect();
    let model = rans::Model::fit(&refs, &incs).unwrap();
    let dec = model.decoder();
    let symbols: usize = blocks.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("symbol-blocks");
    g.sample_size(10);
    g.throughput(Throughput::Elements(symbols as u64));
    g.bench_function("encode/best-of-packed-zstd19-lzw", |b| {
        b.iter(|| {
            blocks
                .iter()
                .map(|s| encode_block(s, k, None).payload.len())
                .sum::<usize>()
        })
    });
    g.bench_function("encode/best-with-rans-model", |b| {
        b.iter(|| {
            blocks
                .iter()
                .map(|s| encode_block(s, k, Some(&model)).payload.len())
                .sum::<usize>()
        })
    });
    g.bench_function("encode/rans", |b| {
        b.iter(|| {
            blocks
                .iter()
                .map(|s| model.encode(s).unwrap().len())
                .sum::<usize>()
        })
    });
    let coded: Vec<[(BlockCodec, Vec<u8>, u64); 2]> = blocks
        .iter()
        .map(|s| {
            let z = zstd::bulk::compress(
                &s.iter()
                    .flat_map(|v| (*v as u16).to_le_bytes())
                    .collect::<Vec<u8>>(),
                19,
            )
            .unwrap();
            [
                (BlockCodec::Zstd, z, 0),
                (BlockCodec::Rans, model.encode(s).unwrap(), 0),
            ]
        })
        .collect();
    for (i, name) in ["zstd", "rans"].iter().enumerate() {
        let bytes: usize = coded.iter().map(|c| c[i].1.len()).sum();
        eprintln!(
            "{name}: {:.3} bits/symbol",
            bytes as f64 * 8.0 / symbols as f64
        );
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                coded
                    .iter()
                    .zip(&blocks)
                    .map(|(c, s)| {
                        let (codec, p, codes) = &c[i];
                        decode_block(*codec, p, k, s.len(), *codes, Some(&dec))
                            .unwrap()
                            .len()
                    })
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
