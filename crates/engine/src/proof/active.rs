//! The Merkle nodes of the active segment, kept in memory so that a proof about a record in
//! it costs O(log n) lookups instead of rehashing the whole segment: [`ActiveTree`].
//!
//! The writer notes each record's leaf hash as it frames the record (one push under a lock,
//! no hashing: the writer already computed the hash for its frontier). Proof generation
//! extends the interior nodes (every perfect subtree aligned in the *global* tree that lies
//! inside the segment) up to the committed end it proves against, so each node is hashed once
//! over the segment's life, and answers subtree roots from them.
//!
//! It is derived data and never outranks the log:
//! - only leaves below the published end are ever used (the writer notes a record's leaf
//!   before its group is written and published);
//! - the leaves are one contiguous run; a gap (a log opened on a segment that already had
//!   records, or a handle that follows another process's writer) is filled by rehashing the
//!   segment from disk once, and where the scanned leaves overlap the noted ones they must be
//!   equal, else nothing is kept;
//! - every proof built from it is checked against the tree head it is printed with (the
//!   writer's frontier root, and the signed checkpoint if one is attached), and the proven
//!   record's leaf is recomputed from the bytes on disk (`proof::prove_with`). A proof that
//!   fails those checks is rebuilt from the segment files alone and the tree is dropped.
//!
//! Memory: 32 bytes per record of the active segment for the leaves, about as much again for
//! the interior nodes (a 64 MiB segment of 300-byte events: about 14 MiB). The tree is dropped
//! with the segment when it is sealed; sealed segments use the leaf-cache files
//! (leaf_cache.rs).

use super::source::split_point;
use crate::merkle::{Hash, node_hash};
use parking_lot::{Mutex, RwLock};

/// The leaf hashes and interior nodes of an active segment (see the module docs).
#[derive(Debug)]
pub(crate) struct ActiveTree {
    /// The segment's first sequence number.
    first: u64,
    /// The contiguous run of known leaf hashes; the writer pushes onto it.
    leaves: RwLock<LeafRun>,
    /// Interior nodes, extended by proof generation only.
    upper: Mutex<Levels>,
}

#[derive(Debug, Default)]
struct LeafRun {
    /// Sequence number of `hashes[0]`; `None` until a leaf is known.
    start: Option<u64>,
    hashes: Vec<Hash>,
}

impl LeafRun {
    fn end(&self) -> Option<u64> {
        self.start.map(|s| s + self.hashes.len() as u64)
    }
}

/// `levels[k - 1]` holds the nodes of height `k` (covering `2^k` leaves) inside the segment:
/// node `j` of height `k` covers leaves `[j << k, (j + 1) << k)`; the first kept is
/// `first_node(k)`, and they are contiguous.
#[derive(Debug, Default)]
struct Levels {
    levels: Vec<Vec<Hash>>,
    /// The leaf end up to which `levels` is complete.
    built_to: u64,
}

/// Why a subtree root could not be answered from memory: the caller reads the segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Missing;

impl ActiveTree {
    /// The tree of an active segment starting at `first` whose records so far (if any) are
    /// not known: the writer's next push (or a scan) starts the run.
    pub(crate) fn new(first: u64) -> Self {
        ActiveTree {
            first,
            leaves: RwLock::new(LeafRun::default()),
            upper: Mutex::new(Levels {
                levels: Vec::new(),
                built_to: first,
            }),
        }
    }

    /// Notes the leaf hashes of records `first..`, which the writer just committed. Leaves
    /// that do not continue the run (cannot happen with one writer appending in order)
    /// restart it at `first`.
    pub(crate) fn note_leaves(&self, first: u64, leaves: &[Hash]) {
        if leaves.is_empty() {
            return;
        }
        let mut run = self.leaves.write();
        if run.end() != Some(first) {
            run.start = Some(first);
            run.hashes.clear();
        }
        run.hashes.extend_from_slice(leaves);
    }

    /// Notes the leaf hash of record `seq` alone (see [`note_leaves`](Self::note_leaves)).
    #[cfg(test)]
    pub(crate) fn note_leaf(&self, seq: u64, leaf: Hash) {
        self.note_leaves(seq, &[leaf]);
    }

