//! A read-only handle (a fresh CLI process) checks a version 2 index file as it reads it
//! (FORMAT.md §7 "Validity"): a damaged block it reads makes the query answer from the
//! segment's records instead, so every answer stays exact; the read-only handle never
//! rewrites the file, and a writable handle, which checks files whole at load, rewrites it
//! byte for byte.

mod common;

use auditlog::ReadOnlyLog;
use auditlog::query::Query;
use std::path::{Path, PathBuf};

const HEADER_LEN: usize = 128;
const ENTRY_LEN: usize = 16;

fn u64_at(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

fn index_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    files.sort();
    files
}

/// Flips a bit in the key of the actor entry at `fraction` of the actor section, and one in
/// the entity entry there.
fn damage_entries(idx: &Path, fraction: f64) {
    let mut b = std::fs::read(idx).unwrap();
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 2, "version 2 written");
    let (time, actor, entity) = (u64_at(&b, 88), u64_at(&b, 96), u64_at(&b, 104));
    let actor_at = HEADER_LEN + ENTRY_LEN * time;
    let entity_at = actor_at + ENTRY_LEN * actor;
    let pick = |n: usize| ((n as f64 * fraction) as usize).min(n - 1);
    b[actor_at + ENTRY_LEN * pick(actor) + 2] ^= 0x20;
    b[entity_at + ENTRY_LEN * pick(entity) + 5] ^= 0x01;
    std::fs::write(idx, b).unwrap();
}

#[test]
fn damaged_blocks_read_by_a_read_only_query_never_change_an_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let all = {
        let log = common::small_segments(dir).open().unwrap();
        common::append_range(&log, 0, 3000);
        log.seal().unwrap();
        log.reindex().unwrap();
        let all = common::read_all(&log);
        log.close().unwrap();
        all
    };
    let files = index_files(dir);
    assert!(files.len() >= 3, "index files of the sealed segments");
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    for (i, f) in files.iter().enumerate() {
        damage_entries(f, [0.1, 0.5, 0.9][i % 3]);
    }
    let damaged: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    let mut queries: Vec<Query> = (0..97)
        .map(|u| Query::new().actor(format!("user:{u}")))
        .collect();
    queries.extend(
        (0..1013)
            .step_by(7)
            .map(|e| Query::new().entity("order", e.to_string())),
    );
    queries.push(Query::new().actor("user:5").entity("order", "5"));
    let log = ReadOnlyLog::open(dir).unwrap();
    for q in &queries {
        let want = all.iter().filter(|r| q.matches(r)).count() as u64;
        assert_eq!(log.count(q).unwrap(), want, "{q:?}");
        let seqs: Vec<u64> = log
            .query(q)
            .unwrap()
            .records
            .iter()
            .map(|r| r.seq)
            .collect();
        let brute: Vec<u64> = all.iter().filter(|r| q.matches(r)).map(|r| r.seq).collect();
        assert_eq!(seqs[..], brute[..seqs.len()], "{q:?}");
    }
    drop(log);
    let now: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(now, damaged, "a read-only handle rewrote an index file");

    // A writable handle checks each file whole when a query first loads it, and rewrites it.
    let log = common::small_segments(dir).open().unwrap();
    for q in &queries {
        let want = all.iter().filter(|r| q.matches(r)).count() as u64;
        assert_eq!(log.count(q).unwrap(), want, "{q:?}");
    }
    log.close().unwrap();
    let now: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(
        now, originals,
        "a writable handle rebuilt each file exactly"
    );
}
