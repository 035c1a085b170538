//! The SERIES section (FORMAT.md §4.3): one record per series, stored as pco column streams.

use zerocopy::FromBytes;

use super::columns;
use super::layout::*;
use super::symbols::block_of;
use crate::codec::{meta, Moments, Start};

/// One row of the series table before the checks that relate rows to each other.
struct Row {
    id: u64,
    len: u32,
    pieces: u32,
    kind: u32,
    count: u64,
    label: u32,
    start: Start,
    moments: Moments,
    eps: f64,
    max_abs_err: f64,
}

type Fail = (Option<usize>, String);

/// What opening a segment learns of its SERIES section without decoding the table: the number
/// of series and the range of their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Summary {
    /// Number of series N.
    pub count: usize,
    /// The smallest and the largest id (`None` when N = 0).
    pub ids: Option<(u64, u64)>,
}

impl Summary {
    /// True when the ids are every integer from the first to the last: then the position of an
    /// id follows from the id alone. (Ids are strictly increasing: checked here and again when
    /// the table is decoded.)
    pub fn contiguous(&self) -> bool {
        self.ids
            .is_some_and(|(a, b)| b.checked_sub(a).and_then(|d| d.checked_add(1)) == Some(self.count as u64))
    }
}

/// Reads the SERIES header and the id column only (§4.3: N, then the first column): O(1) when
/// the ids are stored in the consecutive form (§4.3.2), else one column decoded.
pub(super) fn summary(sec: &[u8], version: u32) -> std::result::Result<Summary, String> {
    let (sh, rest) =
        SeriesHeader::read_from_prefix(sec).map_err(|_| "shorter than its header".to_string())?;
    let count = sh.count.get();
    if count > MAX_SERIES {
        return Err(format!("{count} series is more than the limit of {MAX_SERIES}"));
    }
    let n = count as usize;
    let bad = || format!("column {} does not decode to {n} values", column::NAMES[column::ID]);
    if n == 0 {
        return Ok(Summary { count: 0, ids: None });
    }
    if version >= 2 && n >= 2 {
        let word = |at: usize| rest.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        if let (Some(8), Some(columns::form::CONSECUTIVE)) = (word(0), word(4)) {
            let first = rest
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or_else(bad)?;
            let last = first.checked_add(count - 1).ok_or_else(bad)?;
            return Ok(Summary { count: n, ids: Some((first, last)) });
        }
    }
    let mut input = rest;
    let ids: Vec<u64> = if version >= 2 {
        columns::read_v2(&mut input, n)
    } else {
        columns::read(&mut input, n)
    }
    .ok_or_else(bad)?;
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err("ids not strictly increasing".into());
    }
    Ok(Summary { count: n, ids: ids.first().zip(ids.last()).map(|(&a, &b)| (a, b)) })
}

/// Where a corrected series' levels are (§4.12): its position, the index of its first level in
/// the CORRECTIONS level column, and their step in original units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Corrected {
    pub pos: usize,
    pub first: u64,
    pub code: u64,
    pub step: f64,
}

