//! Damaged files give errors, never panics.

use qabbadb::ingest;
use qabbadb::{Database, Error, Options, Query};

use crate::util::{segment_file, ucr};

/// Builds a database; returns its directory, its segment file and the segment's bytes.
fn build(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    // Index, raw values and residual levels beside the symbols.
    let opts = Options::default().max_error(Some(0.01)).keep_raw(true);
    build_from(dir, "GunPoint", &opts)
}

/// The segments the sweeps damage: an error-bounded one (RESIDUALS, RAW) and one with
/// corrected series (CORRECTIONS: a coarse tolerance on spiky series), between them every
/// section kind.
fn builds(dir: &std::path::Path) -> Vec<(std::path::PathBuf, std::path::PathBuf, Vec<u8>)> {
    let corrected = build_from(
        &dir.join("c"),
        "Lightning7",
        &Options::default().tol(0.4).keep_raw(true),
    );
    let seg = qabbadb::storage::segment::SegmentReader::open(&corrected.1).unwrap();
    assert!(seg
        .sections()
        .iter()
        .any(|s| s.0 == qabbadb::storage::segment::layout::kind::CORRECTIONS));
    vec![build(dir), corrected]
}

fn build_from(
    dir: &std::path::Path,
    name: &str,
    opts: &Options,
) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let data = ingest::read(&ucr(name, "TRAIN"), None).unwrap();
    let path = dir.join("g.qdb");
    Database::build(&path, &data, opts).unwrap();
    let seg = segment_file(&path);
    let bytes = std::fs::read(&seg).unwrap();
    (path, seg, bytes)
}

/// Offset and length of the section of `kind` in the segment file `bytes` (§3).
fn section_of(bytes: &[u8], kind: u32) -> (usize, usize) {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let (toc_at, entries) = (
        u64_at(24),
        u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize,
    );
    (0..entries)
        .map(|e| toc_at + 32 * e)
        .find(|&at| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) == kind)
        .map(|at| (u64_at(at + 8), u64_at(at + 16)))
        .expect("the section is in the file")
}

/// Opens, and if that succeeds, reads every series (reconstructed and original) and searches:
/// the result must be an error or complete.
fn open_and_read(path: &std::path::Path) -> Result<(), Error> {
    let db = Database::open_read_only(path)?;
    let data = db.snapshot().export()?;
    db.snapshot().export_raw()?;
    if let Some(q) = data.series.first() {
        db.snapshot()
            .search(&Query::knn(q, 2).metric(qabbadb::Metric::Euclidean))?;
    }
    Ok(())
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (db, seg, bytes) in builds(dir.path()) {
        open_and_read(&db).unwrap();
        let step = (bytes.len() / 300).max(1);
        for cut in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
            std::fs::write(&seg, &bytes[..cut]).unwrap();
            let e = open_and_read(&db).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "cut at {cut}: {e}");
            assert!(
                !Database::verify(&db).is_empty(),
                "verify sees the cut at {cut}"
            );
        }
        std::fs::write(&seg, &bytes).unwrap();
        open_and_read(&db).unwrap();
        assert!(Database::verify(&db).is_empty());
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    for (db, seg, bytes) in builds(dir.path()) {
        let step = (bytes.len() / 400).max(1);
        for at in (0..bytes.len()).step_by(step) {
            let mut b = bytes.clone();
            b[at] ^= 0x5a;
            std::fs::write(&seg, &b).unwrap();
            let e = open_and_read(&db).expect_err("checksums catch every flip");
            assert!(
                matches!(e, Error::Corrupt { .. } | Error::UnsupportedVersion { .. }),
                "flip at {at}: {e}"
            );
        }
    }
}

#[test]
fn wrong_magic_and_future_version() {
    let dir = tempfile::tempdir().unwrap();
    let (db, seg, bytes) = build(dir.path());
    let mut b = bytes.clone();
    b[0] = b'X';
    std::fs::write(&seg, &b).unwrap();
    let e = open_and_read(&db).unwrap_err();
    assert!(e.to_string().contains("magic"), "{e}");
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&seg, &b).unwrap();
    let e = open_and_read(&db).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedVersion { found: 99, .. }),
        "{e}"
    );
    std::fs::write(&seg, b"").unwrap();
    assert!(matches!(open_and_read(&db), Err(Error::Corrupt { .. })));
    assert!(matches!(
        Database::open(&dir.path().join("missing.qdb")),
        Err(Error::NotADatabase { .. })
    ));
    std::fs::remove_file(&seg).unwrap();
    assert!(matches!(open_and_read(&db), Err(Error::Io { .. })));
}

