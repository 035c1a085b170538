//! The integration test binary: one module per concern.

mod cli;
mod codec_real;
mod corruption;
mod format;
mod parity;
mod util;
