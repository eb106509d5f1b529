//! The class manifest `auditlog.classes` of a classified root: which classes exist, which
//! severities each receives, each one's retention policy, and the log id of each sub-log, so
//! that the root reopens identically and a replaced or missing sub-log is detected.
//! Byte layout in docs/FORMAT.md §13:
//!
//! ```text
//! offset size field
//!      0    8 magic "AUDITCLS"
//!      8    2 version (u16 LE) = 1
//!     10    2 flags (u16 LE) = 0
//!     12    1 class count n (1..=5)
//!     13    … n class entries, each 34 + name_len bytes:
//!               1 name_len (1..=64), name_len name (ASCII a-z 0-9 _ -),
//!               1 severity mask (bit c = severity code c), 8 max_age seconds (u64, 0 = none),
//!               8 max_total_bytes (u64, 0 = none), 16 log id of the sub-log
//!    end-4    4 crc32 (IEEE) of every byte before it
//! ```

use crate::error::{CorruptionKind, Error, Result};
use crate::event::Severity;
use crate::fs::FileSystem;
use std::path::Path;
use std::time::Duration;

/// Name of the class manifest in a classified root.
pub const CLASSES_FILE: &str = "auditlog.classes";
const MAGIC: &[u8; 8] = b"AUDITCLS";
const VERSION: u16 = 1;
const FIXED_LEN: usize = 13;
const ENTRY_FIXED_LEN: usize = 1 + 1 + 8 + 8 + 16;
/// Longest class name (it is also a directory name).
pub const MAX_NAME_LEN: usize = 64;
/// Every severity code set: each severity must go to exactly one class.
pub const ALL_SEVERITIES: u8 = (1 << Severity::ALL.len()) - 1;

/// One class as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassEntry {
    pub name: String,
    /// Bit `c` set: events of severity code `c` go to this class.
    pub severities: u8,
    /// Whole seconds; 0 = no age limit.
    pub max_age_secs: u64,
    /// 0 = no size limit.
    pub max_total_bytes: u64,
    pub log_id: [u8; 16],
}

impl ClassEntry {
    pub fn max_age(&self) -> Option<Duration> {
        (self.max_age_secs > 0).then(|| Duration::from_secs(self.max_age_secs))
    }

    pub fn max_total_bytes(&self) -> Option<u64> {
        (self.max_total_bytes > 0).then_some(self.max_total_bytes)
    }
}

/// Whether `name` may name a class (and its sub-directory).
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Why a list of classes cannot be a classified root, if it cannot.
pub fn check_classes(classes: &[ClassEntry]) -> std::result::Result<(), String> {
    if classes.is_empty() || classes.len() > Severity::ALL.len() {
        return Err(format!(
            "{} classes: give 1 to {} (each receives at least one severity)",
            classes.len(),
            Severity::ALL.len()
        ));
    }
    let mut seen = 0u8;
    for (i, c) in classes.iter().enumerate() {
        if !valid_name(&c.name) {
            return Err(format!(
                "class name {:?} is not 1 to {MAX_NAME_LEN} characters of a-z, 0-9, _ and -",
                c.name
            ));
        }
        if classes[..i].iter().any(|o| o.name == c.name) {
            return Err(format!("class {:?} is named twice", c.name));
        }
        if c.severities == 0 || c.severities & !ALL_SEVERITIES != 0 {
            return Err(format!("class {:?} receives no known severity", c.name));
        }
        if seen & c.severities != 0 {
            return Err(format!(
                "class {:?} receives a severity another class receives",
                c.name
            ));
        }
        seen |= c.severities;
    }
    if seen != ALL_SEVERITIES {
        let missing: Vec<&str> = Severity::ALL
            .iter()
            .filter(|s| seen & (1 << s.to_u8()) == 0)
            .map(|s| s.as_str())
            .collect();
        return Err(format!("no class receives severity {}", missing.join(", ")));
    }
    Ok(())
}

