//! The CORRECTIONS section (FORMAT.md §4.12): for the corrected series (kind 2 in SERIES), in
//! row order, the stored step of each and the levels of all, as two column streams
//! ([`crate::codec::correction`]).

use zerocopy::FromBytes;

use super::columns;
use super::layout::CorrectionsHeader;
use super::SectionResult;

/// The section's head and step column, checked; the level column is decoded when used.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Corrections {
    /// The step code of each corrected series, in row order (§4.12).
    pub codes: Vec<u64>,
    /// Number of levels.
    pub levels: u64,
    /// Where the level column stream starts, from the start of the section.
    pub levels_at: usize,
}

/// Parses the head and the step column; the rest of the section must be the level column's
/// stream (its length field matches; its body is decoded by [`levels`]).
pub(super) fn parse(sec: &[u8]) -> SectionResult<Corrections> {
    let (head, mut rest) = CorrectionsHeader::read_from_prefix(sec)
        .map_err(|_| (0, "shorter than its header".to_string()))?;
    if head.reserved.get() != 0 {
        return Err((4, "reserved bytes are not zero".into()));
    }
    let rows = head.rows.get() as usize;
    let codes: Vec<u64> = columns::read_v2(&mut rest, rows)
        .ok_or_else(|| (16, format!("the step column does not decode to {rows} values")))?;
    let levels_at = sec.len() - rest.len();
    let stream = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| (levels_at as u64, "no level column".to_string()))?;
    if rest.len() != 8 + stream as usize {
        return Err((
            levels_at as u64,
            "the level column does not end the section".to_string(),
        ));
    }
    Ok(Corrections {
        codes,
        levels: head.levels.get(),
        levels_at,
    })
}

/// Decodes the level column (`column`: the section from [`Corrections::levels_at`]) to `n`
/// levels; `None` when it does not.
pub(super) fn levels(mut column: &[u8], n: u64) -> Option<Vec<i64>> {
    let n = usize::try_from(n).ok()?;
    let v = columns::read_v2(&mut column, n)?;
    column.is_empty().then_some(v)
}

/// The section for `codes` and the concatenated `levels` of the corrected series.
pub(super) fn serialize(codes: &[u64], levels: &[i64]) -> crate::Result<Vec<u8>> {
    use zerocopy::IntoBytes;
    let rows = u32::try_from(codes.len())
        .map_err(|_| crate::Error::InvalidRequest("too many corrected series".into()))?;
    let mut b = CorrectionsHeader {
        rows: rows.into(),
        reserved: 0.into(),
        levels: (levels.len() as u64).into(),
    }
    .as_bytes()
    .to_vec();
    columns::write_v2(&mut b, codes)?;
    columns::write_v2(&mut b, levels)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_bad_ones_are_refused() {
        let levels: Vec<i64> = (0..500).map(|i| [0, 0, 0, -1, 1, 0, 2][i % 7]).collect();
        let sec = serialize(&[7 << 40, 9 << 40], &levels).unwrap();
        let c = parse(&sec).unwrap();
        assert_eq!((c.codes.clone(), c.levels), (vec![7 << 40, 9 << 40], 500));
        assert_eq!(super::levels(&sec[c.levels_at..], c.levels), Some(levels.clone()));
        assert_eq!(super::levels(&sec[c.levels_at..], 499), None);
        let empty = serialize(&[], &[]).unwrap();
        assert_eq!(parse(&empty).unwrap().codes, Vec::<u64>::new());
        // Truncated anywhere, or with a byte more, or with reserved bytes set: refused.
        for cut in [0, 4, 15, 16, 20, sec.len() - 1] {
            let p = parse(&sec[..cut]);
            let refused = p.is_err() || super::levels(&sec[c.levels_at..cut.max(c.levels_at)], 500).is_none();
            assert!(refused, "cut at {cut}");
        }
        let mut longer = sec.clone();
        longer.push(0);
        assert!(parse(&longer).is_err());
        let mut reserved = sec.clone();
        reserved[5] = 1;
        assert!(parse(&reserved).is_err());
    }
}
