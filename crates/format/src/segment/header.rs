//! The segment header: identity and the Merkle state at the segment's start.
//!
//! ```text
//! offset size field
//!      0    8 magic "AUDITSEG"
//!      8    2 format version (u16 LE) = 1
//!     10    2 flags (u16 LE) = 0
//!     12    4 header_len (u32 LE): total header bytes, checksum included
//!     16   16 log id
//!     32    8 first_seq (u64 LE): sequence number of the segment's first record
//!                                 = size of the Merkle tree before it
//!     40    8 created_at (i64 LE, ns since the Unix epoch, engine clock)
//!     48    8 prev_recorded_at (i64 LE): recorded_at of the record before first_seq,
//!                                 i64::MIN when there is none
//!     56   32 start_root: Merkle root of the tree of size first_seq
//!     88    4 frontier_len (u32 LE) = popcount(first_seq)
//!     92 32*k frontier: the roots of the perfect subtrees covering [0, first_seq), left to right
//!    ...    4 crc32 (IEEE) of every preceding header byte
//! ```

use crate::error::{CorruptionKind, Error, HeaderFault};
use crate::merkle::{Frontier, Hash};
use crate::record::{read_u32, read_u64};
use std::path::Path;

pub const SEGMENT_MAGIC: &[u8; 8] = b"AUDITSEG";
/// The segment format version this build writes and reads.
pub const SEGMENT_FORMAT_VERSION: u16 = 1;
const FIXED_LEN: usize = 92;
/// Where the flags field is, in the segment header and in the other files that share its
/// first 12 bytes' layout (magic, version, flags): `auditlog.meta` and `cuts.log`.
pub const FLAGS_OFFSET: usize = 10;
/// The longest possible header (64 frontier nodes).
pub const MAX_HEADER_LEN: usize = FIXED_LEN + 64 * 32 + 4;

/// A decoded segment header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The log this segment belongs to.
    pub log_id: [u8; 16],
    /// First sequence number in the segment (the tree size at its start).
    pub first_seq: u64,
    /// When the segment was created (engine clock, ns).
    pub created_at: i64,
    /// `recorded_at` of the record before this segment, `i64::MIN` if none.
    pub prev_recorded_at: i64,
    /// The Merkle tree state at the segment's start.
    pub frontier: Frontier,
}

impl SegmentHeader {
    /// Bytes the encoded header occupies; records start here.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN + 32 * self.frontier.nodes().len() + 4
    }

    /// The root of the tree at the segment's start.
    pub fn start_root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn encode(&self) -> Vec<u8> {
        let len = self.encoded_len();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(SEGMENT_MAGIC);
        out.extend_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&self.created_at.to_le_bytes());
        out.extend_from_slice(&self.prev_recorded_at.to_le_bytes());
        out.extend_from_slice(&self.start_root());
        out.extend_from_slice(&(self.frontier.nodes().len() as u32).to_le_bytes());
        for node in self.frontier.nodes() {
            out.extend_from_slice(node);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(out.len(), len);
        out
    }

    /// Decodes a header from the start of `bytes`. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let fixed = bytes.get(..FIXED_LEN).ok_or(HeaderError::Truncated)?;
        if &fixed[..8] != SEGMENT_MAGIC {
            return Err(HeaderError::BadMagic);
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        let header_len = read_u32(fixed, 12) as usize;
        let frontier_len = read_u32(fixed, 88) as usize;
        if frontier_len > 64 || header_len != FIXED_LEN + 32 * frontier_len + 4 {
            // Check the CRC first if we can, so a torn header reads as damage, not a version.
            return Err(HeaderError::Invalid(HeaderFault::LengthMismatch));
        }
        let all = bytes.get(..header_len).ok_or(HeaderError::Truncated)?;
        let (body, crc) = all.split_at(header_len - 4);
        let stored = read_u32(crc, 0);
        if crc32fast::hash(body) != stored {
            return Err(HeaderError::Invalid(HeaderFault::Checksum));
        }
        if version != SEGMENT_FORMAT_VERSION {
            return Err(HeaderError::UnsupportedVersion(version));
        }
        let flags = u16::from_le_bytes([fixed[10], fixed[11]]);
        if flags != 0 {
            return Err(HeaderError::UnknownFlags(flags));
        }
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&fixed[16..32]);
        let first_seq = read_u64(fixed, 32);
        let nodes: Vec<Hash> = body[FIXED_LEN..]
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect();
        let frontier = Frontier::from_parts(first_seq, nodes)
            .ok_or(HeaderError::Invalid(HeaderFault::Frontier))?;
        let header = SegmentHeader {
            log_id,
            first_seq,
            created_at: read_u64(fixed, 40) as i64,
            prev_recorded_at: read_u64(fixed, 48) as i64,
            frontier,
        };
        if first_seq == 0 && header.prev_recorded_at != i64::MIN {
            // No record precedes sequence 0; the writer always writes i64::MIN there, so any
            // other value is a forged or foreign header (FORMAT.md §2.1).
            return Err(HeaderError::Invalid(HeaderFault::PrevRecordedAtAtZero));
        }
        if header.start_root() != fixed[56..88] {
            return Err(HeaderError::Invalid(HeaderFault::StartRoot));
        }
        Ok(header)
    }
}

