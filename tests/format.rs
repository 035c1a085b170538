//! The file format, checked by a reader written from `format-spec/FORMAT.md` alone: it shares
//! no code with the library's reader and must decode every series exactly as `Database::get`.

use qabbadb::ingest::{self, Dataset};
use qabbadb::{Database, Options};

use crate::util::{segment_file, ucr};

/// CRC-32/ISO-HDLC, bit by bit (§1).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Reads `bits`-wide values LSB first (§1).
struct Bits<'a> {
    b: &'a [u8],
    pos: usize,
}
impl Bits<'_> {
    fn take(&mut self, bits: u32) -> u64 {
        let mut v = 0u64;
        for i in 0..bits {
            let bit = (self.b[self.pos / 8] >> (self.pos % 8)) & 1;
            v |= (bit as u64) << i;
            self.pos += 1;
        }
        v
    }
}

/// LZW as §4.5 codec 2 describes it.
fn lzw_decode(payload: &[u8], codes: usize, k: usize) -> Vec<u32> {
    let width = |m: usize| usize::BITS - m.max(1).leading_zeros();
    let mut r = Bits { b: payload, pos: 0 };
    let mut dict: Vec<Vec<u32>> = (0..k as u32).map(|s| vec![s]).collect();
    let mut out = Vec::new();
    let mut prev: Option<Vec<u32>> = None;
    for i in 0..codes {
        let m = if i == 0 {
            k - 1
        } else {
            (k + i - 1).min((1 << 20) - 1)
        };
        let code = r.take(width(m)) as usize;
        let cur = if code < dict.len() {
            dict[code].clone()
        } else {
            let p = prev.clone().unwrap();
            let mut s = p.clone();
            s.push(p[0]);
            s
        };
        if let Some(p) = prev {
            if dict.len() < 1 << 20 {
                let mut e = p;
                e.push(cur[0]);
                dict.push(e);
            }
        }
        out.extend_from_slice(&cur);
        prev = Some(cur);
    }
    out
}

/// A label and the decoded values.
type LabelledSeries = (Option<String>, Vec<f64>);

