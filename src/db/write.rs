//! The write path: append, delete, the commit and garbage collection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roaring::RoaringTreemap;
use serde::Serialize;

use super::{Database, Options, State};
use crate::codec::{self, Codebook, EncodedSeries, Storage};
use crate::error::{Error, Result};
use crate::ids::{IdRange, SeriesId};
use crate::index::Index;
use crate::ingest::Dataset;
use crate::storage::cache::OpenSegment;
use crate::storage::commit::write_atomically_with;
use crate::storage::deletes;
use crate::storage::manifest::{self, Manifest, SegmentEntry};
use crate::storage::names;
use crate::storage::segment::writer::WriteReport;
use crate::storage::segment::{write_segment_with, RawSection, SegmentContents};

/// The original values of a new segment's series (`keep_raw`): as given, compressed beside the
/// index build, or already compressed (a bulk load compresses them as they arrive).
pub(super) enum RawInput<'a> {
    /// The values of every series, in order.
    Values(&'a [Vec<f64>]),
    /// The RAW section made of them.
    Compressed(RawSection),
}

/// What a build or an append did, for the tool and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Ids given to the new series (consecutive).
    pub ids: IdRange,
    /// Codec statistics.
    pub fit: codec::FitReport,
    /// Sizes written.
    pub write: WriteReport,
    /// Time to build the search index, and to compress the originals (kept with `keep_raw`),
    /// which runs beside it.
    pub index_time: Duration,
    /// Time to write the segment and commit.
    pub write_time: Duration,
    /// Files of an earlier build of the same directory that never committed, removed first.
    pub cleaned: Vec<String>,
    /// How the tolerance was chosen, when the build had a target RMSE.
    pub tuning: Option<super::tune::Tuning>,
}

/// What a [`Database::delete`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteReport {
    /// Series that were live and are deleted now.
    pub deleted: u64,
    /// Ids listed that were deleted already (ids are never reused).
    pub already_deleted: u64,
}

impl Database {
    /// Writes `manifest` as the new commit and makes `state` current.
    pub(super) fn commit(
        &self,
        mut manifest: Manifest,
        segments: Vec<Arc<OpenSegment>>,
    ) -> Result<()> {
        manifest.uid = Some(self.uid.hex());
        // New segments are written in this build's format version.
        manifest.format_version = manifest
            .format_version
            .max(crate::storage::segment::layout::FORMAT_VERSION);
        if let Err(e) = write_atomically_with(
            self.io.as_ref(),
            &self.dir.join(manifest::FILE),
            &manifest.to_bytes(),
        ) {
            // The rename may have happened (a failed directory sync): follow whatever MANIFEST
            // is on disk now, so that this handle never builds on a state that is not there.
            let _ = self.refresh();
            return Err(e);
        }
        let cache = self.snapshot().state.cache.clone();
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(State {
            dir: self.dir.clone(),
            options: self.options.clone(),
            manifest,
            segments,
            cache,
        });
        self.collect_garbage();
        Ok(())
    }

    /// The options of a new database that has committed nothing yet, replaced (a bulk load that
    /// chose its tolerance on its first series): its first commit writes them.
    pub(super) fn choose_options_before_first_commit(&mut self, options: Options) {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut manifest = st.manifest.clone();
        manifest.options = options.to_json();
        *st = Arc::new(State {
            dir: st.dir.clone(),
            options: options.clone(),
            manifest,
            segments: st.segments.clone(),
            cache: st.cache.clone(),
        });
        drop(st);
        self.options = options;
    }

