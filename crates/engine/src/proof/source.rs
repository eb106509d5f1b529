//! Subtree roots for proofs from segment headers, footers and the few segments a proof
//! touches: [`LogSubtrees`].
//!
//! Every segment header carries the frontier at the segment's start: the roots of the maximal
//! perfect subtrees of the prefix before it. Every perfect aligned subtree that ends at or
//! before some segment start is either one of those roots or lies inside one, and the
//! top-down recursion below meets the enclosing root first, so the big subtrees of a proof
//! cost nothing. Only subtrees that lie inside a segment and are not a header root (the
//! siblings near the proven leaf and near the tree's right edge, or the old tree's edge of a
//! consistency proof) need leaf hashes, which are recomputed from that segment alone
//! (CRCs checked, and a sealed segment's leaves checked against its footer's root). So a proof
//! reads the headers and footers of all segments (what a read-only open reads anyway) plus
//! the records of at most a few segments, instead of verifying the whole log.
//!
//! The headers and footers of segments whose records are not read are trusted as far as the
//! read-only open checks them (each header's tree head equals the previous footer's): a proof
//! is always consistent with the tree head it is printed with, and `prove_*` checks it
//! against that head before returning it, so inconsistent headers surface as an error instead
//! of a proof that fails elsewhere. Whether that head is the log's true history is what
//! `verify` and signed checkpoints establish.

use super::leaf_cache;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::fs::FileSystem;
use crate::merkle::{Hash, SubtreeSource, node_hash, root_from_leaves, subtree_ranges};
use crate::segment::Segment;
use crate::segment::scan::End;
use crate::verify::{SegmentJob, check_segment};
use crate::view::View;
use std::collections::HashMap;
use std::sync::Arc;

/// One segment's place in the tree.
struct SegmentSpan {
    segment: Arc<Segment>,
    first: u64,
    /// One past its last committed record.
    end: u64,
    newest: bool,
}

/// A [`SubtreeSource`] over a log's committed records (see the module docs).
pub(crate) struct LogSubtrees {
    spans: Vec<SegmentSpan>,
    /// Known roots of leaf ranges `[start, end)`: header frontier nodes, prefix roots from
    /// headers and footers, and every root computed so far.
    memo: HashMap<(u64, u64), Hash>,
    /// Leaf hashes of the segments read so far, by index into `spans`.
    leaves: HashMap<usize, Vec<Hash>>,
    /// Where leaf caches of sealed segments are written; `None`: not written.
    cache_fs: Option<Arc<dyn FileSystem>>,
    /// Segments whose records were read and hashed (the rest came from caches).
    segments_scanned: usize,
    /// Whether the active segment's in-memory nodes (active.rs) may be used.
    use_memory: bool,
}

impl LogSubtrees {
    /// Prepares a source over the committed records of `view` (from a read-only open).
    pub(crate) fn new(view: &View) -> LogSubtrees {
        let mut memo = HashMap::new();
        let mut spans = Vec::with_capacity(view.segments.len());
        let count = view.segments.len();
        for (i, segment) in view.segments.iter().enumerate() {
            let frontier = &segment.header.frontier;
            for (range, node) in subtree_ranges(frontier.size()).zip(frontier.nodes()) {
                memo.insert(range, *node);
            }
            if frontier.size() > 0 {
                memo.insert((0, frontier.size()), frontier.root());
            }
            let footer = segment.footer();
            if let Some(f) = footer
                && f.tree_head.size > 0
            {
                memo.insert((0, f.tree_head.size), f.tree_head.root);
            }
            let end = view
                .segments
                .get(i + 1)
                .map_or(view.end_seq, |next| next.first_seq())
                .min(view.end_seq);
            spans.push(SegmentSpan {
                segment: Arc::clone(segment),
                first: segment.first_seq(),
                end,
                newest: i + 1 == count,
            });
        }
        // A head left to be computed is computed from these subtrees instead.
        if let Some(head) = view.tree_head.known()
            && head.size > 0
        {
            memo.insert((0, head.size), head.root);
        }
        LogSubtrees {
            spans,
            memo,
            leaves: HashMap::new(),
            cache_fs: None,
            segments_scanned: 0,
            use_memory: false,
        }
    }

    /// Answers subtrees inside the active segment from its in-memory nodes (active.rs),
    /// filling them from one scan of the segment if they do not cover it yet.
    pub(crate) fn use_active_tree(mut self) -> Self {
        self.use_memory = true;
        self
    }

