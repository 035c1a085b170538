//! Reader and writer of series as CSV: one series a row, comma-separated.
//!
//! The first row is a header when none of its fields is a number; a header whose first field is
//! `label` (any case; also `class` or `target`) puts the labels in the first column. Without such
//! a header, [`LabelColumn::First`] says that the first column holds labels anyway. Rows may
//! differ in length. [`write()`] writes the header `label,t0,t1,...` so that its output reads back
//! with its labels.

use std::path::Path;

use super::{parse_value, Dataset};
use crate::error::{Error, Result};

/// Where the labels are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelColumn {
    /// In the first column when the header names it `label`, `class` or `target`; else none.
    Auto,
    /// Always in the first column.
    First,
    /// No labels: every field is a value.
    None,
}

/// Reads a CSV file.
pub fn read(path: &Path, labels: LabelColumn) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes, labels)
}

/// Parses the bytes of a CSV file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8], labels: LabelColumn) -> Result<Dataset> {
    let err = |line: u64, column: u64, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        reason,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let mut data = Dataset::default();
    let mut label_first = labels == LabelColumn::First;
    let mut record = ::csv::StringRecord::new();
    let mut row = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(row + 1, |p| p.line());
                return Err(err(line, 0, format!("unreadable CSV: {e}")));
            }
        }
        row += 1;
        let line = record.position().map_or(row, |p| p.line());
        if record.iter().all(str::is_empty) {
            return Err(err(line, 0, "empty line".into()));
        }
        if row == 1 && record.iter().all(|f| f.parse::<f64>().is_err()) {
            let first = record.get(0).unwrap_or("").to_ascii_lowercase();
            if labels == LabelColumn::Auto {
                label_first = matches!(first.as_str(), "label" | "class" | "target");
            }
            continue;
        }
        let mut fields: Vec<&str> = record.iter().collect();
        if fields.len() > 1 && fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        let (label, values_at) = if label_first {
            (Some(fields[0].to_string()), 1)
        } else {
            (None, 0)
        };
        if fields.len() <= values_at {
            return Err(err(
                line,
                values_at as u64 + 1,
                "a label but no values".into(),
            ));
        }
        let mut values = Vec::with_capacity(fields.len() - values_at);
        for (j, f) in fields.iter().enumerate().skip(values_at) {
            values.push(parse_value(f).map_err(|r| err(line, j as u64 + 1, r))?);
        }
        data.series.push(values);
        data.labels.push(label);
    }
    Ok(data)
}

/// Writes series as CSV: a header, then one row per series (label first when any series has one).
pub fn write(path: &Path, series: &[Vec<f64>], labels: &[Option<String>]) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path, e);
    let csv_err = |e: ::csv::Error| match e.into_kind() {
        ::csv::ErrorKind::Io(e) => Error::io(path, e),
        other => Error::io(path, std::io::Error::other(format!("{other:?}"))),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = ::csv::WriterBuilder::new().flexible(true).from_writer(file);
    let with_labels = labels.iter().any(Option::is_some);
    let width = series.iter().map(Vec::len).max().unwrap_or(0);
    let mut header: Vec<String> = Vec::with_capacity(width + 1);
    if with_labels {
        header.push("label".into());
    }
    header.extend((0..width).map(|t| format!("t{t}")));
    w.write_record(&header).map_err(csv_err)?;
    let mut row: Vec<String> = Vec::with_capacity(width + 1);
    for (s, values) in series.iter().enumerate() {
        row.clear();
        if with_labels {
            row.push(labels.get(s).and_then(|l| l.clone()).unwrap_or_default());
        }
        row.extend(values.iter().map(f64::to_string));
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush().map_err(io)?;
    let file = w
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, l: LabelColumn) -> Result<Dataset> {
        parse(Path::new("t.csv"), s.as_bytes(), l)
    }

    #[test]
    fn header_and_labels() {
        let d = p("label,t0,t1\na,1,2\nb,3\n", LabelColumn::Auto).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0], vec![3.0]]);
        assert_eq!(d.labels, vec![Some("a".into()), Some("b".into())]);
        let d = p("x,y\n1,2\n", LabelColumn::Auto).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0]]);
        assert_eq!(d.labels, vec![None]);
        let d = p("7,1,2\n", LabelColumn::First).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0]]);
        assert_eq!(d.labels, vec![Some("7".into())]);
        let d = p("7,1,2\n", LabelColumn::None).unwrap();
        assert_eq!(d.series, vec![vec![7.0, 1.0, 2.0]]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = p("1,2\n3,NaN\n", LabelColumn::Auto).unwrap_err();
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
        let e = p("label,t0\na,zz\n", LabelColumn::Auto).unwrap_err();
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
        let e = p("label,t0\na\n", LabelColumn::Auto).unwrap_err();
        assert!(e.to_string().contains("no values"), "{e}");
    }

    #[test]
    fn write_then_read_keeps_labels_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let series = vec![vec![0.1, 2.0, -3.25], vec![1e-300]];
        let labels = vec![Some("a".to_string()), Some("b".to_string())];
        write(&path, &series, &labels).unwrap();
        let d = read(&path, LabelColumn::Auto).unwrap();
        assert_eq!(d.series, series);
        assert_eq!(d.labels, labels);
        write(&path, &series, &[None, None]).unwrap();
        let d = read(&path, LabelColumn::Auto).unwrap();
        assert_eq!(d.series, series);
        assert_eq!(d.labels, vec![None, None]);
    }
}
