//! The 64-bit keys under which the actor and entity indexes file records.
//!
//! A key is the first 8 bytes (little-endian) of the blake3 hash of a domain-separated
//! encoding of the value, so it is stable across builds and platforms (it is on disk).
//! Different values can share a key; lookups check every candidate record, so a collision
//! costs a wasted read, never a wrong answer.

/// The key of an actor id: blake3(`"auditlog actor\0"` ‖ id bytes).
pub(crate) fn actor_key(actor_id: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"auditlog actor\0");
    h.update(actor_id.as_bytes());
    first_u64(&h)
}

/// The key of an entity: blake3(`"auditlog entity\0"` ‖ u32 LE byte length of the type ‖
/// type bytes ‖ id bytes). The length keeps ("ab","c") apart from ("a","bc").
pub(crate) fn entity_key(kind: &str, id: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"auditlog entity\0");
    h.update(&(kind.len() as u32).to_le_bytes());
    h.update(kind.as_bytes());
    h.update(id.as_bytes());
    first_u64(&h)
}

fn first_u64(h: &blake3::Hasher) -> u64 {
    let hash = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_separate_domains() {
        // Pinned: these values are on disk, so a change here is a format change.
        assert_eq!(actor_key("user:42"), actor_key("user:42"));
        assert_ne!(actor_key("order"), entity_key("order", ""));
        assert_ne!(entity_key("ab", "c"), entity_key("a", "bc"));
        let pinned = blake3::hash(b"auditlog actor\0user:42");
        let mut first = [0u8; 8];
        first.copy_from_slice(&pinned.as_bytes()[..8]);
        assert_eq!(actor_key("user:42"), u64::from_le_bytes(first));
    }
}
