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
    let before = db.snapshot().info()?;
    let pb = crate::output::spinner(
        &format!(
            "compacting {} series in {} segments",
            before.series,
            before.segments.len()
        ),
        false,
    );
    let rewritten = db.compact()?;
    pb.finish_and_clear();
    if !rewritten {
        outln!("nothing to compact: one segment and no deleted series");
        return Ok(());
    }
    let after = db.snapshot().info()?;
    outln!(
        "compacted {} segments ({} deleted series) into {}: {} -> {} bytes",
        before.segments.len(),
        before.deleted,
        after.segments.len(),
        before.bytes,
        after.bytes
    );
    Ok(())
}
