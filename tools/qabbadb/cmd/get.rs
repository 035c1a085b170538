//! `qabbadb get DB --id N`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::Database;

/// Arguments of `get`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    /// The series id.
    #[arg(long)]
    pub id: u64,
    /// `{"id": .., "label": .., "values": [...]}` instead of one value a line.
    #[arg(long)]
    pub json: bool,
    /// The original values, exactly as given (databases built with --keep-raw).
    #[arg(long)]
    pub raw: bool,
}

/// Runs `get`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Database::open_read_only(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    let snap = db.snapshot();
    let values = if args.raw {
        snap.get_raw(args.id)?
    } else {
        snap.get(args.id)?
    };
    let label = snap.label(args.id)?;
    if args.json {
        return crate::output::json_line(
            &serde_json::json!({"id": args.id, "label": label, "values": values}),
        );
    }
    for v in values {
        outln!("{v}");
    }
    Ok(())
}
