//! `qabbadb delete DB --ids 3,7,9-12`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use qabbadb::Database;

/// Arguments of `delete`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    /// Ids to delete: a comma-separated list of ids and inclusive ranges, e.g. `3,7,9-12`.
    #[arg(long)]
    pub ids: String,
}

/// Parses `3,7,9-12`.
pub fn parse_ids(s: &str) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (
                    a.trim().parse().with_context(|| format!("bad id {a:?}"))?,
                    b.trim().parse().with_context(|| format!("bad id {b:?}"))?,
                );
                if a > b {
                    bail!("empty range {part}");
                }
                if b - a >= 100_000_000 {
                    bail!("range {part} is too large");
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().with_context(|| format!("bad id {part:?}"))?),
        }
    }
    if out.is_empty() {
        bail!("no ids given");
    }
    Ok(out)
}

/// Runs `delete`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ids = parse_ids(&args.ids)?;
    let db = Database::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let r = db.delete(&ids)?;
    if r.already_deleted > 0 {
        outln!(
            "deleted {} series ({} of the ids given were deleted already); {} live series remain",
            r.deleted,
            r.already_deleted,
            db.snapshot().len()
        );
    } else {
        outln!(
            "deleted {} series; {} live series remain",
            r.deleted,
            db.snapshot().len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists() {
        assert_eq!(parse_ids("3,7,9-12").unwrap(), vec![3, 7, 9, 10, 11, 12]);
        assert_eq!(parse_ids(" 5 ").unwrap(), vec![5]);
        assert!(parse_ids("").is_err());
        assert!(parse_ids("4-2").is_err());
        assert!(parse_ids("x").is_err());
        assert!(parse_ids("1-").is_err());
    }
}