#[test]
fn damaged_manifest_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = build(dir.path());
    let m = db.join("MANIFEST");
    let bytes = std::fs::read(&m).unwrap();
    for at in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[at] ^= 0x11;
        std::fs::write(&m, &b).unwrap();
        let e = open_and_read(&db).unwrap_err();
        assert!(
            matches!(e, Error::Corrupt { .. } | Error::UnsupportedVersion { .. }),
            "flip at {at}: {e}"
        );
    }
    for cut in [0, 5, 30, bytes.len() - 1] {
        std::fs::write(&m, &bytes[..cut]).unwrap();
        assert!(open_and_read(&db).is_err(), "cut at {cut}");
    }
    std::fs::write(&m, &bytes).unwrap();
    open_and_read(&db).unwrap();
}

/// Lengths are the one size a file states that decoding must trust: one above the maximum is
/// refused when the series table is first read, and one far beyond what a lossless stream holds
/// fails on decode without an allocation of the claimed size.
#[test]
fn claimed_lengths_are_bounded() {
    use qabbadb::codec::{self, Codebook, CodecParams, EncodedSeries, Moments, Storage};
    use qabbadb::storage::segment::{writer, SegmentContents, SegmentReader};
    let values = [1.0, 2.0, 4.0];
    let series = |len: u32| EncodedSeries {
        len,
        start: codec::Start::Value(1.0),
        moments: Moments::of(&values),
        storage: Storage::Lossless(codec::lossless::compress(&values[..]).unwrap()),
        residuals: Default::default(),
        pieces: 1,
        eps: 0.0,
        max_abs_err: 0.0,
    };
    let codebook = Codebook::from_centres(&[[1.0, 0.5]], [1.0, 1.0], 8, 12);
    let bytes_for = |len: u32| {
        let s = [series(len)];
        writer::serialize(&SegmentContents {
            params: &CodecParams::default(),
            alpha: None,
            codebook: &codebook,
            series: &s,
            ids: &[0],
            labels: &[None],
            report: serde_json::Value::Null,
            index: None,
            raw: None,
        })
        .unwrap()
        .0
    };
    let path = std::path::Path::new("crafted.qseg");
    let reader = SegmentReader::from_bytes(path, bytes_for((1 << 28) + 1)).unwrap();
    let e = reader.records().unwrap_err();
    assert!(matches!(reader.decode(0), Err(Error::Corrupt { .. })));
    assert!(
        matches!(e, Error::Corrupt { .. }) && e.to_string().contains("maximum"),
        "{e}"
    );
    let reader = SegmentReader::from_bytes(path, bytes_for(1 << 28)).unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(reader.decode(0), Err(Error::Corrupt { .. })));
    assert!(
        t.elapsed().as_secs_f64() < 1.0,
        "no 2 GiB buffer was filled"
    );
    let reader = SegmentReader::from_bytes(path, bytes_for(3)).unwrap();
    assert_eq!(reader.decode(0).unwrap(), values);
}

/// A delete file that names ids its segment does not hold (here: a valid delete file of a
/// larger database, moved onto a small one, with the MANIFEST's checksum made right) is
/// corruption, not a count that wraps.
#[test]
fn delete_files_naming_foreign_ids_are_corrupt() {
    use qabbadb::storage::manifest::{Manifest, FILE};
    let tmp = tempfile::tempdir().unwrap();
    let data = ingest::read(&ucr("ECG5000", "TRAIN"), None).unwrap();
    let big = tmp.path().join("big.qdb");
    let (db, _) = Database::build(&big, &data, &Options::default()).unwrap();
    let all: Vec<u64> = (0..data.len() as u64).collect();
    db.delete(&all).unwrap();
    let big_manifest = Manifest::from_bytes(
        std::path::Path::new(FILE),
        &std::fs::read(big.join(FILE)).unwrap(),
    )
    .unwrap();
    let del = big_manifest.segments[0].deletes.clone().unwrap();
    drop(db);

    let small = tmp.path().join("small.qdb");
    let few = ingest::Dataset {
        series: data.series[..10].to_vec(),
        labels: data.labels[..10].to_vec(),
    };
    Database::build(&small, &few, &Options::default()).unwrap();
    std::fs::copy(big.join(&del), small.join(&del)).unwrap();
    let path = small.join(FILE);
    let mut m = Manifest::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap();
    m.segments[0].deletes = Some(del.clone());
    std::fs::write(&path, m.to_bytes()).unwrap();

    for e in [
        Database::open_read_only(&small).unwrap_err(),
        Database::open(&small).unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::Corrupt { section: "deletes", detail, .. } if detail.contains("does not hold")),
            "{e}"
        );
    }
    let problems = Database::verify(&small);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].to_string().contains(&del), "{problems:?}");
}

