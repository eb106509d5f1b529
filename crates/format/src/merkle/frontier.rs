//! The frontier: the compact state of an append-only tree.
//!
//! A tree of `size` leaves is a sequence of perfect subtrees, one per set bit of `size`, largest
//! (leftmost) first. Their roots are all the writer needs to append leaves and to compute the
//! current root; they are also what must be kept when a prefix of the log is pruned so that
//! proofs for the rest stay valid (the "left frontier" of C2SP tlog-tiles).

use super::hash::{Hash, TreeHead, empty_root, node_hash};

/// Roots of the perfect subtrees covering leaves `[0, size)`, left to right.
///
/// Invariant: `nodes.len() == size.count_ones()`, and `nodes[i]` is the root of the subtree
/// over the `i`-th range yielded by [`subtree_ranges(size)`](subtree_ranges).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Default for Frontier {
    fn default() -> Self {
        Self::new()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Frontier {
            size: 0,
            nodes: Vec::new(),
        }
    }

    /// Rebuilds a frontier from a stored size and subtree roots (left to right).
    ///
    /// Returns `None` if `nodes.len()` is not the number of set bits of `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Frontier { size, nodes })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Subtree roots, left (largest) to right (smallest).
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf hash.
    ///
    /// Like incrementing a binary counter: each trailing one bit of `size` is a subtree of the
    /// same size as the carry, so the two merge. That costs one node hash per carry, two on
    /// average, and never allocates once the vector has grown to its high-water mark (at most
    /// 64 entries).
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) {
        assert!(
            self.size < u64::MAX,
            "a Merkle tree holds at most u64::MAX leaves"
        );
        self.merge(leaf, 0);
    }

    /// Appends `2^height` leaves at once, given the root of the perfect subtree over them:
    /// the same frontier as pushing them one by one (whose carries build that subtree first,
    /// then merge it as this does), for a caller that hashed the subtree in lanes. Returns
    /// `false`, changing nothing, unless the size is a multiple of `2^height` (the subtree
    /// must be aligned to be a node of the tree) and the leaves fit.
    pub fn push_subtree(&mut self, height: u32, root: Hash) -> bool {
        let Some(count) = 1u64.checked_shl(height) else {
            return false;
        };
        if !self.size.is_multiple_of(count) || self.size.checked_add(count).is_none() {
            return false;
        }
        self.merge(root, height);
        true
    }

    /// Adds `node`, the root of `2^height` leaves starting at the current size (a multiple
    /// of `2^height`, which the callers check): each set bit of the size above `height` has
    /// a left sibling on the frontier to hash it with, as carries in a binary addition.
    fn merge(&mut self, node: Hash, height: u32) {
        let mut carry = node;
        let mut bits = self.size >> height;
        while bits & 1 == 1 {
            // The invariant guarantees one node per set bit, so there is a left sibling here.
            let left = self
                .nodes
                .pop()
                .expect("frontier holds a node per set bit of its size");
            carry = node_hash(&left, &carry);
            bits >>= 1;
        }
        self.nodes.push(carry);
        self.size += 1 << height;
    }

    /// The root of the tree's first `size` leaves, where `self` is the frontier of the first
    /// `self.size()` and `later` the leaves after them, in order (only as many as needed are
    /// taken). `None` when `size` is below `self.size()` or `later` ends first. The one way
    /// the verifier and the engine's checkpoint signer recompute a prefix root from a
    /// segment's header frontier and its records.
    pub fn prefix_root(&self, size: u64, later: impl IntoIterator<Item = Hash>) -> Option<Hash> {
        let needed = usize::try_from(size.checked_sub(self.size)?).ok()?;
        let mut frontier = self.clone();
        for leaf in later.into_iter().take(needed) {
            frontier.push(leaf);
        }
        (frontier.size == size).then(|| frontier.root())
    }

    /// Root of the tree: the subtree roots folded from the right, `empty_root()` when empty.
    ///
    /// This matches RFC 9162 §2.1.1 because the split point of a tree of `size` leaves is exactly
    /// the largest subtree, so `MTH = node_hash(nodes[0], MTH(rest))` recursively.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(last, |acc, left| node_hash(left, &acc))
    }

    /// Size and root together.
    pub fn tree_head(&self) -> TreeHead {
        TreeHead {
            size: self.size,
            root: self.root(),
        }
    }
}

