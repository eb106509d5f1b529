//! The cut log (`cuts.log`): a durable, append-only record of every prefix of the log that
//! retention deleted or archiving moved away, written *before* any file is removed.
//!
//! Each record keeps the tree head and the left frontier at the cut (C2SP tlog-tiles' "minimum
//! index"): with them recovery and verification accept a first segment that does not start at
//! 0, prove it continues the original tree, and keep every inclusion and consistency proof
//! for the retained records computable. A segment removed any other way leaves no record and
//! is still reported as missing. docs/FORMAT.md §9 is the normative layout.
//!
//! A cut record alone proves nothing about who made it: anyone who can delete a segment can
//! append a well-formed cut. When the log has a signing key, each cut therefore carries a
//! signed note over its fields ([`note`]), which `verify` checks against the public key.

pub mod note;

use crate::checkpoint::NoteSigner;
use crate::error::{CorruptionKind, Error, Result};
use crate::fs::FileSystem;
use crate::merkle::{Frontier, Hash, TreeHead};
use crate::record::{read_u32, read_u64};
use crate::segment::SegmentHeader;
use crate::segment::header::FLAGS_OFFSET;
use crate::timestamp::Timestamp;
use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the cut log in the log directory.
pub const CUTS_FILE: &str = "cuts.log";
const CUTS_MAGIC: &[u8; 8] = b"AUDITCUT";
const CUTS_VERSION: u16 = 1;
const FILE_HEADER_LEN: usize = 32;
const RECORD_FIXED_LEN: usize = 66 + 2;
const MAX_NOTE_LEN: usize = 4096;

/// Why a prefix was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// Deleted by retention.
    Retention,
    /// Moved to an archive destination.
    Archive,
}

impl CutKind {
    fn code(self) -> u8 {
        match self {
            CutKind::Retention => 1,
            CutKind::Archive => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(CutKind::Retention),
            2 => Some(CutKind::Archive),
            _ => None,
        }
    }
}

/// One durable cut: records `removed_from..cut_seq` left the live directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Retention or archive.
    pub kind: CutKind,
    /// The first sequence number removed by this cut (the previous cut's `cut_seq`, or 0).
    pub removed_from: u64,
    /// The first sequence number kept: the tree size at the cut.
    pub cut_seq: u64,
    /// When the cut was decided (engine clock).
    pub cut_at: Timestamp,
    /// `recorded_at` of record `cut_seq - 1` (the first kept segment's `prev_recorded_at`).
    pub prev_recorded_at: i64,
    /// The left frontier of the tree of size `cut_seq`; its root is the tree head at the cut.
    pub frontier: Frontier,
    /// The reason (retention policy) or where the records went (archive destination and
    /// bundle name).
    pub note: String,
    /// The signature lines (C2SP signed note, `— <key name> <base64>\n` each) over
    /// [`Cut::signed_text`], when the log had a signing key; `None` in an unsigned cut.
    pub signature: Option<String>,
}

impl Cut {
    /// The tree head at the cut.
    pub fn tree_head(&self) -> TreeHead {
        self.frontier.tree_head()
    }

    /// Whether `header` (the first kept segment's) starts exactly at this cut.
    pub fn matches(&self, header: &SegmentHeader) -> bool {
        header.first_seq == self.cut_seq
            && header.frontier == self.frontier
            && header.prev_recorded_at == self.prev_recorded_at
    }

    /// A cut at the start of the segment whose header is `header`.
    pub fn at(
        kind: CutKind,
        removed_from: u64,
        header: &SegmentHeader,
        cut_at: Timestamp,
        note: String,
    ) -> Self {
        Cut {
            kind,
            removed_from,
            cut_seq: header.first_seq,
            cut_at,
            prev_recorded_at: header.prev_recorded_at,
            frontier: header.frontier.clone(),
            note,
            signature: None,
        }
    }

