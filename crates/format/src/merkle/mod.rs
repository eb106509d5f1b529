//! The Merkle tree over the log: hashing, the append-only frontier, and proofs.
//!
//! The tree has the shape of RFC 9162 §2.1.1 (Certificate Transparency v2) but hashes with
//! keyed blake3 instead of SHA-256 with 0x00/0x01 prefixes, so the RFC's proof algorithms apply
//! unchanged while the roots are not checkable by standard CT tooling. docs/FORMAT.md §4 is the
//! normative, byte-exact description.
//!
//! - [`hash`]: [`leaf_hash`], [`node_hash`], [`root_from_leaves`], [`TreeHead`].
//! - [`frontier`]: [`Frontier`], the O(log n) state the writer keeps to append and to report
//!   the root.
//! - [`proof`]: inclusion and consistency proofs, generated from any [`SubtreeSource`].
//!
//! ```
//! use auditlog_format::merkle::{
//!     Frontier, LeafSlice, consistency_path, inclusion_path, leaf_hash, payload_digest,
//!     verify_consistency, verify_inclusion,
//! };
//!
//! let leaves: Vec<_> = (0..10u64)
//!     .map(|seq| leaf_hash(seq, 1_700_000_000_000_000_000, &payload_digest(b"{}")))
//!     .collect();
//! let mut frontier = Frontier::new();
//! let mut heads = Vec::new();
//! for &leaf in &leaves {
//!     frontier.push(leaf);
//!     heads.push(frontier.tree_head());
//! }
//! let (old, new) = (heads[5], heads[9]); // sizes 6 and 10
//!
//! let path = inclusion_path(3, new.size, &mut LeafSlice(&leaves)).unwrap();
//! assert!(verify_inclusion(&leaves[3], 3, new.size, &path, &new.root).is_ok());
//!
//! let path = consistency_path(old.size, new.size, &mut LeafSlice(&leaves)).unwrap();
//! assert!(verify_consistency(&old, &new, &path).is_ok());
//! ```

pub mod frontier;
pub mod hash;
pub mod lanes;
// The AVX2 kernel of `lanes`: SIMD intrinsics need `unsafe` for their loads and stores.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod lanes_avx2;
pub mod proof;

pub use frontier::{Frontier, subtree_ranges};
pub use hash::{
    Hash, LEAF_KEY, NODE_KEY, TreeHead, empty_root, from_hex, leaf_hash, node_hash, payload_digest,
    push_hex, root_from_leaves, to_hex,
};
pub use proof::{
    LeafRangeError, LeafSlice, ProofError, SubtreeSource, consistency_path, inclusion_path,
    verify_consistency, verify_inclusion,
};