/// The leaf ranges `[start, end)` of the frontier subtrees of a tree of `size` leaves, left to
/// right: one per set bit of `size`, from the highest bit down.
pub fn subtree_ranges(size: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut start = 0u64;
    (0..u64::BITS).rev().filter_map(move |bit| {
        let width = 1u64 << bit;
        if size & width == 0 {
            return None;
        }
        let range = (start, start + width);
        start += width;
        Some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{leaf_hash, payload_digest, root_from_leaves};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(i, i as i64 * 1000, &payload_digest(&i.to_le_bytes())))
            .collect()
    }

    /// A perfect subtree pushed whole at an aligned size gives the frontier of its leaves
    /// pushed one by one; at an unaligned size it is refused and nothing changes.
    #[test]
    fn an_aligned_subtree_pushed_whole_equals_its_leaves_pushed_one_by_one() {
        let all = leaves(64 + 16 + 16);
        for (start, height) in [(0u64, 4u32), (16, 4), (64, 5), (0, 6), (32, 5)] {
            let n = 1usize << height;
            let end = start as usize + n;
            let mut one_by_one = Frontier::new();
            let mut whole = Frontier::new();
            for &leaf in &all[..start as usize] {
                one_by_one.push(leaf);
                whole.push(leaf);
            }
            for &leaf in &all[start as usize..end] {
                one_by_one.push(leaf);
            }
            let root = root_from_leaves(&all[start as usize..end]);
            assert!(whole.push_subtree(height, root), "{start} {height}");
            assert_eq!(whole, one_by_one, "{start} {height}");
            assert_eq!(whole.root(), root_from_leaves(&all[..end]));
        }
        let mut unaligned = Frontier::new();
        unaligned.push(all[0]);
        let before = unaligned.clone();
        assert!(!unaligned.push_subtree(4, root_from_leaves(&all[1..17])));
        assert_eq!(unaligned, before);
        assert!(!unaligned.push_subtree(64, all[0]));
    }

    #[test]
    fn root_matches_reference_for_every_size_up_to_300() {
        let all = leaves(300);
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        for n in 1..=300usize {
            f.push(all[n - 1]);
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.nodes().len(), n.count_ones() as usize);
            assert_eq!(f.root(), root_from_leaves(&all[..n]), "n={n}");
            assert_eq!(
                f.tree_head(),
                TreeHead {
                    size: n as u64,
                    root: f.root()
                }
            );
        }
    }

    #[test]
    fn nodes_are_roots_of_subtree_ranges() {
        let all = leaves(300);
        let mut f = Frontier::new();
        for n in 0..=300u64 {
            let ranges: Vec<_> = subtree_ranges(n).collect();
            assert_eq!(ranges.len(), f.nodes().len());
            let mut expect_start = 0;
            for (&(start, end), node) in ranges.iter().zip(f.nodes()) {
                assert_eq!(start, expect_start);
                assert!((end - start).is_power_of_two());
                assert_eq!(*node, root_from_leaves(&all[start as usize..end as usize]));
                expect_start = end;
            }
            assert_eq!(expect_start, n);
            if n < 300 {
                f.push(all[n as usize]);
            }
        }
    }

    #[test]
    fn subtree_ranges_extremes() {
        assert_eq!(subtree_ranges(0).count(), 0);
        let max: Vec<_> = subtree_ranges(u64::MAX).collect();
        assert_eq!(max.len(), 64);
        assert_eq!(max[0], (0, 1 << 63));
        assert_eq!(max[63], (u64::MAX - 1, u64::MAX));
    }

    #[test]
    fn from_parts_checks_node_count() {
        assert_eq!(Frontier::from_parts(0, vec![]), Some(Frontier::new()));
        assert_eq!(Frontier::from_parts(0, vec![[0; 32]]), None);
        assert_eq!(Frontier::from_parts(5, vec![[0; 32]]), None);
        assert!(Frontier::from_parts(5, vec![[0; 32]; 2]).is_some());
        assert!(Frontier::from_parts(u64::MAX, vec![[0; 32]; 64]).is_some());
    }

    #[test]
    fn restored_frontier_continues_like_the_original() {
        let all = leaves(100);
        let mut f = Frontier::new();
        for &l in &all[..37] {
            f.push(l);
        }
        let mut g = Frontier::from_parts(f.size(), f.nodes().to_vec()).unwrap();
        for &l in &all[37..] {
            g.push(l);
        }
        assert_eq!(g.root(), root_from_leaves(&all));
    }

    #[test]
    fn push_does_not_reallocate_after_high_water_mark() {
        let mut f = Frontier::new();
        for i in 0..1024u64 {
            f.push([i as u8; 32]);
        }
        let cap = f.nodes.capacity();
        let ptr = f.nodes.as_ptr();
        for i in 0..4096u64 {
            f.push([i as u8; 32]);
        }
        // Sizes 1024..5120 need at most 12 nodes (4095 has 12 set bits), within the capacity of 16
        // reached while growing to 1023 leaves (10 nodes).
        assert_eq!(f.nodes.capacity(), cap);
        assert_eq!(f.nodes.as_ptr(), ptr);
    }

    #[test]
    #[should_panic(expected = "at most u64::MAX leaves")]
    fn push_past_u64_max_panics() {
        let mut f = Frontier::from_parts(u64::MAX, vec![[0; 32]; 64]).unwrap();
        f.push([1; 32]);
    }
}
