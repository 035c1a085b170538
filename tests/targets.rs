//! Targets instead of knobs: `target_rmse` chooses the tolerance that meets a mean RMSE/σ with
//! the fewest bytes, checked against builds at every tolerance it tried.

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Error, Options};

use crate::util::{qabbadb, ucr, walk};

fn built(dir: &std::path::Path, name: &str, data: &Dataset, o: &Options) -> (f64, u64) {
    let (db, _) = Database::build(&dir.join(name), data, o).unwrap();
    let info = db.snapshot().info().unwrap();
    (info.mean_relative_rmse, info.bytes)
}

/// On a set no larger than the sample the choice is exact: the database meets the target, and
/// no tolerance of those tried that meets it gives a smaller segment.
#[test]
fn the_target_is_met_with_the_fewest_bytes_tried() {
    let data = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for target in [0.05, 0.1, 0.2] {
        let o = Options::default().target_rmse(Some(target)).index(None);
        let (db, report) =
            Database::build(&dir.path().join(format!("t{target}")), &data, &o).unwrap();
        let tuning = report.tuning.expect("a target chooses the tolerance");
        let info = db.snapshot().info().unwrap();
        assert!(
            info.mean_relative_rmse <= target,
            "{target}: {}",
            info.mean_relative_rmse
        );
        assert_eq!(info.params.codec.tol, tuning.tol);
        assert_eq!(info.params.codec.target_rmse, Some(target));
        assert!((info.mean_relative_rmse - tuning.sample_rmse).abs() < 1e-12);
        // Every tolerance tried, built for real (labels and build report included, which the
        // sample leaves out): the same error, and none meets the target in fewer bytes.
        let chosen = info.bytes;
        for &(tol, rmse, _) in &tuning.tried {
            let o = Options::default().tol(tol).index(None);
            let (r, b) = built(dir.path(), &format!("g{target}-{tol}"), &data, &o);
            assert!((r - rmse).abs() < 1e-12, "tol {tol}: {r} vs {rmse}");
            if r <= target {
                assert!(
                    b + 64 >= chosen,
                    "tol {tol} meets {target} in {b} bytes < {chosen}"
                );
            }
        }
    }
}

/// On more series than the sample, the target is met on the sample and closely on the whole.
#[test]
fn a_sampled_target_is_close_on_the_whole_set() {
    let data = Dataset::from_series((0..2500).map(|i| walk(i, 128)).collect());
    let dir = tempfile::tempdir().unwrap();
    let (db, report) = Database::build(
        &dir.path().join("w"),
        &data,
        &Options::default().target_rmse(Some(0.1)),
    )
    .unwrap();
    let t = report.tuning.unwrap();
    assert_eq!(t.sample_series, 1000);
    assert!(t.sample_rmse <= 0.1);
    let reached = db.snapshot().info().unwrap().mean_relative_rmse;
    assert!((reached - 0.1).abs() < 0.02, "reached {reached}");
}

#[test]
fn targets_that_do_not_apply_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = Dataset::from_series((0..5).map(|i| walk(i, 32)).collect());
    for o in [
        Options::default().target_rmse(Some(0.0)),
        Options::default().target_rmse(Some(f64::NAN)),
        Options::default()
            .target_rmse(Some(0.1))
            .max_error(Some(0.01)),
    ] {
        let r = Database::build(&dir.path().join("x"), &data, &o);
        assert!(matches!(r, Err(Error::InvalidOptions(_))), "{o:?}");
        assert!(!dir.path().join("x").exists());
    }
    // An empty database has no series to choose the tolerance from.
    let r = Database::create(
        &dir.path().join("c"),
        &Options::default().target_rmse(Some(0.1)),
    );
    assert!(matches!(r, Err(Error::InvalidOptions(m)) if m.contains("target_rmse")));
}

