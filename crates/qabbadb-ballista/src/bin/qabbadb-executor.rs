//! `qabbadb-executor`: a Ballista executor that runs qabbadb's operators.
//!
//! ```sh
//! qabbadb-executor --scheduler-port 50050 --port 50051 --grpc-port 50052 --concurrent-tasks 2
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use clap::Parser;

/// A Ballista executor with qabbadb's extension codecs.
#[derive(Debug, Parser)]
#[command(name = "qabbadb-executor", version, about, long_about = None)]
struct Args {
    /// Host of the scheduler.
    #[arg(long, default_value = "localhost")]
    scheduler_host: String,
    /// Port of the scheduler.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Host name the scheduler and other executors reach this one by (default: the bind host).
    #[arg(long)]
    external_host: Option<String>,
    /// Port of the Arrow Flight service (results and shuffle data).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// Port of the gRPC service the scheduler pushes tasks to.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once [default: the number of cores].
    #[arg(long)]
    concurrent_tasks: Option<usize>,
    /// Directory for shuffle files [default: a temporary directory].
    #[arg(long)]
    work_dir: Option<String>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 5)]
    heartbeat_seconds: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    qabbadb_ballista::init_logging("info");
    let mut config = ExecutorProcessConfig {
        scheduler_host: args.scheduler_host,
        scheduler_port: args.scheduler_port,
        bind_host: args.bind_host.clone(),
        external_host: Some(args.external_host.unwrap_or(args.bind_host)),
        port: args.port,
        grpc_port: args.grpc_port,
        work_dir: args.work_dir,
        task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
        executor_heartbeat_interval_seconds: args.heartbeat_seconds,
        ..ExecutorProcessConfig::default()
    };
    if let Some(n) = args.concurrent_tasks {
        config.vcores = n.max(1);
    }
    config.override_logical_codec = Some(qabbadb_ballista::logical_codec());
    config.override_physical_codec = Some(qabbadb_ballista::physical_codec());
    log::info!(
        "qabbadb-executor (pid {}) on port {}",
        std::process::id(),
        config.port
    );
    qabbadb_ballista::run_main(async move {
        start_executor_process(Arc::new(config)).await?;
        Ok(())
    })
}
