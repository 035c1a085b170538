//! Entropy coding of symbol blocks: range asymmetric numeral systems (rANS; Duda 2013,
//! "Asymmetric numeral systems: entropy coding combining speed of Huffman coding with compression
//! rate of arithmetic coding", arXiv:1311.2540) with per-segment frequency tables conditioned on
//! the previous symbol's *class*.
//!
//! ABBA pieces alternate: a rising piece is mostly followed by a falling one. The symbol stream is
//! therefore coded with one table per class of the previous symbol, a class being a band of
//! centre increments (the C-quantiles of the increments over the segment's symbol occurrences,
//! `C ∈ {1, 2, 4, 8}`), plus one table for the first symbol of a block. The encoder picks the `C`
//! whose estimated payload plus table bytes is smallest. Tables are semi-static (fitted to the
//! whole segment and stored in its SYMBOL_MODEL section, FORMAT.md §4.11), so blocks decode
//! independently and a decoded symbol costs two table lookups.
//!
//! Coder (FORMAT.md §4.11): 64-bit state in `[2^32, 2^64)`, 32-bit output words, frequencies of
//! [`PRECISION`] bits. Hand-written rather than taken from `constriction`: its contiguous
//! categorical models need a non-zero probability for every symbol in every context (about 4 % of
//! the probability mass lost at K = 2,751 and 16-bit precision), and the byte layout here is
//! the file format's, specified independently of a crate's internals.

use crate::error::Result;

/// Bits of the frequency tables: every context's frequencies sum to 2^16.
pub const PRECISION: u32 = 16;
const TOTAL: u32 = 1 << PRECISION;
const LOW: u64 = 1 << 32;
/// Largest number of previous-symbol classes.
pub const MAX_CLASSES: usize = 8;
/// Largest alphabet the coder takes (symbols are 16-bit in its lookup tables).
pub const MAX_SYMBOLS: usize = 1 << 16;
/// Class counts tried, finest last; each divides the next, so the finest thresholds give all.
const CLASS_CHOICES: [usize; 4] = [1, 2, 4, 8];

/// A fitted model: the class thresholds and one frequency table per context (class `0..C`, then
/// the block-start context `C`).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// `C − 1` non-decreasing increment levels: the class of a symbol is the number of
    /// thresholds ≤ its quantized increment.
    thresholds: Vec<i32>,
    /// Class of each symbol.
    class_of: Vec<u8>,
    /// `(C + 1) × K` frequencies, row by context; a row sums to 2^16 or is all zero.
    freqs: Vec<u32>,
    /// Cumulative frequencies, same shape.
    cums: Vec<u32>,
    k: usize,
}

/// Class of increment level `inc` under `thresholds`.
fn class(thresholds: &[i32], inc: i32) -> u8 {
    thresholds.partition_point(|&t| t <= inc) as u8
}

/// Quantizes counts to frequencies summing to 2^16: every symbol seen gets at least 1; `None`
/// for a row without counts (all zero).
fn quantize(counts: &[u64]) -> Vec<u32> {
    let n: u64 = counts.iter().sum();
    let mut f = vec![0u32; counts.len()];
    if n == 0 {
        return f;
    }
    for (q, &c) in f.iter_mut().zip(counts) {
        if c > 0 {
            *q = ((c as u128 * TOTAL as u128 / n as u128) as u32).max(1);
        }
    }
    let sum: i64 = f.iter().map(|&v| v as i64).sum();
    let mut diff = TOTAL as i64 - sum;
    // Largest frequencies absorb the rounding, in a fixed order (ties by symbol).
    let mut order: Vec<usize> = (0..f.len()).filter(|&s| f[s] > 0).collect();
    order.sort_by(|&a, &b| f[b].cmp(&f[a]).then(a.cmp(&b)));
    if diff > 0 {
        f[order[0]] += diff as u32;
    } else {
        for &s in &order {
            if diff == 0 {
                break;
            }
            let take = (f[s] as i64 - 1).min(-diff);
            f[s] -= take as u32;
            diff += take;
        }
    }
    f
}

fn cumulate(freqs: &[u32], k: usize) -> Vec<u32> {
    let mut cums = vec![0u32; freqs.len()];
    for (row, out) in freqs.chunks(k.max(1)).zip(cums.chunks_mut(k.max(1))) {
        let mut acc = 0u32;
        for (c, &f) in out.iter_mut().zip(row) {
            *c = acc;
            acc = acc.wrapping_add(f);
        }
    }
    cums
}

