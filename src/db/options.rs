//! [`Options`]: what a database is built with, and their MANIFEST form.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecParams, Digitizer};
use crate::error::{Error, Result};
use crate::index::{BreakpointChoice, IndexParams};

/// Options of a database, fixed when it is created. Serialized as the flat JSON object of the
/// MANIFEST's `options` (FORMAT.md §9), through `OptionsRepr`; deserializing checks every
/// value ([`Options::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "OptionsRepr", try_from = "OptionsRepr")]
pub struct Options {
    /// Codec parameters (tolerance, digitization, quantization, assignment, error budget).
    pub codec: CodecParams,
    /// Index parameters; `None` builds no search index.
    pub index: Option<IndexParams>,
    /// Also store every series' original values losslessly (FORMAT.md §4.9).
    pub keep_raw: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            codec: CodecParams::default(),
            index: Some(IndexParams::default()),
            keep_raw: false,
        }
    }
}

impl Options {
    /// Compression tolerance (papers' convention), used as given.
    pub fn tol(mut self, tol: f64) -> Self {
        self.codec.tol = tol;
        self.codec.tol_auto = Some(false);
        self
    }

    /// Whether `build` chooses the tolerance with the fewest bytes on a sample of its series
    /// (`db::tune`). The default chooses it in error-bounded mode ([`Options::max_error`]), where
    /// every value stays within δ whatever the tolerance, and keeps the tolerance otherwise.
    pub fn tol_auto(mut self, auto: bool) -> Self {
        self.codec.tol_auto = Some(auto);
        self
    }

    /// How pieces are clustered into symbols.
    pub fn digitizer(mut self, d: Digitizer) -> Self {
        self.codec.digitizer = d;
        self
    }

    /// Symbol assignment rule.
    pub fn assign(mut self, a: codec::Assign) -> Self {
        self.codec.assign = a;
        self
    }

    /// Error budget (RMSE relative to each series' σ); `f64::INFINITY` disables it.
    pub fn max_rmse(mut self, m: f64) -> Self {
        self.codec.max_rmse = m;
        self
    }

    /// Error-bounded mode: every stored value within `delta` (original units) of the original,
    /// by residual levels of step 2δ added to the reconstruction (FORMAT.md §4.10).
    pub fn max_error(mut self, delta: Option<f64>) -> Self {
        self.codec.max_error = delta;
        self
    }

    /// A target for the mean RMSE/σ of the stored series instead of a tolerance: `build` chooses
    /// the tolerance that meets it with the fewest bytes on a sample of its series (`db::tune`),
    /// and keeps both.
    pub fn target_rmse(mut self, target: Option<f64>) -> Self {
        self.codec.target_rmse = target;
        self
    }

    /// Index parameters (`None`: no search index).
    pub fn index(mut self, index: Option<IndexParams>) -> Self {
        self.index = index;
        self
    }

    /// Keep the original values losslessly as well.
    pub fn keep_raw(mut self, keep: bool) -> Self {
        self.keep_raw = keep;
        self
    }

    /// The codec parameters series are encoded with: [`Options::codec`], with exact metadata
    /// when the original values are kept (search over the originals normalises them with the
    /// stored moments, which must then be the exact ones; `codec::meta`).
    pub fn encoding(&self) -> CodecParams {
        let mut p = self.codec.clone();
        if self.keep_raw {
            p.metadata = codec::Metadata::Exact;
        }
        p
    }

    /// Checks every value: the codec's ranges and the index's word length.
    pub fn validate(&self) -> Result<()> {
        self.codec.validate()?;
        if let Some(i) = self.index {
            i.validate()?;
        }
        Ok(())
    }

    /// The options as the JSON object kept in the MANIFEST and shown by `info`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(OptionsRepr::from(self.clone())).unwrap_or_default()
    }

    /// Options from [`Options::to_json`]; every value is checked.
    pub fn from_json(v: &serde_json::Value) -> Result<Options> {
        let repr: OptionsRepr = serde_json::from_value(v.clone())
            .map_err(|e| Error::InvalidOptions(format!("MANIFEST options: {e}")))?;
        Options::try_from(repr)
    }
}

/// The MANIFEST form of [`Options`] (FORMAT.md §9): one flat object, `null` for what does not
/// apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptionsRepr {
    tol: f64,
    #[serde(default)]
    max_len: Option<u64>,
    digitize: String,
    #[serde(default)]
    alpha: Option<f64>,
    #[serde(default)]
    k: Option<u64>,
    #[serde(default)]
    sample_rate: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    scl: f64,
    len_bits: u64,
    inc_bits: u64,
    assign: String,
    /// `null`: no budget (infinite).
    #[serde(default)]
    max_rmse: Option<f64>,
    #[serde(default)]
    max_error: Option<f64>,
    #[serde(default)]
    keep_raw: bool,
    #[serde(default)]
    index: Option<IndexRepr>,
    /// `"exact"`: every series keeps f64 metadata (`codec::meta`); absent: rounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    /// The mean RMSE/σ the build chose `tol` for; absent: `tol` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_rmse: Option<f64>,
    /// `true`: the build chose `tol` for the fewest bytes; `false`: `tol` as given; absent: the
    /// default (chosen in error-bounded mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tol_auto: Option<bool>,
}

/// The MANIFEST form of [`IndexParams`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexRepr {
    word_len: u64,
    breakpoints: String,
}

