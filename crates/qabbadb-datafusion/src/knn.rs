//! k-NN as a table: `knn(db, query, k [, metric, window, exact])` and
//! `knn_batch(db, queries, k [, metric, window, exact])`.
//!
//! The plan is `KnnMergeExec` ← `KnnShardExec` ← shard list ([`crate::shards`]). Each partition
//! of `KnnShardExec` answers every query exactly over the shards it receives (the database's own
//! index and verification), the k best of each; the merge, which needs one partition (the engine
//! inserts the exchange, a stage boundary in Ballista), keeps the k best of all shards per query,
//! ordered by distance, then shard, then id, and numbers them from 1 (`rank`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Schema, SchemaRef, UInt32Type, UInt64Type,
};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{exec_err, internal_err, plan_err, DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use qabbadb::Query;

use crate::args;
use crate::open::{database, shard_error};
use crate::shards::{self, shard_list};
use crate::spec::{ExactSpec, KnnSpec, MetricSpec};

/// The per-shard answers: `query`, `shard`, `id`, `label`, `distance`.
pub fn shard_answer_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("query", DataType::UInt32, false),
        Field::new("shard", DataType::UInt32, false),
        Field::new("id", DataType::UInt64, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("distance", DataType::Float64, false),
    ]))
}

/// The table of `knn` (`id, label, distance, rank, shard`) or, with a leading `query` column,
/// of `knn_batch`.
pub fn knn_schema(batch: bool) -> SchemaRef {
    let mut fields = Vec::new();
    if batch {
        fields.push(Field::new("query", DataType::UInt32, false));
    }
    fields.extend([
        Field::new("id", DataType::UInt64, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("distance", DataType::Float64, false),
        Field::new("rank", DataType::UInt32, false),
        Field::new("shard", DataType::UInt32, false),
    ]);
    Arc::new(Schema::new(fields))
}

fn properties(schema: SchemaRef, partitions: usize) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(partitions),
        EmissionType::Final,
        Boundedness::Bounded,
    ))
}

/// The k-NN answers of every query over one shard, as a batch of [`shard_answer_schema`].
fn search_shard(spec: &KnnSpec, shard: u32, path: &str) -> Result<RecordBatch> {
    let start = std::time::Instant::now();
    let db = database(path)?;
    let snap = db.snapshot();
    let metric = spec.metric.metric();
    let exactness = spec.exact.exactness();
    let queries: Vec<Query> = spec
        .queries
        .iter()
        .map(|q| Query::knn(q, spec.k).metric(metric).exactness(exactness))
        .collect();
    let results = snap
        .search_batch(&queries)
        .map_err(|e| shard_error(path, e))?;
    let (mut query, mut id, mut label, mut distance) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (qi, r) in results.iter().enumerate() {
        for n in &r.neighbors {
            query.push(qi as u32);
            id.push(n.id.0);
            label.push(snap.label(n.id).map_err(|e| shard_error(path, e))?);
            distance.push(n.distance);
        }
    }
    let rows = id.len();
    log::info!(
        "qabbadb: searched shard {shard} ({path}) for {} queries in {:.1} ms, pid {}",
        spec.queries.len(),
        start.elapsed().as_secs_f64() * 1e3,
        std::process::id()
    );
    Ok(RecordBatch::try_new(
        shard_answer_schema(),
        vec![
            Arc::new(UInt32Array::from(query)),
            Arc::new(UInt32Array::from(vec![shard; rows])),
            Arc::new(UInt64Array::from(id)),
            Arc::new(StringArray::from(label)),
            Arc::new(Float64Array::from(distance)),
        ],
    )?)
}

/// Runs the queries over the shards of its input partition (see the module docs).
#[derive(Debug)]
pub struct KnnShardExec {
    spec: Arc<KnnSpec>,
    input: Arc<dyn ExecutionPlan>,
    props: Arc<PlanProperties>,
}

