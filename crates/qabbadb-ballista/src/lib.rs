//! qabbadb on Apache Ballista: the extension codecs installed in a scheduler, in executors and
//! in the client, so that `knn`, `knn_batch` and `qabbadb(db)` plans over shards run across
//! machines.
//!
//! - `qabbadb-scheduler` and `qabbadb-executor`: Ballista's scheduler and executor with
//!   [`logical_codec`] and [`physical_codec`] installed.
//! - [`remote`]: a `SessionContext` whose queries run on a scheduler (`df://host:port`), with
//!   the table functions registered.
//!
//! Each executor opens the shard paths it is handed, as it sees them: a shared filesystem, or a
//! copy of each shard at the same path on every node that may run it.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::common::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;
use qabbadb_datafusion::{QabbaLogicalCodec, QabbaPhysicalCodec};

/// qabbadb's tables, then Ballista's own nodes.
pub fn logical_codec() -> Arc<dyn LogicalExtensionCodec> {
    Arc::new(QabbaLogicalCodec::wrapping(Arc::new(
        BallistaLogicalExtensionCodec::default(),
    )))
}

/// qabbadb's operators, then Ballista's shuffle operators.
pub fn physical_codec() -> Arc<dyn PhysicalExtensionCodec> {
    Arc::new(QabbaPhysicalCodec::wrapping(Arc::new(
        BallistaPhysicalExtensionCodec::default(),
    )))
}

/// A context whose queries run on the Ballista scheduler at `url` (`df://host:port`), with
/// `knn`, `knn_batch` and `qabbadb` registered.
pub async fn remote(url: &str) -> Result<SessionContext> {
    let config = SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(logical_codec())
        .with_ballista_physical_extension_codec(physical_codec());
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(url, state).await?;
    qabbadb_datafusion::register(&ctx);
    Ok(ctx)
}

/// Log lines on standard output, at `RUST_LOG` or `default` level.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// Runs a binary's `main` ([`qabbadb_datafusion::cli::block_on`]).
pub fn run_main(main: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    qabbadb_datafusion::cli::block_on(main)
}
