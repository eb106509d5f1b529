//! The cold segment file layout (`NNN.zseg`), encoded and decoded in this one place.
//!
//! ```text
//! +--------+------------+----------+-----+----------+-------------+------------+---------+
//! | prefix | hot header | zstd #0  | ... | zstd #n-1| frame table | hot footer | trailer |
//! +--------+------------+----------+-----+----------+-------------+------------+---------+
//!   24 B     header_len                               36·n + 4        96 B        24 B
//! ```
//! (Version 1 entries are 32 bytes, without the CRC of the compressed frame; still read.)
//! The hot header and footer are copied byte for byte, and decompressing the frames in order
//! gives the hot file's record frames byte for byte: `hot header ‖ frames ‖ hot footer` *is*
//! the hot segment file. Offsets in the frame table and in the footer (`records_end`) are
//! therefore offsets in that hot layout ("hot offsets"), so readers locate records exactly as
//! in a hot segment. docs/FORMAT.md §8 is the normative description.

use crate::record::{FrameCrc, read_u32, read_u64};

/// Magic of a cold segment.
pub const COLD_MAGIC: &[u8; 8] = b"AUDITZSG";
/// Magic at the very end of a cold segment.
pub const TRAILER_MAGIC: &[u8; 8] = b"AUDITZND";
/// The cold segment format version this build writes (and the newest it reads).
pub const COLD_FORMAT_VERSION: u16 = 2;
/// The oldest cold segment format version this build reads: version 1, whose frame-table
/// entries carry no CRC of the compressed frame.
pub const OLDEST_COLD_FORMAT_VERSION: u16 = 1;
/// Bytes of the prefix before the copied hot header.
pub const PREFIX_LEN: usize = 24;
/// Bytes of one frame-table entry of version 1 (no CRC of the compressed frame).
pub const ENTRY_LEN_V1: usize = 32;
/// Bytes of one frame-table entry of version 2: version 1's, then the CRC-32 of the frame.
pub const ENTRY_LEN: usize = 36;

/// Whether this build reads cold segments of format `version`.
pub fn readable_version(version: u16) -> bool {
    (OLDEST_COLD_FORMAT_VERSION..=COLD_FORMAT_VERSION).contains(&version)
}

/// Bytes of one frame-table entry in a cold segment of format `version`.
pub fn entry_len(version: u16) -> usize {
    if version == OLDEST_COLD_FORMAT_VERSION {
        ENTRY_LEN_V1
    } else {
        ENTRY_LEN
    }
}
/// Bytes of the trailer that ends the file.
pub const TRAILER_LEN: usize = 24;

/// The fixed prefix of a cold segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdPrefix {
    /// The cold format version: [`COLD_FORMAT_VERSION`] when writing, any from
    /// [`OLDEST_COLD_FORMAT_VERSION`] on when read.
    pub version: u16,
    /// The dictionary the frames were compressed with (`dict-<id>.zdict`), 0 for none.
    pub dict_id: u32,
    /// Length of the copied hot header that follows.
    pub header_len: u32,
}

impl ColdPrefix {
    pub fn encode(&self) -> [u8; PREFIX_LEN] {
        let mut out = [0u8; PREFIX_LEN];
        out[0..8].copy_from_slice(COLD_MAGIC);
        out[8..10].copy_from_slice(&self.version.to_le_bytes());
        out[12..16].copy_from_slice(&self.dict_id.to_le_bytes());
        out[16..20].copy_from_slice(&self.header_len.to_le_bytes());
        let crc = crc32fast::hash(&out[..20]);
        out[20..24].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes the prefix. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let b = bytes
            .get(..PREFIX_LEN)
            .ok_or("file too short for a cold segment prefix")?;
        if &b[0..8] != COLD_MAGIC {
            return Err("not a cold segment (wrong magic)".into());
        }
        if crc32fast::hash(&b[..20]) != read_u32(b, 20) {
            return Err("cold segment prefix checksum mismatch".into());
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if !readable_version(version) {
            return Err(format!("unsupported cold segment version {version}"));
        }
        if b[10..12] != [0, 0] {
            return Err("unknown cold segment flags".into());
        }
        Ok(ColdPrefix {
            version,
            dict_id: read_u32(b, 12),
            header_len: read_u32(b, 16),
        })
    }
}

/// One zstd frame of a cold segment: a run of whole record frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEntry {
    /// Sequence number of the first record in the frame.
    pub first_seq: u64,
    /// Offset of that record in the hot layout.
    pub hot_offset: u64,
    /// Offset of the zstd frame in the cold file.
    pub cold_offset: u64,
    pub compressed_len: u32,
    pub uncompressed_len: u32,
    /// CRC-32 of the frame's compressed bytes; `None` in a version 1 table, which has none.
    pub compressed_crc: Option<u32>,
}

