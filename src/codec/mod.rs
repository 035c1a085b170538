//! The codec: a series (`&[f64]`) → [`EncodedSeries`] over a shared [`Codebook`], and back.
//!
//! The QABBA pipeline (Elsworth & Güttel 2020; Chen & Güttel 2022; Chen 2024; Carson, Chen &
//! Kang 2024):
//!
//! 1. [`normalize`]: z-normalise each series, keeping μ and σ.
//! 2. [`compress`]: ABBA pieces `(len, inc)` within tolerance `tol`.
//! 3. [`digitize`]: cluster the pieces of *all* series into one alphabet (JABBA).
//! 4. [`quantize`]: store the centres as `len_bits`/`inc_bits`-bit integers (QABBA).
//! 5. [`assign`]: pick each piece's symbol (closed-loop by default).
//! 6. [`reconstruct`]: decode to exactly `n` points; measure ε = ‖x − x̂‖ and the largest
//!    error. A series over the error budget is compressed again at finer tolerances with the same
//!    codebook, or given a [`correction`] of its own, whichever is smaller; it is stored
//!    losslessly ([`lossless`]) only when both fail or cost more.
//! 7. [`residual`] (error-bounded mode, `max_error = δ`): integer corrections of step 2δ make
//!    every decoded value lie within δ of the original.
//!
//! Compression and assignment run in parallel over series (rayon) with results collected in
//! input order; digitization is sequential or uses fixed-order sums, so the output depends on the
//! seed only, never on the number of threads.

pub mod assign;
pub mod bitpack;
pub mod compress;
pub mod correction;
pub mod digitize;
pub mod lossless;
pub mod lzw;
pub mod meta;
pub mod normalize;
pub mod quantize;
pub mod rans;
pub mod reconstruct;
pub mod residual;
pub mod symbols;

use std::time::{Duration, Instant};

use rayon::prelude::*;

pub use assign::Assign;
pub use compress::Piece;
pub use digitize::Digitizer;
pub use meta::{Metadata, Start};
pub use normalize::Moments;
pub use quantize::Quantizer;

use crate::error::{Error, Result};

/// Parameters of the codec.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecParams {
    /// Compression tolerance (papers' convention; the packages' `tol` is `tol²`).
    pub tol: f64,
    /// Longest piece, in intervals (None: unlimited).
    pub max_len: Option<u32>,
    /// How pieces are clustered into symbols.
    pub digitizer: Digitizer,
    /// Weight of length against increment in digitization.
    pub scl: f64,
    /// Bits per quantized centre length.
    pub len_bits: u8,
    /// Bits per quantized centre increment.
    pub inc_bits: u8,
    /// Symbol assignment rule.
    pub assign: Assign,
    /// Error budget: a series whose RMSE exceeds `max_rmse·σ` is compressed again at finer
    /// tolerances, and stored losslessly when that fails or costs more.
    /// `f64::INFINITY` disables the fallback; so does `max_error`, whose residuals bound every
    /// value.
    pub max_rmse: f64,
    /// Error-bounded mode: the largest absolute error δ of any stored value, in original units,
    /// met by adding quantized residuals to the reconstruction (`codec::residual`). `None`: off.
    pub max_error: Option<f64>,
    /// Precision of each series' first value and moments (FORMAT.md §4.3.2): rounded where that is
    /// valid (the default), or exact f64 values (what databases that keep the original values use).
    pub metadata: Metadata,
    /// A target for the mean RMSE/σ of the stored series: a database build chooses `tol` on a
    /// sample of its series to meet it with the fewest bytes (`db::tune`). `None`: `tol` as set.
    pub target_rmse: Option<f64>,
    /// Whether a database build chooses `tol` itself, as the one with the fewest bytes on a sample
    /// of its series (`db::tune`): `Some` as asked, `None` for the default, which is to choose it
    /// in error-bounded mode (where the residuals bound every value whatever `tol` is, and the
    /// cheapest `tol` is usually coarse) and to keep `tol` otherwise.
    pub tol_auto: Option<bool>,
}

