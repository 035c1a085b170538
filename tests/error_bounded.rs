//! Error-bounded mode (`max_error = δ`): every stored value lies within δ of the original,
//! checked value by value, through the codec, the database's reads, append, delete, compaction
//! and reopening; searches over the bounded reconstructions stay exact.

use proptest::prelude::*;
use qabbadb::codec::{self, residual, CodecParams, Storage};
use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Exactness, Metric, Options, Plan, Query, Window};
use rand::{Rng, SeedableRng};

use crate::util::{ucr, DATASETS};

/// The series with their ids (0, 1, … in order).
fn with_ids(series: &[Vec<f64>]) -> Vec<(u64, Vec<f64>)> {
    series
        .iter()
        .cloned()
        .zip(0u64..)
        .map(|(s, i)| (i, s))
        .collect()
}

/// Every value of every live series within δ of the original, in exact arithmetic; ε ≤ δ√n.
fn assert_bounded(db: &Database, originals: &[(u64, Vec<f64>)], delta: f64) {
    let records = db.snapshot().series_info().unwrap();
    for (id, x) in originals {
        let y = db.snapshot().get(*id).unwrap();
        assert_eq!(y.len(), x.len(), "id {id}: length");
        for (t, (a, b)) in x.iter().zip(&y).enumerate() {
            assert!(
                residual::within(*a, *b, delta) && (a - b).abs() <= delta,
                "id {id} t {t}: |{a} − {b}| > {delta}"
            );
        }
        let r = records.iter().find(|r| r.id == *id).unwrap();
        // Stored bounds are rounded up to 8 significant bits (FORMAT.md §4.3).
        let up = 1.0 + 2f64.powi(-7);
        let cap = delta * (x.len() as f64).sqrt() * up;
        assert!(r.eps <= cap, "id {id}: ε {} above δ√n {cap}", r.eps);
        assert!(r.max_abs_err <= delta * up);
    }
    // The export path (block-wise decoding) returns the same values as get.
    let export = db.snapshot().export().unwrap();
    for (s, (id, _)) in export.series.iter().zip(originals) {
        assert_eq!(s, &db.snapshot().get(*id).unwrap());
    }
}

#[test]
fn every_value_within_delta_on_ucr() {
    for &name in DATASETS {
        let data = ingest::read(&ucr(name, "TRAIN"), None).unwrap();
        // δ relative to the data's spread: a quarter of a percent of the mean σ.
        let spread = data
            .series
            .iter()
            .map(|s| codec::Moments::of(s).std)
            .sum::<f64>()
            / data.len() as f64;
        for delta in [0.0025 * spread.max(1e-9), 0.05 * spread.max(1e-9)] {
            let dir = tempfile::tempdir().unwrap();
            let opts = Options::default().max_error(Some(delta));
            let (db, _) = Database::build(&dir.path().join("b"), &data, &opts).unwrap();
            let originals = with_ids(&data.series);
            assert_bounded(&db, &originals, delta);
            assert!(Database::verify(db.path()).is_empty());
        }
    }
}

#[test]
fn bound_survives_append_delete_refit_compact_and_reopen() {
    for keep_raw in [false, true] {
        let train = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
        let test = ingest::read(&ucr("ECG200", "TEST"), None).unwrap();
        let cbf = ingest::read(&ucr("CBF", "TRAIN"), None).unwrap();
        let cbf = Dataset {
            series: cbf.series.iter().map(|s| s[..96].to_vec()).collect(),
            labels: cbf.labels.clone(),
        };
        let delta = 0.02;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        let opts = Options::default().max_error(Some(delta)).keep_raw(keep_raw);
        let (db, _) = Database::build(&path, &train, &opts).unwrap();
        db.append(&test).unwrap();
        // A segment with its own codebook: compaction must not lose the bound.
        db.append_with(&cbf, true).unwrap();
        let all: Vec<Vec<f64>> = [&train.series, &test.series, &cbf.series]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let mut originals = with_ids(&all);
        assert_bounded(&db, &originals, delta);
        db.delete(&[3, 150, 201]).unwrap();
        originals.retain(|(id, _)| ![3, 150, 201].contains(id));
        db.compact().unwrap();
        assert_bounded(&db, &originals, delta);
        // Encoded again from the raw values when kept (still symbolic); otherwise the bounded
        // reconstruction is kept exactly, since encoding it again would add to its error.
        let recs = db.snapshot().series_info().unwrap();
        assert!(recs
            .iter()
            .filter(|r| r.id.0 >= 200)
            .all(|r| r.lossless != keep_raw));
        drop(db);
        let db = crate::util::open_when_free(&path);
        assert_eq!(db.options().codec.max_error, Some(delta));
        assert_bounded(&db, &originals, delta);
        assert!(Database::verify(&path).is_empty());
        // Search over the bounded reconstructions equals brute force over what get returns.
        let q = &test.series[7];
        let zq = codec::Moments::of(q).normalize(q);
        let norm = db.snapshot().export_normalized().unwrap();
        let ids = db.snapshot().ids().unwrap();
        let mut want: Vec<(f64, qabbadb::SeriesId)> = norm
            .series
            .iter()
            .zip(&ids)
            .map(|(s, &id)| {
                let d: f64 = zq.iter().zip(s).map(|(a, b)| (a - b).powi(2)).sum();
                (d.sqrt(), id)
            })
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let got = db
            .snapshot()
            .search(&Query::knn(q, 5).metric(Metric::Euclidean))
            .unwrap();
        for (n, (d, id)) in got.neighbors.iter().zip(&want) {
            assert_eq!(n.id, *id);
            assert!((n.distance - d).abs() <= 1e-9 * (1.0 + d));
        }
        assert_eq!(
            got.neighbors,
            db.snapshot()
                .search(&Query::knn(q, 5).metric(Metric::Euclidean).brute_force(true))
                .map(|r| r.neighbors)
                .unwrap()
        );
    }
}

