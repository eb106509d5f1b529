//! Inclusion and consistency proofs: RFC 9162 §2.1.3 and §2.1.4, with our hash functions.
//!
//! Generation walks the tree from the root down and asks a [`SubtreeSource`] for the root of
//! each sibling subtree it needs, so the storage layer can answer from leaves, stored interior
//! nodes, or (below a pruned prefix) frontier nodes. Verification is the RFC's bit-twiddling
//! algorithm, step by step, plus an up-front check that the path has exactly the length the
//! generator produces, so that no hash in a proof goes unchecked.

use std::convert::Infallible;
use std::fmt;

use super::hash::{Hash, TreeHead, empty_root, node_hash, root_from_leaves, split_point};

/// Where proof generation gets subtree roots from.
pub trait SubtreeSource {
    /// Why a subtree root could not be produced (for example an I/O error or a pruned range).
    type Error;

    /// Root of the RFC 9162 subtree over leaves `[start, end)`; `end > start` always.
    ///
    /// # Errors
    /// Whatever prevents the source from producing the hash; it reaches the caller of the
    /// generation function as [`ProofError::Source`].
    ///
    /// Generation only asks for ranges that are sibling subtrees in the tree being proven:
    /// `[start, end)` is either a perfect subtree (power-of-two width, `start` a multiple of the
    /// width) or the right-hand edge of the tree, ending at its size.
    fn subtree_root(&mut self, start: u64, end: u64) -> Result<Hash, Self::Error>;
}

/// A [`SubtreeSource`] over leaf hashes held in memory; each call rehashes the range.
#[derive(Clone, Copy, Debug)]
pub struct LeafSlice<'a>(pub &'a [Hash]);

/// A [`LeafSlice`] was asked for leaves it does not hold: the tree size passed to proof
/// generation is larger than the slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafRangeError {
    /// First leaf asked for.
    pub start: u64,
    /// One past the last leaf asked for.
    pub end: u64,
    /// Number of leaves in the slice.
    pub len: u64,
}

impl fmt::Display for LeafRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "leaves {}..{} were asked for but only {} leaves are held",
            self.start, self.end, self.len
        )
    }
}

impl std::error::Error for LeafRangeError {}

impl SubtreeSource for LeafSlice<'_> {
    type Error = LeafRangeError;

    fn subtree_root(&mut self, start: u64, end: u64) -> Result<Hash, LeafRangeError> {
        let err = LeafRangeError {
            start,
            end,
            len: self.0.len() as u64,
        };
        let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(err);
        };
        match self.0.get(s..e) {
            Some(leaves) if s < e => Ok(root_from_leaves(leaves)),
            _ => Err(err),
        }
    }
}

/// Why a proof could not be generated or did not verify.
///
/// `E` is the [`SubtreeSource`]'s error during generation; verification never produces
/// [`ProofError::Source`] and uses the default `E = Infallible`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError<E = Infallible> {
    /// The leaf index is not inside the tree (`index >= size`). Remedy: ask for a tree size
    /// larger than the index, or check which tree head the index belongs to.
    IndexOutOfRange {
        /// The leaf index asked about.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A consistency proof was asked for from a larger tree to a smaller one.
    /// Remedy: pass the older (smaller) tree head first.
    SizeOrder {
        /// Size of the tree head given as the old one.
        old_size: u64,
        /// Size of the tree head given as the new one.
        new_size: u64,
    },
    /// The proof does not have the number of hashes the sizes (and index) call for: it was
    /// truncated, padded, or made for other sizes. The proof is rejected.
    WrongPathLength {
        /// Number of hashes a correct proof has.
        expected: usize,
        /// Number of hashes given.
        found: usize,
    },
    /// The root recomputed from the proof differs from the (new) tree head's root: the leaf is
    /// not in that tree, or the proof or tree head is forged or damaged.
    RootMismatch,
    /// The old tree's root recomputed from a consistency proof differs from the old tree
    /// head's root (or a size-0 head does not carry the empty root): the old head is not a
    /// prefix of the new tree, or the proof is forged or damaged.
    OldRootMismatch,
    /// The [`SubtreeSource`] failed to produce a subtree root during generation.
    Source(E),
}

impl<E: fmt::Display> fmt::Display for ProofError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is outside a tree of {size} leaves")
            }
            ProofError::SizeOrder { old_size, new_size } => write!(
                f,
                "the old tree ({old_size} leaves) is larger than the new tree ({new_size} leaves)"
            ),
            ProofError::WrongPathLength { expected, found } => write!(
                f,
                "the proof has {found} hashes where {expected} are required for these tree sizes"
            ),
            ProofError::RootMismatch => {
                f.write_str("the root computed from the proof does not match the tree head")
            }
            ProofError::OldRootMismatch => f.write_str(
                "the old root computed from the consistency proof does not match the old tree head",
            ),
            ProofError::Source(e) => write!(f, "reading a subtree hash for the proof failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ProofError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProofError::Source(e) => Some(e),
            _ => None,
        }
    }
}

