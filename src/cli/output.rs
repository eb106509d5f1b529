//! Writing records to stdout: a readable table, JSON Lines, CSV or one JSON array, one record
//! at a time (nothing is buffered beyond the output buffer, so exports run in constant memory).
//!
//! CSV rows and their columns are the engine's (`auditlog::csv`), shared with the server's
//! export; the CLI only chooses the zone of their times.

use super::CliError;
use super::table::{self, Shown, Table};
use auditlog::Record;
use std::io::{self, IsTerminal, Write};

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading on a terminal, fitted to its width (long values are cut
    /// with `…`, control characters escaped), times in local time unless --utc.
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

/// How records are shown: the zone of times, and the table's columns.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DisplayArgs {
    /// Show times in UTC (the default of jsonl, csv and json; the table shows local time).
    #[arg(long, conflicts_with = "local")]
    utc: bool,
    /// Show times in the local zone (TZ): the table's default; in jsonl, csv and json RFC
    /// 3339 with the offset (`2023-11-14T23:13:20+01:00`).
    #[arg(long)]
    local: bool,
    /// The table's columns, in order: seq, time (occurred, else recorded), recorded,
    /// occurred, actor, actor_name, action, outcome, severity, entity, ip, source, session,
    /// request, tenant, user_agent, labels, error. Default: seq, recorded, occurred, actor,
    /// action, outcome, severity, entity (seq, time, ... on a narrow terminal).
    #[arg(long, value_delimiter = ',', value_name = "COLUMN[,...]")]
    columns: Vec<String>,
}

/// The display choices made.
#[derive(Debug, Clone)]
pub struct Display {
    shown: Shown,
    table: Option<Table>,
}

impl Display {
    /// UTC times, the default table (for tests).
    #[cfg(test)]
    pub fn utc(format: Format) -> Display {
        Display {
            shown: Shown::Utc,
            table: (format == Format::Table).then(|| Table::new(table::DEFAULT, None, Shown::Utc)),
        }
    }
}

impl DisplayArgs {
    /// The display for `format`: the table fitted to stdout's terminal (`COLUMNS` or its
    /// window size).
    pub fn display(&self, format: Format) -> Result<Display, CliError> {
        let machine = format != Format::Table;
        if machine && !self.columns.is_empty() {
            return Err(CliError::Usage(
                "--columns chooses the table's columns; give --format table (jsonl, csv and \
                 json hold every field)"
                    .into(),
            ));
        }
        let shown = match (self.utc, self.local) {
            (true, _) => Shown::Utc,
            (_, true) => Shown::Local,
            _ if machine => Shown::Utc,
            _ => Shown::Local,
        };
        let table = match machine {
            true => None,
            false => {
                let width = super::terminal::width(1);
                let columns = match self.columns.is_empty() {
                    true => table::default_for(width).to_vec(),
                    false => table::parse(&self.columns).map_err(CliError::Usage)?,
                };
                Some(Table::new(&columns, width, shown))
            }
        };
        Ok(Display { shown, table })
    }
}

pub use auditlog::csv::CSV_COLUMNS;

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
    display: Display,
    written: u64,
}

impl<W: Write> RecordWriter<W> {
    /// A writer; nothing is written until the first record (or [`finish`](Self::finish)).
    pub fn new(out: W, format: Format, display: Display) -> Self {
        RecordWriter {
            out,
            format,
            display,
            written: 0,
        }
    }

    /// Writes one record.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        if self.written == 0 {
            self.start()?;
        }
        match self.format {
            Format::Table => {
                if let Some(t) = &self.display.table {
                    writeln!(self.out, "{}", t.row(record))?;
                }
            }
            Format::Jsonl => {
                write_json(&mut self.out, record, self.display.shown)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => write_csv_row(&mut self.out, record, self.display.shown)?,
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
                write_json(&mut self.out, record, self.display.shown)?;
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
            Format::Table => match &self.display.table {
                Some(t) => writeln!(self.out, "{}", t.header()),
                None => Ok(()),
            },
            Format::Csv => {
                self.out.write_all(CSV_COLUMNS.join(",").as_bytes())?;
                self.out.write_all(b"\r\n")
            }
            Format::Json => self.out.write_all(b"["),
            Format::Jsonl => Ok(()),
        }
    }
}

/// A record as JSON; with local times, its two times carry the local offset. The record's
/// own JSON is kept (its key order too): `seq` and `recorded_at` open it and `occurred_at`
/// follows, before any text of the event, so the first occurrence of each is the field.
fn write_json(out: &mut impl Write, r: &Record, shown: Shown) -> io::Result<()> {
    if shown == Shown::Utc {
        return serde_json::to_writer(out, r).map_err(io::Error::from);
    }
    let mut text = serde_json::to_string(r)?;
    let mut times = vec![("recorded_at", r.recorded_at)];
    times.extend(r.event.occurred_at.map(|t| ("occurred_at", t)));
    for (key, t) in times {
        let utc = format!("\"{key}\":\"{}\"", t.to_rfc3339());
        let local = format!("\"{key}\":\"{}\"", shown.rfc3339(t));
        text = text.replacen(&utc, &local, 1);
    }
    out.write_all(text.as_bytes())
}

/// One record as a CSV row, its times in the zone chosen.
fn write_csv_row(out: &mut impl Write, r: &Record, shown: Shown) -> io::Result<()> {
    auditlog::csv::write_csv_row_with(out, r, |t| shown.rfc3339(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::{Event, Timestamp};

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
        let mut w = RecordWriter::new(&mut buf, format, Display::utc(format));
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