impl Default for CodecParams {
    fn default() -> Self {
        CodecParams {
            tol: 0.2,
            max_len: None,
            digitizer: Digitizer::Greedy { alpha: None },
            scl: 1.0,
            len_bits: 8,
            inc_bits: 12,
            assign: Assign::ClosedLoop,
            max_rmse: 0.5,
            max_error: None,
            metadata: Metadata::Rounded,
            target_rmse: None,
            tol_auto: None,
        }
    }
}

impl CodecParams {
    /// Whether a build chooses `tol` for the fewest bytes (see [`CodecParams::tol_auto`]); never
    /// with a `target_rmse`, which chooses it for the target.
    pub fn tunes_tol(&self) -> bool {
        self.target_rmse.is_none() && self.tol_auto.unwrap_or(self.max_error.is_some())
    }

    /// Checks ranges; every violation is an [`Error::InvalidOptions`].
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidOptions(m));
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return bad(format!("tol must be a positive number, got {}", self.tol));
        }
        if self.max_len == Some(0) {
            return bad("max_len must be at least 1".into());
        }
        if !(self.scl.is_finite() && self.scl >= 0.0) {
            return bad(format!("scl must be ≥ 0, got {}", self.scl));
        }
        for (name, b) in [("len_bits", self.len_bits), ("inc_bits", self.inc_bits)] {
            if !(2..=32).contains(&b) {
                return bad(format!("{name} must be in 2..=32, got {b}"));
            }
        }
        if self.max_rmse.is_nan() || self.max_rmse < 0.0 {
            return bad(format!("max_rmse must be ≥ 0, got {}", self.max_rmse));
        }
        if let Some(d) = self.max_error {
            if !(d.is_finite() && d > 0.0 && (2.0 * d).is_finite()) {
                return bad(format!("max_error must be a positive number, got {d}"));
            }
        }
        if let Some(t) = self.target_rmse {
            if !(t.is_finite() && t > 0.0) {
                return bad(format!("target_rmse must be a positive number, got {t}"));
            }
            if self.max_error.is_some() {
                return bad(
                    "target_rmse does not apply with max_error (the residuals bound every value)"
                        .into(),
                );
            }
            if self.tol_auto == Some(true) {
                return bad(
                    "target_rmse chooses the tolerance for its target: it does not go with tol_auto"
                        .into(),
                );
            }
        }
        match self.digitizer {
            Digitizer::Greedy { alpha: Some(a) } if !(a.is_finite() && a >= 0.0) => {
                bad(format!("alpha must be ≥ 0, got {a}"))
            }
            Digitizer::KMeans { k: 0, .. } => bad("the number of symbols must be ≥ 1".into()),
            Digitizer::KMeans { sample_rate, .. } if !(sample_rate > 0.0 && sample_rate <= 1.0) => {
                bad(format!("sample rate must be in (0, 1], got {sample_rate}"))
            }
            _ => Ok(()),
        }
    }
}

/// The shared alphabet: quantized centres and the scaling of digitization.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebook {
    /// Quantizer of centre lengths.
    pub len_q: Quantizer,
    /// Quantizer of centre increments.
    pub inc_q: Quantizer,
    /// Quantized centre `[len, inc]` of each symbol.
    pub symbols: Vec<[i32; 2]>,
    /// Digitization weights `[scl/σ_len, 1/σ_inc]`.
    pub weights: [f64; 2],
}

impl Codebook {
    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// True when the alphabet is empty (every series has length 1 or is lossless).
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// Dequantized centres `[len, inc]`, in the normalised space.
    pub fn centres(&self) -> Vec<[f64; 2]> {
        self.symbols
            .iter()
            .map(|&[l, i]| [self.len_q.dequantize(l), self.inc_q.dequantize(i)])
            .collect()
    }

