//! `auditlog import`: JSON Lines from other systems (or our own export) into a log.
//!
//! Each line becomes one event, or is a bad line. Without `--preset` or `--map`, a line is our
//! own event or record JSON (what `export --format jsonl` writes): a record's `seq` and
//! `recorded_at` are not kept, since the new log assigns its own (the events themselves are
//! identical). With a mapping, the event is built by the rules of `mapping.rs` and the whole
//! source object is kept under `metadata.original`.
//!
//! A line is checked completely (parsed, mapped, validated and encoded, so the size limit is
//! checked too) before it joins a batch, so a batch holds only whole, valid events and
//! `append_batch` can fail only for I/O reasons: no partial event is ever written. A bad line
//! is reported with its line number; with `--skip-bad` the import goes on, otherwise it stops
//! after writing the lines before it (and says how to resume); an import that skipped lines
//! exits 2 with their count after writing all the others. An import stopped by a write
//! error (a full disk, say) says which lines the log holds and how to resume without
//! duplicating them (`written.rs`).
//!
//! A mapped value that an event field cannot hold (over its length limit, a control
//! character in an identifier) leaves that optional field empty instead of losing the event:
//! the value is still in `metadata.original`, and `metadata.unplaced` names the field and
//! why. When the source object itself cannot be metadata (a key over the limit, nesting too
//! deep, a number beyond f64), `metadata.original` holds the line as one JSON string.

mod input;
pub mod linux_audit;
pub mod mapping;
pub mod presets;
#[cfg(test)]
mod tests;
mod windows;
mod written;

use super::CliError;
use super::progress::{Progress, Unit, thousands};
use auditlog::JsonText;
use auditlog::{AuditLog, BatchHandle, Event, EventLimits, Record};
use auditlog_format::event::codec::encode_payload;
use input::LineReader;
use linux_audit::Grouper;
use mapping::{Mapping, Rule};
use presets::Preset;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use written::Written;

/// Batches submitted but not yet acknowledged: enough to keep the writer busy while the next
/// batch is parsed, bounded so memory stays small.
const IN_FLIGHT_BATCHES: usize = 4;
/// Bad lines reported one by one with --skip-bad before only counting them.
const BAD_LINES_SHOWN: u64 = 20;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The log directory (created if missing; appended to if it is already a log).
    #[arg(long, env = "AUDITLOG_DIR", value_name = "DIR", required_unless_present_any = ["show_preset", "dry_run"])]
    dir: Option<PathBuf>,
    /// JSON Lines to import: a file (zstd-compressed files are recognised by their magic
    /// bytes) or `-` for standard input.
    #[arg(value_name = "FILE", required_unless_present = "show_preset")]
    input: Option<PathBuf>,
    /// The master key of a log with a privacy policy: imported events are encrypted like
    /// appended ones (their protected fields need it; other events do not).
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
    /// A built-in mapping for a known source.
    #[arg(long, value_enum, value_name = "NAME")]
    preset: Option<Preset>,
    /// A mapping rule TARGET=SOURCE (repeatable; replaces a preset's rule for the same field).
    /// SOURCE: a dotted path `a.b`, a JSON pointer `/a/b`, `PATH#KEY` for key=value text, a
    /// template `x.{PATH}`, or a literal `"text"`; alternatives separated by `|`.
    #[arg(long = "map", value_name = "TARGET=SOURCE")]
    maps: Vec<String>,
    /// Report bad lines and go on, instead of stopping at the first one; the import then
    /// exits 2 with the count of skipped lines if it skipped any.
    #[arg(long)]
    skip_bad: bool,
    /// Check every line (parse, map, validate) without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Events per append batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    batch: usize,
    /// Print a preset's rules (as --map flags) and exit.
    #[arg(long, value_enum, value_name = "NAME")]
    show_preset: Option<Preset>,
}

/// How a line becomes an event.
#[derive(Debug)]
enum LineParser {
    /// Our own event or record JSON.
    Native,
    Mapped(Mapping),
}

