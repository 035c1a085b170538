//! The SERIES section (FORMAT.md §4.3): one record per series, stored as pco column streams.

use zerocopy::FromBytes;

use super::columns;
use super::layout::*;
use super::symbols::block_of;

/// Decodes the column streams of the SERIES section (§4.3) and checks each record on its own.
/// Errors carry the record index when one record is at fault.
pub(super) fn parse(
    sec: &[u8],
    lossless_bytes: u64,
) -> std::result::Result<Vec<SeriesRecord>, (Option<usize>, String)> {
    let whole = |d: &str| (None, d.to_string());
    let (sh, mut rest) =
        SeriesHeader::read_from_prefix(sec).map_err(|_| whole("shorter than its header"))?;
    let count = sh.count.get();
    if count > MAX_SERIES {
        return Err(whole(&format!(
            "{count} series is more than the limit of {MAX_SERIES}"
        )));
    }
    if sh.reserved.get() != 0 {
        return Err(whole("reserved bytes are not zero"));
    }
    if sh.columns.get() as usize != SERIES_COLUMNS {
        return Err(whole(&format!(
            "{} columns, expected {SERIES_COLUMNS}",
            sh.columns.get()
        )));
    }
    let n = count as usize;
    let col_err = |c: usize| {
        (
            None,
            format!("column {} does not decode to {n} values", column::NAMES[c]),
        )
    };
    let ids: Vec<u64> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::ID))?;
    let lens: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::LEN))?;
    let pieces: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::PIECES))?;
    let kinds: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::KIND))?;
    let counts: Vec<u64> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::COUNT))?;
    let labels: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::LABEL))?;
    let mut f: Vec<Vec<f64>> = Vec::with_capacity(5);
    for c in column::FIRST..=column::STD {
        f.push(columns::read(&mut rest, n).ok_or_else(|| col_err(c))?);
    }
    for c in column::EPS..=column::MAX_ABS_ERR {
        let v: Vec<f32> = columns::read(&mut rest, n).ok_or_else(|| col_err(c))?;
        f.push(v.into_iter().map(f64::from).collect());
    }
    if !rest.is_empty() {
        return Err(whole("bytes after the last column"));
    }
    let mut out = Vec::with_capacity(n);
    let (mut next_symbol, mut next_lossless) = (0u64, 0u64);
    for i in 0..n {
        let fail = |d: &str| (Some(i), d.to_string());
        if i > 0 && ids[i - 1] >= ids[i] {
            return Err(fail("ids not strictly increasing"));
        }
        let (len, count) = (lens[i], counts[i]);
        if len == 0 || len as usize > crate::ingest::MAX_SERIES_LEN {
            return Err(fail("length 0 or above the maximum of 2^28"));
        }
        let (first, mean, std, eps, max_abs_err) = (f[0][i], f[1][i], f[2][i], f[3][i], f[4][i]);
        if !(first.is_finite() && mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(fail("non-finite first value, mean or std"));
        }
        if eps.is_nan() || eps < 0.0 || max_abs_err.is_nan() || max_abs_err < 0.0 {
            return Err(fail("negative or NaN error"));
        }
        let kind = match kinds[i] {
            k if k == storage_kind::SYMBOLIC as u32 => {
                if (len == 1) != (count == 0) {
                    return Err(fail("symbol count does not fit the length"));
                }
                storage_kind::SYMBOLIC
            }
            k if k == storage_kind::LOSSLESS as u32 => {
                if count == 0 {
                    return Err(fail("empty lossless stream"));
                }
                storage_kind::LOSSLESS
            }
            k => return Err(fail(&format!("unknown storage kind {k}"))),
        };
        let cursor = if kind == storage_kind::SYMBOLIC {
            &mut next_symbol
        } else {
            &mut next_lossless
        };
        let start = *cursor;
        *cursor = start
            .checked_add(count)
            .ok_or_else(|| fail("count overflows"))?;
        if kind == storage_kind::LOSSLESS && *cursor > lossless_bytes {
            return Err(fail("lossless bytes out of range"));
        }
        out.push(SeriesRecord {
            id: ids[i],
            start,
            count,
            len,
            pieces: pieces[i],
            first,
            mean,
            std,
            eps,
            max_abs_err,
            label: labels[i],
            kind,
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
    for (i, r) in records.iter().enumerate() {
        let fail = |d: &str| (Some(i), d.to_string());
        if r.label != NO_LABEL && r.label as usize >= labels {
            return Err(fail("label index out of range"));
        }
        if r.kind == storage_kind::SYMBOLIC {
            let end = r.start + r.count;
            if end > total_symbols {
                return Err(fail("symbols out of range"));
            }
            if r.count > 0 {
                let b = block_of(blocks, r.start).ok_or_else(|| fail("symbols in no block"))?;
                let blk = &blocks[b];
                if end > blk.first_symbol.get() + blk.symbols.get() {
                    return Err(fail("symbols span two blocks"));
                }
            }
        }
    }
    Ok(())
}
