//! Arbitrary bytes as a delete file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qabbadb::storage::deletes;

fuzz_target!(|data: &[u8]| {
    if let Ok(ids) = deletes::from_bytes("x.del".as_ref(), data) {
        assert_eq!(deletes::from_bytes("x.del".as_ref(), &deletes::to_bytes(&ids)).expect("round trip"), ids);
    }
});
