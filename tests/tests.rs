//! The integration test binary: one module per concern.

mod cli;
mod codec_real;
mod corruption;
mod format;
mod knn_exact;
mod parity;
mod util;
