//! Ingest: input files → [`Dataset`].
//!
//! Readers for the UCR archive format ([`ucr`]), CSV ([`csv`]) and NumPy `.npy` ([`npy`]),
//! series streamed from raw `f32`/`f64` or UCR bytes ([`stream`], for bulk loads), plus
//! [`validate`] for series handed over in memory. Every reader gives series ids `0..` in input
//! order and keeps each series' label. Bad input is an [`Error::Parse`] naming file, line and
//! column (for NPY: row and column of the array).

pub mod csv;
pub mod npy;
pub mod stream;
pub mod ucr;

use std::path::Path;

use crate::error::{Error, Result};

/// A collection of series read from a file or built in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// The series, in input order (series `i` gets id `i`).
    pub series: Vec<Vec<f64>>,
    /// One label per series (`None` when the input has no labels).
    pub labels: Vec<Option<String>>,
}

impl Dataset {
    /// A dataset without labels.
    pub fn from_series(series: Vec<Vec<f64>>) -> Self {
        let labels = vec![None; series.len()];
        Dataset { series, labels }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there are no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Total number of values over all series.
    pub fn points(&self) -> u64 {
        self.series.iter().map(|s| s.len() as u64).sum()
    }
}

/// The input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// UCR archive: one series a line, label first, tab-, comma- or space-separated.
    Ucr,
    /// CSV: one series a row; labels in the first column when the header names it `label`.
    Csv,
    /// NumPy `.npy`: a 2-D float32/float64 array, one series a row (1-D: one series).
    Npy,
}

impl InputFormat {
    /// The format a file name implies: `.tsv`/`.txt` UCR, `.csv`, `.npy`.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "tsv" | "txt" | "ucr" => Some(InputFormat::Ucr),
            "csv" => Some(InputFormat::Csv),
            "npy" => Some(InputFormat::Npy),
            _ => None,
        }
    }

    /// The format given, or else the one the file name implies.
    pub fn resolve(given: Option<Self>, path: &Path) -> Result<Self> {
        given.or_else(|| Self::from_path(path)).ok_or_else(|| {
            Error::InvalidOptions(format!(
                "cannot tell the format of {} from its name; give --format ucr|csv|npy",
                path.display()
            ))
        })
    }
}

/// How to read an input file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The format, or `None` for the one the file name implies.
    pub format: Option<InputFormat>,
    /// Whether a CSV file's first row is a header.
    pub header: csv::Header,
}

/// What a reader decided about a file (for the tool to report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadNotes {
    /// The format read.
    pub format: Option<InputFormat>,
    /// For CSV: the header taken, the separator, index and label columns.
    pub csv: Option<csv::CsvLayout>,
}

/// Reads a dataset, choosing the reader by `format` or else by file extension.
///
/// The result has at least one series, each with at least one finite value.
pub fn read(path: &Path, format: Option<InputFormat>) -> Result<Dataset> {
    read_with(
        path,
        &ReadOptions {
            format,
            ..ReadOptions::default()
        },
    )
    .map(|(d, _)| d)
}

/// [`read`] with every reading option; also says what the reader decided.
pub fn read_with(path: &Path, options: &ReadOptions) -> Result<(Dataset, ReadNotes)> {
    let format = InputFormat::resolve(options.format, path)?;
    let mut notes = ReadNotes {
        format: Some(format),
        csv: None,
    };
    let data = match format {
        InputFormat::Ucr => ucr::read(path)?,
        InputFormat::Csv => {
            let (d, layout) = csv::read_with(path, csv::LabelColumn::Auto, options.header)?;
            notes.csv = Some(layout);
            d
        }
        InputFormat::Npy => npy::read(path)?,
    };
    if data.is_empty() {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 0,
            reason: "the file holds no series".into(),
        });
    }
    Ok((data, notes))
}

/// Checks series given in memory: at least one series, none empty, every value finite.
pub fn validate(series: &[Vec<f64>]) -> Result<()> {
    if series.is_empty() {
        return Err(Error::InvalidInput {
            series: 0,
            index: 0,
            reason: "no series given".into(),
        });
    }
    for (s, values) in series.iter().enumerate() {
        validate_one(s, values)?;
    }
    Ok(())
}

/// The longest series a database holds: 2^28 values (2 GiB as f64), so that no length read from
/// a file can ask one decode for more memory than that.
pub const MAX_SERIES_LEN: usize = 1 << 28;

/// Checks one series: not empty, at most [`MAX_SERIES_LEN`] values, every value finite.
pub fn validate_one(s: usize, values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::InvalidInput {
            series: s,
            index: 0,
            reason: "empty series".into(),
        });
    }
    if values.len() > MAX_SERIES_LEN {
        return Err(Error::InvalidInput {
            series: s,
            index: 0,
            reason: format!(
                "series of {} values exceeds the maximum of 2^28",
                values.len()
            ),
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput {
            series: s,
            index: i,
            reason: non_finite_reason(values[i]),
        });
    }
    Ok(())
}

/// Parses one numeric field; the error reason names what was found.
pub(crate) fn parse_value(field: &str) -> std::result::Result<f64, String> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(non_finite_reason(v)),
        Err(_) if field.is_empty() => Err("empty field".into()),
        Err(_) => Err(format!("not a number: {:?}", truncate(field, 40))),
    }
}

fn non_finite_reason(v: f64) -> String {
    if v.is_nan() {
        "NaN value (missing data is not supported; fill or drop it first)".into()
    } else {
        "infinite value".into()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            InputFormat::from_path(Path::new("a/B_TRAIN.tsv")),
            Some(InputFormat::Ucr)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.TXT")),
            Some(InputFormat::Ucr)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.csv")),
            Some(InputFormat::Csv)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("x.npy")),
            Some(InputFormat::Npy)
        );
        assert_eq!(InputFormat::from_path(Path::new("x.bin")), None);
        assert!(InputFormat::resolve(None, Path::new("x")).is_err());
    }

    #[test]
    fn validate_rejects_bad_values() {
        assert!(validate(&[]).is_err());
        assert!(validate(&[vec![]]).is_err());
        let e = validate(&[vec![1.0], vec![0.0, f64::NAN]]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    series: 1,
                    index: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(validate(&[vec![f64::INFINITY]]).is_err());
        assert!(validate(&[vec![3.0], vec![1.0, 1.0]]).is_ok());
    }

    #[test]
    fn parse_value_reasons() {
        assert_eq!(parse_value("1.5e3"), Ok(1500.0));
        assert!(parse_value("NaN").unwrap_err().contains("NaN"));
        assert!(parse_value("-inf").unwrap_err().contains("infinite"));
        assert!(parse_value("abc").unwrap_err().contains("not a number"));
        assert!(parse_value("").unwrap_err().contains("empty"));
    }
}
