//! [`Snapshot`]: one commit of a database, read: series, labels, symbols and exports.

use std::sync::Arc;

use serde::Serialize;

use super::{Options, State};
use crate::codec::{self, Moments};
use crate::error::{Error, Result};
use crate::ids::{Generation, SeriesId};
use crate::ingest::Dataset;
use crate::storage::cache::OpenSegment;
use crate::storage::segment::layout::{self, SeriesRecord};

/// A consistent, read-only view of a database as of one commit. Cheap to clone; the segments
/// it holds stay readable whatever later commits do.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(super) state: Arc<State>,
}

/// What is stored of one series besides its values (FORMAT.md §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesInfo {
    /// The series id.
    pub id: SeriesId,
    /// Number of values.
    pub len: usize,
    /// ABBA pieces (0 when stored losslessly).
    pub pieces: u32,
    /// Mean μ of the original values, as stored: exact, or rounded to a step below `tol/64`
    /// of σ (FORMAT.md §4.3.2).
    pub mean: f64,
    /// Population standard deviation σ (0 for a constant series), as stored: exact, or rounded
    /// to 12 significant bits. Search normalises series with the stored μ and σ.
    pub std: f64,
    /// Upper bound of ε = ‖x − x̂‖₂, original units (0 when stored losslessly).
    pub eps: f64,
    /// Upper bound of max |x − x̂|, original units.
    pub max_abs_err: f64,
    /// Stored losslessly (the error budget could not be met symbolically, or at less cost).
    pub lossless: bool,
}

impl From<&SeriesRecord> for SeriesInfo {
    fn from(r: &SeriesRecord) -> Self {
        SeriesInfo {
            id: SeriesId(r.id),
            len: r.len as usize,
            pieces: r.pieces,
            mean: r.mean,
            std: r.std,
            eps: r.eps,
            max_abs_err: r.max_abs_err,
            lossless: r.kind == layout::storage_kind::LOSSLESS,
        }
    }
}

impl Snapshot {
    pub(super) fn new(state: Arc<State>) -> Snapshot {
        Snapshot { state }
    }

    /// The MANIFEST generation this snapshot sees.
    pub fn generation(&self) -> Generation {
        Generation(self.state.manifest.generation)
    }

    /// The options the database was built with.
    pub fn options(&self) -> &Options {
        &self.state.options
    }

    /// Index of the segment whose id range holds `id`.
    pub(super) fn segment_of(&self, id: u64) -> Option<usize> {
        let segs = &self.state.manifest.segments;
        let i = segs.partition_point(|s| s.last_id < id);
        (i < segs.len() && segs[i].first_id <= id).then_some(i)
    }

    /// The segment and position of a live series.
    fn locate(&self, id: SeriesId) -> Result<(&OpenSegment, usize)> {
        let missing = Error::NotFound(id);
        let s = self.segment_of(id.0).ok_or(Error::NotFound(id))?;
        let seg = &self.state.segments[s];
        let pos = seg.reader.position(id.0)?.ok_or(missing)?;
        if !seg.is_live(id.0) {
            return Err(Error::NotFound(id));
        }
        Ok((seg, pos))
    }

    /// Number of live series.
    pub fn len(&self) -> usize {
        self.state
            .segments
            .iter()
            .map(|s| s.reader.len().saturating_sub(s.deleted.len() as usize))
            .sum()
    }

    /// True when no series is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids of the live series, ascending. A segment whose ids are contiguous (as builds and
    /// appends write them) gives them from its id range; another's series table is read.
    pub fn ids(&self) -> Result<Vec<SeriesId>> {
        let mut out = Vec::new();
        for s in &self.state.segments {
            match s.reader.contiguous_ids() {
                Some((a, b)) => {
                    out.extend((a..=b).filter(|&i| s.is_live(i)).map(SeriesId));
                }
                _ => out.extend(
                    (s.reader.records()?.iter())
                        .filter(|r| s.is_live(r.id))
                        .map(|r| SeriesId(r.id)),
                ),
            }
        }
        Ok(out)
    }

    /// What is stored of every live series, in id order.
    pub fn series_info(&self) -> Result<Vec<SeriesInfo>> {
        Ok(self.records()?.iter().map(SeriesInfo::from).collect())
    }

    /// Records of the live series, in id order.
    pub(super) fn records(&self) -> Result<Vec<SeriesRecord>> {
        let mut out = Vec::new();
        for s in &self.state.segments {
            out.extend(s.reader.records()?.iter().filter(|r| s.is_live(r.id)));
        }
        Ok(out)
    }

    /// The reconstructed series `id`, in original units, with its stored length.
    ///
    /// Decodes the one symbol block (of about 16,000 symbols) and residual block that hold it,
    /// or, once a search has decoded its segment, only the series itself.
    pub fn get(&self, id: impl Into<SeriesId>) -> Result<Vec<f64>> {
        let (seg, pos) = self.locate(id.into())?;
        seg.reconstruct(pos)
    }

    /// The original values of series `id`, bit for bit (databases built with `keep_raw`).
    pub fn get_raw(&self, id: impl Into<SeriesId>) -> Result<Vec<f64>> {
        let (seg, pos) = self.locate(id.into())?;
        seg.raw_values(pos)
    }

    /// The label of series `id`.
    pub fn label(&self, id: impl Into<SeriesId>) -> Result<Option<String>> {
        let (seg, pos) = self.locate(id.into())?;
        Ok(seg.reader.label(pos)?.map(str::to_string))
    }

    /// The symbols of series `id` (empty when stored losslessly).
    pub fn symbols(&self, id: impl Into<SeriesId>) -> Result<Vec<u32>> {
        let (seg, pos) = self.locate(id.into())?;
        seg.reader.symbols(pos)
    }

    /// Every live series reconstructed, in id order, with its label.
    pub fn export(&self) -> Result<Dataset> {
        let mut out = Dataset::default();
        for seg in &self.state.segments {
            let r = seg.reader.records()?;
            seg.reader.for_each_decoded(|pos, values| {
                if seg.is_live(r[pos].id) {
                    out.series.push(values);
                    out.labels.push(seg.reader.label(pos)?.map(str::to_string));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// Every live series' original values, bit for bit, in id order with its label (databases
    /// built with `keep_raw`); each raw block is decoded once.
    pub fn export_raw(&self) -> Result<Dataset> {
        let mut out = Dataset::default();
        for seg in &self.state.segments {
            let mut block: Option<(usize, Vec<f64>)> = None;
            for (pos, r) in seg.reader.records()?.iter().enumerate() {
                if !seg.is_live(r.id) {
                    continue;
                }
                let (b, skip) = seg.reader.raw_location(pos)?;
                if block.as_ref().map(|x| x.0) != Some(b) {
                    block = Some((b, seg.reader.raw_block(b)?));
                }
                let values = block.as_ref().map_or(&[][..], |x| &x.1[..]);
                out.series
                    .push(values[skip..skip + r.len as usize].to_vec());
                out.labels.push(seg.reader.label(pos)?.map(str::to_string));
            }
        }
        Ok(out)
    }

    /// Every live series reconstructed and z-normalised with its stored mean and std (all zeros
    /// when σ = 0): the space that similarity search works in.
    pub fn export_normalized(&self) -> Result<Dataset> {
        let mut d = self.export()?;
        for (s, r) in d.series.iter_mut().zip(self.records()?) {
            codec::normalize_in_place(
                s,
                Moments {
                    mean: r.mean,
                    std: r.std,
                },
            );
        }
        Ok(d)
    }
}