    /// Quantizes real centres.
    pub fn from_centres(
        centres: &[[f64; 2]],
        weights: [f64; 2],
        len_bits: u8,
        inc_bits: u8,
    ) -> Self {
        let lens: Vec<f64> = centres.iter().map(|c| c[0]).collect();
        let incs: Vec<f64> = centres.iter().map(|c| c[1]).collect();
        let len_q = Quantizer::fit(&lens, len_bits);
        let inc_q = Quantizer::fit(&incs, inc_bits);
        let symbols = centres
            .iter()
            .map(|c| [len_q.quantize(c[0]), inc_q.quantize(c[1])])
            .collect();
        Codebook {
            len_q,
            inc_q,
            symbols,
            weights,
        }
    }
}

/// How one series is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// As symbols of the codebook.
    Symbolic(Vec<u32>),
    /// Losslessly, as a pco stream of the original values.
    Lossless(Vec<u8>),
    /// As symbols and a [`correction::Correction`] that brings their reconstruction within the
    /// error budget (boxed: few series have one, and every series holds a `Storage`).
    Corrected(Vec<u32>, Box<correction::Correction>),
}

// Every series of a segment being built holds one: keep it as small as a vector.
const _: () = assert!(std::mem::size_of::<Storage>() <= 32);

impl Storage {
    /// The symbols of a symbolic or corrected series.
    pub fn symbols(&self) -> Option<&[u32]> {
        match self {
            Storage::Symbolic(s) | Storage::Corrected(s, _) => Some(s),
            Storage::Lossless(_) => None,
        }
    }
}

/// One encoded series.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSeries {
    /// Number of values n.
    pub len: u32,
    /// Where the reconstruction starts ([`meta`]).
    pub start: Start,
    /// Mean and standard deviation, as stored ([`meta`]).
    pub moments: Moments,
    /// Symbols or lossless bytes.
    pub storage: Storage,
    /// Error-bounded mode: one residual level per value of a symbolic series (step
    /// `2·max_error`, [`residual`]); empty otherwise.
    pub residuals: residual::Levels,
    /// Pieces of the ABBA compression (= number of symbols when symbolic).
    pub pieces: u32,
    /// ε = ‖x − x̂‖₂ in original units, rounded up to a stored bound ([`meta::round_up_bound`];
    /// 0 when lossless); x̂ includes the residual corrections in error-bounded mode.
    pub eps: f64,
    /// max_i |x_i − x̂_i| in original units, rounded up likewise (0 when lossless).
    pub max_abs_err: f64,
}

impl EncodedSeries {
    /// Decodes to original units, residual corrections included. `centres` from
    /// [`Codebook::centres`]; `None` for a lossless series whose bytes do not decode.
    pub fn decode(&self, centres: &[[f64; 2]], max_error: Option<f64>) -> Option<Vec<f64>> {
        match &self.storage {
            Storage::Lossless(b) => lossless::decompress(b, self.len as usize),
            Storage::Symbolic(s) => {
                let mut x =
                    decode_symbolic(self.len as usize, self.start, self.moments, s, centres);
                if let (Some(d), false) = (max_error, self.residuals.is_empty()) {
                    residual::apply(&mut x, self.residuals.iter(), 2.0 * d);
                }
                Some(x)
            }
            Storage::Corrected(s, c) => {
                let mut x =
                    decode_symbolic(self.len as usize, self.start, self.moments, s, centres);
                c.apply(&mut x);
                Some(x)
            }
        }
    }
}

/// Decodes a symbolic series to original units. `centres` from [`Codebook::centres`].
pub fn decode_symbolic<S: reconstruct::SymbolIndex>(
    len: usize,
    start: Start,
    moments: Moments,
    symbols: &[S],
    centres: &[[f64; 2]],
) -> Vec<f64> {
    let mut x = Vec::with_capacity(len);
    decode_symbolic_into(len, start, moments, symbols, centres, &mut x);
    x
}

