//! `qabbadb-sql`: SQL over qabbadb databases on this machine (also run as `qabbadb sql`).
//!
//! ```sh
//! qabbadb-sql "SELECT id, distance FROM knn('ecg.qdb', [0.1, 0.3, …], 10)"
//! qabbadb-sql --table ecg=a.qdb,b.qdb "SELECT label, count(*) FROM ecg GROUP BY label"
//! echo "SELECT …; SELECT …" | qabbadb-sql --json
//! ```

use std::process::ExitCode;

use clap::Parser;
use datafusion::prelude::SessionContext;
use qabbadb_datafusion::cli::{self, SqlArgs};

/// SQL over qabbadb databases: `knn(db, query, k [, metric, window, exact])`,
/// `knn_batch(db, queries, k [, …])` and `qabbadb(db)`, where db is a database directory or an
/// array of them (shards).
#[derive(Debug, Parser)]
#[command(name = "qabbadb-sql", version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    sql: SqlArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::block_on(async {
        let ctx = SessionContext::new();
        qabbadb_datafusion::register(&ctx);
        cli::run(&ctx, &args.sql).await
    })
}
