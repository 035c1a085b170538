//! Compaction: every live series into one segment, same ids, no further loss.

use crate::codec::{self, Codebook, EncodedSeries, Storage};
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
        let step = codec::meta::Steps::for_tol(self.options.codec.tol);
        for seg in &state.segments {
            let same = *seg.reader.codebook() == codebook;
            let data = seg.search_data()?;
            let corrections = seg.reader.correction_levels()?;
            for (pos, r) in seg.reader.records()?.iter().enumerate() {
                if !seg.is_live(r.id) {
                    continue;
                }
                // Rounded metadata carries over when the new segment's step holds it (always,
                // for segments of this database); exact metadata always does.
                let carries = match r.first {
                    codec::Start::Value(_) => true,
                    codec::Start::Normalized(_) => {
                        codec::meta::Levels::of(r.moments(), r.first, step).is_some()
                    }
                };
                if (!same || !carries) && r.kind != layout::storage_kind::LOSSLESS {
                    let (e, original) = self.reencode(seg, pos, &codebook, &base_centres)?;
                    encoded.push(e);
                    ids.push(r.id);
                    labels.push(seg.reader.label(pos)?.map(str::to_string));
                    originals.push(Some(original));
                    continue;
                }
                let (storage, original) =
                    match (r.kind, seg.reader.correction(pos, Some(&corrections))?) {
                        (layout::storage_kind::LOSSLESS, _) => (
                            Storage::Lossless(seg.reader.lossless_bytes(pos)?.to_vec()),
                            Some(seg.reader.decode(pos)?),
                        ),
                        (_, Some(fix)) => (
                            Storage::Corrected(seg.symbols_of(pos)?, Box::new(fix)),
                            None,
                        ),
                        _ => (Storage::Symbolic(seg.symbols_of(pos)?), None),
                    };
                let residuals = match (&data.levels, &storage) {
                    (Some(l), Storage::Symbolic(_)) => l.of(pos, r.len as usize).into(),
                    _ => Default::default(),
                };
                encoded.push(EncodedSeries {
                    len: r.len,
                    start: r.first,
                    moments: r.moments(),
                    storage,
                    residuals,
                    pieces: r.pieces,
                    eps: r.eps,
                    max_abs_err: r.max_abs_err,
                });
                ids.push(r.id);
                labels.push(seg.reader.label(pos)?.map(str::to_string));
                originals.push(original);
            }
        }
        // Original values travel with their series when every segment keeps them.
        let raw: Option<Vec<Vec<f64>>> =
            if self.options.keep_raw && state.segments.iter().all(|s| s.reader.has_raw()) {
                let mut v = Vec::with_capacity(ids.len());
                for seg in &state.segments {
                    for (pos, r) in seg.reader.records()?.iter().enumerate() {
                        if seg.is_live(r.id) {
                            v.push(seg.raw_values(pos)?);
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
            raw.as_deref().map(super::write::RawInput::Values),
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
        let r = seg.record(pos)?;
        let encode = |x: &[f64]| -> Result<EncodedSeries> {
            codec::encode_with(
                std::slice::from_ref(&x.to_vec()),
                codebook,
                &self.options.encoding(),
            )?
            .pop()
            .ok_or_else(|| Error::InvalidRequest("empty encoding".into()))
        };
        if seg.reader.has_raw() {
            let x = seg.raw_values(pos)?;
            return Ok((encode(&x)?, x));
        }
        let old = seg.reader.decode(pos)?;
        let keep = |old: Vec<f64>| -> Result<(EncodedSeries, Vec<f64>)> {
            let e = EncodedSeries {
                len: r.len,
                start: r.first,
                moments: r.moments(),
                storage: Storage::Lossless(codec::lossless::compress_values(&old)?),
                residuals: Default::default(),
                pieces: r.pieces,
                eps: r.eps,
                max_abs_err: r.max_abs_err,
            };
            Ok((e, old))
        };
        if self.options.codec.max_error.is_some() {
            return keep(old);
        }
        let mut e = encode(&old)?;
        let (d, dmax) = match e.decode(centres, None) {
            Some(new) if e.storage.symbols().is_some() => codec::error_of(&old, &new),
            _ => (0.0, 0.0),
        };
        let unit = codec::bound_unit(e.start, e.moments);
        match (
            codec::meta::round_up_bound(r.eps + d, unit),
            codec::meta::round_up_bound(r.max_abs_err + dmax, unit),
        ) {
            (Some(eps), Some(mx)) => {
                e.eps = eps;
                e.max_abs_err = mx;
                Ok((e, old))
            }
            _ => keep(old),
        }
    }
}
