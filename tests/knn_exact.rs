//! Indexed search equals brute force over the normalised reconstructions: same ids, same
//! distances, same order (ties by id), for k-NN and range, Euclidean and DTW.

use proptest::prelude::*;
use qabbadb::ingest::{self, Dataset};
use qabbadb::{
    BreakpointChoice, Database, Exactness, IndexParams, Metric, Options, Plan, Query, Window,
};
use rand::{Rng, SeedableRng};

use crate::util::ucr;

fn build(data: &Dataset, word_len: usize, bp: BreakpointChoice) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().index(Some(IndexParams {
        word_len,
        breakpoints: bp,
    }));
    let (db, _) = Database::build(&dir.path().join("k.qdb"), data, &opts).unwrap();
    (dir, db)
}

/// Both plans (the index, and the scan of small segments) against brute force.
fn check(db: &Database, query: &[f64], metric: Metric) {
    for plan in [Plan::Index, Plan::Scan] {
        check_plan(db, query, metric, plan);
    }
}

fn check_plan(db: &Database, query: &[f64], metric: Metric, plan: Plan) {
    for k in [1, 3, 10] {
        let got = db
            .snapshot()
            .search(&Query::knn(query, k).metric(metric).plan(plan))
            .unwrap();
        let want = db
            .snapshot()
            .search(&Query::knn(query, k).metric(metric).brute_force(true))
            .map(|r| r.neighbors)
            .unwrap();
        assert_eq!(got.neighbors, want, "k = {k}, {metric:?}, {plan:?}");
        assert!(got.stats.verified <= db.snapshot().len() as u64);
    }
    let want10 = db
        .snapshot()
        .search(&Query::knn(query, 10).metric(metric).brute_force(true))
        .map(|r| r.neighbors)
        .unwrap();
    if let Some(last) = want10.last() {
        let r = last.distance;
        let got = db
            .snapshot()
            .search(&Query::range(query, r).metric(metric).plan(plan))
            .unwrap();
        assert_eq!(
            got.neighbors,
            db.snapshot()
                .search(&Query::range(query, r).metric(metric).brute_force(true))
                .map(|r| r.neighbors)
                .unwrap(),
            "range {r}"
        );
        assert!(got.neighbors.len() >= want10.len());
    }
}

#[test]
fn ucr_queries_match_brute_force() {
    let metrics = [
        Metric::Euclidean,
        Metric::Dtw {
            window: Window::Fraction(0.1),
        },
        Metric::Dtw {
            window: Window::Points(3),
        },
        Metric::Dtw {
            window: Window::Fraction(1.0),
        },
    ];
    for (name, word_len, bp) in [
        ("GunPoint", 16, BreakpointChoice::Kde),
        ("ECG200", 8, BreakpointChoice::Gaussian),
        ("CBF", 16, BreakpointChoice::Auto),
        ("ArrowHead", 10, BreakpointChoice::Kde),
    ] {
        let train = ingest::read(&ucr(name, "TRAIN"), None).unwrap();
        let test = ingest::read(&ucr(name, "TEST"), None).unwrap();
        let (_dir, db) = build(&train, word_len, bp);
        for q in test.series.iter().take(6) {
            for m in metrics {
                check(&db, q, m);
            }
        }
        // A stored series' reconstruction finds that series first.
        let x = db.snapshot().get(3).unwrap();
        let r = db
            .snapshot()
            .search(&Query::knn(&x, 1).metric(Metric::Euclidean))
            .unwrap();
        assert_eq!(r.neighbors[0].id, 3, "{name}");
    }
}

#[test]
fn random_walks_and_noisy_copies_match_and_prune() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let walk = |rng: &mut rand_chacha::ChaCha8Rng| {
        let mut acc = 0.0;
        (0..128)
            .map(|_| {
                acc += rng.gen_range(-1.0..1.0);
                acc
            })
            .collect::<Vec<f64>>()
    };
    let series: Vec<Vec<f64>> = (0..3000).map(|_| walk(&mut rng)).collect();
    let (_dir, db) = build(
        &Dataset::from_series(series.clone()),
        16,
        BreakpointChoice::Auto,
    );
    let mut verified = 0u64;
    for i in 0..8 {
        let fresh = walk(&mut rng);
        check(&db, &fresh, Metric::Euclidean);
        let noisy: Vec<f64> = series[i * 100]
            .iter()
            .map(|v| v + rng.gen_range(-0.05..0.05))
            .collect();
        check(&db, &noisy, Metric::Euclidean);
        check(
            &db,
            &noisy,
            Metric::Dtw {
                window: Window::Fraction(0.1),
            },
        );
        verified += db
            .snapshot()
            .search(
                &Query::knn(&noisy, 1)
                    .metric(Metric::Euclidean)
                    .plan(Plan::Index),
            )
            .unwrap()
            .stats
            .verified;
    }
    // Stored series plus noise: the index leaves most series unverified.
    assert!(
        verified < 8 * 3000 / 10,
        "verified {verified} of {}",
        8 * 3000
    );
}

