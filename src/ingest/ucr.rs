//! Reader and writer of the UCR time series archive format (Dau et al. 2019).
//!
//! One series a line: the class label first, then the values. Fields are separated by tabs
//! (the 2018 archive), commas, or runs of spaces (older `.txt` files); the separator is chosen per
//! line in that order of preference. Lines may differ in length (variable-length datasets). One
//! separator at the end of a line is allowed; an empty line inside the file is an error, empty
//! lines at its end are not.

use std::io::Write;
use std::path::Path;

use super::{parse_value, Dataset};
use crate::error::{Error, Result};

/// Reads a UCR file.
pub fn read(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a UCR file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Dataset> {
    let mut data = Dataset::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    while lines
        .last()
        .is_some_and(|l| l.iter().all(|b| b.is_ascii_whitespace()))
    {
        lines.pop();
    }
    for (i, raw) in lines.iter().enumerate() {
        let (values, label) = parse_line(path, i + 1, raw)?;
        data.series.push(values);
        data.labels.push(Some(label));
    }
    Ok(data)
}

/// Parses line `lineno` (1-based; without its `\n`) of a UCR file: the values and the label.
pub fn parse_line(path: &Path, lineno: usize, raw: &[u8]) -> Result<(Vec<f64>, String)> {
    let err = |column: usize, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line: lineno as u64,
        column: column as u64,
        reason,
    };
    let line = std::str::from_utf8(raw)
        .map_err(|_| err(0, "line is not valid UTF-8".into()))?
        .trim_end_matches('\r');
    if line.trim().is_empty() {
        return Err(err(0, "empty line".into()));
    }
    let mut fields: Vec<&str> = if line.contains('\t') {
        line.split('\t').map(str::trim).collect()
    } else if line.contains(',') {
        line.split(',').map(str::trim).collect()
    } else {
        line.split_whitespace().collect()
    };
    if fields.len() > 1 && fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    let label = fields[0];
    if label.is_empty() {
        return Err(err(1, "empty label".into()));
    }
    if fields.len() < 2 {
        return Err(err(2, "a label but no values".into()));
    }
    let mut values = Vec::with_capacity(fields.len() - 1);
    for (j, f) in fields[1..].iter().enumerate() {
        values.push(parse_value(f).map_err(|r| err(j + 2, r))?);
    }
    if values.len() > super::MAX_SERIES_LEN {
        return Err(err(0, "series longer than 2^28 values".into()));
    }
    Ok((values, label.to_string()))
}

/// Writes series in UCR format (tab-separated, label first; `0` when a series has no label).
pub fn write(path: &Path, series: &[Vec<f64>], labels: &[Option<String>]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let io = |e| Error::io(path, e);
    for (s, values) in series.iter().enumerate() {
        let label = labels.get(s).and_then(|l| l.as_deref()).unwrap_or("0");
        write!(out, "{label}").map_err(io)?;
        for v in values {
            write!(out, "\t{v}").map_err(io)?;
        }
        writeln!(out).map_err(io)?;
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

    fn p(s: &str) -> Result<Dataset> {
        parse(Path::new("t.tsv"), s.as_bytes())
    }

    #[test]
    fn separators_and_variable_lengths() {
        let d = p("1\t0.5\t1.5\n2,3,4,5\n-1  7 8\r\n\n\n").unwrap();
        assert_eq!(
            d.series,
            vec![vec![0.5, 1.5], vec![3.0, 4.0, 5.0], vec![7.0, 8.0]]
        );
        assert_eq!(d.labels[2].as_deref(), Some("-1"));
    }

    #[test]
    fn trailing_separator_is_allowed() {
        let d = p("0\t1\t2\t\n").unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0]]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = p("1\t2\t3\n1\t2\tNaN\n").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 2,
                    column: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("NaN"));
        let e = p("1\t2\n\n1\t3\n").unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
        let e = p("1\t2\t\t3\n").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 1,
                    column: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = p("1\n").unwrap_err();
        assert!(e.to_string().contains("no values"), "{e}");
        let e = p("1\t2\tx1\n").unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let e = p("1\tinf\n").unwrap_err();
        assert!(e.to_string().contains("infinite"), "{e}");
    }

    #[test]
    fn write_then_read_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tsv");
        let series = vec![vec![0.1, -2.5e-9, 1e300], vec![3.0]];
        let labels = vec![Some("a".to_string()), None];
        write(&path, &series, &labels).unwrap();
        let d = read(&path).unwrap();
        assert_eq!(d.series, series);
        assert_eq!(d.labels, vec![Some("a".to_string()), Some("0".to_string())]);
    }
}
