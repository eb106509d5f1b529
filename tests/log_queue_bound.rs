//! The memory bound of a writer under overload, checked without timing: with the writer
//! stalled in its fdatasync (a gate), producers calling `try_append` and `try_append_batch`
//! get everything they can in, and the frames admitted add up to at most `queue_max_bytes`
//! (the records the stalled writer holds included, since their bytes leave the budget only
//! once written), while the first refused request would not have fit. This is the bound
//! docs/BENCHMARKS.md ("Memory under overload") measures as resident memory.

mod common;

use auditlog::{AppendError, AuditLog, Event, EventLimits};
use auditlog_format::event::codec::encode_payload;
use auditlog_format::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN};
use common::{SyncGate, gated_file_system};
use std::sync::Arc;

/// Bytes one event takes in the queue's budget: its frame (header, fixed body, payload).
fn frame_bytes(event: &Event) -> usize {
    let payload = encode_payload(event, &EventLimits::default()).unwrap();
    FRAME_HEADER_LEN + BODY_FIXED_LEN + payload.len()
}

/// Events of different sizes, so that the limit is not a multiple of any of them.
fn event(i: usize) -> Event {
    Event::new(format!("user:{i}"), "upload")
        .entity("file", i.to_string())
        .error_message("x".repeat(100 + (i * 37) % 900))
}

/// Fills the queue of a stalled writer with `try_append` (single events) or
/// `try_append_batch` (batches of `batch`) until it refuses; returns the bytes admitted and
/// the bytes of the refused request, after checking every admitted event is written once
/// the writer moves again.
fn fill(limit: usize, batch: usize) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let gate = Arc::new(SyncGate::default());
    let log = AuditLog::builder(tmp.path())
        .queue_max_bytes(limit)
        .file_system(gated_file_system(&gate))
        .open()
        .unwrap();
    gate.close();
    let (mut admitted, mut next) = (0usize, 0usize);
    let (mut singles, mut batches) = (Vec::new(), Vec::new());
    let refused = loop {
        let events: Vec<Event> = (next..next + batch).map(event).collect();
        let bytes: usize = events.iter().map(frame_bytes).sum();
        let result = if batch == 1 {
            log.try_append(&events[0]).map(|h| singles.push(h))
        } else {
            log.try_append_batch(&events).map(|h| batches.push(h))
        };
        match result {
            Ok(()) => {
                admitted += bytes;
                next += batch;
                assert!(next < 100_000, "the byte budget never filled");
            }
            Err(AppendError::QueueFull) => break bytes,
            Err(e) => panic!("{e}"),
        }
    };
    gate.open();
    for h in singles {
        h.wait().unwrap();
    }
    for h in batches {
        h.wait().unwrap();
    }
    assert_eq!(
        log.end_seq(),
        next as u64,
        "every admitted event is written"
    );
    log.close().unwrap();
    (admitted, refused)
}

#[test]
fn a_stalled_writer_never_holds_more_than_queue_max_bytes_of_single_events() {
    let limit = 64 * 1024;
    let (admitted, refused) = fill(limit, 1);
    assert!(
        admitted <= limit,
        "{admitted} bytes admitted under a {limit}-byte limit"
    );
    assert!(
        admitted + refused > limit,
        "a {refused}-byte event was refused with {admitted} of {limit} bytes used"
    );
}

#[test]
fn a_stalled_writer_never_holds_more_than_queue_max_bytes_of_batches() {
    let limit = 256 * 1024;
    let (admitted, refused) = fill(limit, 20);
    assert!(
        admitted <= limit,
        "{admitted} bytes admitted under a {limit}-byte limit"
    );
    assert!(
        admitted + refused > limit,
        "a {refused}-byte batch was refused with {admitted} of {limit} bytes used"
    );
}
