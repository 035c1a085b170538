//! `qabbadb verify DB`: exit 0 when every check passes, 1 when damage was found.

use std::path::PathBuf;

use qabbadb::Database;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
}

/// Runs `verify`; returns whether the database is healthy.
pub fn run(args: Args) -> anyhow::Result<bool> {
    let problems = Database::verify(&args.db);
    if problems.is_empty() {
        outln!(
            "{}: every checksum, series, index and delete file checks out",
            args.db.display()
        );
        return Ok(true);
    }
    for p in &problems {
        outln!("damaged: {p}");
    }
    Ok(false)
}
