//! A segment file: header, table of contents, sections (FORMAT.md §2–§4).

pub mod block_table;
mod codebook;
mod block_symbols;
mod columns;
mod corrections;
mod index_section;
mod labels;
pub mod layout;
mod params;
pub mod raw;
pub mod reader;
pub mod residuals;
mod series;
mod symbols;
mod toc;
pub mod writer;

/// What a section parser returns: the value, or an offset inside the section and what is wrong
/// there (the reader adds the section's name and offset in the file).
type SectionResult<T> = std::result::Result<T, (u64, String)>;

pub use reader::SegmentReader;
pub use writer::{write_segment_with, RawBuilder, RawSection, SegmentContents};
