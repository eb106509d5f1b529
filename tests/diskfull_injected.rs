//! A full disk injected through the file-system interface (the real one is
//! tests/diskfull_tmpfs.rs, which needs root): opening a log and running retention on it
//! must need no new space, and a preallocation that fails (even one that extended the file
//! part of the way first, as ext4's fallocate can) leaves no stray reservation, poisons the
//! log and loses nothing acknowledged.

mod common;

use auditlog::AppendError;
use auditlog::fs::faulty::{Call, FaultyFs};
use auditlog::fs::{StdFileSystem, WritableFile};
use auditlog::lifecycle::RetentionPolicy;
use common::{
    WrapFile, Wrapped, append_range, assert_events, event, read_all, segment_files, small_segments,
};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// A log of several sealed 64 KiB segments whose (empty) active segment was never
/// preallocated, as a full disk (or a log written with preallocation off) leaves it.
fn log_with_unreserved_active(dir: &Path, records: u64) {
    let log = small_segments(dir).preallocate(false).open().unwrap();
    append_range(&log, 0, records);
    log.seal().unwrap();
    log.close().unwrap();
    assert!(segment_files(dir).len() >= 4, "too few segments");
}

#[test]
fn opening_and_retention_make_no_preallocation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_unreserved_active(&dir, 3000);
    let faulty = FaultyFs::new(Arc::new(StdFileSystem));
    let log = small_segments(&dir)
        .file_system(Arc::new(faulty.clone()))
        .open()
        .expect("open");
    let policy = RetentionPolicy {
        max_total_bytes: Some(100_000),
        ..RetentionPolicy::default()
    };
    let report = log.apply_retention(&policy).expect("retention");
    assert!(!report.segments.is_empty() && report.reclaimed_bytes > 0);
    log.seal().expect("seal of the active segment");
    log.close().expect("close");
    let calls = faulty.calls();
    assert!(
        !calls.contains(&Call::Preallocate),
        "opening and maintenance needed new space: {calls:?}"
    );
}

/// Its files' `preallocate` reserves half of what was asked, then fails with ENOSPC.
#[derive(Debug)]
struct HalfFallocateFs;

impl WrapFile for HalfFallocateFs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        Box::new(HalfFallocate(file))
    }
}

#[derive(Debug)]
struct HalfFallocate(Box<dyn WritableFile>);

impl WritableFile for HalfFallocate {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.0.preallocate(len / 2)?;
        Err(io::Error::from_raw_os_error(libc::ENOSPC))
    }
}

#[test]
fn a_failed_preallocation_is_cut_back_and_poisons_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let acked = 3000;
    log_with_unreserved_active(&dir, acked);
    let active = segment_files(&dir).pop().unwrap();
    let len_before = std::fs::metadata(&active).unwrap().len();

    let log = small_segments(&dir)
        .file_system(Arc::new(Wrapped(HalfFallocateFs)))
        .open()
        .expect("open on a full disk");
    let first = log.append(&event(acked)).and_then(|h| h.wait());
    match &first {
        Err(AppendError::Poisoned { cause }) => assert!(
            cause.contains("preallocating") && cause.contains("No space left on device"),
            "{cause}"
        ),
        other => panic!("the append on a full disk did not fail: {other:?}"),
    }
    assert_eq!(
        std::fs::metadata(&active).unwrap().len(),
        len_before,
        "the partial preallocation was not cut back"
    );
    let later = log.append(&event(acked + 1)).map(|_| ());
    assert!(
        matches!(later, Err(AppendError::Poisoned { .. })),
        "{later:?}"
    );
    assert!(log.close().is_err(), "close of a poisoned log said Ok");

    let log = small_segments(&dir).open().expect("reopen");
    assert_events(&read_all(&log), acked);
    append_range(&log, acked, acked + 10);
    log.close().expect("close");
}
