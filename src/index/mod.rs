//! The index: normalised reconstructions → SAX words in an iSAX envelope tree, per series length.
//!
//! Input: for every stored series its z-normalised reconstruction (what similarity search
//! compares, see [`crate::search`]). Output: an [`Index`] with one [`LengthGroup`] per distinct
//! series length; each group holds its series' 8-bit SAX words in interleaved-bit order
//! ([`sax`]) and the leaves and nodes over them ([`tree`]). Queries bound groups and words through
//! [`mindist`] lookup tables.
//!
//! Building costs one PAA per series (O(n)), a KDE on a sample of PAA values (edwSAX), and one sort
//! of the words per group.

pub mod breakpoints;
pub mod mindist;
pub mod normal;
pub mod paa;
pub mod sax;
pub mod tree;

use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;

pub use breakpoints::{BreakpointKind, Breakpoints};
use tree::Tree;

/// Which breakpoints to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BreakpointChoice {
    /// Classic SAX (N(0,1) quantiles).
    Gaussian,
    /// edwSAX (KDE of the data's PAA values).
    Kde,
    /// Measure the tightness of both on a sample and keep the tighter.
    #[default]
    Auto,
}

/// Index parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexParams {
    /// PAA segments (capped at each series' length).
    pub word_len: usize,
    /// Breakpoints.
    pub breakpoints: BreakpointChoice,
}

/// The longest SAX word an index holds (PAA segments per series).
pub const MAX_WORD_LEN: usize = 1024;

impl IndexParams {
    /// Checks the parameters: `word_len` in `1..=1024` (`MAX_WORD_LEN`).
    pub fn validate(&self) -> crate::Result<()> {
        if !(1..=MAX_WORD_LEN).contains(&self.word_len) {
            return Err(crate::Error::InvalidOptions(format!(
                "word length must be in 1..={MAX_WORD_LEN}, got {}",
                self.word_len
            )));
        }
        Ok(())
    }
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            word_len: 16,
            breakpoints: BreakpointChoice::Auto,
        }
    }
}

/// The series of one length.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthGroup {
    /// Series length n.
    pub len: usize,
    /// Word length w (≤ n).
    pub w: usize,
    /// Segment lengths ℓ_j.
    pub seg_len: Vec<f64>,
    /// Positions (in the segment's series table) in index order.
    pub members: Vec<u32>,
    /// Words in index order, `w` bytes each.
    pub words: Vec<u8>,
    /// Leaves and nodes.
    pub tree: Tree,
}

impl LengthGroup {
    /// Builds a group from members and their words (any order); sorts them into index order.
    pub fn new(len: usize, w: usize, members: Vec<u32>, words: Vec<u8>) -> LengthGroup {
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| {
            sax::cmp_interleaved(&words[a * w..(a + 1) * w], &words[b * w..(b + 1) * w])
                .then(members[a].cmp(&members[b]))
        });
        let members: Vec<u32> = order.iter().map(|&i| members[i]).collect();
        let words: Vec<u8> = order
            .iter()
            .flat_map(|&i| words[i * w..(i + 1) * w].iter().copied())
            .collect();
        Self::from_sorted(len, w, members, words)
    }

    /// A group whose members and words are already in index order (as stored).
    pub fn from_sorted(len: usize, w: usize, members: Vec<u32>, words: Vec<u8>) -> LengthGroup {
        let tree = Tree::build(&words, w);
        LengthGroup {
            len,
            w,
            seg_len: paa::seg_lens(len, w),
            members,
            words,
            tree,
        }
    }

    /// The word of the entry at index position `i`.
    pub fn word(&self, i: usize) -> &[u8] {
        &self.words[i * self.w..(i + 1) * self.w]
    }
}

/// The whole index of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// Configured word length.
    pub word_len: usize,
    /// Breakpoints shared by all groups.
    pub breakpoints: Breakpoints,
    /// One group per distinct length, ascending.
    pub groups: Vec<LengthGroup>,
}

/// Most PAA values fed to the KDE.
const KDE_SAMPLE: usize = 50_000;
/// Series sampled to compare breakpoint kinds.
const TLB_SAMPLE: usize = 200;

