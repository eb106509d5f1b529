//! Fuzz entry points for the formats that landed after the storage core: index files, cold
//! segments, the cut log, signed checkpoints and proof documents.
//!
//! Each format is guarded by a CRC or a signature, which random bytes almost never pass. So
//! the first input byte picks a mode: raw bytes (the checksum gate itself), or bytes derived
//! from a valid file with the checksum recomputed, which lets the fuzzer reach the decoder
//! behind the gate. Valid files come from [`Fixture`], a tiny log built once per process.

use super::model::{ScratchDir, event_for};
use super::{LOG_ID, segment_bytes};
use crate::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner, NoteVerifier};
use crate::lifecycle::cold::{CompressOptions, read as cold_read, write as cold_write};
use crate::lifecycle::cuts;
use crate::query::Query;
use crate::segment::scan::{End, scan};
use crate::{AuditLog, Durability};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// The fixed test key of `parse_checkpoint`: it signs [`signed_notes`] only.
const KEY_NAME: &str = "auditlog-fuzz";
const KEY_SEED: [u8; 32] = [7; 32];
/// Records in the fixture's sealed first segment, then in its active second one.
const SEALED_RECORDS: u64 = 24;
const ACTIVE_RECORDS: u64 = 6;

fn signer() -> Option<NoteSigner> {
    NoteSigner::from_seed(KEY_NAME, KEY_SEED).ok()
}

/// The only checkpoints the fixed key signs (Ed25519 signing is deterministic, so the
/// committed seeds stay valid): a few bodies of the log [`LOG_ID`].
fn signed_notes() -> Vec<(String, Checkpoint)> {
    let Some(key) = signer() else {
        return Vec::new();
    };
    [
        (0u64, [0u8; 32], 0i64),
        (10, [3; 32], 1_800_000_000_000_000_000),
    ]
    .into_iter()
    .filter_map(|(size, root, at)| {
        let cp = Checkpoint {
            origin: crate::checkpoint::origin_of(&LOG_ID),
            tree_head: crate::merkle::TreeHead { size, root },
            time: crate::Timestamp::from_nanos(at),
        };
        Some((cp.sign(&key).ok()?, cp))
    })
    .collect()
}

/// A tiny log (one sealed segment with its index, one active segment, two signed
/// checkpoints), kept as file contents, with the answers the targets compare against.
#[derive(Debug)]
pub struct Fixture {
    /// Every file of the log directory, by name.
    files: BTreeMap<String, Vec<u8>>,
    /// The name of the sealed segment's index file.
    index_name: String,
    /// The sealed segment's bytes (the cold-segment seed is built from them).
    sealed_segment: Vec<u8>,
    /// Queries and their brute-force answers (sequence numbers).
    queries: Vec<(Query, Vec<u64>)>,
    /// The key that signed the fixture's checkpoints: generated per process, so a proof from
    /// another run (such as a committed seed) never verifies against this run's heads.
    verifier: NoteVerifier,
    /// Valid proof documents: inclusion proofs of a few records, consistency proofs from a
    /// few older sizes (a proof of any other would need the log, which the fuzzer lacks).
    proofs: Vec<Value>,
    /// The proven records: `(recorded_at nanos, encoded payload)` by sequence number.
    records: BTreeMap<u64, (i64, Vec<u8>)>,
    /// The proven prefix tree heads of the log, `(size, root)`.
    heads: BTreeSet<(u64, [u8; 32])>,
}

