//! A writer persists each sealed segment's index file at `seal()` / `close()`, and that write
//! is derived work: a fault at any of its file-system calls must leave the seal and close
//! successful, the log unpoisoned and whole, and the index to be rebuilt by a later query.

mod common;

use auditlog::AuditLog;
use auditlog::query::Query;
use auditlog::verify::{VerifyOptions, verify};

/// Writing the index at a seal is derived work: a fault at any of its file-system calls
/// leaves the seal and close successful, the log unpoisoned and whole, and the index to be
/// rebuilt by a later query. (A fault in the seal's own calls surfaces: faults_io_errors.rs.)
#[test]
fn a_failed_index_write_at_seal_neither_fails_nor_poisons_the_log() {
    use auditlog::fs::StdFileSystem;
    use auditlog::fs::faulty::{Fault, FaultyFs};
    use std::sync::Arc;
    let mut injected = 0;
    for k in 0.. {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = Arc::new(FaultyFs::new(Arc::new(StdFileSystem)));
        let log = common::small_segments(dir.path())
            .file_system(fs.clone())
            .open()
            .expect("open");
        common::append_range(&log, 0, 50);
        fs.inject(fs.calls().len() + k, Fault::Eio);
        let sealed = log.seal();
        let Some((_, call, _)) = fs.injected() else {
            sealed.expect("no fault, the seal succeeds");
            break;
        };
        if sealed.is_err() {
            continue; // the seal's own call: reported, as it must be
        }
        injected += 1;
        common::append_range(&log, 50, 60);
        log.close().expect("close");
        let log = AuditLog::open(dir.path()).expect("reopen");
        common::assert_events(&common::read_all(&log), 60);
        let q = Query::new().actor("user:5");
        assert_eq!(
            log.count(&q).expect("count"),
            1,
            "{call:?}: rebuilt on query"
        );
        drop(log);
        let report = verify(dir.path(), &VerifyOptions::default()).expect("verify runs");
        assert!(report.ok, "{call:?}: {report}");
    }
    println!("{injected} faults injected into the index write");
    assert!(injected >= 5, "faults reached the index write: {injected}");
}