/// Decodes a whole file per FORMAT.md; returns (label, values) per series and the codecs used.
fn spec_read(b: &[u8]) -> (Vec<LabelledSeries>, [usize; 4]) {
    // §2 header
    assert_eq!(
        &b[0..8],
        &[0x89, b'Q', b'S', b'E', b'G', b'\r', b'\n', 0x1a]
    );
    let version = u32_at(b, 8);
    assert!(version == 1 || version == 2, "version {version}");
    assert_eq!(u32_at(b, 12), 64);
    assert_eq!(u64_at(b, 16), b.len() as u64);
    assert_eq!(crc32(&b[0..60]), u32_at(b, 60));
    assert!(b[40..60].iter().all(|&x| x == 0));
    let (toc_at, entries) = (u64_at(b, 24) as usize, u32_at(b, 32) as usize);
    assert_eq!(toc_at + 32 * entries, b.len());
    assert_eq!(crc32(&b[toc_at..]), u32_at(b, 36));
    // §3 TOC
    let mut sec: std::collections::HashMap<u32, &[u8]> = Default::default();
    for e in 0..entries {
        let at = toc_at + 32 * e;
        let (kind, off, len) = (
            u32_at(b, at),
            u64_at(b, at + 8) as usize,
            u64_at(b, at + 16) as usize,
        );
        assert_eq!(off % 8, 0);
        // Version 2: SYMBOLS (5) checksums its head and 48-byte block records, RAW (9) and
        // RESIDUALS (10) theirs of 24 bytes; each payload has its own CRC in its record.
        let covered = match kind {
            5 if version == 2 => 16 + 48 * u32_at(b, off + 8) as usize,
            9 | 10 if version == 2 => 16 + 24 * u32_at(b, off + 4) as usize,
            _ => len,
        };
        assert_eq!(crc32(&b[off..off + covered]), u32_at(b, at + 24));
        sec.insert(kind, &b[off..off + len]);
    }
    // §4.2 CODEBOOK
    let cb = sec[&2];
    let k = u32_at(cb, 0) as usize;
    let (bl, bi) = (cb[4] as u32, cb[5] as u32);
    let (ls, lz, is, iz) = (
        f64_at(cb, 8),
        f64_at(cb, 16),
        f64_at(cb, 24),
        f64_at(cb, 32),
    );
    let mut r = Bits {
        b: &cb[64..],
        pos: 0,
    };
    let mut q_inc = Vec::with_capacity(k);
    let centres: Vec<(f64, f64)> = (0..k)
        .map(|_| {
            // stored u = q + 2^(b−1); centre = (q + 2^(b−1))·scale + zero = u·scale + zero
            let ul = r.take(bl) as f64;
            let ui = r.take(bi);
            q_inc.push(ui as i64 - (1i64 << (bi - 1)));
            (ul * ls + lz, ui as f64 * is + iz)
        })
        .collect();
    assert_eq!(cb.len(), 64 + (k * (bl + bi) as usize).div_ceil(8));
    // §4.4 LABELS
    let labels: Vec<String> = match sec.get(&4) {
        None => vec![],
        Some(l) => {
            let n = u32_at(l, 0) as usize;
            let text = &l[8 + 8 * (n + 1)..];
            (0..n)
                .map(|i| {
                    let (a, z) = (
                        u64_at(l, 8 + 8 * i) as usize,
                        u64_at(l, 16 + 8 * i) as usize,
                    );
                    String::from_utf8(text[a..z].to_vec()).unwrap()
                })
                .collect()
        }
    };
    // §4.5 SYMBOLS
    let sy = sec[&5];
    let (total, blocks, w) = (
        u64_at(sy, 0) as usize,
        u32_at(sy, 8) as usize,
        u32_at(sy, 12),
    );
    let mut symbols = Vec::with_capacity(total);
    let mut codecs = [0usize; 4];
    // §4.11 SYMBOL_MODEL: classes from the thresholds, a frequency row per context.
    let model = sec.get(&11).map(|m| {
        let c = u32_at(m, 0) as usize;
        assert_eq!(u32_at(m, 4), 16);
        assert_eq!(u32_at(m, 8) as usize, k);
        let thresholds: Vec<i64> = (0..c - 1)
            .map(|j| u32_at(m, 16 + 4 * j) as i32 as i64)
            .collect();
        let class: Vec<usize> = q_inc
            .iter()
            .map(|&q| thresholds.iter().filter(|&&t| t <= q).count())
            .collect();
        let freqs: Vec<u32> = pco::standalone::simple_decompress(&m[16 + 4 * (c - 1)..]).unwrap();
        assert_eq!(freqs.len(), (c + 1) * k);
        (c, class, freqs)
    });
    for i in 0..blocks {
        let at = 16 + 48 * i;
        let (n, off, len, codes, codec) = (
            u64_at(sy, at + 8) as usize,
            u64_at(sy, at + 16) as usize,
            u64_at(sy, at + 24) as usize,
            u64_at(sy, at + 32) as usize,
            sy[at + 40],
        );
        assert_eq!(u64_at(sy, at), symbols.len() as u64);
        let p = &sy[off..off + len];
        if version == 2 {
            assert_eq!(crc32(p), u32_at(sy, at + 44), "block {i} checksum");
        }
        codecs[codec as usize] += 1;
        let block: Vec<u32> = match codec {
            0 => {
                let mut r = Bits { b: p, pos: 0 };
                (0..n).map(|_| r.take(w) as u32).collect()
            }
            1 => {
                let raw = zstd::stream::decode_all(p).unwrap();
                let width = if k <= 256 {
                    1
                } else if k <= 65536 {
                    2
                } else {
                    4
                };
                raw.chunks(width)
                    .map(|c| c.iter().rev().fold(0u32, |acc, &x| (acc << 8) | x as u32))
                    .collect()
            }
            2 => lzw_decode(p, codes, k),
            3 => {
                let (c, class, freqs) = model.as_ref().expect("codec 3 needs SYMBOL_MODEL");
                let mut x = u64_at(p, 0);
                let mut words = p[8..].chunks(4).map(|w| u32_at(w, 0) as u64);
                let mut ctx = *c;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let row = &freqs[ctx * k..(ctx + 1) * k];
                    let slot = x % (1 << 16);
                    let (mut s, mut cum) = (0usize, 0u64);
                    while cum + row[s] as u64 <= slot {
                        cum += row[s] as u64;
                        s += 1;
                    }
                    x = row[s] as u64 * (x >> 16) + slot - cum;
                    if x < 1 << 32 {
                        x = (x << 32) + words.next().unwrap();
                    }
                    out.push(s as u32);
                    ctx = class[s];
                }
                assert_eq!(x, 1 << 32, "final state");
                assert!(words.next().is_none(), "every word read");
                out
            }
            c => panic!("codec {c}"),
        };
        assert_eq!(block.len(), n);
        symbols.extend(block);
    }
    assert_eq!(symbols.len(), total);
    // §4.3 SERIES
    let se = sec[&3];
    let n = u64_at(se, 0) as usize;
    let mut at = 16;
    // Version 1: u64 length, pco stream. Version 2: u32 length, u32 form (0 pco, 1 constant,
    // 2 consecutive), body.
    let mut next_col = || {
        if version == 1 {
            let len = u64_at(se, at) as usize;
            let body = &se[at + 8..at + 8 + len];
            at += 8 + len;
            (0, body)
        } else {
            let (len, form) = (u32_at(se, at) as usize, u32_at(se, at + 4));
            let body = &se[at + 8..at + 8 + len];
            at += 8 + len;
            (form, body)
        }
    };
    trait FromU64: pco::data_types::Number + Copy {
        fn from_u64(v: u64) -> Self;
        fn inc(self) -> Self;
    }
    impl FromU64 for u32 {
        fn from_u64(v: u64) -> Self {
            v as u32
        }
        fn inc(self) -> Self {
            self + 1
        }
    }
    impl FromU64 for u64 {
        fn from_u64(v: u64) -> Self {
            v
        }
        fn inc(self) -> Self {
            self + 1
        }
    }
    impl FromU64 for i64 {
        fn from_u64(v: u64) -> Self {
            v as i64
        }
        fn inc(self) -> Self {
            self + 1
        }
    }
    impl FromU64 for f64 {
        fn from_u64(v: u64) -> Self {
            f64::from_bits(v)
        }
        fn inc(self) -> Self {
            unreachable!()
        }
    }
    impl FromU64 for f32 {
        fn from_u64(v: u64) -> Self {
            f32::from_bits(v as u32)
        }
        fn inc(self) -> Self {
            unreachable!()
        }
    }
    fn col<T: FromU64>((form, body): (u32, &[u8]), n: usize) -> Vec<T> {
        if n == 0 {
            return vec![];
        }
        match form {
            0 => pco::standalone::simple_decompress(body).unwrap(),
            1 => vec![T::from_u64(u64_at(body, 0)); n],
            2 => {
                let mut v = vec![T::from_u64(u64_at(body, 0))];
                for i in 1..n {
                    v.push(v[i - 1].inc());
                }
                v
            }
            f => panic!("form {f}"),
        }
    }
    // Per series: (x₀ reproduced exactly, or z₀), μ, σ, and the unit of its bounds and steps
    // (σ on rounded rows, 1 on exact rows).
    let (lens, kinds, counts, label_idx, starts, means, stds);
    let mut units: Vec<f64> = vec![1.0; n];
    if version == 1 {
        assert_eq!(u32_at(se, 8), 11);
        let _ids: Vec<u64> = col(next_col(), n);
        lens = col::<u32>(next_col(), n);
        let _pieces: Vec<u32> = col(next_col(), n);
        kinds = col::<u32>(next_col(), n);
        counts = col::<u64>(next_col(), n);
        label_idx = col::<u32>(next_col(), n);
        let firsts: Vec<f64> = col(next_col(), n);
        starts = firsts
            .into_iter()
            .map(Ok)
            .collect::<Vec<Result<f64, f64>>>();
        means = col::<f64>(next_col(), n);
        stds = col::<f64>(next_col(), n);
        let _eps: Vec<f32> = col(next_col(), n);
        let _mx: Vec<f32> = col(next_col(), n);
    } else {
        assert_eq!(u32_at(se, 8), 13);
        // steps: μ a multiple of σ·2^a, z₀ of 2^b
        let (a, b) = (se[12] as i8 as i32, se[13] as i8 as i32);
        let (ha, hb) = (2f64.powi(a), 2f64.powi(b));
        let _ids: Vec<u64> = col(next_col(), n);
        lens = col::<u32>(next_col(), n);
        kinds = col::<u32>(next_col(), n);
        counts = col::<u64>(next_col(), n);
        label_idx = col::<u32>(next_col(), n);
        let start_l: Vec<i64> = col(next_col(), n);
        let mean_l: Vec<i64> = col(next_col(), n);
        let scale: Vec<u64> = col(next_col(), n);
        let eps: Vec<u64> = col(next_col(), n);
        let mx: Vec<u64> = col(next_col(), n);
        let e = scale.iter().filter(|&&v| v == 0).count();
        let (xf, xm, xs): (Vec<f64>, Vec<f64>, Vec<f64>) =
            (col(next_col(), e), col(next_col(), e), col(next_col(), e));
        let (mut st, mut me, mut sd) = (vec![], vec![], vec![]);
        let mut j = 0;
        for i in 0..n {
            // bounds: f64 bits >> 45, non-negative
            assert!(f64::from_bits(eps[i] << 45) >= 0.0 && f64::from_bits(mx[i] << 45) >= 0.0);
            if scale[i] == 0 {
                st.push(Ok(xf[j]));
                me.push(xm[j]);
                sd.push(xs[j]);
                j += 1;
            } else {
                let sigma = f64::from_bits(scale[i] << 41);
                units[i] = sigma;
                st.push(Err(start_l[i] as f64 * hb));
                me.push(mean_l[i] as f64 * (sigma * ha));
                sd.push(sigma);
            }
        }
        (starts, means, stds) = (st, me, sd);
    }
    assert_eq!(at, se.len());
    // §4.10 RESIDUALS (error-bounded segments): i64 levels per block of S series; version 2
    // block records (24 bytes) carry the CRC-32 of their payload.
    let rec = if version == 1 { 16 } else { 24 };
    let residuals: Option<(usize, f64, Vec<Vec<i64>>)> = sec.get(&10).map(|r| {
        let (per, blocks, delta) = (u32_at(r, 0) as usize, u32_at(r, 4) as usize, f64_at(r, 8));
        let levels = (0..blocks)
            .map(|b| {
                let at = 16 + rec * b;
                let (off, len) = (u64_at(r, at) as usize, u64_at(r, at + 8) as usize);
                if version == 2 {
                    assert_eq!(crc32(&r[off..off + len]), u32_at(r, at + 16));
                }
                pco::standalone::simple_decompress(&r[off..off + len]).unwrap()
            })
            .collect();
        (per, delta, levels)
    });
    let mut level_at = 0usize;
    // §4.12 CORRECTIONS: R step codes, then the L levels of the corrected rows in row order.
    let (mut steps, mut fixes) = (Vec::<u64>::new().into_iter(), Vec::<i64>::new().into_iter());
    if let Some(c) = sec.get(&12) {
        assert_eq!(version, 2);
        assert!(!sec.contains_key(&10), "never beside RESIDUALS");
        let (r, l) = (u32_at(c, 0) as usize, u64_at(c, 8) as usize);
        assert_eq!(u32_at(c, 4), 0);
        let mut at = 16;
        let mut stream = || {
            let (len, form) = (u32_at(c, at) as usize, u32_at(c, at + 4));
            let body = &c[at + 8..at + 8 + len];
            at += 8 + len;
            (form, body)
        };
        steps = col::<u64>(stream(), r).into_iter();
        fixes = col::<i64>(stream(), l).into_iter();
        assert_eq!(at, c.len());
        assert_eq!(kinds.iter().filter(|&&k| k == 2).count(), r);
    }
    // §5 decode
    let lossless = sec.get(&6).copied().unwrap_or(&[]);
    let (mut sym_at, mut raw_at) = (0usize, 0usize);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let len = lens[i] as usize;
        let cnt = counts[i] as usize;
        if residuals.as_ref().is_some_and(|r| i % r.0 == 0) {
            level_at = 0;
        }
        let label = (label_idx[i] != u32::MAX).then(|| labels[label_idx[i] as usize].clone());
        if kinds[i] == 1 {
            let v: Vec<f64> =
                pco::standalone::simple_decompress(&lossless[raw_at..raw_at + cnt]).unwrap();
            raw_at += cnt;
            out.push((label, v));
            continue;
        }
        let s = &symbols[sym_at..sym_at + cnt];
        sym_at += cnt;
        let (mu, sigma) = (means[i], stds[i]);
        let (z0, x0) = match starts[i] {
            // an exact first value: z₀ from it, and x̂₀ = x₀
            Ok(x0) => (if sigma > 0.0 { (x0 - mu) / sigma } else { 0.0 }, x0),
            Err(z0) => (z0, mu + sigma * z0),
        };
        let mut tv = vec![(0.0f64, z0)];
        for &c in s {
            let (t, v) = *tv.last().unwrap();
            tv.push((t + centres[c as usize].0, v + centres[c as usize].1));
        }
        let mut x = vec![x0];
        if len > 1 {
            let f = (len - 1) as f64 / tv.last().unwrap().0;
            let mut seg = 0;
            for t in 1..len {
                let t = t as f64;
                let z = if t as usize == len - 1 {
                    tv.last().unwrap().1
                } else {
                    while tv[seg + 1].0 * f < t {
                        seg += 1;
                    }
                    let (ta, va) = (tv[seg].0 * f, tv[seg].1);
                    let (tb, vb) = (tv[seg + 1].0 * f, tv[seg + 1].1);
                    va + (vb - va) * (t - ta) / (tb - ta)
                };
                x.push(mu + sigma * z);
            }
        }
        if let Some((per, delta, levels)) = &residuals {
            let l = &levels[i / per][level_at..level_at + len];
            level_at += len;
            for (v, &q) in x.iter_mut().zip(l) {
                *v += 2.0 * delta * q as f64;
            }
        }
        if kinds[i] == 2 {
            // step 6: Δ = from_bits(step << 45)·unit, y = x̂ + Δ·q
            let step = f64::from_bits(steps.next().unwrap() << 45) * units[i];
            assert!(step.is_finite() && step > 0.0);
            for v in x.iter_mut() {
                *v += step * fixes.next().unwrap() as f64;
            }
        } else {
            assert!(kinds[i] == 0, "kind {}", kinds[i]);
        }
        out.push((label, x));
    }
    (out, codecs)
}

