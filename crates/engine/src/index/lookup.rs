//! What the query executor asks of a segment's index, sealed (file) or active (memory).

use crate::index::summary::Summary;

/// One posting of the actor or entity index: a record's position in its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Posting {
    /// Record number within the segment (`seq - first_seq`).
    pub rel: u32,
    /// Byte offset of the record's frame in the segment file.
    pub offset: u32,
}

/// Which key index to look in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyIndex {
    Actor,
    Entity,
}

/// An index file failed a check made as its parts are read (a block's CRC, or the order and
/// bounds of the entries read): the caller rebuilds the index from the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Damaged;

/// Lookups a segment index answers.
pub(crate) trait Lookup {
    /// Records indexed (a prefix of the segment).
    fn records(&self) -> u64;
    fn summary(&self) -> &Summary;
    /// Records filed under `key`, in ascending `rel` order (a superset: keys can collide).
    fn postings(&self, index: KeyIndex, key: u64) -> Result<Vec<Posting>, Damaged>;
    /// A record from which every record with `recorded_at >= since` follows: the
    /// `(rel, offset)` of the last sampled record with `recorded_at < since`, or the first.
    fn time_start(&self, since: i64) -> Result<Option<Posting>, Damaged>;
    /// A record number before which every record with `recorded_at < until` lies.
    fn time_end(&self, until: i64) -> Result<u64, Damaged>;
}