    /// Whether every leaf of `[first, end)` is known.
    pub(crate) fn covers(&self, end: u64) -> bool {
        let run = self.leaves.read();
        run.start == Some(self.first) && run.end().is_some_and(|e| e >= end)
    }

    /// Installs the leaves of `[first, first + scanned.len())` rehashed from the segment file.
    /// Where they overlap leaves already noted they must agree; otherwise nothing changes and
    /// `false` is returned (the caller then trusts the scan alone).
    pub(crate) fn fill_from_scan(&self, scanned: &[Hash]) -> bool {
        let mut run = self.leaves.write();
        let scanned_end = self.first + scanned.len() as u64;
        match run.start {
            Some(start) if start == self.first => {
                let overlap = run.hashes.len().min(scanned.len());
                if run.hashes[..overlap] != scanned[..overlap] {
                    return false;
                }
                if scanned.len() > run.hashes.len() {
                    let extra = &scanned[run.hashes.len()..];
                    run.hashes.extend_from_slice(extra);
                }
                true
            }
            Some(start) if start >= self.first && start <= scanned_end => {
                let offset = (start - self.first) as usize;
                let overlap = run.hashes.len().min(scanned.len() - offset);
                if run.hashes[..overlap] != scanned[offset..offset + overlap] {
                    return false;
                }
                let mut merged = scanned[..offset].to_vec();
                merged.append(&mut run.hashes);
                if merged.len() < scanned.len() {
                    merged.extend_from_slice(&scanned[merged.len()..]);
                }
                run.hashes = merged;
                run.start = Some(self.first);
                true
            }
            Some(_) => false,
            None => {
                run.start = Some(self.first);
                run.hashes = scanned.to_vec();
                true
            }
        }
    }

    /// Forgets everything (after a proof built from it failed its checks).
    pub(crate) fn clear(&self) {
        let mut run = self.leaves.write();
        run.start = None;
        run.hashes = Vec::new();
        let mut upper = self.upper.lock();
        upper.levels.clear();
        upper.built_to = self.first;
    }

    /// The first node of height `k` lying inside the segment.
    fn first_node(&self, k: u32) -> u64 {
        self.first.div_ceil(1 << k)
    }

    /// Builds the interior nodes of the leaves below `end` (which [`covers`](Self::covers)).
    /// The leaves needed are copied out of the run first, so the writer is not held up while
    /// this hashes.
    fn extend(&self, levels: &mut Levels, end: u64) {
        if end <= levels.built_to {
            return;
        }
        let next1 = self.first_node(1) + levels.levels.first().map_or(0, |l| l.len() as u64);
        let from = (next1 * 2).max(self.first);
        let copied: Vec<Hash> = {
            let run = self.leaves.read();
            let lo = (from - self.first) as usize;
            let hi = (end - self.first) as usize;
            run.hashes
                .get(lo..hi)
                .map(<[Hash]>::to_vec)
                .unwrap_or_default()
        };
        let mut k = 1u32;
        while k < 64 && (self.first_node(k) + 1) << k <= end {
            if levels.levels.len() < k as usize {
                levels.levels.push(Vec::new());
            }
            let (below, this) = levels.levels.split_at_mut(k as usize - 1);
            let this = &mut this[0];
            let below_first = self.first_node(k - 1);
            let mut j = self.first_node(k) + this.len() as u64;
            while (j + 1) << k <= end {
                let pair = if k == 1 {
                    let at = (2 * j - from) as usize;
                    copied.get(at).zip(copied.get(at + 1))
                } else {
                    let level = &below[k as usize - 2];
                    let at = (2 * j - below_first) as usize;
                    level.get(at).zip(level.get(at + 1))
                };
                let Some((l, r)) = pair else { break };
                this.push(node_hash(l, r));
                j += 1;
            }
            k += 1;
        }
        levels.built_to = end;
    }

