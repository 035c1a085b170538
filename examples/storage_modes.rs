//! Bits per value of qabbadb's storage modes beside lossless and error-bounded peers, on the
//! bundled UCR datasets (train and test splits together, values as parsed to f64).
//!
//! ```sh
//! cargo run --release --example storage_modes
//! ```
//!
//! Modes: the symbolic default (`tol` 0.2), `--keep-raw` (symbolic + every original value
//! losslessly), and `--max-error δ` at δ = 1% and 5% of the mean standard deviation of the
//! dataset's series. Databases are built without a search index, so the figures compare
//! storage only (the index costs the same in every mode). Peers on the same values in the same
//! run: zstd (level 3 and 19) of the little-endian f64 bytes, pco (the crate qabbadb uses,
//! default level) of all values as one stream, and for the error bound the SZ-style baseline of
//! uniform quantization to step 2δ (`round(x/2δ)`, max error δ) entropy-coded by pco.

use qabbadb::ingest::{self, Dataset};
use qabbadb::{codec, Database, Options};

fn bits(bytes: usize, values: usize) -> f64 {
    bytes as f64 * 8.0 / values as f64
}

/// Bytes of the database directory's files (MANIFEST and segments).
fn db_bytes(db: &Database) -> qabbadb::Result<u64> {
    Ok(db.snapshot().info()?.bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ucr");
    let mut names: Vec<String> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    println!("| dataset | values | zstd-3 | zstd-19 | pco | qabbadb symbolic (RMSE/σ) | qabbadb keep-raw (raw part) | δ = 1% σ̄: qabbadb max-error | δ = 1% σ̄: quantize + pco | δ = 5% σ̄: qabbadb max-error | δ = 5% σ̄: quantize + pco |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut totals = [0f64; 10];
    let mut counted = 0;
    for name in names {
        let read =
            |split: &str| ingest::read(&root.join(&name).join(format!("{name}_{split}.tsv")), None);
        let (Ok(train), Ok(test)) = (read("TRAIN"), read("TEST")) else {
            eprintln!("{name}: skipped (missing values)");
            continue;
        };
        let mut data = train;
        data.series.extend(test.series);
        data.labels.extend(test.labels);
        let data = Dataset {
            series: data.series,
            labels: vec![None; data.labels.len()],
        };
        let flat: Vec<f64> = data.series.iter().flatten().copied().collect();
        let n = flat.len();
        let le: Vec<u8> = flat.iter().flat_map(|v| v.to_le_bytes()).collect();
        let zstd3 = zstd::bulk::compress(&le, 3)?.len();
        let zstd19 = zstd::bulk::compress(&le, 19)?.len();
        let pco = codec::lossless::compress(&flat)?.len();
        let sigma = data
            .series
            .iter()
            .map(|s| codec::Moments::of(s).std)
            .sum::<f64>()
            / data.len() as f64;
        let tmp = tempfile::tempdir()?;
        let build =
            |tag: &str, o: Options| Database::build(&tmp.path().join(tag), &data, &o.index(None));
        let (sym, _) = build("s", Options::default())?;
        let (raw, _) = build("r", Options::default().keep_raw(true))?;
        let raw_part = raw
            .snapshot()
            .info()?
            .sections
            .get("raw")
            .copied()
            .unwrap_or(0);
        let mut cells = vec![
            format!("{:.2}", bits(zstd3, n)),
            format!("{:.2}", bits(zstd19, n)),
            format!("{:.2}", bits(pco, n)),
            format!(
                "{:.2} ({:.3})",
                bits(db_bytes(&sym)? as usize, n),
                sym.snapshot().info()?.mean_relative_rmse
            ),
            format!(
                "{:.2} ({:.2})",
                bits(db_bytes(&raw)? as usize, n),
                bits(raw_part as usize, n)
            ),
        ];
        let mut row = vec![
            bits(zstd3, n),
            bits(zstd19, n),
            bits(pco, n),
            bits(db_bytes(&sym)? as usize, n),
            bits(db_bytes(&raw)? as usize, n),
        ];
        for rel in [0.01, 0.05] {
            let delta = rel * sigma;
            let (eb, _) = build(
                &format!("e{rel}"),
                Options::default().max_error(Some(delta)),
            )?;
            // Checked here too: the bound holds on every value.
            let got = eb.snapshot().export()?;
            let worst = got
                .series
                .iter()
                .flatten()
                .zip(&flat)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst <= delta, "{name}: {worst} > {delta}");
            let q: Vec<i64> = flat
                .iter()
                .map(|v| (v / (2.0 * delta)).round() as i64)
                .collect();
            let peer = codec::lossless::compress(&q)?.len();
            cells.push(format!("{:.2}", bits(db_bytes(&eb)? as usize, n)));
            cells.push(format!("{:.2}", bits(peer, n)));
            row.push(bits(db_bytes(&eb)? as usize, n));
            row.push(bits(peer, n));
        }
        println!("| {name} | {n} | {} |", cells.join(" | "));
        totals[0] += n as f64;
        for (t, v) in totals[1..].iter_mut().zip(&row) {
            *t += v.ln();
        }
        counted += 1;
    }
    let g: Vec<String> = totals[1..]
        .iter()
        .map(|t| format!("{:.2}", (t / counted as f64).exp()))
        .collect();
    println!("| geometric mean | {} | {} |", totals[0], g.join(" | "));
    Ok(())
}
