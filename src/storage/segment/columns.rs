//! Column streams of the series table (FORMAT.md §4.3).
//!
//! Version 1: each column is a u64 byte length followed by a pco standalone stream of that many
//! bytes (no bytes for an empty table). Version 2 adds two forms that cost 8 bytes whatever the
//! number of rows, for the columns that are often one value (lengths, kinds, levels of
//! z-normalised data) or consecutive (ids): a u32 byte length and a u32 form, then the body.

use pco::data_types::Number;

/// A column element type with a 64-bit form (its bits, widened) for the constant and
/// consecutive forms of version 2.
pub trait ColumnValue: Number + Default + Copy + PartialEq {
    /// The value as 64 bits (integers zero- or sign-extended, floats by their bits).
    fn to_u64(self) -> u64;
    /// The value from 64 bits, `None` when they do not fit the type.
    fn from_u64(v: u64) -> Option<Self>;
    /// Integers: `self + 1` without overflow (`None` for floats or at the maximum).
    fn successor(self) -> Option<Self>;
}

impl ColumnValue for u32 {
    fn to_u64(self) -> u64 {
        self as u64
    }
    fn from_u64(v: u64) -> Option<Self> {
        u32::try_from(v).ok()
    }
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl ColumnValue for u64 {
    fn to_u64(self) -> u64 {
        self
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl ColumnValue for i64 {
    fn to_u64(self) -> u64 {
        self as u64
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as i64)
    }
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl ColumnValue for f64 {
    fn to_u64(self) -> u64 {
        self.to_bits()
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(f64::from_bits(v))
    }
    fn successor(self) -> Option<Self> {
        None
    }
}

/// Version-2 column forms (§4.3).
pub mod form {
    /// A pco stream of the n values.
    pub const PCO: u32 = 0;
    /// Every value equals the 8-byte body (its 64-bit form).
    pub const CONSTANT: u32 = 1;
    /// Value i is the 8-byte body plus i (integer columns).
    pub const CONSECUTIVE: u32 = 2;
}

/// Appends one version-1 column of `values` to `out`; a refusal by pco is an error. (This build
/// writes version 2; version 1 is written by tests only.)
#[cfg(test)]
pub fn write<T: Number>(out: &mut Vec<u8>, values: &[T]) -> crate::Result<()> {
    let bytes = if values.is_empty() {
        Vec::new()
    } else {
        crate::codec::lossless::compress(values)?
    };
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Reads one version-1 column of exactly `n` values from the front of `input`, advancing it.
/// `None` when the bytes are short or do not decode to `n` values.
pub fn read<T: Number + Default + Copy>(input: &mut &[u8], n: usize) -> Option<Vec<T>> {
    let len_bytes: [u8; 8] = input.get(..8)?.try_into().ok()?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).ok()?;
    let body = input.get(8..8usize.checked_add(len)?)?;
    *input = &input[8 + len..];
    pco_body(body, n)
}

fn pco_body<T: Number + Default + Copy>(body: &[u8], n: usize) -> Option<Vec<T>> {
    if n == 0 {
        return body.is_empty().then(Vec::new);
    }
    let mut out = vec![T::default(); n];
    let progress = pco::standalone::simple_decompress_into(body, &mut out).ok()?;
    (progress.n_processed == n && progress.finished).then_some(out)
}

/// Appends one version-2 column: the constant or consecutive form when the values have it (and
/// there are at least two), else a pco stream.
pub fn write_v2<T: ColumnValue>(out: &mut Vec<u8>, values: &[T]) -> crate::Result<()> {
    let (f, body) = match values {
        [a, rest @ ..] if !rest.is_empty() && rest.iter().all(|v| v == a) => {
            (form::CONSTANT, a.to_u64().to_le_bytes().to_vec())
        }
        [a, ..]
            if values.len() > 1
                && values
                    .windows(2)
                    .all(|w| w[0].successor().is_some_and(|s| s == w[1])) =>
        {
            (form::CONSECUTIVE, a.to_u64().to_le_bytes().to_vec())
        }
        [] => (form::PCO, Vec::new()),
        _ => (form::PCO, crate::codec::lossless::compress(values)?),
    };
    let len = u32::try_from(body.len())
        .map_err(|_| crate::Error::InvalidRequest("a series column over 4 GiB".into()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&f.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

/// Reads one version-2 column of exactly `n` values from the front of `input`, advancing it.
/// `None` when the bytes are short, the form is unknown, or the body does not give `n` values
/// of the type.
pub fn read_v2<T: ColumnValue>(input: &mut &[u8], n: usize) -> Option<Vec<T>> {
    let len = u32::from_le_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let f = u32::from_le_bytes(input.get(4..8)?.try_into().ok()?);
    let body = input.get(8..8usize.checked_add(len)?)?;
    *input = &input[8 + len..];
    let first = || -> Option<T> { T::from_u64(u64::from_le_bytes(body.try_into().ok()?)) };
    match f {
        form::PCO => pco_body(body, n),
        form::CONSTANT if n >= 2 => Some(vec![first()?; n]),
        form::CONSECUTIVE if n >= 2 => {
            let mut v = Vec::with_capacity(n);
            let mut x = first()?;
            v.push(x);
            for _ in 1..n {
                x = x.successor()?;
                v.push(x);
            }
            Some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let a: Vec<u64> = (0..1000).collect();
        let b: Vec<f64> = (0..1000).map(|i| (i as f64).sqrt()).collect();
        let mut buf = Vec::new();
        write(&mut buf, &a).unwrap();
        write(&mut buf, &b).unwrap();
        write::<u32>(&mut buf, &[]).unwrap();
        let mut r = &buf[..];
        assert_eq!(read::<u64>(&mut r, 1000), Some(a));
        assert_eq!(read::<f64>(&mut r, 1000), Some(b));
        assert_eq!(read::<u32>(&mut r, 0), Some(vec![]));
        assert!(r.is_empty());
        let mut r = &buf[..12];
        assert_eq!(read::<u64>(&mut r, 1000), None);
        let mut r = &buf[..];
        assert_eq!(read::<u64>(&mut r, 999), None);
    }

    #[test]
    fn version_2_forms_round_trip() {
        let ids: Vec<u64> = (7..1007).collect();
        let lens = vec![140u32; 1000];
        let levels: Vec<i64> = (0..1000).map(|i| (i * 37 % 101) - 50).collect();
        let means = vec![-3i64; 1000];
        let one = vec![2.5f64];
        let mut buf = Vec::new();
        write_v2(&mut buf, &ids).unwrap();
        write_v2(&mut buf, &lens).unwrap();
        write_v2(&mut buf, &levels).unwrap();
        write_v2(&mut buf, &means).unwrap();
        write_v2(&mut buf, &one).unwrap();
        write_v2::<f64>(&mut buf, &[]).unwrap();
        // The constant and consecutive forms are 16 bytes each.
        assert_eq!(&buf[4..8], &form::CONSECUTIVE.to_le_bytes());
        assert_eq!(&buf[20..24], &form::CONSTANT.to_le_bytes());
        let mut r = &buf[..];
        assert_eq!(read_v2::<u64>(&mut r, 1000), Some(ids));
        assert_eq!(read_v2::<u32>(&mut r, 1000), Some(lens));
        assert_eq!(read_v2::<i64>(&mut r, 1000), Some(levels));
        assert_eq!(read_v2::<i64>(&mut r, 1000), Some(means));
        assert_eq!(read_v2::<f64>(&mut r, 1), Some(one));
        assert_eq!(read_v2::<f64>(&mut r, 0), Some(vec![]));
        assert!(r.is_empty());
        // A consecutive column that would overflow, a u32 constant above u32::MAX, an unknown
        // form: refused.
        let mut bad = Vec::new();
        bad.extend_from_slice(&8u32.to_le_bytes());
        bad.extend_from_slice(&form::CONSECUTIVE.to_le_bytes());
        bad.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(read_v2::<u64>(&mut &bad[..], 2), None);
        bad[4..8].copy_from_slice(&form::CONSTANT.to_le_bytes());
        assert_eq!(read_v2::<u32>(&mut &bad[..], 2), None);
        bad[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(read_v2::<u64>(&mut &bad[..], 2), None);
    }
}
