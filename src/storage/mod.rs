//! Storage: encoded series → an immutable, checksummed segment file, and back through mmap.
//!
//! The byte layout is specified in `format-spec/FORMAT.md`; [`segment::layout`] mirrors its
//! tables by name. [`segment::writer`] serializes, [`segment::reader`] validates and reads in place.

pub mod block_cache;
pub(crate) mod cache;
pub mod commit;
pub mod deletes;
pub mod faults;
pub mod io;
pub mod manifest;
pub mod names;
pub mod segment;
