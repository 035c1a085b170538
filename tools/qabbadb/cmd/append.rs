//! `qabbadb append DB --input FILE`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::Database;

use super::build::InputArgs;

/// Arguments of `append`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Fit a codebook and breakpoints to these series instead of using the database's.
    #[arg(long)]
    pub refit: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `append`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Database::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let stream = args.input.stream_format()?;
    let (db, report) = match stream {
        // Raw values, CSV and standard input: encoded and committed a segment at a time.
        Some(format) if !args.refit => {
            let pb = crate::output::spinner("appending", args.json);
            let bar = pb.clone();
            let mut loader = db
                .append_loader(qabbadb::BulkOptions::default())
                .with_context(|| format!("appending to {}", args.db.display()))?
                .on_progress(move |p| bar.set_message(format!("{} series", p.series)));
            let (_, note) = args
                .input
                .for_each(format, |x, label| loader.push(x, label))
                .with_context(|| format!("appending to {}", args.db.display()))?;
            if !args.json {
                note.eprint(&args.input.input);
            }
            let done = loader
                .finish()
                .with_context(|| format!("appending to {}", args.db.display()))?;
            pb.finish_and_clear();
            done
        }
        _ => {
            let (data, note) = args.input.read()?;
            if !args.json {
                note.eprint(&args.input.input);
            }
            let pb = crate::output::spinner(&format!("encoding {} series", data.len()), args.json);
            let report = db
                .append_with(&data, args.refit)
                .with_context(|| format!("appending to {}", args.db.display()))?;
            pb.finish_and_clear();
            (db, report)
        }
    };
    let (first, last) = (
        report.ids.first().map_or(0, |i| i.0),
        report.ids.last().map_or(0, |i| i.0),
    );
    if args.json {
        return crate::output::json_line(&serde_json::json!({
            "appended": report.ids.len(), "first_id": first, "last_id": last,
            "lossless": report.fit.lossless, "series": db.snapshot().len(),
        }));
    }
    outln!(
        "appended {} series (ids {first}..={last}); the database holds {} live series",
        report.ids.len(),
        db.snapshot().len()
    );
    Ok(())
}
