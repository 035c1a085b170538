//! Work over the segments of a database on a few threads of its own.
//!
//! Opening a segment and decoding what search keeps of it both use the rayon pool inside, and the
//! second runs inside a `OnceLock`. Run as rayon jobs, a worker waiting inside one segment's
//! initialisation could steal a concurrent query's job that initialises the same segment, and
//! block on itself. Scoped threads outside the pool do not steal: each segment is made by one
//! thread while the others wait for it.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;

/// `f` of every item, on up to `rayon::current_num_threads()` scoped threads; the results in
/// item order, or the error of the first item (in item order) that failed.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = rayon::current_num_threads().min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return out;
            };
            out.push((i, f(item)));
        }
    };
    let per_thread = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    let mut done = Vec::with_capacity(items.len());
    for r in per_thread {
        // A panic is a defect of this code, not of the files: it goes on as it would have on
        // the calling thread.
        done.extend(r.unwrap_or_else(|p| std::panic::resume_unwind(p)));
    }
    done.sort_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn results_keep_item_order_and_the_first_error_wins() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            map(&items, |&x| Ok(x * 2)).unwrap(),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let err = pool.install(|| {
            map(&items, |&x| {
                if x % 30 == 7 {
                    Err(Error::InvalidRequest(format!("item {x}")))
                } else {
                    Ok(x)
                }
            })
        });
        assert!(matches!(err, Err(Error::InvalidRequest(m)) if m == "item 7"));
        let empty: Vec<u32> = Vec::new();
        assert!(map(&empty, |&x| Ok(x)).unwrap().is_empty());
    }

    #[test]
    #[should_panic(expected = "item 5")]
    fn a_panic_goes_on_in_the_caller() {
        let items: Vec<u32> = (0..20).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let _ = pool.install(|| {
            map(&items, |&x| {
                assert_ne!(x, 5, "item {x}");
                Ok(x)
            })
        });
    }
}