fn check_against_library(data: &Dataset, opts: &Options) -> [usize; 4] {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.qdb");
    let (db, _) = Database::build(&path, data, opts).unwrap();
    let bytes = std::fs::read(segment_file(&path)).unwrap();
    let (series, codecs) = spec_read(&bytes);
    assert_eq!(series.len(), db.snapshot().len());
    for (i, (label, x)) in series.iter().enumerate() {
        let lib = db.snapshot().get(i as u64).unwrap();
        assert_eq!(x.len(), lib.len(), "series {i}: length");
        for (t, (a, b)) in x.iter().zip(&lib).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "series {i} t {t}: spec {a} vs library {b}"
            );
        }
        assert_eq!(label, &db.snapshot().label(i as u64).unwrap());
    }
    codecs
}

#[test]
fn crc_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn a_reader_from_the_spec_decodes_what_the_library_decodes() {
    let mut codecs = [0usize; 4];
    // Several blocks, labels, lossless series (tight budget), constant and length-1 series.
    let mut data = ingest::read(&ucr("ECG5000", "TEST"), None).unwrap();
    data.series.push(vec![4.5; 30]);
    data.labels.push(None);
    data.series.push(vec![-2.0]);
    data.labels.push(Some("single".into()));
    let c = check_against_library(&data, &Options::default().max_rmse(0.2));
    codecs.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    for name in ["CBF", "GesturePebbleZ1", "ACSF1"] {
        let data = ingest::read(&ucr(name, "TEST"), None).unwrap();
        let c = check_against_library(&data, &Options::default());
        codecs.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    }
    // White noise in two symbols (up, down), independent and equally likely: plain packing wins.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let noise: Vec<Vec<f64>> = (0..400)
        .map(|_| (0..64).map(|_| next()).collect())
        .collect();
    let opts = Options::default()
        .tol(0.001)
        .max_rmse(f64::INFINITY)
        .digitizer(qabbadb::Digitizer::KMeans {
            k: 2,
            sample_rate: 1.0,
            seed: 1,
        });
    let c = check_against_library(&Dataset::from_series(noise), &opts);
    codecs.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    // A handful of symbols: the zstd frame and LZW codes cost more than plain packing.
    let tiny = vec![
        vec![0.0, 1.0, 0.5, 2.0, -1.0, 0.3],
        vec![1.0, -1.0, 1.0, -1.0],
    ];
    let opts = Options::default().tol(0.01).max_rmse(f64::INFINITY);
    let c = check_against_library(&Dataset::from_series(tiny), &opts);
    codecs.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    // Five piece shapes repeated ten times: LZW's growing phrases beat packing, zstd's frame and
    // rANS's state.
    let mut zigzag = vec![0.0];
    for _ in 0..10 {
        for inc in [1.0, -2.0, 3.0, -1.0, 2.5] {
            let at: f64 = *zigzag.last().unwrap();
            zigzag.extend((1..=3).map(|t| at + inc * t as f64 / 3.0));
        }
    }
    let opts = Options::default()
        .tol(0.001)
        .max_rmse(f64::INFINITY)
        .digitizer(qabbadb::Digitizer::KMeans {
            k: 5,
            sample_rate: 1.0,
            seed: 1,
        });
    let c = check_against_library(&Dataset::from_series(vec![zigzag]), &opts);
    codecs.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    // Error-bounded segments (§4.10), with raw values and lossless series beside the residuals;
    // more than one residual block.
    for (name, delta) in [("ECG200", 0.01), ("GesturePebbleZ1", 0.2)] {
        let mut data = ingest::read(&ucr(name, "TEST"), None).unwrap();
        // Errors of ~1e19 in steps of 2δ: levels beyond ±2^52, so this one is kept losslessly.
        data.series
            .insert(70, (0..96).map(|t| 1e20 * (t as f64 * 0.7).sin()).collect());
        data.labels.insert(70, None);
        let opts = Options::default().max_error(Some(delta)).keep_raw(true);
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Database::build(&dir.path().join("l"), &data, &opts).unwrap();
        assert!(
            db.snapshot().series_info().unwrap()[70].lossless,
            "stored losslessly"
        );
        check_against_library(&data, &opts);
    }
    assert!(
        codecs.iter().all(|&c| c > 0),
        "every block codec exercised: {codecs:?}"
    );
    // Corrected series (§4.12): a coarse tolerance leaves spiky series over the budget.
    let data = ingest::read(&ucr("Lightning7", "TRAIN"), None).unwrap();
    let opts = Options::default().tol(0.4);
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::build(&dir.path().join("c"), &data, &opts).unwrap();
    let info = db.snapshot().info().unwrap();
    assert!(
        info.corrected_series > 5,
        "{} corrected",
        info.corrected_series
    );
    check_against_library(&data, &opts);
}

