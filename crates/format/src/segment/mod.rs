//! A segment file's bytes: header, record frames, footer, file names, and the one rule that
//! decides whether a damaged end is a torn tail or damage (FORMAT.md §3–§5).

pub mod footer;
pub mod header;
pub mod live;
pub mod name;
pub mod scan;
pub mod verdict;

pub use footer::SegmentFooter;
pub use header::{SEGMENT_FORMAT_VERSION, SegmentHeader};
