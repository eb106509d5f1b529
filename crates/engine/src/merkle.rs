//! The Merkle tree of a log, as an embedder meets it: tree heads, the frontier, leaf hashes,
//! and checking inclusion and consistency proofs without the log (docs/FORMAT.md §4).
//!
//! These are the format crate's (`auditlog_format::merkle`); its hashing keys and SIMD lanes
//! stay there, out of the engine's API.

pub use auditlog_format::merkle::{
    Frontier, Hash, LeafRangeError, LeafSlice, ProofError, SubtreeSource, TreeHead,
    consistency_path, empty_root, from_hex, inclusion_path, leaf_hash, node_hash, payload_digest,
    push_hex, root_from_leaves, subtree_ranges, to_hex, verify_consistency, verify_inclusion,
};