impl LineParser {
    fn event(&self, line: &[u8], limits: &EventLimits) -> Result<Event, String> {
        match self {
            LineParser::Native => native_event(line),
            LineParser::Mapped(mapping) => {
                // serde_json (without arbitrary_precision) refuses numbers beyond f64, such
                // as 1e400: such a line is mapped from a copy in which they are strings, and
                // kept as text, since its numbers would stop any reader that parses metadata.
                let (obj, as_text): (Map<String, Value>, bool) = match serde_json::from_slice(line)
                {
                    Ok(obj) => (obj, false),
                    Err(e) => match serde_json::from_slice(&huge_numbers_as_strings(line)) {
                        Ok(obj) => (obj, true),
                        Err(_) => return Err(format!("not a JSON object: {e}")),
                    },
                };
                let mut event = mapping.apply(obj)?;
                let mut unplaced = BTreeMap::new();
                if as_text {
                    unplaced.insert("metadata", "a number beyond f64 in the line".to_string());
                }
                event.metadata = Some(mapped_metadata(line, &unplaced, as_text)?);
                // Each round clears one field, so this ends; the bound is a safeguard.
                for _ in 0..32 {
                    let (field, reason) = match event.validate(limits) {
                        Err(auditlog_format::Error::InvalidEvent { field, reason }) => {
                            (field, reason)
                        }
                        _ => break,
                    };
                    if field == "metadata" && !unplaced.contains_key("metadata") {
                        unplaced.insert(field, reason);
                    } else if !clear_field(&mut event, field) {
                        break;
                    } else {
                        unplaced.insert(field, reason);
                    }
                    let as_text = unplaced.contains_key("metadata");
                    event.metadata = Some(mapped_metadata(line, &unplaced, as_text)?);
                }
                Ok(event)
            }
        }
    }
}

/// The metadata of a mapped event: `original`, the line as it was written (key order, every
/// digit, not as a `Value` prints it again), or with `as_text` the line as one JSON string;
/// and `unplaced`, the fields whose mapped value the event could not hold, with the reason.
fn mapped_metadata(
    line: &[u8],
    unplaced: &BTreeMap<&'static str, String>,
    as_text: bool,
) -> Result<JsonText, String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    let raw = match as_text {
        false => serde_json::from_str::<&RawValue>(text).ok(),
        true => None,
    };
    let original = match raw {
        Some(raw) => raw.to_owned(),
        None => serde_json::value::to_raw_value(text).map_err(|e| e.to_string())?,
    };
    let mut metadata: BTreeMap<&str, Box<RawValue>> = BTreeMap::new();
    metadata.insert("original", original);
    if !unplaced.is_empty() {
        let unplaced = serde_json::value::to_raw_value(unplaced).map_err(|e| e.to_string())?;
        metadata.insert("unplaced", unplaced);
    }
    JsonText::serialize(&metadata).map_err(|e| format!("metadata: {e}"))
}

