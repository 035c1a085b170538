//! The decoded symbols of one SYMBOLS block (FORMAT.md §4.5), held in 2 bytes a symbol when the
//! alphabet has at most 65,536 symbols (4 otherwise): what the block cache keeps for search and
//! `get`, so that the symbols of a whole segment, when they are all kept, take no more memory
//! than the decoded vector search used to hold.

use crate::codec::{self, Moments, Start};

#[derive(Debug)]
enum Held {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

/// The decoded symbols of one block and the index of its first symbol in the SYMBOLS stream.
#[derive(Debug)]
pub struct BlockSymbols {
    first_symbol: u64,
    symbols: Held,
}

/// The symbols of one series inside a block.
#[derive(Debug, Clone, Copy)]
pub enum SymbolSlice<'a> {
    /// Symbols of an alphabet of at most 65,536.
    Narrow(&'a [u16]),
    /// Symbols of a larger alphabet.
    Wide(&'a [u32]),
}

impl BlockSymbols {
    /// The block starting at symbol `first_symbol` of the stream, holding `symbols` (each below
    /// the alphabet size `k`).
    pub fn new(first_symbol: u64, symbols: Vec<u32>, k: usize) -> BlockSymbols {
        let symbols = if k <= 1 << 16 {
            Held::Narrow(symbols.into_iter().map(|s| s as u16).collect())
        } else {
            Held::Wide(symbols)
        };
        BlockSymbols {
            first_symbol,
            symbols,
        }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        match &self.symbols {
            Held::Narrow(v) => v.len(),
            Held::Wide(v) => v.len(),
        }
    }

    /// True when the block holds no symbols.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the block holds.
    pub fn heap_bytes(&self) -> usize {
        match &self.symbols {
            Held::Narrow(v) => 2 * v.len(),
            Held::Wide(v) => 4 * v.len(),
        }
    }

    /// The decoded symbols.
    pub fn into_symbols(self) -> Vec<u32> {
        match self.symbols {
            Held::Narrow(v) => v.into_iter().map(u32::from).collect(),
            Held::Wide(v) => v,
        }
    }

    /// True when the block holds the symbols `[start, start + count)` of the SYMBOLS stream.
    pub fn holds(&self, start: u64, count: u64) -> bool {
        start >= self.first_symbol
            && start
                .checked_add(count)
                .is_some_and(|end| end <= self.first_symbol + self.len() as u64)
    }

    /// The symbols `[start, start + count)` of the SYMBOLS stream (empty unless the block
    /// [holds](Self::holds) them).
    pub fn slice(&self, start: u64, count: u64) -> SymbolSlice<'_> {
        let (a, b) = if self.holds(start, count) {
            let a = (start - self.first_symbol) as usize;
            (a, a + count as usize)
        } else {
            (0, 0)
        };
        match &self.symbols {
            Held::Narrow(v) => SymbolSlice::Narrow(&v[a..b]),
            Held::Wide(v) => SymbolSlice::Wide(&v[a..b]),
        }
    }
}

impl SymbolSlice<'_> {
    /// No symbols (a series of length 1).
    pub const EMPTY: SymbolSlice<'static> = SymbolSlice::Wide(&[]);

    /// Number of symbols.
    pub fn len(&self) -> usize {
        match self {
            SymbolSlice::Narrow(v) => v.len(),
            SymbolSlice::Wide(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The symbols as `u32`s.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            SymbolSlice::Narrow(v) => v.iter().map(|&s| u32::from(s)).collect(),
            SymbolSlice::Wide(v) => v.to_vec(),
        }
    }

    /// [`codec::decode_symbolic_into`] of these symbols.
    pub fn decode_into(
        &self,
        len: usize,
        start: Start,
        moments: Moments,
        centres: &[[f64; 2]],
        out: &mut Vec<f64>,
    ) {
        match self {
            SymbolSlice::Narrow(v) => {
                codec::decode_symbolic_into(len, start, moments, v, centres, out)
            }
            SymbolSlice::Wide(v) => codec::decode_symbolic_into(len, start, moments, v, centres, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_and_wide_blocks_hold_the_same_symbols() {
        let symbols: Vec<u32> = (0..1000).map(|i| (i * 7919) % 3000).collect();
        let narrow = BlockSymbols::new(500, symbols.clone(), 3000);
        let wide = BlockSymbols::new(500, symbols.clone(), 70_000);
        assert_eq!((narrow.heap_bytes(), wide.heap_bytes()), (2000, 4000));
        for b in [&narrow, &wide] {
            assert_eq!(b.len(), 1000);
            assert!(b.holds(500, 1000) && b.holds(700, 10) && !b.holds(499, 2) && !b.holds(1490, 11));
            assert_eq!(b.slice(700, 10).to_vec(), symbols[200..210]);
            assert!(b.slice(499, 2).is_empty());
            assert!(!b.holds(u64::MAX, 2));
        }
        let centres: Vec<[f64; 2]> = (0..3000).map(|i| [1.0 + (i % 5) as f64, (i as f64).sin()]).collect();
        let m = Moments { mean: 0.5, std: 2.0 };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        narrow.slice(700, 10).decode_into(40, Start::Normalized(0.25), m, &centres, &mut a);
        wide.slice(700, 10).decode_into(40, Start::Normalized(0.25), m, &centres, &mut b);
        let direct = codec::decode_symbolic(40, Start::Normalized(0.25), m, &symbols[200..210], &centres);
        assert_eq!((a.clone(), b), (direct.clone(), direct));
        assert_eq!(narrow.into_symbols(), symbols);
    }
}