    /// The note as the record stores it (at most 4096 bytes).
    pub fn note_as_stored(&self) -> &str {
        truncate_utf8(&self.note, MAX_NOTE_LEN)
    }

    fn encode_body(&self) -> Vec<u8> {
        let note = self.note_as_stored();
        let nodes = self.frontier.nodes();
        let mut out = Vec::with_capacity(RECORD_FIXED_LEN + 32 * nodes.len() + note.len());
        out.push(self.kind.code());
        out.extend_from_slice(&self.removed_from.to_le_bytes());
        out.extend_from_slice(&self.cut_seq.to_le_bytes());
        out.extend_from_slice(&self.cut_at.as_nanos().to_le_bytes());
        out.extend_from_slice(&self.prev_recorded_at.to_le_bytes());
        out.extend_from_slice(&self.frontier.root());
        out.push(nodes.len() as u8);
        for n in nodes {
            out.extend_from_slice(n);
        }
        out.extend_from_slice(&(note.len() as u16).to_le_bytes());
        out.extend_from_slice(note.as_bytes());
        if let Some(sig) = &self.signature {
            // Signature lines are short (one per key, ~100 bytes): a u16 length is plenty.
            out.extend_from_slice(&(sig.len() as u16).to_le_bytes());
            out.extend_from_slice(sig.as_bytes());
        }
        out
    }