/// Many segments searched as one index (their nodes in one order of bound): segments appended
/// with the first codebook and with their own (other breakpoints), two lengths, deleted series
/// and a filter; k-NN and range over the reconstructions and over the originals, Euclidean and
/// DTW, against brute force.
#[test]
fn many_segments_are_searched_as_one_index() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    let walk = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| {
        let mut acc = 0.0;
        (0..n)
            .map(|_| {
                acc += rng.gen_range(-1.0..1.0);
                acc
            })
            .collect::<Vec<f64>>()
    };
    let chunk = |rng: &mut rand_chacha::ChaCha8Rng| {
        Dataset::from_series(
            (0..240)
                .map(|i| walk(rng, if i % 3 == 0 { 48 } else { 64 }))
                .collect(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().keep_raw(true).max_error(Some(0.05));
    let (db, _) = Database::build(&dir.path().join("m"), &chunk(&mut rng), &opts).unwrap();
    for s in 0..5 {
        db.append_with(&chunk(&mut rng), s % 2 == 1).unwrap();
    }
    let deleted: Vec<u64> = (0..db.snapshot().len() as u64)
        .filter(|i| i % 7 == 3)
        .collect();
    db.delete(&deleted).unwrap();
    assert_eq!(db.snapshot().info().unwrap().segments.len(), 6);
    let stored: Vec<Vec<f64>> = (0..6u64)
        .map(|i| {
            db.snapshot()
                .get(i * 211 + u64::from(i * 211 % 7 == 3))
                .unwrap()
        })
        .collect();
    let filter: roaring::RoaringTreemap = (0..1440u64).filter(|i| i % 5 != 0).collect();
    let dtw = Metric::Dtw {
        window: Window::Fraction(0.1),
    };
    for (i, s) in stored.iter().enumerate() {
        let noisy: Vec<f64> = s.iter().map(|v| v + rng.gen_range(-0.2..0.2)).collect();
        let fresh = walk(&mut rng, s.len());
        for q in [&noisy, &fresh] {
            for metric in [Metric::Euclidean, dtw] {
                check_plan(&db, q, metric, Plan::Index);
                for exactness in [Exactness::Reconstructed, Exactness::Original] {
                    let query = Query::knn(q, 1 + 3 * i)
                        .metric(metric)
                        .exactness(exactness)
                        .plan(Plan::Index);
                    let want = |query: Query| {
                        db.snapshot()
                            .search(&query.brute_force(true))
                            .map(|r| r.neighbors)
                            .unwrap()
                    };
                    let got = db.snapshot().search(&query).unwrap();
                    assert_eq!(got.neighbors, want(query), "{metric:?} {exactness:?}");
                    let filtered = query.filter(&filter);
                    let got = db.snapshot().search(&filtered).unwrap();
                    assert_eq!(got.neighbors, want(filtered), "filtered {metric:?}");
                    let radius = got.neighbors.last().map_or(1.0, |n| n.distance);
                    let range = Query::range(q, radius)
                        .metric(metric)
                        .exactness(exactness)
                        .plan(Plan::Index);
                    let got = db.snapshot().search(&range).unwrap();
                    assert_eq!(got.neighbors, want(range), "range {metric:?} {exactness:?}");
                }
            }
        }
    }
}

#[test]
fn variable_lengths_and_filters() {
    let data = ingest::read(&ucr("GesturePebbleZ1", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("GesturePebbleZ1", "TEST"), None).unwrap();
    let (_dir, db) = build(&data, 16, BreakpointChoice::Auto);
    for q in test.series.iter().take(10) {
        check(&db, q, Metric::Euclidean);
        check(
            &db,
            q,
            Metric::Dtw {
                window: Window::Fraction(0.05),
            },
        );
        let got = db
            .snapshot()
            .search(&Query::knn(q, 5).metric(Metric::Euclidean))
            .unwrap();
        for n in &got.neighbors {
            assert_eq!(
                db.snapshot().get(n.id).unwrap().len(),
                q.len(),
                "only series of the query's length"
            );
        }
    }
    // A length nobody has: no neighbours.
    assert!(db
        .snapshot()
        .search(&Query::knn(&[1.0, 2.0, 3.0], 3).metric(Metric::Euclidean))
        .unwrap()
        .neighbors
        .is_empty());
    // Filter: only even ids.
    let filter: roaring::RoaringTreemap = (0..data.len() as u64).filter(|i| i % 2 == 0).collect();
    let q = &data.series[7];
    let got = db
        .snapshot()
        .search(&Query::knn(q, 4).metric(Metric::Euclidean).filter(&filter))
        .unwrap();
    assert!(got.neighbors.iter().all(|n| n.id.0 % 2 == 0));
    let want: Vec<_> = {
        let all = db
            .snapshot()
            .search(
                &Query::knn(q, data.len())
                    .metric(Metric::Euclidean)
                    .brute_force(true),
            )
            .map(|r| r.neighbors)
            .unwrap();
        all.into_iter()
            .filter(|n| n.id.0 % 2 == 0)
            .take(4)
            .collect()
    };
    assert_eq!(got.neighbors, want);
}

#[test]
fn batch_equals_singles_and_bad_queries_are_errors() {
    let data = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let (_dir, db) = build(&data, 16, BreakpointChoice::Auto);
    let queries: Vec<Vec<f64>> = data.series.iter().take(20).cloned().collect();
    let batch = db
        .snapshot()
        .search_batch(
            &queries
                .iter()
                .map(|q| Query::knn(q, 3).metric(Metric::Euclidean))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    for (q, r) in queries.iter().zip(&batch) {
        assert_eq!(
            r.neighbors,
            db.snapshot()
                .search(&Query::knn(q, 3).metric(Metric::Euclidean))
                .unwrap()
                .neighbors
        );
    }
    assert!(db
        .snapshot()
        .search(&Query::knn(&[], 1).metric(Metric::Euclidean))
        .is_err());
    assert!(db
        .snapshot()
        .search(&Query::knn(&[f64::NAN; 96], 1).metric(Metric::Euclidean))
        .is_err());
    assert!(db
        .snapshot()
        .search(&Query::knn(&queries[0], 0).metric(Metric::Euclidean))
        .is_err());
    assert!(db
        .snapshot()
        .search(&Query::range(&queries[0], -1.0).metric(Metric::Euclidean))
        .is_err());
    assert!(db
        .snapshot()
        .search(&Query::knn(&queries[0], 1).metric(Metric::Dtw {
            window: Window::Fraction(1.5)
        }))
        .is_err());
    // A constant query is all zeros after normalisation: still answered exactly.
    check(&db, &[2.0; 96], Metric::Euclidean);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_collections_match_brute_force(
        seed in any::<u64>(),
        count in 1usize..300,
        n in 2usize..60,
        word_len in 1usize..20,
        r in 0usize..8,
        kde in any::<bool>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let series: Vec<Vec<f64>> = (0..count)
            .map(|_| {
                let mut acc = 0.0;
                (0..n).map(|_| { acc += rng.gen_range(-1.0..1.0); acc }).collect()
            })
            .collect();
        let bp = if kde { BreakpointChoice::Kde } else { BreakpointChoice::Gaussian };
        let (_dir, db) = build(&Dataset::from_series(series.clone()), word_len, bp);
        let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
        for metric in [Metric::Euclidean, Metric::Dtw { window: Window::Points(r) }] {
            for k in [1, 4] {
                let got = db.snapshot().search(&Query::knn(&q, k).metric(metric)).unwrap();
                prop_assert_eq!(got.neighbors, db.snapshot().search(&Query::knn(&q, k).metric(metric).brute_force(true)).map(|r| r.neighbors).unwrap());
            }
        }
    }
}

/// On real data, every word bound is at most the true distance, for both kinds of breakpoints.
#[test]
fn bounds_hold_on_real_data() {
    use qabbadb::index::mindist::MindistTable;
    use qabbadb::index::{paa, Breakpoints};
    for name in ["ACSF1", "Coffee", "ItalyPowerDemand"] {
        let data = ingest::read(&ucr(name, "TRAIN"), None).unwrap();
        let z: Vec<Vec<f64>> = data
            .series
            .iter()
            .map(|x| qabbadb::codec::Moments::of(x).normalize(x))
            .collect();
        let n = z[0].len();
        let w = paa::word_len_for(n, 16);
        let sl = paa::seg_lens(n, w);
        let paas: Vec<Vec<f64>> = z.iter().map(|x| paa::paa(x, w)).collect();
        let all: Vec<f64> = paas.iter().flatten().copied().collect();
        for bp in [Breakpoints::gaussian(), Breakpoints::kde(&all)] {
            for a in 0..z.len().min(30) {
                let t = MindistTable::new(&paas[a], &paas[a], &sl, &bp);
                for b in 0..z.len() {
                    let word: Vec<u8> = paas[b].iter().map(|&v| bp.symbol(v)).collect();
                    let ed: f64 = z[a].iter().zip(&z[b]).map(|(x, y)| (x - y).powi(2)).sum();
                    assert!(t.word_bound_sq(&word) <= ed + 1e-9, "{name} {a} {b}");
                }
            }
        }
    }
}