/// As [`decode_symbolic`], into `out`. FORMAT.md §5 steps 1–4: the reconstruction starts at
/// z₀ (for `Start::Value(x₀)`, `(x₀ − μ)/σ` and x̂₀ = x₀ exactly).
pub fn decode_symbolic_into<S: reconstruct::SymbolIndex>(
    len: usize,
    start: Start,
    moments: Moments,
    symbols: &[S],
    centres: &[[f64; 2]],
    out: &mut Vec<f64>,
) {
    let z0 = match start {
        Start::Value(first) if moments.std > 0.0 => moments.z(first),
        Start::Value(_) => 0.0,
        Start::Normalized(z0) => z0,
    };
    reconstruct::decode_into(len, z0, symbols, centres, out);
    for v in out.iter_mut() {
        *v = moments.mean + moments.std * *v;
    }
    if let (Start::Value(first), Some(x0)) = (start, out.first_mut()) {
        *x0 = first;
    }
}

/// The representation similarity search compares: `(x̂ − μ)/σ` of a decoded series (original
/// units) with its stored μ and σ, all zeros when σ = 0; in place. Equal, bit for bit, to
/// [`Moments::normalize`] of the same values.
pub fn normalize_in_place(x: &mut [f64], moments: Moments) {
    if moments.std == 0.0 {
        x.iter_mut().for_each(|v| *v = 0.0);
    } else {
        x.iter_mut().for_each(|v| *v = moments.z(*v));
    }
}

/// Figures from one fit, for `info` and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitReport {
    /// Pieces over all series.
    pub pieces: u64,
    /// Aggregation radius used (greedy aggregation only).
    pub alpha: Option<f64>,
    /// Series stored losslessly because of the error budget.
    pub lossless: u64,
    /// Series stored with a correction because of the error budget.
    pub corrected: u64,
    /// Time to normalise and compress.
    pub compress_time: Duration,
    /// Time to digitize and quantize.
    pub digitize_time: Duration,
    /// Time to assign symbols, decode and measure errors.
    pub assign_time: Duration,
}

impl FitReport {
    /// Adds the pieces, lossless and corrected series of `encoded`.
    pub fn tally(&mut self, encoded: &[EncodedSeries]) {
        for e in encoded {
            self.pieces += u64::from(e.pieces);
            self.lossless += u64::from(matches!(e.storage, Storage::Lossless(_)));
            self.corrected += u64::from(matches!(e.storage, Storage::Corrected(..)));
        }
    }
}

/// Fits a codebook to `series` and encodes them all.
pub fn fit_encode(
    series: &[Vec<f64>],
    p: &CodecParams,
) -> Result<(Codebook, Vec<EncodedSeries>, FitReport)> {
    p.validate()?;
    crate::ingest::validate(series)?;
    let t0 = Instant::now();
    let prepared: Vec<(Prepared, Vec<Piece>)> = series
        .par_iter()
        .map(|x| {
            let prep = Prepared::of(x, p);
            let pieces = compress::compress(&prep.z, p.tol, p.max_len);
            (prep, pieces)
        })
        .collect();
    let compress_time = t0.elapsed();

    let t1 = Instant::now();
    let all: Vec<Piece> = prepared
        .iter()
        .flat_map(|(_, ps)| ps.iter().copied())
        .collect();
    let values: u64 = series.iter().map(|s| s.len() as u64).sum();
    let clustering = digitize::digitize(&all, p.digitizer, p.scl, p.tol, values);
    let codebook = Codebook::from_centres(
        &clustering.centres,
        clustering.weights,
        p.len_bits,
        p.inc_bits,
    );
    let centres = codebook.centres();
    let index = assign::CentreIndex::new(&centres, codebook.weights);
    let digitize_time = t1.elapsed();

    let t2 = Instant::now();
    let mut offsets = Vec::with_capacity(prepared.len());
    let mut acc = 0usize;
    for (_, ps) in &prepared {
        offsets.push(acc);
        acc += ps.len();
    }
    let encoded: Vec<EncodedSeries> = prepared
        .par_iter()
        .zip(series.par_iter())
        .zip(offsets.par_iter())
        .map(|(((prep, pieces), x), &off)| {
            let symbols = match p.assign {
                Assign::ClosedLoop => assign::closed_loop(&prep.z, pieces, &index),
                Assign::Nearest => clustering.labels[off..off + pieces.len()].to_vec(),
            };
            finish(
                x,
                prep,
                pieces.len() as u32,
                symbols,
                &centres,
                p.max_rmse,
                p,
                &index,
            )
        })
        .collect::<Result<_>>()?;
    let assign_time = t2.elapsed();
    let mut report = FitReport {
        alpha: clustering.alpha,
        compress_time,
        digitize_time,
        assign_time,
        ..FitReport::default()
    };
    report.tally(&encoded);
    Ok((codebook, encoded, report))
}

