//! `qabbadb export DB --out FILE [--normalized | --raw]`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::ingest::{self, InputFormat};
use qabbadb::Database;

use super::build::Format;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    /// The file to write.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Output format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write z-normalised reconstructions ((x̂ − μ)/σ with the stored μ and σ).
    #[arg(long, conflicts_with = "raw")]
    pub normalized: bool,
    /// Write the original values, bit for bit (databases built with --keep-raw).
    #[arg(long)]
    pub raw: bool,
}

/// Runs `export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let given = match args.format {
        Some(f) => Some(
            f.whole_file()
                .ok_or_else(|| anyhow::anyhow!("export writes ucr, csv or npy"))?,
        ),
        None => None,
    };
    let format = InputFormat::resolve(given, &args.out)?;
    let db = Database::open_read_only(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    let snap = db.snapshot();
    let pb = crate::output::spinner(&format!("decoding {} series", snap.len()), false);
    let data = if args.raw {
        snap.export_raw()?
    } else if args.normalized {
        snap.export_normalized()?
    } else {
        snap.export()?
    };
    pb.set_message(format!("writing {}", args.out.display()));
    match format {
        InputFormat::Ucr => ingest::ucr::write(&args.out, &data.series, &data.labels)?,
        InputFormat::Csv => ingest::csv::write(&args.out, &data.series, &data.labels)?,
        InputFormat::Npy => ingest::npy::write(&args.out, &data.series)?,
    }
    pb.finish_and_clear();
    let what = if args.raw {
        "original series"
    } else if args.normalized {
        "z-normalised reconstructions"
    } else {
        "reconstructed series"
    };
    outln!(
        "wrote {} {what} ({} values) to {}",
        data.len(),
        data.points(),
        args.out.display()
    );
    Ok(())
}
