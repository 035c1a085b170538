//! The one error type of the library.
//!
//! Every fallible public function returns [`Result<T>`](crate::Result). Bad user input and bad
//! files become an [`Error`] that says where the problem is; nothing a user or a file controls
//! makes the library panic.

use std::path::PathBuf;

/// Everything that can go wrong in qabbadb.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A stored file does not hold what the format says it must.
    #[error("{}: corrupt {section} at byte {offset}: {detail}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// The section of the file (as named in `format-spec/FORMAT.md`).
        section: &'static str,
        /// Byte offset in the file where the damage was found.
        offset: u64,
        /// What is wrong.
        detail: String,
    },

    /// The file was written by a format version this build cannot read.
    #[error(
        "format version {found} is not supported (this build reads versions {oldest} to {newest})"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u32,
        /// The oldest version this build reads.
        oldest: u32,
        /// The newest version this build reads.
        newest: u32,
    },

    /// The file needs a feature (a required section kind) that this build does not know.
    #[error("{}: {what}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },

    /// An input file could not be parsed; line and column are 1-based.
    #[error("{}:{line}:{column}: {reason}", path.display())]
    Parse {
        /// The input file.
        path: PathBuf,
        /// 1-based line (or row) number.
        line: u64,
        /// 1-based column (field) number; 0 when the whole line is at fault.
        column: u64,
        /// What is wrong.
        reason: String,
    },

    /// A series handed to the library is not usable (NaN, infinite, empty, ...).
    #[error("series {series}, value {index}: {reason}")]
    InvalidInput {
        /// Position of the series in the collection given.
        series: usize,
        /// Position of the value in the series.
        index: usize,
        /// What is wrong.
        reason: String,
    },

    /// Options that contradict each other or lie outside their valid range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    /// No series with this id is stored.
    #[error("no series with id {0}")]
    NotFound(crate::SeriesId),

    /// An encoder refused its input (a write that would otherwise leave a file its reader
    /// rejects).
    #[error("encoding failed: {0}")]
    Encode(String),

    /// A request that cannot be carried out as asked (not an option of the database).
    #[error("{0}")]
    InvalidRequest(String),

    /// `build`/`create` was pointed at a directory that already holds a database.
    #[error("{}: already holds a database (open it, or build into a new directory)", .0.display())]
    Exists(PathBuf),

    /// `build`/`create` was pointed at a directory that holds files of its own.
    #[error("{}: the directory is not empty (it holds {found}); a new database needs a new or empty directory", path.display())]
    NotEmpty {
        /// The directory.
        path: PathBuf,
        /// Some of the files found there.
        found: String,
    },

    /// The path is not a qabbadb database.
    #[error("{}: not a qabbadb database ({why})", path.display())]
    NotADatabase {
        /// The path given.
        path: PathBuf,
        /// What was found instead.
        why: String,
    },

    /// A write was asked of a handle opened read-only.
    #[error("the database was opened read-only")]
    ReadOnly,

    /// Original values were asked of a database that does not keep them.
    #[error("this database keeps no raw values (build with --keep-raw)")]
    NoRawValues,

    /// A search was asked of a database built without a search index.
    #[error("this database was built without a search index (--no-index)")]
    NoIndex,

    /// Another process or handle holds the database's writer lock.
    #[error("{}: the database is open for writing elsewhere (its LOCK is held)", .0.display())]
    Locked(PathBuf),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A copy of the error, for results computed once and reported to every caller (an I/O
    /// error keeps its kind and message).
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Corrupt {
                path,
                section,
                offset,
                detail,
            } => Error::Corrupt {
                path: path.clone(),
                section,
                offset: *offset,
                detail: detail.clone(),
            },
            Error::UnsupportedVersion {
                found,
                oldest,
                newest,
            } => Error::UnsupportedVersion {
                found: *found,
                oldest: *oldest,
                newest: *newest,
            },
            Error::Unsupported { path, what } => Error::Unsupported {
                path: path.clone(),
                what: what.clone(),
            },
            Error::Parse {
                path,
                line,
                column,
                reason,
            } => Error::Parse {
                path: path.clone(),
                line: *line,
                column: *column,
                reason: reason.clone(),
            },
            Error::InvalidInput {
                series,
                index,
                reason,
            } => Error::InvalidInput {
                series: *series,
                index: *index,
                reason: reason.clone(),
            },
            Error::InvalidOptions(s) => Error::InvalidOptions(s.clone()),
            Error::Encode(s) => Error::Encode(s.clone()),
            Error::InvalidRequest(s) => Error::InvalidRequest(s.clone()),
            Error::Exists(p) => Error::Exists(p.clone()),
            Error::NotEmpty { path, found } => Error::NotEmpty {
                path: path.clone(),
                found: found.clone(),
            },
            Error::NotADatabase { path, why } => Error::NotADatabase {
                path: path.clone(),
                why: why.clone(),
            },
            Error::ReadOnly => Error::ReadOnly,
            Error::NoRawValues => Error::NoRawValues,
            Error::NoIndex => Error::NoIndex,
            Error::NotFound(id) => Error::NotFound(*id),
            Error::Locked(p) => Error::Locked(p.clone()),
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
