//! Writing records to stdout: a readable table, JSON Lines, CSV or one JSON array, one record
//! at a time (nothing is buffered beyond the output buffer, so exports run in constant memory).
//!
//! CSV rows and their columns are the engine's (`auditlog::csv`), shared with the server's
//! export.

use super::CliError;
use auditlog::{Record, Timestamp};
use std::io::{self, IsTerminal, Write};

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading on a terminal (long values are cut).
    Table,
    /// One record per line as JSON (the event JSON shape with `seq` and `recorded_at`).
    Jsonl,
    /// Comma-separated values with a header row (columns listed in README.md).
    Csv,
    /// One JSON array of records.
    Json,
}

impl Format {
    /// `given`, or a table on a terminal and JSON Lines otherwise.
    pub fn or_default(given: Option<Format>) -> Format {
        given.unwrap_or_else(|| {
            if io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            }
        })
    }
}

pub use auditlog::csv::CSV_COLUMNS;
use auditlog::csv::write_csv_row;

/// Turns a failed write to stdout into an error, except a closed pipe (`auditlog query |
/// head`), after which there is nobody left to write to: the process ends successfully.
/// (A closed pipe normally ends the process by SIGPIPE before the write returns, main.rs;
/// this is the fallback should EPIPE reach us anyway.)
pub fn stdout_failed(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    CliError::Failed(auditlog::Error::Io {
        context: "writing to standard output".into(),
        source: e,
    })
}

/// Writes records in one [`Format`].
#[derive(Debug)]
pub struct RecordWriter<W: Write> {
    out: W,
    format: Format,
    written: u64,
}

impl<W: Write> RecordWriter<W> {
    /// A writer; nothing is written until the first record (or [`finish`](Self::finish)).
    pub fn new(out: W, format: Format) -> Self {
        RecordWriter {
            out,
            format,
            written: 0,
        }
    }

    /// Writes one record.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        if self.written == 0 {
            self.start()?;
        }
        match self.format {
            Format::Table => write_table_row(&mut self.out, record)?,
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, record)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => write_csv_row(&mut self.out, record)?,
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, record)?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Flushes after each record: for live output (`tail -f`).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the output (the closing bracket of a JSON array; a table's header even when empty
    /// is not printed) and flushes. Returns how many records were written.
    pub fn finish(mut self) -> io::Result<u64> {
        match self.format {
            Format::Json if self.written == 0 => self.out.write_all(b"[]\n")?,
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Csv if self.written == 0 => self.start()?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.written)
    }

    fn start(&mut self) -> io::Result<()> {
        match self.format {
            Format::Table => writeln!(
                self.out,
                "{:>8}  {:<19}  {:<19}  {:<20}  {:<22}  {:<7}  {:<8}  ENTITY",
                "SEQ", "RECORDED (UTC)", "OCCURRED (UTC)", "ACTOR", "ACTION", "OUTCOME", "SEVERITY"
            ),
            Format::Csv => {
                self.out.write_all(CSV_COLUMNS.join(",").as_bytes())?;
                self.out.write_all(b"\r\n")
            }
            Format::Json => self.out.write_all(b"["),
            Format::Jsonl => Ok(()),
        }
    }
}

/// `s` cut to at most `width` characters, ending in `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `2024-05-01 12:30:00`: a time for eyes, to the second (JSON and CSV keep every digit).
fn to_the_second(t: Option<Timestamp>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let text = t.to_rfc3339();
    text.get(..19).unwrap_or(&text).replacen('T', " ", 1)
}

fn write_table_row(out: &mut impl Write, r: &Record) -> io::Result<()> {
    let e = &r.event;
    let entity = e
        .entity
        .as_ref()
        .map_or(String::new(), |x| format!("{}:{}", x.kind, x.id));
    // Table cells are for eyes: control characters (possible in entity ids from other
    // systems) would break the row, so they are shown as spaces.
    let clean = |s: String| s.replace(|c: char| c.is_control(), " ");
    writeln!(
        out,
        "{:>8}  {:<19}  {:<19}  {:<20}  {:<22}  {:<7}  {:<8}  {}",
        r.seq,
        to_the_second(Some(r.recorded_at)),
        to_the_second(e.occurred_at),
        clean(fit(&e.actor.id, 20)),
        clean(fit(&e.action, 22)),
        e.outcome.as_str(),
        e.severity.as_str(),
        clean(fit(&entity, 60)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::Event;

    fn sample() -> Record {
        Record {
            seq: 7,
            recorded_at: Timestamp::from_unix_secs(0),
            event: Event::new("alice", "login")
                .label("SOX")
                .metadata("k", "v,w"),
        }
    }

    fn render(format: Format, records: &[Record]) -> String {
        let mut buf = Vec::new();
        let mut w = RecordWriter::new(&mut buf, format);
        for r in records {
            w.write(r).expect("writes to a Vec");
        }
        assert_eq!(w.finish().expect("writes"), records.len() as u64);
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn json_and_jsonl_parse_back_to_the_records() {
        let records = [sample(), sample()];
        for n in [0, 1, 2] {
            let json = render(Format::Json, &records[..n]);
            let parsed: Vec<Record> = serde_json::from_str(&json).expect("one JSON array");
            assert_eq!(parsed, &records[..n]);
        }
        let jsonl = render(Format::Jsonl, &records);
        let parsed: Vec<Record> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("a record per line"))
            .collect();
        assert_eq!(parsed, records);
    }

    #[test]
    fn csv_has_a_header_and_json_cells() {
        let csv = render(Format::Csv, &[sample()]);
        let lines: Vec<_> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(
            lines[1].starts_with("7,1970-01-01T00:00:00Z,,alice,,,,login,success,,info,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with(",\"[\"\"SOX\"\"]\",\"{\"\"k\"\":\"\"v,w\"\"}\""),
            "{}",
            lines[1]
        );
        assert_eq!(
            render(Format::Csv, &[]),
            format!("{}\r\n", CSV_COLUMNS.join(","))
        );
    }
}