impl FrameEntry {
    /// Checks the compressed bytes of this frame, read from the file, against the entry's
    /// CRC (before anyone decompresses them). A version 1 entry has no CRC to check.
    pub fn check_compressed(&self, compressed: &[u8]) -> Result<(), String> {
        match self.compressed_crc {
            Some(stored) if crc32fast::hash(compressed) != stored => {
                Err("zstd frame checksum mismatch (its compressed bytes changed)".into())
            }
            _ => Ok(()),
        }
    }
}

/// Encodes the frame table of version [`COLD_FORMAT_VERSION`]: the entries, then CRC-32 of
/// `salt ‖ u32le(n) ‖ entries`. The writer gives every entry its `compressed_crc`.
pub fn encode_table(entries: &[FrameEntry], crc: &FrameCrc) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_LEN + 4);
    for e in entries {
        out.extend_from_slice(&e.first_seq.to_le_bytes());
        out.extend_from_slice(&e.hot_offset.to_le_bytes());
        out.extend_from_slice(&e.cold_offset.to_le_bytes());
        out.extend_from_slice(&e.compressed_len.to_le_bytes());
        out.extend_from_slice(&e.uncompressed_len.to_le_bytes());
        // Never `None` from the writer; a wrong value would be reported as damage on reading.
        out.extend_from_slice(&e.compressed_crc.unwrap_or(0).to_le_bytes());
    }
    let checksum = table_crc(entries.len() as u32, &out, crc);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

fn table_crc(count: u32, entries: &[u8], crc: &FrameCrc) -> u32 {
    let mut input = Vec::with_capacity(4 + entries.len());
    input.extend_from_slice(&count.to_le_bytes());
    input.extend_from_slice(entries);
    crc.of_raw(&input)
}

/// Decodes a frame table of `count` entries of cold format `version` from exactly `bytes`.
/// Never panics.
pub fn decode_table(
    bytes: &[u8],
    count: u32,
    version: u16,
    crc: &FrameCrc,
) -> Result<Vec<FrameEntry>, String> {
    let entry_len = entry_len(version);
    let body_len = (count as usize)
        .checked_mul(entry_len)
        .ok_or("frame count overflows")?;
    if bytes.len() != body_len + 4 {
        return Err("frame table length does not match its count".into());
    }
    let (body, stored) = bytes.split_at(body_len);
    if table_crc(count, body, crc) != read_u32(stored, 0) {
        return Err("frame table checksum mismatch".into());
    }
    Ok(body
        .chunks_exact(entry_len)
        .map(|c| FrameEntry {
            first_seq: read_u64(c, 0),
            hot_offset: read_u64(c, 8),
            cold_offset: read_u64(c, 16),
            compressed_len: read_u32(c, 24),
            uncompressed_len: read_u32(c, 28),
            compressed_crc: (entry_len == ENTRY_LEN).then(|| read_u32(c, 32)),
        })
        .collect())
}

/// The trailer: where the frame table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub table_offset: u64,
    pub frame_count: u32,
}

