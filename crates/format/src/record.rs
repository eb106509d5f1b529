//! Record frames: how one event is laid out inside a segment.
//!
//! ```text
//! frame   = len: u32 LE | crc: u32 LE | body (len bytes)
//! body    = seq: u64 LE | recorded_at: i64 LE (ns) | durable_size: u64 LE | payload
//! crc     = CRC-32 (IEEE) of  salt | len as u32 LE | body
//! salt    = log id (16 bytes) | segment first sequence number (u64 LE)
//! ```
//! The salt makes a frame valid only at home: stale bytes from another segment or another log
//! (a reused or preallocated file) fail the CRC. `durable_size` is the number of records the
//! writer knew to be durable (fdatasync'ed) when it wrote this frame; recovery uses it to tell a
//! lost unsynced write (a torn tail) from damage to durable data. A `len` of `FOOTER_TAG`
//! introduces the segment footer instead of a record.

use crate::merkle::{self, Hash};

/// Bytes before the body: `len` and `crc`.
pub const FRAME_HEADER_LEN: usize = 8;
/// Fixed bytes at the start of a body: `seq`, `recorded_at`, `durable_size`.
pub const BODY_FIXED_LEN: usize = 24;
/// The largest body the format allows (a 64 MiB payload plus the fixed fields); the
/// configurable event-size limit must stay below it.
pub const MAX_BODY_LEN: u32 = 64 * 1024 * 1024 + BODY_FIXED_LEN as u32;
/// A `len` value that marks the start of a segment footer.
pub const FOOTER_TAG: u32 = u32::MAX;
/// Bytes of salt mixed into each frame CRC.
pub const SALT_LEN: usize = 24;

/// The per-segment salt mixed into every frame CRC.
pub fn salt(log_id: &[u8; 16], segment_first_seq: u64) -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    salt[..16].copy_from_slice(log_id);
    salt[16..].copy_from_slice(&segment_first_seq.to_le_bytes());
    salt
}

/// A CRC hasher already fed with a segment's salt; clone it per frame.
#[derive(Clone, Debug)]
pub struct FrameCrc(crc32fast::Hasher);

impl FrameCrc {
    pub fn new(salt: &[u8; SALT_LEN]) -> Self {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(salt);
        FrameCrc(hasher)
    }

    /// The CRC of a frame whose body is `body`.
    pub fn of(&self, body: &[u8]) -> u32 {
        let mut hasher = self.0.clone();
        hasher.update(&(body.len() as u32).to_le_bytes());
        hasher.update(body);
        hasher.finalize()
    }

    /// The CRC of arbitrary bytes after the salt (used by the footer).
    pub fn of_raw(&self, bytes: &[u8]) -> u32 {
        let mut hasher = self.0.clone();
        hasher.update(bytes);
        hasher.finalize()
    }
}

/// A record as it is stored, borrowed from the segment's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub seq: u64,
    pub recorded_at: i64,
    pub durable_size: u64,
    pub payload: &'a [u8],
}

impl RawRecord<'_> {
    /// Total bytes of the frame on disk.
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + BODY_FIXED_LEN + self.payload.len()
    }

    /// The record's Merkle leaf hash.
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(
            self.seq,
            self.recorded_at,
            &merkle::payload_digest(self.payload),
        )
    }
}

/// Appends one frame to `out`.
pub fn encode_frame(
    out: &mut Vec<u8>,
    crc: &FrameCrc,
    seq: u64,
    recorded_at: i64,
    durable_size: u64,
    payload: &[u8],
) {
    let body_len = BODY_FIXED_LEN + payload.len();
    let start = out.len();
    out.reserve(FRAME_HEADER_LEN + body_len);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&recorded_at.to_le_bytes());
    out.extend_from_slice(&durable_size.to_le_bytes());
    out.extend_from_slice(payload);
    let checksum = crc.of(&out[start + FRAME_HEADER_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&checksum.to_le_bytes());
}

/// What is found at a position where a frame should start.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A valid record frame.
    Record(RawRecord<'a>),
    /// The footer tag: the footer starts here.
    Footer,
    /// Zero bytes where the length should be: the unwritten (preallocated) end of the segment.
    Zero,
    /// Not enough bytes left for a frame header or the body it announces.
    Truncated,
    /// A length that no frame can have.
    BadLength(u32),
    /// The CRC does not match.
    BadChecksum { stored: u32, computed: u32 },
}

