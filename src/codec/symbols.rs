//! Symbol strings in blocks: fixed-width bit-packing, with zstd, LZW or rANS where smaller.
//!
//! A block holds the symbols of consecutive series. Each block is stored in whichever encoding is
//! smallest: [`BlockCodec::Rans`] (entropy coding under the segment's model, see [`super::rans`];
//! chosen by the segment writer, which weighs the model's own bytes) or one of three that need no
//! model: [`BlockCodec::Packed`] (`width_for(k)` bits a symbol, see
//! [`super::bitpack`]), [`BlockCodec::Zstd`] (zstd level 19 over the symbols written as
//! little-endian integers of [`byte_width`] bytes: byte-aligned symbols compress far better than
//! bit-packed ones) or [`BlockCodec::Lzw`] (see [`super::lzw`]). Decoding checks that every
//! symbol is `< k`.

use super::{bitpack, lzw};

/// How a block's bytes encode its symbols (the tag stored in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BlockCodec {
    /// Plain fixed-width bit-packing.
    Packed = 0,
    /// zstd over byte-aligned symbols.
    Zstd = 1,
    /// LZW codes of growing width.
    Lzw = 2,
    /// rANS under the segment's SYMBOL_MODEL.
    Rans = 3,
}

impl BlockCodec {
    /// The codec with this tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(BlockCodec::Packed),
            1 => Some(BlockCodec::Zstd),
            2 => Some(BlockCodec::Lzw),
            3 => Some(BlockCodec::Rans),
            _ => None,
        }
    }

    /// Lower-case name, as in `info`.
    pub fn name(self) -> &'static str {
        match self {
            BlockCodec::Packed => "packed",
            BlockCodec::Zstd => "zstd",
            BlockCodec::Lzw => "lzw",
            BlockCodec::Rans => "rans",
        }
    }
}

/// zstd level for symbol blocks (blocks are written once and read often).
const ZSTD_LEVEL: i32 = 19;

/// Bytes per symbol in the input of zstd: 1 for up to 256 symbols, 2 up to 65,536, else 4.
pub fn byte_width(k: usize) -> usize {
    match k {
        0..=256 => 1,
        257..=65536 => 2,
        _ => 4,
    }
}

fn to_bytes(symbols: &[u32], k: usize) -> Vec<u8> {
    let w = byte_width(k);
    let mut out = Vec::with_capacity(symbols.len() * w);
    for &s in symbols {
        out.extend_from_slice(&s.to_le_bytes()[..w]);
    }
    out
}

fn from_bytes(bytes: &[u8], k: usize) -> Vec<u32> {
    let w = byte_width(k);
    bytes
        .chunks_exact(w)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..w].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect()
}

/// An encoded block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBlock {
    /// The encoding chosen.
    pub codec: BlockCodec,
    /// The bytes.
    pub payload: Vec<u8>,
    /// LZW code count (0 unless `codec` is LZW).
    pub lzw_codes: u64,
    /// Size of each encoding tried: packed, zstd, LZW, rANS (0 for one not tried or failed).
    pub sizes: [u64; 4],
}

/// zstd level that screens whether level [`ZSTD_LEVEL`] is worth its time.
const ZSTD_SCREEN_LEVEL: i32 = 3;
/// Level 19 is tried only when the screening level comes within this factor of the best other
/// encoding. Measured on every bundled UCR set at tol 0.1, 0.2 and 0.4 and on random walks:
/// level 19 took at most 1.76× fewer bytes than level 3 on a block, and gating it at 1.25 cost
/// at most 0.5 % of a segment's symbol bytes (ECG5000 at tol 0.4) while random walks, where rANS
/// takes 25 % fewer bytes than zstd, skip it (it was 40 % of their build time).
const ZSTD_GATE: f64 = 1.25;
/// LZW is tried only when zstd at the screening level beats packing and rANS (this factor
/// times the better of them): it wins on short repetitive blocks, where zstd does well too. In
/// the measurements above no block lost anything to this gate even at 0.9, and it skips LZW on
/// 335 of 374 blocks.
const LZW_GATE: f64 = 1.0;

