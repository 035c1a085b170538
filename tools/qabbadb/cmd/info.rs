//! `qabbadb info DB`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::Database;

use crate::output;

/// Arguments of `info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `info`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Database::open_read_only(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    let info = db.snapshot().info()?;
    if args.json {
        output::json_line(&serde_json::to_value(&info)?)
    } else {
        output::print_info(&info)
    }
}
