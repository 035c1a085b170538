//! Series read one at a time from a byte stream (a file or standard input), so that a bulk load
//! holds one chunk of series, never the whole input: raw little-endian `f32` or `f64` values
//! with a fixed series length, UCR lines ([`super::ucr`]) and CSV rows ([`super::csv`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{non_finite_reason, ucr, MAX_SERIES_LEN};
use crate::error::{Error, Result};

/// What a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Little-endian `f32` values, `length` per series, nothing else.
    F32 {
        /// Values per series.
        length: usize,
    },
    /// Little-endian `f64` values, `length` per series, nothing else.
    F64 {
        /// Values per series.
        length: usize,
    },
    /// UCR lines: label, then values.
    Ucr,
    /// CSV rows ([`super::csv::for_each`]), labels in the first column when the header names
    /// it.
    Csv {
        /// Whether the first row is a header.
        header: super::csv::Header,
    },
}

/// Bytes read from the input at a time.
const BUFFER: usize = 8 << 20;

/// Calls `f` with every series of `input` and its label, in order, and returns their number.
/// `name` names the input in errors (`-` for standard input). Errors name the series (raw: the
/// "line" is the series, the "column" the value, both from 1) and stop the reading.
pub fn for_each(
    input: impl Read,
    name: &Path,
    format: StreamFormat,
    mut f: impl FnMut(Vec<f64>, Option<String>) -> Result<()>,
) -> Result<u64> {
    let mut reader = BufReader::with_capacity(BUFFER, input);
    let err = |line: u64, column: u64, reason: String| Error::Parse {
        path: name.to_path_buf(),
        line,
        column,
        reason,
    };
    let io = |e| Error::io(name, e);
    match format {
        StreamFormat::Csv { header } => {
            let labels = super::csv::LabelColumn::Auto;
            Ok(super::csv::for_each(name, reader, labels, header, f)?.0)
        }
        StreamFormat::F32 { length } | StreamFormat::F64 { length } => {
            if length == 0 || length > MAX_SERIES_LEN {
                return Err(Error::InvalidOptions(format!(
                    "the series length must be in 1..=2^28, got {length}"
                )));
            }
            let width = if matches!(format, StreamFormat::F32 { .. }) {
                4
            } else {
                8
            };
            let mut bytes = vec![0u8; length * width];
            let mut n = 0u64;
            loop {
                let got = fill(&mut reader, &mut bytes).map_err(io)?;
                if got == 0 {
                    return Ok(n);
                }
                if got < bytes.len() {
                    return Err(err(
                        n + 1,
                        (got / width) as u64 + 1,
                        format!(
                            "the input ends inside series {}: {} of {length} values ({got} bytes; {} bytes a value)",
                            n + 1,
                            got / width,
                            width
                        ),
                    ));
                }
                let values: Vec<f64> = if width == 4 {
                    bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                        .collect()
                } else {
                    bytes
                        .chunks_exact(8)
                        .map(|b| {
                            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
                        })
                        .collect()
                };
                if let Some(j) = values.iter().position(|v| !v.is_finite()) {
                    return Err(err(n + 1, j as u64 + 1, non_finite_reason(values[j])));
                }
                f(values, None)?;
                n += 1;
            }
        }
        StreamFormat::Ucr => {
            let (mut n, mut lineno, mut blank) = (0u64, 0usize, None::<usize>);
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    // As the whole-file reader: lines without a series are not a collection.
                    if n == 0 {
                        return Err(err(1, 0, "the file holds no series".into()));
                    }
                    return Ok(n);
                }
                lineno += 1;
                let mut raw = line.strip_suffix(b"\n").unwrap_or(&line);
                if lineno == 1 {
                    raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
                }
                if raw.iter().all(|b| b.is_ascii_whitespace()) {
                    // Empty lines are allowed at the end only.
                    blank.get_or_insert(lineno);
                    continue;
                }
                if let Some(b) = blank {
                    return Err(err(b as u64, 0, "empty line".into()));
                }
                let (values, label) = ucr::parse_line(name, lineno, raw)?;
                f(values, Some(label))?;
                n += 1;
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes: an error, or whole series of the given length with finite values (raw),
        /// never a panic; UCR lines likewise give labelled, non-empty series or an error.
        #[test]
        fn any_bytes_give_series_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..600), length in 1usize..9) {
            for format in [StreamFormat::F32 { length }, StreamFormat::F64 { length }] {
                if let Ok(got) = collect(&bytes, format) {
                    let width = if matches!(format, StreamFormat::F32 { .. }) { 4 } else { 8 };
                    prop_assert_eq!(got.len() * length * width, bytes.len());
                    prop_assert!(got.iter().all(|g| g.0.len() == length && g.0.iter().all(|v| v.is_finite())));
                }
            }
            if let Ok(got) = collect(&bytes, StreamFormat::Ucr) {
                prop_assert!(got.iter().all(|g| !g.0.is_empty() && g.1.is_some()));
            }
        }
    }

    fn collect(bytes: &[u8], format: StreamFormat) -> Result<Vec<(Vec<f64>, Option<String>)>> {
        let mut out = Vec::new();
        for_each(bytes, Path::new("-"), format, |x, l| {
            out.push((x, l));
            Ok(())
        })?;
        Ok(out)
    }

    /// Raw values come back bit for bit, in series of the given length, in order.
    #[test]
    fn raw_values_round_trip() {
        let series: Vec<Vec<f64>> = (0..5)
            .map(|i| (0..7).map(|j| (i * 7 + j) as f64 * 0.37 - 3.0).collect())
            .collect();
        let f64s: Vec<u8> = series
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let got = collect(&f64s, StreamFormat::F64 { length: 7 }).unwrap();
        assert_eq!(got.iter().map(|g| g.0.clone()).collect::<Vec<_>>(), series);
        assert!(got.iter().all(|g| g.1.is_none()));
        let f32s: Vec<u8> = series
            .iter()
            .flatten()
            .flat_map(|v| (*v as f32).to_le_bytes())
            .collect();
        let got = collect(&f32s, StreamFormat::F32 { length: 7 }).unwrap();
        for (g, s) in got.iter().zip(&series) {
            assert_eq!(g.0, s.iter().map(|v| *v as f32 as f64).collect::<Vec<_>>());
        }
        assert!(collect(&[], StreamFormat::F64 { length: 3 })
            .unwrap()
            .is_empty());
    }

    /// A partial last series, a NaN, a zero length: errors that say where.
    #[test]
    fn bad_raw_input_names_the_series_and_value() {
        let mut bytes: Vec<u8> = (0..10).flat_map(|v| (v as f64).to_le_bytes()).collect();
        let e = collect(&bytes, StreamFormat::F64 { length: 4 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("inside series 3: 2 of 4 values"), "{e}");
        bytes[5 * 8..6 * 8].copy_from_slice(&f64::NAN.to_le_bytes());
        let e = collect(&bytes[..8 * 8], StreamFormat::F64 { length: 4 }).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(matches!(
            collect(&bytes, StreamFormat::F32 { length: 0 }),
            Err(Error::InvalidOptions(_))
        ));
    }

    /// UCR lines stream as the whole-file reader reads them, trailing blank lines included.
    #[test]
    fn ucr_lines_match_the_file_reader() {
        let text = b"\xEF\xBB\xBF1\t0.5\t1.5\n2,3,4,5\n a 1 2 \r\n\n\n";
        let got = collect(text, StreamFormat::Ucr).unwrap();
        let whole = ucr::parse(Path::new("-"), text).unwrap();
        assert_eq!(
            got.iter().map(|g| g.0.clone()).collect::<Vec<_>>(),
            whole.series
        );
        assert_eq!(
            got.iter().map(|g| g.1.clone()).collect::<Vec<_>>(),
            whole.labels
        );
        let e = collect(b"1 2 3\n\n1 2 3\n", StreamFormat::Ucr).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
        let e = collect(b"1 2 3\n1 x 3\n", StreamFormat::Ucr).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{e}"
        );
    }
}
