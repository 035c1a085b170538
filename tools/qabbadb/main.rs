//! The `qabbadb` command: build, inspect and export qabbadb databases.
//!
//! Each subcommand lives in `cmd/<name>.rs` as a clap `Args` plus `run`, calling one library
//! function. Exit codes: 0 success, 1 `verify` found damage, 2 error; a closed pipe ends quietly
//! with 0.

#[macro_use]
mod output;
mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Compressed time-series storage (QABBA) and exact similarity search.
#[derive(Debug, Parser)]
#[command(name = "qabbadb", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a new database (a directory) from a file of series (UCR .tsv/.txt, .csv, .npy).
    Build(cmd::build::Args),
    /// Append the series of a file to a database (new ids; the database's codebook).
    Append(cmd::append::Args),
    /// Delete series by id.
    Delete(cmd::delete::Args),
    /// Merge segments and drop deleted series (same ids, no further loss).
    Compact(cmd::compact::Args),
    /// Print one reconstructed series.
    Get(cmd::get::Args),
    /// Check every checksum, series, index and delete file; exit 1 when anything is damaged.
    Verify(cmd::verify::Args),
    /// Show what a database stores: sizes, ratio, error, parameters.
    Info(cmd::info::Args),
    /// Write the reconstructed series to a file.
    Export(cmd::export::Args),
    /// Find the stored series nearest to each query (exact, Euclidean or DTW).
    Query(cmd::query::Args),
    /// Build a database from a bundled real dataset and show what qabbadb does.
    Demo(cmd::demo::Args),
    /// SQL over one or many databases: knn(db, query, k), knn_batch, qabbadb(db) (runs the
    /// qabbadb-sql program).
    #[command(disable_help_flag = true)]
    Sql(cmd::sql::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(a) => match cmd::verify::run(a) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Append(a) => cmd::append::run(a),
        Command::Delete(a) => cmd::delete::run(a),
        Command::Compact(a) => cmd::compact::run(a),
        Command::Get(a) => cmd::get::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Query(a) => cmd::query::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Sql(a) => match cmd::sql::run(a) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each once: a cause whose text its wrapper already shows (errors
/// that print their source as part of their own message) is not repeated, nor a path that the
/// context just before it ends with (`opening x.qdb: x.qdb: …` reads `opening x.qdb: …`).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        let mut text = text.as_str();
        if let Some((head, rest)) = text.split_once(": ") {
            if !head.is_empty() && out.ends_with(&format!(" {head}")) {
                text = rest;
            }
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}
