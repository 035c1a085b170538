//! The integration test binary: one module per concern.

mod bulk;
mod cli;
mod codec_real;
mod corruption;
mod crash;
mod db_ops;
mod directory;
mod error_bounded;
mod exact_original;
mod format;
mod fuzz_readers;
mod knn_exact;
mod magnitudes;
mod model;
mod parity;
mod power_cut;
mod readers_race;
mod targets;
mod ucr_1nn;
mod util;
