//! Exact answers over the original series: indexed search with `Exactness::Original` equals brute
//! force over the normalised originals, and the ε bounds it relies on hold.

use proptest::prelude::*;
use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Exactness, Metric, Options, Plan, Query, Window};
use rand::{Rng, SeedableRng};

use crate::util::ucr;

/// Both plans (the index, and the scan of small segments) against brute force; the raw reads
/// of the index plan.
fn check(db: &Database, q: &[f64], metric: Metric) -> u64 {
    let mut raw_reads = 0;
    for plan in [Plan::Index, Plan::Scan] {
        raw_reads += check_plan(db, q, metric, plan);
    }
    raw_reads
}

fn check_plan(db: &Database, q: &[f64], metric: Metric, plan: Plan) -> u64 {
    let mut raw_reads = 0;
    for k in [1, 5] {
        let got = db
            .snapshot()
            .search(
                &Query::knn(q, k)
                    .metric(metric)
                    .exactness(Exactness::Original)
                    .plan(plan),
            )
            .unwrap();
        let want = db
            .snapshot()
            .search(
                &Query::knn(q, k)
                    .metric(metric)
                    .exactness(qabbadb::Exactness::Original)
                    .brute_force(true),
            )
            .map(|r| r.neighbors)
            .unwrap();
        assert_eq!(got.neighbors, want, "k {k}, {metric:?}, {plan:?}");
        raw_reads += got.stats.raw_reads;
    }
    let r = db
        .snapshot()
        .search(
            &Query::knn(q, 5)
                .metric(metric)
                .exactness(qabbadb::Exactness::Original)
                .brute_force(true),
        )
        .map(|r| r.neighbors)
        .unwrap()
        .last()
        .map(|n| n.distance)
        .unwrap_or(0.0);
    let got = db
        .snapshot()
        .search(
            &Query::range(q, r)
                .metric(metric)
                .exactness(Exactness::Original)
                .plan(plan),
        )
        .unwrap();
    assert_eq!(
        got.neighbors,
        db.snapshot()
            .search(
                &Query::range(q, r)
                    .metric(metric)
                    .exactness(qabbadb::Exactness::Original)
                    .brute_force(true)
            )
            .map(|r| r.neighbors)
            .unwrap()
    );
    raw_reads
}

#[test]
fn original_exact_knn_matches_brute_force_on_ucr() {
    for name in ["GunPoint", "ECG200", "CBF"] {
        let train = ingest::read(&ucr(name, "TRAIN"), None).unwrap();
        let test = ingest::read(&ucr(name, "TEST"), None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Database::build(
            &dir.path().join("o"),
            &train,
            &Options::default().keep_raw(true),
        )
        .unwrap();
        let mut reads = 0;
        for q in test.series.iter().take(5) {
            reads += check(&db, q, Metric::Euclidean);
            reads += check(
                &db,
                q,
                Metric::Dtw {
                    window: Window::Fraction(0.1),
                },
            );
        }
        // The bounds settle most candidates: far fewer raw reads than series examined.
        assert!(
            reads < 5 * 2 * 2 * train.len() as u64,
            "{name}: {reads} raw reads"
        );
        // Reconstructed answers may differ; original ones are the classic 1-NN of the archive.
        let q = &test.series[0];
        let orig = db
            .snapshot()
            .search(
                &Query::knn(q, 1)
                    .metric(Metric::Euclidean)
                    .exactness(Exactness::Original),
            )
            .unwrap();
        let d = orig.neighbors[0].distance;
        let x = db.snapshot().get_raw(orig.neighbors[0].id).unwrap();
        let zq = qabbadb::codec::Moments::of(q).normalize(q);
        let zx = qabbadb::codec::Moments::of(&x).normalize(&x);
        let direct: f64 = zq
            .iter()
            .zip(&zx)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (d - direct).abs() < 1e-9,
            "{name}: reported {d}, direct {direct}"
        );
    }
}

