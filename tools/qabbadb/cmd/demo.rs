//! `qabbadb demo`: build a database from a bundled real dataset and show the results.

use std::time::Instant;

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Exactness, Metric, Query, Window};

use super::build::CodecArgs;
use crate::output;

/// ECG5000 from the UCR archive (Dau et al. 2019), train and test splits, bundled in the binary.
const ECG5000_TRAIN: &[u8] = include_bytes!("../../../tests/data/ucr/ECG5000/ECG5000_TRAIN.tsv");
const ECG5000_TEST: &[u8] = include_bytes!("../../../tests/data/ucr/ECG5000/ECG5000_TEST.tsv");

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub codec: CodecArgs,
}

/// Renders a symbol string: letters `A–Z a–z` when the alphabet has at most 52 symbols.
fn render(symbols: &[u32], k: u64) -> String {
    if k <= 52 {
        symbols
            .iter()
            .map(|&s| {
                if s < 26 {
                    (b'A' + s as u8) as char
                } else {
                    (b'a' + (s - 26) as u8) as char
                }
            })
            .collect()
    } else {
        symbols
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Runs `demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = args.codec.options()?;
    let mut data = ingest::ucr::parse("ECG5000_TRAIN.tsv".as_ref(), ECG5000_TRAIN)?;
    let test = ingest::ucr::parse("ECG5000_TEST.tsv".as_ref(), ECG5000_TEST)?;
    data.series.extend(test.series);
    data.labels.extend(test.labels);
    // Hold a few heartbeats out to query with.
    let held_out: Vec<(Vec<f64>, Option<String>)> = [17usize, 1234, 2718, 4000, 4950]
        .iter()
        .rev()
        .map(|&i| (data.series.remove(i), data.labels.remove(i)))
        .collect();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ecg5000.qdb");

    outln!(
        "qabbadb demo: ECG5000 (UCR archive), {} heartbeats of {} values (5 more held out as queries)",
        data.len(),
        data.series[0].len()
    );
    outln!(
        "tol {} (fABBA tol {:.4}), alpha auto, {} + {} bit centres, closed-loop assignment\n",
        options.codec.tol,
        options.codec.tol * options.codec.tol,
        options.codec.len_bits,
        options.codec.inc_bits
    );

    let t = Instant::now();
    let (db, report) = Database::build(&path, &data, &options)?;
    let build = t.elapsed().as_secs_f64();
    let db = db.snapshot();
    let info = db.info()?;
    let raw64 = info.points * 8;
    outln!("build      {:.3} s  ({:.1} M values/s: compress {:.3} s, digitize {:.3} s, assign {:.3} s, write {:.3} s)",
        build, info.points as f64 / build / 1e6,
        report.fit.compress_time.as_secs_f64(), report.fit.digitize_time.as_secs_f64(),
        report.fit.assign_time.as_secs_f64(), report.write_time.as_secs_f64());
    outln!("stored     {} for {} of float64 values: {:.1}x smaller ({:.1}x vs float32), {:.2} bits per value",
        output::bytes(info.bytes), output::bytes(raw64), info.ratio_vs_f64, info.ratio_vs_f32, info.bits_per_point);
    outln!(
        "pieces     {} ({:.1} values per piece), alphabet of {} symbols (alpha {:.4})",
        info.pieces,
        info.points as f64 / info.pieces.max(1) as f64,
        info.symbols,
        report.fit.alpha.unwrap_or(f64::NAN)
    );
    outln!("error      RMSE {:.4} in original units, mean RMSE/std {:.4}, max |error| {:.4}; {} series stored losslessly",
        info.rmse, info.mean_relative_rmse, info.max_abs_err, info.lossless_series);

    outln!("\nsymbol strings (one symbol per piece):");
    for id in [0u64, 1, 2, 500, db.len() as u64 - 1] {
        let s = db.symbols(id)?;
        let label = db.label(id)?.unwrap_or_default();
        outln!("  #{id:<5} class {label}  {}", render(&s, info.symbols));
    }

    let id = 0u64;
    let x = &data.series[id as usize];
    let t = Instant::now();
    let xh = db.get(id)?;
    let get_us = t.elapsed().as_secs_f64() * 1e6;
    outln!(
        "\nseries #{id}: {} values back (stored {}), decoded in {:.0} µs",
        xh.len(),
        x.len(),
        get_us
    );
    outln!("  t      original   decoded");
    for t in (0..x.len()).step_by(x.len().div_ceil(8)) {
        outln!("  {t:<5} {:>9.4} {:>9.4}", x[t], xh[t]);
    }

    let t = Instant::now();
    let all: Dataset = db.export()?;
    let secs = t.elapsed().as_secs_f64();
    outln!(
        "\ndecode all {} series: {:.3} s ({:.1} M values/s)",
        all.len(),
        secs,
        info.points as f64 / secs / 1e6
    );

    outln!(
        "\nnearest stored heartbeats to {} held-out ones (exact, over the stored reconstructions):",
        held_out.len()
    );
    // The first search decodes every symbol block once; time the queries after it.
    db.search(&Query::knn(&held_out[0].0, 1))?;
    for (metric, name) in [
        (Metric::Euclidean, "Euclidean"),
        (
            Metric::Dtw {
                window: Window::Fraction(0.1),
            },
            "DTW, 10% window",
        ),
    ] {
        outln!("  {name}:");
        for (q, label) in &held_out {
            let query = Query::knn(q, 3).metric(metric);
            let r = db.search(&query)?;
            let t = Instant::now();
            let brute = db.search(&query.brute_force(true))?.neighbors;
            let brute_us = t.elapsed().as_secs_f64() * 1e6;
            let same = if brute == r.neighbors {
                "= brute force"
            } else {
                "DIFFERS from brute force"
            };
            let shown: Vec<String> = r
                .neighbors
                .iter()
                .map(|n| {
                    format!(
                        "#{} ({}, d={:.3})",
                        n.id,
                        db.label(n.id).ok().flatten().unwrap_or_default(),
                        n.distance
                    )
                })
                .collect();
            outln!(
                "    class {:<2} -> {}   verified {} of {} ({:.1}%), {} µs vs {:.0} µs brute force, {same}",
                label.as_deref().unwrap_or("?"),
                shown.join(", "),
                r.stats.verified,
                r.stats.candidates,
                100.0 * r.stats.verified as f64 / r.stats.candidates.max(1) as f64,
                r.stats.micros,
                brute_us
            );
        }
    }
    // The same heartbeats with their original values kept losslessly and every stored value
    // bounded: answers exact over the originals, settled mostly by the bounded reconstructions.
    let delta = options.codec.max_error.unwrap_or(0.05);
    let exact_options = options.clone().keep_raw(true).max_error(Some(delta));
    let exact_path = dir.path().join("ecg5000-exact.qdb");
    let (edb, _) = Database::build(&exact_path, &data, &exact_options)?;
    let edb = edb.snapshot();
    let info = edb.info()?;
    let per_value = |section: &str| {
        info.sections.get(section).copied().unwrap_or(0) as f64 * 8.0 / info.points.max(1) as f64
    };
    outln!(
        "\nexact answers over the original heartbeats (--keep-raw --max-error {delta}):\nstored     {:.2} bits per value: raw values {:.2}, residuals {:.2}; every value within {delta} (max |error| {:.4})",
        info.bits_per_point,
        per_value("raw"),
        per_value("residuals"),
        info.max_abs_err
    );
    let t = Instant::now();
    edb.search(&Query::knn(&held_out[0].0, 1).exactness(Exactness::Original))?;
    outln!(
        "first query {:.1} ms (decodes the segment's symbols and residual levels once); Euclidean 1-NN:",
        t.elapsed().as_secs_f64() * 1e3
    );
    for (q, label) in &held_out {
        let over_reconstructions = db.search(&Query::knn(q, 1))?.neighbors;
        let query = Query::knn(q, 1).exactness(Exactness::Original);
        let r = edb.search(&query)?;
        let brute = edb.search(&query.brute_force(true))?.neighbors;
        let same = if brute == r.neighbors {
            "= brute force over the originals"
        } else {
            "DIFFERS from brute force over the originals"
        };
        if let Some(n) = r.neighbors.first() {
            let before = over_reconstructions.first().map_or(String::new(), |m| {
                format!(" (over the reconstructions: #{})", m.id)
            });
            outln!(
                "    class {:<2} -> #{} ({}, d={:.3}){before}   {} raw reads of {} series, {} µs, {same}",
                label.as_deref().unwrap_or("?"),
                n.id,
                edb.label(n.id).ok().flatten().unwrap_or_default(),
                n.distance,
                r.stats.raw_reads,
                r.stats.candidates,
                r.stats.micros
            );
        }
    }
    outln!("\nthe database directory was {} (removed now); try `qabbadb build my.qdb --input FILE` on your data", path.display());
    Ok(())
}