/// Decodes the column streams of the SERIES section (§4.3, either version) and checks each
/// record on its own; places the levels of the corrected rows, the i-th of which has the i-th
/// step of `corrections` (§4.12). Errors carry the record index when one record is at fault.
pub(super) fn parse(
    sec: &[u8],
    lossless_bytes: u64,
    version: u32,
    corrections: Option<&super::corrections::Corrections>,
) -> std::result::Result<(Vec<SeriesRecord>, Vec<Corrected>), Fail> {
    let codes = corrections.map_or(&[][..], |c| &c.codes[..]);
    let whole = |d: &str| (None, d.to_string());
    let (sh, mut rest) =
        SeriesHeader::read_from_prefix(sec).map_err(|_| whole("shorter than its header"))?;
    let count = sh.count.get();
    if count > MAX_SERIES {
        return Err(whole(&format!(
            "{count} series is more than the limit of {MAX_SERIES}"
        )));
    }
    let n = count as usize;
    let steps = meta::Steps {
        mean: sh.mean_step.into(),
        start: sh.start_step.into(),
    };
    let rows = if version == 1 {
        if sh.mean_step != 0 || sh.start_step != 0 || sh.reserved != [0; 2] {
            return Err(whole("reserved bytes are not zero"));
        }
        rows_v1(&mut rest, n, sh.columns.get())?
    } else {
        if sh.reserved != [0; 2] {
            return Err(whole("reserved bytes are not zero"));
        }
        if !steps.valid() {
            return Err(whole(&format!(
                "step exponents {} and {} outside {}..=0",
                steps.mean,
                steps.start,
                meta::MIN_STEP_LOG2
            )));
        }
        rows_v2(&mut rest, n, sh.columns.get(), steps)?
    };
    if !rest.is_empty() {
        return Err(whole("bytes after the last column"));
    }
    let mut out = Vec::with_capacity(n);
    let mut corrected = Vec::with_capacity(codes.len());
    let (mut next_symbol, mut next_lossless, mut next_level) = (0u64, 0u64, 0u64);
    for (i, r) in rows.into_iter().enumerate() {
        let fail = |d: &str| (Some(i), d.to_string());
        if out.last().is_some_and(|p: &SeriesRecord| p.id >= r.id) {
            return Err(fail("ids not strictly increasing"));
        }
        let (len, count) = (r.len, r.count);
        if len == 0 || len as usize > crate::ingest::MAX_SERIES_LEN {
            return Err(fail("length 0 or above the maximum of 2^28"));
        }
        let Moments { mean, std } = r.moments;
        let first_ok = match r.start {
            Start::Value(v) | Start::Normalized(v) => v.is_finite(),
        };
        if !(first_ok && mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(fail("non-finite first value, mean or std"));
        }
        let (eps, max_abs_err) = (r.eps, r.max_abs_err);
        if eps.is_nan() || eps < 0.0 || max_abs_err.is_nan() || max_abs_err < 0.0 {
            return Err(fail("negative or NaN error"));
        }
        let symbolic = |kind: u8| {
            if (len == 1) != (count == 0) {
                return Err(fail("symbol count does not fit the length"));
            }
            Ok(kind)
        };
        let kind = match r.kind {
            k if k == storage_kind::SYMBOLIC as u32 => symbolic(storage_kind::SYMBOLIC)?,
            k if k == storage_kind::CORRECTED as u32 && version >= 2 => {
                symbolic(storage_kind::CORRECTED)?
            }
            k if k == storage_kind::LOSSLESS as u32 => {
                if count == 0 {
                    return Err(fail("empty lossless stream"));
                }
                storage_kind::LOSSLESS
            }
            k => return Err(fail(&format!("unknown storage kind {k}"))),
        };
        let advance = |cursor: &mut u64, by: u64| {
            let start = *cursor;
            *cursor = start.checked_add(by).ok_or_else(|| fail("count overflows"))?;
            Ok::<u64, Fail>(start)
        };
        let start = if kind == storage_kind::LOSSLESS {
            advance(&mut next_lossless, count)?
        } else {
            advance(&mut next_symbol, count)?
        };
        if kind == storage_kind::CORRECTED {
            let &code = codes
                .get(corrected.len())
                .ok_or_else(|| fail("more corrected rows than CORRECTIONS steps"))?;
            let step = crate::codec::correction::step_of(
                code,
                crate::codec::bound_unit(r.start, r.moments),
            )
            .ok_or_else(|| fail("the correction step is not a finite number > 0"))?;
            let first = advance(&mut next_level, u64::from(len))?;
            corrected.push(Corrected { pos: i, first, code, step });
        }
        if next_lossless > lossless_bytes {
            return Err(fail("lossless bytes out of range"));
        }
        out.push(SeriesRecord {
            id: r.id,
            start,
            count,
            len,
            pieces: r.pieces,
            first: r.start,
            mean,
            std,
            eps,
            max_abs_err,
            label: r.label,
            kind,
        });
    }
    if corrected.len() != codes.len() || corrections.is_some_and(|c| c.levels != next_level) {
        return Err((
            None,
            format!(
                "{} corrected rows of {next_level} values for the {} steps and {} levels in CORRECTIONS",
                corrected.len(),
                codes.len(),
                corrections.map_or(0, |c| c.levels)
            ),
        ));
    }
    Ok((out, corrected))
}