#[test]
fn unresolvable_bounds_fall_back_to_lossless() {
    // Errors of about 1e3 in steps of 2e-14: levels beyond ±2^52, the series is kept exactly.
    let data = Dataset::from_series(vec![
        (0..50).map(|t| 1e12 + (t as f64).sin() * 1e3).collect(),
        (0..50).map(|t| (t as f64 * 0.3).cos()).collect(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().max_error(Some(1e-14));
    let (db, _) = Database::build(&dir.path().join("l"), &data, &opts).unwrap();
    assert!(
        db.snapshot().series_info().unwrap()[0].lossless,
        "stored losslessly"
    );
    assert_eq!(db.snapshot().get(0).unwrap(), data.series[0]);
    let originals = with_ids(&data.series);
    assert_bounded(&db, &originals, 1e-14);
}

#[test]
fn bad_bounds_are_refused() {
    let data = Dataset::from_series(vec![vec![1.0, 2.0, 3.0]]);
    for d in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default().max_error(Some(d));
        assert!(
            matches!(
                Database::build(&dir.path().join("x"), &data, &opts),
                Err(qabbadb::Error::InvalidOptions(_))
            ),
            "δ = {d}"
        );
    }
}

#[test]
fn original_exactness_with_residuals_reads_fewer_raw_values() {
    let train = ingest::read(&ucr("ECG5000", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("ECG5000", "TEST"), None).unwrap();
    let mut reads = [0u64; 2];
    for (i, delta) in [None, Some(0.05)].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default().keep_raw(true).max_error(delta);
        let (db, _) = Database::build(&dir.path().join("o"), &train, &opts).unwrap();
        for q in test.series.iter().step_by(300) {
            for metric in [
                Metric::Euclidean,
                Metric::Dtw {
                    window: Window::Fraction(0.1),
                },
            ] {
                let got = db
                    .snapshot()
                    .search(
                        &Query::knn(q, 3)
                            .metric(metric)
                            .exactness(Exactness::Original)
                            .plan(Plan::Index),
                    )
                    .unwrap();
                assert_eq!(
                    got.neighbors,
                    db.snapshot()
                        .search(
                            &Query::knn(q, 3)
                                .metric(metric)
                                .exactness(qabbadb::Exactness::Original)
                                .brute_force(true)
                        )
                        .map(|r| r.neighbors)
                        .unwrap()
                );
                reads[i] += got.stats.raw_reads;
            }
        }
    }
    // ε shrinks from the symbolic error to at most δ√n: the bounds settle more candidates.
    assert!(reads[1] < reads[0], "raw reads {reads:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The codec alone: any scale, offset, length and bound.
    #[test]
    fn codec_never_exceeds_delta(
        seed in any::<u64>(),
        count in 1usize..12,
        n in 1usize..120,
        scale_exp in -6i32..7,
        offset in -1e6f64..1e6,
        rel in 1e-4f64..2.0,
        tol in 0.05f64..0.8,
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let scale = 10f64.powi(scale_exp);
        let series: Vec<Vec<f64>> = (0..count)
            .map(|_| {
                let mut acc = 0.0;
                (0..n).map(|_| { acc += rng.gen_range(-1.0..1.0); offset + scale * acc }).collect()
            })
            .collect();
        let delta = rel * scale;
        let p = CodecParams { tol, max_error: Some(delta), max_rmse: f64::INFINITY, ..Default::default() };
        let (cb, enc, _) = codec::fit_encode(&series, &p).unwrap();
        let centres = cb.centres();
        for (x, e) in series.iter().zip(&enc) {
            let y = e.decode(&centres, Some(delta)).unwrap();
            prop_assert_eq!(y.len(), x.len());
            for (a, b) in x.iter().zip(&y) {
                prop_assert!(residual::within(*a, *b, delta), "|{} − {}| > {}", a, b, delta);
            }
            if let Storage::Symbolic(_) = e.storage {
                prop_assert_eq!(e.residuals.len(), x.len());
            }
        }
    }
}
