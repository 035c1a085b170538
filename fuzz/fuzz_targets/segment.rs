//! Arbitrary bytes as a segment: open, decode every series, walk the index, search.
//! The first input byte chooses whether the checksums are recomputed first (so that the damage
//! reaches the parsers behind them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qabbadb::search::knn;
use qabbadb::search::{Metric, Source, Target, Window};
use qabbadb::storage::segment::{writer::reseal, SegmentReader};

struct Decoded {
    ids: Vec<u64>,
    series: Vec<Vec<f64>>,
}

impl Source for Decoded {
    fn id(&self, pos: usize) -> u64 {
        self.ids[pos]
    }
    fn normalized_into(&self, pos: usize, out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(&self.series[pos]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        reseal(&mut bytes);
    }
    let Ok(seg) = SegmentReader::from_bytes("fuzz.qseg".as_ref(), bytes) else { return };
    let mut series = Vec::new();
    if seg.for_each_decoded(|_, x| {
        series.push(x);
        Ok(())
    })
    .is_err()
    {
        return;
    }
    let Ok(records) = seg.records() else { return };
    let ids = records.iter().map(|r| r.id).collect();
    let src = Decoded { ids, series };
    if let (Ok(Some(index)), Some(q)) = (seg.index(), src.series.first()) {
        for metric in [Metric::Euclidean, Metric::Dtw { window: Window::Points(2) }] {
            let r = knn::search(index, &src, q, Target::Knn(3), metric, None, 1);
            assert!(r.neighbors.len() <= 3);
        }
    }
});
