//! `qabbadb-remote`: SQL over sharded qabbadb databases, run on a Ballista cluster.
//!
//! ```sh
//! qabbadb-remote --scheduler df://sched.example:50050 \
//!     "SELECT id, shard, distance FROM knn(['/data/a.qdb', '/data/b.qdb'], [0.1, …], 10)"
//! ```
//!
//! The paths are the executors' paths (see the README, "More than one machine").

use std::process::ExitCode;

use clap::Parser;
use qabbadb_datafusion::cli::{self, SqlArgs};

/// SQL over qabbadb databases on a Ballista cluster: the functions of `qabbadb-sql`, run by the
/// scheduler's executors.
#[derive(Debug, Parser)]
#[command(name = "qabbadb-remote", version, about, long_about = None)]
struct Args {
    /// The scheduler, as df://host:port.
    #[arg(long, default_value = "df://localhost:50050")]
    scheduler: String,
    #[command(flatten)]
    sql: SqlArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::block_on(async {
        let ctx = qabbadb_ballista::remote(&args.scheduler).await?;
        cli::run(&ctx, &args.sql).await
    })
}