impl Fixture {
    /// The process-wide fixture, built on first use (`None` if the machine cannot build it,
    /// in which case the targets that need it do nothing).
    pub fn get() -> Option<&'static Fixture> {
        static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
        FIXTURE.get_or_init(|| Fixture::build().ok()).as_ref()
    }

    fn build() -> crate::Result<Fixture> {
        let io = |e| crate::Error::io("building the fuzz fixture", e);
        let scratch = ScratchDir::new("auditlog-fuzz-fixture").map_err(io)?;
        let dir = scratch.path().join("log");
        let key = NoteSigner::generate("auditlog-fuzz-fixture")?;
        let cp_signer = CheckpointSigner::new(key.clone());
        let log = AuditLog::builder(&dir)
            .preallocate(false)
            .durability(Durability::OsBuffered)
            .open()?;
        let mut last_head = None;
        for seq in 0..SEALED_RECORDS + ACTIVE_RECORDS {
            log.append(&event_for(seq))?.wait()?;
            if seq + 1 == SEALED_RECORDS {
                log.seal()?;
            }
            if seq == 9 || seq + 1 == SEALED_RECORDS + ACTIVE_RECORDS {
                let note = log.sign_checkpoint(&cp_signer)?;
                last_head = Some(Checkpoint::open(&note, &key.verifier())?.tree_head);
            }
        }
        log.reindex()?;
        let all: Vec<crate::Record> = log.iter(..).collect::<crate::Result<_>>()?;
        let sample = &all[3];
        let mut queries = vec![
            Query::new().actor(sample.event.actor.id.clone()),
            Query::new()
                .recorded_since(all[4].recorded_at)
                .recorded_until(all[27].recorded_at),
            Query::new(),
        ];
        if let Some(e) = &all[5].event.entity {
            queries.push(Query::new().entity(e.kind.clone(), e.id.clone()));
        }
        let queries = queries
            .into_iter()
            .map(|q| {
                let q = q.limit(1000);
                let want = all.iter().filter(|r| q.matches(r)).map(|r| r.seq).collect();
                (q, want)
            })
            .collect();
        log.close()?;
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.path().is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.insert(name, std::fs::read(entry.path()).map_err(io)?);
            }
        }
        let index_name = files
            .keys()
            .find(|n| n.ends_with(".idx"))
            .cloned()
            .unwrap_or_default();
        let sealed_segment = files
            .get(&crate::segment::name::segment_file_name(0))
            .cloned()
            .unwrap_or_default();
        let end = SEALED_RECORDS + ACTIVE_RECORDS;
        let mut proofs = Vec::new();
        let mut records = BTreeMap::new();
        let mut heads = BTreeSet::new();
        for seq in [0, 9, SEALED_RECORDS, end - 1] {
            let proof = crate::proof::prove_inclusion(&dir, seq, None)?;
            let at = proof["recorded_at_nanos"].as_i64().unwrap_or_default();
            let payload = proof["payload"].as_str().unwrap_or_default();
            records.insert(seq, (at, B64.decode(payload).unwrap_or_default()));
            proofs.push(proof);
        }
        for old in [1, 10, SEALED_RECORDS + 1] {
            let proof = crate::proof::prove_consistency(&dir, old, None)?;
            let old_root = proof["old"]["root"]
                .as_str()
                .and_then(crate::merkle::from_hex);
            heads.extend(old_root.map(|r| (old, r)));
            proofs.push(proof);
        }
        heads.extend(last_head.map(|h| (h.size, h.root)));
        Ok(Fixture {
            files,
            index_name,
            sealed_segment,
            queries,
            verifier: key.verifier(),
            proofs,
            records,
            heads,
        })
    }

    /// The fixture's log directory with `index` as its sealed segment's index file.
    fn write_log(&self, dir: &Path, index: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, bytes) in &self.files {
            let bytes = if *name == self.index_name {
                index
            } else {
                bytes
            };
            std::fs::write(dir.join(name), bytes)?;
        }
        Ok(())
    }

    fn index(&self) -> &[u8] {
        self.files.get(&self.index_name).map_or(&[], Vec::as_slice)
    }
}

/// Overwrites bytes of `base`: `data` is read as `(position, value)` pairs.
fn patch(base: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    if out.is_empty() {
        return out;
    }
    for pair in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % out.len();
        out[at] = pair[2];
    }
    out
}

