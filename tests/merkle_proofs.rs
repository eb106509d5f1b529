//! Merkle proofs end to end: inclusion and consistency proofs generated from leaves (and from a
//! pruned prefix's frontier) match a direct transcription of the RFC 9162 definitions, verify,
//! and stop verifying after any tampering: a flipped byte in any path hash, another index or
//! size, a truncated or extended path, or swapped roots.

use std::sync::OnceLock;

use auditlog::merkle::{
    Frontier, Hash, LeafSlice, ProofError, SubtreeSource, TreeHead, consistency_path,
    inclusion_path, leaf_hash, node_hash, payload_digest, root_from_leaves, subtree_ranges,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const MAX_LEAVES: u64 = 3000;

fn all_leaves() -> &'static [Hash] {
    static LEAVES: OnceLock<Vec<Hash>> = OnceLock::new();
    LEAVES.get_or_init(|| {
        (0..MAX_LEAVES)
            .map(|i| leaf_hash(i, 1_000 * i as i64, &payload_digest(&i.to_be_bytes())))
            .collect()
    })
}

fn head(size: u64) -> TreeHead {
    TreeHead {
        size,
        root: root_from_leaves(&all_leaves()[..size as usize]),
    }
}

/// RFC 9162 §2.1.1–2.1.4.1, transcribed literally (recursion over slices).
mod rfc {
    use super::*;

    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub fn mth(d: &[Hash]) -> Hash {
        root_from_leaves(d)
    }

    /// PATH(m, D[n]).
    pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n == 1 {
            return vec![];
        }
        let k = k(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// SUBPROOF(m, D[n], b).
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// PROOF(m, D[n]).
    pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
        if m == 0 || m == d.len() {
            vec![]
        } else {
            subproof(m, d, true)
        }
    }
}

/// What the storage layer has after pruning leaves `[0, cut)`: the frontier at `cut` and the
/// leaves from `cut` on. Ranges below the cut are answered by completing the frontier nodes
/// inside them with later leaves; anything else is an error.
struct PrunedSource<'a> {
    cut: u64,
    frontier: Frontier,
    leaves: &'a [Hash],
    calls: usize,
}

impl SubtreeSource for PrunedSource<'_> {
    type Error = String;

    fn subtree_root(&mut self, start: u64, end: u64) -> Result<Hash, String> {
        self.calls += 1;
        if start >= self.cut {
            return Ok(root_from_leaves(&self.leaves[start as usize..end as usize]));
        }
        // [start, upto) must be tiled by frontier nodes exactly as a tree of its width is.
        let upto = end.min(self.cut);
        let (ranges, nodes): (Vec<(u64, u64)>, Vec<Hash>) = subtree_ranges(self.cut)
            .zip(self.frontier.nodes())
            .filter(|&((s, e), _)| s >= start && e <= upto)
            .unzip();
        let tiling: Vec<(u64, u64)> = subtree_ranges(upto - start)
            .map(|(s, e)| (s + start, e + start))
            .collect();
        if ranges != tiling {
            return Err(format!("range {start}..{end} is inside the pruned prefix"));
        }
        let mut sub = Frontier::from_parts(upto - start, nodes).expect("one node per range");
        for &leaf in &self.leaves[upto as usize..end as usize] {
            sub.push(leaf);
        }
        Ok(sub.root())
    }
}

fn pruned(cut: u64) -> PrunedSource<'static> {
    let mut frontier = Frontier::new();
    for &l in &all_leaves()[..cut as usize] {
        frontier.push(l);
    }
    PrunedSource {
        cut,
        frontier,
        leaves: all_leaves(),
        calls: 0,
    }
}

