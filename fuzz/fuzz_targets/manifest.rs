//! Arbitrary bytes as a MANIFEST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qabbadb::storage::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_bytes("MANIFEST".as_ref(), data) {
        // What parses must serialize back to a MANIFEST that parses to the same value.
        let again = Manifest::from_bytes("MANIFEST".as_ref(), &m.to_bytes()).expect("round trip");
        assert_eq!(again, m);
    }
});
