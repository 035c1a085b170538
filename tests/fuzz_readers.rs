//! Structure-aware fuzzing of the readers: random bytes of a valid segment are changed and every
//! checksum is then recomputed, so the damage reaches the parsers behind the checksums. Opening,
//! decoding every series, searching and verifying must give an error or a consistent answer —
//! never a panic, a hang or an allocation the file cannot justify.

use proptest::prelude::*;
use qabbadb::ingest;
use qabbadb::storage::manifest::{Manifest, SegmentEntry};
use qabbadb::{Database, Metric, Options, Query};

use crate::util::{segment_file, ucr};

/// Opens a database whose only segment is `bytes` and uses it every way; returns whether it
/// opened.
fn exercise(bytes: &[u8]) -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    std::fs::create_dir_all(&dir).unwrap();
    let seg = dir.join("000001-fuzz.qseg");
    std::fs::write(&seg, bytes).unwrap();
    // Give the MANIFEST the ids the segment claims, so that the segment's own checks decide.
    let Ok(reader) = qabbadb::storage::segment::SegmentReader::open(&seg) else {
        return false;
    };
    let Some((first, last)) = reader.id_range() else {
        return false;
    };
    let m = Manifest {
        format_version: 1,
        generation: 1,
        next_id: last.saturating_add(1),
        segments: vec![SegmentEntry {
            file: "000001-fuzz.qseg".into(),
            first_id: first,
            last_id: last,
            series: reader.len() as u64,
            deletes: None,
        }],
        options: Options::default().to_json(),
        uid: None,
    };
    drop(reader);
    std::fs::write(dir.join("MANIFEST"), m.to_bytes()).unwrap();
    let Ok(db) = Database::open_read_only(&dir) else {
        return false;
    };
    let _ = Database::verify(&dir);
    if let Ok(data) = db.snapshot().export() {
        for x in data.series.iter().take(3) {
            if let Ok(r) = db
                .snapshot()
                .search(&Query::knn(x, 3).metric(Metric::Euclidean))
            {
                assert!(r.neighbors.len() <= 3);
                assert!(r
                    .neighbors
                    .windows(2)
                    .all(|w| w[0].distance <= w[1].distance));
            }
        }
    }
    true
}

/// A segment with corrected series (CORRECTIONS): a coarse tolerance on spiky series.
fn corrected_segment() -> Vec<u8> {
    let data = ingest::read(&ucr("Lightning7", "TRAIN"), None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("db");
    Database::build(&path, &data, &Options::default().tol(0.4)).unwrap();
    std::fs::read(segment_file(&path)).unwrap()
}

fn valid_segment() -> Vec<u8> {
    let data = ingest::read(&ucr("CBF", "TEST"), None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("db");
    // Error-bounded with raw values: the RESIDUALS and RAW parsers are fuzzed too; 900 series,
    // so that the symbol blocks are rANS-coded (SYMBOL_MODEL).
    let opts = Options::default()
        .tol(0.2)
        .max_rmse(0.15)
        .max_error(Some(0.05))
        .keep_raw(true);
    Database::build(&path, &data, &opts).unwrap();
    std::fs::read(segment_file(&path)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_segments_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        corrected in any::<bool>(),
    ) {
        static VALID: std::sync::OnceLock<[Vec<u8>; 2]> = std::sync::OnceLock::new();
        let mut b = VALID.get_or_init(|| [valid_segment(), corrected_segment()])[usize::from(corrected)].clone();
        // Most edits land behind the header, where the parsers are.
        for (at, v) in &edits {
            let i = 64 + at.index(b.len() - 64);
            b[i] = *v;
        }
        if let Some(c) = cut {
            b.truncate(64 + c.index(b.len() - 64));
        }
        qabbadb::storage::segment::writer::reseal(&mut b);
        exercise(&b);
    }
}

#[test]
fn the_unmutated_segment_opens() {
    let valid = valid_segment();
    let seg = qabbadb::storage::segment::SegmentReader::from_bytes("v".as_ref(), valid.clone());
    let kinds: Vec<u32> = seg.unwrap().sections().iter().map(|s| s.0).collect();
    assert!(kinds.contains(&qabbadb::storage::segment::layout::kind::SYMBOL_MODEL));
    assert!(exercise(&valid));
    let corrected = corrected_segment();
    let seg = qabbadb::storage::segment::SegmentReader::from_bytes("c".as_ref(), corrected.clone());
    let kinds: Vec<u32> = seg.unwrap().sections().iter().map(|s| s.0).collect();
    assert!(kinds.contains(&qabbadb::storage::segment::layout::kind::CORRECTIONS));
    assert!(exercise(&corrected));
}

/// The mutations reach past opening: a good share of single-byte edits give files that open
/// (and are then decoded and searched), so the fuzzing exercises more than the first check.
#[test]
fn single_byte_edits_often_open() {
    use rand::{Rng, SeedableRng};
    let valid = [valid_segment(), corrected_segment()];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut opened = 0;
    for i in 0..300 {
        let mut b = valid[i % 2].clone();
        let i = rng.gen_range(64..b.len());
        b[i] ^= 1 << rng.gen_range(0..8);
        qabbadb::storage::segment::writer::reseal(&mut b);
        if exercise(&b) {
            opened += 1;
        }
    }
    assert!(opened >= 30, "only {opened} of 300 mutated files opened");
}

/// Inputs the fuzzers (`fuzz/`, `cargo +nightly fuzz run segment`) found crashing, kept as
/// regression tests: each is read the way the fuzz target reads it (first byte: reseal or not).
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Some((&mode, rest)) = data.split_first() else {
            continue;
        };
        let mut bytes = rest.to_vec();
        if mode & 1 == 1 {
            qabbadb::storage::segment::writer::reseal(&mut bytes);
        }
        n += 1;
        // Must not panic; most are errors.
        if let Ok(seg) = qabbadb::storage::segment::SegmentReader::from_bytes(&path, bytes.clone())
        {
            let _ = seg.for_each_decoded(|_, _| Ok(()));
            exercise(&bytes);
        }
    }
    assert!(n >= 1);
}

/// Delete-file inputs the fuzzer found crashing.
#[test]
fn fuzz_regressions_deletes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-deletes");
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        assert!(qabbadb::storage::deletes::from_bytes(&path, &data).is_err());
    }
}

/// Input-file bytes the `readers` fuzz target found crashing: every reader and header choice
/// returns series or an error. The first one: a pandas index header (`,0,1,2`) over a row that
/// holds only its index (`0,`), with labels in the first column.
#[test]
fn fuzz_regressions_readers() {
    use qabbadb::ingest::{csv, npy, ucr};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-readers");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let _ = ucr::parse(&path, &data);
        let _ = npy::parse(&path, &data);
        for header in [csv::Header::Auto, csv::Header::Yes, csv::Header::No] {
            for labels in [
                csv::LabelColumn::Auto,
                csv::LabelColumn::First,
                csv::LabelColumn::None,
            ] {
                if let Ok((d, _)) = csv::parse_with(&path, &data, labels, header) {
                    assert!(d.series.iter().all(|s| !s.is_empty()));
                }
            }
        }
        n += 1;
    }
    assert!(n >= 1);
    let e = csv::parse_with(
        std::path::Path::new("p.csv"),
        b",0,1\n0,\n",
        csv::LabelColumn::First,
        csv::Header::Auto,
    )
    .unwrap_err();
    assert!(e.to_string().contains("a row index but no values"), "{e}");
}
