//! The shard list: the leaf under every qabbadb operator.
//!
//! A plan's leaf is an in-memory table with one row (shard number, path) per shard and one
//! partition per shard. The operators above it ([`crate::knn::KnnShardExec`],
//! [`crate::table::SeriesScanExec`]) run each row they receive, so the engine's partitioning
//! decides where each shard runs. A distributed scheduler such as Ballista hands each task only
//! its own partitions of an in-memory leaf; a custom leaf would be run whole by every task and
//! return every shard once per task.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, StringArray, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use datafusion::common::{exec_err, internal_err, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::physical_plan::ExecutionPlan;

/// The schema of the shard list: `shard` (its position in the list) and `path`.
pub fn shard_list_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("shard", DataType::UInt32, false),
        Field::new("path", DataType::Utf8, false),
    ]))
}

/// The shard list of `paths`: one partition of one row per shard.
pub fn shard_list(paths: &[String]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = shard_list_schema();
    let mut partitions = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let shard = u32::try_from(i).map_err(|_| {
            datafusion::common::DataFusionError::Plan(format!("too many shards: {}", paths.len()))
        })?;
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(UInt32Array::from(vec![shard])),
                Arc::new(StringArray::from(vec![p.as_str()])),
            ],
        )?;
        partitions.push(vec![batch]);
    }
    Ok(MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// The (shard, path) rows of a shard-list batch.
pub fn rows(batch: &RecordBatch) -> Result<Vec<(u32, String)>> {
    if batch.num_columns() != 2 {
        return exec_err!("a shard list has 2 columns, got {}", batch.num_columns());
    }
    let Some(shards) = batch.column(0).as_primitive_opt::<UInt32Type>() else {
        return exec_err!("shard list: column 0 is not UInt32");
    };
    let Some(paths) = batch.column(1).as_string_opt::<i32>() else {
        return exec_err!("shard list: column 1 is not Utf8");
    };
    Ok((0..batch.num_rows())
        .map(|i| (shards.value(i), paths.value(i).to_string()))
        .collect())
}

/// The one input of a unary operator (rebuilt with new children, or decoded).
pub fn one_child(
    children: &[Arc<dyn ExecutionPlan>],
    name: &str,
) -> Result<Arc<dyn ExecutionPlan>> {
    match children {
        [child] => Ok(Arc::clone(child)),
        _ => internal_err!("{name} has one input, got {}", children.len()),
    }
}
