//! The PARAMS section (FORMAT.md §4.1): the codec parameters a segment was encoded with.

use zerocopy::FromBytes;

use super::layout::ParamsRecord;
use super::SectionResult;
use crate::codec::digitize::Digitizer;
use crate::codec::{Assign, CodecParams};

/// The codec parameters and the fitted aggregation radius (NaN or infinite in the file: none).
/// `max_error` is left `None`: the RESIDUALS section carries it; `metadata` is per series (§4.3).
pub(super) fn parse(sec: &[u8]) -> SectionResult<(CodecParams, Option<f64>)> {
    let pr = ParamsRecord::read_from_bytes(sec)
        .map_err(|_| (0, format!("{} bytes, expected 64", sec.len())))?;
    let params = CodecParams {
        tol: pr.tol.get(),
        max_len: match pr.max_len.get() {
            0 => None,
            m => Some(m),
        },
        digitizer: match pr.digitizer {
            0 => Digitizer::Greedy {
                alpha: Some(pr.alpha.get()).filter(|a| !a.is_nan()),
            },
            1 => Digitizer::KMeans {
                k: pr.k.get() as usize,
                sample_rate: pr.sample_rate.get(),
                seed: pr.seed.get(),
            },
            d => return Err((12, format!("unknown digitizer {d}"))),
        },
        scl: pr.scl.get(),
        len_bits: pr.len_bits,
        inc_bits: pr.inc_bits,
        assign: match pr.assign {
            0 => Assign::ClosedLoop,
            1 => Assign::Nearest,
            a => return Err((13, format!("unknown assignment {a}"))),
        },
        max_rmse: pr.max_rmse.get(),
        max_error: None,
        metadata: Default::default(),
        target_rmse: None,
        tol_auto: None,
    };
    let alpha = Some(pr.alpha.get()).filter(|a| a.is_finite());
    Ok((params, alpha))
}
