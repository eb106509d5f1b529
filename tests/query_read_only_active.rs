//! A read-only handle answers queries over the active (unsealed) segment from a map of the
//! records its open scanned, and its first query reads those records without building their index
//! (docs/DESIGN.md, "Reading the active segment read-only"). Whatever path a query takes,
//! the answer must be the one the indexes give after `seal`, and the one a brute-force
//! filter over every record gives; records a writer appends after the open are read from
//! the file.

mod common;

use auditlog::query::{Order, Query};
use auditlog::{AuditLog, ReadOnlyLog, Record};
use common::{append_range, read_all, small_segments};

/// Queries touching each path of the executor: actor and entity postings, a run of
/// records by time, a filter no index serves, both orders, limits.
fn queries(all: &[Record]) -> Vec<Query> {
    let mid = all[all.len() / 2].recorded_at;
    let late = all[all.len() * 9 / 10].recorded_at;
    vec![
        Query::new(),
        Query::new().actor("user:5"),
        Query::new()
            .actor("user:5")
            .order(Order::NewestFirst)
            .limit(7),
        Query::new().entity("order", "17"),
        Query::new().actor("user:17").entity("order", "17"),
        Query::new().action("LOGIN_FAILED").limit(50),
        Query::new().recorded_since(mid).recorded_until(late),
        Query::new()
            .recorded_since(mid)
            .actor("user:40")
            .order(Order::NewestFirst),
        Query::new().actor("nobody"),
    ]
}

/// What each query returns: the sequence numbers of its page, whether there is more, and the
/// count of every match.
fn answers(log: &auditlog::LogReader, queries: &[Query]) -> Vec<(Vec<u64>, bool, u64)> {
    queries
        .iter()
        .map(|q| {
            let page = log.query(q).expect("query");
            let seqs = page.records.iter().map(|r| r.seq).collect();
            (seqs, page.has_more, log.count(q).expect("count"))
        })
        .collect()
}

/// The same answers, from a filter over every record (`has_more` as the executor sets it: a
/// page that stopped at its limit).
fn brute_force(all: &[Record], queries: &[Query]) -> Vec<(Vec<u64>, bool, u64)> {
    queries
        .iter()
        .map(|q| {
            let mut matching: Vec<u64> =
                all.iter().filter(|r| q.matches(r)).map(|r| r.seq).collect();
            let count = matching.len() as u64;
            if q.get_order() == Order::NewestFirst {
                matching.reverse();
            }
            let limit = q.get_limit().unwrap_or(usize::MAX);
            let has_more = matching.len() >= limit;
            matching.truncate(limit);
            (matching, has_more, count)
        })
        .collect()
}

/// A read-only handle whose open was told the query it answers first.
fn first_query(dir: &std::path::Path, query: &Query) -> ReadOnlyLog {
    AuditLog::builder(dir)
        .first_query(query)
        .open_read_only()
        .expect("open read-only")
}

#[test]
fn a_read_only_query_over_the_active_segment_answers_as_after_seal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = small_segments(tmp.path()).open().expect("open");
    append_range(&log, 0, 3000);
    let all = read_all(&log);
    let queries = queries(&all);
    let expected = brute_force(&all, &queries);
    drop(log);

    // Several sealed segments and an active one holding hundreds of records.
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    let segments = reader.open_report().segments;
    assert!(
        segments >= 3,
        "sealed segments and an active one: {segments}"
    );
    let active_first = common::segment_files(tmp.path())
        .last()
        .and_then(|p| p.file_stem()?.to_str()?.parse::<u64>().ok())
        .expect("the active segment's first seq");
    assert!(
        active_first < 2800,
        "the active segment holds records: {active_first}"
    );

    // One fresh handle per query: each one's first query reads the active segment unindexed;
    // told the query first, its open notes the query's records and the query reads only
    // those; told another query, the hint serves nothing and changes nothing.
    for (q, want) in queries.iter().zip(&expected) {
        let fresh = ReadOnlyLog::open(tmp.path()).expect("open read-only");
        assert_eq!(
            &answers(&fresh, std::slice::from_ref(q))[0],
            want,
            "first query of a fresh handle: {q:?}"
        );
        for hint in [q, &queries[1]] {
            let told = first_query(tmp.path(), hint);
            assert_eq!(
                &answers(&told, std::slice::from_ref(q))[0],
                want,
                "first query of a handle told {hint:?}: {q:?}"
            );
        }
    }
    // One handle for all of them: the first reads unindexed, the later ones build the index.
    assert_eq!(
        answers(&reader, &queries),
        expected,
        "one handle, first pass"
    );
    assert_eq!(answers(&reader, &queries), expected, "one handle, indexed");
    drop(reader);

    let log = AuditLog::open(tmp.path()).expect("reopen");
    log.seal().expect("seal");
    log.close().expect("close");
    let sealed = ReadOnlyLog::open(tmp.path()).expect("open read-only after seal");
    assert_eq!(answers(&sealed, &queries), expected, "after seal");
}

