//! LZW over symbol strings (Welch 1984), with codes of growing width.
//!
//! Hand-written because the maintained LZW crates work on bytes only, while an alphabet may hold
//! more than 256 symbols.
//!
//! The dictionary starts with the `k` single symbols (codes `0..k`); each emitted code after the
//! first adds the previous string plus the first symbol of the current one, until the dictionary
//! holds [`MAX_CODES`] entries. Code `i` (0-based) is written with `width(max_i)` bits, where
//! `max_0 = k − 1` and `max_i = min(k + i − 1, MAX_CODES − 1)` is the largest code the decoder
//! can meet at that point; codes are bit-packed as in [`super::bitpack`].

use std::collections::HashMap;

use super::bitpack::{BitReader, BitWriter};

/// Dictionary size limit.
pub const MAX_CODES: usize = 1 << 20;

fn width(max_code: usize) -> u32 {
    usize::BITS - max_code.max(1).leading_zeros()
}

fn max_code(k: usize, i: usize) -> usize {
    if i == 0 {
        k.saturating_sub(1)
    } else {
        (k + i - 1).min(MAX_CODES - 1)
    }
}

/// Encodes symbols `< k`; returns the packed codes and their count.
pub fn encode(symbols: &[u32], k: usize) -> (Vec<u8>, usize) {
    let mut w = BitWriter::new();
    let mut dict: HashMap<(u32, u32), u32> = HashMap::new();
    let mut next = k;
    let mut emitted = 0usize;
    let mut iter = symbols.iter();
    let Some(&first) = iter.next() else {
        return (Vec::new(), 0);
    };
    let mut cur = first;
    for &s in iter {
        if let Some(&code) = dict.get(&(cur, s)) {
            cur = code;
            continue;
        }
        w.write(cur, width(max_code(k, emitted)));
        emitted += 1;
        if next < MAX_CODES {
            dict.insert((cur, s), next as u32);
            next += 1;
        }
        cur = s;
    }
    w.write(cur, width(max_code(k, emitted)));
    emitted += 1;
    (w.finish(), emitted)
}

/// Decodes `codes` codes into exactly `count` symbols; `None` on any inconsistency.
pub fn decode(bytes: &[u8], codes: usize, k: usize, count: usize) -> Option<Vec<u32>> {
    if codes > count || (k == 0 && count > 0) {
        return None;
    }
    let mut r = BitReader::new(bytes);
    // Entry `k + j`: (prefix code, last symbol, length); single symbols are implicit.
    let mut entries: Vec<(u32, u32, u32)> = Vec::new();
    let mut out: Vec<u32> = Vec::with_capacity(count);
    let mut prev: Option<u32> = None;
    let mut buf: Vec<u32> = Vec::new();
    for i in 0..codes {
        let code = r.read(width(max_code(k, i)))? as usize;
        let known = k + entries.len();
        let start = out.len();
        if code < known {
            expand(code as u32, k, &entries, &mut buf)?;
            out.extend(buf.iter().rev());
        } else if code == known {
            // The KwKwK case: previous string plus its own first symbol.
            let p = prev?;
            expand(p, k, &entries, &mut buf)?;
            let head = *buf.last()?;
            out.extend(buf.iter().rev());
            out.push(head);
        } else {
            return None;
        }
        if out.len() > count {
            return None;
        }
        if let Some(p) = prev {
            if k + entries.len() < MAX_CODES {
                let plen = if (p as usize) < k {
                    1
                } else {
                    entries[p as usize - k].2
                };
                entries.push((p, out[start], plen + 1));
            }
        }
        prev = Some(code as u32);
    }
    (out.len() == count).then_some(out)
}

/// Writes the string of `code` into `buf`, last symbol first.
fn expand(mut code: u32, k: usize, entries: &[(u32, u32, u32)], buf: &mut Vec<u32>) -> Option<()> {
    buf.clear();
    while code as usize >= k {
        let &(prefix, last, _) = entries.get(code as usize - k)?;
        buf.push(last);
        code = prefix;
    }
    buf.push(code);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_input_shrinks() {
        let s: Vec<u32> = (0..4000).map(|i| (i % 7) as u32).collect();
        let (bytes, codes) = encode(&s, 7);
        assert!(bytes.len() < 4000 * 3 / 8 / 4, "{} bytes", bytes.len());
        assert_eq!(decode(&bytes, codes, 7, s.len()), Some(s));
    }

    #[test]
    fn kwkwk_and_empty() {
        let s = vec![0u32; 10];
        let (b, c) = encode(&s, 1);
        assert_eq!(decode(&b, c, 1, 10), Some(s));
        assert_eq!(encode(&[], 3), (vec![], 0));
        assert_eq!(decode(&[], 0, 3, 0), Some(vec![]));
    }

    proptest! {
        #[test]
        fn round_trip(k in 1usize..600, raw in prop::collection::vec(any::<u32>(), 0..2000)) {
            let s: Vec<u32> = raw.iter().map(|v| v % k as u32).collect();
            let (bytes, codes) = encode(&s, k);
            prop_assert_eq!(decode(&bytes, codes, k, s.len()), Some(s.clone()));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), codes in 0usize..400, k in 0usize..300, count in 0usize..500) {
            let _ = decode(&bytes, codes, k, count);
        }
    }
}
