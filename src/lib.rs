//! qabbadb: compressed time-series storage (QABBA) and exact similarity search.
//!
//! ```
//! use qabbadb::{Database, Metric, Options, Window};
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
//!
//! // Exact nearest neighbours over the stored series, equal to brute force.
//! let r = db.knn(&data.series[7], 3, Metric::Euclidean)?;
//! assert_eq!(r.neighbors, db.knn_brute_force(&data.series[7], 3, Metric::Euclidean)?);
//! let r = db.knn(&x, 1, Metric::Dtw { window: Window::Fraction(0.1) })?;
//! assert_eq!(r.neighbors[0].id, 0); // a series' reconstruction finds that series
//! # Ok(())
//! # }
//! ```
//!
//! # Concepts
//!
//! - A **series** is a sequence of finite `f64` values with an id and an optional label.
//! - The **codec** ([`codec`]) compresses each series into ABBA pieces, clusters the pieces of all
//!   series into one alphabet of symbols (JABBA), quantizes the symbol centres (QABBA) and stores
//!   each series as a symbol string; decoding gives back exactly the stored length. Options
//!   add the original values losslessly (`keep_raw`, for exact answers over the originals with
//!   [`Exactness::Original`]) or residual levels that bound every decoded value within δ of the
//!   original (`max_error`, [`codec::residual`]).
//! - The **index** ([`index`]) holds an 8-bit SAX word of every normalised reconstruction (PAA,
//!   Gaussian or KDE breakpoints) in a tree of iSAX envelopes; [`search`] answers k-NN and range
//!   queries, Euclidean or DTW, exactly, by lower bounds then exact verification.
//! - A **database** ([`Database`]) is a directory of immutable, checksummed segment files named by
//!   an atomically replaced MANIFEST (`format-spec/FORMAT.md`); one writer appends, deletes and
//!   compacts while readers query consistent [`Snapshot`]s.
//!
//! # Pipeline
//!
//! 1. [`ingest`]: UCR, CSV and NPY files → [`ingest::Dataset`].
//! 2. [`codec`]: series → codebook + encoded series.
//! 3. [`index`]: normalised reconstructions → SAX words, breakpoints, envelope tree.
//! 4. [`storage`]: encoded series and index → segment file; MANIFEST and delete files.
//! 5. [`search`]: query → neighbours, over every segment of a [`Snapshot`].
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
pub use db::{BuildReport, Database, DeleteReport, Info, Options, Snapshot};
pub use error::{Error, Result};
pub use index::{BreakpointChoice, IndexParams};
pub use search::{Exactness, Metric, Neighbor, SearchResult, SearchStats, Window};
