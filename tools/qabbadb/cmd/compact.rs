//! `qabbadb compact DB`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::Database;

/// Arguments of `compact`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
}

/// Runs `compact`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Database::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let before = db.info();
    let pb = crate::output::spinner(
        &format!(
            "compacting {} series in {} segments",
            before.series,
            before.segments.as_array().map_or(0, Vec::len)
        ),
        false,
    );
    let rewritten = db.compact()?;
    pb.finish_and_clear();
    if !rewritten {
        outln!("nothing to compact: one segment and no deleted series");
        return Ok(());
    }
    let after = db.info();
    outln!(
        "compacted {} segments ({} deleted series) into {}: {} -> {} bytes",
        before.segments.as_array().map_or(0, Vec::len),
        before.deleted,
        after.segments.as_array().map_or(0, Vec::len),
        before.bytes,
        after.bytes
    );
    Ok(())
}