/// The dataset and options of the compatibility file: labels, a constant series, a length-1
/// series and lossless series (a tight budget, and a lone spike taller than any increment of
/// the alphabet, which no refinement can follow).
fn compat_input() -> (Dataset, Options) {
    let mut data = ingest::read(&ucr("ItalyPowerDemand", "TRAIN"), None).unwrap();
    data.series.push(vec![7.25; 24]);
    data.labels.push(Some("constant".into()));
    data.series.push(vec![-3.5]);
    data.labels.push(None);
    let mut spike = vec![0.0; 400];
    spike[200] = 1.0;
    data.series.push(spike);
    data.labels.push(Some("spike".into()));
    (data, Options::default().max_rmse(0.15))
}

fn compat_dir(version: u32) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/compat/v{version}"))
}

/// Every format version this build has a committed file of.
const COMPAT_VERSIONS: [u32; 2] = [1, 2];

/// Writes tests/data/compat/v<current version>/ when QABBADB_WRITE_COMPAT=1 (once per format
/// version).
#[test]
fn write_compat_files_when_asked() {
    if std::env::var("QABBADB_WRITE_COMPAT").as_deref() != Ok("1") {
        return;
    }
    let (data, opts) = compat_input();
    let version = qabbadb::storage::segment::layout::FORMAT_VERSION;
    let dir = compat_dir(version);
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = Database::build(&tmp.path().join("db"), &data, &opts).unwrap();
    std::fs::copy(
        segment_file(&tmp.path().join("db")),
        dir.join("italypower.qdb"),
    )
    .unwrap();
    let expect: Vec<serde_json::Value> = (0..db.snapshot().len() as u64)
        .map(|id| serde_json::json!({"id": id, "label": db.snapshot().label(id).unwrap(), "values": db.snapshot().get(id).unwrap()}))
        .collect();
    let doc = serde_json::json!({
        "generator": "tests/format.rs write_compat_files_when_asked (QABBADB_WRITE_COMPAT=1 cargo test --test tests format)",
        "format_version": version,
        "series": expect,
    });
    std::fs::write(
        dir.join("italypower.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
}

/// The segment of each format version, written once and committed, opens and decodes to the same
/// values forever, read directly, as the one segment of a database, and by the reader written
/// from the spec.
#[test]
fn files_of_every_version_still_open() {
    for version in COMPAT_VERSIONS {
        file_of_version_still_opens(version);
    }
}

/// The values of one series of a compatibility file's JSON.
fn values_of(s: &serde_json::Value) -> Vec<f64> {
    s["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn file_of_version_still_opens(version: u32) {
    let dir = compat_dir(version);
    let seg = qabbadb::storage::segment::SegmentReader::open(&dir.join("italypower.qdb")).unwrap();
    assert_eq!(seg.format_version(), version);
    let tmp = tempfile::tempdir().unwrap();
    let dbdir = tmp.path().join("db");
    let db = Database::create(&dbdir, &compat_input().1).unwrap();
    drop(db);
    // Adopt the committed segment as the database's only segment.
    let name = "000001-compat.qseg";
    std::fs::copy(dir.join("italypower.qdb"), dbdir.join(name)).unwrap();
    let mut m = qabbadb::storage::manifest::Manifest::from_bytes(
        std::path::Path::new("MANIFEST"),
        &std::fs::read(dbdir.join("MANIFEST")).unwrap(),
    )
    .unwrap();
    m.generation = 1;
    m.next_id = seg.len() as u64;
    m.segments.push(qabbadb::storage::manifest::SegmentEntry {
        file: name.into(),
        first_id: 0,
        last_id: seg.len() as u64 - 1,
        series: seg.len() as u64,
        deletes: None,
    });
    std::fs::write(dbdir.join("MANIFEST"), m.to_bytes()).unwrap();
    let db = crate::util::open_when_free(&dbdir);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("italypower.json")).unwrap()).unwrap();
    let series = doc["series"].as_array().unwrap();
    let (spec, _) = spec_read(&std::fs::read(dir.join("italypower.qdb")).unwrap());
    assert_eq!(spec.len(), series.len());
    assert_eq!(series.len(), db.snapshot().len());
    for s in series {
        let id = s["id"].as_u64().unwrap();
        let want = values_of(s);
        assert_eq!(
            db.snapshot().get(id).unwrap(),
            want,
            "v{version} series {id}"
        );
        let (label, x) = &spec[id as usize];
        assert_eq!(label.as_deref(), s["label"].as_str());
        for (t, (a, b)) in x.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "v{version} series {id} t {t}: spec {a} vs {b}"
            );
        }
        assert_eq!(
            db.snapshot().label(id).unwrap().as_deref(),
            s["label"].as_str()
        );
    }
    assert!(db.snapshot().info().unwrap().lossless_series > 0);
    // Appending writes a segment of the current version beside it; compaction merges both into
    // one of the current version, the old series' values unchanged (version-1 metadata carries
    // over as exact rows) and their error bounds still bounds: equal, or rounded up to the
    // stored precision of version 2.
    let before = db.snapshot().series_info().unwrap();
    let mut more = ingest::read(&ucr("ItalyPowerDemand", "TEST"), None).unwrap();
    more.series.truncate(40);
    more.labels.truncate(40);
    db.append(&more).unwrap();
    let appended: Vec<Vec<f64>> = (0..40)
        .map(|i| db.snapshot().get(series.len() as u64 + i).unwrap())
        .collect();
    assert!(db.compact().unwrap());
    let info = db.snapshot().info().unwrap();
    assert_eq!(info.segments.len(), 1);
    assert_eq!(
        info.format_version,
        qabbadb::storage::segment::layout::FORMAT_VERSION
    );
    let after = db.snapshot().series_info().unwrap();
    for s in series {
        let id = s["id"].as_u64().unwrap();
        let want = values_of(s);
        assert_eq!(
            db.snapshot().get(id).unwrap(),
            want,
            "v{version} series {id} compacted"
        );
        let (a, b) = (before[id as usize], after[id as usize]);
        let up = 1.0 + 2f64.powi(-7);
        for (old, new) in [(a.eps, b.eps), (a.max_abs_err, b.max_abs_err)] {
            assert!(
                old <= new && new <= old * up,
                "v{version} {id}: {old} → {new}"
            );
        }
    }
    for (i, x) in appended.iter().enumerate() {
        assert_eq!(
            &db.snapshot().get(series.len() as u64 + i as u64).unwrap(),
            x
        );
    }
}

/// Writing the same input with the same options gives the committed bytes exactly: any change
/// to the written format (or to the codec's choices) shows up here and needs a new version or a
/// deliberate regeneration (`QABBADB_WRITE_GOLDEN=1 cargo test --test tests golden`). The files
/// of tests/data/compat stay as written by earlier releases: they must keep opening.
#[test]
fn golden_bytes() {
    let (data, opts) = compat_input();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("g.qdb");
    Database::build(&path, &data, &opts).unwrap();
    let golden_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/italypower.qseg");
    if std::env::var("QABBADB_WRITE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::copy(segment_file(&path), &golden_path).unwrap();
    }
    let golden = std::fs::read(&golden_path).unwrap();
    let fresh = std::fs::read(segment_file(&path)).unwrap();
    assert_eq!(fresh.len(), golden.len(), "file size changed");
    if let Some(at) = fresh.iter().zip(&golden).position(|(a, b)| a != b) {
        panic!("first differing byte at offset {at}");
    }
}
