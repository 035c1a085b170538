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