pub fn encode(classes: &[ClassEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_LEN + classes.len() * (ENTRY_FIXED_LEN + 16) + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.push(classes.len() as u8);
    for c in classes {
        out.push(c.name.len() as u8);
        out.extend_from_slice(c.name.as_bytes());
        out.push(c.severities);
        out.extend_from_slice(&c.max_age_secs.to_le_bytes());
        out.extend_from_slice(&c.max_total_bytes.to_le_bytes());
        out.extend_from_slice(&c.log_id);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and checks a manifest's bytes; `path` names it in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Vec<ClassEntry>> {
    let bad = |offset: usize, why: String| {
        Error::corrupt(path, offset as u64, None, CorruptionKind::BadManifest(why))
    };
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(Error::corrupt(path, 0, None, CorruptionKind::BadMagic));
    }
    if bytes.len() < FIXED_LEN + 4 {
        return Err(bad(0, "the class manifest is truncated".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    let body_len = bytes.len() - 4;
    let stored = u32::from_le_bytes([
        bytes[body_len],
        bytes[body_len + 1],
        bytes[body_len + 2],
        bytes[body_len + 3],
    ]);
    let computed = crc32fast::hash(&bytes[..body_len]);
    if stored != computed {
        return Err(bad(
            body_len,
            format!(
                "class manifest checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        ));
    }
    if bytes[10..12] != [0, 0] {
        return Err(bad(10, "unknown class manifest flags".into()));
    }
    let count = bytes[12] as usize;
    let mut at = FIXED_LEN;
    let mut classes = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = *bytes
            .get(at)
            .filter(|_| at < body_len)
            .ok_or_else(|| bad(at, "a class entry is cut short".into()))?
            as usize;
        let end = at + ENTRY_FIXED_LEN + name_len;
        if end > body_len {
            return Err(bad(at, "a class entry is cut short".into()));
        }
        let name = std::str::from_utf8(&bytes[at + 1..at + 1 + name_len])
            .map_err(|_| bad(at + 1, "a class name is not UTF-8".into()))?
            .to_string();
        let mut p = at + 1 + name_len;
        let severities = bytes[p];
        p += 1;
        let u64_at = |p: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[p..p + 8]);
            u64::from_le_bytes(b)
        };
        let max_age_secs = u64_at(p);
        let max_total_bytes = u64_at(p + 8);
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&bytes[p + 16..p + 32]);
        classes.push(ClassEntry {
            name,
            severities,
            max_age_secs,
            max_total_bytes,
            log_id,
        });
        at = end;
    }
    if at != body_len {
        return Err(bad(at, "bytes follow the last class entry".into()));
    }
    check_classes(&classes).map_err(|why| bad(FIXED_LEN, why))?;
    Ok(classes)
}

/// Reads the manifest of `root`; `Ok(None)` if it does not exist.
pub fn read(root: &Path) -> Result<Option<Vec<ClassEntry>>> {
    let path = root.join(CLASSES_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes, &path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// Writes the manifest of `root` durably (temporary file, fdatasync, rename, directory fsync).
pub fn write(fs: &dyn FileSystem, root: &Path, classes: &[ClassEntry]) -> Result<()> {
    let path = root.join(CLASSES_FILE);
    crate::fs::write_file_durably(fs, &path, &encode(classes))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Whether `path` is a directory holding a class manifest.
pub fn is_classified_root(path: &Path) -> bool {
    path.join(CLASSES_FILE).is_file()
}

/// The error for opening a classified root as a single log, if `dir` is one: every command
/// and call that needs one log says plainly to pass a class's sub-directory.
pub fn refuse_classified_root(dir: &Path) -> Result<()> {
    if !is_classified_root(dir) {
        return Ok(());
    }
    let classes = read(dir)
        .ok()
        .flatten()
        .map(|c| {
            c.iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "see its sub-directories".into());
    Err(Error::NotALog {
        path: dir.to_path_buf(),
        reason: format!(
            "it is a classified root (it holds {CLASSES_FILE}): pass one class's sub-directory \
             ({}/<class>; classes: {classes}), or open it with ClassifiedLog",
            dir.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ClassEntry> {
        vec![
            ClassEntry {
                name: "routine".into(),
                severities: 0b00011,
                max_age_secs: 30 * 86_400,
                max_total_bytes: 0,
                log_id: [1; 16],
            },
            ClassEntry {
                name: "important".into(),
                severities: 0b11100,
                max_age_secs: 0,
                max_total_bytes: 1 << 30,
                log_id: [2; 16],
            },
        ]
    }

    #[test]
    fn round_trips_with_the_documented_length() {
        let classes = sample();
        let bytes = encode(&classes);
        assert_eq!(bytes.len(), 13 + (34 + 7) + (34 + 9) + 4);
        assert_eq!(&bytes[..8], b"AUDITCLS");
        assert_eq!(decode(&bytes, Path::new("m")).expect("decodes"), classes);
    }

    #[test]
    fn every_flipped_bit_and_every_truncation_is_an_error_never_a_panic() {
        let bytes = encode(&sample());
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(decode(&b, Path::new("m")).is_err(), "byte {i} bit {bit}");
            }
            assert!(decode(&bytes[..i], Path::new("m")).is_err(), "cut at {i}");
        }
    }

    #[test]
    fn classes_must_split_the_severities_exactly() {
        let mut c = sample();
        c[1].severities = 0b01100;
        assert!(check_classes(&c).unwrap_err().contains("critical"));
        c[1].severities = 0b11110;
        assert!(check_classes(&c).is_err(), "low twice");
        c[1].severities = 0b11100;
        c[1].name = "Routine".into();
        assert!(check_classes(&c).is_err(), "upper case");
        c[1].name = "routine".into();
        assert!(check_classes(&c).is_err(), "twice");
    }
}