fn column_error(name: &str, n: usize) -> Fail {
    (None, format!("column {name} does not decode to {n} values"))
}

/// §4.3, version 1: eleven columns, f64 first value and moments, f32 bounds.
fn rows_v1(rest: &mut &[u8], n: usize, columns: u32) -> std::result::Result<Vec<Row>, Fail> {
    if columns as usize != SERIES_COLUMNS {
        return Err((None, format!("{columns} columns, expected {SERIES_COLUMNS}")));
    }
    let err = |c: usize| column_error(column::NAMES[c], n);
    let ids: Vec<u64> = columns::read(rest, n).ok_or_else(|| err(column::ID))?;
    let lens: Vec<u32> = columns::read(rest, n).ok_or_else(|| err(column::LEN))?;
    let pieces: Vec<u32> = columns::read(rest, n).ok_or_else(|| err(column::PIECES))?;
    let kinds: Vec<u32> = columns::read(rest, n).ok_or_else(|| err(column::KIND))?;
    let counts: Vec<u64> = columns::read(rest, n).ok_or_else(|| err(column::COUNT))?;
    let labels: Vec<u32> = columns::read(rest, n).ok_or_else(|| err(column::LABEL))?;
    let mut f: Vec<Vec<f64>> = Vec::with_capacity(5);
    for c in column::FIRST..=column::STD {
        f.push(columns::read(rest, n).ok_or_else(|| err(c))?);
    }
    for c in column::EPS..=column::MAX_ABS_ERR {
        let v: Vec<f32> = columns::read(rest, n).ok_or_else(|| err(c))?;
        f.push(v.into_iter().map(f64::from).collect());
    }
    Ok((0..n)
        .map(|i| Row {
            id: ids[i],
            len: lens[i],
            pieces: pieces[i],
            kind: kinds[i],
            count: counts[i],
            label: labels[i],
            start: Start::Value(f[0][i]),
            moments: Moments {
                mean: f[1][i],
                std: f[2][i],
            },
            eps: f[3][i],
            max_abs_err: f[4][i],
        })
        .collect())
}

