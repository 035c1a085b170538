//! DTW search benchmark: indexed exact k-NN against the UCR-Suite cascade scan over the same
//! z-normalised reconstructions, one thread each, in one run; windows 5 %, 10 % and 20 %, k = 1
//! and 10, fresh and noisy queries (the files of `tools/peers/search_data.py`). Answers are
//! checked equal to the scan's.
//!
//! ```sh
//! cargo run --release --example dtw_bench -- DATA.npy FRESH.npy NOISY.npy OUT.json [ROWS] [QUERIES] [WINDOWS]
//! ```
//!
//! `WINDOWS` is a comma-separated list of fractions (default `0.05,0.1,0.2`). With
//! `DTW_BENCH_INDEX_ONLY=1` the scan is skipped (to profile the index alone; answers are then
//! not checked).

use std::time::Instant;

use qabbadb::baselines as scan;
use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Options, Query, Window};
use serde_json::json;

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: dtw_bench DATA.npy FRESH.npy NOISY.npy OUT.json [ROWS] [QUERIES] [WINDOWS]"
        );
        std::process::exit(2);
    }
    let rows: usize = args
        .get(5)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let count: usize = args.get(6).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let windows: Vec<f64> = match args.get(7) {
        Some(s) => s.split(',').map(|w| w.parse()).collect::<Result<_, _>>()?,
        None => vec![0.05, 0.1, 0.2],
    };
    let index_only = std::env::var_os("DTW_BENCH_INDEX_ONLY").is_some();
    let data = ingest::read(args[1].as_ref(), None)?;
    let fresh = ingest::read(args[2].as_ref(), None)?;
    let noisy = ingest::read(args[3].as_ref(), None)?;
    let rows = rows.min(data.len());
    let sub = Dataset {
        series: data.series[..rows].to_vec(),
        labels: data.labels[..rows].to_vec(),
    };
    drop(data);
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let (db, _) = Database::build(&dir.path().join("dtw.qdb"), &sub, &Options::default())?;
    let build_secs = t.elapsed().as_secs_f64();
    eprintln!("built {rows} series in {build_secs:.1} s");
    let snap = db.snapshot();
    // The scan compares the same representations as the search: the stored reconstructions,
    // z-normalised.
    let recon: Vec<Vec<f64>> = snap.export_normalized()?.series;
    let n = recon[0].len();
    let norm = |x: &[f64]| qabbadb::codec::Moments::of(x).normalize(x);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut out = Vec::new();
    for &fraction in &windows {
        let window = Window::Fraction(fraction);
        let r = window.radius(n);
        // The first query of a window builds the reverse bound's envelopes; timed apart.
        let t = Instant::now();
        pool.install(|| snap.search(&Query::knn(&fresh.series[0], 1).dtw(window)))?;
        let first_ms = t.elapsed().as_secs_f64() * 1e3;
        for (set_name, set) in [("fresh", &fresh), ("noisy", &noisy)] {
            for k in [1usize, 10] {
                let (mut lat, mut scan_lat, mut dtw_frac, mut scan_frac) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let (mut bounds, mut abandoned) = (0u64, 0u64);
                for q in set.series.iter().take(count) {
                    let res = pool.install(|| snap.search(&Query::knn(q, k).dtw(window)))?;
                    lat.push(res.stats.micros as f64 / 1e3);
                    dtw_frac.push(res.stats.verified as f64 / res.stats.candidates.max(1) as f64);
                    bounds += res.stats.lower_bounds;
                    abandoned += res.stats.abandoned;
                    let qn = norm(q);
                    let t = Instant::now();
                    if index_only {
                        continue;
                    }
                    let (s, cascade) = scan::dtw_scan(&recon, &qn, r, k);
                    scan_lat.push(t.elapsed().as_secs_f64() * 1e3);
                    scan_frac.push(cascade.dtw as f64 / rows as f64);
                    let got: Vec<u64> = res.neighbors.iter().map(|nb| nb.id.0).collect();
                    let want: Vec<u64> = s.iter().map(|p| p.1).collect();
                    if got != want {
                        return Err(
                            format!("answers differ: {got:?} against the scan's {want:?}").into(),
                        );
                    }
                }
                let (m, sm) = (median(&lat), median(&scan_lat));
                let row = json!({
                    "queries": set_name, "window": fraction, "k": k, "rows": rows, "count": lat.len(),
                    "median_ms": m, "scan_median_ms": sm, "speedup": sm / m,
                    "fraction_dtw": dtw_frac.iter().sum::<f64>() / dtw_frac.len() as f64,
                    "scan_fraction_dtw": scan_frac.iter().sum::<f64>() / scan_frac.len() as f64,
                    "first_query_ms": first_ms, "threads": 1,
                    "lower_bounds_per_query": bounds as f64 / lat.len().max(1) as f64,
                    "abandoned_per_query": abandoned as f64 / lat.len().max(1) as f64,
                });
                eprintln!("{row}");
                out.push(row);
            }
        }
    }
    std::fs::write(
        &args[4],
        serde_json::to_vec_pretty(
            &json!({"rows": rows, "length": n, "build_secs": build_secs, "dtw": out}),
        )?,
    )?;
    Ok(())
}
