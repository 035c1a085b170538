//! The SQL command line: statements from an argument, a file or standard input, tables
//! registered from database directories, results as text tables or JSON lines. `qabbadb-sql`
//! runs it in a local `SessionContext`; `qabbadb-remote` (crate `qabbadb-ballista`) in one
//! connected to a Ballista scheduler.

use std::future::Future;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

/// What to run and how to print it.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// SQL statements, separated by `;` (read from standard input when absent or `-`).
    pub sql: Option<String>,
    /// Read the statements from a file.
    #[arg(long, short, conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// Register the series of one or more databases as a table: NAME=DB[,DB…].
    #[arg(long, value_name = "NAME=DB[,DB…]")]
    pub table: Vec<String>,
    /// One JSON object per line and row.
    #[arg(long)]
    pub json: bool,
}

fn statements(args: &SqlArgs) -> anyhow::Result<String> {
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

/// Registers the `--table`s in `ctx` (which has the table functions), runs every statement and
/// prints its result on standard output.
pub async fn run(ctx: &SessionContext, args: &SqlArgs) -> anyhow::Result<()> {
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
        crate::register_table(ctx, name, shards)?;
    }
    let text = statements(args)?;
    let parsed = DFParser::parse_sql(&text).context("parsing SQL")?;
    if parsed.is_empty() {
        bail!("no SQL statement given");
    }
    let mut out = std::io::stdout().lock();
    for statement in parsed {
        let plan = ctx.state().statement_to_plan(statement).await?;
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        if args.json {
            for line in crate::output::json_lines(&batches)? {
                writeln!(out, "{line}")?;
            }
        } else {
            writeln!(out, "{}", pretty_format_batches(&batches)?)?;
        }
    }
    Ok(())
}

/// The exit of a command: 0, or `error: …` on standard error and 2; a closed pipe ends quietly
/// with 0.
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
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

/// Runs a command's `main` on a multi-threaded runtime (32 MB thread stacks, as Ballista's
/// scheduler uses for deep plans) and turns its result into the exit code ([`exit`]).
pub fn block_on(main: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(runtime) => exit(runtime.block_on(main)),
        Err(e) => exit(Err(e).context("starting the runtime")),
    }
}
