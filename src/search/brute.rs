//! Brute force over the same representations as the index: every candidate's exact distance,
//! with the same arithmetic as verification, so that distances agree to the bit. The oracle that
//! indexed search must equal.

use super::{Metric, Neighbor, Source, Target};
use crate::codec::Moments;
use crate::distance::{dtw, euclid};

/// Appends every
/// candidate's (squared distance, id) to `all`; [`brute_force_finish`] sorts and cuts.
pub fn brute_force_into(
    source: &impl Source,
    positions: impl Iterator<Item = usize>,
    query: &[f64],
    metric: Metric,
    all: &mut Vec<(f64, u64)>,
) {
    let q = Moments::of(query).normalize(query);
    let mut x = Vec::new();
    for pos in positions {
        source.normalized_into(pos, &mut x);
        if x.len() != q.len() {
            continue;
        }
        let d = match metric {
            // The same arithmetic as verification, so that distances agree to the bit.
            Metric::Euclidean => euclid::distance_sq_bounded(&q, &x, f64::INFINITY).0,
            Metric::Dtw { window } => dtw::distance_sq(&q, &x, window.radius(q.len())),
        };
        all.push((d, source.id(pos)));
    }
}

/// Sorts brute-force candidates by (distance, id) and keeps what `mode` asks for.
pub fn brute_force_finish(mut all: Vec<(f64, u64)>, mode: Target) -> Vec<Neighbor> {
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let keep: Vec<(f64, u64)> = match mode {
        Target::Knn(k) => all.into_iter().take(k).collect(),
        Target::Range(r) => all.into_iter().filter(|(d, _)| d.sqrt() <= r).collect(),
    };
    keep.into_iter()
        .map(|(d, id)| Neighbor {
            id: crate::SeriesId(id),
            distance: d.sqrt(),
        })
        .collect()
}
