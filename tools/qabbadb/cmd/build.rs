//! `qabbadb build DB --input FILE`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::ingest::{self, InputFormat};
use qabbadb::{Assign, Database, Digitizer, Options};

use crate::output;

/// Input file formats on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// UCR archive: label first, tab/comma/space separated.
    Ucr,
    /// CSV, one series a row.
    Csv,
    /// NumPy .npy, 2-D float32/float64.
    Npy,
}

impl From<Format> for InputFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Ucr => InputFormat::Ucr,
            Format::Csv => InputFormat::Csv,
            Format::Npy => InputFormat::Npy,
        }
    }
}

/// Digitization methods.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DigitizeArg {
    /// Greedy aggregation (fABBA) with radius --alpha.
    Ga,
    /// Sampling k-means++ (JABBA) with --symbols.
    Kmeans,
}

/// Symbol assignment rules.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AssignArg {
    /// Pick the symbol that brings the reconstruction closest to the true end point.
    ClosedLoop,
    /// The piece's own cluster (the papers' rule).
    Nearest,
}

/// Codec options shared by `build` and `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct CodecArgs {
    /// Compression tolerance (papers' convention: fABBA's tol is this squared).
    #[arg(long, default_value_t = 0.2)]
    pub tol: f64,
    /// Longest piece, in intervals.
    #[arg(long)]
    pub max_len: Option<u32>,
    /// Digitization method.
    #[arg(long, value_enum, default_value_t = DigitizeArg::Ga)]
    pub digitize: DigitizeArg,
    /// Greedy aggregation radius, or `auto` (JABBA's error-bound formula).
    #[arg(long, default_value = "auto")]
    pub alpha: String,
    /// Number of symbols for k-means.
    #[arg(long, default_value_t = 64)]
    pub symbols: usize,
    /// Weight of length against increment in digitization.
    #[arg(long, default_value_t = 1.0)]
    pub scl: f64,
    /// Bits per quantized centre length (2..=32).
    #[arg(long, default_value_t = 8)]
    pub len_bits: u8,
    /// Bits per quantized centre increment (2..=32).
    #[arg(long, default_value_t = 12)]
    pub inc_bits: u8,
    /// Symbol assignment rule.
    #[arg(long, value_enum, default_value_t = AssignArg::ClosedLoop)]
    pub assign: AssignArg,
    /// Error budget: series whose RMSE exceeds this fraction of their std are stored losslessly
    /// (`inf` to disable).
    #[arg(long, default_value_t = 0.5)]
    pub max_rmse: f64,
    /// Error-bounded mode: every stored value within this absolute error (original units) of
    /// the original, by quantized residuals of step 2δ added to the reconstruction (the
    /// --max-rmse budget then no longer applies).
    #[arg(long, value_name = "DELTA")]
    pub max_error: Option<f64>,
    /// Seed for k-means sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// PAA segments of the search index.
    #[arg(long, default_value_t = 16)]
    pub word_len: usize,
    /// Breakpoints of the index: Gaussian (SAX), KDE (edwSAX), or the tighter on a sample.
    #[arg(long, value_enum, default_value_t = BreakpointsArg::Auto)]
    pub breakpoints: BreakpointsArg,
    /// Build no search index.
    #[arg(long)]
    pub no_index: bool,
    /// Also keep every series' original values losslessly (pco), for `get --raw`.
    #[arg(long)]
    pub keep_raw: bool,
}

/// Breakpoint choices.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BreakpointsArg {
    /// Measure both on a sample, keep the tighter.
    Auto,
    /// KDE quantiles (edwSAX).
    Kde,
    /// N(0,1) quantiles (SAX).
    Gaussian,
}

