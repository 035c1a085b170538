//! Streaming bulk load: segments of bounded size committed as they fill, one codebook fitted to
//! a sample, every series stored within its error bounds, answers equal to brute force.

use std::sync::{Arc, Mutex};

use qabbadb::ingest::Dataset;
use qabbadb::{BulkOptions, Database, Error, Options, Query};

use crate::util::walk;

fn sizes() -> BulkOptions {
    BulkOptions {
        sample_values: 20_000,
        chunk_series: 300,
        segment_series: 1_000,
    }
}

#[test]
fn a_bulk_load_commits_segments_as_they_fill() {
    let series: Vec<Vec<f64>> = (0..2_500).map(|i| walk(i, 64 + (i % 3) as usize)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("b.qdb");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut loader = Database::bulk_loader(&path, &Options::default(), sizes())
        .unwrap()
        .on_progress(move |p| log.lock().unwrap().push(p));
    for (i, s) in series.iter().enumerate() {
        loader.push(s.clone(), Some(format!("c{}", i % 4))).unwrap();
        if i == 1_499 {
            // The first segment is committed: another process can open it already.
            let r = Database::open_read_only(&path).unwrap();
            assert_eq!(r.snapshot().len(), 1_000);
        }
    }
    let (db, report) = loader.finish().unwrap();
    assert_eq!(report.ids.len(), 2_500);
    let progress = seen.lock().unwrap();
    let last = progress.last().unwrap();
    assert_eq!(
        (last.series, last.committed, last.segments),
        (2_500, 2_500, 3)
    );
    let info = db.snapshot().info();
    assert_eq!(info.segments.len(), 3);
    assert_eq!(info.series, 2_500);
    assert!(Database::verify(&path).is_empty());
    // One codebook for every segment; every series within its stored error bounds.
    let stored = db.snapshot().series_info();
    for (i, x) in series.iter().enumerate() {
        let y = db.snapshot().get(i as u64).unwrap();
        assert_eq!(y.len(), x.len());
        let (eps, mx) = qabbadb::codec::error_of(x, &y);
        assert!(eps <= stored[i].eps && mx <= stored[i].max_abs_err, "#{i}");
        assert_eq!(
            db.snapshot().label(i as u64).unwrap(),
            Some(format!("c{}", i % 4))
        );
    }
    // Search over the three segments equals brute force.
    for q in 0..5u64 {
        let query = walk(90_000 + q, 65);
        let k = Query::knn(&query, 4);
        assert_eq!(
            db.snapshot().search(&k).unwrap().neighbors,
            db.snapshot()
                .search(&k.brute_force(true))
                .unwrap()
                .neighbors
        );
    }
    // The result is that of the same load with one thread.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let path1 = tmp.path().join("one.qdb");
    let (db1, _) = one.install(|| {
        let mut l = Database::bulk_loader(&path1, &Options::default(), sizes()).unwrap();
        l.push_batch(&Dataset {
            series: series.clone(),
            labels: (0..2_500).map(|i| Some(format!("c{}", i % 4))).collect(),
        })
        .unwrap();
        l.finish().unwrap()
    });
    assert_eq!(
        db1.snapshot().export().unwrap(),
        db.snapshot().export().unwrap()
    );
}

#[test]
fn a_failed_bulk_load_keeps_what_it_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.qdb");
    let mut loader = Database::bulk_loader(&path, &Options::default(), sizes()).unwrap();
    // The sample is the first 313 series; then chunks of 300: the chunk that ends at 1,213
    // fills the first segment of 1,000, which is committed.
    for i in 0..1_300 {
        loader.push(walk(i, 64), None).unwrap();
    }
    // A NaN in the next chunk: the error names it, the first segment stays.
    let mut bad = walk(5, 64);
    bad[7] = f64::NAN;
    let mut err = None;
    for i in 0..400 {
        let s = if i == 10 {
            bad.clone()
        } else {
            walk(2_000 + i, 64)
        };
        if let Err(e) = loader.push(s, None) {
            err = Some(e);
            break;
        }
    }
    assert!(err.unwrap().to_string().contains("NaN"));
    assert!(
        loader.push(walk(1, 64), None).is_err(),
        "the load has ended"
    );
    assert!(loader.finish().is_err());
    let db = Database::open(&path).unwrap();
    assert_eq!(db.snapshot().len(), 1_000);
    assert!(Database::verify(&path).is_empty());
    // A load that fails before its first commit leaves no database, as a failed build.
    let p2 = tmp.path().join("g.qdb");
    let mut l = Database::bulk_loader(&p2, &Options::default(), sizes()).unwrap();
    l.push(bad.clone(), None).unwrap();
    assert!(l.finish().is_err());
    assert!(!p2.exists());
    // Dropped without finishing: what was committed stays.
    let p3 = tmp.path().join("h.qdb");
    let mut l = Database::bulk_loader(&p3, &Options::default(), sizes()).unwrap();
    for i in 0..1_300 {
        l.push(walk(i, 32), None).unwrap();
    }
    drop(l);
    assert_eq!(Database::open(&p3).unwrap().snapshot().len(), 1_000);
}

#[test]
fn empty_bulk_loads_and_bad_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("e.qdb");
    let (db, _) = Database::bulk_loader(&path, &Options::default(), sizes())
        .unwrap()
        .finish()
        .unwrap();
    assert!(db.snapshot().is_empty());
    drop(db);
    assert!(Database::open(&path).is_ok());
    let bad = BulkOptions {
        segment_series: 0,
        ..sizes()
    };
    assert!(matches!(
        Database::bulk_loader(&tmp.path().join("z"), &Options::default(), bad),
        Err(Error::InvalidOptions(_))
    ));
}
