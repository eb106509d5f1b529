//! Bad input gets a typed error and changes nothing: invalid or oversized events, a second
//! writer, a directory that is not a log, a log of another format version.

mod common;
use auditlog::{AppendError, AuditLog, Event, OpenError, ReadOnlyLog};
use common::*;

#[test]
fn invalid_events_are_rejected_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::builder(tmp.path())
        .max_event_bytes(2048)
        .open()
        .unwrap();
    append_range(&log, 0, 3);
    let head = log.tree_head().unwrap();
    let bad = [
        Event::new("", "login"),
        Event::new("  ", "login"),
        Event::new("user:1", ""),
        Event::new("user:1", "x".repeat(5000)),
    ];
    for e in &bad {
        let err = log.append(e).unwrap_err();
        assert!(
            matches!(
                err,
                AppendError::InvalidEvent { .. } | AppendError::EventTooLarge { .. }
            ),
            "{err}"
        );
    }
    // A batch with one bad event writes none of it.
    let mut batch: Vec<Event> = (3..10).map(event).collect();
    batch.push(Event::new("user:1", ""));
    assert!(matches!(
        log.append_batch(&batch),
        Err(AppendError::InvalidEvent {
            field: "action",
            ..
        })
    ));
    log.sync().unwrap();
    assert_eq!(log.tree_head().unwrap(), head);
    assert_events(&read_all(&log), 3);
}

#[test]
fn oversized_event_reports_size_and_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::builder(tmp.path())
        .max_event_bytes(1024)
        .open()
        .unwrap();
    let big = Event::new("user:1", "upload")
        .entity("file", "x".repeat(200))
        .error_message_or_label();
    match log.append(&big) {
        Err(AppendError::EventTooLarge { size, limit }) => {
            assert_eq!(limit, 1024);
            assert!(size > 1024);
        }
        other => panic!("expected EventTooLarge, got {other:?}"),
    }
    assert_eq!(log.tree_head().unwrap().size, 0);
}

/// Makes an event that is valid field by field but large when encoded.
trait Big {
    fn error_message_or_label(self) -> Self;
}
impl Big for Event {
    fn error_message_or_label(self) -> Self {
        let mut e = self;
        for i in 0..40 {
            e = e.label(format!("label-{i:03}-{}", "y".repeat(60)));
        }
        e
    }
}

#[test]
fn a_second_writer_gets_a_clear_error_and_readers_still_open() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::open(tmp.path()).unwrap();
    append_range(&log, 0, 5);
    let err = AuditLog::open(tmp.path()).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked by another writer"));
    let reader = ReadOnlyLog::open(tmp.path()).unwrap();
    assert_events(&read_all(&reader), 5);
    drop(log);
    let again = AuditLog::open(tmp.path()).unwrap();
    assert_events(&read_all(&again), 5);
}

#[test]
fn a_foreign_directory_and_a_wrong_version_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    assert!(matches!(
        AuditLog::open(tmp.path()),
        Err(OpenError::NotALog { .. })
    ));
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().count() <= 2,
        "nothing but a lock file may be added"
    );

    let tmp = tempfile::tempdir().unwrap();
    drop(AuditLog::open(tmp.path()).unwrap());
    let meta = tmp.path().join("auditlog.meta");
    let mut bytes = std::fs::read(&meta).unwrap();
    bytes[8] = 9; // format version 9
    std::fs::write(&meta, &bytes).unwrap();
    let err = AuditLog::open(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::UnsupportedVersion {
                found: 9,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_options_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let err = AuditLog::builder(tmp.path())
        .segment_max_bytes(10)
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        OpenError::InvalidOption {
            option: "segment_max_bytes",
            ..
        }
    ));
    let err = AuditLog::builder(tmp.path())
        .queue_capacity(0)
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        OpenError::InvalidOption {
            option: "queue_capacity",
            ..
        }
    ));
}