/// Index files: an index file of any content never changes the answer to a query, whether a
/// read-only handle checks it as it reads it or a writable one checks it whole. Mode 0: the
/// input is the index file; mode 1: the valid index with bytes overwritten (a CRC now
/// fails); mode 2: the same with the CRCs recomputed, which only a forger can produce: the
/// answers may then miss records the forged postings leave out, but never hold a record that
/// does not match, and `reindex` restores the exact answers.
pub fn decode_index(input: &[u8]) {
    let Some(fixture) = Fixture::get() else {
        return;
    };
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let (index, forged) = match mode % 3 {
        0 => (data.to_vec(), false),
        1 => (patch(fixture.index(), data), false),
        _ => (reseal_index(patch(fixture.index(), data)), true),
    };
    let forged = forged && index != fixture.index();
    let Ok(scratch) = ScratchDir::new("auditlog-fuzz-index") else {
        return;
    };
    let dir = scratch.path().join("log");
    if fixture.write_log(&dir, &index).is_err() {
        return;
    }
    let Ok(fs) = crate::fs::sim::SimFs::new(scratch.path(), 0) else {
        return;
    };
    let check = |got: Vec<u64>, want: &Vec<u64>, exact: bool| {
        if exact {
            assert_eq!(&got, want, "an index file changed an answer");
        } else {
            assert!(
                got.iter().all(|s| want.contains(s)),
                "a forged index added a record that does not match"
            );
        }
    };
    match crate::ReadOnlyLog::open(&dir) {
        Ok(log) => {
            for (query, want) in &fixture.queries {
                match log.query(query) {
                    Ok(page) => check(page.records.iter().map(|r| r.seq).collect(), want, !forged),
                    Err(e) => panic!("read-only query failed with index {index:?}: {e}"),
                }
            }
        }
        Err(e) => panic!("an index file stopped a read-only open: {e}"),
    }
    let log = AuditLog::builder(&dir)
        .file_system(std::sync::Arc::new(fs))
        .preallocate(false)
        .durability(Durability::OsBuffered)
        .open();
    let log = match log {
        Ok(log) => log,
        Err(e) => panic!("an index file stopped the log from opening: {e}"),
    };
    let answers = |log: &AuditLog, exact: bool| {
        for (query, want) in &fixture.queries {
            let got: Vec<u64> = match log.query(query) {
                Ok(page) => page.records.iter().map(|r| r.seq).collect(),
                Err(e) => panic!("query failed with index {index:?}: {e}"),
            };
            check(got, want, exact);
        }
    };
    answers(&log, !forged);
    let reindexed = log.reindex();
    assert!(reindexed.is_ok(), "reindex: {reindexed:?}");
    answers(&log, true);
}

/// Recomputes an index file's CRCs as a forger would (FORMAT.md §7): version 2's block
/// tables and trailing CRC when its counts lay out, else a version 1 trailing CRC.
fn reseal_index(mut index: Vec<u8>) -> Vec<u8> {
    let word = |b: &[u8], at: usize| -> Option<usize> {
        usize::try_from(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?)).ok()
    };
    let v2 = (|| {
        let b = &index;
        if b.get(8..10)? != [2, 0] {
            return None;
        }
        let per_block =
            usize::try_from(u32::from_le_bytes(b.get(120..124)?.try_into().ok()?)).ok()?;
        let counts = [word(b, 88)?, word(b, 96)?, word(b, 104)?];
        let mut at = 128usize;
        let mut table = Vec::new();
        for count in counts {
            let end = at.checked_add(count.checked_mul(16)?)?;
            for block in b.get(at..end)?.chunks(per_block.max(1) * 16) {
                table.extend_from_slice(&block[..8]);
                table.extend_from_slice(&crc32fast::hash(block).to_le_bytes());
                table.extend_from_slice(&[0; 4]);
            }
            at = end;
        }
        let summary_end = at.checked_add(word(b, 112)?)?;
        let mut out = b.get(..summary_end)?.to_vec();
        out.extend_from_slice(&table);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&out[..128]);
        crc.update(&out[at..]);
        let crc = crc.finalize();
        out.extend_from_slice(&crc.to_le_bytes());
        Some(out)
    })();
    if let Some(out) = v2 {
        return out;
    }
    let body = index.len().saturating_sub(4);
    let crc = crc32fast::hash(&index[..body]).to_le_bytes();
    index.truncate(body);
    index.extend_from_slice(&crc);
    index
}

