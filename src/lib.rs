//! qabbadb: compressed time-series storage (QABBA) and exact similarity search.
//!
//! ```
//! use qabbadb::{Database, Options};
//! # fn main() -> qabbadb::Result<()> {
//! let data = qabbadb::ingest::read(
//!     std::path::Path::new("tests/data/ucr/GunPoint/GunPoint_TRAIN.tsv"),
//!     None,
//! )?;
//! let dir = tempfile::tempdir().unwrap();
//! let (db, _report) = Database::build(&dir.path().join("gunpoint.qdb"), &data, &Options::default())?;
//! let x = db.get(0)?;
//! assert_eq!(x.len(), data.series[0].len()); // decoded length = original length
//! let info = db.info();
//! assert!(info.ratio_vs_f64 > 5.0);
//! # Ok(())
//! # }
//! ```
//!
//! # Concepts
//!
//! - A **series** is a sequence of finite `f64` values with an id and an optional label.
//! - The **codec** ([`codec`]) compresses each series into ABBA pieces, clusters the pieces of all
//!   series into one alphabet of symbols (JABBA), quantizes the symbol centres (QABBA) and stores
//!   each series as a symbol string; decoding gives back exactly the stored length.
//! - A **database** ([`Database`]) is one self-contained, checksummed segment file
//!   (`format-spec/FORMAT.md`) read through a memory map.
//!
//! # Pipeline
//!
//! 1. [`ingest`]: UCR, CSV and NPY files → [`ingest::Dataset`].
//! 2. [`codec`]: series → codebook + encoded series.
//! 3. [`storage`]: encoded series → segment file, and back.
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
// Numeric kernels index several arrays by one position; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod codec;
mod db;
pub mod distance;
pub mod error;
pub mod index;
pub mod ingest;
pub mod search;
pub mod storage;

pub use codec::{Assign, CodecParams, Digitizer};
pub use db::{BuildReport, Database, Info, Options, Snapshot};
pub use error::{Error, Result};
pub use index::{BreakpointChoice, IndexParams};
pub use search::{Metric, Neighbor, SearchResult, SearchStats, Window};