    /// The root of the leaf range `[start, end)` (inside the segment, below `committed`, all
    /// covered), from stored nodes where the range is a perfect aligned subtree and split as
    /// RFC 9162 does where it is not.
    pub(crate) fn root(&self, start: u64, end: u64, committed: u64) -> Result<Hash, Missing> {
        if start < self.first || end > committed || start >= end || !self.covers(committed) {
            return Err(Missing);
        }
        let mut levels = self.upper.lock();
        self.extend(&mut levels, committed);
        self.root_in(&levels, start, end)
    }

    fn root_in(&self, levels: &Levels, start: u64, end: u64) -> Result<Hash, Missing> {
        let n = end - start;
        if n == 1 {
            let run = self.leaves.read();
            return run
                .hashes
                .get((start - self.first) as usize)
                .copied()
                .ok_or(Missing);
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let k = n.trailing_zeros();
            let j = start >> k;
            if let Some(hash) = levels
                .levels
                .get(k as usize - 1)
                .and_then(|l| l.get((j - self.first_node(k)) as usize))
            {
                return Ok(*hash);
            }
        }
        let mid = start + split_point(n);
        let left = self.root_in(levels, start, mid)?;
        let right = self.root_in(levels, mid, end)?;
        Ok(node_hash(&left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, payload_digest, root_from_leaves};

    fn leaves(first: u64, n: u64) -> Vec<Hash> {
        (first..first + n)
            .map(|s| leaf_hash(s, 0, &payload_digest(&s.to_le_bytes())))
            .collect()
    }

    /// Every range inside the segment, answered from memory as the writer goes, equals the
    /// root computed from the leaves; for several segment starts (aligned or not).
    #[test]
    fn roots_equal_roots_from_leaves_while_the_writer_appends() {
        for first in [0u64, 1, 5, 8, 13, 64] {
            let all = leaves(first, 70);
            let tree = ActiveTree::new(first);
            for (i, leaf) in all.iter().enumerate() {
                tree.note_leaf(first + i as u64, *leaf);
                let committed = first + i as u64 + 1;
                // Check a few ranges at each size, all of them at some sizes.
                let every = i % 17 == 0 || i + 1 == all.len();
                for a in first..committed {
                    for b in a + 1..=committed {
                        if every || b == committed {
                            let want =
                                root_from_leaves(&all[(a - first) as usize..(b - first) as usize]);
                            assert_eq!(
                                tree.root(a, b, committed),
                                Ok(want),
                                "first {first} [{a},{b}) at {committed}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_gap_is_filled_from_a_scan_and_a_disagreeing_scan_is_refused() {
        let all = leaves(3, 40);
        let tree = ActiveTree::new(3);
        // The writer resumes at record 23 of a segment whose first 20 records it did not note.
        for (i, leaf) in all.iter().enumerate().skip(20) {
            tree.note_leaf(3 + i as u64, *leaf);
        }
        assert!(!tree.covers(43));
        assert_eq!(tree.root(3, 43, 43), Err(Missing));
        let mut wrong = all[..25].to_vec();
        wrong[22] = [0; 32];
        assert!(
            !tree.fill_from_scan(&wrong),
            "a scan that disagrees with noted leaves"
        );
        assert!(!tree.covers(43));
        assert!(tree.fill_from_scan(&all[..25]));
        assert!(tree.covers(43));
        assert_eq!(tree.root(3, 43, 43), Ok(root_from_leaves(&all)));
        assert_eq!(tree.root(8, 16, 43), Ok(root_from_leaves(&all[5..13])));
        tree.clear();
        assert_eq!(tree.root(3, 43, 43), Err(Missing));
    }

    #[test]
    fn nothing_past_the_committed_end_or_outside_the_segment() {
        let tree = ActiveTree::new(4);
        for (i, leaf) in leaves(4, 8).iter().enumerate() {
            tree.note_leaf(4 + i as u64, *leaf);
        }
        assert_eq!(tree.root(4, 13, 12), Err(Missing));
        assert_eq!(tree.root(3, 8, 12), Err(Missing));
        assert!(tree.root(4, 12, 12).is_ok());
    }
}
