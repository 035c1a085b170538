//! Opens a database and answers query sets one query at a time (each on all threads): open time,
//! resident memory after open, after the first query and after each set, and per set the first
//! query's time and the median and p99 of the rest. One JSON object on standard output, with the
//! first neighbour of every query (to compare with another engine).
//!
//! ```sh
//! cargo run --release --example open_query -- DB [--exact original] [--length 256] [--cache-mb N] NAME=QUERIES.f32 …
//! ```
//!
//! Query files hold raw little-endian float32 series of `--length` values (`examples/walks`
//! writes them). Every set is run with k = 1 and then k = 10.

use std::time::Instant;

use qabbadb::{Database, Exactness, Metric, Query};
use serde_json::json;

/// (VmRSS, VmHWM) of this process in MiB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The `p` quantile of `sorted`; `None` when it is empty (a set of one query has no "rest").
fn pct(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get(((p * last as f64).round() as usize).min(last))
        .copied()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db_path = args
        .first()
        .ok_or("usage: open_query DB [--exact original] NAME=FILE …")?;
    let mut exactness = Exactness::Reconstructed;
    let mut length = 256usize;
    let mut cache_mb: Option<usize> = None;
    let mut sets = Vec::new();
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => {
                exactness = match it.next().map(String::as_str) {
                    Some("original") => Exactness::Original,
                    Some("reconstructed") => Exactness::Reconstructed,
                    other => {
                        return Err(format!("--exact original|reconstructed, not {other:?}").into())
                    }
                }
            }
            "--length" => length = it.next().ok_or("--length N")?.parse()?,
            "--cache-mb" => cache_mb = Some(it.next().ok_or("--cache-mb N")?.parse::<usize>()?),
            set => {
                let (name, file) = set.split_once('=').ok_or("a query set is NAME=FILE")?;
                let bytes = std::fs::read(file)?;
                let values: Vec<f64> = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                    .collect();
                let queries: Vec<Vec<f64>> =
                    values.chunks_exact(length).map(<[f64]>::to_vec).collect();
                sets.push((name.to_string(), queries));
            }
        }
    }
    let t = Instant::now();
    let db = Database::open_read_only(db_path.as_ref())?;
    if let Some(mb) = cache_mb {
        db.set_cache_bytes(mb << 20);
    }
    let snap = db.snapshot();
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let (rss_open, _) = rss();
    let mut out = json!({
        "open_ms": open_ms,
        "rss_after_open_mib": rss_open,
        "series": snap.len(),
        "segments": snap.info()?.segments.len(),
        "threads": rayon::current_num_threads(),
        "sets": {},
    });
    for (name, queries) in &sets {
        for k in [1usize, 10] {
            let mut times = Vec::new();
            let mut first_ids = Vec::new();
            let mut verified = 0u64;
            for q in queries {
                let t = Instant::now();
                let r = snap.search(
                    &Query::knn(q, k)
                        .metric(Metric::Euclidean)
                        .exactness(exactness),
                )?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                first_ids.push(r.neighbors.first().map(|n| n.id.0));
                verified += r.stats.verified;
            }
            let Some(&first_ms) = times.first() else {
                continue;
            };
            let mut rest = times[1..].to_vec();
            rest.sort_by(f64::total_cmp);
            let (rss_now, hwm) = rss();
            out["sets"][format!("{name}/k{k}")] = json!({
                "queries": queries.len(),
                "first_ms": first_ms,
                "median_ms": pct(&rest, 0.5),
                "p99_ms": pct(&rest, 0.99),
                "verified_per_query": verified as f64 / queries.len() as f64,
                "rss_after_mib": rss_now,
                "peak_rss_mib": hwm,
                "cache": db.cache_usage(),
                "first_neighbours": first_ids,
            });
        }
    }
    let (rss_end, hwm) = rss();
    out["rss_end_mib"] = json!(rss_end);
    out["peak_rss_mib"] = json!(hwm);
    println!("{out}");
    Ok(())
}