/// Cold segments: arbitrary bytes as a `.zseg` never panic the checks; bytes they accept
/// rebuild a hot image that scans cleanly to its footer. Mode 0: the input is the cold file;
/// mode 1: the fixture's cold segment with bytes overwritten; mode 2: a hot segment built
/// from the input (as `scan_segment` does) is compressed, and, if it is whole and sealed,
/// its cold form must check and decode to exactly the same bytes.
pub fn decode_cold_segment(input: &[u8]) {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let path = Path::new("fuzz.zseg");
    let options = CompressOptions {
        frame_bytes: 512,
        ..CompressOptions::default()
    };
    let cold = match mode % 3 {
        0 => data.to_vec(),
        1 => {
            let Some(fixture) = Fixture::get() else {
                return;
            };
            let built = cold_write::build(path, &fixture.sealed_segment, &options, None);
            patch(&built.unwrap_or_default(), data)
        }
        _ => {
            let hot = segment_bytes(data);
            if cold_write::record_offsets(path, &hot).is_err() {
                return;
            }
            let cold = cold_write::build(path, &hot, &options, None);
            let Ok(cold) = cold else {
                panic!("a sealed hot segment does not compress: {cold:?}");
            };
            let image = cold_read::hot_image(path, &cold, None);
            assert_eq!(image.ok().as_deref(), Some(&hot[..]), "cold image differs");
            cold
        }
    };
    let image = cold_read::hot_image(path, &cold, None);
    if let Ok(summary) = cold_read::check_bytes(path, &cold, None) {
        let Ok(image) = image else {
            panic!("check_bytes accepted what hot_image rejects");
        };
        assert_eq!(summary.uncompressed_bytes, image.len() as u64);
        let outcome = scan(path, &image, &mut |_, _| {});
        assert!(
            matches!(outcome.map(|o| o.end), Ok(End::Footer(_))),
            "an accepted cold segment's hot image does not scan to its footer"
        );
    }
}

/// The cut-log record framing (docs/FORMAT.md §9): `len:u32 | crc:u32 | body`, the CRC over
/// `log_id | len | body`.
fn cut_record(body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&LOG_ID);
    h.update(&len);
    h.update(body);
    let mut out = len.to_vec();
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A valid cut-log file header for [`LOG_ID`].
fn cut_file_header() -> Vec<u8> {
    let mut out = vec![0u8; 32];
    out[0..8].copy_from_slice(b"AUDITCUT");
    out[8..10].copy_from_slice(&1u16.to_le_bytes());
    out[12..28].copy_from_slice(&LOG_ID);
    let crc = crc32fast::hash(&out[..28]);
    out[28..32].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The cut log: never panics; an accepted log accounts for every byte, and its valid prefix
/// decodes to the same cuts with nothing torn. Mode 0: the input is the file; mode 1: a valid
/// file header, then records framed (with valid CRCs) around bodies taken from the input:
/// each body is `len:u8` bytes of input.
pub fn decode_cut_log(input: &[u8]) {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        data.to_vec()
    } else {
        let mut out = cut_file_header();
        let mut rest = data;
        while let Some((&len, tail)) = rest.split_first() {
            let (body, after) = tail.split_at(usize::from(len).min(tail.len()));
            out.extend_from_slice(&cut_record(body));
            rest = after;
        }
        out
    };
    let Ok(log) = cuts::decode(&bytes, &LOG_ID) else {
        return;
    };
    assert_eq!(log.valid_len + log.torn_bytes, bytes.len() as u64);
    let prefix = usize::try_from(log.valid_len).unwrap_or(usize::MAX);
    let again = cuts::decode(&bytes[..prefix.min(bytes.len())], &LOG_ID);
    assert_eq!(again.as_ref().map(|l| &l.cuts), Ok(&log.cuts));
    assert_eq!(again.map(|l| l.torn_bytes), Ok(0));
    for cut in &log.cuts {
        assert_eq!(cut.tree_head().size, cut.cut_seq, "frontier size differs");
    }
}

