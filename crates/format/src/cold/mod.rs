//! The cold (zstd-compressed) form of a sealed segment: its layout, its encoder, and a reader
//! that decodes it back to the hot segment's exact bytes (FORMAT.md §7).

pub mod format;
pub mod read;
pub mod write;

pub use read::{ColdSummary, check};
pub use write::CompressOptions;
