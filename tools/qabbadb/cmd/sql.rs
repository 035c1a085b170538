//! `qabbadb sql …`: SQL over one or many databases, run by the `qabbadb-sql` program (crate
//! `qabbadb-datafusion`, built apart so that the query engine does not weigh on this tool).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

/// Arguments of `sql`, passed on as they are.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments of `qabbadb-sql` (see `qabbadb sql --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// `qabbadb-sql` beside this program, else on the PATH.
fn program() -> PathBuf {
    let name = format!("qabbadb-sql{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs `qabbadb-sql` with `args`; its exit code is ours.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let prog = program();
    let status = match Command::new(&prog).args(&args.args).status() {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "`qabbadb sql` runs the qabbadb-sql program, which is not installed: build it with \
             `cargo build --release -p qabbadb-datafusion` (it lands beside qabbadb in target/release)"
        ),
        Err(e) => return Err(e).with_context(|| format!("running {}", prog.display())),
    };
    Ok(ExitCode::from(
        status.code().map_or(2, |c| c.clamp(0, 255) as u8),
    ))
}
