//! Arbitrary bytes as an input file: the UCR, CSV (every header choice) and NPY readers must
//! return series or an error, never panic; what they return satisfies the ingest invariants
//! (every series non-empty, every value finite, one label per series).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qabbadb::ingest::{self, csv, npy, ucr, Dataset};

fn check(d: &Dataset) {
    assert_eq!(d.series.len(), d.labels.len());
    for s in &d.series {
        assert!(!s.is_empty());
        assert!(s.iter().all(|v| v.is_finite()));
        assert!(ingest::validate_one(0, s).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.input");
    if let Ok(d) = ucr::parse(path, data) {
        check(&d);
    }
    for header in [csv::Header::Auto, csv::Header::Yes, csv::Header::No] {
        for labels in [csv::LabelColumn::Auto, csv::LabelColumn::First, csv::LabelColumn::None] {
            if let Ok((d, _)) = csv::parse_with(path, data, labels, header) {
                check(&d);
            }
        }
    }
    if let Ok(d) = npy::parse(path, data) {
        check(&d);
    }
});
