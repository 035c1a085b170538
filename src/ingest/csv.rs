//! Reader and writer of series as CSV: one series a row.
//!
//! Fields are separated by commas; a file whose first line holds no comma but semicolons (or
//! tabs) is read with that separator. A UTF-8 byte-order mark is skipped.
//!
//! With [`Header::Auto`] the first row is a header when
//! - none of its fields is a number (`label,t0,t1`, `x,y`, polars' `column_0,…`), or
//! - its fields are the column numbers 0, 1, 2, … written as integers, as pandas writes for an
//!   unnamed frame (`DataFrame(arr).to_csv(index=False)`), or
//! - its first field is empty or a name and the others are such column numbers: pandas with its
//!   index (`,0,1,2`; the first column is then a row index and is dropped) or with a named first
//!   column (`id,0,1,2`; that column becomes the labels).
//!
//! A header whose first field is `label` (any case; also `class` or `target`) puts the labels in
//! the first column. [`Header::Yes`] and [`Header::No`] decide instead of the rule;
//! [`LabelColumn::First`] says that the first column holds labels anyway. Rows may differ in
//! length. [`write()`] writes the header `label,t0,t1,...` so that its output reads back with
//! its labels.

use std::io::{BufRead, BufReader, Read};
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

/// Whether the first row is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// Decided by the rule in the module documentation.
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// The first row is a series.
    No,
}

/// What the reader decided about a file, for the tool to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvLayout {
    /// The header row taken (its first fields), if one was.
    pub header: Option<String>,
    /// The field separator used.
    pub delimiter: char,
    /// The first column was a row index (an empty header field) and was dropped.
    pub index_column: bool,
    /// The first column held labels.
    pub labels: bool,
}

/// Reads a CSV file.
pub fn read(path: &Path, labels: LabelColumn) -> Result<Dataset> {
    read_with(path, labels, Header::Auto).map(|(d, _)| d)
}

/// Reads a CSV file with the given header choice; also says what was taken as header.
pub fn read_with(path: &Path, labels: LabelColumn, header: Header) -> Result<(Dataset, CsvLayout)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    collect(path, file, labels, header)
}

/// Parses the bytes of a CSV file; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8], labels: LabelColumn) -> Result<Dataset> {
    parse_with(path, bytes, labels, Header::Auto).map(|(d, _)| d)
}

/// The separator of a file: a comma, unless the first line has none but has semicolons or tabs.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if first.contains(&b',') {
        b','
    } else if first.contains(&b';') {
        b';'
    } else if first.contains(&b'\t') {
        b'\t'
    } else {
        b','
    }
}

/// Fields that are the column numbers 0, 1, 2, … written as plain integers.
fn are_column_numbers(fields: &[&str]) -> bool {
    let Some(start) = fields.first().and_then(|f| plain_integer(f)) else {
        return false;
    };
    start == 0
        && fields
            .iter()
            .enumerate()
            .all(|(i, f)| plain_integer(f) == Some(start + i as u64))
}

fn plain_integer(f: &str) -> Option<u64> {
    if f.is_empty() || f.len() > 12 || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    f.parse().ok()
}

/// What the first row is, by the rule of the module documentation: `None` a series, else
/// `Some(index_column)`.
fn header_kind(fields: &[&str]) -> Option<bool> {
    let is_number = |f: &&str| f.parse::<f64>().is_ok();
    if !fields.iter().any(is_number) {
        return Some(false);
    }
    if fields.len() >= 2 && are_column_numbers(fields) {
        return Some(false);
    }
    let (first, rest) = fields.split_first()?;
    if !rest.is_empty() && !is_number(first) && are_column_numbers(rest) {
        return Some(first.is_empty());
    }
    None
}

/// Parses the bytes of a CSV file with the given header choice; also says what was decided.
/// `path` only names the file in errors.
pub fn parse_with(
    path: &Path,
    bytes: &[u8],
    labels: LabelColumn,
    header: Header,
) -> Result<(Dataset, CsvLayout)> {
    collect(path, bytes, labels, header)
}