/// Every way to damage an inclusion proof must be rejected.
fn assert_inclusion_tamper_fails(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) {
    for i in 0..path.len() {
        for byte in 0..32 {
            let mut bad = path.to_vec();
            bad[i][byte] ^= 0x01;
            assert_eq!(
                verify_inclusion(leaf, index, size, &bad, root),
                Err(ProofError::RootMismatch),
                "flipped byte {byte} of hash {i}"
            );
        }
    }
    let mut bad_leaf = *leaf;
    bad_leaf[0] ^= 0x80;
    assert!(verify_inclusion(&bad_leaf, index, size, path, root).is_err());
    let mut bad_root = *root;
    bad_root[31] ^= 0x80;
    assert!(verify_inclusion(leaf, index, size, path, &bad_root).is_err());
    if !path.is_empty() {
        assert!(verify_inclusion(leaf, index, size, &path[..path.len() - 1], root).is_err());
        assert!(verify_inclusion(leaf, index, size, &path[1..], root).is_err());
    }
    for extra in [[0u8; 32], *root, *leaf] {
        let mut longer = path.to_vec();
        longer.push(extra);
        assert!(verify_inclusion(leaf, index, size, &longer, root).is_err());
        longer.rotate_right(1);
        assert!(verify_inclusion(leaf, index, size, &longer, root).is_err());
    }
    for other in [index.wrapping_sub(1), index + 1, index ^ 1, index + size] {
        if other != index {
            assert!(
                verify_inclusion(leaf, other, size, path, root).is_err(),
                "index {other}"
            );
        }
    }
    // The path binds the leaf to the root; the size is bound only through the tree head. Paired
    // with this root, another size whose path has the same shape also "verifies" (leaf 0 of 3
    // and of 4 leaves), a head no honest log signs. Against the genuine head of another size the
    // proof fails unless it is that size's genuine proof as well.
    for other in [size - 1, size + 1, size * 2, size / 2] {
        if other == size || other > MAX_LEAVES {
            continue;
        }
        let d = &all_leaves()[..other as usize];
        let result = verify_inclusion(leaf, index, other, path, &root_from_leaves(d));
        if index >= other {
            assert_eq!(
                result,
                Err(ProofError::IndexOutOfRange { index, size: other })
            );
        } else {
            let genuine = inclusion_path(index, other, &mut LeafSlice(d)).unwrap();
            assert_eq!(result.is_ok(), genuine == path, "size {other}");
        }
    }
}

/// Every way to damage a consistency proof must be rejected.
fn assert_consistency_tamper_fails(old: &TreeHead, new: &TreeHead, path: &[Hash]) {
    for i in 0..path.len() {
        for byte in 0..32 {
            let mut bad = path.to_vec();
            bad[i][byte] ^= 0x01;
            assert!(
                verify_consistency(old, new, &bad).is_err(),
                "flipped byte {byte} of hash {i}"
            );
        }
    }
    if !path.is_empty() {
        assert!(verify_consistency(old, new, &path[..path.len() - 1]).is_err());
        assert!(verify_consistency(old, new, &path[1..]).is_err());
    }
    for extra in [[0u8; 32], old.root, new.root] {
        let mut longer = path.to_vec();
        longer.push(extra);
        assert!(verify_consistency(old, new, &longer).is_err());
        longer.rotate_right(1);
        assert!(verify_consistency(old, new, &longer).is_err());
    }
    let mut bad_old = *old;
    bad_old.root[0] ^= 1;
    assert!(verify_consistency(&bad_old, new, path).is_err());
    if old.size > 0 {
        // Every tree extends the empty one, so only a non-empty old head constrains the new root.
        let mut bad_new = *new;
        bad_new.root[0] ^= 1;
        assert!(verify_consistency(old, &bad_new, path).is_err());
    }
    let swapped_old = TreeHead {
        size: old.size,
        root: new.root,
    };
    let swapped_new = TreeHead {
        size: new.size,
        root: old.root,
    };
    if old.root != new.root {
        assert!(verify_consistency(&swapped_old, &swapped_new, path).is_err());
    }
    if old.size != new.size {
        assert!(verify_consistency(new, old, path).is_err());
    }
    // As for inclusion, sizes are bound through the tree heads: against the genuine heads of
    // other sizes the proof fails unless it is their genuine proof as well.
    let sizes = [
        (old.size + 1, new.size),
        (old.size.wrapping_sub(1), new.size),
        (old.size, new.size + 1),
        (old.size, new.size - 1),
    ];
    for (m, n) in sizes {
        if (m, n) == (old.size, new.size) || m > n || n > MAX_LEAVES {
            continue;
        }
        let genuine = consistency_path(m, n, &mut LeafSlice(&all_leaves()[..n as usize])).unwrap();
        let result = verify_consistency(&head(m), &head(n), path);
        assert_eq!(result.is_ok(), genuine == path, "sizes {m}, {n}");
    }
}

