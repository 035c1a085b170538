//! Reader and writer of NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Accepted arrays: `float64` or `float32` (`<f8`, `<f4`, `>f8`, `>f4`), C or Fortran order,
//! 2-D (one series a row) or 1-D (one series). NPY has no labels. Errors name the byte offset
//! of a bad header as column 0 of line 1, and a bad value by its row (line) and column.

use std::io::Write;
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads an NPY file.
pub fn read(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

struct Header {
    big_endian: bool,
    item_bytes: usize,
    fortran: bool,
    shape: Vec<usize>,
}

/// Parses the bytes of an NPY file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Dataset> {
    let bad = |reason: String| Error::Parse {
        path: path.to_path_buf(),
        line: 1,
        column: 0,
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not an NPY file (magic \\x93NUMPY missing)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| bad("truncated header".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(bad(format!("unsupported NPY version {v}"))),
    };
    let text = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| bad("truncated header".into()))?;
    let text = std::str::from_utf8(text).map_err(|_| bad("header is not text".into()))?;
    let header = parse_header(text).map_err(bad)?;
    let data = &bytes[start + header_len..];
    let (rows, cols) = match header.shape.as_slice() {
        [n] => (1, *n),
        [r, c] => (*r, *c),
        s => {
            return Err(bad(format!(
                "expected a 1-D or 2-D array, found shape {s:?}"
            )))
        }
    };
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| bad("shape overflows".into()))?;
    let need = count
        .checked_mul(header.item_bytes)
        .ok_or_else(|| bad("shape overflows".into()))?;
    if data.len() < need {
        return Err(bad(format!(
            "data truncated: shape {:?} needs {need} bytes, file has {}",
            header.shape,
            data.len()
        )));
    }
    if cols == 0 && rows > 0 {
        return Err(bad("series of length 0".into()));
    }
    let value = |k: usize| -> f64 {
        let b = &data[k * header.item_bytes..(k + 1) * header.item_bytes];
        match (header.item_bytes, header.big_endian) {
            (8, false) => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            (8, true) => f64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
            (_, false) => f32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as f64,
            (_, true) => f32::from_be_bytes(b.try_into().unwrap_or([0; 4])) as f64,
        }
    };
    let mut out = Dataset::default();
    for r in 0..rows {
        let mut values = Vec::with_capacity(cols);
        for c in 0..cols {
            let k = if header.fortran {
                c * rows + r
            } else {
                r * cols + c
            };
            let v = value(k);
            if !v.is_finite() {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: r as u64 + 1,
                    column: c as u64 + 1,
                    reason: if v.is_nan() {
                        "NaN value"
                    } else {
                        "infinite value"
                    }
                    .into(),
                });
            }
            values.push(v);
        }
        out.series.push(values);
        out.labels.push(None);
    }
    Ok(out)
}

fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or_else(|| format!("header has no '{key}'"))?;
        let rest = &text[at + key.len() + 2..];
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("bad header near '{key}'"))?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("bad 'descr'")?;
    let (big_endian, item_bytes) = match descr {
        "<f8" | "=f8" | "|f8" => (false, 8),
        ">f8" => (true, 8),
        "<f4" | "=f4" | "|f4" => (false, 4),
        ">f4" => (true, 4),
        d => {
            return Err(format!(
                "unsupported dtype {d:?}: only float32 and float64 arrays"
            ))
        }
    };
    let fortran = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("bad 'shape'")?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| format!("bad 'shape' ({shape})"))?;
    Ok(Header {
        big_endian,
        item_bytes,
        fortran,
        shape,
    })
}

/// Writes equal-length series as a 2-D little-endian float64 array (NPY 1.0).
///
/// NPY holds one rectangular array, so series of different lengths are an error.
pub fn write(path: &Path, series: &[Vec<f64>]) -> Result<()> {
    let cols = series.first().map_or(0, Vec::len);
    if let Some(i) = series.iter().position(|s| s.len() != cols) {
        return Err(Error::InvalidRequest(format!(
            "NPY needs series of one length: series 0 has {cols} values, series {i} has {}; \
             export as ucr or csv instead",
            series[i].len()
        )));
    }
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
        series.len(),
        cols
    );
    // Pad so that the data starts on a 64-byte boundary; the header ends in a newline.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let io = |e| Error::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&[1, 0]).map_err(io)?;
    out.write_all(&(header.len() as u16).to_le_bytes())
        .map_err(io)?;
    out.write_all(header.as_bytes()).map_err(io)?;
    for s in series {
        for v in s {
            out.write_all(&v.to_le_bytes()).map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut b = MAGIC.to_vec();
        b.extend([1, 0]);
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn reads_f4_and_fortran_order() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let d = parse(Path::new("x.npy"), &npy("<f4", false, "(2, 3)", &data)).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        let d = parse(Path::new("x.npy"), &npy("<f4", true, "(2, 3)", &data)).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]);
        let be: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let d = parse(Path::new("x.npy"), &npy(">f8", false, "(2,)", &be)).unwrap();
        assert_eq!(d.series, vec![vec![1.5, -2.0]]);
    }

    #[test]
    fn rejects_bad_files() {
        let p = Path::new("x.npy");
        assert!(parse(p, b"hello").is_err());
        let data: Vec<u8> = [1.0f64, f64::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = parse(p, &npy("<f8", false, "(1, 2)", &data)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 1,
                    column: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            parse(p, &npy("<f8", false, "(2, 2)", &data)).is_err(),
            "truncated"
        );
        assert!(
            parse(p, &npy("<i8", false, "(1, 2)", &data)).is_err(),
            "dtype"
        );
        assert!(
            parse(p, &npy("<f8", false, "(1, 1, 2)", &data)).is_err(),
            "3-D"
        );
    }

    #[test]
    fn write_then_read_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let series = vec![vec![0.1, 2.0], vec![-1e-310, 5.5]];
        write(&path, &series).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len() - 32) % 64, 0, "data is 64-byte aligned");
        assert_eq!(read(&path).unwrap().series, series);
        assert!(write(&path, &[vec![1.0], vec![1.0, 2.0]]).is_err());
    }
}