#[test]
fn the_command_line_takes_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.qdb");
    let d = db.to_str().unwrap();
    let input = ucr("GunPoint", "TRAIN");
    let i = input.to_str().unwrap();
    let (code, out, err) = qabbadb(&["build", d, "--input", i, "--target-rmse", "0.08"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("chosen for a mean RMSE/std of at most 0.08"),
        "{out}"
    );
    let (_, out, _) = qabbadb(&["info", d, "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["mean_relative_rmse"].as_f64().unwrap() <= 0.08);
    assert_eq!(v["params"]["target_rmse"], 0.08);
    let other = dir.path().join("u.qdb");
    let (code, _, err) = qabbadb(&[
        "build",
        other.to_str().unwrap(),
        "--input",
        i,
        "--target-rmse",
        "0.08",
        "--tol",
        "0.3",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--tol"), "{err}");
}

/// Error-bounded builds choose the tolerance with the fewest bytes by default: every tolerance
/// tried, built for real, is no smaller, every value stays within δ, and a tolerance given is
/// kept as given.
#[test]
fn error_bounded_builds_take_the_cheapest_tolerance() {
    let data = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let delta = 0.05;
    let o = Options::default().max_error(Some(delta)).index(None);
    let (db, report) = Database::build(&dir.path().join("auto"), &data, &o).unwrap();
    let tuning = report
        .tuning
        .expect("error-bounded builds choose the tolerance");
    assert_eq!(tuning.sample_series, data.len());
    assert!(tuning.tried.len() >= 16);
    let info = db.snapshot().info().unwrap();
    assert_eq!(info.params.codec.tol, tuning.tol);
    assert_eq!(info.params.codec.tol_auto, Some(true));
    let chosen = info.bytes;
    let back = db.snapshot().export().unwrap();
    for (x, y) in data.series.iter().zip(&back.series) {
        assert!(x.iter().zip(y).all(|(a, b)| (a - b).abs() <= delta));
    }
    for &(tol, ..) in &tuning.tried {
        let o = Options::default()
            .tol(tol)
            .max_error(Some(delta))
            .index(None);
        let (_, b) = built(dir.path(), &format!("g{tol}"), &data, &o);
        assert!(b + 64 >= chosen, "tol {tol}: {b} bytes < {chosen}");
    }
    // The default tolerance of symbolic builds costs more here.
    let o = Options::default()
        .tol(0.2)
        .max_error(Some(delta))
        .index(None);
    let (db, report) = Database::build(&dir.path().join("given"), &data, &o).unwrap();
    assert!(report.tuning.is_none());
    assert_eq!(db.snapshot().info().unwrap().params.codec.tol, 0.2);
    assert!(db.snapshot().info().unwrap().bytes > chosen);
    // Asked for without an error bound: the fewest bytes within the error budget.
    let o = Options::default().tol_auto(true).index(None);
    let (db, report) = Database::build(&dir.path().join("sym"), &data, &o).unwrap();
    assert_eq!(
        db.snapshot().info().unwrap().params.codec.tol,
        report.tuning.unwrap().tol
    );
    assert!(db.snapshot().info().unwrap().mean_relative_rmse <= 0.5);
    // An empty database has no series to choose from; a target chooses for itself.
    let r = Database::create(&dir.path().join("c"), &Options::default().tol_auto(true));
    assert!(matches!(r, Err(Error::InvalidOptions(m)) if m.contains("tol_auto")));
    let r = Database::build(
        &dir.path().join("d"),
        &data,
        &Options::default().tol_auto(true).target_rmse(Some(0.1)),
    );
    assert!(matches!(r, Err(Error::InvalidOptions(_))));
}

/// A bulk load chooses the same tolerance on its sample as a build of the same series.
#[test]
fn bulk_loads_choose_the_tolerance_on_their_sample() {
    let data = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = Options::default().max_error(Some(0.05));
    let (built, report) = Database::build(&dir.path().join("b"), &data, &o).unwrap();
    let want = report.tuning.unwrap().tol;
    let mut loader =
        Database::bulk_loader(&dir.path().join("l"), &o, qabbadb::BulkOptions::default()).unwrap();
    loader.push_batch(&data).unwrap();
    let (loaded, report) = loader.finish().unwrap();
    assert_eq!(report.tuning.unwrap().tol, want);
    assert_eq!(loaded.snapshot().info().unwrap().params.codec.tol, want);
    assert_eq!(
        loaded.snapshot().export().unwrap(),
        built.snapshot().export().unwrap()
    );
    drop(loaded);
    let reopened = Database::open_read_only(&dir.path().join("l")).unwrap();
    assert_eq!(reopened.snapshot().info().unwrap().params.codec.tol, want);
}

#[test]
fn the_command_line_takes_tol_auto() {
    let dir = tempfile::tempdir().unwrap();
    let input = ucr("GunPoint", "TRAIN");
    let i = input.to_str().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let db = dir.path().join(name);
        let mut args = vec!["build", db.to_str().unwrap(), "--input", i];
        args.extend_from_slice(extra);
        let (code, out, err) = qabbadb(&args);
        let (_, info, _) = qabbadb(&["info", db.to_str().unwrap(), "--json"]);
        let v: serde_json::Value = serde_json::from_str(info.trim()).unwrap_or_default();
        (code, out, err, v["params"]["tol"].as_f64())
    };
    let (code, out, err, tol) = run("a", &["--max-error", "0.05"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chosen for the fewest bytes"), "{out}");
    assert_ne!(tol, Some(0.2));
    let (code, out, err, tol) = run("b", &["--max-error", "0.05", "--tol", "0.3"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("chosen"), "{out}");
    assert_eq!(tol, Some(0.3));
    let (code, out, err, _) = run("c", &["--tol", "auto"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chosen for the fewest bytes"), "{out}");
    let (code, _, err, _) = run("d", &["--tol", "coarse"]);
    assert_eq!(code, 2);
    assert!(err.contains("a number or `auto`"), "{err}");
}
