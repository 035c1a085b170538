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
    /// Raw little-endian float32 values, --length per series (a file or standard input).
    F32,
    /// Raw little-endian float64 values, --length per series (a file or standard input).
    F64,
}

impl Format {
    /// The whole-file reader's format (none for the raw formats, which are streamed).
    pub fn whole_file(self) -> Option<InputFormat> {
        match self {
            Format::Ucr => Some(InputFormat::Ucr),
            Format::Csv => Some(InputFormat::Csv),
            Format::Npy => Some(InputFormat::Npy),
            Format::F32 | Format::F64 => None,
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

/// `--tol`: a number or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TolArg {
    /// As given.
    Value(f64),
    /// Chosen by the build for the fewest bytes.
    Auto,
}

fn parse_tol(s: &str) -> Result<TolArg, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(TolArg::Auto);
    }
    s.parse::<f64>()
        .map(TolArg::Value)
        .map_err(|_| format!("expected a number or `auto`, got {s:?}"))
}

/// Codec options shared by `build` and `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct CodecArgs {
    /// Compression tolerance (papers' convention: fABBA's tol is this squared), or `auto`: the
    /// tolerance with the fewest bytes on a sample of up to 1,000 series. Default: 0.2, and
    /// `auto` with --max-error (every value stays within δ whatever the tolerance).
    #[arg(long, value_name = "F|auto", value_parser = parse_tol, allow_negative_numbers = true)]
    pub tol: Option<TolArg>,
    /// Instead of --tol: the mean RMSE/σ the stored series may have; the build picks the
    /// tolerance that meets it with the fewest bytes, on a sample of up to 1,000 series.
    #[arg(long, value_name = "F", conflicts_with_all = ["tol", "max_error"], allow_negative_numbers = true)]
    pub target_rmse: Option<f64>,
    /// Longest piece, in intervals.
    #[arg(long)]
    pub max_len: Option<u32>,
    /// Digitization method.
    #[arg(long, value_enum, default_value_t = DigitizeArg::Ga)]
    pub digitize: DigitizeArg,
    /// Greedy aggregation radius, or `auto` (JABBA's error-bound formula) [default: auto].
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<String>,
    /// Number of symbols for k-means (--digitize kmeans) [default: 64].
    #[arg(long)]
    pub symbols: Option<usize>,
    /// Weight of length against increment in digitization.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
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
    /// Error budget: series whose RMSE exceeds this fraction of their std are compressed again
    /// at finer tolerances or corrected by integer levels of their own step, whichever is
    /// smaller, and stored losslessly only when both fail or cost more (`inf` to disable)
    /// [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    pub max_rmse: Option<f64>,
    /// Error-bounded mode: every stored value within this absolute error (original units) of
    /// the original, by quantized residuals of step 2δ added to the reconstruction (the
    /// --max-rmse budget then no longer applies).
    #[arg(long, value_name = "DELTA", allow_negative_numbers = true)]
    pub max_error: Option<f64>,
    /// Seed for k-means sampling (--digitize kmeans) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// PAA segments of the search index [default: 16].
    #[arg(long)]
    pub word_len: Option<usize>,
    /// Breakpoints of the index: Gaussian (SAX), KDE (edwSAX), or the tighter on a sample
    /// [default: auto].
    #[arg(long, value_enum)]
    pub breakpoints: Option<BreakpointsArg>,
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
            DigitizeArg::Ga => {
                if self.symbols.is_some() || self.seed.is_some() {
                    anyhow::bail!(
                        "--symbols and --seed set k-means; add --digitize kmeans (greedy aggregation takes --alpha)"
                    );
                }
                Digitizer::Greedy {
                    alpha: match self.alpha.as_deref() {
                        None | Some("auto") => None,
                        Some(a) => Some(a.parse::<f64>().with_context(|| {
                            format!("--alpha must be a number or auto, got {a:?}")
                        })?),
                    },
                }
            }
            DigitizeArg::Kmeans => {
                if self.alpha.is_some() {
                    anyhow::bail!(
                        "--alpha sets greedy aggregation; k-means takes --symbols (or use --digitize ga)"
                    );
                }
                Digitizer::KMeans {
                    k: self.symbols.unwrap_or(64),
                    sample_rate: 0.5,
                    seed: self.seed.unwrap_or(0),
                }
            }
        };
        let mut o = Options::default()
            .digitizer(digitizer)
            .max_rmse(self.max_rmse.unwrap_or(0.5))
            .max_error(self.max_error)
            .assign(match self.assign {
                AssignArg::ClosedLoop => Assign::ClosedLoop,
                AssignArg::Nearest => Assign::Nearest,
            });
        match self.tol {
            Some(TolArg::Value(t)) => o = o.tol(t),
            Some(TolArg::Auto) => o = o.tol_auto(true),
            None => {}
        }
        o.codec.max_len = self.max_len;
        o.codec.target_rmse = self.target_rmse;
        o.codec.scl = self.scl;
        o.codec.len_bits = self.len_bits;
        o.codec.inc_bits = self.inc_bits;
        o.codec.validate()?;
        o.keep_raw = self.keep_raw;
        if self.max_error.is_some() && self.max_rmse.is_some() {
            anyhow::bail!(
                "--max-rmse does not apply with --max-error (the residuals bound every value)"
            );
        }
        if self.no_index && (self.word_len.is_some() || self.breakpoints.is_some()) {
            anyhow::bail!(
                "--word-len and --breakpoints set the index, which --no-index leaves out"
            );
        }
        o.index = (!self.no_index).then_some(qabbadb::IndexParams {
            word_len: self.word_len.unwrap_or(16),
            breakpoints: match self.breakpoints.unwrap_or(BreakpointsArg::Auto) {
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

/// Whether a CSV file's first row is a header, on the command line.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum HeaderArg {
    /// A header when it holds no numbers, or the column numbers 0,1,2,… that pandas writes.
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// The first row is a series.
    No,
}

impl From<HeaderArg> for ingest::csv::Header {
    fn from(h: HeaderArg) -> Self {
        match h {
            HeaderArg::Auto => ingest::csv::Header::Auto,
            HeaderArg::Yes => ingest::csv::Header::Yes,
            HeaderArg::No => ingest::csv::Header::No,
        }
    }
}

/// What was read from a file besides its series: the CSV header taken, if any.
#[derive(Debug, Default)]
pub struct ReadNote {
    /// The header row taken, in words, e.g. `header row taken (0,1,2,3); …`.
    pub header: Option<String>,
    /// The separator, when it was not a comma.
    pub delimiter: Option<char>,
}

impl ReadNote {
    /// What to say of a CSV input's layout.
    fn of_csv(layout: &ingest::csv::CsvLayout) -> ReadNote {
        ReadNote {
            header: layout.header.as_ref().map(|h| {
                let what = match (layout.index_column, layout.labels) {
                    (true, _) => "; its first column is a row index and was dropped",
                    (false, true) => "; the first column holds labels",
                    _ => "",
                };
                format!("first row taken as a header ({h}){what}; --header no reads it as a series")
            }),
            delimiter: (layout.delimiter != ',').then_some(layout.delimiter),
        }
    }

    /// Prints the note on stderr.
    pub fn eprint(&self, path: &std::path::Path) {
        for line in self.header.iter() {
            eprintln!("{}: {line}", path.display());
        }
        if let Some(d) = self.delimiter {
            eprintln!("{}: fields separated by {d:?}", path.display());
        }
    }
}

/// Reads a file of series with the given format and header choice; also says what was taken
/// as a CSV header.
pub fn read_series(
    path: &std::path::Path,
    format: Option<Format>,
    header: HeaderArg,
) -> anyhow::Result<(ingest::Dataset, ReadNote)> {
    if format.is_some_and(|f| f.whole_file().is_none()) {
        anyhow::bail!("raw float32/float64 input needs --length N (values per series)");
    }
    let options = ingest::ReadOptions {
        format: format.and_then(Format::whole_file),
        header: header.into(),
    };
    let (data, notes) =
        ingest::read_with(path, &options).with_context(|| format!("reading {}", path.display()))?;
    let note = notes.csv.as_ref().map(ReadNote::of_csv).unwrap_or_default();
    Ok((data, note))
}

/// The file of series to read (`build`, `append`).
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// The input file; `-` for standard input (with --format ucr, csv, f32 or f64).
    #[arg(long, short)]
    pub input: PathBuf,
    /// Input format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Whether the first row of a CSV file is a header.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    pub header: HeaderArg,
    /// Values per series of --format f32 or f64 input.
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
}

impl InputArgs {
    fn is_stdin(&self) -> bool {
        self.input.as_os_str() == "-"
    }

    /// The input read one series at a time: raw values always, UCR lines from standard input.
    pub fn stream_format(&self) -> anyhow::Result<Option<ingest::stream::StreamFormat>> {
        use ingest::stream::StreamFormat;
        let length = || {
            self.length.ok_or_else(|| {
                anyhow::anyhow!("--format f32 and f64 need --length N (values per series)")
            })
        };
        if self.length.is_some() && !matches!(self.format, Some(Format::F32 | Format::F64)) {
            anyhow::bail!("--length applies to --format f32 and f64");
        }
        Ok(match (self.format, self.is_stdin()) {
            (Some(Format::F32), _) => Some(StreamFormat::F32 { length: length()? }),
            (Some(Format::F64), _) => Some(StreamFormat::F64 { length: length()? }),
            (Some(Format::Ucr), true) => Some(StreamFormat::Ucr),
            (Some(Format::Csv), _) => Some(StreamFormat::Csv {
                header: self.header.into(),
            }),
            (_, true) => anyhow::bail!(
                "standard input (--input -) is read with --format ucr, csv, f32 or f64; NPY input is read from files"
            ),
            (Some(Format::Ucr), false) => Some(StreamFormat::Ucr),
            (None, false) => match ingest::InputFormat::from_path(&self.input) {
                Some(ingest::InputFormat::Csv) => Some(StreamFormat::Csv {
                    header: self.header.into(),
                }),
                Some(ingest::InputFormat::Ucr) => Some(StreamFormat::Ucr),
                _ => None,
            },
            _ => None,
        })
    }

    /// Calls `f` with every series of a streamed input ([`Self::stream_format`]), and says what
    /// was decided about a CSV input's layout.
    pub fn for_each(
        &self,
        format: ingest::stream::StreamFormat,
        f: impl FnMut(Vec<f64>, Option<String>) -> qabbadb::Result<()>,
    ) -> anyhow::Result<(u64, ReadNote)> {
        let (name, input): (&std::path::Path, Box<dyn std::io::Read>) = if self.is_stdin() {
            (
                std::path::Path::new("standard input"),
                Box::new(std::io::stdin().lock()),
            )
        } else {
            let file = std::fs::File::open(&self.input)
                .with_context(|| format!("reading {}", self.input.display()))?;
            (&self.input, Box::new(file))
        };
        Ok(match format {
            ingest::stream::StreamFormat::Csv { header } => {
                let labels = ingest::csv::LabelColumn::Auto;
                let (n, layout) = ingest::csv::for_each(name, input, labels, header, f)?;
                (n, ReadNote::of_csv(&layout))
            }
            other => (
                ingest::stream::for_each(input, name, other, f)?,
                ReadNote::default(),
            ),
        })
    }

    /// Reads the series, and what was taken as a CSV header.
    pub fn read(&self) -> anyhow::Result<(qabbadb::ingest::Dataset, ReadNote)> {
        if let Some(format) = self.stream_format()? {
            let mut data = ingest::Dataset::default();
            let (_, note) = self.for_each(format, |x, label| {
                data.series.push(x);
                data.labels.push(label);
                Ok(())
            })?;
            return Ok((data, note));
        }
        read_series(&self.input, self.format, self.header)
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
    /// Streamed input (NPY, CSV, UCR, raw f32/f64, standard input): series per segment; each
    /// segment is committed as it fills, so a build that is interrupted keeps the segments
    /// before [default: 1000000].
    #[arg(long, value_name = "N")]
    pub segment_series: Option<usize>,
}

/// True when the input is an NPY file (by `--format` or its name).
fn is_npy(input: &InputArgs) -> bool {
    match input.format {
        Some(f) => matches!(f, Format::Npy),
        None => input
            .input
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy")),
    }
}

/// What a streaming build reads.
enum Streamed {
    Npy(qabbadb::ingest::npy::Rows),
    Stream(ingest::stream::StreamFormat),
}

/// Streams the input (the rows of an NPY file, raw values, UCR lines) into a bulk load (memory
/// bounded by the segment size, not by the input), with a progress bar of series, their rate
/// and, when the count is known, the time left.
fn bulk_load(
    args: &Args,
    options: &qabbadb::Options,
    input: Streamed,
) -> anyhow::Result<(Database, qabbadb::BuildReport, ReadNote)> {
    let total = match &input {
        Streamed::Npy(rows) => rows.rows as u64,
        Streamed::Stream(_) => 0,
    };
    let pb = if total > 0 {
        output::bar(total, "series", args.json)
    } else {
        output::spinner("reading", args.json)
    };
    let bar = pb.clone();
    let sizes = qabbadb::BulkOptions {
        segment_series: args
            .segment_series
            .unwrap_or(qabbadb::BulkOptions::default().segment_series),
        ..Default::default()
    };
    let mut loader = Database::bulk_loader(&args.db, options, sizes)
        .with_context(|| format!("building {}", args.db.display()))?
        .on_progress(move |p| {
            bar.set_position(p.series);
            if total == 0 {
                bar.set_message(format!("{} series", p.series));
            }
        });
    let context = || {
        format!(
            "building {} from {}",
            args.db.display(),
            args.input.input.display()
        )
    };
    let read = match input {
        Streamed::Npy(rows) => rows
            .for_each(|_, x| loader.push(x, None))
            .map(|_| ReadNote::default())
            .map_err(anyhow::Error::from),
        Streamed::Stream(format) => args
            .input
            .for_each(format, |x, label| loader.push(x, label))
            .map(|(_, note)| note),
    };
    let note = match read {
        Ok(note) => note,
        Err(e) => {
            let committed = loader.progress().committed;
            drop(loader);
            pb.finish_and_clear();
            let e = e.context(context());
            if committed == 0 {
                return Err(e);
            }
            return Err(e.context(format!(
                "{} keeps the {committed} series of the segments it committed (input series 1 to {committed}); append the input from series {} on to continue",
                args.db.display(),
                committed + 1
            )));
        }
    };
    let (db, report) = loader
        .finish()
        .with_context(|| format!("building {}", args.db.display()))?;
    pb.finish_and_clear();
    Ok((db, report, note))
}

/// Runs `build`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = args.codec.options()?;
    let t = std::time::Instant::now();
    let stream = args.input.stream_format()?;
    let whole = options.codec.target_rmse.is_some();
    let streamed = match stream {
        // A target needs every series first: a UCR or CSV file is then read whole.
        Some(ingest::stream::StreamFormat::Csv { .. } | ingest::stream::StreamFormat::Ucr)
            if whole && !args.input.is_stdin() =>
        {
            None
        }
        Some(f) => Some(Streamed::Stream(f)),
        None if is_npy(&args.input) && options.codec.target_rmse.is_none() => Some(Streamed::Npy(
            qabbadb::ingest::npy::Rows::open(&args.input.input)
                .with_context(|| format!("reading {}", args.input.input.display()))?,
        )),
        None => None,
    };
    if args.segment_series.is_some() && streamed.is_none() {
        anyhow::bail!("--segment-series applies to the input build streams: NPY, CSV, UCR, raw f32/f64, standard input");
    }
    if matches!(streamed, Some(Streamed::Stream(_))) && whole {
        anyhow::bail!("--target-rmse needs the whole input before the build starts: give a file (UCR, CSV, NPY), not a stream");
    }
    let (db, report, note) = if let Some(input) = streamed {
        bulk_load(&args, &options, input)?
    } else {
        let pb = output::spinner("reading", args.json);
        let (data, note) = args.input.read()?;
        pb.set_message(format!("encoding {} series", data.len()));
        let (db, report) = Database::build(&args.db, &data, &options)
            .with_context(|| format!("building {}", args.db.display()))?;
        pb.finish_and_clear();
        (db, report, note)
    };
    let secs = t.elapsed().as_secs_f64();
    if !report.cleaned.is_empty() && !args.json {
        eprintln!(
            "removed {} files left in {} by a build that never finished",
            report.cleaned.len(),
            args.db.display()
        );
    }
    let info = db.snapshot().info()?;
    if args.json {
        let mut v = serde_json::to_value(&info)?;
        v["build_secs"] = secs.into();
        v["values_per_sec"] = (info.points as f64 / secs).into();
        v["compress_secs"] = report.fit.compress_time.as_secs_f64().into();
        v["digitize_secs"] = report.fit.digitize_time.as_secs_f64().into();
        v["assign_secs"] = report.fit.assign_time.as_secs_f64().into();
        v["write_secs"] = report.write_time.as_secs_f64().into();
        v["index_secs"] = report.index_time.as_secs_f64().into();
        v["csv_header"] = note.header.is_some().into();
        if let Some(t) = &report.tuning {
            v["tuned"] = serde_json::json!({
                "tol": t.tol,
                "sample_series": t.sample_series,
                "sample_rmse": t.sample_rmse,
                "tolerances_tried": t.tried.len(),
            });
        }
        v["symbol_bytes_by_codec"] = serde_json::json!({
            "packed": report.write.symbol_bytes_by_codec[0],
            "zstd": report.write.symbol_bytes_by_codec[1],
            "lzw": report.write.symbol_bytes_by_codec[2],
            "rans": report.write.symbol_bytes_by_codec[3],
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
    if let Some(h) = &note.header {
        outln!("{}: {h}", args.input.input.display());
    }
    if let (Some(t), None) = (&report.tuning, options.codec.target_rmse) {
        outln!(
            "tol {:.4} chosen for the fewest bytes ({} tolerances tried on {} series)",
            t.tol,
            t.tried.len(),
            t.sample_series
        );
    }
    if let (Some(t), Some(target)) = (&report.tuning, options.codec.target_rmse) {
        outln!(
            "tol {:.4} chosen for a mean RMSE/std of at most {target} ({} tolerances tried on {} series; RMSE/std reached {:.4}{})",
            t.tol,
            t.tried.len(),
            t.sample_series,
            info.mean_relative_rmse,
            if t.sample_rmse > target {
                ", above the target: no tolerance tried meets it".to_string()
            } else if info.mean_relative_rmse > target {
                format!(", above the target; the sample reached {:.4}", t.sample_rmse)
            } else {
                String::new()
            }
        );
    }
    if info.corrected_series > 0 {
        outln!(
            "{} series were corrected to stay within the error budget (their symbols and a level per value)",
            info.corrected_series
        );
    }
    if info.lossless_series > 0 {
        outln!(
            "{} series could not be kept within the error budget symbolically and are stored losslessly",
            info.lossless_series
        );
    }
    Ok(())
}
