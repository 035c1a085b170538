//! Damaged files give errors, never panics.

use qabbadb::ingest;
use qabbadb::{Database, Error, Options};

use crate::util::ucr;

fn build(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let data = ingest::read(&ucr("GunPoint", "TRAIN"), None).unwrap();
    let path = dir.join("g.qdb");
    Database::create(&path, &data, &Options::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// Opens, and if that succeeds, reads every series: the result must be an error or complete.
fn open_and_read(path: &std::path::Path) -> Result<(), Error> {
    let db = Database::open(path)?;
    db.export()?;
    Ok(())
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = build(dir.path());
    let bad = dir.path().join("t.qdb");
    let step = (bytes.len() / 300).max(1);
    for cut in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let e = open_and_read(&bad).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "cut at {cut}: {e}");
    }
    open_and_read(&path).unwrap();
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = build(dir.path());
    let bad = dir.path().join("f.qdb");
    let step = (bytes.len() / 400).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut b = bytes.clone();
        b[at] ^= 0x5a;
        std::fs::write(&bad, &b).unwrap();
        let e = open_and_read(&bad).expect_err("checksums catch every flip");
        assert!(
            matches!(e, Error::Corrupt { .. } | Error::UnsupportedVersion { .. }),
            "flip at {at}: {e}"
        );
    }
}

#[test]
fn wrong_magic_and_future_version() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = build(dir.path());
    let bad = dir.path().join("v.qdb");
    let mut b = bytes.clone();
    b[0] = b'X';
    std::fs::write(&bad, &b).unwrap();
    let e = open_and_read(&bad).unwrap_err();
    assert!(e.to_string().contains("magic"), "{e}");
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&bad, &b).unwrap();
    let e = open_and_read(&bad).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedVersion { found: 99, .. }),
        "{e}"
    );
    std::fs::write(&bad, b"").unwrap();
    assert!(matches!(open_and_read(&bad), Err(Error::Corrupt { .. })));
    assert!(matches!(
        Database::open(&dir.path().join("missing.qdb")),
        Err(Error::Io { .. })
    ));
}
