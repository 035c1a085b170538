//! Extension codecs: how qabbadb's tables and operators cross process boundaries (Ballista's
//! client → scheduler → executors, or any engine that ships DataFusion plans as protobuf).
//!
//! A node is written as a marker (a zero byte, which never starts a protobuf message, then
//! `qabbadb`, then a version byte) followed by JSON of the whole spec: the shard paths, the
//! queries, `k`, the metric, the exactness, the projection — never a name that the other
//! process would have to look up. Anything else goes to the wrapped codec (DataFusion's
//! default, or Ballista's for its shuffle operators).

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{not_impl_err, DataFusionError, Result, TableReference};
use datafusion::datasource::TableProvider;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};
use serde::{Deserialize, Serialize};

use crate::knn::{KnnMergeExec, KnnShardExec, KnnTable};
use crate::shards::one_child;
use crate::spec::{KnnSpec, ScanSpec};
use crate::table::{SeriesScanExec, SeriesTable};

const MARKER: &[u8] = b"\0qabbadb\x01";

/// What a marked buffer holds.
#[derive(Debug, Serialize, Deserialize)]
enum Node {
    KnnTable(KnnSpec),
    SeriesTable(Vec<String>),
    KnnShard(KnnSpec),
    KnnMerge {
        spec: KnnSpec,
        projection: Option<Vec<usize>>,
    },
    SeriesScan(ScanSpec),
}

fn encode(node: &Node, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(MARKER);
    serde_json::to_writer(buf, node).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// Our node, when `buf` holds one.
fn decode(buf: &[u8]) -> Option<Result<Node>> {
    let body = buf.strip_prefix(MARKER)?;
    Some(serde_json::from_slice(body).map_err(|e| DataFusionError::External(Box::new(e))))
}

/// The logical codec: [`KnnTable`] and [`SeriesTable`], then the wrapped codec.
#[derive(Debug, Clone)]
pub struct QabbaLogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl Default for QabbaLogicalCodec {
    fn default() -> Self {
        QabbaLogicalCodec::wrapping(Arc::new(DefaultLogicalExtensionCodec {}))
    }
}

impl QabbaLogicalCodec {
    /// Ours first, then `inner`.
    pub fn wrapping(inner: Arc<dyn LogicalExtensionCodec>) -> QabbaLogicalCodec {
        QabbaLogicalCodec { inner }
    }
}

impl LogicalExtensionCodec for QabbaLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode(buf) {
            Some(node) => match node? {
                Node::KnnTable(spec) => Ok(Arc::new(KnnTable::new(spec))),
                Node::SeriesTable(shards) => Ok(Arc::new(SeriesTable::new(shards))),
                other => not_impl_err!("not a qabbadb table: {other:?}"),
            },
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(t) = node.downcast_ref::<KnnTable>() {
            return encode(&Node::KnnTable(t.spec().clone()), buf);
        }
        if let Some(t) = node.downcast_ref::<SeriesTable>() {
            return encode(&Node::SeriesTable(t.shards().to_vec()), buf);
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }
}

/// The physical codec: [`KnnShardExec`], [`KnnMergeExec`] and [`SeriesScanExec`], then the
/// wrapped codec.
#[derive(Debug, Clone)]
pub struct QabbaPhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl Default for QabbaPhysicalCodec {
    fn default() -> Self {
        QabbaPhysicalCodec::wrapping(Arc::new(DefaultPhysicalExtensionCodec {}))
    }
}

impl QabbaPhysicalCodec {
    /// Ours first, then `inner`.
    pub fn wrapping(inner: Arc<dyn PhysicalExtensionCodec>) -> QabbaPhysicalCodec {
        QabbaPhysicalCodec { inner }
    }
}

impl PhysicalExtensionCodec for QabbaPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(node) = decode(buf) else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        Ok(match node? {
            Node::KnnShard(spec) => Arc::new(KnnShardExec::new(
                Arc::new(spec),
                one_child(inputs, "KnnShardExec")?,
            )),
            Node::KnnMerge { spec, projection } => Arc::new(KnnMergeExec::try_new(
                Arc::new(spec),
                one_child(inputs, "KnnMergeExec")?,
                projection,
            )?),
            Node::SeriesScan(spec) => Arc::new(SeriesScanExec::try_new(
                Arc::new(spec),
                one_child(inputs, "SeriesScanExec")?,
            )?),
            other => return not_impl_err!("not a qabbadb operator: {other:?}"),
        })
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(n) = node.downcast_ref::<KnnShardExec>() {
            return encode(&Node::KnnShard(n.spec().as_ref().clone()), buf);
        }
        if let Some(n) = node.downcast_ref::<KnnMergeExec>() {
            return encode(
                &Node::KnnMerge {
                    spec: n.spec().as_ref().clone(),
                    projection: n.projection().cloned(),
                },
                buf,
            );
        }
        if let Some(n) = node.downcast_ref::<SeriesScanExec>() {
            return encode(&Node::SeriesScan(n.spec().as_ref().clone()), buf);
        }
        self.inner.try_encode(node, buf, proto_converter)
    }
}
