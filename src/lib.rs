//! qabbadb: compressed time-series storage (QABBA) and exact similarity search.
//!
//! ```
//! use qabbadb::{Database, Exactness, Metric, Options, Query, Window};
//! # fn main() -> qabbadb::Result<()> {
//! let data = qabbadb::ingest::read(
//!     std::path::Path::new("tests/data/ucr/GunPoint/GunPoint_TRAIN.tsv"),
//!     None,
//! )?;
//! let dir = tempfile::tempdir().unwrap();
//! let (db, _report) = Database::build(&dir.path().join("gunpoint.qdb"), &data, &Options::default())?;
//! let snap = db.snapshot(); // one commit, read consistently
//! let x = snap.get(0)?;
//! assert_eq!(x.len(), data.series[0].len()); // decoded length = original length
//! assert!(snap.info()?.ratio_vs_f64 > 5.0);
//!
//! // Exact nearest neighbours over the stored series, equal to brute force.
//! let q = Query::knn(&data.series[7], 3);
//! let r = snap.search(&q)?;
//! assert_eq!(r.neighbors, snap.search(&q.brute_force(true))?.neighbors);
//! let r = snap.search(&Query::knn(&x, 1).dtw(Window::Fraction(0.1)))?;
//! assert_eq!(r.neighbors[0].id, 0); // a series' reconstruction finds that series
//! # Ok(())
//! # }
//! ```
//!
//! # Concepts
//!
//! - A **series** is a sequence of finite `f64` values with an id ([`SeriesId`], never reused)
//!   and an optional label.
//! - The **codec** compresses each series into ABBA pieces (Elsworth & Güttel 2020), clusters the
//!   pieces of all series into one alphabet of symbols (JABBA, Chen & Güttel 2023), quantizes the
//!   symbol centres (QABBA) and stores each series as a symbol string; decoding gives back exactly
//!   the stored length ([`CodecParams`]). Options add the original values losslessly
//!   ([`Options::keep_raw`], for answers exact over the originals with [`Exactness::Original`])
//!   or residual levels that bound every decoded value within δ of the original
//!   ([`Options::max_error`]).
//! - The **index** holds an 8-bit SAX word of every normalised reconstruction (PAA, Gaussian or
//!   KDE breakpoints: edwSAX) in a tree of iSAX envelopes ([`IndexParams`]); a [`Query`] — k-NN
//!   or range, Euclidean or DTW — is answered exactly by lower bounds then exact verification.
//! - A **database** ([`Database`]) is a directory of immutable, checksummed segment files named
//!   by an atomically replaced MANIFEST (`format-spec/FORMAT.md`); one writer appends, deletes and
//!   compacts while readers search consistent [`Snapshot`]s.
//!
//! # Pipeline
//!
//! 1. [`ingest`]: UCR, CSV and NPY files → [`ingest::Dataset`].
//! 2. codec: series → codebook + encoded series.
//! 3. index: normalised reconstructions → SAX words, breakpoints, envelope tree.
//! 4. storage: encoded series and index → segment file; MANIFEST and delete files.
//! 5. search: [`Query`] → [`SearchResult`], over every segment of a [`Snapshot`].
//!
//! `ARCHITECTURE.md` says where each stage lives. The stage modules are public only with the
//! `testing` feature (for the tests and benchmarks that check them piece by piece); the scan
//! baselines of the benchmarks are in `qabbadb::baselines` with the `baselines` feature.
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
// Numeric kernels index several arrays by one position; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]
// Without `testing`, helpers that only the tests of the stage modules call are unused.
#![cfg_attr(not(feature = "testing"), allow(dead_code))]

/// Declares a stage module: public (and hidden from the docs) with the `testing` feature,
/// private otherwise.
macro_rules! stage {
    ($name:ident) => {
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "testing"))]
        mod $name;
    };
}

// ABBA compression, digitization, quantization, symbol coding.
stage!(codec);
// Euclidean and DTW distances and their lower bounds.
stage!(distance);
// The error type.
stage!(error);
// PAA, breakpoints, SAX words, MINDIST tables and the envelope tree.
stage!(index);
// The search loop, the DTW cascade, brute force.
stage!(search);
// Segment files, the MANIFEST, delete files, the commit.
stage!(storage);
mod db;
mod ids;
pub mod ingest;

pub use codec::{Assign, CodecParams, Digitizer, FitReport};
pub use db::{
    BlockCounts, BuildReport, BulkLoader, BulkOptions, BulkProgress, Database, DeleteReport, Info,
    Options, Problem, Query, SegmentInfo, SeriesInfo, Snapshot, Target,
};
pub use error::{Error, Result};
pub use ids::{Generation, IdRange, SeriesId};
pub use index::{BreakpointChoice, IndexParams};
pub use search::{Exactness, Metric, Neighbor, Plan, SearchResult, SearchStats, Window};
pub use storage::segment::writer::WriteReport;

/// Sequential scans over plain matrices that benchmarks compare indexed search against: an
/// early-abandoning Euclidean scan over `f32` rows and the UCR Suite's DTW cascade (feature
/// `baselines`).
#[cfg(feature = "baselines")]
pub mod baselines {
    pub use crate::search::scan::{dtw_scan, ed_scan_f32, CascadeStats};
}