impl Model {
    /// Fits a model to the blocks of a segment whose codebook has the quantized increments
    /// `incs` (one per symbol, all blocks' symbols `< incs.len()`), choosing the number of
    /// classes with the fewest estimated bits (payload entropy under the quantized tables plus the
    /// serialized tables). `None` when there is nothing to code or the alphabet is too large.
    pub fn fit(blocks: &[&[u32]], incs: &[i32]) -> Option<Model> {
        Self::fit_blocks(|| blocks.iter().map(|b| b.iter().copied()), incs)
    }

    /// [`Model::fit`] over blocks given by a function that yields them afresh (they are read
    /// twice), so that a segment's blocks need not be held at once.
    pub fn fit_blocks<F, I, B>(blocks: F, incs: &[i32]) -> Option<Model>
    where
        F: Fn() -> I,
        I: Iterator<Item = B>,
        B: IntoIterator<Item = u32>,
    {
        let k = incs.len();
        if k == 0 || k > MAX_SYMBOLS {
            return None;
        }
        // Thresholds of the finest classes: increment quantiles over the symbol occurrences.
        let mut seen = vec![0u64; k];
        for b in blocks() {
            for s in b {
                *seen.get_mut(s as usize)? += 1;
            }
        }
        let total: u64 = seen.iter().sum();
        if total == 0 {
            return None;
        }
        let mut by_inc: Vec<usize> = (0..k).collect();
        by_inc.sort_by_key(|&s| (incs[s], s));
        let finest = CLASS_CHOICES[CLASS_CHOICES.len() - 1];
        let mut fine = Vec::with_capacity(finest - 1);
        let mut acc = 0u64;
        for &s in &by_inc {
            acc += seen[s];
            while fine.len() < finest - 1 && acc * finest as u64 >= (fine.len() as u64 + 1) * total
            {
                fine.push(incs[s]);
            }
        }
        while fine.len() < finest - 1 {
            fine.push(i32::MAX);
        }
        // A symbol's threshold is the first increment past the quantile, so that the class
        // boundary falls between increments: class(s) counts thresholds ≤ inc.
        for t in &mut fine {
            *t = t.saturating_add(1);
        }
        let fine_class: Vec<u8> = incs.iter().map(|&i| class(&fine, i)).collect();
        // Counts per (finest class of the previous symbol or block start, symbol).
        let ctxs = finest + 1;
        let mut counts = vec![0u64; ctxs * k];
        for b in blocks() {
            let mut ctx = finest;
            for s in b {
                counts[ctx * k + s as usize] += 1;
                ctx = fine_class[s as usize] as usize;
            }
        }
        let mut best: Option<(f64, Model)> = None;
        for &c in &CLASS_CHOICES {
            let step = finest / c;
            let thresholds: Vec<i32> = (1..c).map(|j| fine[j * step - 1]).collect();
            let mut merged = vec![0u64; (c + 1) * k];
            for f in 0..ctxs {
                let to = if f == finest { c } else { f / step };
                for s in 0..k {
                    merged[to * k + s] += counts[f * k + s];
                }
            }
            let freqs: Vec<u32> = merged.chunks(k).flat_map(quantize).collect();
            let payload: f64 = merged
                .iter()
                .zip(&freqs)
                .filter(|(&n, _)| n > 0)
                .map(|(&n, &f)| n as f64 * (PRECISION as f64 - (f as f64).log2()))
                .sum();
            let model = Model {
                class_of: incs.iter().map(|&i| class(&thresholds, i)).collect(),
                cums: cumulate(&freqs, k),
                thresholds,
                freqs,
                k,
            };
            let bits = payload + 8.0 * model.to_bytes().ok()?.len() as f64;
            if best.as_ref().is_none_or(|(b, _)| bits < *b) {
                best = Some((bits, model));
            }
        }
        best.map(|(_, m)| m)
    }

    /// Number of previous-symbol classes `C`.
    pub fn classes(&self) -> usize {
        self.thresholds.len() + 1
    }

    /// Codes `symbols` (one block): the final state (u64) then the output words (u32) in
    /// decoding order. `None` when a symbol has no frequency in its context.
    pub fn encode(&self, symbols: &[u32]) -> Option<Vec<u8>> {
        let k = self.k;
        let start = self.classes();
        let mut x: u64 = LOW;
        let mut words: Vec<u32> = Vec::with_capacity(symbols.len() / 2 + 1);
        for i in (0..symbols.len()).rev() {
            let s = symbols[i] as usize;
            if s >= k {
                return None;
            }
            let ctx = match i {
                0 => start,
                _ => *self.class_of.get(symbols[i - 1] as usize)? as usize,
            };
            let f = self.freqs[ctx * k + s] as u64;
            if f == 0 {
                return None;
            }
            if (x >> (64 - PRECISION)) >= f {
                words.push(x as u32);
                x >>= 32;
            }
            x = ((x / f) << PRECISION) + x % f + self.cums[ctx * k + s] as u64;
        }
        let mut out = Vec::with_capacity(8 + 4 * words.len());
        out.extend_from_slice(&x.to_le_bytes());
        for w in words.iter().rev() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        Some(out)
    }