#[test]
fn every_proof_in_small_trees_matches_rfc_and_verifies() {
    let leaves = all_leaves();
    for n in 1..=64u64 {
        let d = &leaves[..n as usize];
        let new = head(n);
        for m in 0..n {
            let path = inclusion_path(m, n, &mut LeafSlice(d)).unwrap();
            assert_eq!(path, rfc::path(m as usize, d), "PATH({m}, D[{n}])");
            assert_eq!(
                verify_inclusion(&d[m as usize], m, n, &path, &new.root),
                Ok(())
            );
            assert_inclusion_tamper_fails(&d[m as usize], m, n, &path, &new.root);
        }
        for m in 0..=n {
            let old = head(m);
            let path = consistency_path(m, n, &mut LeafSlice(d)).unwrap();
            assert_eq!(path, rfc::proof(m as usize, d), "PROOF({m}, D[{n}])");
            assert_eq!(verify_consistency(&old, &new, &path), Ok(()), "m={m} n={n}");
            assert_consistency_tamper_fails(&old, &new, &path);
        }
    }
}

#[test]
fn proofs_above_a_pruned_prefix_come_from_the_frontier() {
    let leaves = all_leaves();
    for cut in [1u64, 5, 6, 8, 13, 32, 33] {
        let mut src = pruned(cut);
        for n in cut..=80 {
            for m in cut..n {
                let want = inclusion_path(m, n, &mut LeafSlice(leaves)).unwrap();
                assert_eq!(
                    inclusion_path(m, n, &mut src),
                    Ok(want),
                    "cut {cut} PATH({m},{n})"
                );
            }
            for m in cut..=n {
                let want = consistency_path(m, n, &mut LeafSlice(leaves)).unwrap();
                assert_eq!(
                    consistency_path(m, n, &mut src),
                    Ok(want),
                    "cut {cut} PROOF({m},{n})"
                );
            }
        }
        assert!(src.calls > 0);
    }
    // Below the cut the source refuses, and the refusal comes back as ProofError::Source.
    let mut src = pruned(8);
    assert!(matches!(
        inclusion_path(2, 20, &mut src),
        Err(ProofError::Source(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        (size, index) in (1..=MAX_LEAVES).prop_flat_map(|n| (Just(n), 0..n))
    ) {
        let d = &all_leaves()[..size as usize];
        let root = root_from_leaves(d);
        let path = inclusion_path(index, size, &mut LeafSlice(d)).unwrap();
        prop_assert_eq!(&path, &rfc::path(index as usize, d));
        prop_assert_eq!(verify_inclusion(&d[index as usize], index, size, &path, &root), Ok(()));
        assert_inclusion_tamper_fails(&d[index as usize], index, size, &path, &root);
        // Another leaf of the same tree is not proven by this path.
        let other = (index + 1) % size;
        if other != index {
            prop_assert!(verify_inclusion(&d[other as usize], index, size, &path, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        (new_size, old_size) in (1..=MAX_LEAVES).prop_flat_map(|n| (Just(n), 0..=n))
    ) {
        let d = &all_leaves()[..new_size as usize];
        let (old, new) = (head(old_size), head(new_size));
        let path = consistency_path(old_size, new_size, &mut LeafSlice(d)).unwrap();
        prop_assert_eq!(&path, &rfc::proof(old_size as usize, d));
        prop_assert_eq!(verify_consistency(&old, &new, &path), Ok(()));
        assert_consistency_tamper_fails(&old, &new, &path);
    }

    #[test]
    fn consistency_proof_for_other_sizes_does_not_verify(
        new_size in 2..=MAX_LEAVES, a in 1..MAX_LEAVES, b in 1..MAX_LEAVES,
    ) {
        let (a, b) = (a % new_size, b % new_size);
        prop_assume!(a != b && a > 0 && b > 0);
        let d = &all_leaves()[..new_size as usize];
        let path_a = consistency_path(a, new_size, &mut LeafSlice(d)).unwrap();
        let path_b = consistency_path(b, new_size, &mut LeafSlice(d)).unwrap();
        prop_assert_ne!(&path_a, &path_b);
        prop_assert!(verify_consistency(&head(b), &head(new_size), &path_a).is_err());
    }

    #[test]
    fn arbitrary_paths_are_rejected(
        size in 1..=MAX_LEAVES, index in 0..MAX_LEAVES, old_size in 0..MAX_LEAVES,
        path in prop::collection::vec(any::<[u8; 32]>(), 0..16),
    ) {
        let index = index % size;
        let old_size = old_size % size;
        let d = &all_leaves()[..size as usize];
        let root = root_from_leaves(d);
        let genuine = inclusion_path(index, size, &mut LeafSlice(d)).unwrap();
        prop_assume!(path != genuine);
        prop_assert!(verify_inclusion(&d[index as usize], index, size, &path, &root).is_err());
        let genuine = consistency_path(old_size, size, &mut LeafSlice(d)).unwrap();
        prop_assume!(path != genuine);
        prop_assert!(verify_consistency(&head(old_size), &head(size), &path).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn frontier_root_matches_reference(n in 0..100_000u64) {
        let mut frontier = Frontier::new();
        let mut leaves = Vec::with_capacity(n as usize);
        for i in 0..n {
            let leaf = leaf_hash(i, 0, &[0; 32]);
            leaves.push(leaf);
            frontier.push(leaf);
        }
        prop_assert_eq!(frontier.root(), root_from_leaves(&leaves));
        prop_assert_eq!(frontier.nodes().len(), n.count_ones() as usize);
    }
}

#[test]
fn rfc_example_tree_of_seven() {
    // RFC 9162 §2.1.5: the tree over d0..d6.
    let l = &all_leaves()[..7];
    let (a, b, c, d) = (l[0], l[1], l[2], l[3]);
    let (e, f, j) = (l[4], l[5], l[6]);
    let g = node_hash(&a, &b);
    let h = node_hash(&c, &d);
    let i = node_hash(&e, &f);
    let k = node_hash(&g, &h);
    let src = &mut LeafSlice(l);
    assert_eq!(
        inclusion_path(0, 7, src).unwrap(),
        vec![b, h, node_hash(&i, &j)]
    );
    assert_eq!(
        inclusion_path(3, 7, src).unwrap(),
        vec![c, g, node_hash(&i, &j)]
    );
    assert_eq!(inclusion_path(4, 7, src).unwrap(), vec![f, j, k]);
    assert_eq!(inclusion_path(6, 7, src).unwrap(), vec![i, k]);
    assert_eq!(
        consistency_path(3, 7, src).unwrap(),
        vec![c, d, g, node_hash(&i, &j)]
    );
    assert_eq!(
        consistency_path(4, 7, src).unwrap(),
        vec![node_hash(&i, &j)]
    );
    assert_eq!(consistency_path(6, 7, src).unwrap(), vec![i, j, k]);
}

#[test]
fn equal_and_empty_heads() {
    let root = root_from_leaves(&all_leaves()[..5]);
    let head = TreeHead { size: 5, root };
    let empty = TreeHead::empty();
    assert_eq!(verify_consistency(&head, &head, &[]), Ok(()));
    assert_eq!(verify_consistency(&empty, &empty, &[]), Ok(()));
    assert_eq!(verify_consistency(&empty, &head, &[]), Ok(()));
    assert_eq!(
        verify_consistency(&head, &head, &[root]),
        Err(ProofError::WrongPathLength {
            expected: 0,
            found: 1
        })
    );
    assert_eq!(
        verify_consistency(&empty, &head, &[root]),
        Err(ProofError::WrongPathLength {
            expected: 0,
            found: 1
        })
    );
    let other = TreeHead {
        size: 5,
        root: [0; 32],
    };
    assert_eq!(
        verify_consistency(&head, &other, &[]),
        Err(ProofError::RootMismatch)
    );
    let bad_empty = TreeHead {
        size: 0,
        root: [0; 32],
    };
    assert_eq!(
        verify_consistency(&bad_empty, &head, &[]),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(&empty, &bad_empty, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(&head, &empty, &[]),
        Err(ProofError::SizeOrder {
            old_size: 5,
            new_size: 0
        })
    );
}

#[test]
fn tree_size_is_bound_through_the_tree_head() {
    // RFC 9162 inclusion proofs do not commit to the tree size: leaf 0 has a path of the same
    // shape in trees of 3 and 4 leaves, so the size-3 proof checks against (4, root of 3).
    // Callers must take size and root from one trusted (signed) tree head.
    let d = &all_leaves()[..3];
    let root3 = root_from_leaves(d);
    let path = inclusion_path(0, 3, &mut LeafSlice(d)).unwrap();
    assert_eq!(verify_inclusion(&d[0], 0, 4, &path, &root3), Ok(()));
    assert_eq!(
        verify_inclusion(&d[0], 0, 4, &path, &head(4).root),
        Err(ProofError::RootMismatch)
    );
}

#[test]
fn node_hash_order_matters_in_proofs() {
    // A proof built with the children swapped at one level must fail: the verifier follows
    // the index bits, not whatever order would make the root come out.
    let d = &all_leaves()[..2];
    let root = node_hash(&d[0], &d[1]);
    assert_eq!(verify_inclusion(&d[0], 0, 2, &[d[1]], &root), Ok(()));
    assert_eq!(
        verify_inclusion(&d[1], 0, 2, &[d[0]], &root),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&d[0], 1, 2, &[d[1]], &root),
        Err(ProofError::RootMismatch)
    );
}
