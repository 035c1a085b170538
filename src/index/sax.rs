//! SAX words and the order in which the index lays them out.
//!
//! A word holds one 8-bit symbol per PAA segment ([`super::breakpoints::Breakpoints::symbol`]).
//! Words are sorted by their **interleaved bits** (most significant bit of every segment first,
//! then the next bit of every segment, ...): the sortable summarization of Coconut (Kondylakis,
//! Dayan, Zoumpatianos & Palpanas 2018). Consecutive words in that order share their leading iSAX
//! bits, so runs of them form tight groups — the leaves of [`super::tree`].

use std::cmp::Ordering;

/// Compares two words (same length) by interleaved bits.
pub fn cmp_interleaved(a: &[u8], b: &[u8]) -> Ordering {
    for bit in (0..8).rev() {
        for (x, y) in a.iter().zip(b) {
            let (bx, by) = ((x >> bit) & 1, (y >> bit) & 1);
            if bx != by {
                return bx.cmp(&by);
            }
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_order() {
        // Top bits first across segments: [0x80, 0x00] > [0x7f, 0xff].
        assert_eq!(
            cmp_interleaved(&[0x80, 0x00], &[0x7f, 0xff]),
            Ordering::Greater
        );
        assert_eq!(
            cmp_interleaved(&[0x40, 0x00], &[0x00, 0x80]),
            Ordering::Less
        );
        assert_eq!(cmp_interleaved(&[3, 4], &[3, 4]), Ordering::Equal);
    }
}