    /// The SYMBOL_MODEL section (FORMAT.md §4.11).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.classes() as u32).to_le_bytes());
        out.extend_from_slice(&PRECISION.to_le_bytes());
        out.extend_from_slice(&(self.k as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for t in &self.thresholds {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&super::lossless::compress(&self.freqs)?);
        Ok(out)
    }

    /// Parses a SYMBOL_MODEL section for a codebook with the quantized increments `incs`;
    /// `Err` names what is wrong.
    pub fn from_bytes(bytes: &[u8], incs: &[i32]) -> std::result::Result<Model, String> {
        let u32_at = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (Some(c), Some(p), Some(k), Some(r)) = (u32_at(0), u32_at(4), u32_at(8), u32_at(12))
        else {
            return Err("shorter than its header".into());
        };
        let (c, k) = (c as usize, k as usize);
        if !(1..=MAX_CLASSES).contains(&c) {
            return Err(format!("{c} classes (1 to {MAX_CLASSES})"));
        }
        if p != PRECISION || r != 0 {
            return Err(format!("precision {p} (must be {PRECISION}) or reserved bytes set"));
        }
        if k != incs.len() || k == 0 || k > MAX_SYMBOLS {
            return Err(format!("{k} symbols for a codebook of {}", incs.len()));
        }
        let mut thresholds = Vec::with_capacity(c - 1);
        for j in 0..c - 1 {
            thresholds.push(u32_at(16 + 4 * j).ok_or("thresholds cut short")? as i32);
        }
        if thresholds.windows(2).any(|w| w[0] > w[1]) {
            return Err("thresholds are not in order".into());
        }
        let at = 16 + 4 * (c - 1);
        let freqs: Vec<u32> = super::lossless::decompress(&bytes[at..], (c + 1) * k)
            .ok_or("frequency tables do not decode")?;
        for (ctx, row) in freqs.chunks(k).enumerate() {
            let sum: u64 = row.iter().map(|&f| f as u64).sum();
            if sum != 0 && sum != TOTAL as u64 {
                return Err(format!("context {ctx}: frequencies sum to {sum}"));
            }
        }
        Ok(Model {
            class_of: incs.iter().map(|&i| class(&thresholds, i)).collect(),
            cums: cumulate(&freqs, k),
            thresholds,
            freqs,
            k,
        })
    }

    /// The decoding tables of this model.
    pub fn decoder(&self) -> Decoder {
        let contexts = self.classes() + 1;
        let mut lookup = vec![0u16; contexts << PRECISION];
        for ctx in 0..contexts {
            let row = &mut lookup[ctx << PRECISION..(ctx + 1) << PRECISION];
            for s in 0..self.k {
                let (f, c) = (
                    self.freqs[ctx * self.k + s] as usize,
                    self.cums[ctx * self.k + s] as usize,
                );
                row[c..c + f].fill(s as u16);
            }
        }
        Decoder {
            model: self.clone(),
            lookup,
        }
    }
}

/// A model with its slot-to-symbol tables, for decoding.
#[derive(Debug)]
pub struct Decoder {
    model: Model,
    /// Symbol of each of the 2^16 slots, per context.
    lookup: Vec<u16>,
}

impl Decoder {
    /// Decodes a block of `count` symbols; `None` when the bytes are not exactly such a block
    /// under this model.
    pub fn decode(&self, payload: &[u8], count: usize) -> Option<Vec<u32>> {
        let m = &self.model;
        let k = m.k;
        let head: [u8; 8] = payload.get(..8)?.try_into().ok()?;
        let words = &payload[8..];
        if !words.len().is_multiple_of(4) {
            return None;
        }
        let mut next = words.chunks_exact(4);
        let mut x = u64::from_le_bytes(head);
        let mut out = Vec::with_capacity(count);
        let mut ctx = m.classes();
        let mask = (TOTAL - 1) as u64;
        for _ in 0..count {
            if x < LOW {
                return None;
            }
            let slot = (x & mask) as usize;
            let s = self.lookup[(ctx << PRECISION) | slot] as usize;
            let at = ctx * k + s;
            let f = *m.freqs.get(at)? as u64;
            let c = m.cums[at] as u64;
            if f == 0 || (slot as u64) < c {
                return None;
            }
            x = f * (x >> PRECISION) + slot as u64 - c;
            if x < LOW {
                let w = next.next()?;
                x = (x << 32) | u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as u64;
            }
            out.push(s as u32);
            ctx = m.class_of[s] as usize;
        }
        (x == LOW && next.next().is_none()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Empirical order-0 entropy of `s` in bits.
    fn entropy(s: &[u32], k: usize) -> f64 {
        let mut c = vec![0u64; k];
        for &v in s {
            c[v as usize] += 1;
        }
        let n = s.len() as f64;
        c.iter()
            .filter(|&&v| v > 0)
            .map(|&v| v as f64 * (n / v as f64).log2())
            .sum()
    }

    #[test]
    fn quantized_rows_sum_to_the_total() {
        for counts in [vec![1u64], vec![1, 0, 1], vec![1_000_000, 1, 1, 1], vec![3; 70_000]] {
            let f = quantize(&counts);
            let seen = counts.iter().filter(|&&c| c > 0).count();
            if seen <= TOTAL as usize {
                assert_eq!(f.iter().map(|&v| v as u64).sum::<u64>(), TOTAL as u64);
                assert!(counts.iter().zip(&f).all(|(&c, &q)| (c > 0) == (q > 0)));
            }
        }
    }

    #[test]
    fn skewed_streams_code_near_their_entropy() {
        // An alternating stream: up-symbols (0..8) follow down-symbols (8..16) and back.
        let incs: Vec<i32> = (0..16).map(|s| if s < 8 { 10 + s } else { -10 - s }).collect();
        let mut state = 7u64;
        let mut s: Vec<u32> = Vec::new();
        for i in 0..16_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = ((state >> 33) % 8) as u32;
            s.push(if i % 2 == 0 { r } else { 8 + r / 2 });
        }
        let m = Model::fit(&[&s], &incs).unwrap();
        assert!(m.classes() >= 2, "the alternation is worth a context");
        let coded = m.encode(&s).unwrap();
        // Order-0 entropy is 3.5 bits; with the previous symbol's class it is 2.5.
        let bits = coded.len() as f64 * 8.0 / s.len() as f64;
        assert!(bits < 2.6, "{bits} bits a symbol");
        assert!(entropy(&s, 16) / s.len() as f64 > 3.4);
        let d = Model::from_bytes(&m.to_bytes().unwrap(), &incs).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.decoder().decode(&coded, s.len()), Some(s));
    }