impl KnnShardExec {
    /// The searches of `spec` over the shard list `input`.
    pub fn new(spec: Arc<KnnSpec>, input: Arc<dyn ExecutionPlan>) -> KnnShardExec {
        let partitions = input.properties().partitioning.partition_count();
        KnnShardExec {
            spec,
            props: properties(shard_answer_schema(), partitions),
            input,
        }
    }

    /// What it searches.
    pub fn spec(&self) -> &Arc<KnnSpec> {
        &self.spec
    }
}

impl DisplayAs for KnnShardExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "KnnShardExec: {} queries, k={}, {:?}, {:?}",
            self.spec.queries.len(),
            self.spec.k,
            self.spec.metric,
            self.spec.exact
        )
    }
}

impl ExecutionPlan for KnnShardExec {
    fn name(&self) -> &str {
        "KnnShardExec"
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
        let input = shards::one_child(&children, "KnnShardExec")?;
        Ok(Arc::new(KnnShardExec::new(Arc::clone(&self.spec), input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let spec = Arc::clone(&self.spec);
        let answers = input
            .and_then(move |batch| {
                let spec = Arc::clone(&spec);
                async move {
                    tokio::task::spawn_blocking(move || -> Result<Vec<RecordBatch>> {
                        shards::rows(&batch)?
                            .iter()
                            .map(|(shard, path)| search_shard(&spec, *shard, path))
                            .collect()
                    })
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                }
            })
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            shard_answer_schema(),
            answers,
        )))
    }
}

/// Keeps the k best answers of all shards per query and ranks them (see the module docs).
#[derive(Debug)]
pub struct KnnMergeExec {
    spec: Arc<KnnSpec>,
    input: Arc<dyn ExecutionPlan>,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
}

impl KnnMergeExec {
    /// The merge of `input` (a [`KnnShardExec`]), producing the `projection` of [`knn_schema`].
    pub fn try_new(
        spec: Arc<KnnSpec>,
        input: Arc<dyn ExecutionPlan>,
        projection: Option<Vec<usize>>,
    ) -> Result<KnnMergeExec> {
        let full = knn_schema(spec.batch);
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        Ok(KnnMergeExec {
            props: properties(Arc::clone(&schema), 1),
            spec,
            input,
            projection,
            schema,
        })
    }

    /// What it merges.
    pub fn spec(&self) -> &Arc<KnnSpec> {
        &self.spec
    }

    /// The columns of [`knn_schema`] it produces.
    pub fn projection(&self) -> Option<&Vec<usize>> {
        self.projection.as_ref()
    }
}

impl DisplayAs for KnnMergeExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "KnnMergeExec: {} shards, k={}",
            self.spec.shards.len(),
            self.spec.k
        )
    }
}

/// One answer on its way through the merge.
struct Answer {
    distance: f64,
    shard: u32,
    id: u64,
    label: Option<String>,
}