/// Visits, top down, the sibling ranges of RFC 9162 PATH(index, D[0:size]) (§2.1.3.1).
/// The proof lists them bottom up.
fn walk_inclusion(index: u64, size: u64, mut visit: impl FnMut(u64, u64)) {
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            visit(mid, hi);
            hi = mid;
        } else {
            visit(lo, mid);
            lo = mid;
        }
    }
}

/// Visits, top down, the ranges of RFC 9162 PROOF(old, D[0:new]) = SUBPROOF(old, D[0:new],
/// true) (§2.1.4.1), for `0 < old < new`. The last range visited may be the old subtree itself
/// (when the recursion ended with `b == false`). The proof lists them in reverse order.
fn walk_consistency(old: u64, new: u64, mut visit: impl FnMut(u64, u64)) {
    let (mut lo, mut hi, mut m, mut whole_old_tree) = (0, new, old, true);
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            visit(lo + k, hi);
            hi = lo + k;
        } else {
            visit(lo, lo + k);
            lo += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    // SUBPROOF(m, D[m], false) = {MTH(D[m])}; with b == true the verifier already has it.
    if !whole_old_tree {
        visit(lo, hi);
    }
}

fn count(walk: impl FnOnce(&mut dyn FnMut(u64, u64))) -> usize {
    let mut n = 0;
    walk(&mut |_, _| n += 1);
    n
}

/// Asks `src` for the ranges a walk visits, and returns their roots in proof order (reversed).
fn collect<S: SubtreeSource>(
    walk: impl FnOnce(&mut dyn FnMut(u64, u64)),
    src: &mut S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let mut ranges = Vec::with_capacity(64);
    walk(&mut |start, end| ranges.push((start, end)));
    ranges
        .iter()
        .rev()
        .map(|&(start, end)| src.subtree_root(start, end).map_err(ProofError::Source))
        .collect()
}

/// Inclusion proof for leaf `index` in the tree of `size` leaves: RFC 9162 §2.1.3.1
/// `PATH(index, D[size])`, sibling roots from the leaf up.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] if `index >= size`; [`ProofError::Source`] if `src` fails.
pub fn inclusion_path<S: SubtreeSource>(
    index: u64,
    size: u64,
    src: &mut S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    collect(|v| walk_inclusion(index, size, v), src)
}

/// Consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves:
/// RFC 9162 §2.1.4.1 `PROOF(old_size, D[new_size])`. Empty when `old_size` is 0 or equals
/// `new_size`.
///
/// # Errors
/// [`ProofError::SizeOrder`] if `old_size > new_size`; [`ProofError::Source`] if `src` fails.
pub fn consistency_path<S: SubtreeSource>(
    old_size: u64,
    new_size: u64,
    src: &mut S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::SizeOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    collect(|v| walk_consistency(old_size, new_size, v), src)
}