/// Encodes series with an existing codebook (nearest or closed-loop assignment, no refit).
pub fn encode_with(
    series: &[Vec<f64>],
    codebook: &Codebook,
    p: &CodecParams,
) -> Result<Vec<EncodedSeries>> {
    p.validate()?;
    crate::ingest::validate(series)?;
    let centres = codebook.centres();
    let index = assign::CentreIndex::new(&centres, codebook.weights);
    series
        .par_iter()
        .map(|x| {
            let prep = Prepared::of(x, p);
            let pieces = compress::compress(&prep.z, p.tol, p.max_len);
            let symbols = if centres.is_empty() {
                Vec::new()
            } else {
                match p.assign {
                    Assign::ClosedLoop => assign::closed_loop(&prep.z, &pieces, &index),
                    Assign::Nearest => assign::nearest(&pieces, &index),
                }
            };
            // No symbol can stand for these pieces: the budget check below stores it losslessly.
            let budget = if centres.is_empty() && !pieces.is_empty() {
                0.0
            } else {
                p.max_rmse
            };
            finish(
                x,
                &prep,
                pieces.len() as u32,
                symbols,
                &centres,
                budget,
                p,
                &index,
            )
        })
        .collect()
}

/// A series ready for compression: its stored moments and start ([`meta`]) and its normalised
/// form beginning at that start.
struct Prepared {
    moments: Moments,
    start: Start,
    z: Vec<f64>,
}

impl Prepared {
    fn of(x: &[f64], p: &CodecParams) -> Prepared {
        let exact = Moments::of(x);
        if p.metadata == Metadata::Rounded {
            let s = meta::Steps::for_tol(p.tol);
            if let Some(m) = meta::round_moments(exact, s.mean) {
                let mut z = m.normalize(x);
                if let Some(z0) = z.first().and_then(|&z0| meta::round_start(z0, s.start)) {
                    if z.iter().all(|v| v.is_finite()) {
                        z[0] = z0;
                        return Prepared {
                            moments: m,
                            start: Start::Normalized(z0),
                            z,
                        };
                    }
                }
            }
        }
        Prepared {
            moments: exact,
            start: Start::Value(x[0]),
            z: exact.normalize(x),
        }
    }
}

/// The unit error bounds of a series are stored relative to ([`meta`]): σ for a series with a
/// normalised start, 1 for one with an exact first value.
pub fn bound_unit(start: Start, moments: Moments) -> f64 {
    match start {
        Start::Normalized(_) => moments.std,
        Start::Value(_) => 1.0,
    }
}

/// How many times a series over the error budget is compressed again, each time at half the
/// tolerance, before it is stored losslessly.
pub const REFINEMENTS: u32 = 6;

