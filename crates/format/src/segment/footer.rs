//! The footer that seals a segment.
//!
//! ```text
//! offset size field            (offsets relative to the footer's start)
//!      0    4 tag 0xFFFFFFFF   (where a record's length would be)
//!      4    8 magic "AUDITEND"
//!     12    8 record_count (u64 LE)
//!     20    8 first_seq (u64 LE)
//!     28    8 tree_size (u64 LE) = first_seq + record_count
//!     36    8 first_recorded_at (i64 LE; prev_recorded_at of the header if the segment is empty)
//!     44    8 last_recorded_at (i64 LE; likewise)
//!     52   32 root: Merkle root of the tree of size tree_size
//!     84    8 records_end (u64 LE): byte offset of the footer in the file
//!     92    4 crc32 (IEEE) of  salt | footer bytes 0..92
//! ```
//! A sealed segment ends exactly at the end of its footer.

use crate::merkle::{Hash, TreeHead};
use crate::record::{FOOTER_TAG, FrameCrc, read_u32, read_u64};

pub const FOOTER_MAGIC: &[u8; 8] = b"AUDITEND";
/// Bytes in a footer.
pub const FOOTER_LEN: usize = 96;

/// A decoded segment footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentFooter {
    /// Records in the segment.
    pub record_count: u64,
    /// Sequence number of the first record.
    pub first_seq: u64,
    /// `recorded_at` of the first record.
    pub first_recorded_at: i64,
    /// `recorded_at` of the last record.
    pub last_recorded_at: i64,
    /// The tree head after the segment's last record.
    pub tree_head: TreeHead,
    /// Byte offset of the footer (the end of the records).
    pub records_end: u64,
}

impl SegmentFooter {
    pub fn encode(&self, crc: &FrameCrc) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[0..4].copy_from_slice(&FOOTER_TAG.to_le_bytes());
        out[4..12].copy_from_slice(FOOTER_MAGIC);
        out[12..20].copy_from_slice(&self.record_count.to_le_bytes());
        out[20..28].copy_from_slice(&self.first_seq.to_le_bytes());
        out[28..36].copy_from_slice(&self.tree_head.size.to_le_bytes());
        out[36..44].copy_from_slice(&self.first_recorded_at.to_le_bytes());
        out[44..52].copy_from_slice(&self.last_recorded_at.to_le_bytes());
        out[52..84].copy_from_slice(&self.tree_head.root);
        out[84..92].copy_from_slice(&self.records_end.to_le_bytes());
        let checksum = crc.of_raw(&out[..92]);
        out[92..96].copy_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Whether `tail`, the last `FOOTER_LEN` bytes of a segment file, is a footer written by
    /// the writer of this segment: tag, magic and CRC (under the segment's salt) check. Such a
    /// file is sealed whatever else is wrong with it (FORMAT.md §5.3): its fields are checked
    /// against the records by the scan, not here.
    pub fn seals(tail: &[u8], crc: &FrameCrc) -> bool {
        tail.len() == FOOTER_LEN
            && read_u32(tail, 0) == FOOTER_TAG
            && &tail[4..12] == FOOTER_MAGIC
            && crc.of_raw(&tail[..92]) == read_u32(tail, 92)
    }

    /// Decodes a footer from exactly `bytes` (which must be `FOOTER_LEN` long). Never panics.
    pub fn decode(bytes: &[u8], crc: &FrameCrc) -> Result<Self, String> {
        if bytes.len() != FOOTER_LEN {
            return Err(format!(
                "footer is {} bytes, expected {FOOTER_LEN}",
                bytes.len()
            ));
        }
        if read_u32(bytes, 0) != FOOTER_TAG || &bytes[4..12] != FOOTER_MAGIC {
            return Err("footer tag or magic is wrong".into());
        }
        let stored = u32::from_le_bytes([bytes[92], bytes[93], bytes[94], bytes[95]]);
        if crc.of_raw(&bytes[..92]) != stored {
            return Err("footer checksum mismatch".into());
        }
        let mut root: Hash = [0; 32];
        root.copy_from_slice(&bytes[52..84]);
        let footer = SegmentFooter {
            record_count: read_u64(bytes, 12),
            first_seq: read_u64(bytes, 20),
            first_recorded_at: read_u64(bytes, 36) as i64,
            last_recorded_at: read_u64(bytes, 44) as i64,
            tree_head: TreeHead {
                size: read_u64(bytes, 28),
                root,
            },
            records_end: read_u64(bytes, 84),
        };
        if footer.first_seq.checked_add(footer.record_count) != Some(footer.tree_head.size) {
            return Err("tree_size is not first_seq + record_count".into());
        }
        Ok(footer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::salt;

    #[test]
    fn round_trips_and_rejects_damage() {
        let crc = FrameCrc::new(&salt(&[1; 16], 10));
        let f = SegmentFooter {
            record_count: 3,
            first_seq: 10,
            first_recorded_at: 1,
            last_recorded_at: 2,
            tree_head: TreeHead {
                size: 13,
                root: [9; 32],
            },
            records_end: 4096,
        };
        let bytes = f.encode(&crc);
        assert_eq!(SegmentFooter::decode(&bytes, &crc), Ok(f));
        for bit in 0..FOOTER_LEN * 8 {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(SegmentFooter::decode(&b, &crc).is_err(), "bit {bit}");
        }
        let other = FrameCrc::new(&salt(&[1; 16], 11));
        assert!(SegmentFooter::decode(&bytes, &other).is_err());
    }
}
