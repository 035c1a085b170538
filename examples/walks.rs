//! Seeded random walks as raw little-endian float32 on standard output, for piping into
//! `qabbadb build --input - --format f32 --length 256`: series `i` is the cumulative sum of
//! uniform steps in [−1, 1) drawn from ChaCha8 stream `i` of the seed, z-normalised, so any
//! series can be made again on its own (`--pick`).
//!
//! ```sh
//! cargo run --release --example walks -- COUNT [--seed S] [--length N] [--pick I,J,…] [--noise A]
//! ```
//!
//! `--pick` writes only the listed series (COUNT is then ignored); `--noise A` adds uniform noise
//! in [−A, A) to every value written (its own stream, seeded by `S + 1`).

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Series `i` of `seed`, z-normalised, into `out`.
fn walk(seed: u64, i: u64, out: &mut [f32]) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i);
    let mut acc = 0.0f64;
    let (mut sum, mut sq) = (0.0f64, 0.0f64);
    for v in out.iter_mut() {
        acc += rng.gen_range(-1.0..1.0);
        sum += acc;
        sq += acc * acc;
        *v = acc as f32;
    }
    let n = out.len() as f64;
    let mean = sum / n;
    let std = (sq / n - mean * mean).max(0.0).sqrt();
    let (mean, scale) = (
        mean as f32,
        if std > 0.0 { (1.0 / std) as f32 } else { 0.0 },
    );
    for v in out.iter_mut() {
        *v = (*v - mean) * scale;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let count: u64 = args
        .first()
        .ok_or("usage: walks COUNT [--seed S] …")?
        .parse()?;
    let seed: u64 = flag("--seed").map_or(Ok(1), |s| s.parse())?;
    let n: usize = flag("--length").map_or(Ok(256), |s| s.parse())?;
    let noise: f32 = flag("--noise").map_or(Ok(0.0), |s| s.parse())?;
    let ids: Vec<u64> = match flag("--pick") {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let mut noise_rng = ChaCha8Rng::seed_from_u64(seed + 1);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let total = if ids.is_empty() {
        count
    } else {
        ids.len() as u64
    };
    // Chunks of series made in parallel, written in order.
    const CHUNK: u64 = 16_384;
    let mut buf = Vec::new();
    let mut bytes = Vec::new();
    for start in (0..total).step_by(CHUNK as usize) {
        let m = (total - start).min(CHUNK) as usize;
        buf.resize(m * n, 0.0f32);
        buf.par_chunks_mut(n).enumerate().for_each(|(j, s)| {
            let k = start + j as u64;
            let i = if ids.is_empty() { k } else { ids[k as usize] };
            walk(seed, i, s);
        });
        if noise > 0.0 {
            for v in &mut buf {
                *v += noise_rng.gen_range(-noise..noise);
            }
        }
        bytes.clear();
        bytes.extend(buf.iter().flat_map(|v| v.to_le_bytes()));
        out.write_all(&bytes)?;
    }
    out.flush()?;
    Ok(())
}
