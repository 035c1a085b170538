//! The stored series as a table: `shard, id, label, values` (the reconstructions, original
//! units) and `raw` (the originals, NULL where not kept), one partition per shard, with the
//! projection, filters on `id` and `LIMIT` pushed into the scan.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, ListArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, plan_err, DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

use crate::args;
use crate::ids;
use crate::open::{database, shard_error};
use crate::shards::{self, shard_list};
use crate::spec::ScanSpec;

/// Rows per batch of a scan.
const BATCH_ROWS: usize = 4096;

fn values_item() -> FieldRef {
    Arc::new(Field::new("item", DataType::Float64, false))
}

/// `shard` (u32), `id` (u64), `label` (utf8, NULL when none), `values` (list of f64) and `raw`
/// (list of f64, NULL when the database does not keep the originals).
pub fn series_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("shard", DataType::UInt32, false),
        Field::new("id", DataType::UInt64, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("values", DataType::List(values_item()), false),
        Field::new("raw", DataType::List(values_item()), true),
    ]))
}

fn projected(projection: Option<&Vec<usize>>) -> Result<SchemaRef> {
    Ok(match projection {
        Some(p) => Arc::new(series_schema().project(p)?),
        None => series_schema(),
    })
}

/// A list column of series (None: NULL).
fn list_column(rows: Vec<Option<Vec<f64>>>) -> Result<ArrayRef> {
    let nulls: Vec<bool> = rows.iter().map(Option::is_some).collect();
    let lengths = rows.iter().map(|r| r.as_ref().map_or(0, Vec::len));
    let offsets = OffsetBuffer::from_lengths(lengths);
    let flat: Vec<f64> = rows.into_iter().flatten().flatten().collect();
    let nulls = (!nulls.iter().all(|&v| v)).then(|| NullBuffer::from(nulls));
    Ok(Arc::new(ListArray::try_new(
        values_item(),
        offsets,
        Arc::new(Float64Array::from(flat)),
        nulls,
    )?))
}

/// Reads one shard in batches of [`BATCH_ROWS`], sending each to `out`; stops early when the
/// receiver is gone.
fn scan_shard(
    spec: &ScanSpec,
    shard: u32,
    path: &str,
    schema: &SchemaRef,
    out: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<()> {
    let db = database(path)?;
    let snap = db.snapshot();
    let keep_raw = snap.options().keep_raw;
    let all: Vec<usize> = (0..series_schema().fields().len()).collect();
    let columns = spec.projection.as_ref().unwrap_or(&all);
    let mut ids: Vec<u64> = (snap.ids().map_err(|e| shard_error(path, e))?)
        .into_iter()
        .map(|i| i.0)
        .collect();
    if let Some(r) = &spec.ids {
        ids.retain(|&i| ids::contains(r, i));
    }
    if let Some(limit) = spec.limit {
        ids.truncate(limit);
    }
    let err = |e| shard_error(path, e);
    for chunk in ids.chunks(BATCH_ROWS) {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
        for &c in columns {
            arrays.push(match c {
                0 => Arc::new(UInt32Array::from(vec![shard; chunk.len()])),
                1 => Arc::new(UInt64Array::from(chunk.to_vec())),
                2 => Arc::new(StringArray::from(
                    chunk
                        .iter()
                        .map(|&i| snap.label(i))
                        .collect::<qabbadb::Result<Vec<_>>>()
                        .map_err(err)?,
                )),
                3 => list_column(
                    chunk
                        .iter()
                        .map(|&i| snap.get(i).map(Some))
                        .collect::<qabbadb::Result<Vec<_>>>()
                        .map_err(err)?,
                )?,
                4 => list_column(if keep_raw {
                    chunk
                        .iter()
                        .map(|&i| snap.get_raw(i).map(Some))
                        .collect::<qabbadb::Result<Vec<_>>>()
                        .map_err(err)?
                } else {
                    vec![None; chunk.len()]
                })?,
                other => return internal_err!("series table has 5 columns, asked for {other}"),
            });
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(schema),
            arrays,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(chunk.len())),
        )?;
        if out.blocking_send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads the series of the shards of its input partition ([`ScanSpec`]).
#[derive(Debug)]
pub struct SeriesScanExec {
    spec: Arc<ScanSpec>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
}

impl SeriesScanExec {
    /// The scan of `spec` over the shard list `input`.
    pub fn try_new(spec: Arc<ScanSpec>, input: Arc<dyn ExecutionPlan>) -> Result<SeriesScanExec> {
        let schema = projected(spec.projection.as_ref())?;
        let partitions = input.properties().partitioning.partition_count();
        Ok(SeriesScanExec {
            props: Arc::new(PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&schema)),
                Partitioning::UnknownPartitioning(partitions),
                EmissionType::Incremental,
                Boundedness::Bounded,
            )),
            spec,
            input,
            schema,
        })
    }

    /// What it reads.
    pub fn spec(&self) -> &Arc<ScanSpec> {
        &self.spec
    }
}

