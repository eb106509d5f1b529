//! Index files are derived data: deleted, truncated, bit-flipped, garbage, stale (another
//! segment's) or half-written index files never stop the log from opening and never change
//! an answer; the damaged file is rebuilt byte for byte, and `reindex` rebuilds them all.

mod common;

use auditlog::query::{Order, Query};
use auditlog::{ReadOnlyLog, Record, Severity};
use std::path::{Path, PathBuf};

fn index_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    files.sort();
    files
}

fn queries(all: &[Record]) -> Vec<Query> {
    let mid = all[all.len() / 2].recorded_at;
    vec![
        Query::new().actor("user:7"),
        Query::new().entity("order", "3").order(Order::NewestFirst),
        Query::new()
            .recorded_since(mid)
            .severity_at_least(Severity::High),
        Query::new().action("LOGIN_FAILED").limit(25),
    ]
}

fn answers(log: &auditlog::LogReader, queries: &[Query]) -> Vec<Vec<u64>> {
    queries
        .iter()
        .map(|q| {
            let page = log.query(q).expect("query");
            page.records.iter().map(|r| r.seq).collect()
        })
        .collect()
}

type Damage = fn(&Path, &[PathBuf]);

#[test]
fn damaged_index_files_give_the_same_answers_and_are_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (reference, originals, expected) = {
        let log = common::small_segments(dir.path()).open().expect("open");
        common::append_range(&log, 0, 3000);
        let all = common::read_all(&log);
        let qs = queries(&all);
        let expected = answers(&log, &qs);
        let originals: Vec<(PathBuf, Vec<u8>)> = index_files(dir.path())
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read index");
                (p, bytes)
            })
            .collect();
        assert!(
            originals.len() >= 3,
            "queries wrote the sealed segments' index files"
        );
        // Brute force agrees, so the reference answers are right.
        for (q, got) in qs.iter().zip(&expected) {
            let mut want: Vec<u64> = all.iter().filter(|r| q.matches(r)).map(|r| r.seq).collect();
            if q.get_order() == Order::NewestFirst {
                want.reverse();
            }
            want.truncate(q.get_limit().unwrap_or(usize::MAX));
            assert_eq!(*got, want, "{q:?}");
        }
        (qs, originals, expected)
    };
    let damages: Vec<(&str, Damage)> = vec![
        ("deleted", |_, files| {
            files
                .iter()
                .for_each(|f| std::fs::remove_file(f).expect("rm"))
        }),
        ("truncated", |_, files| {
            for (i, f) in files.iter().enumerate() {
                let len = std::fs::metadata(f).expect("meta").len();
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(f)
                    .expect("open");
                file.set_len([0, 3, 100, len / 2, len - 1][i % 5])
                    .expect("truncate");
            }
        }),
        ("bit-flipped", |_, files| {
            for (i, f) in files.iter().enumerate() {
                let mut bytes = std::fs::read(f).expect("read");
                let at = (i * 7919 + 13) % bytes.len();
                bytes[at] ^= 1 << (i % 8);
                std::fs::write(f, bytes).expect("write");
            }
        }),
        ("garbage", |_, files| {
            files
                .iter()
                .for_each(|f| std::fs::write(f, vec![0xA5; 4096]).expect("write"))
        }),
        ("stale (another segment's file)", |_, files| {
            let first = std::fs::read(&files[0]).expect("read");
            files[1..]
                .iter()
                .for_each(|f| std::fs::write(f, &first).expect("write"));
        }),
        ("half-written temporary file", |dir, files| {
            std::fs::remove_file(&files[0]).expect("rm");
            let name = files[0]
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            std::fs::write(dir.join(format!("{name}.tmp")), b"AUDITIDX torn").expect("write");
        }),
    ];
    for (what, damage) in damages {
        let files: Vec<PathBuf> = originals.iter().map(|(p, _)| p.clone()).collect();
        damage(dir.path(), &files);
        let log = common::small_segments(dir.path())
            .open()
            .expect("open never fails on indexes");
        assert_eq!(answers(&log, &reference), expected, "answers after {what}");
        drop(log);
        for (path, bytes) in &originals {
            let now = std::fs::read(path).expect("rebuilt index exists");
            assert!(
                now == *bytes,
                "{} rebuilt identically after {what}",
                path.display()
            );
        }
    }
    // Read-only: damaged files are ignored, not rewritten.
    std::fs::write(&originals[0].0, b"junk").expect("write");
    let log = ReadOnlyLog::open(dir.path()).expect("open read-only");
    assert_eq!(answers(&log, &reference), expected, "read-only answers");
    assert_eq!(std::fs::read(&originals[0].0).expect("read"), b"junk");
    // reindex rewrites every sealed segment's file from its segment.
    drop(log);
    let log = common::small_segments(dir.path()).open().expect("open");
    let report = log.reindex().expect("reindex");
    assert_eq!(report.rebuilt as usize, originals.len());
    for (path, bytes) in &originals {
        assert!(std::fs::read(path).expect("read") == *bytes);
    }
    assert_eq!(answers(&log, &reference), expected, "answers after reindex");
}
