//! Appends, deletes, compaction, snapshots, the writer lock and concurrent readers.

use std::collections::BTreeMap;

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Error, Metric, Options, Plan, Query, Window};

use crate::util::{qabbadb, ucr};

fn all_values(db: &Database) -> BTreeMap<u64, Vec<f64>> {
    db.snapshot()
        .ids()
        .unwrap()
        .into_iter()
        .map(|id| (id.0, db.snapshot().get(id).unwrap()))
        .collect()
}

#[test]
fn append_delete_compact_keep_ids_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let train = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("ECG200", "TEST"), None).unwrap();
    let (db, r) = Database::build(&path, &train, &Options::default()).unwrap();
    assert_eq!(
        r.ids.iter().collect::<Vec<_>>(),
        (0..100).collect::<Vec<u64>>()
    );
    let before = all_values(&db);
    let r = db.append(&test).unwrap();
    assert_eq!(
        r.ids.iter().collect::<Vec<_>>(),
        (100..200).collect::<Vec<u64>>(),
        "ids continue"
    );
    assert_eq!(db.snapshot().len(), 200);
    // Appending does not touch stored series.
    for (id, v) in &before {
        assert_eq!(&db.snapshot().get(*id).unwrap(), v);
    }
    // The appended series use the first segment's codebook.
    assert_eq!(
        db.snapshot().info().unwrap().symbols,
        db.snapshot().info().unwrap().symbols
    );

    assert_eq!(db.delete(&[3, 150, 151]).unwrap().deleted, 3);
    assert_eq!(
        db.delete(&[3]).unwrap(),
        qabbadb::DeleteReport {
            deleted: 0,
            already_deleted: 1
        },
        "already deleted"
    );
    assert!(matches!(
        db.delete(&[5, 999]),
        Err(Error::NotFound(qabbadb::SeriesId(999)))
    ));
    assert!(
        db.snapshot().get(5).is_ok(),
        "a failed delete deletes nothing"
    );
    assert!(matches!(
        db.snapshot().get(150),
        Err(Error::NotFound(qabbadb::SeriesId(150)))
    ));
    assert_eq!(db.snapshot().len(), 197);
    let live = all_values(&db);
    assert!(!live.contains_key(&3));

    // Search never returns a deleted series, and equals brute force over the live ones, by
    // either plan.
    for q in test.series.iter().take(5) {
        for (metric, plan) in [Plan::Index, Plan::Scan].into_iter().flat_map(|plan| {
            [
                Metric::Euclidean,
                Metric::Dtw {
                    window: Window::Fraction(0.1),
                },
            ]
            .map(|m| (m, plan))
        }) {
            let got = db
                .snapshot()
                .search(&Query::knn(q, 10).metric(metric).plan(plan))
                .unwrap();
            assert!(got
                .neighbors
                .iter()
                .all(|n| ![3, 150, 151].contains(&n.id.0)));
            assert_eq!(
                got.neighbors,
                db.snapshot()
                    .search(&Query::knn(q, 10).metric(metric).brute_force(true))
                    .map(|r| r.neighbors)
                    .unwrap()
            );
        }
    }
    let hit = db
        .snapshot()
        .search(&Query::knn(&test.series[50], 1).metric(Metric::Euclidean))
        .unwrap();

    db.compact().unwrap();
    assert_eq!(db.snapshot().info().unwrap().segments.len(), 1);
    assert_eq!(db.snapshot().info().unwrap().deleted, 0);
    assert_eq!(all_values(&db), live, "compaction keeps ids and values");
    assert_eq!(
        db.snapshot()
            .search(&Query::knn(&test.series[50], 1).metric(Metric::Euclidean))
            .unwrap()
            .neighbors,
        hit.neighbors
    );
    let r = db
        .append(&Dataset::from_series(vec![vec![1.0, 2.0, 3.0]]))
        .unwrap();
    assert_eq!(
        r.ids.iter().collect::<Vec<_>>(),
        vec![200],
        "ids are never reused, even after compaction"
    );

    drop(db);
    let db = crate::util::open_when_free(&path);
    assert_eq!(db.snapshot().len(), 198);
    assert!(Database::verify(&path).is_empty());
    // Only files the MANIFEST names remain.
    let names: Vec<String> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".qseg")).count(),
        2,
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".del") || n.ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn one_writer_many_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let data = ingest::read(&ucr("GunPoint", "TRAIN"), None).unwrap();
    let (db, _) = Database::build(&path, &data, &Options::default()).unwrap();
    assert!(matches!(Database::open(&path), Err(Error::Locked(_))));
    let (code, _, err) = qabbadb(&[
        "append",
        path.to_str().unwrap(),
        "--input",
        ucr("GunPoint", "TEST").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("LOCK is held"), "{err}");
    let reader = Database::open_read_only(&path).unwrap();
    assert!(
        reader.append(&data).is_err(),
        "read-only handles cannot write"
    );
    let snap = reader.snapshot();
    db.append(&data).unwrap();
    assert_eq!(snap.len(), 50, "a snapshot does not move");
    assert_eq!(reader.snapshot().len(), 50);
    reader.refresh().unwrap();
    assert_eq!(reader.snapshot().len(), 100);
    drop(db);
    assert!(
        Database::open(&path).is_ok(),
        "the lock goes with the writer"
    );
}

