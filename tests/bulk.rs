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
    let info = db.snapshot().info().unwrap();
    assert_eq!(info.segments.len(), 3);
    assert_eq!(info.series, 2_500);
    assert!(Database::verify(&path).is_empty());
    // One codebook for every segment; every series within its stored error bounds.
    let stored = db.snapshot().series_info().unwrap();
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
    let db = crate::util::open_when_free(&path);
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
    drop(crate::util::open_when_free(&path));
    let bad = BulkOptions {
        segment_series: 0,
        ..sizes()
    };
    assert!(matches!(
        Database::bulk_loader(&tmp.path().join("z"), &Options::default(), bad),
        Err(Error::InvalidOptions(_))
    ));
    assert!(
        !tmp.path().join("z").exists(),
        "refused before anything is created"
    );
    assert!(matches!(
        crate::util::open_when_free(&path).append_loader(bad),
        Err(Error::InvalidOptions(_))
    ));
}

/// An append loader stores what `append` stores (same ids, same codebook, the same
/// reconstructions), a segment at a time; one that fails keeps every earlier commit.
#[test]
fn an_append_loader_stores_what_append_stores() {
    let first: Vec<Vec<f64>> = (0..400).map(|i| walk(i, 80)).collect();
    let more: Vec<Vec<f64>> = (400..1_900).map(|i| walk(i, 80)).collect();
    let labels: Vec<Option<String>> = (0..more.len())
        .map(|i| Some(format!("m{}", i % 3)))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.qdb"), tmp.path().join("b.qdb"));
    for p in [&a, &b] {
        Database::build(
            p,
            &Dataset::from_series(first.clone()),
            &Options::default().keep_raw(true),
        )
        .unwrap();
    }
    let whole = crate::util::open_when_free(&a);
    whole
        .append(&Dataset {
            series: more.clone(),
            labels: labels.clone(),
        })
        .unwrap();
    let mut loader = crate::util::open_when_free(&b)
        .append_loader(sizes())
        .unwrap();
    for (s, l) in more.iter().zip(&labels) {
        loader.push(s.clone(), l.clone()).unwrap();
    }
    let (streamed, report) = loader.finish().unwrap();
    assert_eq!(report.ids.first().map(|i| i.0), Some(400));
    assert_eq!(report.ids.len(), more.len());
    let (sa, sb) = (whole.snapshot(), streamed.snapshot());
    assert_eq!(sb.len(), 1_900);
    assert_eq!(
        sb.info().unwrap().segments.len(),
        3,
        "the build's segment, then 1,000 + 500"
    );
    for id in 0..1_900u64 {
        assert_eq!(sa.get(id).unwrap(), sb.get(id).unwrap(), "series {id}");
        assert_eq!(sa.label(id).unwrap(), sb.label(id).unwrap());
    }
    assert_eq!(sb.get_raw(1_234).unwrap(), more[1_234 - 400]);
    // The originals, compressed block by block as they arrived, are every series' values.
    assert_eq!(sa.export_raw().unwrap(), sb.export_raw().unwrap());
    let q = walk(99_999, 80);
    assert_eq!(
        sb.search(&Query::knn(&q, 5)).unwrap().neighbors,
        sb.search(&Query::knn(&q, 5).brute_force(true))
            .unwrap()
            .neighbors
    );
    drop((sa, sb, streamed));

    // A bad series after the first 1,000 appended: the segment committed before it stays.
    let mut loader = crate::util::open_when_free(&b)
        .append_loader(sizes())
        .unwrap();
    for s in more.iter().take(1_200) {
        loader.push(s.clone(), None).unwrap();
    }
    let mut bad = more[0].clone();
    bad[3] = f64::NAN;
    // The error comes when the chunk holding the bad series is encoded.
    let mut failed = false;
    for s in std::iter::once(bad).chain(more.iter().take(400).cloned()) {
        if loader.push(s, None).is_err() {
            failed = true;
            break;
        }
    }
    let failed = if failed {
        drop(loader);
        true
    } else {
        loader.finish().is_err()
    };
    assert!(failed, "a NaN is an error");
    let after = crate::util::open_when_free(&b).snapshot();
    assert_eq!(after.len(), 1_900 + 1_000);
    assert_eq!(after.get(2_899).unwrap(), after.get(400 + 999).unwrap());
}
