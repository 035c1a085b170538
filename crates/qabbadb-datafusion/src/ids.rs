//! Pushed-down filters on `id`: comparisons with constants, `IN` lists, `BETWEEN`, and `OR` of
//! those, turned into the inclusive id ranges a scan reads (and nothing else).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

use crate::spec::IdRanges;

/// A constant, by the integers around it.
#[derive(Debug, Clone, Copy)]
struct Num {
    floor: i128,
    ceil: i128,
}

fn num(v: &ScalarValue) -> Option<Num> {
    let int = |n: i128| Some(Num { floor: n, ceil: n });
    match v {
        ScalarValue::Int8(Some(n)) => int(*n as i128),
        ScalarValue::Int16(Some(n)) => int(*n as i128),
        ScalarValue::Int32(Some(n)) => int(*n as i128),
        ScalarValue::Int64(Some(n)) => int(*n as i128),
        ScalarValue::UInt8(Some(n)) => int(*n as i128),
        ScalarValue::UInt16(Some(n)) => int(*n as i128),
        ScalarValue::UInt32(Some(n)) => int(*n as i128),
        ScalarValue::UInt64(Some(n)) => int(*n as i128),
        ScalarValue::Decimal128(Some(n), _, scale) if (0..=38).contains(scale) => {
            let b = 10i128.checked_pow(*scale as u32)?;
            Some(Num {
                floor: n.div_euclid(b),
                ceil: -((-n).div_euclid(b)),
            })
        }
        ScalarValue::Float64(Some(x)) if x.is_finite() && x.abs() < 1e30 => Some(Num {
            floor: x.floor() as i128,
            ceil: x.ceil() as i128,
        }),
        _ => None,
    }
}

/// True when `e` is the `id` column, possibly under a cast to a type that holds every id
/// exactly (integers and decimals: the comparison keeps its meaning).
fn is_id(e: &Expr) -> bool {
    match e {
        Expr::Column(Column { name, .. }) => name == "id",
        Expr::Cast(c) => {
            matches!(
                c.field.data_type(),
                DataType::Int64
                    | DataType::UInt64
                    | DataType::Decimal128(_, 0)
                    | DataType::Decimal256(_, 0)
            ) && is_id(&c.expr)
        }
        _ => false,
    }
}

fn literal(e: &Expr) -> Option<Num> {
    match e {
        Expr::Literal(v, _) => num(v),
        _ => None,
    }
}

fn clamp(lo: i128, hi: i128) -> IdRanges {
    let lo = lo.max(0);
    let hi = hi.min(u64::MAX as i128);
    if lo > hi {
        Vec::new()
    } else {
        vec![(lo as u64, hi as u64)]
    }
}

/// `id op v`.
fn compare(op: Operator, v: Num) -> Option<IdRanges> {
    let max = u64::MAX as i128;
    Some(match op {
        Operator::Eq if v.floor == v.ceil => clamp(v.floor, v.floor),
        Operator::Eq => Vec::new(),
        Operator::Lt => clamp(0, v.ceil - 1),
        Operator::LtEq => clamp(0, v.floor),
        Operator::Gt => clamp(v.floor + 1, max),
        Operator::GtEq => clamp(v.ceil, max),
        _ => return None,
    })
}

fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        o => o,
    }
}

/// The ids that `filter` keeps, or `None` when it is not a filter on `id` alone of a form
/// handled here.
pub fn ranges(filter: &Expr) -> Option<IdRanges> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => Some(intersect(&ranges(left)?, &ranges(right)?)),
            Operator::Or => Some(union(ranges(left)?, ranges(right)?)),
            _ if is_id(left) => compare(*op, literal(right)?),
            _ if is_id(right) => compare(flip(*op), literal(left)?),
            _ => None,
        },
        Expr::InList(list) if !list.negated && is_id(&list.expr) => {
            let mut out = Vec::new();
            for e in &list.list {
                out = union(out, compare(Operator::Eq, literal(e)?)?);
            }
            Some(out)
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_id(expr) => Some(intersect(
            &compare(Operator::GtEq, literal(low)?)?,
            &compare(Operator::LtEq, literal(high)?)?,
        )),
        Expr::IsNotNull(e) if is_id(e) => Some(vec![(0, u64::MAX)]),
        _ => None,
    }
}

/// Sorted, disjoint, merged.
fn normalize(mut v: IdRanges) -> IdRanges {
    v.sort_unstable();
    let mut out: IdRanges = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The ids in `a` or `b`.
pub fn union(mut a: IdRanges, b: IdRanges) -> IdRanges {
    a.extend(b);
    normalize(a)
}

/// The ids in both `a` and `b` (each sorted and disjoint).
pub fn intersect(a: &[(u64, u64)], b: &[(u64, u64)]) -> IdRanges {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// True when `id` is in `ranges` (sorted and disjoint).
pub fn contains(ranges: &[(u64, u64)], id: u64) -> bool {
    let i = ranges.partition_point(|r| r.1 < id);
    i < ranges.len() && ranges[i].0 <= id
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    /// Every form, against the predicate evaluated id by id.
    #[test]
    fn ranges_keep_exactly_the_ids_the_predicate_keeps() {
        type Keeps = Box<dyn Fn(u64) -> bool>;
        let cases: Vec<(Expr, Keeps)> = vec![
            (col("id").eq(lit(5i64)), Box::new(|i| i == 5)),
            (col("id").lt(lit(5i64)), Box::new(|i| i < 5)),
            (col("id").lt_eq(lit(5u64)), Box::new(|i| i <= 5)),
            (lit(5i32).lt(col("id")), Box::new(|i| i > 5)),
            (col("id").gt_eq(lit(-3i64)), Box::new(|_| true)),
            (col("id").lt(lit(0i64)), Box::new(|_| false)),
            (col("id").lt(lit(4.5f64)), Box::new(|i| i <= 4)),
            (col("id").gt(lit(4.5f64)), Box::new(|i| i >= 5)),
            (col("id").eq(lit(4.5f64)), Box::new(|_| false)),
            (
                col("id").in_list(vec![lit(3i64), lit(9i64), lit(4i64)], false),
                Box::new(|i| [3, 4, 9].contains(&i)),
            ),
            (
                col("id").between(lit(2i64), lit(7i64)),
                Box::new(|i| (2..=7).contains(&i)),
            ),
            (
                col("id").lt(lit(3i64)).or(col("id").gt(lit(10i64))),
                Box::new(|i| !(3..=10).contains(&i)),
            ),
            (
                col("id").gt(lit(3i64)).and(col("id").lt_eq(lit(8i64))),
                Box::new(|i| i > 3 && i <= 8),
            ),
        ];
        for (e, keep) in cases {
            let r = ranges(&e).unwrap_or_else(|| panic!("{e} not handled"));
            for id in 0..40u64 {
                assert_eq!(contains(&r, id), keep(id), "{e} at id {id}: {r:?}");
            }
        }
    }

    #[test]
    fn other_filters_are_not_pushed() {
        for e in [
            col("label").eq(lit("a")),
            col("id").eq(col("shard")),
            col("id").in_list(vec![lit(1i64)], true),
            col("id").not_eq(lit(3i64)),
            col("id").lt(lit(3i64)).or(col("label").eq(lit("a"))),
        ] {
            assert!(ranges(&e).is_none(), "{e}");
        }
    }
}
