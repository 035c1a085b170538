//! What a database directory may hold and what qabbadb removes from it: a build needs a new or
//! empty directory and never touches files it did not write; garbage collection removes only
//! files named as this database names its own; a build that failed or never committed leaves
//! nothing that blocks building the same directory again.

use std::collections::BTreeMap;
use std::path::Path;

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Error, Options};

use crate::util::{qabbadb, ucr};

fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn train() -> Dataset {
    ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap()
}

/// The database id, as its LOCK file holds it.
fn uid_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("LOCK"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn build_refuses_a_directory_holding_other_files_and_touches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let u = tmp.path().join("u");
    std::fs::create_dir(&u).unwrap();
    std::fs::write(u.join("notes.tmp"), b"precious\n").unwrap();
    std::fs::write(u.join("backup.del"), b"x\n").unwrap();
    ingest::npy::write(&u.join("good.npy"), &train().series[..10]).unwrap();
    let before = listing(&u);

    let e = Database::build(&u, &train(), &Options::default()).unwrap_err();
    assert!(matches!(e, Error::NotEmpty { .. }), "{e}");
    assert_eq!(listing(&u), before, "the library changed the directory");

    let good = u.join("good.npy");
    let (code, _, err) = qabbadb(&[
        "build",
        u.to_str().unwrap(),
        "--input",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(listing(&u), before, "the tool changed the directory");

    // An empty directory is fine.
    let e = tmp.path().join("empty");
    std::fs::create_dir(&e).unwrap();
    Database::build(&e, &train(), &Options::default()).unwrap();
}

#[test]
fn garbage_collection_removes_only_the_databases_own_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let (db, _) = Database::build(&dir, &train(), &Options::default()).unwrap();
    let uid = uid_of(&dir);
    // Files a user (or another database) left here, some named like qabbadb's.
    let foreign = [
        "notes.tmp",
        "backup.del",
        "old.qseg",
        "MANIFEST.bak",
        "000001-0123456789abcdef.qseg",
        "0000000000000007-000001-0badf00d.qseg",
        "0000000000000007-000001-0badf00d.000002.del.tmp",
    ];
    for f in foreign {
        std::fs::write(dir.join(f), f.as_bytes()).unwrap();
    }
    // What a crashed write of this database leaves: its own temporary and unnamed files.
    let own = [
        format!("{uid}-000009-deadbeef.qseg.tmp"),
        format!("{uid}-000009-deadbeef.qseg"),
        format!("{uid}-000009-deadbeef.000010.del"),
        "MANIFEST.tmp".to_string(),
    ];
    for f in &own {
        std::fs::write(dir.join(f), b"garbage").unwrap();
    }
    let test = ingest::read(&ucr("ECG200", "TEST"), None).unwrap();
    db.append(&test).unwrap();
    db.delete(&[1, 2, 3]).unwrap();
    db.compact().unwrap();
    drop(db);
    drop(crate::util::open_when_free(&dir));
    let names = listing(&dir);
    for f in foreign {
        assert_eq!(
            names.get(f).map(Vec::as_slice),
            Some(f.as_bytes()),
            "{f} was touched"
        );
    }
    for f in &own {
        assert!(!names.contains_key(f), "{f} was not collected");
    }
    assert!(Database::verify(&dir).is_empty());
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = train();
    bad.series[7][3] = f64::NAN;
    let fresh = tmp.path().join("fresh");
    assert!(Database::build(&fresh, &bad, &Options::default()).is_err());
    assert!(!fresh.exists(), "the directory it created is still there");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(Database::build(&empty, &bad, &Options::default()).is_err());
    assert!(listing(&empty).is_empty(), "{:?}", listing(&empty).keys());
    Database::build(&empty, &train(), &Options::default()).unwrap();
}

#[test]
fn an_unfinished_build_is_reported_and_cleaned_up_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kb.qdb");
    // What a build killed before its commit leaves: its LOCK (with its id) and its files.
    std::fs::create_dir(&dir).unwrap();
    let uid = "00000000000000ab";
    std::fs::write(dir.join("LOCK"), format!("{uid}\n")).unwrap();
    let left = [
        format!("{uid}-000001-12345678.qseg"),
        format!("{uid}-000001-9abcdef0.qseg.tmp"),
    ];
    for f in &left {
        std::fs::write(dir.join(f), b"half a segment").unwrap();
    }
    let e = Database::open_read_only(&dir).unwrap_err();
    assert!(
        matches!(&e, Error::NotADatabase { why, .. } if why.contains("never finished")),
        "{e}"
    );
    let (code, _, err) = qabbadb(&["info", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("run build again"), "{err}");

    let (db, report) = Database::build(&dir, &train(), &Options::default()).unwrap();
    let mut cleaned = report.cleaned.clone();
    cleaned.sort();
    assert_eq!(cleaned, left.to_vec());
    assert_eq!(db.snapshot().len(), 100);
    assert!(Database::verify(&dir).is_empty());
    // A user's file beside such leftovers is still refused, and nothing is removed.
    drop(db);
    let other = tmp.path().join("other.qdb");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("LOCK"), format!("{uid}\n")).unwrap();
    std::fs::write(other.join(&left[0]), b"x").unwrap();
    std::fs::write(other.join("mine.txt"), b"y").unwrap();
    let before = listing(&other);
    assert!(matches!(
        Database::build(&other, &train(), &Options::default()),
        Err(Error::NotEmpty { .. })
    ));
    assert_eq!(listing(&other), before);
}