/// Signed checkpoints: parsing never panics, a parsed body prints back to the same
/// checkpoint, and a note opens under the fixed test key only if it carries exactly a body
/// that key signed ([`signed_notes`]). Mode 0: the input is the note; mode 1: a signed note
/// with bytes overwritten.
pub fn parse_checkpoint(input: &[u8]) {
    let notes = signed_notes();
    let Some(verifier) = signer().map(|s| s.verifier()) else {
        return;
    };
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        data.to_vec()
    } else {
        let Some((note, _)) = notes.get(usize::from(mode / 2) % notes.len().max(1)) else {
            return;
        };
        patch(note.as_bytes(), data)
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let _ = crate::checkpoint::store::split_notes(text);
    let _ = NoteVerifier::from_text(text);
    if let Ok(cp) = Checkpoint::parse(text) {
        let again = Checkpoint::parse(&cp.to_text());
        assert_eq!(
            again.as_ref().ok(),
            Some(&cp),
            "checkpoint does not round-trip"
        );
    }
    if let Ok(cp) = Checkpoint::open(text, &verifier) {
        assert!(
            notes.iter().any(|(_, signed)| *signed == cp),
            "a note the key never signed opened: {text:?}"
        );
    }
}

/// The hash-carrying places of a proof document, as JSON pointers.
fn hash_slots(doc: &Value) -> Vec<String> {
    let mut slots: Vec<String> = ["/tree_head/root", "/old/root", "/new/root", "/payload"]
        .into_iter()
        .filter(|p| doc.pointer(p).is_some())
        .map(String::from)
        .collect();
    let paths = doc
        .get("path")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    slots.extend((0..paths).map(|i| format!("/path/{i}")));
    slots
}

/// Changes one character of the string at `slot` to another of the same alphabet.
fn mutate_slot(doc: &mut Value, slot: &str, at: u8, to: u8) -> bool {
    let Some(Value::String(s)) = doc.pointer_mut(slot) else {
        return false;
    };
    let alphabet: &[u8] = if slot == "/payload" {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    } else {
        b"0123456789abcdef"
    };
    let mut bytes = s.clone().into_bytes();
    let body = bytes.iter().take_while(|b| **b != b'=').count();
    if body == 0 {
        return false;
    }
    let i = usize::from(at) % body;
    let new = alphabet[usize::from(to) % alphabet.len()];
    if bytes[i] == new {
        return false;
    }
    bytes[i] = new;
    *s = String::from_utf8_lossy(&bytes).into_owned();
    true
}

/// Proof documents: `check_proof` never panics on any JSON; a proof accepted under the fixed
/// key (the fixture's) is about a real record and a real tree head of the fixture log; and no change of a
/// hash (root, path entry, payload) in a valid proof is ever accepted. Mode 0: the input is
/// the JSON document; mode 1: bytes `proof, slot, at, to` pick a valid proof and change one
/// character of one of its hashes (checked with and without the key).
pub fn parse_proof(input: &[u8]) {
    let Some(fixture) = Fixture::get() else {
        return;
    };
    let verifier = &fixture.verifier;
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        let [which, slot, at, to, ..] = *data else {
            return;
        };
        let mut doc = fixture.proofs[usize::from(which) % fixture.proofs.len()].clone();
        let slots = hash_slots(&doc);
        if slots.is_empty() {
            return;
        }
        let slot = &slots[usize::from(slot) % slots.len()];
        // A base64 change in the padding bits may decode to the same payload: not a change.
        let before = doc.pointer(slot).cloned();
        if !mutate_slot(&mut doc, slot, at, to) {
            return;
        }
        let same_payload = slot == "/payload"
            && before
                .as_ref()
                .and_then(Value::as_str)
                .and_then(|s| B64.decode(s).ok())
                == doc
                    .pointer(slot)
                    .and_then(Value::as_str)
                    .and_then(|s| B64.decode(s).ok());
        if same_payload {
            return;
        }
        for key in [None, Some(verifier)] {
            let verdict = crate::proof::check_proof(&doc, key);
            assert!(
                !verdict.as_ref().is_ok_and(|c| c.valid),
                "a proof with {slot} changed was accepted: {verdict:?}"
            );
        }
        return;
    }
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = crate::proof::check_proof(&doc, None);
    let Ok(check) = crate::proof::check_proof(&doc, Some(verifier)) else {
        return;
    };
    if !check.valid {
        return;
    }
    let head = (check.tree_head.size, check.tree_head.root);
    assert!(
        fixture.heads.contains(&head),
        "a foreign tree head was accepted"
    );
    match doc.get("type").and_then(Value::as_str) {
        Some("inclusion") => {
            let seq = doc["seq"].as_u64().unwrap_or(u64::MAX);
            let at = doc["recorded_at_nanos"].as_i64();
            let payload = doc["payload"].as_str().and_then(|p| B64.decode(p).ok());
            let real = fixture.records.get(&seq);
            assert_eq!(
                real.map(|(a, p)| (Some(*a), Some(p.clone()))),
                Some((at, payload)),
                "an inclusion proof of a record the log never held was accepted"
            );
        }
        Some("consistency") => {
            let old = doc.pointer("/old/size").and_then(Value::as_u64);
            let root = doc.pointer("/old/root").and_then(Value::as_str);
            let root = root.and_then(crate::merkle::from_hex);
            let known = old.zip(root).is_some_and(|h| fixture.heads.contains(&h));
            assert!(
                known,
                "a consistency proof from a foreign head was accepted"
            );
        }
        _ => {}
    }
}