impl CodecArgs {
    /// The library options these flags stand for.
    pub fn options(&self) -> anyhow::Result<Options> {
        let digitizer = match self.digitize {
            DigitizeArg::Ga => Digitizer::Greedy {
                alpha: if self.alpha == "auto" {
                    None
                } else {
                    Some(self.alpha.parse::<f64>().with_context(|| {
                        format!("--alpha must be a number or auto, got {:?}", self.alpha)
                    })?)
                },
            },
            DigitizeArg::Kmeans => Digitizer::KMeans {
                k: self.symbols,
                sample_rate: 0.5,
                seed: self.seed,
            },
        };
        let mut o = Options::default()
            .tol(self.tol)
            .digitizer(digitizer)
            .max_rmse(self.max_rmse)
            .max_error(self.max_error)
            .assign(match self.assign {
                AssignArg::ClosedLoop => Assign::ClosedLoop,
                AssignArg::Nearest => Assign::Nearest,
            });
        o.codec.max_len = self.max_len;
        o.codec.scl = self.scl;
        o.codec.len_bits = self.len_bits;
        o.codec.inc_bits = self.inc_bits;
        o.codec.validate()?;
        o.keep_raw = self.keep_raw;
        o.index = (!self.no_index).then_some(qabbadb::IndexParams {
            word_len: self.word_len,
            breakpoints: match self.breakpoints {
                BreakpointsArg::Auto => qabbadb::BreakpointChoice::Auto,
                BreakpointsArg::Kde => qabbadb::BreakpointChoice::Kde,
                BreakpointsArg::Gaussian => qabbadb::BreakpointChoice::Gaussian,
            },
        });
        if let Some(i) = o.index {
            i.validate().context("--word-len")?;
        }
        Ok(o)
    }
}

/// The file of series to read (`build`, `append`).
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// The input file.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Input format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl InputArgs {
    /// Reads the series.
    pub fn read(&self) -> anyhow::Result<qabbadb::ingest::Dataset> {
        ingest::read(&self.input, self.format.map(Into::into))
            .with_context(|| format!("reading {}", self.input.display()))
    }
}

/// Arguments of `build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory to create (it must not already hold a database).
    pub db: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub codec: CodecArgs,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `build`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = args.codec.options()?;
    let pb = output::spinner("reading", args.json);
    let data = args.input.read()?;
    pb.set_message(format!("encoding {} series", data.len()));
    let t = std::time::Instant::now();
    let (db, report) = Database::build(&args.db, &data, &options)
        .with_context(|| format!("building {}", args.db.display()))?;
    let secs = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let info = db.info();
    if args.json {
        let mut v = serde_json::to_value(&info)?;
        v["build_secs"] = secs.into();
        v["values_per_sec"] = (info.points as f64 / secs).into();
        v["compress_secs"] = report.fit.compress_time.as_secs_f64().into();
        v["digitize_secs"] = report.fit.digitize_time.as_secs_f64().into();
        v["assign_secs"] = report.fit.assign_time.as_secs_f64().into();
        v["write_secs"] = report.write_time.as_secs_f64().into();
        v["index_secs"] = report.index_time.as_secs_f64().into();
        v["symbol_bytes_by_codec"] = serde_json::json!({
            "packed": report.write.symbol_bytes_by_codec[0],
            "zstd": report.write.symbol_bytes_by_codec[1],
            "lzw": report.write.symbol_bytes_by_codec[2],
        });
        return output::json_line(&v);
    }
    outln!(
        "built {}: {} series, {} points, {} symbols, {} ({:.2} bits/point, {:.1}x vs float64), RMSE/std {:.4}, {:.2} s ({:.1} M values/s; compress {:.2} s, digitize {:.2} s, assign {:.2} s, index {:.2} s, write {:.2} s)",
        args.db.display(),
        info.series,
        info.points,
        info.symbols,
        output::bytes(info.bytes),
        info.bits_per_point,
        info.ratio_vs_f64,
        info.mean_relative_rmse,
        secs,
        info.points as f64 / secs / 1e6,
        report.fit.compress_time.as_secs_f64(),
        report.fit.digitize_time.as_secs_f64(),
        report.fit.assign_time.as_secs_f64(),
        report.index_time.as_secs_f64(),
        report.write_time.as_secs_f64(),
    );
    if info.lossless_series > 0 {
        outln!(
            "{} series exceeded the error budget and are stored losslessly",
            info.lossless_series
        );
    }
    Ok(())
}
