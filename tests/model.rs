//! A model-based test of the database: random sequences of appends, deletes, compactions,
//! reopenings, reader refreshes and power cuts (through the simulated disk of `power_cut`),
//! checked after every step against a plain in-memory model (ids → original values and labels,
//! the next id): the live count, every series' original values bit for bit (`get_raw`), the
//! length of every reconstruction, `export_raw`, and exact k-NN over the originals against brute
//! force over the model.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use qabbadb::ingest::Dataset;
use qabbadb::storage::io::Io;
use qabbadb::{Database, Exactness, Options, Query};

use crate::power_cut::{survivors_from, Handle, SimDisk};

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<u64>),
    Delete(Vec<u64>),
    Compact,
    Reopen,
    Refresh,
    PowerCut,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => proptest::collection::vec(0u64..1000, 1..6).prop_map(Step::Append),
        3 => proptest::collection::vec(0u64..40, 1..5).prop_map(Step::Delete),
        1 => Just(Step::Compact),
        1 => Just(Step::Reopen),
        1 => Just(Step::Refresh),
        1 => Just(Step::PowerCut),
    ]
}

/// A seeded random walk of length 24, 32 or 40 (lengths vary, so length groups do too).
fn series(seed: u64) -> Vec<f64> {
    crate::util::walk(seed, 24 + (seed % 3) as usize * 8)
}

type Model = BTreeMap<u64, (Vec<f64>, Option<String>)>;

fn znorm(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt();
    x.iter()
        .map(|v| if s > 0.0 { (v - m) / s } else { 0.0 })
        .collect()
}

fn check(db: &Database, model: &Model, what: &str) -> Result<(), TestCaseError> {
    let snap = db.snapshot();
    prop_assert_eq!(snap.len(), model.len(), "{}: live count", what);
    let ids: Vec<u64> = snap.ids().unwrap().iter().map(|i| i.0).collect();
    prop_assert_eq!(
        ids,
        model.keys().copied().collect::<Vec<_>>(),
        "{}: ids",
        what
    );
    for (&id, (x, label)) in model {
        let raw = snap.get_raw(id).unwrap();
        prop_assert!(
            raw.iter().zip(x).all(|(a, b)| a.to_bits() == b.to_bits()) && raw.len() == x.len(),
            "{}: raw {}",
            what,
            id
        );
        prop_assert_eq!(snap.get(id).unwrap().len(), x.len());
        prop_assert_eq!(&snap.label(id).unwrap(), label);
    }
    if model.is_empty() {
        return Ok(());
    }
    let export = snap.export_raw().unwrap();
    prop_assert_eq!(
        export.series,
        model.values().map(|v| v.0.clone()).collect::<Vec<_>>()
    );
    // Exact 2-NN over the originals against brute force over the model.
    let (_, (q, _)) = model.iter().next().unwrap();
    let qz = znorm(q);
    let mut want: Vec<(f64, u64)> = model
        .iter()
        .filter(|(_, (x, _))| x.len() == q.len())
        .map(|(&id, (x, _))| {
            let d: f64 = znorm(x)
                .iter()
                .zip(&qz)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (d.sqrt(), id)
        })
        .collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let got = snap
        .search(&Query::knn(q, 2).exactness(Exactness::Original))
        .unwrap()
        .neighbors;
    prop_assert_eq!(got.len(), want.len().min(2));
    for (n, (d, id)) in got.iter().zip(&want) {
        prop_assert_eq!(n.id.0, *id, "{}: neighbour", what);
        prop_assert!((n.distance - d).abs() <= 1e-9 * d.max(1.0));
    }
    Ok(())
}

