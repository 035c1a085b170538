//! `qabbadb-scheduler`: a Ballista scheduler that knows qabbadb's plan nodes.
//!
//! ```sh
//! qabbadb-scheduler --bind-host 127.0.0.1 --port 50050
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;

/// A Ballista scheduler with qabbadb's extension codecs.
#[derive(Debug, Parser)]
#[command(name = "qabbadb-scheduler", version, about, long_about = None)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Host name executors and clients reach this scheduler by.
    #[arg(long, default_value = "localhost")]
    external_host: String,
    /// Port of the scheduler's gRPC service.
    #[arg(long, default_value_t = 50050)]
    port: u16,
    /// Seconds without a heartbeat after which an executor counts as lost (its tasks run again
    /// elsewhere).
    #[arg(long, default_value_t = 180)]
    executor_timeout_seconds: u64,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let addr: SocketAddr = format!("{}:{}", args.bind_host, args.port)
        .parse()
        .with_context(|| format!("--bind-host {} --port {}", args.bind_host, args.port))?;
    let mut config = SchedulerConfig {
        bind_host: args.bind_host.clone(),
        external_host: args.external_host.clone(),
        bind_port: args.port,
        scheduling_policy: TaskSchedulingPolicy::PushStaged,
        task_distribution: TaskDistributionPolicy::RoundRobin,
        executor_timeout_seconds: args.executor_timeout_seconds,
        ..SchedulerConfig::default()
    };
    config.override_logical_codec = Some(qabbadb_ballista::logical_codec());
    config.override_physical_codec = Some(qabbadb_ballista::physical_codec());
    let cluster = BallistaCluster::new_from_config(&config).await?;
    log::info!("qabbadb-scheduler (pid {}) on {addr}", std::process::id());
    start_server(cluster, addr, Arc::new(config)).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    qabbadb_ballista::init_logging("info");
    qabbadb_ballista::run_main(run(args))
}
