//! Tightness of the MINDIST lower bound (TLB = bound / true Euclidean distance, averaged over
//! pairs) for Gaussian (SAX) and KDE (edwSAX) breakpoints on the bundled UCR datasets, at
//! cardinalities 4 to 256, word length n/2 (as in the edwSAX paper) and 16.
//!
//! ```sh
//! cargo run --release --example tlb > target/tlb.md
//! ```

use qabbadb::codec::Moments;
use qabbadb::distance::euclid::distance_sq;
use qabbadb::index::mindist::pair_tlb;
#[path = "common/ucr.rs"]
#[allow(dead_code)]
mod ucr;

use qabbadb::index::{paa, Breakpoints};
use qabbadb::ingest;

fn main() -> qabbadb::Result<()> {
    println!("| dataset | word | breakpoints | 4 | 8 | 16 | 32 | 64 | 128 | 256 |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut sums = std::collections::BTreeMap::<(String, String, u32), (f64, usize)>::new();
    for name in ucr::FIXED_LENGTH {
        let path = format!(
            "{}/tests/data/ucr/{name}/{name}_TRAIN.tsv",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = ingest::read(path.as_ref(), None)?;
        let series: Vec<Vec<f64>> = data
            .series
            .iter()
            .map(|x| Moments::of(x).normalize(x))
            .collect();
        let n = series[0].len();
        for (wname, w) in [("n/2", (n / 2).max(1)), ("16", 16.min(n))] {
            let paas: Vec<Vec<f64>> = series.iter().map(|x| paa::paa(x, w)).collect();
            let sl = paa::seg_lens(n, w);
            let all: Vec<f64> = paas.iter().flatten().copied().collect();
            for (bname, bp) in [
                ("gaussian", Breakpoints::gaussian()),
                ("kde", Breakpoints::kde(&all)),
            ] {
                let mut row = format!("| {name} | {wname} | {bname} |");
                for bits in 2..=8u32 {
                    let (mut s, mut c) = (0.0, 0usize);
                    for a in 0..series.len() {
                        for b in 0..series.len() {
                            if a == b {
                                continue;
                            }
                            let ed = distance_sq(&series[a], &series[b]).sqrt();
                            if ed == 0.0 {
                                continue;
                            }
                            s += pair_tlb(&paas[a], &paas[b], &sl, ed, bits, &bp);
                            c += 1;
                        }
                    }
                    let tlb = s / c.max(1) as f64;
                    row.push_str(&format!(" {tlb:.3} |"));
                    let e = sums
                        .entry((wname.to_string(), bname.to_string(), bits))
                        .or_default();
                    e.0 += tlb;
                    e.1 += 1;
                }
                println!("{row}");
            }
        }
    }
    for wname in ["n/2", "16"] {
        for bname in ["gaussian", "kde"] {
            let mut row = format!("| **mean** | {wname} | {bname} |");
            for bits in 2..=8u32 {
                let (s, c) = sums[&(wname.to_string(), bname.to_string(), bits)];
                row.push_str(&format!(" **{:.3}** |", s / c as f64));
            }
            println!("{row}");
        }
    }
    Ok(())
}
