//! The index tree of one length group: words in interleaved-bit order, cut into leaves of at most
//! [`LEAF_SIZE`] series, leaves grouped into nodes of at most [`FANOUT`] leaves. Every leaf and
//! node keeps, per segment, the smallest and largest 8-bit symbol of its series: the iSAX
//! envelope (as MESSI's nodes, at full cardinality), whose interval lower-bounds the PAA value of
//! every series below it. One bound over an envelope skips the whole group.
//!
//! Leaves and nodes are derived from the stored words when an index is loaded.

/// Series per leaf.
pub const LEAF_SIZE: usize = 64;
/// Leaves per node.
pub const FANOUT: usize = 32;

/// A run of consecutive entries with its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// First entry (series for a leaf, leaf for a node).
    pub start: u32,
    /// One past the last entry.
    pub end: u32,
    /// Per segment, the smallest symbol below.
    pub min: Vec<u8>,
    /// Per segment, the largest symbol below.
    pub max: Vec<u8>,
}

/// Leaves and nodes over `count` words of `w` symbols (`words[i*w..(i+1)*w]`), in index order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// Leaves over entries.
    pub leaves: Vec<Group>,
    /// Nodes over leaves.
    pub nodes: Vec<Group>,
}

/// The smallest and largest symbol per segment over `parts`, each a (min, max) pair of words.
fn envelope<'a>(w: usize, parts: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> (Vec<u8>, Vec<u8>) {
    let mut min = vec![u8::MAX; w];
    let mut max = vec![0u8; w];
    for (lo, hi) in parts {
        for j in 0..w {
            min[j] = min[j].min(lo[j]);
            max[j] = max[j].max(hi[j]);
        }
    }
    (min, max)
}

impl Tree {
    /// Builds leaves and nodes over words already in index order.
    pub fn build(words: &[u8], w: usize) -> Tree {
        let count = words.len().checked_div(w).unwrap_or(0);
        let leaves: Vec<Group> = (0..count)
            .step_by(LEAF_SIZE)
            .map(|s| {
                let e = (s + LEAF_SIZE).min(count);
                let words = (s..e).map(|i| &words[i * w..(i + 1) * w]);
                let (min, max) = envelope(w, words.map(|x| (x, x)));
                Group {
                    start: s as u32,
                    end: e as u32,
                    min,
                    max,
                }
            })
            .collect();
        let nodes = (0..leaves.len())
            .step_by(FANOUT)
            .map(|s| {
                let e = (s + FANOUT).min(leaves.len());
                let (min, max) = envelope(w, leaves[s..e].iter().map(|l| (&l.min[..], &l.max[..])));
                Group {
                    start: s as u32,
                    end: e as u32,
                    min,
                    max,
                }
            })
            .collect();
        Tree { leaves, nodes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_cover_their_entries() {
        let w = 3;
        let words: Vec<u8> = (0..1000u32)
            .flat_map(|i| [(i % 251) as u8, (i * 7 % 256) as u8, 5])
            .collect();
        let t = Tree::build(&words, w);
        assert_eq!(t.leaves.len(), 1000usize.div_ceil(LEAF_SIZE));
        assert_eq!(t.nodes.len(), t.leaves.len().div_ceil(FANOUT));
        for l in &t.leaves {
            for i in l.start..l.end {
                for j in 0..w {
                    let s = words[i as usize * w + j];
                    assert!(l.min[j] <= s && s <= l.max[j]);
                }
            }
        }
        for n in &t.nodes {
            for l in &t.leaves[n.start as usize..n.end as usize] {
                for j in 0..w {
                    assert!(n.min[j] <= l.min[j] && l.max[j] <= n.max[j]);
                }
            }
        }
    }
}