/// Damage found when search first decodes a segment names the section at fault and its offset
/// (here: the last bytes of the RESIDUALS section, checksums made right), and every later call
/// reports the same.
#[test]
fn decode_errors_name_their_section() {
    use qabbadb::Query;
    let dir = tempfile::tempdir().unwrap();
    let (db, seg, mut bytes) = build(dir.path());
    let (off, len) = section_of(&bytes, 10);
    for b in &mut bytes[off + len - 24..off + len] {
        *b ^= 0x5a;
    }
    qabbadb::storage::segment::writer::reseal(&mut bytes);
    std::fs::write(&seg, &bytes).unwrap();
    let data = ingest::read(&ucr("GunPoint", "TRAIN"), None).unwrap();
    let snap = Database::open_read_only(&db).unwrap().snapshot();
    for _ in 0..2 {
        let e = snap.search(&Query::knn(&data.series[0], 1)).unwrap_err();
        assert!(
            matches!(&e, Error::Corrupt { section: "RESIDUALS", offset, .. } if *offset as usize >= off),
            "{e}"
        );
    }
}

/// The SYMBOL_MODEL section and rANS-coded blocks, damaged behind valid checksums (resealed):
/// opening and reading give an error or series of valid symbols, never a panic; a model whose
/// bytes are cut is always an error.
#[test]
fn damaged_symbol_models_behind_valid_checksums() {
    use qabbadb::storage::segment::{layout::kind, writer::reseal, SegmentReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.qdb");
    let data = ingest::read(&ucr("CBF", "TEST"), None).unwrap();
    let (db, _) = Database::build(&path, &data, &Options::default().keep_raw(true)).unwrap();
    assert!(
        db.snapshot().info().unwrap().blocks.rans > 0,
        "CBF's blocks are rANS-coded"
    );
    drop(db);
    let seg = segment_file(&path);
    let bytes = std::fs::read(&seg).unwrap();
    let reader = SegmentReader::open(&seg).unwrap();
    let toc_at = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
    let entries = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let span = |k: u32| {
        (0..entries)
            .map(|e| toc_at + 32 * e)
            .find(|&at| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) == k)
            .map(|at| {
                let off = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
                let len = u64::from_le_bytes(bytes[at + 16..at + 24].try_into().unwrap()) as usize;
                (off, len)
            })
            .unwrap()
    };
    drop(reader);
    let (model_at, model_len) = span(kind::SYMBOL_MODEL);
    let (sym_at, sym_len) = span(kind::SYMBOLS);
    let mut tried = 0;
    for at in (model_at..model_at + model_len)
        .step_by(3)
        .chain((sym_at..sym_at + sym_len).step_by(97))
    {
        let mut b = bytes.clone();
        b[at] ^= 0x24;
        reseal(&mut b);
        std::fs::write(&seg, &b).unwrap();
        // An error, or a complete read (a flip that still decodes to valid symbols).
        let _ = open_and_read(&path);
        tried += 1;
    }
    assert!(tried > 100);
    // Fields outside their valid values (§4.11): 9 classes, precision 15, 5 symbols.
    for (field, value) in [(0, 9u32), (4, 15), (8, 5)] {
        let mut b = bytes.clone();
        b[model_at + field..model_at + field + 4].copy_from_slice(&value.to_le_bytes());
        reseal(&mut b);
        std::fs::write(&seg, &b).unwrap();
        let e = open_and_read(&path).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Corrupt {
                    section: "SYMBOL_MODEL",
                    ..
                }
            ),
            "{e}"
        );
    }
    std::fs::write(&seg, &bytes).unwrap();
    open_and_read(&path).unwrap();
}

