//! Table-function arguments: SQL expressions evaluated to constants (literals, array literals
//! such as `[0.1, 0.2]` or `make_array(…)`, arithmetic on them, scalar subqueries such as
//! `(SELECT "values" FROM qabbadb('q.qdb') WHERE id = 3)`), then read as paths, series and
//! numbers, with errors that name the argument.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Schema};
use datafusion::catalog::Session;
use datafusion::common::{plan_datafusion_err, plan_err, DFSchema, Result, ScalarValue};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::collect;

/// The constant value of `expr`.
pub fn constant(session: &dyn Session, expr: &Expr, what: &str) -> Result<ScalarValue> {
    if let Expr::Literal(v, _) = expr {
        return Ok(v.clone());
    }
    if let Expr::ScalarSubquery(sub) = expr {
        let rows = subquery(session, &sub.subquery, what)?;
        return match <[_; 1]>::try_from(rows) {
            Ok([v]) => Ok(v),
            Err(rows) => plan_err!(
                "{what}: the subquery must return one row of one column, got {} rows",
                rows.len()
            ),
        };
    }
    let physical = session
        .create_physical_expr(expr.clone(), &DFSchema::empty())
        .map_err(|e| plan_datafusion_err!("{what} must be a constant: {e}"))?;
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let value = physical
        .evaluate(&one_row)
        .map_err(|e| plan_datafusion_err!("{what} must be a constant: {e}"))?;
    let array = value.into_array(1)?;
    ScalarValue::try_from_array(&array, 0)
}

/// The constant value of `expr`, except that a subquery gives a list of its rows (one per
/// query: the queries of `knn_batch` from a table).
pub fn rows(session: &dyn Session, expr: &Expr, what: &str) -> Result<ScalarValue> {
    let Expr::ScalarSubquery(sub) = expr else {
        return constant(session, expr, what);
    };
    let rows = subquery(session, &sub.subquery, what)?;
    let Some(first) = rows.first() else {
        return plan_err!("{what}: the subquery returned no row");
    };
    Ok(ScalarValue::List(ScalarValue::new_list(
        &rows,
        &first.data_type(),
        true,
    )))
}

/// The rows of a one-column subquery, run while the call is planned.
fn subquery(session: &dyn Session, plan: &LogicalPlan, what: &str) -> Result<Vec<ScalarValue>> {
    let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
        return plan_err!("{what}: subqueries need a DataFusion session");
    };
    let run = async {
        let physical = state.create_physical_plan(plan).await?;
        collect(physical, state.task_ctx()).await
    };
    // Table functions are planned synchronously: the subquery runs to completion here, on the
    // caller's runtime when it has worker threads to spare, else on a runtime of its own.
    let batches = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(run))?
        }
        Ok(_) => {
            return plan_err!("{what}: a subquery argument needs a multi-threaded tokio runtime")
        }
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| plan_datafusion_err!("{what}: {e}"))?
            .block_on(run)?,
    };
    let mut out = Vec::new();
    for b in &batches {
        if b.num_columns() != 1 {
            return plan_err!(
                "{what}: the subquery must return one column, got {}",
                b.num_columns()
            );
        }
        for i in 0..b.num_rows() {
            out.push(ScalarValue::try_from_array(b.column(0), i)?);
        }
    }
    if out.is_empty() {
        return plan_err!("{what}: the subquery returned no row");
    }
    Ok(out)
}

/// A string argument.
pub fn string(v: &ScalarValue, what: &str) -> Result<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Ok(s.clone()),
        other => plan_err!("{what} must be a string, got {}", describe(other)),
    }
}

/// One database path or an array of them.
pub fn paths(v: &ScalarValue, what: &str) -> Result<Vec<String>> {
    if let Some(list) = list_array(v) {
        let values = cast(list.as_ref(), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let mut out = Vec::with_capacity(values.len());
        for i in 0..values.len() {
            if values.is_null(i) {
                return plan_err!("{what}: shard {i} is NULL");
            }
            out.push(values.value(i).to_string());
        }
        if out.is_empty() {
            return plan_err!("{what}: no shards given");
        }
        return Ok(out);
    }
    Ok(vec![string(v, what)?])
}

/// The values of a list scalar (`List`, `LargeList`, `FixedSizeList`), if `v` is one.
fn list_array(v: &ScalarValue) -> Option<Arc<dyn Array>> {
    match v {
        ScalarValue::List(a) if a.len() == 1 && !a.is_null(0) => Some(a.value(0)),
        ScalarValue::LargeList(a) if a.len() == 1 && !a.is_null(0) => Some(a.value(0)),
        ScalarValue::FixedSizeList(a) if a.len() == 1 && !a.is_null(0) => Some(a.value(0)),
        _ => None,
    }
}

/// The f64 values of a numeric array, refusing NULLs.
fn floats(array: &dyn Array, what: &str) -> Result<Vec<f64>> {
    let values = cast(array, &DataType::Float64)
        .map_err(|e| plan_datafusion_err!("{what} must hold numbers: {e}"))?;
    let values = values.as_primitive::<Float64Type>();
    if values.null_count() > 0 {
        return plan_err!("{what} holds NULL values");
    }
    Ok(values.values().to_vec())
}

/// A series: an array of numbers.
pub fn series(v: &ScalarValue, what: &str) -> Result<Vec<f64>> {
    let list = list_array(v).ok_or_else(|| {
        plan_datafusion_err!("{what} must be an array of numbers, got {}", describe(v))
    })?;
    floats(list.as_ref(), what)
}

/// Several series: an array of arrays of numbers (lengths may differ).
pub fn series_list(v: &ScalarValue, what: &str) -> Result<Vec<Vec<f64>>> {
    let outer = list_array(v).ok_or_else(|| {
        plan_datafusion_err!(
            "{what} must be an array of arrays of numbers, got {}",
            describe(v)
        )
    })?;
    let mut out = Vec::with_capacity(outer.len());
    for i in 0..outer.len() {
        let row = ScalarValue::try_from_array(outer.as_ref(), i)?;
        out.push(series(&row, &format!("{what}, query {i}"))?);
    }
    if out.is_empty() {
        return plan_err!("{what}: no queries given");
    }
    Ok(out)
}

/// A positive integer.
pub fn count(v: &ScalarValue, what: &str) -> Result<usize> {
    let n = v
        .cast_to(&DataType::Int64)
        .ok()
        .and_then(|s| match s {
            ScalarValue::Int64(Some(n)) => Some(n),
            _ => None,
        })
        .ok_or_else(|| plan_datafusion_err!("{what} must be an integer, got {}", describe(v)))?;
    if n < 1 {
        return plan_err!("{what} must be at least 1, got {n}");
    }
    usize::try_from(n).map_err(|_| plan_datafusion_err!("{what} is too large: {n}"))
}

/// A number.
pub fn number(v: &ScalarValue, what: &str) -> Result<f64> {
    match v.cast_to(&DataType::Float64) {
        Ok(ScalarValue::Float64(Some(x))) => Ok(x),
        _ => plan_err!("{what} must be a number, got {}", describe(v)),
    }
}

fn describe(v: &ScalarValue) -> String {
    if v.is_null() {
        "NULL".to_string()
    } else {
        format!("{} {v}", v.data_type())
    }
}