    /// Writes the leaf cache (leaf_cache.rs) of each sealed segment whose records it reads,
    /// through `fs`, best-effort.
    pub(crate) fn write_leaf_caches(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.cache_fs = Some(fs);
        self
    }

    /// How many segments' leaf hashes were needed (from caches or records).
    #[cfg(test)]
    pub(crate) fn segments_read(&self) -> usize {
        self.leaves.len()
    }

    /// First sequence numbers of the segments whose leaf hashes were needed.
    #[cfg(test)]
    pub(crate) fn segments_read_starts(&self) -> Vec<u64> {
        let mut starts: Vec<u64> = self.leaves.keys().map(|&i| self.spans[i].first).collect();
        starts.sort_unstable();
        starts
    }

    /// How many segments' records were read and hashed (leaf caches missing or invalid).
    #[cfg(test)]
    pub(crate) fn segments_scanned(&self) -> usize {
        self.segments_scanned
    }

    /// The leaf hashes of the segment starting at `first_seq`, checked as [`Self::leaf`]'s
    /// are (for a sealed segment: the header's frontier through every leaf gives the
    /// footer's root).
    pub(crate) fn leaves_of(&mut self, first_seq: u64) -> Result<Vec<Hash>> {
        let i = self
            .spans
            .iter()
            .position(|s| s.first == first_seq)
            .ok_or(Error::NotFound {
                seq: first_seq,
                first: self.spans.first().map_or(0, |s| s.first),
                end: self.spans.last().map_or(0, |s| s.end),
            })?;
        let leaves = self.read_leaves(i)?;
        let segment = &self.spans[i].segment;
        if let Some(footer) = segment.footer() {
            let mut frontier = segment.header.frontier.clone();
            for leaf in &leaves {
                frontier.push(*leaf);
            }
            if frontier.tree_head() != footer.tree_head {
                return Err(self.too_few_records(i));
            }
        }
        Ok(leaves)
    }

    /// The leaf hash of record `seq`.
    pub(crate) fn leaf(&mut self, seq: u64) -> Result<Hash> {
        self.subtree_root(seq, seq + 1)
    }

