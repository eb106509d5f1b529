//! An index file rewritten consistently (summary bits or postings changed and its CRC
//! recomputed, which FORMAT.md §7 lets anyone with write access do) must not hide records.
//! Queries reject what cheap structural checks against the segment's footer can see; `verify`
//! rebuilds every index from its segment, reports one that differs as damage naming the file,
//! and moves it aside so the next query rebuilds it; `auditlog reindex` rebuilds them all; a
//! writer (the CLI included) leaves the index file of each segment it sealed.

mod common;

use auditlog::query::Query;
use auditlog::verify::{VerifyOptions, verify};
use auditlog::{ReadOnlyLog, Record, Severity};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HEADER_LEN: usize = 128;
const ENTRY_LEN: usize = 16;

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn set_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Recomputes the block tables and the CRC after the summary, as a forger would (FORMAT.md
/// §7, version 2: a row per block of `u32 at 120` entries with its first word and the CRC-32
/// of its entries, then the CRC-32 of the header, summary and tables).
fn reseal(b: &mut Vec<u8>) {
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 2, "a version 2 file");
    let per_block = u32::from_le_bytes(b[120..124].try_into().unwrap()) as usize;
    let summary = summary_at(b);
    let summary_end = summary + u64_at(b, 112) as usize;
    b.truncate(summary_end);
    let mut at = HEADER_LEN;
    let mut table = Vec::new();
    for count_at in [88, 96, 104] {
        let end = at + ENTRY_LEN * u64_at(b, count_at) as usize;
        for block in b[at..end].chunks(per_block * ENTRY_LEN) {
            table.extend_from_slice(&block[..8]);
            table.extend_from_slice(&crc32fast::hash(block).to_le_bytes());
            table.extend_from_slice(&[0; 4]);
        }
        at = end;
    }
    b.extend_from_slice(&table);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&b[..HEADER_LEN]);
    crc.update(&b[summary..]);
    let crc = crc.finalize();
    b.extend_from_slice(&crc.to_le_bytes());
}

/// Start of the summary section (FORMAT.md §7 layout).
fn summary_at(b: &[u8]) -> usize {
    HEADER_LEN + ENTRY_LEN * (u64_at(b, 88) + u64_at(b, 96) + u64_at(b, 104)) as usize
}

/// A log of several sealed segments whose index files all exist; returns every record and
/// the first segment's index file.
fn build(dir: &Path) -> (Vec<Record>, PathBuf) {
    let log = common::small_segments(dir).open().expect("open");
    common::append_range(&log, 0, 3000);
    log.seal().expect("seal");
    log.reindex().expect("reindex");
    let all = common::read_all(&log);
    log.close().expect("close");
    let idx = dir.join(format!("{:020}.idx", 0));
    assert!(idx.exists(), "the first segment's index file was written");
    (all, idx)
}

fn high(all: &[Record]) -> (Query, u64) {
    let q = Query::new().severity_at_least(Severity::High);
    let want = all.iter().filter(|r| q.matches(r)).count() as u64;
    (q, want)
}

/// Clears every severity bit but `info` in the summary: the segment is skipped by any
/// `--severity high+` query although half its records match.
fn forge_summary(idx: &Path) {
    let mut b = std::fs::read(idx).expect("read index");
    let at = summary_at(&b) + 40;
    b[at] = 1;
    reseal(&mut b);
    std::fs::write(idx, b).expect("write forged index");
}

fn damaged_path(idx: &Path) -> PathBuf {
    let mut name = idx.as_os_str().to_owned();
    name.push(".damaged");
    PathBuf::from(name)
}

#[test]
fn forged_summary_is_damage_moved_aside_and_the_next_query_sees_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (all, idx) = build(dir.path());
    let original = std::fs::read(&idx).expect("read");
    let (q, want) = high(&all);
    forge_summary(&idx);
    {
        // The forgery passes every cheap check (it is consistent with the footer): only a
        // rebuild from the segment can tell, which is verify's job.
        let log = ReadOnlyLog::open(dir.path()).expect("open");
        assert!(
            log.count(&q).expect("count") < want,
            "the forgery hides records"
        );
    }
    let report = verify(dir.path(), &VerifyOptions::default()).expect("verify runs");
    assert!(!report.ok, "a forged index is damage: {report}");
    assert!(
        report.problems.iter().any(|p| p.file == idx),
        "the problem names {}: {report}",
        idx.display()
    );
    assert!(!idx.exists(), "the forged index was moved aside");
    assert!(
        damaged_path(&idx).exists(),
        "kept as *.idx.damaged for inspection"
    );
    let log = common::small_segments(dir.path()).open().expect("open");
    assert_eq!(log.count(&q).expect("count"), want, "every matching record");
    drop(log);
    assert_eq!(
        std::fs::read(&idx).expect("rebuilt"),
        original,
        "rebuilt exactly"
    );
    let again = verify(dir.path(), &VerifyOptions::default()).expect("verify runs");
    assert!(again.ok, "clean once rebuilt: {again}");
}

