//! Bytes per series by section, and bits per value against the SZ-style baseline at the same
//! error, on every bundled UCR dataset and on random walks.
//!
//! ```sh
//! cargo run --release --example bytes_per_series [-- --markdown]
//! ```
//!
//! Part 1 builds each dataset (train and test splits together, labels kept) with the default
//! options and reports the bytes per series of each segment section: SERIES (per-series
//! metadata), INDEX, SYMBOLS, CODEBOOK and the rest (header, table of contents, PARAMS, LABELS,
//! REPORT, LOSSLESS).
//!
//! Part 2 is the rate–distortion comparison at `tol` 0.1, 0.2 and 0.4: qabbadb's symbolic mode
//! without an index (the whole database directory counted: segment and MANIFEST) against uniform
//! scalar quantization of each z-normalised series with one step for all series, its integer
//! levels coded by pco as one stream, plus 8 bytes per series for μ and σ (f32 each). The step is
//! chosen by bisection so that both have the same error, the mean over series of RMSE/σ, measured
//! against the original values.

use qabbadb::ingest::{self, Dataset};
use qabbadb::{codec, Database, Options};
use rand::{Rng, SeedableRng};

/// Mean over series of RMSE/σ between `a` and `b` (σ of `a`; constant series count 0).
fn mean_relative_rmse(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        let s = codec::Moments::of(x).std;
        if s > 0.0 {
            let (e, _) = codec::error_of(x, y);
            sum += e / (x.len() as f64).sqrt() / s;
        }
    }
    sum / a.len() as f64
}

/// Uniform quantization of every z-normalised series with step `step`: (bytes, mean RMSE/σ).
fn uniform_pco(series: &[Vec<f64>], step: f64) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    let mut levels = Vec::new();
    let mut back = Vec::with_capacity(series.len());
    for x in series {
        let m = codec::Moments::of(x);
        let (mu, sigma) = (m.mean as f32 as f64, m.std as f32 as f64);
        let mut y = Vec::with_capacity(x.len());
        for &v in x {
            let q = if sigma > 0.0 {
                ((v - mu) / sigma / step).round()
            } else {
                0.0
            };
            levels.push(q as i64);
            y.push(mu + sigma * step * q);
        }
        back.push(y);
    }
    let bytes = codec::lossless::compress(&levels)?.len() + 8 * series.len();
    Ok((bytes, mean_relative_rmse(series, &back)))
}

/// The uniform step whose error equals `target` (mean RMSE/σ), by bisection on log(step).
fn uniform_at(
    series: &[Vec<f64>],
    target: f64,
) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    let (mut lo, mut hi) = (1e-6f64.ln(), 4f64.ln());
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        let (_, e) = uniform_pco(series, mid.exp())?;
        if e > target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    uniform_pco(series, lo.exp())
}

fn datasets() -> Vec<(String, Dataset)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ucr");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let read =
            |split: &str| ingest::read(&root.join(&name).join(format!("{name}_{split}.tsv")), None);
        let (Ok(mut data), Ok(test)) = (read("TRAIN"), read("TEST")) else {
            eprintln!("{name}: skipped (missing values)");
            continue;
        };
        data.series.extend(test.series);
        data.labels.extend(test.labels);
        out.push((name, data));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let walks: Vec<Vec<f64>> = (0..10_000)
        .map(|_| {
            let mut acc = 0.0;
            (0..256)
                .map(|_| {
                    acc += rng.gen_range(-1.0..1.0);
                    acc
                })
                .collect()
        })
        .collect();
    out.push(("RandomWalk10000x256".into(), Dataset::from_series(walks)));
    out
}

/// Empirical entropy in bits of the counts `c` (total `n`): Σ c·log2(n/c).
fn entropy_bits(counts: impl Iterator<Item = u64>) -> f64 {
    let c: Vec<u64> = counts.filter(|&c| c > 0).collect();
    let n: u64 = c.iter().sum();
    c.iter()
        .map(|&c| c as f64 * (n as f64 / c as f64).log2())
        .sum()
}

