//! The CODEBOOK section (FORMAT.md §4.2): the quantizers and the quantized symbol centres.

use zerocopy::FromBytes;

use super::layout::CodebookHeader;
use super::SectionResult;
use crate::codec::{Codebook, Quantizer};

/// Inverse of the writer's `level_to_unsigned` (§4.2).
fn unsigned_to_level(u: u32, bits: u8) -> i32 {
    (u as i64 - (1i64 << (bits.clamp(1, 32) - 1))) as i32
}

/// The codebook and its centres; every centre finite with a positive length, every level in the
/// range of its bit width, the weights finite.
pub(super) fn parse(sec: &[u8]) -> SectionResult<(Codebook, Vec<[f64; 2]>)> {
    let (ch, rest) = CodebookHeader::read_from_prefix(sec)
        .map_err(|_| (0, "shorter than its header".to_string()))?;
    let k = ch.symbols.get() as usize;
    if ch.reserved0 != [0; 2] || ch.reserved1 != [0; 8] {
        return Err((0, "reserved bytes are not zero".into()));
    }
    for (name, b) in [("length", ch.len_bits), ("increment", ch.inc_bits)] {
        if !(2..=32).contains(&b) {
            return Err((4, format!("{name} bit width {b} outside 2..=32")));
        }
    }
    let per = ch.len_bits as usize + ch.inc_bits as usize;
    let need = (k as u128 * per as u128).div_ceil(8);
    if need != rest.len() as u128 {
        return Err((
            0,
            format!(
                "{} bytes of centres for {k} symbols of {per} bits",
                rest.len()
            ),
        ));
    }
    let mut r = crate::codec::bitpack::BitReader::new(rest);
    let mut symbols = Vec::with_capacity(k);
    for _ in 0..k {
        let l = r.read(ch.len_bits as u32).unwrap_or(0);
        let i = r.read(ch.inc_bits as u32).unwrap_or(0);
        symbols.push([
            unsigned_to_level(l, ch.len_bits),
            unsigned_to_level(i, ch.inc_bits),
        ]);
    }
    let codebook = Codebook {
        len_q: Quantizer {
            bits: ch.len_bits,
            scale: ch.len_scale.get(),
            zero: ch.len_zero.get(),
        },
        inc_q: Quantizer {
            bits: ch.inc_bits,
            scale: ch.inc_scale.get(),
            zero: ch.inc_zero.get(),
        },
        symbols,
        weights: [ch.weight_len.get(), ch.weight_inc.get()],
    };
    let centres = codebook.centres();
    for (s, c) in centres.iter().enumerate() {
        let bad_range = |q: &Quantizer, v: i32| {
            let lo = -(1i64 << (q.bits - 1));
            (v as i64) < lo || (v as i64) > -lo - 1
        };
        if !(c[0].is_finite() && c[0] > 0.0 && c[1].is_finite())
            || bad_range(&codebook.len_q, codebook.symbols[s][0])
            || bad_range(&codebook.inc_q, codebook.symbols[s][1])
        {
            return Err((
                (size_of::<CodebookHeader>() + 8 * s) as u64,
                format!(
                    "symbol {s} has an invalid centre (len {}, inc {})",
                    c[0], c[1]
                ),
            ));
        }
    }
    if !codebook.weights.iter().all(|w| w.is_finite()) {
        return Err((40, "non-finite weights".into()));
    }
    Ok((codebook, centres))
}
