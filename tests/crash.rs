//! Crash safety: the tool is killed (SIGKILL) at many moments of `build`, `append`, `delete` and
//! `compact`; afterwards the database opens and holds exactly the last committed state — every
//! series of it byte-identical on `get`, and nothing of the interrupted step — or, when the kill
//! came after the commit, exactly the new state. A build killed before its commit leaves no
//! database, and running it again in the same directory succeeds.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use qabbadb::Database;

use crate::util::ucr;

type State = BTreeMap<u64, (Option<String>, Vec<u64>)>;

/// Every live series: label and the bits of its values.
fn state(dir: &Path) -> State {
    let db = Database::open(dir).expect("the database opens after a crash");
    db.snapshot()
        .ids()
        .unwrap()
        .into_iter()
        .map(|id| {
            (
                id.0,
                (
                    db.snapshot().label(id).unwrap(),
                    db.snapshot()
                        .get(id)
                        .unwrap()
                        .iter()
                        .map(|v| v.to_bits())
                        .collect(),
                ),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn run(args: &[&str]) -> Duration {
    let t = Instant::now();
    let s = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
        .args(args)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    t.elapsed()
}

/// Runs `op` on copies of `base` and kills it after increasing delays; checks every outcome.
fn kill_during(base: &Path, op: &[&str], work: &Path) -> (usize, usize) {
    let before = if base.join("MANIFEST").exists() {
        state(base)
    } else {
        State::new()
    };
    // The uninterrupted result, on a copy.
    let reference = work.join("reference");
    let _ = std::fs::remove_dir_all(&reference);
    if base.exists() {
        copy_dir(base, &reference);
    }
    let args = |dir: &Path| -> Vec<String> {
        op.iter()
            .map(|a| {
                if *a == "DB" {
                    dir.to_str().unwrap().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    let full = run(&args(&reference)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let after = state(&reference);
    let (mut saw_before, mut saw_after) = (0, 0);
    let trials = 24;
    // Delays from 0 to 1.3 times the uninterrupted duration, and two well past it, so that both
    // outcomes occur however the machine's speed varies between runs.
    let factor = |t: usize| match t {
        22 => 2.5,
        23 => 5.0,
        _ => 1.3 * t as f64 / 22.0,
    };
    for t in 0..trials {
        let dir = work.join(format!("t{t}"));
        let _ = std::fs::remove_dir_all(&dir);
        if base.exists() {
            copy_dir(base, &dir);
        }
        let delay = full.mul_f64(factor(t));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
            .args(args(&dir))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        if !dir.join("MANIFEST").exists() {
            // Killed before `build` committed: no database, and nothing that stops the same
            // build from running again in the same directory.
            assert!(before.is_empty(), "trial {t}: the MANIFEST vanished");
            saw_before += 1;
            run(&args(&dir).iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                state(&dir) == after,
                "trial {t}: the build run again differs"
            );
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        let got = state(&dir);
        if before.is_empty() {
            // A build commits once, with all its series: never an empty database.
            assert!(
                got == after,
                "trial {t}: a build left a database without its series"
            );
        }
        if before == after {
            assert!(got == before, "trial {t}: contents changed");
            saw_after += 1;
        } else if got == before {
            saw_before += 1;
        } else if got == after {
            saw_after += 1;
        } else {
            panic!(
                "trial {t} (killed after {delay:?} of {full:?}): a state that was never committed"
            );
        }
        assert!(
            Database::verify(&dir).is_empty(),
            "trial {t}: verify finds damage"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    (saw_before, saw_after)
}

#[test]
fn sigkill_at_any_moment_leaves_a_committed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let train = ucr("ECG5000", "TRAIN");
    let test = ucr("ECG200", "TEST");
    let (train, test) = (train.to_str().unwrap(), test.to_str().unwrap());

    let (b, a) = kill_during(&base, &["build", "DB", "--input", train], &work);
    assert!(b > 0 && a > 0, "build: before {b}, after {a}");
    run(&["build", base.to_str().unwrap(), "--input", train]);
    let (b, a) = kill_during(&base, &["append", "DB", "--input", test], &work);
    assert!(b > 0 && a > 0, "append: before {b}, after {a}");
    run(&["append", base.to_str().unwrap(), "--input", test]);
    let (b, a) = kill_during(&base, &["delete", "DB", "--ids", "1-40,480-520"], &work);
    assert!(b + a == 24 && a > 0, "delete: before {b}, after {a}");
    run(&["delete", base.to_str().unwrap(), "--ids", "1-40,480-520"]);
    // Compaction changes files, not contents: every outcome must show the same series.
    let (b, a) = kill_during(&base, &["compact", "DB"], &work);
    assert_eq!(b + a, 24, "compact");
}

/// A streaming build of an NPY file commits a segment at a time: killed at any moment, the
/// database holds a whole number of segments, each series bit for bit what the uninterrupted
/// build stored (the codebook is fitted to the same sample), and verifies.
#[test]
fn a_killed_bulk_load_keeps_its_committed_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let npy = tmp.path().join("w.npy");
    let series: Vec<Vec<f64>> = (0..30_000).map(|i| crate::util::walk(i, 64)).collect();
    qabbadb::ingest::npy::write(&npy, &series).unwrap();
    let n = npy.to_str().unwrap();
    let full = tmp.path().join("full.qdb");
    let took = run(&[
        "build",
        full.to_str().unwrap(),
        "-i",
        n,
        "--segment-series",
        "4000",
    ]);
    let whole = state(&full);
    assert_eq!(whole.len(), 30_000);
    let mut seen = std::collections::BTreeSet::new();
    // Kills spread over the time the uninterrupted build took, and past it: under the load of
    // the other tests a build can take several times as long as the one timed.
    for part in [5u128, 20, 35, 50, 65, 80, 95, 120, 200, 400] {
        let delay_ms = (took.as_millis() * part / 100) as u64;
        let dir = tmp.path().join(format!("k{delay_ms}.qdb"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
            .args([
                "build",
                dir.to_str().unwrap(),
                "-i",
                n,
                "--segment-series",
                "4000",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        if !dir.join("MANIFEST").exists() {
            // Killed before the first commit: not a database; building again succeeds.
            assert!(Database::open(&dir).is_err());
            run(&[
                "build",
                dir.to_str().unwrap(),
                "-i",
                n,
                "--segment-series",
                "4000",
            ]);
            assert_eq!(state(&dir), whole);
            seen.insert(0);
            continue;
        }
        let got = state(&dir);
        assert!(
            got.len().is_multiple_of(4000) || got.len() == 30_000,
            "{delay_ms} ms: {} series",
            got.len()
        );
        assert!(Database::verify(&dir).is_empty(), "{delay_ms} ms");
        for (id, v) in &got {
            assert_eq!(Some(v), whole.get(id), "{delay_ms} ms: series {id}");
        }
        seen.insert(got.len());
    }
    assert!(
        seen.len() >= 2,
        "kills landed at {seen:?} committed series only"
    );
}
