//! A full disk or a failing device at any step of any write: the operation returns an I/O error,
//! the database keeps its last committed state (on disk and in the open handle), and the same
//! operation succeeds once the device recovers.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use qabbadb::ingest::{self, Dataset};
use qabbadb::storage::faults;
use qabbadb::{Database, Error, Options};

fn ucr(name: &str, split: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/ucr/{name}/{name}_{split}.tsv"))
}

type State = BTreeMap<u64, Vec<u64>>;

/// A named database operation.
type Op<'a> = (&'a str, &'a dyn Fn(&Database) -> qabbadb::Result<()>);

fn state_of(db: &Database) -> State {
    db.snapshot()
        .ids()
        .unwrap()
        .into_iter()
        .map(|id| {
            (
                id.0,
                db.snapshot()
                    .get(id)
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect(),
            )
        })
        .collect()
}

fn on_disk(dir: &Path) -> State {
    state_of(&Database::open_read_only(dir).expect("the database opens"))
}

#[test]
fn injected_failures_keep_the_committed_state() {
    let train = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let test = ingest::read(&ucr("ECG200", "TEST"), None).unwrap();
    let extra = Dataset {
        series: test.series[..30].to_vec(),
        labels: test.labels[..30].to_vec(),
    };
    let ops: [Op; 3] = [
        ("append", &|db| db.append(&extra).map(|_| ())),
        ("delete", &|db| db.delete(&[2, 5, 7]).map(|_| ())),
        ("compact", &|db| db.compact().map(|_| ())),
    ];
    let mut failures = 0;
    for (name, op) in ops {
        for step in ["create", "write", "sync", "rename", "dirsync"] {
            for after in 0..3 {
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path().join("db");
                let (db, _) = Database::build(&dir, &train, &Options::default()).unwrap();
                if name == "compact" {
                    db.append(&extra).unwrap();
                    db.delete(&[1]).unwrap();
                }
                let before = state_of(&db);
                faults::inject(step, after, ErrorKind::StorageFull);
                let result = op(&db);
                let fired = !faults::clear();
                match result {
                    Err(Error::Io { source, .. }) => {
                        assert!(fired);
                        assert_eq!(source.kind(), ErrorKind::StorageFull);
                        failures += 1;
                        let disk = on_disk(&dir);
                        // After a failed directory sync the rename may already be visible; the
                        // handle then follows the disk. Anything else keeps the old state.
                        assert_eq!(
                            state_of(&db),
                            disk,
                            "{name}/{step}/{after}: handle and disk agree"
                        );
                        if step != "dirsync" {
                            assert_eq!(disk, before, "{name}/{step}/{after}: committed state kept");
                        }
                        assert!(
                            Database::verify(&dir).is_empty(),
                            "{name}/{step}/{after}: verify"
                        );
                        // The device recovers: the operation (or what is left of it) succeeds.
                        if disk == before || name == "append" {
                            op(&db).unwrap();
                        }
                    }
                    Err(e) => panic!("{name}/{step}/{after}: unexpected error {e}"),
                    Ok(()) => assert!(!fired, "{name}/{step}/{after}: a failure was swallowed"),
                }
                drop(db);
                let reopened = Database::open(&dir).unwrap();
                assert!(Database::verify(&dir).is_empty());
                // No temporary file survives the writer's next open.
                let names: Vec<String> = std::fs::read_dir(&dir)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect();
                assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
                drop(reopened);
            }
        }
    }
    assert!(failures >= 15, "{failures} injected failures fired");
}
