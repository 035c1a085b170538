//! A segment file: header, table of contents, sections (FORMAT.md §2–§4).

pub mod block_table;
mod columns;
mod index_section;
pub mod layout;
pub mod raw;
pub mod reader;
pub mod residuals;
pub mod writer;

pub use reader::SegmentReader;
pub use writer::{write_segment, SegmentContents};