impl From<Options> for OptionsRepr {
    fn from(o: Options) -> Self {
        let p = &o.codec;
        let (digitize, alpha, k, sample_rate, seed) = match p.digitizer {
            Digitizer::Greedy { alpha } => ("ga", alpha, None, None, None),
            Digitizer::KMeans {
                k,
                sample_rate,
                seed,
            } => (
                "kmeans",
                None,
                Some(k as u64),
                Some(sample_rate),
                Some(seed),
            ),
        };
        OptionsRepr {
            tol: p.tol,
            max_len: p.max_len.map(u64::from),
            digitize: digitize.into(),
            alpha,
            k,
            sample_rate,
            seed,
            scl: p.scl,
            len_bits: p.len_bits.into(),
            inc_bits: p.inc_bits.into(),
            assign: match p.assign {
                codec::Assign::ClosedLoop => "closed-loop",
                codec::Assign::Nearest => "nearest",
            }
            .into(),
            max_rmse: p.max_rmse.is_finite().then_some(p.max_rmse),
            max_error: p.max_error,
            keep_raw: o.keep_raw,
            metadata: (p.metadata == codec::Metadata::Exact).then(|| "exact".into()),
            target_rmse: p.target_rmse,
            tol_auto: p.tol_auto,
            index: o.index.map(|i| IndexRepr {
                word_len: i.word_len as u64,
                breakpoints: match i.breakpoints {
                    BreakpointChoice::Auto => "auto",
                    BreakpointChoice::Kde => "kde",
                    BreakpointChoice::Gaussian => "gaussian",
                }
                .into(),
            }),
        }
    }
}

impl TryFrom<OptionsRepr> for Options {
    type Error = Error;

    fn try_from(r: OptionsRepr) -> Result<Options> {
        let bad = |what: &str, v: &dyn std::fmt::Debug| {
            Error::InvalidOptions(format!("options: {what} {v:?} is out of range"))
        };
        let missing = |what: &str| Error::InvalidOptions(format!("options: k-means needs {what}"));
        let digitizer = match r.digitize.as_str() {
            "ga" => Digitizer::Greedy { alpha: r.alpha },
            "kmeans" => Digitizer::KMeans {
                k: usize::try_from(r.k.ok_or_else(|| missing("k"))?).map_err(|_| bad("k", &r.k))?,
                sample_rate: r.sample_rate.ok_or_else(|| missing("sample_rate"))?,
                seed: r.seed.ok_or_else(|| missing("seed"))?,
            },
            other => return Err(bad("digitize", &other)),
        };
        let codec = CodecParams {
            tol: r.tol,
            max_len: r
                .max_len
                .map(|m| u32::try_from(m).map_err(|_| bad("max_len", &m)))
                .transpose()?,
            digitizer,
            scl: r.scl,
            len_bits: u8::try_from(r.len_bits).map_err(|_| bad("len_bits", &r.len_bits))?,
            inc_bits: u8::try_from(r.inc_bits).map_err(|_| bad("inc_bits", &r.inc_bits))?,
            assign: match r.assign.as_str() {
                "closed-loop" => codec::Assign::ClosedLoop,
                "nearest" => codec::Assign::Nearest,
                other => return Err(bad("assign", &other)),
            },
            max_rmse: r.max_rmse.unwrap_or(f64::INFINITY),
            max_error: r.max_error,
            metadata: match r.metadata.as_deref() {
                None | Some("rounded") => codec::Metadata::Rounded,
                Some("exact") => codec::Metadata::Exact,
                Some(other) => return Err(bad("metadata", &other)),
            },
            target_rmse: r.target_rmse,
            tol_auto: r.tol_auto,
        };
        let index = match r.index {
            None => None,
            Some(i) => Some(IndexParams {
                word_len: usize::try_from(i.word_len).map_err(|_| bad("word_len", &i.word_len))?,
                breakpoints: match i.breakpoints.as_str() {
                    "auto" => BreakpointChoice::Auto,
                    "kde" => BreakpointChoice::Kde,
                    "gaussian" => BreakpointChoice::Gaussian,
                    other => return Err(bad("breakpoints", &other)),
                },
            }),
        };
        let o = Options {
            codec,
            index,
            keep_raw: r.keep_raw,
        };
        o.validate()?;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_range_checks() {
        let kmeans = Options::default().digitizer(Digitizer::KMeans {
            k: 40,
            sample_rate: 0.5,
            seed: 9,
        });
        for o in [
            Options::default(),
            Options::default().max_rmse(f64::INFINITY).index(None),
            Options::default().max_error(Some(0.01)).keep_raw(true),
            Options::default().target_rmse(Some(0.05)),
            Options {
                codec: CodecParams {
                    metadata: codec::Metadata::Exact,
                    ..Default::default()
                },
                ..Default::default()
            },
            kmeans,
        ] {
            let v = o.to_json();
            assert_eq!(Options::from_json(&v).unwrap(), o, "{v}");
        }
        // Values that do not fit their fields are errors, not truncations.
        let mut v = Options::default().to_json();
        v["len_bits"] = 264.into();
        assert!(matches!(
            Options::from_json(&v),
            Err(Error::InvalidOptions(_))
        ));
        let mut v = Options::default().to_json();
        v["index"]["word_len"] = 5000.into();
        assert!(matches!(
            Options::from_json(&v),
            Err(Error::InvalidOptions(_))
        ));
        let mut v = Options::default().to_json();
        v["digitize"] = "other".into();
        assert!(Options::from_json(&v).is_err());
        // Older MANIFESTs leave out keys that default.
        let mut v = Options::default().to_json();
        v.as_object_mut().unwrap().remove("keep_raw");
        v.as_object_mut().unwrap().remove("max_error");
        assert_eq!(Options::from_json(&v).unwrap(), Options::default());
    }
}
