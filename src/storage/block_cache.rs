//! The bounded cache of decoded blocks: what `get` and search over the originals decode from a
//! segment (symbol blocks, residual blocks, raw blocks) is kept here up to a byte budget for the
//! whole database, least recently used first out, instead of for the life of the segment.
//!
//! Entries are keyed by the segment (a number given to each opened segment file), the kind of
//! block and its number, and shared as `Arc`s: a block in use stays valid after it is evicted.
//! The cache is split into shards by key, each with its share of the budget and its own lock,
//! so that the threads of a search, which look up a block for every candidate they verify, seldom
//! wait for each other. A block larger than its shard's share is decoded and returned without
//! being kept.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::error::Result;
use crate::storage::segment::reader::BlockSymbols;

/// The budget a database opens with: 256 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// Which section a block comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BlockKind {
    /// SYMBOLS (§4.5).
    Symbols,
    /// RESIDUALS (§4.10).
    Residuals,
    /// RAW (§4.9).
    Raw,
    /// The level column of CORRECTIONS (§4.12), as block 0.
    Corrections,
}

/// A decoded block.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// A symbol block.
    Symbols(Arc<BlockSymbols>),
    /// Levels of a residual block.
    Levels(Arc<Vec<i64>>),
    /// Values of a raw block.
    Values(Arc<Vec<f64>>),
}

impl Block {
    fn bytes(&self) -> usize {
        match self {
            Block::Symbols(s) => s.heap_bytes() + 64,
            Block::Levels(l) => 8 * l.len() + 64,
            Block::Values(v) => 8 * v.len() + 64,
        }
    }
}

type Key = (u64, BlockKind, usize);

/// A byte-bounded LRU cache of decoded blocks, shared by every segment of a database.
#[derive(Debug)]
pub struct BlockCache {
    budget: AtomicUsize,
    shards: Box<[Mutex<Inner>]>,
}

/// Shards of a cache made by [`BlockCache::new`].
const SHARDS: usize = 8;

#[derive(Debug)]
struct Inner {
    map: LruCache<Key, Block>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

static NEXT_SEGMENT: AtomicU64 = AtomicU64::new(1);

/// A number for a newly opened segment, unique in the process (the cache's key).
pub(crate) fn segment_key() -> u64 {
    NEXT_SEGMENT.fetch_add(1, Ordering::Relaxed)
}

impl BlockCache {
    /// An empty cache that keeps up to `budget` bytes of decoded blocks.
    pub fn new(budget: usize) -> BlockCache {
        Self::with_shards(budget, SHARDS)
    }

    /// An empty cache of `shards` shards (at least one), each keeping up to its share of
    /// `budget`, least recently used first out.
    pub(crate) fn with_shards(budget: usize, shards: usize) -> BlockCache {
        BlockCache {
            budget: AtomicUsize::new(budget),
            shards: (0..shards.max(1))
                .map(|_| {
                    Mutex::new(Inner {
                        map: LruCache::unbounded(),
                        bytes: 0,
                        hits: 0,
                        misses: 0,
                    })
                })
                .collect(),
        }
    }

    fn lock(shard: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shard of `key`: consecutive blocks of a segment go to different shards.
    fn shard(&self, key: &Key) -> &Mutex<Inner> {
        let h = key
            .0
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((key.2 as u64).wrapping_add(key.1 as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
        &self.shards[(h >> 40) as usize % self.shards.len()]
    }

    /// Each shard's share of the budget.
    fn share(&self) -> usize {
        self.budget() / self.shards.len()
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// Sets the budget, evicting what no longer fits.
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::Relaxed);
        let share = self.share();
        for shard in self.shards.iter() {
            Self::evict(&mut Self::lock(shard), share);
        }
    }

    /// Bytes of the blocks kept now.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| Self::lock(s).bytes).sum()
    }

    /// (hits, misses) so far.
    pub fn counts(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(h, m), s| {
            let g = Self::lock(s);
            (h + g.hits, m + g.misses)
        })
    }