/// Part 3 (`--entropy`): the symbol streams' empirical entropies against the bits the SYMBOLS
/// section spends per symbol. Order 0 over the whole segment and per block (no table costs);
/// order 1 conditioned on the previous symbol of the same series (the first symbol of a series on
/// a context of its own).
fn symbol_entropy(
    sets: &[(String, Dataset)],
    tmp: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    use qabbadb::storage::segment::SegmentReader;
    println!("Symbol streams: bits per symbol (default options, tol 0.1/0.2/0.4):\n");
    println!("| dataset | tol | k | symbols | SYMBOLS + SYMBOL_MODEL | H0 segment | H0 per block | H1 (previous symbol) | C=2 | C=4 | C=8 | C=16 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (name, data)) in sets.iter().enumerate() {
        for tol in [0.1, 0.2, 0.4] {
            let path = tmp.join(format!("e{i}-{tol}"));
            let (db, _) = Database::build(&path, data, &Options::default().tol(tol))?;
            let info = db.snapshot().info()?;
            let seg = SegmentReader::open(&path.join(&info.segments[0].file))?;
            let k = seg.codebook().len();
            let mut all = vec![0u64; k];
            let mut pair: std::collections::HashMap<(u32, u32), u64> = Default::default();
            let mut h0_blocks = 0.0;
            let mut total = 0u64;
            for b in 0..seg.block_count() {
                let mut counts = vec![0u64; k];
                let syms = seg.block(b)?.into_symbols();
                for &s in &syms {
                    counts[s as usize] += 1;
                    all[s as usize] += 1;
                }
                total += syms.len() as u64;
                h0_blocks += entropy_bits(counts.into_iter());
            }
            for pos in 0..seg.len() {
                let syms = seg.symbols(pos)?;
                let mut prev = u32::MAX;
                for s in syms {
                    *pair.entry((prev, s)).or_default() += 1;
                    prev = s;
                }
            }
            // H(X | previous) = H(previous, X) − H(previous).
            let mut ctx: std::collections::HashMap<u32, u64> = Default::default();
            for (&(p, _), &c) in &pair {
                *ctx.entry(p).or_default() += c;
            }
            let h1 = entropy_bits(pair.values().copied()) - entropy_bits(ctx.values().copied());
            let section = ["symbols", "symbol_model"]
                .iter()
                .map(|s| info.sections.get(*s).copied().unwrap_or(0) as f64 * 8.0)
                .sum::<f64>();
            let t = total.max(1) as f64;
            // Context classes: quantiles of the previous symbol's increment, by occurrence;
            // the class tables (counts, pco) are counted.
            let centres = seg.codebook().centres();
            let mut order: Vec<u32> = (0..k as u32).collect();
            order.sort_by(|&a, &b| centres[a as usize][1].total_cmp(&centres[b as usize][1]));
            let mut classes = Vec::new();
            for c in [2usize, 4, 8, 16] {
                let mut class = vec![0usize; k];
                let mut acc = 0u64;
                for &s in &order {
                    class[s as usize] = ((acc * c as u64) / total.max(1)) as usize;
                    acc += all[s as usize];
                }
                let mut table = vec![0i64; (c + 1) * k];
                for (&(p, x), &n) in &pair {
                    let ctx = if p == u32::MAX { c } else { class[p as usize] };
                    table[ctx * k + x as usize] += n as i64;
                }
                let bits: f64 = table
                    .chunks(k)
                    .map(|row| entropy_bits(row.iter().map(|&v| v as u64)))
                    .sum();
                let table_bits = codec::lossless::compress(&table)?.len() as f64 * 8.0;
                classes.push(format!("{:.2}+{:.2}", bits / t, table_bits / t));
            }
            println!(
                "| {name} | {tol} | {k} | {total} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                section / t,
                entropy_bits(all.iter().copied()) / t,
                h0_blocks / t,
                h1 / t,
                classes.join(" | ")
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sets = datasets();
    let tmp = tempfile::tempdir()?;
    if std::env::args().any(|a| a == "--entropy") {
        return symbol_entropy(&sets, tmp.path());
    }
    println!("Bytes per series by section (default options, with the index):\n");
    println!("| dataset | series | length | SERIES (metadata) | INDEX | SYMBOLS | CODEBOOK | rest | file |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut meta_max: f64 = 0.0;
    let mut index_max: f64 = 0.0;
    for (i, (name, data)) in sets.iter().enumerate() {
        let (db, _) =
            Database::build(&tmp.path().join(format!("a{i}")), data, &Options::default())?;
        let info = db.snapshot().info()?;
        let n = info.series as f64;
        let get = |k: &str| info.sections.get(k).copied().unwrap_or(0) as f64 / n;
        let seg: u64 = info.segments.iter().map(|s| s.bytes).sum();
        let known = ["series", "index", "symbols", "codebook"];
        let rest = seg as f64 / n - known.iter().map(|k| get(k)).sum::<f64>();
        meta_max = meta_max.max(get("series"));
        index_max = index_max.max(get("index"));
        println!(
            "| {name} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            info.series,
            info.max_len,
            get("series"),
            get("index"),
            get("symbols"),
            get("codebook"),
            rest,
            seg as f64 / n
        );
    }
    println!("\nLargest: metadata {meta_max:.2} B/series, index {index_max:.2} B/series.\n");

    println!("Bits per value at the same error (mean RMSE/σ), whole files on both sides:\n");
    println!("| dataset | tol | RMSE/σ | qabbadb symbolic | uniform + pco | qabbadb ÷ uniform |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut log_ratio = 0.0;
    let mut rows = 0;
    for (i, (name, data)) in sets.iter().enumerate() {
        let values: usize = data.series.iter().map(Vec::len).sum();
        for tol in [0.1, 0.2, 0.4] {
            let path = tmp.path().join(format!("r{i}-{tol}"));
            let (db, _) = Database::build(&path, data, &Options::default().tol(tol).index(None))?;
            let back = db.snapshot().export()?;
            let err = mean_relative_rmse(&data.series, &back.series);
            let ours = db.snapshot().info()?.bytes as f64 * 8.0 / values as f64;
            let (ub, ue) = uniform_at(&data.series, err)?;
            let theirs = ub as f64 * 8.0 / values as f64;
            log_ratio += (ours / theirs).ln();
            rows += 1;
            println!(
                "| {name} | {tol} | {err:.4} (uniform {ue:.4}) | {ours:.3} | {theirs:.3} | {:.2} |",
                ours / theirs
            );
        }
    }
    println!(
        "\nGeometric mean of qabbadb ÷ uniform + pco: {:.2} over {rows} rows.",
        (log_ratio / rows as f64).exp()
    );
    Ok(())
}
