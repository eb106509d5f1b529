//! Queries while a writer keeps appending across segment boundaries: each answer is exactly
//! the brute-force answer over some committed prefix of the log (never a torn or reordered
//! one), oldest-first pagination neither skips nor repeats a record and picks up records
//! appended between pages, and newest-first pagination walks the records committed before
//! its first page.

mod common;

use auditlog::query::{Order, Query};
use auditlog::{Durability, Severity};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const TOTAL: u64 = 6000;

#[test]
fn answers_are_prefix_consistent_and_pages_exact_under_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        common::small_segments(dir.path())
            .durability(Durability::OsBuffered)
            .open()
            .expect("open"),
    );
    common::append_range(&log, 0, 500);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, done) = (log.clone(), done.clone());
        std::thread::spawn(move || {
            let mut i = 500;
            while i < TOTAL {
                let n = (TOTAL - i).min(37);
                common::append_range(&log, i, i + n);
                i += n;
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let q = Query::new()
        .actor("user:5")
        .severity_at_least(Severity::Medium);
    let matches = |seq: u64| {
        let e = common::event(seq);
        e.actor.id == "user:5" && e.severity >= Severity::Medium
    };
    let mut paged = Vec::new();
    let mut cursor = None;
    let newest_q = Query::new()
        .action("LOGIN_FAILED")
        .order(Order::NewestFirst);
    let newest_end = log.end_seq();
    let mut newest = Vec::new();
    let mut newest_cursor = None;
    let mut rounds = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        // A whole answer equals the brute force over a prefix [0, end) with
        // before <= end <= after.
        let before = log.end_seq();
        let got: Vec<u64> = log
            .query(&q)
            .expect("query")
            .records
            .iter()
            .map(|r| r.seq)
            .collect();
        let after = log.end_seq();
        let end = got.last().map_or(before, |s| (s + 1).max(before));
        assert!(end <= after);
        let want: Vec<u64> = (0..end).filter(|&s| matches(s)).collect();
        assert_eq!(got, want, "answer over a committed prefix");
        // One small page of each paginated walk per round.
        let mut page_q = q.clone().limit(3);
        if let Some(c) = cursor {
            page_q = page_q.after(c);
        }
        let page = log.query(&page_q).expect("page");
        paged.extend(page.records.iter().map(|r| r.seq));
        cursor = Some(page.cursor);
        let mut nq = newest_q.clone().limit(50);
        if let Some(c) = newest_cursor {
            nq = nq.after(c);
        }
        let page = log.query(&nq).expect("page");
        if newest_cursor.is_none() {
            newest.clear();
        }
        newest.extend(page.records.iter().map(|r| r.seq));
        newest_cursor = Some(page.cursor);
        rounds += 1;
        if finished && !page.has_more {
            break;
        }
    }
    writer.join().expect("writer");
    // Drain the oldest-first walk: it ends with every match, each once, in order.
    loop {
        let mut page_q = q.clone().limit(50);
        if let Some(c) = cursor {
            page_q = page_q.after(c);
        }
        let page = log.query(&page_q).expect("page");
        paged.extend(page.records.iter().map(|r| r.seq));
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    let want: Vec<u64> = (0..TOTAL).filter(|&s| matches(s)).collect();
    assert_eq!(paged, want, "oldest-first pages over {rounds} rounds");
    // The newest-first walk covers exactly the matches committed before its first page.
    assert!(!newest.is_empty());
    let top = newest[0];
    assert!(top >= newest_end.saturating_sub(3));
    let want: Vec<u64> = (0..=top).rev().filter(|&s| s % 3 == 1).collect();
    assert_eq!(newest, want, "newest-first pages");
}
