//! The hash functions of the tree, its shape, and the reference root computation.
//!
//! Everything here is part of the on-disk contract (docs/FORMAT.md §4): changing a key, an input
//! layout or the split rule changes every root ever written.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 32-byte blake3 output: a payload digest, a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// Pads an ASCII label with zero bytes to a 32-byte blake3 key.
const fn key(label: &[u8]) -> [u8; 32] {
    assert!(label.len() <= 32, "a blake3 key is 32 bytes");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < label.len() {
        out[i] = label[i];
        i += 1;
    }
    out
}

/// blake3 key of leaf hashes: `"auditlog/v1/merkle-leaf"` followed by nine zero bytes.
pub const LEAF_KEY: [u8; 32] = key(b"auditlog/v1/merkle-leaf");

/// blake3 key of interior node hashes: `"auditlog/v1/merkle-node"` followed by nine zero bytes.
pub const NODE_KEY: [u8; 32] = key(b"auditlog/v1/merkle-node");

/// Plain (unkeyed) blake3 of an encoded event payload.
///
/// Producers compute this on their own thread so that the writer only hashes 48 bytes per leaf.
pub fn payload_digest(payload: &[u8]) -> Hash {
    *blake3::hash(payload).as_bytes()
}

/// Leaf hash of one record: keyed blake3 with [`LEAF_KEY`] over the 48 bytes
/// `seq (u64 LE) ‖ recorded_at_nanos (i64 LE) ‖ payload_digest`.
pub fn leaf_hash(seq: u64, recorded_at_nanos: i64, payload_digest: &Hash) -> Hash {
    let mut input = [0u8; 48];
    input[..8].copy_from_slice(&seq.to_le_bytes());
    input[8..16].copy_from_slice(&recorded_at_nanos.to_le_bytes());
    input[16..].copy_from_slice(payload_digest);
    *blake3::keyed_hash(&LEAF_KEY, &input).as_bytes()
}

/// Interior node hash: keyed blake3 with [`NODE_KEY`] over `left ‖ right` (64 bytes, one
/// blake3 compression).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(left);
    input[32..].copy_from_slice(right);
    *blake3::keyed_hash(&NODE_KEY, &input).as_bytes()
}

/// Root of the tree with no leaves: plain blake3 of the empty string (RFC 9162 `MTH({}) = HASH()`).
pub fn empty_root() -> Hash {
    *blake3::hash(b"").as_bytes()
}

/// The split point of RFC 9162 §2.1.1: the largest power of two strictly smaller than `n`.
///
/// `n` must be at least 2.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2, "only trees of two or more leaves are split");
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// Root of the tree over `leaves` (leaf hashes), straight from RFC 9162 §2.1.1.
///
/// This is the reference definition the faster paths ([`Frontier`](super::Frontier), stored
/// nodes) are tested against. It hashes each interior node once and recurses at most 64 deep.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            // A slice never holds more than isize::MAX elements, so these casts are lossless.
            let k = split_point(leaves.len() as u64) as usize;
            node_hash(
                &root_from_leaves(&leaves[..k]),
                &root_from_leaves(&leaves[k..]),
            )
        }
    }
}

/// A tree size and the root of the tree of that size: what a checkpoint commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// Root hash of the tree over those leaves ([`empty_root`] when `size` is 0).
    pub root: Hash,
}

impl TreeHead {
    /// The head of the tree with no leaves.
    pub fn empty() -> Self {
        TreeHead {
            size: 0,
            root: empty_root(),
        }
    }
}

impl fmt::Display for TreeHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tree size {} root {}", self.size, to_hex(&self.root))
    }
}

/// Lower-case hex of a hash (64 characters).
pub fn to_hex(h: &Hash) -> String {
    hex(h)
}

/// Lower-case hex of any bytes, two digits per byte: the one hex writer of the format (hashes,
/// log ids, key ids).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 * bytes.len());
    push_hex(bytes, &mut s);
    s
}

