//! The log directory's identity file and its writer lock.
//!
//! `auditlog.meta` (40 bytes) names the log and its format version:
//!
//! ```text
//! offset size field
//!      0    8 magic "AUDITLOG"
//!      8    2 format version (u16 LE) = 1
//!     10    2 flags (u16 LE) = 0
//!     12   16 log id (random)
//!     28    8 created_at (i64 LE, ns since the Unix epoch)
//!     36    4 crc32 (IEEE) of bytes 0..36
//! ```
//! `LOCK` is an empty file a writer holds an exclusive advisory lock on (flock), so a second
//! writer, in this process or another, gets `Error::Locked` (the engine's). Readers take no lock.

use crate::error::{CorruptionKind, Error, HeaderFault, Result};
use crate::fs::FileSystem;
use crate::record::read_u64;
use crate::segment::SEGMENT_FORMAT_VERSION;
use crate::segment::header::FLAGS_OFFSET;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

/// Name of the identity file.
pub const META_FILE: &str = "auditlog.meta";
/// Name of the lock file.
pub const LOCK_FILE: &str = "LOCK";
const META_MAGIC: &[u8; 8] = b"AUDITLOG";
const META_LEN: usize = 40;

/// A log id as the format writes it in text (origins, bundle names, manifests): 32 lowercase
/// hex digits.
pub fn log_id_hex(log_id: &[u8; 16]) -> String {
    crate::merkle::hash::hex(log_id)
}

/// The identity of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMeta {
    /// Random id, also in every segment header (so segments of other logs are detected).
    pub log_id: [u8; 16],
    /// When the log was created (ns since the Unix epoch).
    pub created_at: i64,
}

impl LogMeta {
    /// A fresh identity with a random id.
    pub fn generate(created_at: i64) -> Self {
        // 128 random bits without a dependency: the standard library seeds RandomState from
        // the OS; hash two independent ones together with the time and pid.
        let mut id = [0u8; 16];
        for (i, chunk) in id.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_i64(created_at);
            h.write_u32(std::process::id());
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        LogMeta {
            log_id: id,
            created_at,
        }
    }

    pub fn encode(&self) -> [u8; META_LEN] {
        let mut out = [0u8; META_LEN];
        out[0..8].copy_from_slice(META_MAGIC);
        out[8..10].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
        out[12..28].copy_from_slice(&self.log_id);
        out[28..36].copy_from_slice(&self.created_at.to_le_bytes());
        let crc = crc32fast::hash(&out[..36]);
        out[36..40].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads and checks the identity file of `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(META_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                if let Err(classified) = crate::classes::refuse_classified_root(dir) {
                    return classified;
                }
                Error::NotALog {
                    path: dir.to_path_buf(),
                    reason: format!("{META_FILE} is missing"),
                }
            } else if e.kind() == std::io::ErrorKind::NotADirectory {
                // `--dir` named a file (or a path through one): not a log, not an I/O failure.
                Error::NotALog {
                    path: dir.to_path_buf(),
                    reason: "it is not a directory".into(),
                }
            } else {
                Error::io(format!("reading {}", path.display()), e)
            }
        })?;
        if bytes.len() < 10 || &bytes[..8] != META_MAGIC {
            return Err(Error::NotALog {
                path: dir.to_path_buf(),
                reason: format!("{META_FILE} does not start with the auditlog magic"),
            });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != SEGMENT_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path,
                found: version,
                supported: SEGMENT_FORMAT_VERSION,
            });
        }
        let crc_ok =
            bytes.len() == META_LEN && crc32fast::hash(&bytes[..36]).to_le_bytes() == bytes[36..40];
        if !crc_ok {
            return Err(Error::corrupt(
                path,
                0,
                None,
                CorruptionKind::BadHeader(HeaderFault::Checksum),
            ));
        }
        let flags = u16::from_le_bytes([bytes[FLAGS_OFFSET], bytes[FLAGS_OFFSET + 1]]);
        if flags != 0 {
            let kind = CorruptionKind::UnknownFlags { flags };
            return Err(Error::corrupt(path, FLAGS_OFFSET as u64, None, kind));
        }
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&bytes[12..28]);
        Ok(LogMeta {
            log_id,
            created_at: read_u64(&bytes, 28) as i64,
        })
    }

    /// Writes the identity file durably: temporary file, fdatasync, rename, directory fsync.
    pub fn create(&self, fs: &dyn FileSystem, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILE);
        crate::fs::write_file_durably(fs, &path, &self.encode())
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))
    }
}