/// Seeds for the targets of this module, by name.
pub fn seed_inputs(target: &str) -> Vec<Vec<u8>> {
    let fixture = Fixture::get();
    let with_mode = |mode: u8, data: &[u8]| [&[mode][..], data].concat();
    match target {
        "decode_index" => {
            let index = fixture.map(Fixture::index).unwrap_or_default();
            vec![
                with_mode(0, index),
                with_mode(1, &[40, 0, 0xff]),
                with_mode(2, &[100, 0, 1, 200, 0, 7]),
            ]
        }
        "decode_cold_segment" => {
            let options = CompressOptions {
                frame_bytes: 512,
                ..CompressOptions::default()
            };
            let hot = fixture.map(|f| &f.sealed_segment[..]).unwrap_or_default();
            let path = Path::new("seed.zseg");
            let cold = cold_write::build(path, hot, &options, None).unwrap_or_default();
            vec![
                with_mode(0, &cold),
                with_mode(1, &[30, 0, 9]),
                with_mode(2, &[2, 0, 0, 0, 2, 0, 4, 5, 0]),
            ]
        }
        "decode_cut_log" => {
            let mut frontier = crate::merkle::Frontier::new();
            for i in 0..5u64 {
                frontier.push(crate::merkle::leaf_hash(i, 0, &[1; 32]));
            }
            let mut body = vec![1u8];
            body.extend_from_slice(&0u64.to_le_bytes());
            body.extend_from_slice(&5u64.to_le_bytes());
            body.extend_from_slice(&77u64.to_le_bytes());
            body.extend_from_slice(&5u64.to_le_bytes());
            body.extend_from_slice(&frontier.root());
            body.push(frontier.nodes().len() as u8);
            for n in frontier.nodes() {
                body.extend_from_slice(n);
            }
            body.extend_from_slice(&4u16.to_le_bytes());
            body.extend_from_slice(b"note");
            let mut file = cut_file_header();
            file.extend_from_slice(&cut_record(&body));
            let framed = [&[body.len() as u8][..], &body].concat();
            vec![with_mode(0, &file), with_mode(1, &framed)]
        }
        "parse_checkpoint" => {
            let mut seeds: Vec<Vec<u8>> = signed_notes()
                .iter()
                .map(|(note, _)| with_mode(0, note.as_bytes()))
                .collect();
            seeds.push(with_mode(1, &[60, 0, b'x']));
            seeds
        }
        "parse_proof" => {
            let proofs = fixture.map(|f| &f.proofs[..]).unwrap_or_default();
            let mut seeds: Vec<Vec<u8>> = [0, 3, proofs.len().saturating_sub(1)]
                .iter()
                .filter_map(|&i| proofs.get(i))
                .map(|p| with_mode(0, p.to_string().as_bytes()))
                .collect();
            seeds.push(with_mode(1, &[3, 0, 10, 5]));
            seeds.push(with_mode(1, &[40, 1, 0, 1]));
            seeds
        }
        _ => Vec::new(),
    }
}