    /// The root of the tree of the first `size` records.
    pub(crate) fn prefix_root(&mut self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(crate::merkle::empty_root());
        }
        self.subtree_root(0, size)
    }

    /// The index of the segment holding all of `[start, end)`, if one does.
    fn segment_holding(&self, start: u64, end: u64) -> Option<usize> {
        let i = self
            .spans
            .partition_point(|s| s.first <= start)
            .checked_sub(1)?;
        let span = &self.spans[i];
        (end <= span.end).then_some(i)
    }

    /// Whether a segment (whose header holds the frontier at `seq`) starts at `seq`.
    fn starts_segment(&self, seq: u64) -> bool {
        self.spans.binary_search_by_key(&seq, |s| s.first).is_ok()
    }

    /// The root of `[start, end)` inside segment `i`, from its recomputed leaf hashes.
    fn root_in_segment(&mut self, i: usize, start: u64, end: u64) -> Result<Hash> {
        if let Some(hash) = self.root_from_active_tree(i, start, end)? {
            return Ok(hash);
        }
        if !self.leaves.contains_key(&i) {
            let leaves = self.read_leaves(i)?;
            self.leaves.insert(i, leaves);
        }
        let first = self.spans[i].first;
        let leaves = self.leaves.get(&i).map_or(&[][..], Vec::as_slice);
        let range = (start - first) as usize..(end - first) as usize;
        match leaves.get(range) {
            Some(slice) if !slice.is_empty() => Ok(root_from_leaves(slice)),
            _ => Err(self.too_few_records(i)),
        }
    }

    /// The root of `[start, end)` from segment `i`'s in-memory nodes, if it is the active
    /// segment and they may be used. Leaves it does not know yet come from one scan of the
    /// segment; a scan that disagrees with the noted leaves is used alone (`None` here).
    fn root_from_active_tree(&mut self, i: usize, start: u64, end: u64) -> Result<Option<Hash>> {
        let span = &self.spans[i];
        let segment = Arc::clone(&span.segment);
        let committed = span.end;
        let Some(tree) = segment.active_tree().filter(|_| self.use_memory) else {
            return Ok(None);
        };
        if !tree.covers(committed) && !self.leaves.contains_key(&i) {
            let leaves = self.scan_leaves(i)?;
            self.segments_scanned += 1;
            let agreed = tree.fill_from_scan(&leaves);
            self.leaves.insert(i, leaves);
            if !agreed {
                return Ok(None);
            }
        }
        Ok(tree.root(start, end, committed).ok())
    }

    /// The leaf hashes of segment `i`'s committed records: from its leaf cache if that is
    /// valid for it, else recomputed from the records (frames and CRCs checked, and for a
    /// sealed segment the root from the header's frontier through every leaf checked against
    /// the footer), then cached.
    fn read_leaves(&mut self, i: usize) -> Result<Vec<Hash>> {
        let span = &self.spans[i];
        let segment = Arc::clone(&span.segment);
        let footer = segment.footer();
        let cache = leaf_cache::cache_path(&segment.path);
        if let Some(footer) = footer
            && let Some(leaves) = leaf_cache::read(&cache, &segment.header, footer)
            && leaves.len() as u64 == span.end - span.first
        {
            return Ok(leaves);
        }
        let leaves = self.scan_leaves(i)?;
        self.segments_scanned += 1;
        if let (Some(fs), Some(footer)) = (&self.cache_fs, footer) {
            // Best-effort: the cache only saves time.
            let _ = leaf_cache::write(fs.as_ref(), &cache, &segment.header, footer, &leaves);
        }
        Ok(leaves)
    }

    fn scan_leaves(&self, i: usize) -> Result<Vec<Hash>> {
        let span = &self.spans[i];
        let sealed = span.segment.footer().is_some();
        let job = SegmentJob {
            path: span.segment.path.clone(),
            name_seq: Some(span.first),
            newest: span.newest,
        };
        let check = check_segment(job, false, true);
        let outcome = check.outcome.map_err(|c| Error::Corrupt(Box::new(c)))?;
        if let End::Damaged { offset, kind, .. } = &outcome.end
            && (sealed || outcome.end_seq() < span.end)
        {
            return Err(Error::Corrupt(Box::new(Corruption {
                file: span.segment.path.clone(),
                offset: *offset,
                seq: Some(outcome.end_seq()),
                kind: kind.clone(),
            })));
        }
        let wanted = (span.end - span.first) as usize;
        let mut leaves = check.leaves;
        if leaves.len() < wanted || (sealed && !matches!(outcome.end, End::Footer(_))) {
            return Err(self.too_few_records(i));
        }
        leaves.truncate(wanted);
        Ok(leaves)
    }

    /// Segment `i` holds fewer valid records than the log's headers and footers promise.
    fn too_few_records(&self, i: usize) -> Error {
        let span = &self.spans[i];
        Error::Corrupt(Box::new(Corruption {
            file: span.segment.path.clone(),
            offset: 0,
            seq: Some(span.first),
            kind: CorruptionKind::BadFooter(format!(
                "the segment holds fewer than the {} records its neighbours promise",
                span.end - span.first
            )),
        }))
    }
}

/// The largest power of two smaller than `n` (RFC 9162's split point), for `n > 1`.
pub(super) fn split_point(n: u64) -> u64 {
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

impl SubtreeSource for LogSubtrees {
    type Error = Error;

    fn subtree_root(&mut self, start: u64, end: u64) -> Result<Hash> {
        if let Some(hash) = self.memo.get(&(start, end)) {
            return Ok(*hash);
        }
        // A range ending where a segment starts is tiled by that segment header's frontier
        // nodes down to the part that is not (if any): split it rather than read leaves.
        let holder = match self.segment_holding(start, end) {
            Some(_) if end - start > 1 && self.starts_segment(end) => None,
            holder => holder,
        };
        let hash = match holder {
            Some(i) => self.root_in_segment(i, start, end)?,
            None if end - start > 1 => {
                let mid = start + split_point(end - start);
                let left = self.subtree_root(start, mid)?;
                let right = self.subtree_root(mid, end)?;
                node_hash(&left, &right)
            }
            None => {
                return Err(Error::NotFound {
                    seq: start,
                    first: self.spans.first().map_or(0, |s| s.first),
                    end: self.spans.last().map_or(0, |s| s.end),
                });
            }
        };
        self.memo.insert((start, end), hash);
        Ok(hash)
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