impl DisplayAs for SeriesScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SeriesScanExec: {} shards, ids={:?}, limit={:?}",
            self.spec.shards.len(),
            self.spec.ids,
            self.spec.limit
        )
    }
}

impl ExecutionPlan for SeriesScanExec {
    fn name(&self) -> &str {
        "SeriesScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = shards::one_child(&children, "SeriesScanExec")?;
        Ok(Arc::new(SeriesScanExec::try_new(
            Arc::clone(&self.spec),
            input,
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut input = self.input.execute(partition, context)?;
        let spec = Arc::clone(&self.spec);
        let schema = Arc::clone(&self.schema);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let reader_schema = Arc::clone(&schema);
        tokio::spawn(async move {
            while let Some(batch) = input.next().await {
                let rows = match batch.and_then(|b| shards::rows(&b)) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let (spec, schema, out) =
                    (Arc::clone(&spec), Arc::clone(&reader_schema), tx.clone());
                let done = tokio::task::spawn_blocking(move || {
                    for (shard, path) in rows {
                        if let Err(e) = scan_shard(&spec, shard, &path, &schema, &out) {
                            let _ = out.blocking_send(Err(e));
                            return;
                        }
                    }
                })
                .await;
                if let Err(e) = done {
                    let _ = tx.send(Err(DataFusionError::External(Box::new(e)))).await;
                    return;
                }
            }
        });
        let batches =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// The series of one or more databases (shards) as a table.
#[derive(Debug, Clone)]
pub struct SeriesTable {
    shards: Vec<String>,
}

impl SeriesTable {
    /// The table over `shards` (database directories; `shard` numbers them from 0).
    pub fn new(shards: Vec<String>) -> SeriesTable {
        SeriesTable { shards }
    }

    /// Its shards.
    pub fn shards(&self) -> &[String] {
        &self.shards
    }
}

#[async_trait::async_trait]
impl TableProvider for SeriesTable {
    fn schema(&self) -> SchemaRef {
        series_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if ids::ranges(f).is_some() {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut kept: Option<Vec<(u64, u64)>> = None;
        for f in filters {
            let Some(r) = ids::ranges(f) else {
                return plan_err!("filter {f} cannot be pushed into a qabbadb scan");
            };
            kept = Some(match kept {
                Some(k) => ids::intersect(&k, &r),
                None => r,
            });
        }
        let spec = ScanSpec {
            shards: self.shards.clone(),
            ids: kept,
            projection: projection.cloned(),
            limit,
        };
        Ok(Arc::new(SeriesScanExec::try_new(
            Arc::new(spec),
            shard_list(&self.shards)?,
        )?))
    }
}

/// `qabbadb(db)`: the series of a database directory, or of an array of them, as a table.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeriesFunction;

impl TableFunctionImpl for SeriesFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let [e] = call.exprs() else {
            return plan_err!("qabbadb(db) takes one argument, got {}", call.exprs().len());
        };
        let v = args::constant(call.session(), e, "qabbadb: argument 1 (db)")?;
        Ok(Arc::new(SeriesTable::new(args::paths(
            &v,
            "qabbadb: argument 1 (db)",
        )?)))
    }
}