impl ExecutionPlan for KnnMergeExec {
    fn name(&self) -> &str {
        "KnnMergeExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::SinglePartition]
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
        let input = shards::one_child(&children, "KnnMergeExec")?;
        Ok(Arc::new(KnnMergeExec::try_new(
            Arc::clone(&self.spec),
            input,
            self.projection.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("KnnMergeExec has one partition, asked for {partition}");
        }
        // Every input partition (one, once the engine has placed its exchange).
        let partitions = self.input.properties().partitioning.partition_count();
        let inputs = (0..partitions)
            .map(|p| self.input.execute(p, Arc::clone(&context)))
            .collect::<Result<Vec<_>>>()?;
        let spec = Arc::clone(&self.spec);
        let projection = self.projection.clone();
        let schema = Arc::clone(&self.schema);
        let merged = futures::stream::once(async move {
            let mut per_query: BTreeMap<u32, Vec<Answer>> = BTreeMap::new();
            for mut input in inputs {
                while let Some(batch) = input.next().await {
                    collect(&batch?, &mut per_query)?;
                }
            }
            ranked(&spec, per_query, projection.as_deref())
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, merged)))
    }
}

/// Adds the answers of one [`shard_answer_schema`] batch.
fn collect(batch: &RecordBatch, out: &mut BTreeMap<u32, Vec<Answer>>) -> Result<()> {
    let col = |i: usize| batch.column(i);
    let (Some(query), Some(shard), Some(id), Some(label), Some(distance)) = (
        col(0).as_primitive_opt::<UInt32Type>(),
        col(1).as_primitive_opt::<UInt32Type>(),
        col(2).as_primitive_opt::<UInt64Type>(),
        col(3).as_string_opt::<i32>(),
        col(4).as_primitive_opt::<Float64Type>(),
    ) else {
        return exec_err!("KnnMergeExec: unexpected input schema {}", batch.schema());
    };
    for i in 0..batch.num_rows() {
        out.entry(query.value(i)).or_default().push(Answer {
            distance: distance.value(i),
            shard: shard.value(i),
            id: id.value(i),
            label: (!label.is_null(i)).then(|| label.value(i).to_string()),
        });
    }
    Ok(())
}

/// The k best answers per query, ranked, as one batch of the projected [`knn_schema`].
fn ranked(
    spec: &KnnSpec,
    per_query: BTreeMap<u32, Vec<Answer>>,
    projection: Option<&[usize]>,
) -> Result<RecordBatch> {
    let (mut query, mut id, mut label, mut distance, mut rank, mut shard) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (q, mut answers) in per_query {
        answers.sort_by(|a, b| {
            a.distance
                .total_cmp(&b.distance)
                .then(a.shard.cmp(&b.shard))
                .then(a.id.cmp(&b.id))
        });
        answers.truncate(spec.k);
        for (r, a) in answers.into_iter().enumerate() {
            query.push(q);
            id.push(a.id);
            label.push(a.label);
            distance.push(a.distance);
            rank.push(r as u32 + 1);
            shard.push(a.shard);
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::new();
    if spec.batch {
        columns.push(Arc::new(UInt32Array::from(query)));
    }
    columns.extend([
        Arc::new(UInt64Array::from(id)) as ArrayRef,
        Arc::new(StringArray::from(label)),
        Arc::new(Float64Array::from(distance)),
        Arc::new(UInt32Array::from(rank)),
        Arc::new(UInt32Array::from(shard)),
    ]);
    let full = RecordBatch::try_new(knn_schema(spec.batch), columns)?;
    Ok(match projection {
        Some(p) => full.project(p)?,
        None => full,
    })
}

/// The result table of a k-NN table function.
#[derive(Debug, Clone)]
pub struct KnnTable {
    spec: Arc<KnnSpec>,
}

impl KnnTable {
    /// The table answering `spec`.
    pub fn new(spec: KnnSpec) -> KnnTable {
        KnnTable {
            spec: Arc::new(spec),
        }
    }

    /// What it answers.
    pub fn spec(&self) -> &KnnSpec {
        &self.spec
    }

    /// The plan answering `spec`, producing the `projection` of [`knn_schema`].
    pub fn plan(
        spec: Arc<KnnSpec>,
        projection: Option<Vec<usize>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let list = shard_list(&spec.shards)?;
        let shards = Arc::new(KnnShardExec::new(Arc::clone(&spec), list));
        Ok(Arc::new(KnnMergeExec::try_new(spec, shards, projection)?))
    }
}

#[async_trait::async_trait]
impl TableProvider for KnnTable {
    fn schema(&self) -> SchemaRef {
        knn_schema(self.spec.batch)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        KnnTable::plan(Arc::clone(&self.spec), projection.cloned())
    }
}

/// `knn(db, query, k [, metric, window, exact])` (`batch = false`) or `knn_batch(db, queries,
/// k [, …])`.
///
/// - `db`: a database directory, or an array of them (shards; `shard` numbers them from 0);
/// - `query`: an array of numbers (`knn`), or an array of such arrays (`knn_batch`); or a
///   scalar subquery giving one (`knn`) or one per row (`knn_batch`);
/// - `k`: neighbours per query, at least 1;
/// - `metric`: `'euclidean'` (default) or `'dtw'`;
/// - `window`: the DTW window as a fraction of the length (default 0.1);
/// - `exact`: `'reconstruction'` (default) or `'original'` (databases that keep raw values).
#[derive(Debug, Clone, Copy)]
pub struct KnnFunction {
    /// `knn_batch` rather than `knn`.
    pub batch: bool,
}

impl KnnFunction {
    fn name(&self) -> &'static str {
        if self.batch {
            "knn_batch"
        } else {
            "knn"
        }
    }

    /// The spec of a call with constant arguments `values`.
    pub fn spec(&self, values: &[datafusion::common::ScalarValue]) -> Result<KnnSpec> {
        let name = self.name();
        if !(3..=6).contains(&values.len()) {
            return plan_err!(
                "{name}(db, {}, k [, metric, window, exact]) takes 3 to 6 arguments, got {}",
                if self.batch { "queries" } else { "query" },
                values.len()
            );
        }
        let shards = args::paths(&values[0], &format!("{name}: argument 1 (db)"))?;
        let queries = if self.batch {
            args::series_list(&values[1], &format!("{name}: argument 2 (queries)"))?
        } else {
            vec![args::series(
                &values[1],
                &format!("{name}: argument 2 (query)"),
            )?]
        };
        for (i, q) in queries.iter().enumerate() {
            if q.is_empty() {
                return plan_err!("{name}: query {i} is empty");
            }
            if let Some(j) = q.iter().position(|v| !v.is_finite()) {
                return plan_err!("{name}: query {i} has a non-finite value at position {j}");
            }
        }
        let k = args::count(&values[2], &format!("{name}: argument 3 (k)"))?;
        let metric_name = match values.get(3).filter(|v| !v.is_null()) {
            Some(v) => args::string(v, &format!("{name}: argument 4 (metric)"))?.to_lowercase(),
            None => "euclidean".to_string(),
        };
        let given = |i: usize| values.get(i).filter(|v| !v.is_null());
        let window = match given(4) {
            Some(v) => args::number(v, &format!("{name}: argument 5 (window)"))?,
            None => 0.1,
        };
        if !(0.0..=1.0).contains(&window) {
            return plan_err!(
                "{name}: the window is a fraction of the length in [0, 1], got {window}"
            );
        }
        let metric = match metric_name.as_str() {
            "euclidean" | "ed" => MetricSpec::Euclidean,
            "dtw" => MetricSpec::Dtw { window },
            other => return plan_err!("{name}: unknown metric '{other}' (euclidean or dtw)"),
        };
        if given(4).is_some() && metric == MetricSpec::Euclidean {
            return plan_err!("{name}: a window applies to dtw only");
        }
        let exact = match given(5) {
            Some(v) => match args::string(v, &format!("{name}: argument 6 (exact)"))?
                .to_lowercase()
                .as_str()
            {
                "reconstruction" | "reconstructed" => ExactSpec::Reconstruction,
                "original" => ExactSpec::Original,
                other => {
                    return plan_err!(
                        "{name}: unknown exactness '{other}' (reconstruction or original)"
                    )
                }
            },
            None => ExactSpec::Reconstruction,
        };
        Ok(KnnSpec {
            shards,
            queries,
            k,
            metric,
            exact,
            batch: self.batch,
        })
    }
}

impl TableFunctionImpl for KnnFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let values = call
            .exprs()
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let what = format!("{}: argument {}", self.name(), i + 1);
                if self.batch && i == 1 {
                    args::rows(call.session(), e, &what)
                } else {
                    args::constant(call.session(), e, &what)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(KnnTable::new(self.spec(&values)?)))
    }
}