    /// Decodes a body whose CRC checked, saying which field is wrong when it fails.
    fn decode_body(body: &[u8]) -> Result<Self, String> {
        let short = || "the record is shorter than its fields say".to_string();
        let fixed = body.get(..66).ok_or_else(short)?;
        let kind = CutKind::from_code(fixed[0]).ok_or_else(|| {
            format!(
                "unknown cut kind {} (only 1 = retention and 2 = archive exist)",
                fixed[0]
            )
        })?;
        let k = fixed[65] as usize;
        let nodes_end = 66 + 32 * k;
        let nodes: Vec<Hash> = body
            .get(66..nodes_end)
            .ok_or_else(short)?
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect();
        let note_len = body
            .get(nodes_end..nodes_end + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(short)?;
        let note_end = nodes_end + 2 + note_len;
        let note = body.get(nodes_end + 2..note_end).ok_or_else(short)?;
        let signature = match body.get(note_end..).unwrap_or_default() {
            [] => None,
            rest => Some(decode_signature(rest)?),
        };
        let cut_seq = read_u64(fixed, 9);
        let frontier = Frontier::from_parts(cut_seq, nodes)
            .ok_or("the frontier length is not popcount(cut_seq)")?;
        if frontier.root() != fixed[33..65] {
            return Err("the root is not the frontier's root".into());
        }
        Ok(Cut {
            kind,
            removed_from: read_u64(fixed, 1),
            cut_seq,
            cut_at: Timestamp::from_nanos(read_u64(fixed, 17) as i64),
            prev_recorded_at: read_u64(fixed, 25) as i64,
            frontier,
            note: String::from_utf8(note.to_vec()).map_err(|_| "the note is not UTF-8")?,
            signature,
        })
    }
}

/// The signature block after the note: `u16 sig_len`, then exactly `sig_len` bytes of
/// signature lines.
fn decode_signature(rest: &[u8]) -> Result<String, String> {
    let bad = |why: &str| Err(format!("bad signature block: {why}"));
    let Some((len, sig)) = rest.split_first_chunk::<2>() else {
        return bad("truncated length");
    };
    if sig.len() != u16::from_le_bytes(*len) as usize {
        return bad("its length differs from the bytes left in the record");
    }
    let Ok(sig) = std::str::from_utf8(sig) else {
        return bad("not UTF-8");
    };
    let lines_ok = !sig.is_empty()
        && sig.ends_with('\n')
        && sig
            .lines()
            .all(|l| l.starts_with(crate::checkpoint::note::SIG_PREFIX) && l.contains(' '));
    if !lines_ok {
        return bad("not signed-note signature lines");
    }
    Ok(sig.to_string())
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.kind {
            CutKind::Retention => "removed by retention",
            CutKind::Archive => "archived",
        };
        write!(
            f,
            "records {}..{} {how} on {} ({}); {}",
            self.removed_from,
            self.cut_seq,
            self.cut_at,
            self.note,
            self.tree_head()
        )
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn encode_file_header(log_id: &[u8; 16]) -> [u8; FILE_HEADER_LEN] {
    let mut out = [0u8; FILE_HEADER_LEN];
    out[0..8].copy_from_slice(CUTS_MAGIC);
    out[8..10].copy_from_slice(&CUTS_VERSION.to_le_bytes());
    out[12..28].copy_from_slice(log_id);
    let crc = crc32fast::hash(&out[..28]);
    out[28..32].copy_from_slice(&crc.to_le_bytes());
    out
}

fn record_crc(log_id: &[u8; 16], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(log_id);
    h.update(&(body.len() as u32).to_le_bytes());
    h.update(body);
    h.finalize()
}

/// The cuts of a cut log, and where its valid records end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutLog {
    /// Every valid cut, oldest first.
    pub cuts: Vec<Cut>,
    /// Offset just past the last valid record (where the next one is appended).
    pub valid_len: u64,
    /// Bytes after the valid records: an append torn by a crash (ignored, since nothing is
    /// removed before a cut record is durable) or damage.
    pub torn_bytes: u64,
    /// The offset of each cut's record, in the order of `cuts`.
    pub offsets: Vec<u64>,
    /// A record at `valid_len` whose checksum holds but whose fields do not (offset, why):
    /// not a torn append (a torn write does not produce a matching CRC) but damage or a
    /// forgery, reported by verify and never overwritten.
    pub damaged: Option<(u64, String)>,
}

impl CutLog {
    /// The newest cut: where the live log must start.
    pub fn latest(&self) -> Option<&Cut> {
        self.cuts.last()
    }
}

/// Decodes a cut log of the log `log_id`. Never panics. A refused file header is reported as
/// its kind; [`header_offset`] says where in the file the offending field is.
pub fn decode(bytes: &[u8], log_id: &[u8; 16]) -> Result<CutLog, CorruptionKind> {
    let bad = |why: &str| CorruptionKind::BadCutLog(why.to_string());
    let head = bytes
        .get(..FILE_HEADER_LEN)
        .ok_or(bad("cut log too short"))?;
    if &head[..8] != CUTS_MAGIC {
        return Err(bad("not a cut log (wrong magic)"));
    }
    if crc32fast::hash(&head[..28]) != read_u32(head, 28) {
        return Err(bad("cut log header checksum mismatch"));
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != CUTS_VERSION {
        return Err(bad(&format!("unsupported cut log version {version}")));
    }
    let flags = u16::from_le_bytes([head[FLAGS_OFFSET], head[FLAGS_OFFSET + 1]]);
    if flags != 0 {
        return Err(CorruptionKind::UnknownFlags { flags });
    }
    if &head[12..28] != log_id {
        return Err(bad("the cut log belongs to another log"));
    }
    let mut log = CutLog::default();
    let mut pos = FILE_HEADER_LEN;
    while let Some(frame) = bytes.get(pos..pos + 8) {
        let len = read_u32(frame, 0) as usize;
        let Some(body) = bytes.get(pos + 8..(pos + 8).saturating_add(len)) else {
            break;
        };
        if record_crc(log_id, body) != read_u32(frame, 4) {
            break;
        }
        match Cut::decode_body(body) {
            Ok(cut) => {
                log.cuts.push(cut);
                log.offsets.push(pos as u64);
            }
            Err(why) => {
                log.damaged = Some((pos as u64, why));
                break;
            }
        }
        pos += 8 + len;
    }
    log.valid_len = pos as u64;
    log.torn_bytes = (bytes.len() - pos) as u64;
    Ok(log)
}

/// Where in the file the field a [`decode`] error is about starts.
pub fn header_offset(kind: &CorruptionKind) -> u64 {
    match kind {
        CorruptionKind::UnknownFlags { .. } => FLAGS_OFFSET as u64,
        _ => 0,
    }
}

/// The path of the cut log in `dir`.
pub fn cuts_path(dir: &Path) -> PathBuf {
    dir.join(CUTS_FILE)
}

/// Reads the cut log of `dir`; an absent file is an empty log.
pub fn read(dir: &Path, log_id: &[u8; 16]) -> Result<CutLog> {
    let path = cuts_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes, log_id)
            .map_err(|kind| Error::corrupt(&path, header_offset(&kind), None, kind)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CutLog::default()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// Appends `cut` to the cut log of `dir` durably (creating the file through a temp file and
/// rename on first use), signed with `signer` when the log has one, and returns the cut as
/// written. A torn earlier append is overwritten; a damaged record is not (it is refused).
///
/// The cut is made to satisfy what a verifier checks (FORMAT.md §9): it must start where the
/// previous cut ended, and its `cut_at` is raised to the previous cut's if the clock stepped
/// back, so a clock adjustment never turns a legitimate cut log into "damage".
pub fn append(
    fs: &dyn FileSystem,
    dir: &Path,
    log_id: &[u8; 16],
    cut: &Cut,
    signer: Option<&NoteSigner>,
) -> Result<Cut> {
    let path = cuts_path(dir);
    let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
    if !path.exists() {
        create_empty(fs, dir, log_id)?;
    }
    let existing = read(dir, log_id)?;
    if let Some((offset, why)) = &existing.damaged {
        return Err(damaged_record(&path, *offset, why));
    }
    let mut cut = cut.clone();
    let start = existing.latest().map_or(0, |c| c.cut_seq);
    if cut.removed_from != start {
        return Err(Error::InvalidOption {
            option: "retention",
            reason: format!(
                "a cut must start where the previous one ended ({start}), not at {}",
                cut.removed_from
            ),
        });
    }
    if let Some(prev) = existing.latest() {
        cut.cut_at = cut.cut_at.max(prev.cut_at);
    }
    cut.signature = signer.map(|key| cut.sign(key, log_id)).transpose()?;
    let body = cut.encode_body();
    let mut record = Vec::with_capacity(8 + body.len());
    record.extend_from_slice(&(body.len() as u32).to_le_bytes());
    record.extend_from_slice(&record_crc(log_id, &body).to_le_bytes());
    record.extend_from_slice(&body);
    let mut file = fs.open_writable(&path).map_err(|e| io("opening", e))?;
    file.write_all_at(&record, existing.valid_len)
        .map_err(|e| io("appending to", e))?;
    file.set_len(existing.valid_len + record.len() as u64)
        .map_err(|e| io("trimming", e))?;
    file.sync_data().map_err(|e| io("syncing", e))?;
    Ok(cut)
}

/// Creates an empty cut log (its header only), durably. A new log gets one at creation, so
/// the first cut record is written into a block the file already owns: retention must be
/// able to record a cut, and so free space, on a disk with not one block left.
pub fn create_empty(fs: &dyn FileSystem, dir: &Path, log_id: &[u8; 16]) -> Result<()> {
    let path = cuts_path(dir);
    crate::fs::write_file_durably(fs, &path, &encode_file_header(log_id))
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

/// Refuses to act on `cut` (remove the segments below it) when the log has a signing key
/// that did not sign it: a cut record alone proves nothing about who wrote it, and acting on
/// a forged one would delete records with the engine's own hands. Without a key there is
/// nothing to check against, and `verify` reports such removals as unauthenticated.
pub fn authorize_removal(
    dir: &Path,
    log: &CutLog,
    cut: &Cut,
    signer: Option<&NoteSigner>,
    log_id: &[u8; 16],
) -> Result<()> {
    let Some(key) = signer else {
        return Ok(());
    };
    cut.check_signature(&key.verifier(), log_id).map_err(|why| {
        let index = log.cuts.iter().rposition(|c| c == cut).unwrap_or(0);
        let offset = log.offsets.get(index).copied().unwrap_or(0);
        damaged_record(
            &cuts_path(dir),
            offset,
            &format!(
                "the cut of records {}..{} is {why}; refusing to remove the segments below \
                 it (check with `auditlog verify --public-key`)",
                cut.removed_from, cut.cut_seq
            ),
        )
    })
}

/// The error for a cut record that is damaged (or forged), naming it.
pub fn damaged_record(path: &Path, offset: u64, why: &str) -> Error {
    Error::corrupt(
        path,
        offset,
        None,
        crate::error::CorruptionKind::BadCut(why.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(seq: u64) -> Cut {
        let mut frontier = Frontier::new();
        for i in 0..seq {
            frontier.push(crate::merkle::leaf_hash(i, 0, &[1; 32]));
        }
        Cut {
            kind: CutKind::Retention,
            removed_from: 0,
            cut_seq: seq,
            cut_at: Timestamp::from_nanos(77),
            prev_recorded_at: 5,
            frontier,
            note: "max age 30 days".into(),
            signature: None,
        }
    }

    #[test]
    fn round_trips_and_stops_at_a_torn_or_damaged_record() {
        let id = [4; 16];
        let mut bytes = encode_file_header(&id).to_vec();
        for seq in [3, 10] {
            let body = cut(seq).encode_body();
            bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&record_crc(&id, &body).to_le_bytes());
            bytes.extend_from_slice(&body);
        }
        let log = decode(&bytes, &id).expect("valid");
        assert_eq!(log.cuts, vec![cut(3), cut(10)]);
        assert_eq!(log.valid_len, bytes.len() as u64);
        for len in FILE_HEADER_LEN..bytes.len() {
            let partial = decode(&bytes[..len], &id).expect("header intact");
            assert!(partial.cuts.len() < 2, "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        assert_eq!(decode(&flipped, &id).map(|l| l.cuts.len()), Ok(1));
        assert!(decode(&bytes, &[5; 16]).is_err());
    }

    fn file_of(id: &[u8; 16], bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = encode_file_header(id).to_vec();
        for body in bodies {
            bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&record_crc(id, body).to_le_bytes());
            bytes.extend_from_slice(body);
        }
        bytes
    }

    #[test]
    fn signed_cuts_round_trip_beside_unsigned_ones_and_a_bad_body_is_damage() {
        let id = [4; 16];
        let key = NoteSigner::from_seed("k", [9; 32]).expect("key");
        let mut signed = cut(10);
        signed.removed_from = 3;
        signed.signature = Some(signed.sign(&key, &id).expect("sign"));
        let bytes = file_of(&id, &[cut(3).encode_body(), signed.encode_body()]);
        let log = decode(&bytes, &id).expect("valid");
        assert_eq!(log.cuts, vec![cut(3), signed.clone()]);
        assert_eq!(log.damaged, None);
        assert!(log.cuts[1].check_signature(&key.verifier(), &id).is_ok());
        assert!(log.cuts[0].check_signature(&key.verifier(), &id).is_err());
        assert!(signed.check_signature(&key.verifier(), &[5; 16]).is_err());
        // A body whose CRC holds but whose kind is unknown is damage, not a torn append.
        let mut unknown = cut(3).encode_body();
        unknown[0] = 9;
        let log = decode(&file_of(&id, &[unknown]), &id).expect("header intact");
        assert!(log.cuts.is_empty());
        assert_eq!(log.damaged.map(|(o, _)| o), Some(FILE_HEADER_LEN as u64));
        // Bytes after the note that are not a signature block are damage too.
        let mut trailing = cut(3).encode_body();
        trailing.extend_from_slice(&[1, 0, b'x']);
        let log = decode(&file_of(&id, &[trailing]), &id).expect("header intact");
        assert!(log.damaged.is_some());
    }
}
