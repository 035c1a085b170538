//! Compaction: every live series into one segment, same ids, no further loss.

use crate::codec::{self, Codebook, EncodedSeries, Moments, Storage};
use crate::error::{Error, Result};
use crate::storage::cache::OpenSegment;
use crate::storage::segment::layout;

use super::Database;

impl Database {
    /// Merges every segment into one holding only the live series (same ids), with a new index
    /// whose breakpoints are fitted again to the live series; deleted series are gone for good.
    /// Series encoded with the first segment's codebook keep their symbols (no further loss);
    /// series of segments appended with a refitted codebook are encoded again from their
    /// reconstructions, and their stored error bounds grow by the change.
    ///
    /// A database of one segment without deleted series is left as it is (nothing to merge or
    /// drop); returns whether anything was rewritten.
    pub fn compact(&self) -> Result<bool> {
        self.check_writer()?;
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let state = &snap.state;
        let Some(base) = state.segments.first() else {
            return Ok(false);
        };
        if state.segments.len() == 1 && base.deleted.is_empty() {
            return Ok(false);
        }
        let codebook = base.reader.codebook().clone();
        let mut encoded = Vec::new();
        let mut ids = Vec::new();
        let mut labels = Vec::new();
        let mut originals: Vec<Option<Vec<f64>>> = Vec::new();
        let base_centres = codebook.centres();
        for seg in &state.segments {
            let same = *seg.reader.codebook() == codebook;
            let data = seg.search_data()?;
            for (pos, r) in seg.reader.records().iter().enumerate() {
                if !seg.is_live(r.id) {
                    continue;
                }
                if !same && r.kind != layout::storage_kind::LOSSLESS {
                    let (e, original) = self.reencode(seg, pos, &codebook, &base_centres)?;
                    encoded.push(e);
                    ids.push(r.id);
                    labels.push(seg.reader.label(pos).map(str::to_string));
                    originals.push(Some(original));
                    continue;
                }
                let (storage, original) = if r.kind == layout::storage_kind::LOSSLESS {
                    (
                        Storage::Lossless(seg.reader.lossless_bytes(pos).to_vec()),
                        Some(seg.reader.decode(pos)?),
                    )
                } else {
                    (Storage::Symbolic(data.symbols.of(r)), None)
                };
                let residuals = match (&data.levels, &storage) {
                    (Some(l), Storage::Symbolic(_)) => l.of(pos, r.len as usize),
                    _ => Vec::new(),
                };
                encoded.push(EncodedSeries {
                    len: r.len,
                    first: r.first,
                    moments: Moments {
                        mean: r.mean,
                        std: r.std,
                    },
                    storage,
                    residuals,
                    pieces: r.pieces,
                    eps: r.eps,
                    max_abs_err: r.max_abs_err,
                });
                ids.push(r.id);
                labels.push(seg.reader.label(pos).map(str::to_string));
                originals.push(original);
            }
        }
        // Original values travel with their series when every segment keeps them.
        let raw: Option<Vec<Vec<f64>>> =
            if self.options.keep_raw && state.segments.iter().all(|s| s.reader.has_raw()) {
                let mut v = Vec::with_capacity(ids.len());
                for seg in &state.segments {
                    for (pos, r) in seg.reader.records().iter().enumerate() {
                        if seg.is_live(r.id) {
                            v.push(seg.reader.raw_values(pos)?);
                        }
                    }
                }
                Some(v)
            } else {
                None
            };
        let generation = state.manifest.generation + 1;
        let mut manifest = state.manifest.clone();
        manifest.generation = generation;
        if encoded.is_empty() {
            manifest.segments.clear();
            return self.commit(manifest, Vec::new()).map(|()| true);
        }
        let fit = codec::FitReport {
            pieces: encoded.iter().map(|e| e.pieces as u64).sum(),
            alpha: base.reader.alpha(),
            ..Default::default()
        };
        let (seg, ..) = self.write_segment(
            generation,
            &codebook,
            &encoded,
            &ids,
            &labels,
            base.reader.alpha(),
            None,
            |i| originals[i].clone().unwrap_or_default(),
            raw.as_deref(),
            &fit,
        )?;
        manifest.segments = vec![seg.0];
        self.commit(manifest, vec![seg.1])?;
        Ok(true)
    }

    /// Encodes the series at `pos` of a segment with its own codebook again, with `codebook`.
    /// From the raw values when the segment keeps them (true ε). Otherwise from the
    /// reconstruction, with ε grown by the distance between the two reconstructions (triangle
    /// inequality); in error-bounded mode, where growing the error would break the bound, the
    /// reconstruction is kept losslessly instead. Returns the series and the values it stands
    /// for (for the index).
    fn reencode(
        &self,
        seg: &OpenSegment,
        pos: usize,
        codebook: &Codebook,
        centres: &[[f64; 2]],
    ) -> Result<(EncodedSeries, Vec<f64>)> {
        let r = seg.reader.records()[pos];
        let encode = |x: &[f64]| -> Result<EncodedSeries> {
            codec::encode_with(
                std::slice::from_ref(&x.to_vec()),
                codebook,
                &self.options.codec,
            )?
            .pop()
            .ok_or_else(|| Error::InvalidRequest("empty encoding".into()))
        };
        if seg.reader.has_raw() {
            let x = seg.reader.raw_values(pos)?;
            return Ok((encode(&x)?, x));
        }
        let old = seg.reader.decode(pos)?;
        let moments = Moments {
            mean: r.mean,
            std: r.std,
        };
        if self.options.codec.max_error.is_some() {
            let e = EncodedSeries {
                len: r.len,
                first: r.first,
                moments,
                storage: Storage::Lossless(codec::lossless::compress_values(&old)?),
                residuals: Vec::new(),
                pieces: r.pieces,
                eps: r.eps,
                max_abs_err: r.max_abs_err,
            };
            return Ok((e, old));
        }
        let mut e = encode(&old)?;
        let (d, dmax) = match e.decode(centres, None) {
            Some(new) if matches!(e.storage, Storage::Symbolic(_)) => codec::error_of(&old, &new),
            _ => (0.0, 0.0),
        };
        e.eps = codec::round_up_f32(r.eps + d) as f64;
        e.max_abs_err = codec::round_up_f32(r.max_abs_err + dmax) as f64;
        Ok((e, old))
    }
}