    /// Removes the segment, delete and temporary files of this database that the current
    /// MANIFEST does not name; files whose names are not of this database's form
    /// ([`names::is_own_file`]) are never touched. Failures are left for the next pass.
    pub(super) fn collect_garbage(&self) {
        if self.lock.is_none() {
            return;
        }
        let snap = self.snapshot();
        let segs = &snap.state.manifest.segments;
        let named: std::collections::HashSet<&str> = segs
            .iter()
            .flat_map(|s| std::iter::once(s.file.as_str()).chain(s.deletes.as_deref()))
            .collect();
        let legacy = self.legacy || segs.iter().any(|s| names::is_legacy_segment(&s.file));
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if names::is_own_file(name, self.uid, legacy) && !named.contains(name) {
                let _ = self.io.remove(&e.path());
            }
        }
    }

    /// Appends series: encoded with the database's codebook (the first append fits it), indexed
    /// with its breakpoints, written as a new segment and committed. Ids continue from the last
    /// ever given and are never reused.
    pub fn append(&self, data: &Dataset) -> Result<BuildReport> {
        self.append_with(data, false)
    }

    /// As [`Database::append`]; with `refit`, the new segment gets a codebook and breakpoints
    /// fitted to its own series (for data that drifted away from the first segment's shapes).
    pub fn append_with(&self, data: &Dataset, refit: bool) -> Result<BuildReport> {
        self.check_writer()?;
        if data.labels.len() != data.series.len() {
            return Err(Error::InvalidRequest(
                "one label (or None) per series is required".into(),
            ));
        }
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let base = snap
            .state
            .segments
            .first()
            .map(|s| &s.reader)
            .filter(|_| !refit);
        let opts = &self.options;
        let (codebook, encoded, fit) = match base {
            None => codec::fit_encode(&data.series, &opts.encoding())?,
            Some(b) => {
                let t = Instant::now();
                let enc = codec::encode_with(&data.series, b.codebook(), &opts.encoding())?;
                let mut fit = codec::FitReport {
                    alpha: b.alpha(),
                    assign_time: t.elapsed(),
                    ..Default::default()
                };
                fit.tally(&enc);
                (b.codebook().clone(), enc, fit)
            }
        };
        let raw = self
            .options
            .keep_raw
            .then_some(RawInput::Values(&data.series));
        self.commit_encoded(&snap, &codebook, &encoded, &data.labels, fit, raw)
    }

    /// Writes encoded series as a new segment (ids continuing from the last given, indexed with
    /// the first segment's breakpoints, or breakpoints fitted to them in a database without
    /// segments) and commits it. The caller holds the write lock; `snap` is the current state.
    pub(super) fn commit_encoded(
        &self,
        snap: &super::Snapshot,
        codebook: &Codebook,
        encoded: &[EncodedSeries],
        labels: &[Option<String>],
        fit: codec::FitReport,
        raw: Option<RawInput>,
    ) -> Result<BuildReport> {
        let base = snap.state.segments.first().map(|s| &s.reader);
        let breakpoints = match base.filter(|b| b.codebook() == codebook) {
            Some(b) => b.breakpoints()?,
            None => None,
        };
        let m = &snap.state.manifest;
        let ids: Vec<u64> = (m.next_id..m.next_id + encoded.len() as u64).collect();
        let centres = codebook.centres();
        let max_error = self.options.codec.max_error;
        let originals = |i: usize| encoded[i].decode(&centres, max_error).unwrap_or_default();
        let (seg, index_time, write, write_time) = self.write_segment(
            m.generation + 1,
            codebook,
            encoded,
            &ids,
            labels,
            fit.alpha,
            breakpoints,
            originals,
            raw,
            &fit,
        )?;
        let mut manifest = m.clone();
        manifest.generation += 1;
        manifest.next_id += encoded.len() as u64;
        manifest.segments.push(seg.0);
        let mut segments = snap.state.segments.clone();
        segments.push(seg.1);
        let t = Instant::now();
        self.commit(manifest, segments)?;
        Ok(BuildReport {
            ids: IdRange::new(m.next_id, m.next_id + encoded.len() as u64),
            fit,
            write,
            index_time,
            write_time: write_time + t.elapsed(),
            cleaned: Vec::new(),
            tuning: None,
        })
    }

    /// Builds the index of and writes one segment; opens it.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    pub(super) fn write_segment(
        &self,
        generation: u64,
        codebook: &Codebook,
        encoded: &[EncodedSeries],
        ids: &[u64],
        labels: &[Option<String>],
        alpha: Option<f64>,
        breakpoints: Option<crate::index::Breakpoints>,
        original: impl Fn(usize) -> Vec<f64> + Sync,
        raw: Option<RawInput>,
        fit: &codec::FitReport,
    ) -> Result<(
        (SegmentEntry, Arc<OpenSegment>),
        Duration,
        WriteReport,
        Duration,
    )> {
        let t = Instant::now();
        let centres = codebook.centres();
        // The originals compress while the index builds: both only read the series.
        let (index, raw) = rayon::join(
            || self.build_index(encoded, &centres, breakpoints, &original),
            || match raw {
                Some(RawInput::Values(v)) => RawSection::of(v).map(Some),
                Some(RawInput::Compressed(s)) => Ok(Some(s)),
                None => Ok(None),
            },
        );
        let raw = raw?;
        let index_time = t.elapsed();
        let t = Instant::now();
        let file = self.uid.segment_name(generation);
        let mut report = serde_json::json!({ "pieces": fit.pieces, "alpha": fit.alpha, "lossless": fit.lossless });
        if fit.corrected > 0 {
            report["corrected"] = fit.corrected.into();
        }
        let write = write_segment_with(
            self.io.as_ref(),
            &self.dir.join(&file),
            &SegmentContents {
                params: &self.options.codec,
                alpha,
                codebook,
                series: encoded,
                ids,
                labels,
                report,
                index: index.as_ref(),
                raw: raw.as_ref(),
            },
        )?;
        let entry = SegmentEntry {
            file,
            first_id: ids.first().copied().unwrap_or(0),
            last_id: ids.last().copied().unwrap_or(0),
            series: ids.len() as u64,
            deletes: None,
        };
        let seg = OpenSegment::open(&self.dir, &entry, &self.snapshot().state.cache)?;
        Ok(((entry, Arc::new(seg)), index_time, write, t.elapsed()))
    }

    /// The search index of a new segment, when the options ask for one.
    fn build_index(
        &self,
        encoded: &[EncodedSeries],
        centres: &[[f64; 2]],
        breakpoints: Option<crate::index::Breakpoints>,
        original: &(impl Fn(usize) -> Vec<f64> + Sync),
    ) -> Option<Index> {
        self.options.index.map(|params| {
            Index::build(
                encoded.len(),
                |i| encoded[i].len as usize,
                |i| {
                    let e = &encoded[i];
                    let mut x = match &e.storage {
                        Storage::Symbolic(_) | Storage::Corrected(..) => e
                            .decode(centres, self.options.codec.max_error)
                            .unwrap_or_default(),
                        Storage::Lossless(_) => original(i),
                    };
                    codec::normalize_in_place(&mut x, e.moments);
                    x
                },
                params,
                breakpoints,
            )
        })
    }

    /// Deletes series by id. Ids are never reused, so every id below the next one to be given
    /// was stored once: an id already deleted (before or after a `compact`) is counted as such
    /// and is not an error; an id never given is [`Error::NotFound`], and then nothing is
    /// deleted. Each id counts once however often it is listed.
    pub fn delete<I: Into<SeriesId> + Copy>(&self, ids: &[I]) -> Result<DeleteReport> {
        self.check_writer()?;
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let state = &snap.state;
        let wanted: RoaringTreemap = ids.iter().map(|&i| i.into().0).collect();
        if let Some(never) = wanted.max().filter(|&m| m >= state.manifest.next_id) {
            return Err(Error::NotFound(SeriesId(never)));
        }
        let mut per_segment: Vec<RoaringTreemap> =
            vec![RoaringTreemap::new(); state.segments.len()];
        let mut already = 0u64;
        for id in &wanted {
            match snap.segment_of(id) {
                Some(s)
                    if state.segments[s].reader.position(id)?.is_some()
                        && state.segments[s].is_live(id) =>
                {
                    per_segment[s].insert(id);
                }
                _ => already += 1,
            }
        }
        let count: u64 = per_segment.iter().map(|b| b.len()).sum();
        let report = DeleteReport {
            deleted: count,
            already_deleted: already,
        };
        if count == 0 {
            return Ok(report);
        }
        let generation = state.manifest.generation + 1;
        let mut manifest = state.manifest.clone();
        manifest.generation = generation;
        let mut segments = state.segments.clone();
        for (s, new) in per_segment.iter().enumerate() {
            if new.is_empty() {
                continue;
            }
            let all = &state.segments[s].deleted | new;
            let file = names::delete_name(&manifest.segments[s].file, generation);
            write_atomically_with(
                self.io.as_ref(),
                &self.dir.join(&file),
                &deletes::to_bytes(&all),
            )?;
            manifest.segments[s].deletes = Some(file);
            segments[s] = Arc::new(state.segments[s].with_deleted(all));
        }
        self.commit(manifest, segments)?;
        Ok(report)
    }
}
