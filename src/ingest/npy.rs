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

#[derive(Clone)]
struct Header {
    big_endian: bool,
    item_bytes: usize,
    fortran: bool,
    shape: Vec<usize>,
}

/// Parses the bytes of an NPY file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Dataset> {
    let array = Array::parse(path, bytes)?;
    let mut out = Dataset::default();
    for r in 0..array.rows {
        out.series.push(array.row(r)?);
        out.labels.push(None);
    }
    Ok(out)
}

/// The rows of an NPY file read in place from a memory map, one series at a time: for inputs
/// of any size (`qabbadb build` streams them into a bulk load).
pub struct Rows {
    path: std::path::PathBuf,
    file: std::fs::File,
    map: memmap2::Mmap,
    /// Where the values start in the file, whether they are in C order, and bytes per value.
    data_offset: usize,
    c_order: bool,
    /// Number of series.
    pub rows: usize,
    /// Length of every series.
    pub cols: usize,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

impl Rows {
    /// Maps the NPY file at `path` and checks its header and size.
    pub fn open(path: &Path) -> Result<Rows> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is only read, through bounds-checked slices, and lives as long as
        // `Rows`. An input file that another program truncates while it is being read can make
        // the process fault on access, as with any memory-mapped reader; the README says input
        // files must not change while `build` reads them. Exercised by the tests below and by
        // every `qabbadb build` of an NPY file.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let array = Array::parse(path, &map)?;
        let (rows, cols) = (array.rows, array.cols);
        let data_offset = map.len() - array.data.len();
        let c_order = !array.header.fortran;
        Ok(Rows {
            path: path.to_path_buf(),
            file,
            map,
            data_offset,
            c_order,
            rows,
            cols,
        })
    }

    /// Series `r` (`r < rows`).
    pub fn row(&self, r: usize) -> Result<Vec<f64>> {
        Array::parse(&self.path, &self.map)?.row(r)
    }

    /// Calls `f` on every series in order, with its index. C-order arrays are read from the
    /// file in chunks of about 8 MiB (so that the pages of the input do not add up in memory);
    /// Fortran-order ones through the map.
    pub fn for_each(&self, mut f: impl FnMut(usize, Vec<f64>) -> Result<()>) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let array = Array::parse(&self.path, &self.map)?;
        if !self.c_order || self.cols == 0 {
            for r in 0..array.rows {
                f(r, array.row(r)?)?;
            }
            return Ok(());
        }
        let row_bytes = self.cols * array.header.item_bytes;
        let per_chunk = ((8 << 20) / row_bytes).max(1);
        let mut buf = Vec::new();
        let mut r = 0;
        while r < self.rows {
            let n = per_chunk.min(self.rows - r);
            buf.resize(n * row_bytes, 0);
            self.file
                .read_exact_at(&mut buf, (self.data_offset + r * row_bytes) as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            let chunk = Array {
                path: &self.path,
                header: Header {
                    shape: vec![n, self.cols],
                    ..array.header.clone()
                },
                data: &buf,
                rows: n,
                cols: self.cols,
            };
            for i in 0..n {
                let x = chunk.row(i).map_err(|e| match e {
                    Error::Parse {
                        path,
                        line,
                        column,
                        reason,
                    } => Error::Parse {
                        path,
                        line: line + r as u64,
                        column,
                        reason,
                    },
                    e => e,
                })?;
                f(r + i, x)?;
            }
            r += n;
        }
        Ok(())
    }
}

/// A checked NPY array over its file's bytes.
struct Array<'a> {
    path: &'a Path,
    header: Header,
    data: &'a [u8],
    rows: usize,
    cols: usize,
}

impl<'a> Array<'a> {
    fn value(&self, k: usize) -> f64 {
        let n = self.header.item_bytes;
        let b = &self.data[k * n..(k + 1) * n];
        match (n, self.header.big_endian) {
            (8, false) => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            (8, true) => f64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
            (_, false) => f32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as f64,
            (_, true) => f32::from_be_bytes(b.try_into().unwrap_or([0; 4])) as f64,
        }
    }

    /// Row `r`; NaN and infinite values are errors naming their row and column.
    fn row(&self, r: usize) -> Result<Vec<f64>> {
        let (rows, cols) = (self.rows, self.cols);
        if r >= rows {
            return Err(Error::InvalidRequest(format!("row {r} of {rows}")));
        }
        let mut values = Vec::with_capacity(cols);
        for c in 0..cols {
            let k = if self.header.fortran {
                c * rows + r
            } else {
                r * cols + c
            };
            let v = self.value(k);
            if !v.is_finite() {
                return Err(Error::Parse {
                    path: self.path.to_path_buf(),
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
        Ok(values)
    }

    /// Checks the magic, version, header and size of the file's bytes.
    fn parse(path: &'a Path, bytes: &'a [u8]) -> Result<Array<'a>> {
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
        Ok(Array {
            path,
            header,
            data,
            rows,
            cols,
        })
    }
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

    #[test]
    fn rows_read_in_place_equal_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.npy");
        let series: Vec<Vec<f64>> = (0..50)
            .map(|i| (0..7).map(|t| (i * 7 + t) as f64 * 0.5).collect())
            .collect();
        write(&path, &series).unwrap();
        let rows = Rows::open(&path).unwrap();
        assert_eq!((rows.rows, rows.cols), (50, 7));
        let mut got = Vec::new();
        rows.for_each(|r, x| {
            assert_eq!(r, got.len());
            got.push(x);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, series);
        assert_eq!(rows.row(49).unwrap(), series[49]);
        assert!(rows.row(50).is_err());
        // A NaN is reported at its row and column when that row is read.
        let mut bad = series.clone();
        bad[30][2] = f64::NAN;
        write(&path, &bad).unwrap();
        let rows = Rows::open(&path).unwrap();
        assert!(rows.row(29).is_ok());
        match rows.row(30) {
            Err(Error::Parse { line, column, .. }) => assert_eq!((line, column), (31, 3)),
            other => panic!("{other:?}"),
        }
        let err = rows.for_each(|_, _| Ok(())).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Parse {
                    line: 31,
                    column: 3,
                    ..
                }
            ),
            "{err}"
        );
        std::fs::write(&path, b"not npy").unwrap();
        assert!(Rows::open(&path).is_err());
        // Rows of 2.4 MB: read three to a chunk; a NaN in the third chunk names its row.
        let wide: Vec<Vec<f64>> = (0..10)
            .map(|i| (0..300_000).map(|t| (i + t) as f64).collect())
            .collect();
        let mut bad = wide.clone();
        bad[7][5] = f64::NAN;
        write(&path, &wide).unwrap();
        let mut n = 0;
        Rows::open(&path)
            .unwrap()
            .for_each(|r, x| {
                assert_eq!(x, wide[r]);
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 10);
        write(&path, &bad).unwrap();
        let err = Rows::open(&path)
            .unwrap()
            .for_each(|_, _| Ok(()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Parse {
                    line: 8,
                    column: 6,
                    ..
                }
            ),
            "{err}"
        );
    }
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
