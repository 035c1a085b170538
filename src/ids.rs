//! The identities a database hands out: [`SeriesId`] for series, [`Generation`] for commits.

use serde::{Deserialize, Serialize};

/// The id of a stored series. Ids are given in order of arrival from 0 and never reused, so an
/// id below the next one to be given was stored once (it may have been deleted since).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SeriesId(pub u64);

impl From<u64> for SeriesId {
    fn from(v: u64) -> Self {
        SeriesId(v)
    }
}

impl From<SeriesId> for u64 {
    fn from(v: SeriesId) -> Self {
        v.0
    }
}

impl PartialEq<u64> for SeriesId {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for SeriesId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Consecutive series ids, `start` up to `end` (excluded): those one build, append or bulk load
/// gives (ids are handed out in order), held as their bounds rather than one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdRange {
    start: u64,
    end: u64,
}

impl IdRange {
    /// The ids `start..end` (empty when `end ≤ start`).
    pub fn new(start: u64, end: u64) -> IdRange {
        IdRange {
            start,
            end: end.max(start),
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The first id.
    pub fn first(&self) -> Option<SeriesId> {
        (!self.is_empty()).then_some(SeriesId(self.start))
    }

    /// The last id.
    pub fn last(&self) -> Option<SeriesId> {
        (!self.is_empty()).then(|| SeriesId(self.end - 1))
    }

    /// True when `id` is one of them.
    pub fn contains(&self, id: SeriesId) -> bool {
        (self.start..self.end).contains(&id.0)
    }

    /// The ids in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SeriesId> + DoubleEndedIterator {
        let start = self.start;
        (0..self.len()).map(move |i| SeriesId(start + i as u64))
    }

    /// These ids followed by `next`, which must start where these end (or either be empty).
    pub fn followed_by(self, next: IdRange) -> Option<IdRange> {
        if self.is_empty() {
            Some(next)
        } else if next.is_empty() {
            Some(self)
        } else {
            (next.start == self.end).then_some(IdRange::new(self.start, next.end))
        }
    }
}

impl IntoIterator for &IdRange {
    type Item = SeriesId;
    type IntoIter = Box<dyn Iterator<Item = SeriesId>>;
    fn into_iter(self) -> Self::IntoIter {
        let r = *self;
        Box::new((r.start..r.end).map(SeriesId))
    }
}

/// The number of a commit: every change to a database commits a MANIFEST of the next
/// generation (FORMAT.md §9); a [`crate::Snapshot`] sees exactly one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Generation(pub u64);

impl PartialEq<u64> for Generation {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges_are_their_ids() {
        let r = IdRange::new(5, 9);
        let v: Vec<u64> = r.iter().map(|i| i.0).collect();
        assert_eq!(v, vec![5, 6, 7, 8]);
        assert_eq!(
            (&r).into_iter().collect::<Vec<_>>(),
            r.iter().collect::<Vec<_>>()
        );
        assert_eq!(
            (r.len(), r.first(), r.last()),
            (4, Some(SeriesId(5)), Some(SeriesId(8)))
        );
        assert!(r.contains(SeriesId(8)) && !r.contains(SeriesId(9)) && !r.contains(SeriesId(4)));
        let e = IdRange::new(3, 1);
        assert!(
            e.is_empty() && e.first().is_none() && e.last().is_none() && e.iter().next().is_none()
        );
        assert_eq!(
            r.followed_by(IdRange::new(9, 12)),
            Some(IdRange::new(5, 12))
        );
        assert_eq!(r.followed_by(IdRange::new(10, 12)), None);
        assert_eq!(IdRange::default().followed_by(r), Some(r));
        assert_eq!(r.followed_by(IdRange::default()), Some(r));
    }
}