/// The files of `dir` (but the LOCK), as the durable state a simulated disk starts from.
fn files_of(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("LOCK"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

/// What a power cut after everything `disk` logged leaves of `from` (which held `initial`
/// when the log began), written to `to`.
fn materialize(
    disk: &SimDisk,
    initial: &BTreeMap<std::path::PathBuf, Vec<u8>>,
    from: &Path,
    to: &Path,
) {
    let log = disk.log.lock().unwrap().clone();
    let lock = std::fs::read(from.join("LOCK")).unwrap_or_default();
    std::fs::create_dir(to).unwrap();
    for (name, bytes) in survivors_from(initial, &log, log.len(), &lock) {
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn database_follows_the_model(first in proptest::collection::vec(0u64..1000, 1..8), steps in proptest::collection::vec(step(), 1..10)) {
        let tmp = tempfile::tempdir().unwrap();
        let mut generation = 0;
        let mut dir = tmp.path().join("g0");
        let mut disk = Arc::new(SimDisk::default());
        let mut initial = BTreeMap::new();
        let io = |d: &Arc<SimDisk>| -> Arc<dyn Io> { Arc::new(Handle(d.clone())) };
        let options = Options::default().keep_raw(true);
        let label = |seed: u64| seed.is_multiple_of(2).then(|| format!("c{}", seed % 3));
        let data = |seeds: &[u64]| Dataset {
            series: seeds.iter().map(|&s| series(s)).collect(),
            labels: seeds.iter().map(|&s| label(s)).collect(),
        };
        let mut model = Model::new();
        let mut next_id = 0u64;
        let (mut db, _) = Database::build_through(&dir, &data(&first), &options, io(&disk)).unwrap();
        for &s in &first {
            model.insert(next_id, (series(s), label(s)));
            next_id += 1;
        }
        let mut reader = Database::open_read_only(&dir).unwrap();
        check(&db, &model, "build")?;
        for (i, step) in steps.iter().enumerate() {
            let what = format!("step {i} {step:?}");
            match step {
                Step::Append(seeds) => {
                    let report = db.append(&data(seeds)).unwrap();
                    for (&s, id) in seeds.iter().zip(report.ids.iter()) {
                        prop_assert_eq!(id.0, next_id);
                        model.insert(next_id, (series(s), label(s)));
                        next_id += 1;
                    }
                }
                Step::Delete(ids) => {
                    let known: Vec<u64> = ids.iter().copied().filter(|&id| id < next_id).collect();
                    if known.len() < ids.len() {
                        prop_assert!(db.delete(ids).is_err(), "{}: an id never given", what);
                    }
                    if !known.is_empty() {
                        let mut distinct = known.clone();
                        distinct.sort_unstable();
                        distinct.dedup();
                        let live = distinct.iter().filter(|id| model.contains_key(id)).count() as u64;
                        let r = db.delete(&known).unwrap();
                        prop_assert_eq!(r.deleted, live, "{}", what);
                        prop_assert_eq!(r.already_deleted, distinct.len() as u64 - live, "{}", what);
                        for id in &known {
                            model.remove(id);
                        }
                    }
                }
                Step::Compact => {
                    db.compact().unwrap();
                }
                Step::Reopen => {
                    drop(db);
                    db = Database::open_through(&dir, io(&disk)).unwrap();
                }
                Step::Refresh => {
                    reader.refresh().unwrap();
                    check(&reader, &model, &what)?;
                }
                Step::PowerCut => {
                    // Every operation returned, so its commit is durable: the survivor is the model.
                    drop(db);
                    generation += 1;
                    let next = tmp.path().join(format!("g{generation}"));
                    materialize(&disk, &initial, &dir, &next);
                    prop_assert!(Database::verify(&next).is_empty(), "{}", what);
                    dir = next;
                    initial = files_of(&dir);
                    disk = Arc::new(SimDisk::default());
                    db = Database::open_through(&dir, io(&disk)).unwrap();
                    reader = Database::open_read_only(&dir).unwrap();
                }
            }
            check(&db, &model, &what)?;
        }
        drop(db);
        let reopened = crate::util::open_when_free(&dir);
        check(&reopened, &model, "final reopen")?;
    }
}