/// §4.3, version 2: rounded rows (`scale` > 0) derive σ, μ, z₀ and the bounds from levels;
/// exact rows take x₀, μ and σ from the exact columns, in row order.
fn rows_v2(
    rest: &mut &[u8],
    n: usize,
    columns: u32,
    s: meta::Steps,
) -> std::result::Result<Vec<Row>, Fail> {
    use column_v2 as c;
    if columns as usize != SERIES_COLUMNS_V2 {
        return Err((
            None,
            format!("{columns} columns, expected {SERIES_COLUMNS_V2}"),
        ));
    }
    let err = |k: usize| column_error(c::NAMES[k], n);
    let ids: Vec<u64> = columns::read_v2(rest, n).ok_or_else(|| err(c::ID))?;
    let lens: Vec<u32> = columns::read_v2(rest, n).ok_or_else(|| err(c::LEN))?;
    let kinds: Vec<u32> = columns::read_v2(rest, n).ok_or_else(|| err(c::KIND))?;
    let counts: Vec<u64> = columns::read_v2(rest, n).ok_or_else(|| err(c::COUNT))?;
    let labels: Vec<u32> = columns::read_v2(rest, n).ok_or_else(|| err(c::LABEL))?;
    let starts: Vec<i64> = columns::read_v2(rest, n).ok_or_else(|| err(c::START))?;
    let means: Vec<i64> = columns::read_v2(rest, n).ok_or_else(|| err(c::MEAN))?;
    let scales: Vec<u64> = columns::read_v2(rest, n).ok_or_else(|| err(c::SCALE))?;
    let eps: Vec<u64> = columns::read_v2(rest, n).ok_or_else(|| err(c::EPS))?;
    let mx: Vec<u64> = columns::read_v2(rest, n).ok_or_else(|| err(c::MAX_ABS_ERR))?;
    let e = scales.iter().filter(|&&v| v == 0).count();
    let ee = |k: usize| column_error(c::NAMES[k], e);
    let xf: Vec<f64> = columns::read_v2(rest, e).ok_or_else(|| ee(c::EXACT_FIRST))?;
    let xm: Vec<f64> = columns::read_v2(rest, e).ok_or_else(|| ee(c::EXACT_MEAN))?;
    let xs: Vec<f64> = columns::read_v2(rest, e).ok_or_else(|| ee(c::EXACT_STD))?;
    let mut exact = 0usize;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let fail = |d: &str| (Some(i), d.to_string());
        let (start, moments, unit) = if scales[i] == 0 {
            let j = exact;
            exact += 1;
            if starts[i] != 0 || means[i] != 0 {
                return Err(fail("levels on an exact row"));
            }
            let m = Moments {
                mean: xm[j],
                std: xs[j],
            };
            (Start::Value(xf[j]), m, 1.0)
        } else {
            if kinds[i] == storage_kind::LOSSLESS as u32 && starts[i] != 0 {
                return Err(fail("a start level on a lossless series"));
            }
            let levels = meta::Levels {
                start: starts[i],
                mean: means[i],
                scale: scales[i],
            };
            let (m, z0) = levels
                .decode(s)
                .ok_or_else(|| fail("levels outside their range"))?;
            (Start::Normalized(z0), m, m.std)
        };
        let bound = |u: u64| {
            meta::bound_value(u)
                .map(|v| v * unit)
                .filter(|v| v.is_finite())
                .ok_or_else(|| fail("error bound is not a finite number ≥ 0"))
        };
        let kind = kinds[i];
        out.push(Row {
            id: ids[i],
            len: lens[i],
            pieces: if kind != storage_kind::LOSSLESS as u32 {
                u32::try_from(counts[i]).unwrap_or(u32::MAX)
            } else {
                0
            },
            kind,
            count: counts[i],
            label: labels[i],
            start,
            moments,
            eps: bound(eps[i])?,
            max_abs_err: bound(mx[i])?,
        });
    }
    Ok(out)
}

/// Checks each record against the other sections: its label exists, its symbols lie inside one
/// block of the SYMBOLS section. Errors carry the record index.
pub(super) fn check_against(
    records: &[SeriesRecord],
    labels: usize,
    total_symbols: u64,
    blocks: &[BlockRecord],
) -> std::result::Result<(), (Option<usize>, String)> {
    // The starts of symbolic rows only grow (running sums of their counts), so the block of each
    // is found by walking the table once, not by a search per row.
    let mut cursor = 0usize;
    for (i, r) in records.iter().enumerate() {
        let fail = |d: &str| (Some(i), d.to_string());
        if r.label != NO_LABEL && r.label as usize >= labels {
            return Err(fail("label index out of range"));
        }
        if r.kind != storage_kind::LOSSLESS {
            let end = r.start + r.count;
            if end > total_symbols {
                return Err(fail("symbols out of range"));
            }
            if r.count > 0 {
                while blocks.get(cursor).is_some_and(|b| {
                    b.first_symbol.get().saturating_add(b.symbols.get()) <= r.start
                }) {
                    cursor += 1;
                }
                let b = match blocks.get(cursor) {
                    Some(b) if b.first_symbol.get() <= r.start => cursor,
                    _ => block_of(blocks, r.start).ok_or_else(|| fail("symbols in no block"))?,
                };
                let blk = &blocks[b];
                if end > blk.first_symbol.get() + blk.symbols.get() {
                    return Err(fail("symbols span two blocks"));
                }
            }
        }
    }
    Ok(())
}
