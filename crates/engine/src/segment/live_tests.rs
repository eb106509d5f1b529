//! The live-segment copy (`auditlog_format::segment::live`) against a segment a real writer
//! wrote.

use crate::segment::live::copy_from;
use crate::segment::name::segment_path;
use crate::segment::scan::{End, resume_at, scan};
use crate::{AuditLog, Event};

/// A follower that copies only the unscanned end of the active segment finds what a scan
/// of the whole file finds, with file offsets.
#[test]
fn resuming_from_a_copied_end_matches_a_full_scan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(tmp.path()).expect("open");
    let events: Vec<_> = (0..100)
        .map(|i| Event::new(format!("user:{i}"), "login"))
        .collect();
    log.append_batch(&events)
        .expect("append")
        .wait()
        .expect("ack");
    let path = segment_path(tmp.path(), 0);
    let whole = copy_from(&path, 0).expect("copy");
    let full = scan(&path, &whole, &mut |_, _| {}).expect("scan");
    assert_eq!((full.end_seq(), &full.end), (100, &End::Clean));
    // Stop a scan at record 48 (the fourth remembered offset), then resume from a copy of
    // the file from there.
    let mid = full.offsets[3];
    let first = scan(&path, &whole[..mid as usize], &mut |_, _| {}).expect("scan");
    assert_eq!((first.end_seq(), first.records_end), (48, mid));
    let mut visited = Vec::new();
    let rest = copy_from(&path, mid).expect("copy");
    let resumed = resume_at(&path, &rest, mid, first, &mut |at, r| {
        visited.push((at, r.seq))
    })
    .expect("resume");
    assert_eq!(resumed.records_end, full.records_end);
    assert_eq!(resumed.frontier.tree_head(), full.frontier.tree_head());
    assert_eq!(resumed.offsets, full.offsets[3..]);
    assert_eq!(visited.first(), Some(&(mid, 48)));
    assert_eq!(resumed.end, End::Clean);
}
