//! The k best candidates so far, ordered by (squared distance, id).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    dist_sq: f64,
    id: u64,
}

impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist_sq
            .total_cmp(&other.dist_sq)
            .then(self.id.cmp(&other.id))
    }
}

/// A bounded max-heap of the best `k` (squared distance, id) pairs; ties go to the smaller id.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    /// Keeps the best `k`.
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// The squared distance a candidate must not exceed to enter: the k-th best once full, else ∞.
    /// A candidate *equal* to it may still enter with a smaller id, so prune only on `>`.
    pub fn threshold(&self) -> f64 {
        if self.k == 0 {
            return f64::NEG_INFINITY;
        }
        if self.heap.len() < self.k {
            f64::INFINITY
        } else {
            self.heap.peek().map_or(f64::INFINITY, |e| e.dist_sq)
        }
    }

    /// Offers a candidate.
    pub fn push(&mut self, dist_sq: f64, id: u64) {
        if self.k == 0 {
            return;
        }
        let e = Entry { dist_sq, id };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if self.heap.peek().is_some_and(|w| e < *w) {
            self.heap.pop();
            self.heap.push(e);
        }
    }

    /// The kept pairs, best first.
    pub fn into_sorted(self) -> Vec<(f64, u64)> {
        let mut v: Vec<Entry> = self.heap.into_vec();
        v.sort();
        v.into_iter().map(|e| (e.dist_sq, e.id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_with_ties_by_id() {
        let mut t = TopK::new(3);
        assert_eq!(t.threshold(), f64::INFINITY);
        for (d, id) in [(5.0, 1), (1.0, 9), (3.0, 4), (3.0, 2), (0.5, 7), (3.0, 3)] {
            t.push(d, id);
        }
        assert_eq!(t.threshold(), 3.0);
        assert_eq!(t.into_sorted(), vec![(0.5, 7), (1.0, 9), (3.0, 2)]);
        let mut z = TopK::new(0);
        z.push(1.0, 1);
        assert!(z.into_sorted().is_empty());
    }
}