#[test]
fn original_exactness_needs_raw_values() {
    let train = ingest::read(&ucr("Coffee", "TRAIN"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::build(&dir.path().join("p"), &train, &Options::default()).unwrap();
    assert!(db
        .snapshot()
        .search(
            &Query::knn(&train.series[0], 1)
                .metric(Metric::Euclidean)
                .exactness(Exactness::Original)
        )
        .is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn random_walks_original_exact(
        seed in any::<u64>(),
        n in 8usize..80,
        r in 0usize..6,
        delta in prop::option::of(0.01f64..0.5),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let series: Vec<Vec<f64>> = (0..200)
            .map(|_| {
                let mut acc = 0.0;
                (0..n).map(|_| { acc += rng.gen_range(-1.0..1.0); acc }).collect()
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        // A coarse codec (large tol, no budget), so that reconstructions differ from originals;
        // with or without residuals bounding every value within δ.
        let opts = Options::default()
            .keep_raw(true)
            .tol(0.6)
            .max_rmse(f64::INFINITY)
            .max_error(delta);
        let (db, _) = Database::build(&dir.path().join("r"), &Dataset::from_series(series.clone()), &opts).unwrap();
        let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
        for metric in [Metric::Euclidean, Metric::Dtw { window: Window::Points(r) }] {
            for (k, plan) in [(1, Plan::Index), (3, Plan::Index), (1, Plan::Scan), (3, Plan::Scan)] {
                let got = db.snapshot().search(&Query::knn(&q, k).metric(metric).exactness(Exactness::Original).plan(plan)).unwrap();
                prop_assert_eq!(got.neighbors, db.snapshot().search(&Query::knn(&q, k).metric(metric).exactness(qabbadb::Exactness::Original).brute_force(true)).map(|r| r.neighbors).unwrap());
            }
        }
        // The bound itself: |ED(q, z) − ED(q, ẑ)| ≤ ε/σ for every series.
        let norm = db.snapshot().export_normalized().unwrap();
        let zq = qabbadb::codec::Moments::of(&q).normalize(&q);
        for (i, rec) in db.snapshot().series_info().unwrap().iter().enumerate() {
            let x = &series[i];
            let z = qabbadb::codec::Moments::of(x).normalize(x);
            let ed = |a: &[f64]| zq.iter().zip(a).map(|(u, v)| (u - v).powi(2)).sum::<f64>().sqrt();
            let e = if rec.std > 0.0 { rec.eps / rec.std } else { 0.0 };
            prop_assert!((ed(&z) - ed(&norm.series[i])).abs() <= e * (1.0 + 1e-9) + 1e-9);
            // And the DTW slack: DTW(q, z) ≥ DTW(q, ẑ) − √(ε² + min((n−1)·M², 2r·ε²)).
            let m = if rec.std > 0.0 { rec.max_abs_err / rec.std } else { 0.0 };
            if let Some(d) = delta {
                prop_assert!(rec.max_abs_err <= d * (1.0 + 2f64.powi(-7)));
            }
            let slack = (e * e + ((n as f64 - 1.0) * m * m).min(2.0 * r as f64 * e * e)).sqrt();
            let dtw = |a: &[f64]| qabbadb::distance::dtw::distance_sq(&zq, a, r.min(n - 1)).sqrt();
            prop_assert!(dtw(&z) >= dtw(&norm.series[i]) - slack * (1.0 + 1e-9) - 1e-9);
        }
    }
}

/// Original values and blocks read by `get` go through one cache of decoded blocks with a byte
/// budget: answers over the originals equal brute force at any budget, the cache stays within
/// it, and `get` / `get_raw` give the same values before and after a search decoded the segment.
#[test]
fn the_block_cache_keeps_within_its_budget() {
    let series: Vec<Vec<f64>> = (0..3000).map(|i| crate::util::walk(i, 64)).collect();
    let data = qabbadb::ingest::Dataset::from_series(series.clone());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("c.qdb");
    let opts = qabbadb::Options::default()
        .keep_raw(true)
        .max_error(Some(0.05));
    drop(qabbadb::Database::build(&path, &data, &opts).unwrap());
    let cold = qabbadb::Database::open_read_only(&path).unwrap();
    let gets: Vec<Vec<f64>> = (0..3000u64)
        .step_by(7)
        .map(|id| cold.snapshot().get(id).unwrap())
        .collect();
    for (i, id) in (0..3000u64).step_by(7).enumerate() {
        assert_eq!(cold.snapshot().get_raw(id).unwrap(), series[id as usize]);
        assert_eq!(gets[i].len(), 64);
    }
    let (budget, held, (hits, misses)) = cold.cache_usage();
    assert!(held <= budget && hits > 0 && misses > 0);
    for budget in [0usize, 40_000, 1 << 30] {
        let db = qabbadb::Database::open_read_only(&path).unwrap();
        db.set_cache_bytes(budget);
        for q in 0..6u64 {
            let query: Vec<f64> = crate::util::walk(10_000 + q, 64);
            let k = Query::knn(&query, 3).exactness(qabbadb::Exactness::Original);
            let got = db.snapshot().search(&k).unwrap().neighbors;
            let want = db
                .snapshot()
                .search(&k.brute_force(true))
                .unwrap()
                .neighbors;
            assert_eq!(got, want, "budget {budget}");
            assert!(
                db.cache_usage().1 <= budget,
                "budget {budget}: {:?}",
                db.cache_usage()
            );
        }
        // After the search decoded the segment, get reads the same values.
        for (i, id) in (0..3000u64).step_by(7).enumerate() {
            assert_eq!(
                db.snapshot().get(id).unwrap(),
                gets[i],
                "budget {budget} id {id}"
            );
        }
    }
}