impl Trailer {
    pub fn encode(&self, crc: &FrameCrc) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        out[0..8].copy_from_slice(&self.table_offset.to_le_bytes());
        out[8..12].copy_from_slice(&self.frame_count.to_le_bytes());
        let checksum = crc.of_raw(&out[..12]);
        out[12..16].copy_from_slice(&checksum.to_le_bytes());
        out[16..24].copy_from_slice(TRAILER_MAGIC);
        out
    }

    /// Decodes the trailer from exactly `bytes`. Never panics.
    pub fn decode(bytes: &[u8], crc: &FrameCrc) -> Result<Self, String> {
        if bytes.len() != TRAILER_LEN || &bytes[16..24] != TRAILER_MAGIC {
            return Err("cold segment trailer missing (file truncated?)".into());
        }
        if crc.of_raw(&bytes[..12]) != read_u32(bytes, 12) {
            return Err("cold segment trailer checksum mismatch".into());
        }
        Ok(Trailer {
            table_offset: read_u64(bytes, 0),
            frame_count: read_u32(bytes, 8),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::salt;

    #[test]
    fn a_frame_is_checked_against_its_crc_and_a_version_1_frame_has_none() {
        let compressed = b"any bytes of a zstd frame".to_vec();
        let mut entry = FrameEntry {
            first_seq: 0,
            hot_offset: 128,
            cold_offset: 152,
            compressed_len: compressed.len() as u32,
            uncompressed_len: 100,
            compressed_crc: Some(crc32fast::hash(&compressed)),
        };
        assert_eq!(entry.check_compressed(&compressed), Ok(()));
        for bit in 0..compressed.len() * 8 {
            let mut b = compressed.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(entry.check_compressed(&b).is_err(), "bit {bit}");
        }
        entry.compressed_crc = None;
        assert_eq!(entry.check_compressed(b"anything"), Ok(()));
    }

    #[test]
    fn parts_round_trip_and_reject_any_bit_flip() {
        let crc = FrameCrc::new(&salt(&[7; 16], 40));
        let prefix = ColdPrefix {
            version: COLD_FORMAT_VERSION,
            dict_id: 9,
            header_len: 128,
        };
        let bytes = prefix.encode();
        assert_eq!(ColdPrefix::decode(&bytes), Ok(prefix));
        for bit in 0..PREFIX_LEN * 8 {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(ColdPrefix::decode(&b).is_err(), "prefix bit {bit}");
        }
        let v1 = ColdPrefix {
            version: OLDEST_COLD_FORMAT_VERSION,
            ..prefix
        };
        assert_eq!(ColdPrefix::decode(&v1.encode()), Ok(v1));
        for version in [0, COLD_FORMAT_VERSION + 1] {
            let other = ColdPrefix { version, ..prefix };
            assert!(ColdPrefix::decode(&other.encode()).is_err(), "{version}");
        }
        let entries = vec![
            FrameEntry {
                first_seq: 40,
                hot_offset: 128,
                cold_offset: 152,
                compressed_len: 10,
                uncompressed_len: 100,
                compressed_crc: Some(0x1234_5678),
            },
            FrameEntry {
                first_seq: 45,
                hot_offset: 228,
                cold_offset: 162,
                compressed_len: 11,
                uncompressed_len: 90,
                compressed_crc: Some(0x9abc_def0),
            },
        ];
        let table = encode_table(&entries, &crc);
        assert_eq!(table.len(), 2 * ENTRY_LEN + 4);
        let v2 = COLD_FORMAT_VERSION;
        assert_eq!(decode_table(&table, 2, v2, &crc), Ok(entries));
        for bit in 0..table.len() * 8 {
            let mut b = table.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_table(&b, 2, v2, &crc).is_err(), "table bit {bit}");
        }
        assert!(decode_table(&table, 1, v2, &crc).is_err());
        // Read as version 1, the same bytes have the wrong length for two entries.
        assert!(decode_table(&table, 2, OLDEST_COLD_FORMAT_VERSION, &crc).is_err());
        let trailer = Trailer {
            table_offset: 173,
            frame_count: 2,
        };
        let bytes = trailer.encode(&crc);
        assert_eq!(Trailer::decode(&bytes, &crc), Ok(trailer));
        for bit in 0..TRAILER_LEN * 8 {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(Trailer::decode(&b, &crc).is_err(), "trailer bit {bit}");
        }
    }
}