/// Checks that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves whose root is
/// `root`: RFC 9162 §2.1.3.2, step by step.
///
/// The proof binds the leaf and index to the root; the size is bound only through the tree
/// head. A path can check out against a root paired with a size the root does not belong to
/// (leaf 0 has paths of the same shape in trees of 3 and 4 leaves), so take `size` and `root`
/// from one trusted (signed) tree head, never from separate sources.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongPathLength`] (checked before any
/// hashing: the path must have exactly the length [`inclusion_path`] produces), or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = count(|v| walk_inclusion(index, size, v));
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            found: path.len(),
        });
    }
    // Steps 2 and 3.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    // Step 4.
    for p in path {
        if snode == 0 {
            return Err(ProofError::WrongPathLength {
                expected,
                found: path.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    if snode != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            found: path.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree behind `old` is a prefix of the tree behind `new`: RFC 9162 §2.1.4.2,
/// step by step, for `0 < old.size < new.size`.
///
/// The cases outside the RFC's algorithm: `old.size > new.size` is rejected; for equal sizes
/// the path must be empty and the roots equal; for `old.size == 0` the path must be empty and
/// `old.root` must be [`empty_root`] (every tree extends the empty one).
///
/// As with [`verify_inclusion`], sizes are bound through the tree heads, so both heads must
/// be trusted as (size, root) pairs.
///
/// # Errors
/// [`ProofError::SizeOrder`], [`ProofError::WrongPathLength`] (the path must have exactly the
/// length [`consistency_path`] produces, so no extra hash can ride along unchecked),
/// [`ProofError::OldRootMismatch`] or [`ProofError::RootMismatch`].
pub fn verify_consistency(old: &TreeHead, new: &TreeHead, path: &[Hash]) -> Result<(), ProofError> {
    let (m, n) = (old.size, new.size);
    if m > n {
        return Err(ProofError::SizeOrder {
            old_size: m,
            new_size: n,
        });
    }
    if m == 0 || m == n {
        if !path.is_empty() {
            return Err(ProofError::WrongPathLength {
                expected: 0,
                found: path.len(),
            });
        }
        if m == 0 && old.root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        if m == n && old.root != new.root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // Step 1 (an empty path fails) is subsumed: every proof for 0 < m < n has a hash.
    let expected = count(|v| walk_consistency(m, n, v));
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            found: path.len(),
        });
    }
    // Step 2: for a power-of-two old size the old root is the proof's implicit first hash.
    let (seed, rest) = if m.is_power_of_two() {
        (old.root, path)
    } else {
        (path[0], &path[1..])
    };
    // Steps 3 and 4.
    let (mut fnode, mut snode) = (m - 1, n - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (seed, seed);
    // Step 6.
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongPathLength {
                expected,
                found: path.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            found: path.len(),
        });
    }
    if fr != old.root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != new.root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(i, 0, &[i as u8; 32])).collect()
    }

    #[test]
    fn generation_rejects_bad_arguments() {
        let l = leaves(4);
        let src = &mut LeafSlice(&l);
        assert_eq!(
            inclusion_path(4, 4, src),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            inclusion_path(0, 0, src),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            consistency_path(5, 4, src),
            Err(ProofError::SizeOrder {
                old_size: 5,
                new_size: 4
            })
        );
        assert_eq!(consistency_path(0, 4, src), Ok(vec![]));
        assert_eq!(consistency_path(4, 4, src), Ok(vec![]));
        // The slice holds 4 leaves; a tree of 6 needs more.
        assert_eq!(
            inclusion_path(0, 6, src),
            Err(ProofError::Source(LeafRangeError {
                start: 4,
                end: 6,
                len: 4
            }))
        );
    }

    #[test]
    fn leaf_slice_rejects_empty_and_out_of_range() {
        let l = leaves(4);
        let mut src = LeafSlice(&l);
        assert!(src.subtree_root(2, 2).is_err());
        assert!(src.subtree_root(3, 2).is_err());
        assert!(src.subtree_root(0, 5).is_err());
        assert!(src.subtree_root(u64::MAX - 1, u64::MAX).is_err());
        assert_eq!(src.subtree_root(0, 4), Ok(root_from_leaves(&l)));
    }

    #[test]
    fn single_leaf_tree() {
        let l = leaves(1);
        assert_eq!(inclusion_path(0, 1, &mut LeafSlice(&l)), Ok(vec![]));
        assert_eq!(verify_inclusion(&l[0], 0, 1, &[], &l[0]), Ok(()));
        assert_eq!(
            verify_inclusion(&l[0], 0, 1, &[], &[0; 32]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(&l[0], 0, 1, &[l[0]], &l[0]),
            Err(ProofError::WrongPathLength {
                expected: 0,
                found: 1
            })
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        // Verification of a bogus proof at the extremes must fail cleanly, not panic.
        let path = vec![[7u8; 32]; 64];
        assert!(verify_inclusion(&[1; 32], u64::MAX - 1, u64::MAX, &path, &[0; 32]).is_err());
        assert!(verify_inclusion(&[1; 32], 0, u64::MAX, &path, &[0; 32]).is_err());
        let old = TreeHead {
            size: u64::MAX - 1,
            root: [0; 32],
        };
        let new = TreeHead {
            size: u64::MAX,
            root: [0; 32],
        };
        assert!(verify_consistency(&old, &new, &path).is_err());
        let old = TreeHead {
            size: 1 << 63,
            root: [0; 32],
        };
        assert!(verify_consistency(&old, &new, &path).is_err());
    }

    #[test]
    fn errors_display_and_source() {
        use std::error::Error as _;
        let e: ProofError<LeafRangeError> = ProofError::Source(LeafRangeError {
            start: 1,
            end: 2,
            len: 0,
        });
        assert!(e.source().is_some());
        assert!(e.to_string().contains("only 0 leaves"));
        let e: ProofError = ProofError::WrongPathLength {
            expected: 3,
            found: 4,
        };
        assert!(e.source().is_none());
        assert_eq!(
            e.to_string(),
            "the proof has 4 hashes where 3 are required for these tree sizes"
        );
    }
}
