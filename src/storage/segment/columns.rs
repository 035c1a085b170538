//! Column streams of the series table (FORMAT.md §4.3): each column is a u64 byte length
//! followed by a pco standalone stream of that many bytes (no bytes for an empty table).

use pco::data_types::Number;

/// Appends one column of `values` to `out`; a refusal by pco is an error.
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

/// Reads one column of exactly `n` values from the front of `input`, advancing it.
/// `None` when the bytes are short or do not decode to `n` values.
pub fn read<T: Number + Default + Copy>(input: &mut &[u8], n: usize) -> Option<Vec<T>> {
    let len_bytes: [u8; 8] = input.get(..8)?.try_into().ok()?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).ok()?;
    let body = input.get(8..8usize.checked_add(len)?)?;
    *input = &input[8 + len..];
    if n == 0 {
        return (len == 0).then(Vec::new);
    }
    let mut out = vec![T::default(); n];
    let progress = pco::standalone::simple_decompress_into(body, &mut out).ok()?;
    (progress.n_processed == n && progress.finished).then_some(out)
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
}