impl Index {
    /// Builds the index over `count` series: `len(i)` is the length of series `i` and
    /// `normalized(i)` its normalised reconstruction. With `fixed`, those breakpoints are used
    /// (segments appended to a database share its breakpoints); otherwise `params` chooses.
    pub fn build(
        count: usize,
        len: impl Fn(usize) -> usize + Sync,
        normalized: impl Fn(usize) -> Vec<f64> + Sync,
        params: IndexParams,
        fixed: Option<Breakpoints>,
    ) -> Index {
        let word_len = params.word_len.max(1);
        let paas = Paas::compute(count, &len, &normalized, word_len);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x51AB_BADB);
        let kde = || {
            let all = &paas.values;
            let values: Vec<f64> = if all.len() > KDE_SAMPLE {
                let mut idx = sample(&mut rng.clone(), all.len(), KDE_SAMPLE).into_vec();
                idx.sort_unstable();
                idx.iter().map(|&i| all[i]).collect()
            } else {
                all.clone()
            };
            Breakpoints::kde(&values)
        };
        let breakpoints = match (fixed, params.breakpoints) {
            (Some(b), _) => b,
            (None, BreakpointChoice::Gaussian) => Breakpoints::gaussian(),
            (None, BreakpointChoice::Kde) => kde(),
            (None, BreakpointChoice::Auto) => {
                let k = kde();
                let g = Breakpoints::gaussian();
                let t = mean_tlb(count, &len, &normalized, &paas, [&k, &g], &mut rng);
                if t[0] >= t[1] {
                    k
                } else {
                    g
                }
            }
        };
        let mut by_len: std::collections::BTreeMap<usize, (Vec<u32>, Vec<u8>)> = Default::default();
        for i in 0..count {
            let p = paas.of(i);
            let e = by_len.entry(len(i)).or_default();
            e.0.push(i as u32);
            e.1.extend(p.iter().map(|&v| breakpoints.symbol(v)));
        }
        let groups = by_len
            .into_iter()
            .map(|(n, (members, words))| {
                LengthGroup::new(n, paa::word_len_for(n, word_len), members, words)
            })
            .collect();
        Index {
            word_len,
            breakpoints,
            groups,
        }
    }

    /// The group of series of length `n`.
    pub fn group(&self, n: usize) -> Option<&LengthGroup> {
        self.groups
            .binary_search_by_key(&n, |g| g.len)
            .ok()
            .map(|i| &self.groups[i])
    }
}

/// The PAA of every series' normalised reconstruction, one after the other in one vector (no
/// allocation per series: a segment of a million series holds 128 MB of them at 16 segments).
struct Paas {
    values: Vec<f64>,
    /// Where each series' PAA starts in `values`, and the end.
    start: Vec<usize>,
}

impl Paas {
    /// The PAAs of `count` series at word length `word_len` (capped at each length), computed
    /// in parallel a few thousand series at a time.
    fn compute(
        count: usize,
        len: &(impl Fn(usize) -> usize + Sync),
        normalized: &(impl Fn(usize) -> Vec<f64> + Sync),
        word_len: usize,
    ) -> Paas {
        let mut start = Vec::with_capacity(count + 1);
        let mut at = 0usize;
        for i in 0..count {
            start.push(at);
            at += paa::word_len_for(len(i), word_len);
        }
        start.push(at);
        let mut values = vec![0.0; at];
        let mut rest = &mut values[..];
        let mut pieces: Vec<(usize, &mut [f64])> = Vec::with_capacity(count);
        for i in 0..count {
            let (head, tail) = rest.split_at_mut(start[i + 1] - start[i]);
            pieces.push((i, head));
            rest = tail;
        }
        pieces.par_iter_mut().with_min_len(256).for_each(|(i, out)| {
            out.copy_from_slice(&paa::paa(&normalized(*i), out.len()));
        });
        Paas { values, start }
    }

    /// The PAA of series `i`.
    fn of(&self, i: usize) -> &[f64] {
        &self.values[self.start[i]..self.start[i + 1]]
    }
}

/// Mean tightness `bound/ED` over sampled pairs of one length, averaged over 4, 16 and 256
/// symbols, for each of the breakpoint sets `bps` (over the same pairs: each pair's distance and
/// each word is computed once).
fn mean_tlb<const K: usize>(
    count: usize,
    len: &(impl Fn(usize) -> usize + Sync),
    normalized: &(impl Fn(usize) -> Vec<f64> + Sync),
    paas: &Paas,
    bps: [&Breakpoints; K],
    rng: &mut rand_chacha::ChaCha8Rng,
) -> [f64; K] {
    if count < 2 {
        return [0.0; K];
    }
    let picks: Vec<usize> = sample(rng, count, count.min(TLB_SAMPLE)).into_vec();
    let series: Vec<Vec<f64>> = picks.iter().map(|&i| normalized(i)).collect();
    let words: Vec<Vec<Vec<u8>>> = bps
        .iter()
        .map(|bp| {
            picks
                .iter()
                .map(|&i| paas.of(i).iter().map(|&v| bp.symbol(v)).collect())
                .collect()
        })
        .collect();
    let mut sum = [0.0; K];
    let mut pairs = 0usize;
    for a in 0..picks.len() {
        for b in (a + 1)..picks.len().min(a + 10) {
            let (ia, ib) = (picks[a], picks[b]);
            if len(ia) != len(ib) {
                continue;
            }
            let ed = crate::distance::euclid::distance_sq(&series[a], &series[b]).sqrt();
            if ed <= 0.0 {
                continue;
            }
            let sl = paa::seg_lens(len(ia), paas.of(ia).len());
            for (k, bp) in bps.iter().enumerate() {
                for bits in [2, 4, 8] {
                    sum[k] += mindist::word_tlb(paas.of(ia), &words[k][b], &sl, ed, bits, bp);
                }
            }
            pairs += 3;
        }
    }
    if pairs == 0 {
        [0.0; K]
    } else {
        sum.map(|s| s / pairs as f64)
    }
}