    fn evict(g: &mut Inner, budget: usize) {
        while g.bytes > budget {
            match g.map.pop_lru() {
                Some((_, b)) => g.bytes -= b.bytes(),
                None => break,
            }
        }
    }

    /// The block `(segment, kind, number)`, decoded by `decode` when it is not kept. Decoding
    /// runs outside the lock (two threads may decode the same block at once; one copy is kept).
    pub(crate) fn get_or(
        &self,
        key: (u64, BlockKind, usize),
        decode: impl FnOnce() -> Result<Block>,
    ) -> Result<Block> {
        let shard = self.shard(&key);
        {
            let mut g = Self::lock(shard);
            if let Some(b) = g.map.get(&key).cloned() {
                g.hits += 1;
                return Ok(b);
            }
            g.misses += 1;
        }
        let block = decode()?;
        let share = self.share();
        let size = block.bytes();
        if size <= share {
            let mut g = Self::lock(shard);
            if let Some(old) = g.map.put(key, block.clone()) {
                g.bytes -= old.bytes();
            }
            g.bytes += size;
            Self::evict(&mut g, share);
        }
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Result<Block> {
        Ok(Block::Values(Arc::new(vec![1.0; n])))
    }

    #[test]
    fn keeps_within_the_budget_least_recently_used_out() {
        // Blocks of 8·100 + 64 = 864 bytes; three fit in 2,600 (one shard).
        let c = BlockCache::with_shards(2600, 1);
        for b in 0..3 {
            c.get_or((1, BlockKind::Raw, b), || values(100)).unwrap();
        }
        assert_eq!(c.bytes(), 3 * 864);
        // Touch block 0, then add a fourth: block 1, the least recently used, goes.
        c.get_or((1, BlockKind::Raw, 0), || panic!("kept")).unwrap();
        c.get_or((1, BlockKind::Raw, 3), || values(100)).unwrap();
        assert!(c.bytes() <= 2600);
        let mut decoded = false;
        c.get_or((1, BlockKind::Raw, 1), || {
            decoded = true;
            values(100)
        })
        .unwrap();
        assert!(decoded, "block 1 was evicted");
        c.get_or((1, BlockKind::Raw, 0), || panic!("block 0 was kept"))
            .unwrap();
        // A block over the budget is returned, not kept.
        let big = c.get_or((2, BlockKind::Raw, 0), || values(1000)).unwrap();
        assert!(matches!(big, Block::Values(v) if v.len() == 1000));
        assert!(c.bytes() <= 2600);
        c.set_budget(0);
        assert_eq!(c.bytes(), 0);
        c.get_or((3, BlockKind::Raw, 0), || values(1)).unwrap();
        assert_eq!(c.bytes(), 0);
        let (hits, misses) = c.counts();
        assert_eq!((hits, misses), (2, 7));
    }

    #[test]
    fn decode_errors_are_returned_and_nothing_is_kept() {
        let c = BlockCache::new(1 << 20);
        let r = c.get_or((1, BlockKind::Symbols, 0), || {
            Err(crate::Error::InvalidRequest("bad block".into()))
        });
        assert!(r.is_err());
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn shards_share_the_budget() {
        // 8 shards of 10,000 bytes: blocks of 864 bytes, 11 fit in each.
        let c = BlockCache::new(80_000);
        for b in 0..1000 {
            c.get_or((7, BlockKind::Raw, b), || values(100)).unwrap();
            assert!(c.bytes() <= 80_000);
        }
        // Every shard is used, and holds at most its share.
        assert!(c.bytes() >= 8 * 11 * 864 - 8 * 864, "{}", c.bytes());
        let (hits, misses) = c.counts();
        assert_eq!((hits, misses), (0, 1000));
        // The most recent block of each shard is kept.
        c.get_or((7, BlockKind::Raw, 999), || panic!("kept")).unwrap();
        assert_eq!(c.counts(), (1, 1000));
        c.set_budget(8 * 864);
        assert!(c.bytes() <= 8 * 864);
    }
}