/// An active segment of several MiB, which the read-only open scans a 1 MiB chunk at a time
/// (frames crossing every chunk boundary): every record reads back exactly, by `get` and in
/// order, and every query answers as a filter over all of them.
#[test]
fn an_active_segment_longer_than_the_open_reads_at_once_reads_back_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::builder(tmp.path()).open().expect("open");
    append_range(&log, 0, 20_000);
    let all = read_all(&log);
    let queries = queries(&all);
    let expected = brute_force(&all, &queries);
    drop(log);
    let active = common::segment_files(tmp.path());
    let len = std::fs::metadata(active.last().expect("a segment"))
        .expect("metadata")
        .len();
    assert!(
        len > 3 << 20,
        "one active segment of several chunks: {len} bytes"
    );

    for q in &queries {
        let told = first_query(tmp.path(), q);
        let want = &brute_force(&all, std::slice::from_ref(q))[0];
        assert_eq!(
            &answers(&told, std::slice::from_ref(q))[0],
            want,
            "told: {q:?}"
        );
    }
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    assert_eq!(reader.end_seq(), 20_000);
    assert_eq!(answers(&reader, &queries), expected);
    assert_eq!(read_all(&reader), all, "every record, in order");
    for seq in (0..20_000).step_by(997) {
        assert_eq!(reader.get(seq).expect("get"), all[seq as usize]);
    }
}

#[test]
fn records_appended_after_a_read_only_open_are_read_from_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = small_segments(tmp.path()).open().expect("open");
    append_range(&log, 0, 1500);
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    assert_eq!(reader.end_seq(), 1500);
    // Told its first query, the open notes records up to 1500 only: the query must read the
    // ones appended after it as well.
    let told = first_query(tmp.path(), &Query::new().actor("user:5"));
    // Past what the open copied: into the same active segment, then into later ones.
    append_range(&log, 1500, 2600);
    assert_eq!(reader.refresh().expect("refresh"), 2600);
    assert_eq!(told.refresh().expect("refresh"), 2600);
    let all = read_all(&log);
    let queries = queries(&all);
    let expected = brute_force(&all, &queries);
    assert_eq!(
        answers(&told, &queries[1..2]),
        expected[1..2],
        "told, after appends"
    );
    assert_eq!(answers(&reader, &queries), expected, "first pass");
    assert_eq!(answers(&reader, &queries), expected, "indexed");
    assert_eq!(read_all(&reader), all, "every record, in order");
    for seq in [0, 1499, 1500, 2599] {
        assert_eq!(reader.get(seq).expect("get"), all[seq as usize]);
    }
    let newest: Vec<u64> = reader
        .iter(..)
        .rev()
        .take(3)
        .map(|r| r.expect("read").seq)
        .collect();
    assert_eq!(newest, [2599, 2598, 2597]);
}

/// The first query of a read-only handle passes over the active segment's records that
/// cannot match without checking their frames again (the open just checked them), but every
/// record it reads is checked: a matching record damaged after the open is an error naming
/// the segment, never a record read from damaged bytes.
#[test]
fn a_record_the_first_query_reads_is_checked_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::builder(tmp.path()).open().expect("open");
    append_range(&log, 0, 400);
    drop(log);
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    let told = first_query(tmp.path(), &Query::new().actor("user:42"));

    // `user:42` is the actor of records 42, 139, 236 and 333 (and no other actor holds
    // those bytes). Damage record 139 where the payload still decodes, so that only its CRC
    // can tell: its entity id "139" becomes "129"; the actor stays intact.
    let segment = common::segment_files(tmp.path()).pop().expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let at: Vec<usize> = bytes
        .windows(7)
        .enumerate()
        .filter(|(_, w)| w == b"user:42")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 4, "one copy per record of user:42");
    let id = at[1]
        + bytes[at[1]..]
            .windows(3)
            .position(|w| w == b"139")
            .expect("the entity id after the actor");
    bytes[id + 1] ^= 0x01;
    // In place, as damage happens: the file is not cut and rewritten.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes, 0).expect("write");

    match reader.count(&Query::new().actor("user:42")) {
        Err(auditlog::Error::Corrupt(c)) => assert_eq!(c.file, segment, "{c}"),
        other => panic!("a count over a damaged record: {other:?}"),
    }
    // So is a record the open noted for its first query, damaged after the open.
    match told.count(&Query::new().actor("user:42")) {
        Err(auditlog::Error::Corrupt(c)) => assert_eq!(c.file, segment, "{c}"),
        other => panic!("a count told its actor, over a damaged record: {other:?}"),
    }
}