/// A writer appends and deletes while reader threads and a second process query; every answer
/// equals brute force over the snapshot it was computed on.
#[test]
fn concurrent_queries_see_consistent_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let train = ingest::read(&ucr("CBF", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("CBF", "TEST"), None).unwrap();
    let (db, _) = Database::build(&path, &train, &Options::default()).unwrap();
    let db = std::sync::Arc::new(db);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let queries_file = dir.path().join("q.tsv");
    ingest::ucr::write(&queries_file, &test.series[..20], &test.labels[..20]).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
        .args([
            "query",
            path.to_str().unwrap(),
            "--queries",
            queries_file.to_str().unwrap(),
            "--k",
            "3",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let db = db.clone();
            let stop = stop.clone();
            let qs: Vec<Vec<f64>> = test.series[t * 10..t * 10 + 10].to_vec();
            std::thread::spawn(move || {
                let mut checked = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || checked < 10 {
                    let snap = db.snapshot();
                    let q = &qs[checked % qs.len()];
                    let got = snap
                        .search(&Query::knn(q, 5).metric(Metric::Euclidean))
                        .unwrap();
                    assert_eq!(
                        got.neighbors,
                        snap.search(&Query::knn(q, 5).metric(Metric::Euclidean).brute_force(true))
                            .map(|r| r.neighbors)
                            .unwrap()
                    );
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    for round in 0..8 {
        let chunk = Dataset {
            series: test.series[100 + round * 20..120 + round * 20].to_vec(),
            labels: test.labels[100 + round * 20..120 + round * 20].to_vec(),
        };
        db.append(&chunk).unwrap();
        db.delete(&[round as u64 * 3, 30 + round as u64 * 20])
            .unwrap();
        if round == 5 {
            db.compact().unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 10);
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 20);
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["neighbors"].as_array().unwrap().len(), 3);
    }
    assert_eq!(db.snapshot().len(), 30 + 160 - 16);
}

/// A segment appended with its own codebook is searched exactly beside the others, and
/// compaction encodes it again with the first codebook while keeping ε an upper bound of the
/// error against the original values.
#[test]
fn refit_append_and_compaction_keep_error_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let train = ingest::read(&ucr("Trace", "TRAIN"), None).unwrap();
    let other = ingest::read(&ucr("Trace", "TEST"), None).unwrap();
    let (db, _) = Database::build(&path, &train, &Options::default()).unwrap();
    let r = db.append_with(&other, true).unwrap();
    assert!(!db
        .snapshot()
        .symbols(r.ids.first().unwrap())
        .unwrap()
        .is_empty());
    for q in other.series.iter().take(4) {
        let got = db
            .snapshot()
            .search(&Query::knn(q, 5).metric(Metric::Euclidean))
            .unwrap();
        assert_eq!(
            got.neighbors,
            db.snapshot()
                .search(&Query::knn(q, 5).metric(Metric::Euclidean).brute_force(true))
                .map(|r| r.neighbors)
                .unwrap()
        );
    }
    db.compact().unwrap();
    let originals: Vec<&Vec<f64>> = train.series.iter().chain(&other.series).collect();
    let records = db.snapshot().series_info().unwrap();
    for (id, x) in originals.iter().enumerate() {
        let rec = records[id];
        let (eps, mx) = qabbadb::codec::error_of(x, &db.snapshot().get(id as u64).unwrap());
        assert!(
            eps <= rec.eps * (1.0 + 1e-9) + 1e-12,
            "id {id}: ε {eps} > stored {}",
            rec.eps
        );
        assert!(
            mx <= rec.max_abs_err * (1.0 + 1e-9) + 1e-12,
            "id {id}: max error {mx} > stored {}",
            rec.max_abs_err
        );
    }
    for q in other.series.iter().take(4) {
        let got = db
            .snapshot()
            .search(&Query::knn(q, 5).metric(Metric::Euclidean))
            .unwrap();
        assert_eq!(
            got.neighbors,
            db.snapshot()
                .search(&Query::knn(q, 5).metric(Metric::Euclidean).brute_force(true))
                .map(|r| r.neighbors)
                .unwrap()
        );
    }
}

/// Corrected series (FORMAT.md §4.12: symbols and levels of their own step, for series the
/// codebook leaves over the error budget) decode the same through appends, deletes and
/// compaction, and the index finds what brute force over the same reconstructions finds.
#[test]
fn corrected_series_through_appends_deletes_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let train = ingest::read(&ucr("Lightning7", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("Lightning7", "TEST"), None).unwrap();
    let opts = Options::default().tol(0.4);
    let (db, _) = Database::build(&path, &train, &opts).unwrap();
    db.append(&test).unwrap();
    db.delete(&[3, 80, 120]).unwrap();
    let info = db.snapshot().info().unwrap();
    assert!(
        info.corrected_series > 40,
        "{} corrected",
        info.corrected_series
    );
    let originals: Vec<&Vec<f64>> = train.series.iter().chain(&test.series).collect();
    let same_as_brute_force = |db: &Database| {
        for (i, q) in originals.iter().enumerate().step_by(25) {
            let dtw = Metric::Dtw {
                window: Window::Fraction(0.1),
            };
            for metric in [Metric::Euclidean, dtw] {
                let query = Query::knn(q, 3).metric(metric);
                let want = db.snapshot().search(&query.brute_force(true)).unwrap();
                for plan in [Plan::Index, Plan::Scan] {
                    let got = db.snapshot().search(&query.plan(plan)).unwrap();
                    assert_eq!(
                        got.neighbors, want.neighbors,
                        "query {i}, {metric:?}, {plan:?}"
                    );
                }
            }
        }
    };
    same_as_brute_force(&db);
    let before = all_values(&db);
    let check_budget = |db: &Database| {
        let records = db.snapshot().series_info().unwrap();
        for r in records {
            let x = originals[r.id.0 as usize];
            let (eps, _) = qabbadb::codec::error_of(x, &db.snapshot().get(r.id).unwrap());
            assert!(eps <= r.eps, "id {}: ε {eps} > stored {}", r.id.0, r.eps);
            assert!(eps / (x.len() as f64).sqrt() <= 0.5 * r.std * (1.0 + 1e-3));
        }
    };
    check_budget(&db);
    db.compact().unwrap();
    assert_eq!(all_values(&db), before, "values unchanged by compaction");
    assert_eq!(
        db.snapshot().info().unwrap().corrected_series,
        info.corrected_series
    );
    check_budget(&db);
    same_as_brute_force(&db);
}

/// `keep_raw` stores the originals bit for bit, through appends, deletes and compaction.
#[test]
fn raw_values_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let train = ingest::read(&ucr("GesturePebbleZ1", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("GesturePebbleZ1", "TEST"), None).unwrap();
    let (db, _) = Database::build(&path, &train, &Options::default().keep_raw(true)).unwrap();
    db.append(&test).unwrap();
    db.delete(&[2, 140]).unwrap();
    let all: Vec<&Vec<f64>> = train.series.iter().chain(&test.series).collect();
    let check = |db: &Database| {
        for (id, x) in all.iter().enumerate() {
            let id = id as u64;
            if id == 2 || id == 140 {
                assert!(db.snapshot().get_raw(id).is_err());
                continue;
            }
            let raw = db.snapshot().get_raw(id).unwrap();
            assert!(
                raw.iter()
                    .map(|v| v.to_bits())
                    .eq(x.iter().map(|v| v.to_bits())),
                "id {id}"
            );
        }
    };
    check(&db);
    db.compact().unwrap();
    check(&db);
    assert!(
        db.snapshot()
            .info()
            .unwrap()
            .sections
            .get("raw")
            .copied()
            .unwrap()
            > 0
    );
    assert!(Database::verify(&path).is_empty());
    drop(db);
    let plain = dir.path().join("plain");
    let (db, _) = Database::build(&plain, &train, &Options::default()).unwrap();
    assert!(matches!(db.snapshot().get_raw(0), Err(Error::NoRawValues)));
}

/// An alphabet of more than 65,536 symbols: symbols are then held in 4 bytes in memory (2
/// otherwise); reads, exports and searches agree either way.
#[test]
fn large_alphabets_read_and_search_like_small_ones() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let series: Vec<Vec<f64>> = (0..2500)
        .map(|_| {
            let mut acc = 0.0;
            (0..120)
                .map(|_| {
                    acc += rng.gen_range(-1.0..1.0);
                    acc
                })
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .tol(0.02)
        .max_rmse(f64::INFINITY)
        .digitizer(qabbadb::Digitizer::Greedy { alpha: Some(1e-12) });
    let (db, _) = Database::build(
        &dir.path().join("big"),
        &Dataset::from_series(series),
        &opts,
    )
    .unwrap();
    assert!(
        db.snapshot().info().unwrap().symbols > 65_536,
        "{} symbols",
        db.snapshot().info().unwrap().symbols
    );
    let exported = db.snapshot().export().unwrap();
    for (id, x) in exported.series.iter().enumerate().step_by(97) {
        assert_eq!(&db.snapshot().get(id as u64).unwrap(), x);
    }
    let q = &exported.series[5];
    assert_eq!(
        db.snapshot()
            .search(&Query::knn(q, 3).metric(Metric::Euclidean))
            .unwrap()
            .neighbors,
        db.snapshot()
            .search(&Query::knn(q, 3).metric(Metric::Euclidean).brute_force(true))
            .map(|r| r.neighbors)
            .unwrap()
    );
    assert_eq!(
        db.snapshot()
            .search(&Query::knn(q, 1).metric(Metric::Euclidean))
            .unwrap()
            .neighbors[0]
            .id,
        5
    );
}

/// Deleting an id that is already gone behaves the same before and after compaction: counted as
/// deleted already, not an error; ranges may span compacted ids; ids never given are errors.
#[test]
fn delete_is_idempotent_across_compaction() {
    use qabbadb::DeleteReport;
    let tmp = tempfile::tempdir().unwrap();
    let data = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let (db, _) = Database::build(&tmp.path().join("d.qdb"), &data, &Options::default()).unwrap();
    let report = |deleted, already_deleted| DeleteReport {
        deleted,
        already_deleted,
    };
    assert_eq!(db.delete(&[3, 35, 35]).unwrap(), report(2, 0));
    assert_eq!(db.delete(&[35]).unwrap(), report(0, 1), "before compaction");
    db.compact().unwrap();
    assert_eq!(db.delete(&[35]).unwrap(), report(0, 1), "after compaction");
    assert_eq!(
        db.delete(&(0..50).collect::<Vec<_>>()).unwrap(),
        report(48, 2)
    );
    assert_eq!(db.snapshot().len(), 50);
    // Ids never given: an error, and nothing is deleted.
    assert!(matches!(
        db.delete(&[60, 100]),
        Err(Error::NotFound(qabbadb::SeriesId(100)))
    ));
    assert!(matches!(db.delete(&[u64::MAX]), Err(Error::NotFound(_))));
    assert_eq!(db.snapshot().len(), 50);
    // The tool says the same.
    let dir = tmp.path().join("d.qdb");
    drop(db);
    let d = dir.to_str().unwrap();
    let (code, out, err) = crate::util::qabbadb(&["delete", d, "--ids", "0-49,60"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("deleted 1 series (50 of the ids given were deleted already)"),
        "{out}"
    );
    let (code, _, err) = crate::util::qabbadb(&["delete", d, "--ids", "99-100"]);
    assert_eq!(code, 2);
    assert!(err.contains("no series with id 100"), "{err}");
}
