//! qabbadb on Apache DataFusion: SQL over qabbadb databases and exact k-NN as table functions,
//! over one database or many (shards) at once.
//!
//! ```sql
//! SELECT id, label, distance FROM knn('ecg.qdb', [0.1, 0.4, 0.3, …], 10);
//! SELECT * FROM knn(['a.qdb', 'b.qdb'], [ … ], 5, 'dtw', 0.1, 'original');
//! SELECT query, id, distance FROM knn_batch('ecg.qdb', [[ … ], [ … ]], 3);
//! SELECT id, label, values FROM qabbadb('ecg.qdb') WHERE id IN (3, 7);
//! ```
//!
//! - [`knn::KnnFunction`]: `knn` and `knn_batch` return `[query,] id, label, distance, rank,
//!   shard`; each shard is searched exactly by its own index, one partition per shard, and the
//!   k best of all shards are kept per query (ties by shard, then id): the answer of one database
//!   holding every shard's series.
//! - [`table::SeriesTable`] (and the `qabbadb(db)` table function): `shard, id, label, values,
//!   raw`, with the projection, filters on `id` and `LIMIT` pushed into the scan.
//! - [`codec`]: the extension codecs that carry these plans to other processes (Ballista).
//!
//! [`register`] adds the three table functions to a `SessionContext`.

pub mod args;
pub mod cli;
pub mod codec;
pub mod ids;
pub mod knn;
pub mod open;
pub mod output;
pub mod shards;
pub mod spec;
pub mod table;

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::prelude::SessionContext;

pub use codec::{QabbaLogicalCodec, QabbaPhysicalCodec};
pub use knn::{KnnFunction, KnnTable};
pub use spec::{ExactSpec, KnnSpec, MetricSpec, ScanSpec};
pub use table::{SeriesFunction, SeriesTable};

/// Adds `knn`, `knn_batch` and `qabbadb` to `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf("knn", Arc::new(KnnFunction { batch: false }));
    ctx.register_udtf("knn_batch", Arc::new(KnnFunction { batch: true }));
    ctx.register_udtf("qabbadb", Arc::new(SeriesFunction));
}

/// Registers the series of `shards` (database directories) as table `name`.
pub fn register_table(ctx: &SessionContext, name: &str, shards: Vec<String>) -> Result<()> {
    ctx.register_table(name, Arc::new(SeriesTable::new(shards)))?;
    Ok(())
}