/// Drops the postings of `actor`'s records from the actor section of `idx` (the segment
/// starting at 0), keeping the file consistent: counts, sort order and CRC.
fn forge_drop_postings(idx: &Path, all: &[Record], actor: &str) -> u64 {
    let mut b = std::fs::read(idx).expect("read index");
    let records = u64_at(&b, 40);
    let hidden: Vec<u32> = all
        .iter()
        .filter(|r| r.seq < records && r.event.actor.id == actor)
        .map(|r| r.seq as u32)
        .collect();
    let (time, actor_count) = (u64_at(&b, 88) as usize, u64_at(&b, 96) as usize);
    let start = HEADER_LEN + ENTRY_LEN * time;
    let end = start + ENTRY_LEN * actor_count;
    let kept: Vec<u8> = b[start..end]
        .chunks(ENTRY_LEN)
        .filter(|e| !hidden.contains(&u32::from_le_bytes(e[8..12].try_into().unwrap())))
        .flatten()
        .copied()
        .collect();
    set_u64(&mut b, 96, (kept.len() / ENTRY_LEN) as u64);
    b.splice(start..end, kept);
    reseal(&mut b);
    std::fs::write(idx, b).expect("write forged index");
    hidden.len() as u64
}

#[test]
fn an_index_missing_postings_is_rebuilt_by_the_query_not_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (all, idx) = build(dir.path());
    let hidden = forge_drop_postings(&idx, &all, "user:5");
    assert!(hidden > 0);
    let q = Query::new().actor("user:5");
    let want = all.iter().filter(|r| q.matches(r)).count() as u64;
    // Every record has exactly one actor posting: a short actor section is seen on open.
    let log = ReadOnlyLog::open(dir.path()).expect("open");
    assert_eq!(log.count(&q).expect("count"), want, "no record hidden");
    drop(log);
    let report = verify(dir.path(), &VerifyOptions::default()).expect("verify runs");
    assert!(report.problems.iter().any(|p| p.file == idx), "{report}");
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("run auditlog")
}

#[test]
fn cli_verify_exits_1_naming_a_forged_index_and_reindex_rebuilds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (all, idx) = build(dir.path());
    let original = std::fs::read(&idx).expect("read");
    let (_, want) = high(&all);
    let d = dir.path().to_str().expect("utf-8 path");
    forge_summary(&idx);
    let out = cli(&["verify", d]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &*String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&*idx.to_string_lossy()),
        "names the file: {text}"
    );
    let count = cli(&["query", "--dir", d, "--severity", "high+", "--count"]);
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        want.to_string(),
        "after verify moved it aside, the query counts every record"
    );
    let export = cli(&["export", "--dir", d, "--severity", "high+"]);
    let lines = String::from_utf8_lossy(&export.stdout).lines().count() as u64;
    assert_eq!(lines, want, "export writes every matching record");
    // `reindex` rebuilds on request, whatever the file holds.
    forge_summary(&damaged_path(&idx));
    std::fs::rename(damaged_path(&idx), &idx).expect("put the forgery back");
    let out = cli(&["reindex", "--dir", d]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read(&idx).expect("rebuilt"),
        original,
        "rebuilt exactly"
    );
    let out = cli(&["verify", d]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn the_cli_writer_leaves_the_index_of_each_segment_it_seals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    for i in 0..3 {
        let actor = format!("user{i}");
        let out = cli(&["append", "--dir", d, "--actor", &actor, "--action", "login"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let out = cli(&["seal", "--dir", d]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let idx = dir.path().join(format!("{:020}.idx", 0));
    assert!(idx.exists(), "sealing wrote the segment's index file");
    let report = verify(dir.path(), &VerifyOptions::default()).expect("verify runs");
    assert!(report.ok && report.warnings.is_empty(), "{report}");
}