/// `line` with every number that overflows an f64 (`1e400`, `-1e999`) outside strings
/// written as a JSON string of its digits; everything else byte for byte.
fn huge_numbers_as_strings(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 16);
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'"' {
            // Copy the string through its closing quote, skipping escaped characters.
            let start = i;
            i += 1;
            while i < line.len() && line[i] != b'"' {
                i += if line[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(line.len());
            out.extend_from_slice(&line[start..i]);
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < line.len()
                && matches!(line[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            let token = &line[start..i];
            let huge = std::str::from_utf8(token)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_infinite);
            if huge {
                out.push(b'"');
                out.extend_from_slice(token);
                out.push(b'"');
            } else {
                out.extend_from_slice(token);
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Empties the optional field named by a validation error (its JSON path); `false` for a
/// required field, which cannot be emptied.
fn clear_field(e: &mut Event, field: &str) -> bool {
    match field {
        "actor.kind" => e.actor.kind = None,
        "actor.name" => e.actor.name = None,
        "actor.email" => e.actor.email = None,
        "error_message" => e.error_message = None,
        "entity.type" | "entity.id" => e.entity = None,
        "entity.name" => match &mut e.entity {
            Some(entity) => entity.name = None,
            None => return false,
        },
        "tenant" => e.tenant = None,
        "ip" => e.ip = None,
        "user_agent" => e.user_agent = None,
        "session_id" => e.session_id = None,
        "request_id" => e.request_id = None,
        "source" => e.source = None,
        "labels" => e.labels.clear(),
        "changed_fields" => e.changed_fields.clear(),
        "before" => e.before = None,
        "after" => e.after = None,
        _ => return false,
    }
    true
}

/// An event from our event JSON, or from record JSON (dropping `seq` and `recorded_at`).
fn native_event(line: &[u8]) -> Result<Event, String> {
    match serde_json::from_slice::<Event>(line) {
        Ok(event) => Ok(event),
        Err(event_err) => {
            let looks_like_record = event_err.to_string().contains("`seq`")
                || event_err.to_string().contains("`recorded_at`");
            match serde_json::from_slice::<Record>(line) {
                Ok(record) => Ok(record.event),
                Err(record_err) if looks_like_record => Err(format!(
                    "not an auditlog record: {record_err} (for another system's JSON, \
                     give --preset or --map)"
                )),
                Err(_) => Err(format!(
                    "not an auditlog event: {event_err}{} (for another system's JSON, give \
                     --preset or --map)",
                    auditlog::json_error_hint(&event_err)
                )),
            }
        }
    }
}

/// Running totals, for progress and the summary.
#[derive(Debug, Default)]
struct Totals {
    lines: u64,
    bytes: u64,
    imported: u64,
    bad: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
}

/// An import of at least this many events seals the log's active segment at its end (see
/// `run`); README.md, "Fast queries from the command line", says so.
const SEAL_AFTER_EVENTS: u64 = 5_000;

pub fn run(args: ImportArgs) -> Result<(), CliError> {
    if let Some(preset) = args.show_preset {
        for rule in preset.rules() {
            println!("--map '{rule}'");
        }
        return Ok(());
    }
    let parser = line_parser(&args)?;
    let input = args
        .input
        .clone()
        .ok_or_else(|| CliError::Usage("give a FILE to import, or - for stdin".into()))?;
    let mut reader = LineReader::open(&input)?;
    let mut log = match (&args.dir, args.dry_run) {
        (_, true) => None,
        (Some(dir), false) => Some(open_log(dir, args.master_key.load()?)?),
        (None, false) => {
            return Err(CliError::Usage(
                "give --dir DIR (or set AUDITLOG_DIR)".into(),
            ));
        }
    };
    let limits = EventLimits::default();
    let batch_size = args.batch.max(1);
    let mut progress = Progress::new("import", Unit::Bytes, reader.size());
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut batch: Vec<Event> = Vec::with_capacity(batch_size);
    let mut written = Written::new(log.as_ref().map_or(0, |log| log.end_seq()));
    let mut stopped_at: Option<(u64, String)> = None;

    // The linux-audit preset reads records, several of which may make one event.
    let mut grouper = (args.preset == Some(Preset::LinuxAudit)).then(Grouper::default);
    let mut ready: Vec<(u64, u64, Result<Event, String>)> = Vec::new();
    let check = |bytes: &[u8]| {
        parser.event(bytes, &limits).and_then(|event| {
            encode_payload(&event, &limits)
                .map(|_| event)
                .map_err(|e| e.to_string())
        })
    };
    let mut at_end = false;
    'lines: while !at_end {
        match reader.next_line()? {
            Some(line) => {
                totals.lines += 1;
                totals.bytes += line.len() as u64 + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match &mut grouper {
                    Some(g) => ready.extend(
                        g.push(totals.lines, line)
                            .into_iter()
                            .map(|(first, last, obj)| (first, last, obj.and_then(|o| check(&o)))),
                    ),
                    None => ready.push((totals.lines, totals.lines, check(line))),
                }
            }
            None => {
                at_end = true;
                if let Some((first, last, obj)) = grouper.as_mut().and_then(Grouper::finish) {
                    ready.push((first, last, obj.and_then(|o| check(&o))));
                }
            }
        }
        for (first, last, checked) in ready.drain(..) {
            match checked {
                Ok(event) => {
                    batch.push(event);
                    written.queue_line(last);
                }
                Err(reason) if args.skip_bad => {
                    totals.bad += 1;
                    if totals.bad <= BAD_LINES_SHOWN {
                        progress.clear();
                        eprintln!("auditlog: line {first}: skipped: {reason}");
                    }
                }
                Err(reason) => {
                    stopped_at = Some((first, reason));
                    break 'lines;
                }
            }
            if batch.len() >= batch_size {
                submit(log.as_ref(), &mut batch, &mut written, &mut totals).map_err(|e| {
                    progress.clear();
                    written.stopped(log.take(), &input, e)
                })?;
            }
        }
        progress.update(reader.consumed(), || {
            format!(
                "line {}, {} events",
                thousands(totals.lines),
                thousands(totals.imported + batch.len() as u64)
            )
        });
    }
    let finished = submit(log.as_ref(), &mut batch, &mut written, &mut totals)
        .and_then(|()| written.acknowledge_all(&mut totals))
        .and_then(|()| {
            log.as_ref().map_or(Ok(()), |l| {
                // A large import seals its last segment, so that the segment's index file is
                // written now: every later fresh `query` would otherwise re-read and index
                // the whole unsealed segment (about 3.5 µs a record). A small import leaves
                // it open (a few thousand records re-read cost milliseconds).
                if totals.imported >= SEAL_AFTER_EVENTS {
                    l.seal().map_err(CliError::from)
                } else {
                    l.sync().map_err(CliError::from)
                }
            })
        });
    progress.clear();
    finished.map_err(|e| written.stopped(log.take(), &input, e))?;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let verb = if args.dry_run {
        "checked (dry run, nothing written)"
    } else {
        "imported"
    };
    let seqs = match (totals.first_seq, totals.last_seq) {
        (Some(a), Some(b)) => format!(" as seq {a}..={b}"),
        _ => String::new(),
    };
    println!(
        "{verb} {} events{seqs} from {} lines ({} bad lines skipped) in {elapsed:.2} s: {:.0} events/s, {:.1} MB/s of JSON",
        totals.imported,
        totals.lines,
        totals.bad,
        totals.imported as f64 / elapsed,
        totals.bytes as f64 / elapsed / 1e6,
    );
    if let Some(log) = &log {
        println!("tree head: {}", log.tree_head()?);
    }
    match stopped_at {
        None if totals.bad > 0 => Err(CliError::Usage(format!(
            "{} bad lines of {} were skipped ({}); the {} events of the other lines were {}",
            totals.bad,
            input.display(),
            if totals.bad > BAD_LINES_SHOWN {
                format!("the first {BAD_LINES_SHOWN} are shown above")
            } else {
                "shown above".to_string()
            },
            totals.imported,
            if args.dry_run { "checked" } else { "written" },
        ))),
        None => Ok(()),
        Some((line, reason)) => Err(CliError::Usage(format!(
            "{} line {line}: {reason}\nthe import stopped there: the {} events of the lines \
             before it were {}; fix the line and import from it on (`tail -n +{line} FILE | \
             auditlog import ... -`), or pass --skip-bad to skip bad lines",
            input.display(),
            totals.imported,
            if args.dry_run { "checked" } else { "written" },
        ))),
    }
}

/// Opens the log to import into. The tests substitute a file-system layer that fails.
fn open_log(
    dir: &std::path::Path,
    master_key: Option<auditlog::privacy::MasterKey>,
) -> auditlog::Result<AuditLog> {
    let mut builder = AuditLog::builder(dir);
    if let Some(key) = master_key {
        builder = builder.master_key(key);
    }
    #[cfg(test)]
    let builder = match tests::FILE_SYSTEM.with(|fs| fs.borrow().clone()) {
        Some(fs) => builder.file_system(fs),
        None => builder,
    };
    Ok(builder.open()?)
}

fn line_parser(args: &ImportArgs) -> Result<LineParser, CliError> {
    if args.preset.is_none() && args.maps.is_empty() {
        return Ok(LineParser::Native);
    }
    let mut mapping = args.preset.map(Preset::mapping).unwrap_or_default();
    for text in &args.maps {
        mapping.set(Rule::parse(text).map_err(CliError::Usage)?);
    }
    if let Some(field) = mapping.missing_required() {
        return Err(CliError::Usage(format!(
            "the mapping has no rule for `{field}`, which every event needs: add --map \
             '{field}=SOURCE' (a literal works too: --map '{field}=\"imported\"')"
        )));
    }
    Ok(LineParser::Mapped(mapping))
}

/// Hands the batch to the writer (or, in a dry run, just counts it), waiting for the oldest
/// batch first when too many are in flight.
fn submit(
    log: Option<&AuditLog>,
    batch: &mut Vec<Event>,
    written: &mut Written,
    totals: &mut Totals,
) -> Result<(), CliError> {
    if batch.is_empty() {
        return Ok(());
    }
    let Some(log) = log else {
        totals.imported += batch.len() as u64;
        batch.clear();
        return Ok(());
    };
    if written.in_flight() >= IN_FLIGHT_BATCHES {
        written.acknowledge_oldest(totals)?;
    }
    written.sent(log.append_batch(batch)?);
    batch.clear();
    Ok(())
}

/// Counts an acknowledged batch.
fn acknowledge(handle: BatchHandle, totals: &mut Totals) -> Result<(), CliError> {
    let receipts = handle.wait()?;
    totals.imported += receipts.len() as u64;
    if let (Some(first), Some(last)) = (receipts.first(), receipts.last()) {
        totals.first_seq.get_or_insert(first.seq);
        totals.last_seq = Some(last.seq);
    }
    Ok(())
}
