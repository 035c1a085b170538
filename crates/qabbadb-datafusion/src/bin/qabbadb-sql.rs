//! `qabbadb-sql`: SQL over qabbadb databases on this machine (also run as `qabbadb sql`).
//!
//! ```sh
//! qabbadb-sql "SELECT id, distance FROM knn('ecg.qdb', [0.1, 0.3, …], 10)"
//! qabbadb-sql --table ecg=a.qdb,b.qdb "SELECT label, count(*) FROM ecg GROUP BY label"
//! echo "SELECT …; SELECT …" | qabbadb-sql --json
//! ```

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

/// SQL over qabbadb databases: `knn(db, query, k [, metric, window, exact])`,
/// `knn_batch(db, queries, k [, …])` and `qabbadb(db)`, where db is a database directory or an
/// array of them (shards).
#[derive(Debug, Parser)]
#[command(name = "qabbadb-sql", version, about, long_about = None)]
struct Args {
    /// SQL statements, separated by `;` (read from standard input when absent or `-`).
    sql: Option<String>,
    /// Read the statements from a file.
    #[arg(long, short, conflicts_with = "sql")]
    file: Option<PathBuf>,
    /// Register the series of one or more databases as a table: NAME=DB[,DB…].
    #[arg(long, value_name = "NAME=DB[,DB…]")]
    table: Vec<String>,
    /// One JSON object per line and row.
    #[arg(long)]
    json: bool,
}

fn statements(args: &Args) -> anyhow::Result<String> {
    if let Some(f) = &args.file {
        return std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()));
    }
    match args.sql.as_deref() {
        Some(s) if s != "-" => Ok(s.to_string()),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading standard input")?;
            Ok(s)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let ctx = SessionContext::new();
    qabbadb_datafusion::register(&ctx);
    for t in &args.table {
        let Some((name, dbs)) = t.split_once('=') else {
            bail!("--table {t}: expected NAME=DB[,DB…]");
        };
        let shards: Vec<String> = dbs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if name.is_empty() || shards.is_empty() {
            bail!("--table {t}: expected NAME=DB[,DB…]");
        }
        qabbadb_datafusion::register_table(&ctx, name, shards)?;
    }
    let text = statements(&args)?;
    let parsed = DFParser::parse_sql(&text).context("parsing SQL")?;
    if parsed.is_empty() {
        bail!("no SQL statement given");
    }
    let mut out = std::io::stdout().lock();
    for statement in parsed {
        let plan = ctx.state().statement_to_plan(statement).await?;
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        if args.json {
            for line in qabbadb_datafusion::output::json_lines(&batches)? {
                writeln!(out, "{line}")?;
            }
        } else {
            writeln!(out, "{}", pretty_format_batches(&batches)?)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
