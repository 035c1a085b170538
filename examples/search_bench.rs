//! Search benchmark on a matrix of series (an `.npy` file): build time, index size, query latency
//! (median, p99) for 1-NN and 10-NN, single queries and batches of 100, fraction verified; beside
//! our own brute-force scan over raw float32 rows and, for DTW, a UCR-Suite cascade scan, in the
//! same run. `tools/bench_search.sh` makes the data and runs numpy's BLAS baseline beside it.
//!
//! ```sh
//! cargo run --release --example search_bench -- DATA.npy FRESH.npy NOISY.npy OUT.json [DTW_ROWS]
//! ```

use std::time::Instant;

use qabbadb::baselines as scan;
use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Metric, Options, Query, Window};
use serde_json::json;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: search_bench DATA.npy FRESH.npy NOISY.npy OUT.json [DTW_ROWS]");
        std::process::exit(2);
    }
    let dtw_rows: usize = args
        .get(5)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let t = Instant::now();
    let data = ingest::read(args[1].as_ref(), None)?;
    let fresh = ingest::read(args[2].as_ref(), None)?;
    let noisy = ingest::read(args[3].as_ref(), None)?;
    eprintln!(
        "read {} series in {:.1} s",
        data.len(),
        t.elapsed().as_secs_f64()
    );
    let n = data.series[0].len();
    let dir = tempfile::tempdir()?;
    let threads = rayon::current_num_threads();

    // Build.
    let t = Instant::now();
    let (db, report) = Database::build(&dir.path().join("bench.qdb"), &data, &Options::default())?;
    let build_secs = t.elapsed().as_secs_f64();
    let info = db.snapshot().info()?;
    let index_bytes = info.sections.get("index").copied().unwrap_or(0);
    eprintln!(
        "built in {build_secs:.1} s: {} bytes, index {index_bytes}",
        info.bytes
    );
    let t = Instant::now();
    db.snapshot()
        .search(&Query::knn(&fresh.series[0], 1).metric(Metric::Euclidean))?;
    let first_query_secs = t.elapsed().as_secs_f64();

    // Raw float32 rows for the scan baseline (z-normalised as the search compares).
    let norm = |x: &[f64]| qabbadb::codec::Moments::of(x).normalize(x);
    let flat: Vec<f32> = data
        .series
        .iter()
        .flat_map(|x| norm(x))
        .map(|v| v as f32)
        .collect();

    let mut results = Vec::new();
    for (set_name, set) in [
        ("fresh random walks", &fresh),
        ("stored series plus noise", &noisy),
    ] {
        for k in [1usize, 10] {
            let mut lat = Vec::new();
            let mut verified = Vec::new();
            for q in &set.series {
                let r = db
                    .snapshot()
                    .search(&Query::knn(q, k).metric(Metric::Euclidean))?;
                lat.push(r.stats.micros as f64 / 1e3);
                verified.push(r.stats.verified as f64 / r.stats.candidates.max(1) as f64);
            }
            let batch: Vec<Vec<f64>> = set.series.iter().take(100).cloned().collect();
            let t = Instant::now();
            db.snapshot().search_batch(
                &batch
                    .iter()
                    .map(|q| Query::knn(q, k).metric(Metric::Euclidean))
                    .collect::<Vec<_>>(),
            )?;
            let batch_ms = t.elapsed().as_secs_f64() * 1e3 / batch.len() as f64;
            let mut scan_lat = Vec::new();
            for q in &set.series {
                let qf: Vec<f32> = norm(q).iter().map(|&v| v as f32).collect();
                let t = Instant::now();
                let r = scan::ed_scan_f32(&flat, n, &qf, k);
                scan_lat.push(t.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(r);
            }
            let mean_verified = verified.iter().sum::<f64>() / verified.len() as f64;
            let row = json!({
                "queries": set_name, "metric": "euclidean", "k": k, "count": set.len(),
                "median_ms": percentile(&mut lat.clone(), 0.5), "p99_ms": percentile(&mut lat, 0.99),
                "batch100_ms_per_query": batch_ms, "fraction_verified": mean_verified,
                "scan_f32_median_ms": percentile(&mut scan_lat.clone(), 0.5), "scan_f32_p99_ms": percentile(&mut scan_lat, 0.99),
            });
            eprintln!("{row}");
            results.push(row);
        }
    }

    // DTW on the first rows at windows 5, 10 and 20 %, k = 1 and 10, one thread each, beside the
    // UCR-Suite cascade scan over the same rows (raw values, z-normalised).
    let rows = dtw_rows.min(data.len());
    let t = Instant::now();
    let sub_db;
    let dtw_db = if rows == data.len() {
        &db
    } else {
        let sub = Dataset {
            series: data.series[..rows].to_vec(),
            labels: data.labels[..rows].to_vec(),
        };
        sub_db = Database::build(&dir.path().join("dtw.qdb"), &sub, &Options::default())?.0;
        &sub_db
    };
    let dtw_build = t.elapsed().as_secs_f64();
    let raw: Vec<Vec<f64>> = data.series[..rows].iter().map(|x| norm(x)).collect();
    let queries = if rows > 200_000 { 10 } else { 20 };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut dtw_results = Vec::new();
    for fraction in [0.05, 0.1, 0.2] {
        let window = Window::Fraction(fraction);
        let r = window.radius(n);
        // The first query of a window builds the DTW summaries; timed apart.
        let t = Instant::now();
        pool.install(|| {
            dtw_db
                .snapshot()
                .search(&Query::knn(&fresh.series[0], 1).dtw(window))
        })?;
        let first_ms = t.elapsed().as_secs_f64() * 1e3;
        for (set_name, set) in [
            ("fresh random walks", &fresh),
            ("stored series plus noise", &noisy),
        ] {
            for k in [1usize, 10] {
                let (mut lat, mut scan_lat, mut verified, mut scan_dtw) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for q in set.series.iter().take(queries) {
                    let res =
                        pool.install(|| dtw_db.snapshot().search(&Query::knn(q, k).dtw(window)))?;
                    lat.push(res.stats.micros as f64 / 1e3);
                    verified.push(res.stats.verified as f64 / res.stats.candidates.max(1) as f64);
                    let qn = norm(q);
                    let t = Instant::now();
                    let (s, cascade) = scan::dtw_scan(&raw, &qn, r, k);
                    scan_lat.push(t.elapsed().as_secs_f64() * 1e3);
                    scan_dtw.push(cascade.dtw as f64 / rows as f64);
                    std::hint::black_box(s);
                }
                let row = json!({
                    "queries": set_name, "metric": "dtw", "window": fraction, "rows": rows, "k": k, "count": lat.len(),
                    "median_ms": percentile(&mut lat.clone(), 0.5), "p99_ms": percentile(&mut lat, 0.99),
                    "fraction_verified": verified.iter().sum::<f64>() / verified.len() as f64,
                    "ucr_suite_scan_median_ms": percentile(&mut scan_lat.clone(), 0.5),
                    "ucr_suite_scan_p99_ms": percentile(&mut scan_lat, 0.99), "threads": 1,
                    "ucr_suite_fraction_dtw": scan_dtw.iter().sum::<f64>() / scan_dtw.len() as f64,
                    "first_query_ms": first_ms,
                });
                eprintln!("{row}");
                dtw_results.push(row);
            }
        }
    }

    let out = json!({
        "series": data.len(), "length": n, "threads": threads,
        "build_secs": build_secs, "dtw_build_secs": dtw_build, "first_query_secs": first_query_secs,
        "file_bytes": info.bytes, "index_bytes": index_bytes, "bits_per_point": info.bits_per_point,
        "fit": {"compress_secs": report.fit.compress_time.as_secs_f64(), "digitize_secs": report.fit.digitize_time.as_secs_f64(),
                "assign_secs": report.fit.assign_time.as_secs_f64(), "index_secs": report.index_time.as_secs_f64(),
                "write_secs": report.write_time.as_secs_f64()},
        "euclidean": results, "dtw": dtw_results,
    });
    std::fs::write(&args[4], serde_json::to_vec_pretty(&out)?)?;
    Ok(())
}