    #[test]
    fn damaged_payloads_are_refused_or_decode_to_valid_symbols() {
        let incs: Vec<i32> = (0..40).map(|s| s - 20).collect();
        let s: Vec<u32> = (0..3000u32).map(|i| (i * i + 7 * i) % 40).collect();
        let m = Model::fit(&[&s], &incs).unwrap();
        let dec = m.decoder();
        let coded = m.encode(&s).unwrap();
        for cut in [0, 4, 8, coded.len() - 4, coded.len() - 1] {
            assert_eq!(dec.decode(&coded[..cut], s.len()), None, "cut at {cut}");
        }
        assert_eq!(dec.decode(&coded, s.len() + 1), None);
        for at in 0..coded.len() {
            let mut bad = coded.clone();
            bad[at] ^= 0x5a;
            if let Some(out) = dec.decode(&bad, s.len()) {
                assert!(out.iter().all(|&v| v < 40));
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            k in 1usize..600,
            incs_seed in any::<u64>(),
            blocks in prop::collection::vec(prop::collection::vec(any::<u32>(), 0..2000), 1..4),
        ) {
            let incs: Vec<i32> = (0..k as u64)
                .map(|s| ((s.wrapping_mul(incs_seed | 1) >> 7) % 101) as i32 - 50)
                .collect();
            let blocks: Vec<Vec<u32>> = blocks
                .iter()
                .map(|b| b.iter().map(|&v| (v % 97).min(v % k as u32)).collect())
                .collect();
            let refs: Vec<&[u32]> = blocks.iter().map(Vec::as_slice).collect();
            match Model::fit(&refs, &incs) {
                None => prop_assert!(blocks.iter().all(Vec::is_empty)),
                Some(m) => {
                    let parsed = Model::from_bytes(&m.to_bytes().unwrap(), &incs).unwrap();
                    prop_assert_eq!(&parsed, &m);
                    let dec = parsed.decoder();
                    for b in &blocks {
                        let coded = m.encode(b).unwrap();
                        prop_assert_eq!(dec.decode(&coded, b.len()), Some(b.clone()));
                    }
                }
            }
        }
    }
}