/// Decodes, measures the error and applies the budget; in error-bounded mode adds the
/// residual levels, or stores the series losslessly when they cannot meet the bound.
///
/// A series over the budget is compressed again at half the tolerance (up to [`REFINEMENTS`]
/// times) and assigned symbols of the same codebook, and a [`correction`] of its first encoding is
/// sought; of the first finer encoding within the budget and the correction, the one that costs
/// fewer bytes is kept, and the series is stored losslessly only when neither exists or the
/// lossless stream is smaller. So the error budget has no cliff: a series only just over it
/// costs a few more symbols or a few corrected values, not its every value.
#[allow(clippy::too_many_arguments)]
fn finish(
    x: &[f64],
    prep: &Prepared,
    pieces: u32,
    symbols: Vec<u32>,
    centres: &[[f64; 2]],
    max_rmse: f64,
    p: &CodecParams,
    index: &assign::CentreIndex,
) -> Result<EncodedSeries> {
    let max_error = p.max_error;
    let n = x.len();
    let (m, start) = (prep.moments, prep.start);
    let lossless = || -> Result<EncodedSeries> {
        Ok(EncodedSeries {
            len: n as u32,
            // The moments only normalise a lossless series for search: rounded ones serve.
            start: Start::Value(x[0]),
            moments: m,
            storage: Storage::Lossless(lossless::compress_values(x)?),
            residuals: residual::Levels::default(),
            pieces,
            eps: 0.0,
            max_abs_err: 0.0,
        })
    };
    if symbols.len() as u32 != pieces || (pieces > 0 && centres.is_empty()) {
        return lossless();
    }
    let unit = bound_unit(start, m);
    let over = |xh: &[f64]| {
        let (e, _) = error_of(x, xh);
        let rmse = meta::round_up_bound(e, unit).unwrap_or(f64::NAN) / (n as f64).sqrt();
        (rmse.is_nan() || rmse > max_rmse * m.std) && e > 0.0
    };
    let mut symbols = symbols;
    let mut pieces = pieces;
    let mut xh = decode_symbolic(n, start, m, &symbols, centres);
    let mut fix = None;
    // The budget bounds the error of symbolic series; in error-bounded mode the residuals bound
    // every value instead, at a cost far below that of lossless storage.
    if max_error.is_none() && over(&xh) {
        let bits = bitpack::width_for(centres.len()) as usize;
        let symbol_bytes = |count: usize| (count * bits).div_ceil(8);
        // Candidates within the budget: the first finer compression that meets it, and a
        // correction of this one; the smaller is kept, and neither when lossless is smaller.
        let mut refined = None;
        let mut tol = p.tol;
        for _ in 0..REFINEMENTS {
            tol /= 2.0;
            let finer = compress::compress(&prep.z, tol, p.max_len);
            let s = match p.assign {
                Assign::ClosedLoop => assign::closed_loop(&prep.z, &finer, index),
                Assign::Nearest => assign::nearest(&finer, index),
            };
            let y = decode_symbolic(n, start, m, &s, centres);
            if !over(&y) {
                refined = Some((s, finer.len() as u32, y));
                break;
            }
        }
        let correction = correction::find(x, &xh, max_rmse * m.std, unit, |y| !over(y));
        let lossless_bytes = lossless::compress_values(x)?.len();
        let refined_bytes = refined.as_ref().map(|r| symbol_bytes(r.0.len()));
        let corrected_bytes = correction
            .as_ref()
            .map(|(c, _)| symbol_bytes(symbols.len()) + c.estimated_bytes());
        match (refined_bytes, corrected_bytes) {
            (Some(r), c) if r < lossless_bytes && c.is_none_or(|c| r <= c) => {
                if let Some((s, k, y)) = refined {
                    (symbols, pieces, xh) = (s, k, y);
                }
            }
            (_, Some(c)) if c < lossless_bytes => {
                if let Some((c, y)) = correction {
                    (xh, fix) = (y, Some(c));
                }
            }
            _ => return lossless(),
        }
    }
    let residuals = match max_error {
        None => residual::Levels::default(),
        Some(d) => match residual::quantize(x, &xh, d) {
            Some(q) => {
                residual::apply(&mut xh, q.iter().copied(), 2.0 * d);
                residual::Levels::from(q)
            }
            None => return lossless(),
        },
    };
    let (e, mx) = error_of(x, &xh);
    // The error figures are stored as bounds of a few significant bits (FORMAT.md §4.3). Where
    // no stored bound can hold them (a reconstruction that overflowed), the series is stored
    // losslessly instead, so that every reported figure is true.
    let (Some(eps), Some(max_abs_err)) =
        (meta::round_up_bound(e, unit), meta::round_up_bound(mx, unit))
    else {
        return lossless();
    };
    Ok(EncodedSeries {
        len: n as u32,
        start,
        moments: m,
        storage: match fix {
            Some(c) => Storage::Corrected(symbols, Box::new(c)),
            None => Storage::Symbolic(symbols),
        },
        residuals,
        pieces,
        eps,
        max_abs_err,
    })
}