/// Every series of `input` in a [`Dataset`] ([`for_each`]).
fn collect(
    path: &Path,
    input: impl Read,
    labels: LabelColumn,
    header: Header,
) -> Result<(Dataset, CsvLayout)> {
    let mut data = Dataset::default();
    let (_, layout) = for_each(path, input, labels, header, |x, label| {
        data.series.push(x);
        data.labels.push(label);
        Ok(())
    })?;
    Ok((data, layout))
}

/// Bytes read from the input at a time.
const BUFFER: usize = 8 << 20;

/// Calls `f` with every series of CSV `input` and its label, in order, reading one row at a time
/// (memory bounded by the longest row, not by the input), and returns their number and what was
/// decided about the layout. The separator is sniffed from the first line. `path` names the
/// input in errors, which give its line and column and stop the reading; an error from `f` stops
/// it too.
pub fn for_each(
    path: &Path,
    input: impl Read,
    labels: LabelColumn,
    header: Header,
    mut f: impl FnMut(Vec<f64>, Option<String>) -> Result<()>,
) -> Result<(u64, CsvLayout)> {
    let err = |line: u64, column: u64, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        reason,
    };
    let mut input = BufReader::with_capacity(BUFFER, input);
    let mut first = Vec::new();
    input
        .read_until(b'\n', &mut first)
        .map_err(|e| Error::io(path, e))?;
    let first = match first.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => first,
    };
    let delimiter = sniff_delimiter(&first);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(::csv::Trim::All)
        .from_reader(std::io::Cursor::new(first).chain(input));
    let mut count = 0u64;
    let mut layout = CsvLayout {
        delimiter: delimiter as char,
        ..CsvLayout::default()
    };
    let mut label_first = labels == LabelColumn::First;
    let mut index_column = false;
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
        if row == 1 {
            let fields: Vec<&str> = record.iter().collect();
            let kind = match header {
                Header::Auto => header_kind(&fields),
                Header::Yes => Some(fields.first().is_some_and(|f| f.is_empty())),
                Header::No => None,
            };
            if let Some(index) = kind {
                let first = fields.first().copied().unwrap_or("").to_ascii_lowercase();
                let named = matches!(first.as_str(), "label" | "class" | "target");
                // A named first column before column numbers is not a time step: its labels.
                let before_numbers = !index
                    && fields.len() > 1
                    && first.parse::<f64>().is_err()
                    && are_column_numbers(&fields[1..]);
                if labels == LabelColumn::Auto {
                    label_first = named || before_numbers;
                }
                index_column = index;
                let mut shown: String =
                    fields.iter().take(6).copied().collect::<Vec<_>>().join(",");
                if fields.len() > 6 {
                    shown.push_str(",…");
                }
                layout.header = Some(shown);
                continue;
            }
        }
        let mut fields: Vec<&str> = record.iter().collect();
        if fields.len() > 1 && fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        if index_column && !fields.is_empty() {
            fields.remove(0);
            if fields.is_empty() {
                return Err(err(line, 1, "a row index but no values".into()));
            }
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
        let shift = index_column as u64 + 1;
        for (j, f) in fields.iter().enumerate().skip(values_at) {
            let hint = |r: String| {
                if delimiter == b';' && f.contains(',') {
                    format!("{r} (decimal commas are not read: write decimal points)")
                } else {
                    r
                }
            };
            values.push(parse_value(f).map_err(|r| err(line, j as u64 + shift, hint(r)))?);
        }
        f(values, label)?;
        count += 1;
    }
    layout.index_column = index_column;
    layout.labels = label_first;
    if count == 0 {
        let reason = match &layout.header {
            Some(h) => format!(
                "the file holds only a header row ({h}) and no series; --header no reads that row as a series"
            ),
            None => "the file holds no series".into(),
        };
        return Err(err(1, 0, reason));
    }
    Ok((count, layout))
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

    fn pw(s: &str, h: Header) -> Result<(Dataset, CsvLayout)> {
        parse_with(Path::new("t.csv"), s.as_bytes(), LabelColumn::Auto, h)
    }

    /// The headers pandas writes: `DataFrame(arr).to_csv(index=False)` and `.to_csv()`.
    #[test]
    fn pandas_headers_are_headers() {
        let (d, l) = pw("0,1,2,3\n0.1,0.5,0.2,0.9\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![0.1, 0.5, 0.2, 0.9]]);
        assert_eq!(l.header.as_deref(), Some("0,1,2,3"));
        let (d, l) = pw(",0,1,2\n0,0.1,0.5,0.2\n1,3,4,5\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![0.1, 0.5, 0.2], vec![3.0, 4.0, 5.0]]);
        assert_eq!(d.labels, vec![None, None]);
        assert!(l.index_column);
        // A named first column before column numbers holds labels.
        let (d, l) = pw("id,0,1\na,1,2\nb,3,4\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(d.labels, vec![Some("a".into()), Some("b".into())]);
        assert!(l.labels && !l.index_column);
        // Polars' names.
        let (d, _) = pw("column_0,column_1\n7,8\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![7.0, 8.0]]);
        // Not column numbers: data.
        for data in ["0,1,3\n", "0.0,1.0,2.0\n", "1,2,3\n", "0\n", "0,1,2,3e0\n"] {
            let (d, l) = pw(data, Header::Auto).unwrap();
            assert_eq!(d.len(), 1, "{data}");
            assert_eq!(l.header, None, "{data}");
        }
    }

    #[test]
    fn header_choice_overrides_the_rule() {
        let (d, l) = pw("0,1,2,3\n0.1,0.5,0.2,0.9\n", Header::No).unwrap();
        assert_eq!(d.series[0], vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(l.header, None);
        let (d, l) = pw("5,6\n7,8\n", Header::Yes).unwrap();
        assert_eq!(d.series, vec![vec![7.0, 8.0]]);
        assert_eq!(l.header.as_deref(), Some("5,6"));
        let e = pw("a,b\n", Header::Auto).unwrap_err();
        assert!(e.to_string().contains("only a header row (a,b)"), "{e}");
        let e = pw("x,1\n", Header::No).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
    }

    #[test]
    fn separators_and_byte_order_marks() {
        let (d, l) = pw("\u{feff}label,t0\nA,1\n", Header::Auto).unwrap();
        assert_eq!(d.labels, vec![Some("A".into())]);
        assert!(l.labels);
        let (d, l) = pw("1;2;3\n4;5;6\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        assert_eq!(l.delimiter, ';');
        let (d, _) = pw("1\t2\n", Header::Auto).unwrap();
        assert_eq!(d.series, vec![vec![1.0, 2.0]]);
        let e = pw("1,5;2,5\n", Header::Auto).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let e = pw("a;b\n1,5;2\n", Header::Auto).unwrap_err();
        assert!(e.to_string().contains("decimal commas"), "{e}");
    }

    /// A reader that hands out one byte at a time (a slow pipe): the same series, layout and
    /// errors as the bytes parsed at once.
    #[test]
    fn a_trickling_input_reads_as_the_whole_bytes() {
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match (self.0.split_first(), buf.first_mut()) {
                    (Some((&b, rest)), Some(out)) => {
                        *out = b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let path = Path::new("t.csv");
        for text in [
            "\u{feff},0,1,2\n0,1.5,2,3\n1,4,5,6\n",
            "label;a;b\nx;1;2\ny;3;4\n",
            "1,2,3\n4,5\n6,nan\n",
            "only\n",
            "",
        ] {
            let whole = parse_with(path, text.as_bytes(), LabelColumn::Auto, Header::Auto);
            let trickled = collect(
                path,
                Trickle(text.as_bytes()),
                LabelColumn::Auto,
                Header::Auto,
            );
            assert_eq!(format!("{whole:?}"), format!("{trickled:?}"), "{text:?}");
        }
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
