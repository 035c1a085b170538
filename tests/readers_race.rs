//! Readers never fail while a writer commits: one writer deletes single ids and appends and
//! compacts in a loop while reader processes (`qabbadb query --json`, `qabbadb info --json`)
//! and an in-process reader open the database and query it in a loop. Every call must succeed,
//! and every answer must equal brute force over the snapshot (the MANIFEST generation) it saw;
//! the writer keeps a snapshot of every generation it commits, which stays readable after its
//! files are removed, as the oracle.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Metric, Options, Query, Snapshot};

use crate::util::ucr;

/// How long the writer commits.
const RUN: Duration = Duration::from_secs(20);

/// One answer a reader process printed: generation, query, (id, distance) of each neighbour.
type Answer = (u64, usize, Vec<(u64, f64)>);

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
        .args(args)
        .output()
        .expect("the qabbadb binary runs")
}

fn parse_answers(stdout: &str) -> Vec<Answer> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object a line");
            let neighbors = v["neighbors"]
                .as_array()
                .expect("neighbors")
                .iter()
                .map(|n| {
                    (
                        n["id"].as_u64().expect("id"),
                        n["distance"].as_f64().expect("distance"),
                    )
                })
                .collect();
            (
                v["generation"].as_u64().expect("generation"),
                v["query"].as_u64().expect("query") as usize,
                neighbors,
            )
        })
        .collect()
}

/// A reader process in a loop: `query` or `info`; returns answers and the failures seen.
fn reader_loop(
    dir: PathBuf,
    queries: PathBuf,
    info: bool,
    stop: Arc<AtomicBool>,
) -> (Vec<Answer>, Vec<String>, usize) {
    let (mut answers, mut failures, mut calls) = (Vec::new(), Vec::new(), 0);
    let d = dir.to_str().expect("utf-8 path").to_string();
    let q = queries.to_str().expect("utf-8 path").to_string();
    while !stop.load(Ordering::Relaxed) {
        let out = if info {
            cli(&["info", &d, "--json"])
        } else {
            cli(&["query", &d, "--queries", &q, "--k", "3", "--json"])
        };
        calls += 1;
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
            continue;
        }
        if !info {
            answers.extend(parse_answers(&String::from_utf8_lossy(&out.stdout)));
        }
    }
    (answers, failures, calls)
}

/// An in-process reader in a loop: opens read-only, queries, compares with brute force over
/// the same snapshot.
fn library_reader(
    dir: PathBuf,
    queries: Vec<Vec<f64>>,
    stop: Arc<AtomicBool>,
) -> (Vec<String>, usize) {
    let (mut failures, mut opens) = (Vec::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        let db = match Database::open_read_only(&dir) {
            Ok(db) => db,
            Err(e) => {
                failures.push(format!("open: {e}"));
                continue;
            }
        };
        opens += 1;
        let snap = db.snapshot();
        for q in &queries {
            match (
                snap.search(&Query::knn(q, 3).metric(Metric::Euclidean)),
                snap.search(&Query::knn(q, 3).metric(Metric::Euclidean).brute_force(true))
                    .map(|r| r.neighbors),
            ) {
                (Ok(r), Ok(b)) if r.neighbors == b => {}
                (Ok(r), Ok(b)) => failures.push(format!(
                    "generation {}: index {:?} != brute force {:?}",
                    snap.generation(),
                    r.neighbors,
                    b
                )),
                (Err(e), _) | (_, Err(e)) => failures.push(format!("query: {e}")),
            }
        }
    }
    (failures, opens)
}

fn write_queries(path: &Path, q: &[Vec<f64>]) {
    ingest::ucr::write(path, q, &vec![Some("0".to_string()); q.len()]).expect("query file");
}

#[test]
fn readers_never_fail_while_a_writer_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("race.qdb");
    let train = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("ECG200", "TEST"), None).unwrap();
    let queries: Vec<Vec<f64>> = test.series[..3].to_vec();
    let qfile = tmp.path().join("q.tsv");
    write_queries(&qfile, &queries);

    let (db, _) = Database::build(&dir, &train, &Options::default()).unwrap();
    let snapshots: Arc<Mutex<HashMap<u64, Snapshot>>> = Arc::new(Mutex::new(HashMap::new()));
    let keep = |db: &Database| {
        let s = db.snapshot();
        snapshots.lock().unwrap().insert(s.generation().0, s);
    };
    keep(&db);

    let stop = Arc::new(AtomicBool::new(false));
    let mut procs = Vec::new();
    for info in [false, false, true] {
        let (d, q, s) = (dir.clone(), qfile.clone(), stop.clone());
        procs.push(std::thread::spawn(move || reader_loop(d, q, info, s)));
    }
    let lib = {
        let (d, q, s) = (dir.clone(), queries.clone(), stop.clone());
        std::thread::spawn(move || library_reader(d, q, s))
    };

    // The writer: single-id deletes, then an append and a compaction, over and over.
    let start = Instant::now();
    let mut commits = 0;
    let extra = Dataset {
        series: test.series[3..23].to_vec(),
        labels: test.labels[3..23].to_vec(),
    };
    while start.elapsed() < RUN {
        let ids = db.snapshot().ids().unwrap();
        for &id in ids.iter().take(12) {
            db.delete(&[id]).unwrap();
            keep(&db);
            commits += 1;
        }
        db.append(&extra).unwrap();
        keep(&db);
        db.compact().unwrap();
        keep(&db);
        commits += 2;
    }
    stop.store(true, Ordering::Relaxed);

    let mut answers = Vec::new();
    let mut failures = Vec::new();
    let mut calls = 0;
    for p in procs {
        let (a, f, c) = p.join().unwrap();
        answers.extend(a);
        failures.extend(f);
        calls += c;
    }
    let (lib_failures, opens) = lib.join().unwrap();
    failures.extend(lib_failures);
    assert!(
        failures.is_empty(),
        "{} of {calls} reader calls and {opens} library opens failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    println!("{commits} commits, {calls} reader process calls, {opens} library opens, {} answers checked", answers.len());
    assert!(commits > 200, "only {commits} commits");
    assert!(
        calls > 100 && opens > 20,
        "{calls} reader calls, {opens} opens"
    );

    // Every answer equals brute force over the generation its reader saw.
    let snapshots = snapshots.lock().unwrap();
    let mut generations = std::collections::BTreeSet::new();
    for (generation, qi, got) in &answers {
        let snap = snapshots
            .get(generation)
            .unwrap_or_else(|| panic!("generation {generation} was never committed"));
        generations.insert(*generation);
        let want = snap
            .search(
                &Query::knn(&queries[*qi], 3)
                    .metric(Metric::Euclidean)
                    .brute_force(true),
            )
            .map(|r| r.neighbors)
            .unwrap();
        assert_eq!(got.len(), want.len());
        for ((id, d), n) in got.iter().zip(&want) {
            assert_eq!(n.id, *id, "generation {generation}, query {qi}");
            assert!((d - n.distance).abs() <= 1e-12 * n.distance.max(1.0));
        }
    }
    assert!(
        generations.len() > 10,
        "answers came from only {} generations",
        generations.len()
    );
}