#[test]
fn opening_what_is_not_a_database_says_so_once() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = tmp.path().join("missing");
    for (dir, why) in [
        (&empty, "an empty directory"),
        (&missing, "no such directory"),
    ] {
        let (code, _, err) = qabbadb(&["info", dir.to_str().unwrap()]);
        assert_eq!(code, 2);
        assert!(
            err.contains("not a qabbadb database") && err.contains(why),
            "{err}"
        );
        assert_eq!(err.matches(why).count(), 1, "cause repeated: {err}");
        assert!(!err.contains("MANIFEST"), "{err}");
    }
    // An I/O error's cause is printed once too.
    let (code, _, err) = qabbadb(&[
        "build",
        tmp.path().join("x").to_str().unwrap(),
        "--input",
        tmp.path().join("nope.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

/// A database written before database ids (old-form names, no `uid`, an empty LOCK) opens, gets
/// an id at its next commit, and has its old-form garbage collected while it still holds
/// old-form segments — and no foreign file is touched.
#[test]
fn databases_from_before_ids_are_adopted() {
    use qabbadb::storage::manifest::{Manifest, FILE};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old.qdb");
    let (db, _) = Database::build(&dir, &train(), &Options::default()).unwrap();
    let want: Vec<Vec<f64>> = db
        .snapshot()
        .ids()
        .unwrap()
        .iter()
        .map(|&id| db.snapshot().get(id).unwrap())
        .collect();
    drop(db);
    let path = dir.join(FILE);
    let mut m = Manifest::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap();
    let old_name = "000001-0123456789abcdef.qseg";
    std::fs::rename(dir.join(&m.segments[0].file), dir.join(old_name)).unwrap();
    m.segments[0].file = old_name.into();
    m.uid = None;
    std::fs::write(&path, m.to_bytes()).unwrap();
    std::fs::write(dir.join("LOCK"), b"").unwrap();
    std::fs::write(dir.join("000002-00000000deadbeef.qseg"), b"old garbage").unwrap();
    std::fs::write(dir.join("notes.tmp"), b"mine").unwrap();

    let db = crate::util::open_when_free(&dir);
    let got: Vec<Vec<f64>> = db
        .snapshot()
        .ids()
        .unwrap()
        .iter()
        .map(|&id| db.snapshot().get(id).unwrap())
        .collect();
    assert_eq!(got, want);
    let names = listing(&dir);
    assert!(!names.contains_key("000002-00000000deadbeef.qseg"));
    assert!(names.contains_key("notes.tmp") && names.contains_key(old_name));
    db.delete(&[4]).unwrap();
    let m = Manifest::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap();
    let uid = m
        .uid
        .clone()
        .expect("the next commit gives the database an id");
    db.compact().unwrap();
    drop(db);
    let m = Manifest::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap();
    assert!(
        m.segments[0].file.starts_with(&uid),
        "{}",
        m.segments[0].file
    );
    // Once no old-form segment is named, old-form names are no longer the database's.
    std::fs::write(dir.join("000009-00000000deadbeef.qseg"), b"not ours now").unwrap();
    let db = crate::util::open_when_free(&dir);
    assert_eq!(db.snapshot().len(), 99);
    let names = listing(&dir);
    assert!(names.contains_key("000009-00000000deadbeef.qseg"));
    assert!(!names.contains_key(old_name));
    assert!(names.contains_key("notes.tmp"));
}
