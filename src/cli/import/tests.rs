//! An import stopped by a full disk (ENOSPC injected through the file-system interface) says
//! which lines the log holds, and resuming where it says writes every line exactly once.

use super::{ImportArgs, run};
use auditlog::fs::faulty::{Call, Fault, FaultyFs};
use auditlog::fs::{FileSystem, StdFileSystem};
use auditlog::fuzzing::model::event_for;
use auditlog::{AuditLog, ReadOnlyLog};
use clap::Parser;
use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

thread_local! {
    /// The file system `open_log` uses instead of the real one.
    pub(super) static FILE_SYSTEM: RefCell<Option<Arc<dyn FileSystem>>> = const { RefCell::new(None) };
    /// The last stop message of an import on this thread.
    pub(super) static LAST_STOP: RefCell<Option<String>> = const { RefCell::new(None) };
}

const EVENTS: u64 = 3_000;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    import: ImportArgs,
}

/// Event `i` is on line `line_of(i)`: every 100th line is blank, so that line numbers and
/// event counts differ.
fn line_of(i: u64) -> u64 {
    i + i / 99 + 1
}

fn write_input(path: &Path, lines: impl Iterator<Item = String>) {
    let text: String = lines.map(|l| l + "\n").collect();
    std::fs::write(path, text).unwrap();
}

fn all_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..EVENTS {
        if i > 0 && i % 99 == 0 {
            lines.push(String::new());
        }
        lines.push(serde_json::to_string(&event_for(i)).unwrap());
    }
    lines
}

fn import(dir: &Path, input: &Path, fs: Option<FaultyFs>) -> Result<(), super::CliError> {
    let fs = fs.map(|f| Arc::new(f) as Arc<dyn FileSystem>);
    FILE_SYSTEM.with(|slot| *slot.borrow_mut() = fs);
    let args = ["auditlog", "--batch", "100", "--dir"];
    let cli = Cli::parse_from(
        args.iter()
            .map(|s| s.as_ref())
            .chain([dir.as_os_str(), input.as_os_str()]),
    );
    let result = run(cli.import);
    FILE_SYSTEM.with(|slot| *slot.borrow_mut() = None);
    result
}

#[test]
fn an_import_stopped_by_a_full_disk_says_where_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("events.jsonl");
    let lines = all_lines();
    write_input(&input, lines.iter().cloned());

    // Learn where the import writes records, then fill the disk at its fifth such write:
    // half the group reaches the file, so the log keeps records never acknowledged.
    let counted = FaultyFs::new(Arc::new(StdFileSystem));
    import(&tmp.path().join("count"), &input, Some(counted.clone())).expect("import");
    let writes: Vec<usize> = (counted.calls().iter().enumerate())
        .filter(|(_, c)| **c == Call::Write)
        .map(|(i, _)| i)
        .collect();
    let dir = tmp.path().join("log");
    let faulty = FaultyFs::new(Arc::new(StdFileSystem));
    faulty.inject(writes[writes.len() / 3], Fault::ShortWrite);
    let stopped = import(&dir, &input, Some(faulty.clone()));
    assert!(stopped.is_err(), "the import did not stop");
    assert!(faulty.injected().is_some());
    let message = LAST_STOP
        .with(|m| m.borrow_mut().take())
        .expect("the import said nothing about what it wrote");
    let said: u64 = message
        .split_once("holds the events of lines 1..=")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line count in: {message}"));
    assert!(
        message.contains(&format!("tail -n +{} ", said + 1)),
        "{message}"
    );

    let log = AuditLog::open(&dir).unwrap();
    let held = log.end_seq();
    assert!(held > 0 && held < EVENTS, "held {held}");
    assert_eq!(line_of(held - 1), said, "the log holds {held} events");
    log.close().unwrap();

    // Resume from the next line, as the message says: every event once, in order.
    let rest = tmp.path().join("rest.jsonl");
    write_input(&rest, lines.into_iter().skip(said as usize));
    import(&dir, &rest, None).expect("resumed import");
    let log = ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(log.end_seq(), EVENTS);
    for record in log.iter(..) {
        let record = record.unwrap();
        assert_eq!(record.event, event_for(record.seq), "seq {}", record.seq);
    }
}

/// A mapped import keeps the input object in `metadata.original` as written: key order,
/// integers beyond 64 bits and `1.10`, with the line's spaces dropped. (The mapping reads the
/// line as a `serde_json::Value` too; a line with a number beyond `f64`, `1e400`, is mapped
/// from a copy with that number as a string and kept as text, see
/// `tests/cli_import_never_drops.rs`.)
#[test]
fn a_mapped_import_keeps_the_original_text() {
    let mut m = super::Mapping::default();
    for rule in ["actor=user", "action=\"x\""] {
        m.set(super::Rule::parse(rule).expect("a valid rule"));
    }
    let parser = super::LineParser::Mapped(m);
    let line = br#"{"user": "u", "z": 12345678901234567890123456789, "a": [1.10, -0]}"#;
    let event = parser
        .event(line, &auditlog::EventLimits::default())
        .expect("maps");
    assert_eq!(
        event.metadata.expect("metadata").as_str(),
        r#"{"original":{"user":"u","z":12345678901234567890123456789,"a":[1.10,-0]}}"#
    );
}

#[test]
fn huge_numbers_become_strings_outside_strings_only() {
    let line = br#"{"a":1e400,"b":"1e400 \" 2e999","c":[-1E+999,1.5,12e3],"d":0}"#;
    assert_eq!(
        super::huge_numbers_as_strings(line),
        br#"{"a":"1e400","b":"1e400 \" 2e999","c":["-1E+999",1.5,12e3],"d":0}"#
    );
}