/// Appends the lower-case hex of `bytes` to `out` (what [`hex`] returns, without a `String`
/// of its own).
pub fn push_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 * bytes.len());
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Parses exactly 64 hex digits (either case) into a hash; `None` for anything else.
pub fn from_hex(s: &str) -> Option<Hash> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_labels() {
        assert_eq!(&LEAF_KEY[..23], b"auditlog/v1/merkle-leaf");
        assert_eq!(&NODE_KEY[..23], b"auditlog/v1/merkle-node");
        assert!(
            LEAF_KEY[23..]
                .iter()
                .chain(&NODE_KEY[23..])
                .all(|&b| b == 0)
        );
    }

    #[test]
    fn leaf_hash_input_layout() {
        let digest = payload_digest(b"payload");
        let mut input = Vec::new();
        input.extend_from_slice(&7u64.to_le_bytes());
        input.extend_from_slice(&(-3i64).to_le_bytes());
        input.extend_from_slice(&digest);
        assert_eq!(input.len(), 48);
        assert_eq!(
            leaf_hash(7, -3, &digest),
            *blake3::keyed_hash(&LEAF_KEY, &input).as_bytes()
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // A node over two halves and a leaf whose input starts with the same bytes differ,
        // and neither equals the plain hash of the same bytes.
        let a = [1u8; 32];
        let b = [2u8; 32];
        let mut concat = [0u8; 64];
        concat[..32].copy_from_slice(&a);
        concat[32..].copy_from_slice(&b);
        assert_ne!(node_hash(&a, &b), *blake3::hash(&concat).as_bytes());
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        let d = [3u8; 32];
        let leaf = leaf_hash(u64::from_le_bytes([1; 8]), i64::from_le_bytes([1; 8]), &d);
        let mut leaf_input = [0u8; 48];
        leaf_input[..16].copy_from_slice(&[1; 16]);
        leaf_input[16..].copy_from_slice(&d);
        assert_ne!(leaf, *blake3::hash(&leaf_input).as_bytes());
        assert_ne!(leaf, *blake3::keyed_hash(&NODE_KEY, &leaf_input).as_bytes());
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for n in 2u64..2000 {
            let k = split_point(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn small_tree_shapes() {
        let l: Vec<Hash> = (0..5u8).map(|i| [i; 32]).collect();
        assert_eq!(root_from_leaves(&[]), empty_root());
        assert_eq!(root_from_leaves(&l[..1]), l[0]);
        assert_eq!(root_from_leaves(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(
            root_from_leaves(&l[..3]),
            node_hash(&node_hash(&l[0], &l[1]), &l[2])
        );
        let four = node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3]));
        assert_eq!(root_from_leaves(&l[..4]), four);
        assert_eq!(root_from_leaves(&l[..5]), node_hash(&four, &l[4]));
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let h: Hash = std::array::from_fn(|i| (i * 37) as u8);
        let s = to_hex(&h);
        assert_eq!(s.len(), 64);
        assert_eq!(from_hex(&s), Some(h));
        assert_eq!(from_hex(&s.to_uppercase()), Some(h));
        assert_eq!(from_hex(&s[..62]), None);
        assert_eq!(from_hex(&format!("{s}00")), None);
        assert_eq!(from_hex(&format!("{}g", &s[..63])), None);
        assert_eq!(from_hex(&format!("+{}", &s[1..])), None);
        // 64 bytes but not 64 ASCII characters.
        assert_eq!(from_hex(&format!("é{}", &s[2..])), None);
    }

    #[test]
    fn tree_head_display() {
        let head = TreeHead {
            size: 3,
            root: [0xab; 32],
        };
        assert_eq!(
            head.to_string(),
            format!("tree size 3 root {}", "ab".repeat(32))
        );
        assert_eq!(TreeHead::empty().root, empty_root());
    }

    /// Known-answer vectors, repeated in docs/FORMAT.md §4; a change here is a format change.
    #[test]
    fn known_answers() {
        let hex = |h: Hash| to_hex(&h);
        let d_empty = payload_digest(b"");
        let leaves: Vec<Hash> = (0..7u64)
            .map(|i| {
                let payload = format!("event {i}");
                leaf_hash(
                    i,
                    1_700_000_000_000_000_000 + i as i64,
                    &payload_digest(payload.as_bytes()),
                )
            })
            .collect();
        let got = [
            hex(LEAF_KEY),
            hex(NODE_KEY),
            hex(empty_root()),
            hex(payload_digest(b"abc")),
            hex(leaf_hash(0, 0, &d_empty)),
            hex(node_hash(&[0; 32], &[0xff; 32])),
            hex(leaves[0]),
            hex(root_from_leaves(&leaves[..2])),
            hex(root_from_leaves(&leaves[..3])),
            hex(root_from_leaves(&leaves)),
        ];
        assert_eq!(got, KNOWN_ANSWERS.map(String::from));
    }

    const KNOWN_ANSWERS: [&str; 10] = [
        "61756469746c6f672f76312f6d65726b6c652d6c656166000000000000000000",
        "61756469746c6f672f76312f6d65726b6c652d6e6f6465000000000000000000",
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        "4803a2160757e490d5e47b40312016f49ff321d623533e295e900f8773da1f6d",
        "872738aa03b44e73d070a60bbab9b7cb6eecddcd1dfea6bdc90d98723cb8ee39",
        "dcce9ed09e1378bddcae295c1f51756d03abba7d433c6185cf544e2f20102e71",
        "dde59dafddb4890ee69f67e22e7610f27f15437eb50c7d2add5514a43c509924",
        "dde6d576d9f2a8c86c796ee87c2d243d953bc00fe1862ff4a7c75ab2f610ae96",
        "c566e175966e759ef11621a18852d13ee17e37a044a5f54ca856a238cc15d775",
    ];
}