/// Why a header did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    Truncated,
    BadMagic,
    UnsupportedVersion(u16),
    /// The flags field (offset 10) is not 0.
    UnknownFlags(u16),
    Invalid(HeaderFault),
}

impl HeaderError {
    /// Offset of the offending field from the start of the header.
    pub fn offset(&self) -> u64 {
        match self {
            HeaderError::UnknownFlags(_) => FLAGS_OFFSET as u64,
            _ => 0,
        }
    }

    pub fn into_kind(self) -> CorruptionKind {
        match self {
            HeaderError::Truncated => CorruptionKind::BadHeader(HeaderFault::Truncated),
            HeaderError::BadMagic => CorruptionKind::BadMagic,
            HeaderError::UnsupportedVersion(found) => {
                CorruptionKind::BadHeader(HeaderFault::OtherVersion {
                    found,
                    supported: SEGMENT_FORMAT_VERSION,
                })
            }
            HeaderError::UnknownFlags(flags) => CorruptionKind::UnknownFlags { flags },
            HeaderError::Invalid(fault) => CorruptionKind::BadHeader(fault),
        }
    }
}

/// Refuses a segment whose header is intact but of a format version this build does not
/// read: that is [`Error::UnsupportedVersion`] (use a newer build), not damage. Called by the
/// readers that report errors per file (recovery, verify) before they scan `bytes`, the
/// start of the segment at `path`; any other header problem is left to the scan to report.
pub fn check_version(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    match SegmentHeader::decode(bytes) {
        Err(HeaderError::UnsupportedVersion(found)) => Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found,
            supported: SEGMENT_FORMAT_VERSION,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first_seq: u64) -> SegmentHeader {
        let mut frontier = Frontier::new();
        for i in 0..first_seq {
            frontier.push(crate::merkle::leaf_hash(i, 0, &[0; 32]));
        }
        SegmentHeader {
            log_id: [3; 16],
            first_seq,
            created_at: 5,
            // Nothing precedes sequence 0 (FORMAT.md §2.1).
            prev_recorded_at: if first_seq == 0 { i64::MIN } else { 4 },
            frontier,
        }
    }

    #[test]
    fn round_trips() {
        for n in [0, 1, 2, 7, 100] {
            let h = header(n);
            let bytes = h.encode();
            assert_eq!(bytes.len(), h.encoded_len());
            assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        }
    }

    /// Rewrites bytes of an encoded header and recomputes its CRC, as a forger would.
    fn forged(h: &SegmentHeader, at: usize, value: &[u8]) -> Vec<u8> {
        let mut bytes = h.encode();
        bytes[at..at + value.len()].copy_from_slice(value);
        let end = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn rejects_fields_the_crc_cannot_guard() {
        for flags in [1u16, 0x8000] {
            let err = SegmentHeader::decode(&forged(&header(7), 10, &flags.to_le_bytes()));
            assert_eq!(err, Err(HeaderError::UnknownFlags(flags)));
            assert_eq!(err.unwrap_err().offset(), 10);
        }
        // Sequence 0 has no predecessor: prev_recorded_at is i64::MIN there, nothing else.
        let bytes = forged(&header(0), 48, &0i64.to_le_bytes());
        assert!(matches!(
            SegmentHeader::decode(&bytes),
            Err(HeaderError::Invalid(_))
        ));
        let bytes = forged(&header(1), 48, &0i64.to_le_bytes());
        assert!(
            SegmentHeader::decode(&bytes).is_ok(),
            "any time after sequence 0"
        );
    }

    #[test]
    fn rejects_any_damage() {
        let bytes = header(7).encode();
        for cut in 0..bytes.len() {
            assert!(SegmentHeader::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(SegmentHeader::decode(&b).is_err(), "bit {bit}");
        }
    }
}
