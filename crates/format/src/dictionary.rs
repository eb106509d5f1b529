//! Trained zstd dictionaries for cold segments: `dict-<id>.zdict` in the log directory.
//!
//! ```text
//! offset size field
//!      0    8 magic "AUDITZDC"
//!      8    2 format version (u16 LE) = 1
//!     10    2 flags (u16 LE) = 0
//!     12    4 dict_id (u32 LE): first 4 bytes (LE) of BLAKE3(dictionary), 0 replaced by 1
//!     16    4 dict_len (u32 LE)
//!     20  len the zstd dictionary (as zstd::dict::from_samples returns it)
//!  20+len   4 CRC-32 of every preceding byte
//! ```
//! The id is derived from the content, so a cold segment's reference (its prefix's `dict_id`)
//! names exactly one dictionary, and the same dictionary written twice gets the same name.
//! Dictionaries are small (default 64 KiB) and never deleted by retention: a cold segment
//! needs its dictionary for as long as it exists, and archive bundles carry a copy.

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::record::read_u32;
use std::path::{Path, PathBuf};

const DICT_MAGIC: &[u8; 8] = b"AUDITZDC";
const DICT_VERSION: u16 = 1;
const DICT_HEADER_LEN: usize = 20;
/// Largest dictionary accepted when reading (zstd dictionaries are kilobytes in practice).
const MAX_DICT_LEN: usize = 16 * 1024 * 1024;

/// The content-derived id of a dictionary (never 0, which means "no dictionary").
pub fn dictionary_id(dict: &[u8]) -> u32 {
    let hash = blake3::hash(dict);
    let b = hash.as_bytes();
    let id = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    id.max(1)
}

/// The file name of dictionary `id`.
pub fn dictionary_file_name(id: u32) -> String {
    format!("dict-{id:08x}.zdict")
}

/// Parses a dictionary file name; anything else is `None`.
pub fn parse_dictionary_file_name(name: &str) -> Option<u32> {
    let hex = name.strip_prefix("dict-")?.strip_suffix(".zdict")?;
    if hex.len() != 8 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// Encodes a dictionary file.
pub fn encode(dict: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DICT_HEADER_LEN + dict.len() + 4);
    out.extend_from_slice(DICT_MAGIC);
    out.extend_from_slice(&DICT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&dictionary_id(dict).to_le_bytes());
    out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    out.extend_from_slice(dict);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a dictionary file and checks that it is dictionary `expected_id`. Never panics.
pub fn decode(bytes: &[u8], expected_id: u32) -> Result<Vec<u8>, String> {
    let head = bytes
        .get(..DICT_HEADER_LEN)
        .ok_or("dictionary file too short")?;
    if &head[..8] != DICT_MAGIC {
        return Err("not a dictionary file (wrong magic)".into());
    }
    let len = read_u32(head, 16) as usize;
    if len > MAX_DICT_LEN || bytes.len() != DICT_HEADER_LEN + len + 4 {
        return Err("dictionary length does not match the file".into());
    }
    let (body, crc) = bytes.split_at(DICT_HEADER_LEN + len);
    if crc32fast::hash(body) != read_u32(crc, 0) {
        return Err("dictionary checksum mismatch".into());
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != DICT_VERSION {
        return Err(format!("unsupported dictionary version {version}"));
    }
    if head[10..12] != [0, 0] {
        let flags = u16::from_le_bytes([head[10], head[11]]);
        return Err(format!(
            "dictionary flags (byte 10) are {flags:#06x}, but format version 1 requires 0"
        ));
    }
    let dict = body[DICT_HEADER_LEN..].to_vec();
    let id = read_u32(head, 12);
    if id != expected_id || dictionary_id(&dict) != id {
        return Err(format!(
            "dictionary id {id:08x} does not match its content or the reference {expected_id:08x}"
        ));
    }
    Ok(dict)
}

/// The path of dictionary `id` in `dir`.
pub fn dictionary_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(dictionary_file_name(id))
}

/// Loads and checks dictionary `id` from `dir`.
pub fn load(dir: &Path, id: u32) -> Result<Vec<u8>, String> {
    let path = dictionary_path(dir, id);
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    decode(&bytes, id).map_err(|why| format!("{}: {why}", path.display()))
}

/// Trains a dictionary of at most `max_bytes` from `samples` (record frames).
pub fn train(samples: &[&[u8]], max_bytes: usize) -> Result<Vec<u8>> {
    zstd::dict::from_samples(samples, max_bytes)
        .map_err(|e| Error::io("training a zstd dictionary", e))
}

/// Writes dictionary `dict` into `dir` durably (temp file, fdatasync, rename, directory
/// fsync) unless it is already there, and returns its id.
pub fn store(fs: &dyn FileSystem, dir: &Path, dict: &[u8]) -> Result<u32> {
    let id = dictionary_id(dict);
    let path = dictionary_path(dir, id);
    if load(dir, id).is_ok() {
        return Ok(id);
    }
    crate::fs::write_file_durably(fs, &path, &encode(dict))
        .map_err(|e| Error::io(format!("storing {}", path.display()), e))?;
    Ok(id)
}

/// The ids of the dictionaries in `dir`, newest file first.
pub fn list(dir: &Path) -> Vec<u32> {
    let mut found: Vec<(std::time::SystemTime, u32)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let id = parse_dictionary_file_name(e.file_name().to_str()?)?;
            let modified = e.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, id))
        })
        .collect();
    found.sort_by(|a, b| b.cmp(a));
    found.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dict = b"some dictionary bytes".to_vec();
        let id = dictionary_id(&dict);
        let bytes = encode(&dict);
        assert_eq!(decode(&bytes, id), Ok(dict));
        assert!(decode(&bytes, id ^ 1).is_err());
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&b, id).is_err(), "bit {bit}");
        }
        assert_eq!(
            parse_dictionary_file_name(&dictionary_file_name(id)),
            Some(id)
        );
        assert_eq!(parse_dictionary_file_name("dict-1.zdict"), None);
    }
}
