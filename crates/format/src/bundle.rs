//! A bundle's manifest (`manifest.json`, FORMAT.md §10): what an archive run wrote for one
//! sealed segment, so that the bundle can be checked alone, years later.

use crate::merkle::{TreeHead, to_hex};
use serde::{Deserialize, Serialize};

/// Name of a bundle's manifest object.
pub const MANIFEST_NAME: &str = "manifest.json";

/// A tree head in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadJson {
    /// Tree size.
    pub size: u64,
    /// Root, 64 hex digits.
    pub root: String,
}

impl From<TreeHead> for HeadJson {
    fn from(h: TreeHead) -> Self {
        HeadJson {
            size: h.size,
            root: to_hex(&h.root),
        }
    }
}

/// One file of a bundle in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileJson {
    /// Object name inside the bundle (a plain file name).
    pub name: String,
    /// `segment`, `index` (`.idx`), `hashes` (`.hashes` leaf-hash cache), `dictionary`, or
    /// `other` (any other file named after the segment). Only `segment` is acted on; bundles
    /// written before `hashes` existed list `.hashes` files as `index`, which is accepted.
    pub role: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3 of the content, 64 hex digits.
    pub blake3: String,
}

/// The manifest role of a file of the segment's family (FORMAT.md §10), from its name: the
/// derived files get roles of their own, so a reader of the manifest knows what each one is.
pub fn file_role(name: &str, is_segment: bool) -> &'static str {
    if is_segment {
        return "segment";
    }
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("idx") => "index",
        Some("hashes") => "hashes",
        _ => "other",
    }
}

/// A bundle's `manifest.json` (docs/FORMAT.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `auditlog-bundle`.
    pub format: String,
    /// Manifest version, 1.
    pub version: u32,
    /// The log's id, 32 hex digits.
    pub log_id: String,
    /// First sequence number in the bundle.
    pub first_seq: u64,
    /// One past the last.
    pub end_seq: u64,
    /// The tree head before the first record (size `first_seq`).
    pub start: HeadJson,
    /// The frontier of the tree of size `first_seq`, hex, left to right.
    pub start_frontier: Vec<String>,
    /// `recorded_at` of record `first_seq - 1` (ns; `i64::MIN` for none).
    pub prev_recorded_at: i64,
    /// The tree head after the last record.
    pub end: HeadJson,
    /// `recorded_at` of the first and last records (ns).
    pub first_recorded_at: i64,
    /// See `first_recorded_at`.
    pub last_recorded_at: i64,
    /// When the bundle was made (engine clock, ns).
    pub archived_at: i64,
    /// Every file of the bundle but the manifest.
    pub files: Vec<FileJson>,
}

/// The name of the bundle of segment `first_seq` of log `log_id`.
pub fn bundle_name(log_id: &[u8; 16], first_seq: u64) -> String {
    let hex = crate::meta::log_id_hex(log_id);
    format!("{hex}-{first_seq:020}")
}
