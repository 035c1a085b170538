//! Fixed- and variable-width bit packing, least significant bit first.
//!
//! Value `i` of width `b` occupies bits `[i·b, (i+1)·b)` of the stream, where bit `j` is bit
//! `j mod 8` of byte `j / 8`. The last byte is padded with zero bits.

/// Writes values of up to 32 bits each into a byte stream.
#[derive(Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    filled: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the low `bits` bits of `value` (`bits ≤ 32`).
    pub fn write(&mut self, value: u32, bits: u32) {
        if bits == 0 {
            return;
        }
        let mask = if bits == 32 {
            u32::MAX
        } else {
            (1u32 << bits) - 1
        };
        self.acc |= ((value & mask) as u64) << self.filled;
        self.filled += bits;
        while self.filled >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.filled -= 8;
        }
    }

    /// The packed bytes.
    pub fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// Reads values back from a packed byte stream.
#[derive(Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    acc: u64,
    filled: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            pos: 0,
            acc: 0,
            filled: 0,
        }
    }

    /// Reads `bits` bits (`≤ 32`); `None` when the stream ends first.
    pub fn read(&mut self, bits: u32) -> Option<u32> {
        if bits == 0 {
            return Some(0);
        }
        while self.filled < bits {
            let b = *self.bytes.get(self.pos)?;
            self.pos += 1;
            self.acc |= (b as u64) << self.filled;
            self.filled += 8;
        }
        let mask = if bits == 32 {
            u32::MAX as u64
        } else {
            (1u64 << bits) - 1
        };
        let v = (self.acc & mask) as u32;
        self.acc >>= bits;
        self.filled -= bits;
        Some(v)
    }
}

/// Bits needed to store values `0..k`: `ceil(log2 k)`, and 0 when `k ≤ 1`.
pub fn width_for(k: usize) -> u32 {
    if k <= 1 {
        0
    } else {
        usize::BITS - (k - 1).leading_zeros()
    }
}

/// Packs `values` with `bits` bits each.
pub fn pack(values: &[u32], bits: u32) -> Vec<u8> {
    let mut w = BitWriter::new();
    for &v in values {
        w.write(v, bits);
    }
    w.finish()
}

/// Unpacks `count` values of `bits` bits; `None` when `bytes` is too short.
pub fn unpack(bytes: &[u8], bits: u32, count: usize) -> Option<Vec<u32>> {
    if (count as u128) * (bits as u128) > (bytes.len() as u128) * 8 {
        return None;
    }
    let mut r = BitReader::new(bytes);
    (0..count).map(|_| r.read(bits)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn widths() {
        assert_eq!(width_for(0), 0);
        assert_eq!(width_for(1), 0);
        assert_eq!(width_for(2), 1);
        assert_eq!(width_for(3), 2);
        assert_eq!(width_for(256), 8);
        assert_eq!(width_for(257), 9);
    }

    #[test]
    fn lsb_first_layout() {
        assert_eq!(pack(&[1, 2, 3], 2), vec![0b0011_1001]);
        assert_eq!(pack(&[0x1ff], 9), vec![0xff, 0x01]);
    }

    proptest! {
        #[test]
        fn round_trip(values in prop::collection::vec(any::<u32>(), 0..300), bits in 1u32..=32) {
            let vals: Vec<u32> = values.iter().map(|v| if bits == 32 { *v } else { v & ((1 << bits) - 1) }).collect();
            let packed = pack(&vals, bits);
            prop_assert_eq!(packed.len(), (vals.len() * bits as usize).div_ceil(8));
            prop_assert_eq!(unpack(&packed, bits, vals.len()), Some(vals.clone()));
            if !vals.is_empty() {
                prop_assert_eq!(unpack(&packed[..packed.len() - 1], bits, vals.len()), None);
            }
        }
    }
}