/// Opening reads neither the series table nor the index (FORMAT.md §6): damage in them is found
/// on their first use, named, reported again by every later use, and by `verify`.
#[test]
fn series_and_index_are_checked_on_first_use() {
    use qabbadb::storage::segment::SegmentReader;
    let dir = tempfile::tempdir().unwrap();
    let (db, seg, bytes) = build(dir.path());
    // §2: toc_offset at byte 24, toc_entries at 32; §3: entries of 32 bytes (kind, flags,
    // offset, bytes, ...).
    let word = |at: usize, n: usize| {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&bytes[at..at + n]);
        u64::from_le_bytes(v) as usize
    };
    let (toc, entries) = (word(24, 8), word(32, 4));
    let section = |kind: usize| {
        (0..entries)
            .map(|i| toc + 32 * i)
            .find(|&e| word(e, 4) == kind)
            .map(|e| (word(e + 8, 8), word(e + 16, 8)))
            .unwrap()
    };
    // The breakpoints read from the INDEX head alone are the decoded index's.
    let healthy = SegmentReader::open(&seg).unwrap();
    let head = healthy.breakpoints().unwrap();
    assert!(head.is_some());
    assert_eq!(
        head,
        healthy.index().unwrap().map(|i| i.breakpoints.clone())
    );
    drop(healthy);
    for (kind, name) in [(3, "SERIES"), (8, "INDEX")] {
        let (at, n) = section(kind);
        let mut b = bytes.clone();
        b[at + n / 2] ^= 0x5a;
        std::fs::write(&seg, &b).unwrap();
        let reader = SegmentReader::open(&seg).expect("opening does not read the section");
        assert_eq!(reader.len(), 50);
        let first_use = || match kind {
            3 => reader.records().map(|_| ()).unwrap_err(),
            _ => reader.index().map(|_| ()).unwrap_err(),
        };
        if kind == 8 {
            let e = reader.breakpoints().unwrap_err();
            assert!(e.to_string().contains("INDEX"), "{e}");
        }
        for e in [first_use(), first_use()] {
            assert!(
                matches!(&e, Error::Corrupt { section, detail, .. } if *section == name && detail.contains("checksum")),
                "{name}: {e}"
            );
        }
        let opened = Database::open_read_only(&db).expect("opening the database does not either");
        let q = vec![0.5; 150];
        let e = opened.snapshot().search(&Query::knn(&q, 1)).unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
        let problems = Database::verify(&db);
        assert!(
            problems.iter().any(|p| p.section.as_deref() == Some(name)),
            "{problems:?}"
        );
    }
    std::fs::write(&seg, &bytes).unwrap();
    assert!(Database::verify(&db).is_empty());
}

/// Search decodes symbol blocks as it touches them (through the block cache): a damaged block
/// fails the first search that touches it, naming SYMBOLS, and every later search of the open
/// database; series of other blocks still read.
#[test]
fn a_damaged_symbol_block_fails_the_searches_that_touch_it() {
    use qabbadb::storage::segment::{layout::kind, SegmentReader};
    let dir = tempfile::tempdir().unwrap();
    let data = ingest::read(&ucr("ECG5000", "TEST"), None).unwrap();
    let path = dir.path().join("e.qdb");
    Database::build(&path, &data, &Options::default()).unwrap();
    let seg = segment_file(&path);
    let mut bytes = std::fs::read(&seg).unwrap();
    let reader = SegmentReader::open(&seg).unwrap();
    assert!(reader.block_count() > 2, "{} blocks", reader.block_count());
    drop(reader);
    let (off, len) = section_of(&bytes, kind::SYMBOLS);
    // The last payload's last bytes: its CRC (in its record) no longer matches.
    for b in &mut bytes[off + len - 8..off + len] {
        *b ^= 0x5a;
    }
    std::fs::write(&seg, &bytes).unwrap();
    let db = Database::open_read_only(&path).unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.get(0u64).unwrap().len(), data.series[0].len());
    let q = &data.series[0];
    for query in [
        Query::knn(q, 1).brute_force(true),
        Query::knn(q, 1),
        Query::knn(q, 3),
    ] {
        let e = snap.search(&query).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Corrupt {
                    section: "SYMBOLS",
                    ..
                }
            ),
            "{e}"
        );
    }
    assert!(snap.get(data.len() as u64 - 1).is_err());
    assert!(!Database::verify(&path).is_empty());
}