/// ε = ‖x − x̂‖₂ and max |x − x̂|. Squares are summed directly when that can neither overflow
/// nor underflow, else scaled by the largest difference (as `hypot` does), so ε is right at
/// every magnitude; a difference that overflows gives +inf.
pub fn error_of(x: &[f64], xh: &[f64]) -> (f64, f64) {
    let mut sq = 0.0f64;
    let mut mx = 0.0f64;
    for (a, b) in x.iter().zip(xh) {
        let d = (a - b).abs();
        sq += d * d;
        mx = mx.max(d.max(if d.is_nan() { f64::INFINITY } else { 0.0 }));
    }
    if mx == 0.0 || !mx.is_finite() {
        return (mx, mx);
    }
    const SAFE: std::ops::RangeInclusive<f64> = 1e-140..=1e140;
    if SAFE.contains(&mx) {
        return (sq.sqrt(), mx);
    }
    let scaled: f64 = x
        .iter()
        .zip(xh)
        .map(|(a, b)| {
            let d = (a - b).abs() / mx;
            d * d
        })
        .sum();
    (mx * scaled.sqrt(), mx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walks(count: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let mut acc = 0.0;
                (0..n)
                    .map(|_| {
                        acc += rng.gen_range(-1.0..1.0);
                        acc
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn decode_has_original_length_and_budget_holds() {
        let data = walks(50, 200, 1);
        let p = CodecParams::default();
        let (cb, enc, rep) = fit_encode(&data, &p).unwrap();
        assert!(!cb.is_empty());
        assert_eq!(rep.pieces, enc.iter().map(|e| e.pieces as u64).sum::<u64>());
        let centres = cb.centres();
        for (x, e) in data.iter().zip(&enc) {
            match &e.storage {
                Storage::Symbolic(_) | Storage::Corrected(..) => {
                    let xh = e.decode(&centres, None).unwrap();
                    assert_eq!(xh.len(), x.len());
                    let (eps, mx) = error_of(x, &xh);
                    let slack = 1.0 + 2f64.powi(-7);
                    assert!(eps <= e.eps && e.eps <= eps * slack, "{eps} vs {}", e.eps);
                    assert!(mx <= e.max_abs_err && e.max_abs_err <= mx * slack);
                    assert!(eps / (x.len() as f64).sqrt() <= p.max_rmse * e.moments.std);
                }
                Storage::Lossless(b) => {
                    assert_eq!(lossless::decompress(b, x.len()).as_deref(), Some(&x[..]))
                }
            }
        }
    }

    /// Series over the budget at the fitted tolerance are compressed again at finer ones (more
    /// symbols of the same codebook) instead of being stored losslessly, and every symbolic series
    /// is within the budget.
    #[test]
    fn series_over_the_budget_are_refined_not_stored_losslessly() {
        let data = walks(60, 256, 5);
        let loose = CodecParams {
            max_rmse: f64::INFINITY,
            ..Default::default()
        };
        let (_, free, _) = fit_encode(&data, &loose).unwrap();
        let mut rel: Vec<f64> = free
            .iter()
            .map(|e| e.eps / (e.len as f64).sqrt() / e.moments.std)
            .collect();
        rel.sort_by(f64::total_cmp);
        // A budget that half the series miss at the fitted tolerance.
        let p = CodecParams {
            max_rmse: rel[rel.len() / 2],
            ..Default::default()
        };
        let (cb, enc, rep) = fit_encode(&data, &p).unwrap();
        let centres = cb.centres();
        let (mut refined, mut corrected) = (0, 0);
        for (i, (x, e)) in data.iter().zip(&enc).enumerate() {
            let Some(s) = e.storage.symbols() else {
                continue;
            };
            let xh = e.decode(&centres, None).unwrap();
            let (eps, _) = error_of(x, &xh);
            assert!(eps / (x.len() as f64).sqrt() <= p.max_rmse * e.moments.std);
            let over = rel[rel.len() / 2] < free[i].eps / (x.len() as f64).sqrt() / free[i].moments.std;
            match &e.storage {
                Storage::Symbolic(_) if over => {
                    assert!(s.len() > free[i].pieces as usize, "#{i}: refined with more pieces");
                    refined += 1;
                }
                Storage::Corrected(..) => {
                    assert!(over, "#{i}: corrected though within the budget");
                    assert_eq!(s.len(), free[i].pieces as usize, "#{i}: its first encoding");
                    corrected += 1;
                }
                _ => {}
            }
        }
        assert!(refined + corrected >= 20, "{refined} series refined, {corrected} corrected");
        assert_eq!(rep.corrected, corrected as u64);
        assert!(rep.lossless <= 5, "{} lossless", rep.lossless);
    }

    #[test]
    fn closed_loop_beats_nearest() {
        let data = walks(100, 256, 2);
        let mut p = CodecParams {
            max_rmse: f64::INFINITY,
            ..Default::default()
        };
        let err = |p: &CodecParams| -> f64 {
            let (_, enc, _) = fit_encode(&data, p).unwrap();
            enc.iter().map(|e| e.eps * e.eps).sum::<f64>()
        };
        let closed = err(&p);
        p.assign = Assign::Nearest;
        let nearest = err(&p);
        assert!(
            closed < nearest,
            "closed loop {closed} vs nearest {nearest}"
        );
    }

    #[test]
    fn deterministic_whatever_the_threads() {
        let data = walks(60, 100, 3);
        let p = CodecParams {
            digitizer: Digitizer::KMeans {
                k: 20,
                sample_rate: 0.5,
                seed: 9,
            },
            ..Default::default()
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let a = one.install(|| fit_encode(&data, &p).unwrap());
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let b = two.install(|| fit_encode(&data, &p).unwrap());
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
    }

    #[test]
    fn constant_and_single_value_series_round_trip() {
        let data = vec![vec![0.1; 50], vec![7.0], vec![1.0, 2.0, 4.0, 3.0, 5.0]];
        let (cb, enc, _) = fit_encode(&data, &CodecParams::default()).unwrap();
        let centres = cb.centres();
        for (x, e) in data.iter().zip(&enc) {
            let xh = e.decode(&centres, None).unwrap();
            if e.moments.std == 0.0 {
                assert_eq!(&xh, x);
            }
            assert_eq!(xh.len(), x.len());
        }
    }

    #[test]
    fn bad_params_are_errors() {
        let data = walks(2, 10, 4);
        for p in [
            CodecParams {
                tol: 0.0,
                ..Default::default()
            },
            CodecParams {
                len_bits: 1,
                ..Default::default()
            },
            CodecParams {
                inc_bits: 33,
                ..Default::default()
            },
            CodecParams {
                digitizer: Digitizer::KMeans {
                    k: 0,
                    sample_rate: 0.5,
                    seed: 0,
                },
                ..Default::default()
            },
        ] {
            assert!(matches!(
                fit_encode(&data, &p),
                Err(Error::InvalidOptions(_))
            ));
        }
        assert!(fit_encode(&[vec![f64::NAN]], &CodecParams::default()).is_err());
    }
}