/// Encodes `symbols` (all `< k`) in the smallest encoding: packed, rANS under `model` (when
/// given), zstd and LZW. zstd at level 19 and LZW, the slow ones, are tried only when zstd at a
/// fast level suggests they can win (`ZSTD_GATE`, `LZW_GATE`); without a model every encoding is
/// tried.
pub fn encode_block(symbols: &[u32], k: usize, model: Option<&super::rans::Model>) -> EncodedBlock {
    let bits = bitpack::width_for(k);
    let packed = bitpack::pack(symbols, bits);
    let rans = model.and_then(|m| m.encode(symbols));
    let bytes = to_bytes(symbols, k);
    let mut base = packed.len();
    if let Some(r) = &rans {
        base = base.min(r.len());
    }
    let screen = match rans {
        Some(_) => zstd::bulk::compress(&bytes, ZSTD_SCREEN_LEVEL).unwrap_or_default(),
        None => Vec::new(),
    };
    let worth = |gate: f64, against: usize| {
        rans.is_none() || (!screen.is_empty() && (screen.len() as f64) < gate * against as f64)
    };
    let (lzw, codes) = if worth(LZW_GATE, base) {
        lzw::encode(symbols, k)
    } else {
        (Vec::new(), 0)
    };
    let other = if lzw.is_empty() { base } else { base.min(lzw.len()) };
    let zstd = if worth(ZSTD_GATE, other) {
        zstd::bulk::compress(&bytes, ZSTD_LEVEL).unwrap_or_default()
    } else {
        screen
    };
    let sizes = [
        packed.len() as u64,
        zstd.len() as u64,
        lzw.len() as u64,
        rans.as_ref().map_or(0, |r| r.len() as u64),
    ];
    // Ties go to the cheaper decoder: packed, then rANS, then zstd, then LZW.
    let mut best = EncodedBlock {
        codec: BlockCodec::Packed,
        payload: packed,
        lzw_codes: 0,
        sizes,
    };
    for (codec, payload, codes) in [
        (BlockCodec::Rans, rans.unwrap_or_default(), 0),
        (BlockCodec::Zstd, zstd, 0),
        (BlockCodec::Lzw, lzw, codes as u64),
    ] {
        if !payload.is_empty() && payload.len() < best.payload.len() {
            best = EncodedBlock {
                codec,
                payload,
                lzw_codes: codes,
                sizes,
            };
        }
    }
    best
}

/// Decodes `count` symbols; `None` when the bytes do not hold `count` symbols `< k` (or a rANS
/// block comes without the segment's model).
pub fn decode_block(
    codec: BlockCodec,
    payload: &[u8],
    k: usize,
    count: usize,
    lzw_codes: u64,
    rans: Option<&super::rans::Decoder>,
) -> Option<Vec<u32>> {
    let bits = bitpack::width_for(k);
    let symbols = match codec {
        BlockCodec::Packed => bitpack::unpack(payload, bits, count)?,
        BlockCodec::Zstd => {
            let cap = count.checked_mul(byte_width(k))?;
            let bytes = zstd::bulk::decompress(payload, cap).ok()?;
            if bytes.len() != cap {
                return None;
            }
            from_bytes(&bytes, k)
        }
        BlockCodec::Lzw => lzw::decode(payload, usize::try_from(lzw_codes).ok()?, k, count)?,
        BlockCodec::Rans => rans?.decode(payload, count)?,
    };
    if count > 0 && symbols.iter().any(|&s| s as usize >= k) {
        return None;
    }
    Some(symbols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_blocks_pick_a_compressor() {
        let s: Vec<u32> = (0..20000).map(|i| ((i / 3) % 5) as u32).collect();
        let b = encode_block(&s, 40, None);
        assert_ne!(b.codec, BlockCodec::Packed);
        assert!(b.payload.len() as u64 == *b.sizes[..3].iter().min().unwrap());
        assert_eq!(
            decode_block(b.codec, &b.payload, 40, s.len(), b.lzw_codes, None),
            Some(s)
        );
    }

    #[test]
    fn out_of_range_symbols_are_rejected() {
        let packed = bitpack::pack(&[0, 1, 2, 3], 2);
        assert!(decode_block(BlockCodec::Packed, &packed, 3, 4, 0, None).is_none());
        assert!(decode_block(BlockCodec::Packed, &packed, 4, 4, 0, None).is_some());
    }

    proptest! {
        /// With a model, the block is the smallest encoding tried and decodes to its symbols.
        #[test]
        fn round_trip_with_a_model(
            k in 1usize..300,
            raw in prop::collection::vec(any::<u32>(), 1..3000),
            period in 0usize..40,
        ) {
            let s: Vec<u32> = raw
                .iter()
                .enumerate()
                .map(|(i, v)| if period > 0 { raw[i % period.min(raw.len())] % k as u32 } else { v % k as u32 })
                .collect();
            let incs: Vec<i32> = (0..k as i32).map(|i| i % 17 - 8).collect();
            let model = super::super::rans::Model::fit(&[&s], &incs).unwrap();
            let b = encode_block(&s, k, Some(&model));
            let tried = b.sizes.iter().enumerate().filter(|&(c, &n)| n > 0 || c == 0);
            prop_assert_eq!(b.payload.len() as u64, tried.map(|(_, &n)| n).min().unwrap());
            let dec = model.decoder();
            prop_assert_eq!(
                decode_block(b.codec, &b.payload, k, s.len(), b.lzw_codes, Some(&dec)),
                Some(s)
            );
        }

        #[test]
        fn round_trip(k in 1usize..300, raw in prop::collection::vec(any::<u32>(), 0..3000)) {
            let s: Vec<u32> = raw.iter().map(|v| v % k as u32).collect();
            let b = encode_block(&s, k, None);
            prop_assert_eq!(decode_block(b.codec, &b.payload, k, s.len(), b.lzw_codes, None), Some(s));
        }
    }
}