/// `true` if every byte is zero. Recovery checks the unwritten, preallocated end of an active
/// segment (tens of MiB) on every open, and verify reads a sealed log's empty last segment
/// (64 MiB of zeros) whole. Sixty-four bytes per step, OR-ed together (a few vector
/// instructions), where a byte-wise `all` branches at every byte; measured against a 4 KiB
/// memcmp loop it opens the 10M-event log as fast (12.9–13.1 ms) and verifies the Windows log
/// ~6% faster (`verify_bench`).
pub fn all_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    for chunk in &mut chunks {
        if chunk.iter().fold(0u8, |acc, &b| acc | b) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b == 0)
}

/// Decodes the frame starting at `bytes[0]`. Never panics.
pub fn decode_frame<'a>(bytes: &'a [u8], crc: &FrameCrc) -> Frame<'a> {
    let Some(header) = bytes.get(..FRAME_HEADER_LEN) else {
        return if all_zero(bytes) {
            Frame::Zero
        } else {
            Frame::Truncated
        };
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len == FOOTER_TAG {
        return Frame::Footer;
    }
    if len == 0 && stored == 0 {
        return Frame::Zero;
    }
    if len < BODY_FIXED_LEN as u32 || len > MAX_BODY_LEN {
        return Frame::BadLength(len);
    }
    let Some(body) = bytes.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len as usize) else {
        return Frame::Truncated;
    };
    let computed = crc.of(body);
    if computed != stored {
        return Frame::BadChecksum { stored, computed };
    }
    Frame::Record(RawRecord {
        seq: read_u64(body, 0),
        recorded_at: read_u64(body, 8) as i64,
        durable_size: read_u64(body, 16),
        payload: &body[BODY_FIXED_LEN..],
    })
}

/// Reads a little-endian u64 at `at`; the caller has checked the length.
pub fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Reads a little-endian u32 at `at`; the caller has checked the length.
pub fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc() -> FrameCrc {
        FrameCrc::new(&salt(&[7; 16], 100))
    }

    #[test]
    fn frame_round_trips() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, &crc(), 100, -5, 99, b"payload");
        assert_eq!(buf.len(), FRAME_HEADER_LEN + BODY_FIXED_LEN + 7);
        let Frame::Record(r) = decode_frame(&buf, &crc()) else {
            panic!("not a record")
        };
        assert_eq!(
            (r.seq, r.recorded_at, r.durable_size, r.payload),
            (100, -5, 99, &b"payload"[..])
        );
        assert_eq!(r.frame_len(), buf.len());
    }

    #[test]
    fn salt_binds_frame_to_segment() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, &crc(), 100, 0, 0, b"x");
        let other = FrameCrc::new(&salt(&[7; 16], 101));
        assert!(matches!(
            decode_frame(&buf, &other),
            Frame::BadChecksum { .. }
        ));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, &crc(), 1, 2, 3, b"some payload bytes");
        for cut in 0..buf.len() {
            let f = decode_frame(&buf[..cut], &crc());
            assert!(!matches!(f, Frame::Record(_)), "cut at {cut} decoded");
        }
        for bit in 0..buf.len() * 8 {
            let mut damaged = buf.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let f = decode_frame(&damaged, &crc());
            assert!(!matches!(f, Frame::Record(_)), "flip of bit {bit} decoded");
        }
    }

    #[test]
    fn zeros_are_the_unwritten_end() {
        assert_eq!(decode_frame(&[0; 64], &crc()), Frame::Zero);
        assert_eq!(decode_frame(&[0; 3], &crc()), Frame::Zero);
        assert_eq!(decode_frame(&[0, 1], &crc()), Frame::Truncated);
    }

    #[test]
    fn all_zero_sees_one_nonzero_byte_anywhere() {
        for len in [0, 1, 63, 64, 65, 127, 128, 200] {
            let mut bytes = vec![0u8; len];
            assert!(all_zero(&bytes), "len {len}");
            for at in 0..len {
                bytes[at] = 0x80;
                assert!(!all_zero(&bytes), "len {len}, nonzero at {at}");
                bytes[at] = 1;
                assert!(!all_zero(&bytes), "len {len}, nonzero at {at}");
                bytes[at] = 0;
            }
        }
    }

    #[test]
    fn all_zero_finds_a_nonzero_byte_anywhere() {
        assert!(all_zero(&[]));
        let zeros = vec![0u8; 3 * 4096 + 5];
        assert!(all_zero(&zeros));
        for at in [0, 4095, 4096, 8191, zeros.len() - 1] {
            let mut bytes = zeros.clone();
            bytes[at] = 1;
            assert!(!all_zero(&bytes), "missed a byte at {at}");
        }
    }
}
