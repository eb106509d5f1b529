//! `auditlog export`: every matching record, streamed in constant memory, as JSON Lines, CSV
//! or one JSON array.

use super::filters::FilterArgs;
use super::output::{DisplayArgs, Format, RecordWriter, stdout_failed};
use super::progress::{Progress, Unit, thousands};
use super::{CliError, DirArg, open::open_read_only};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Records per query page: memory stays bounded by one page, whatever the log's size.
const PAGE_RECORDS: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    display: DisplayArgs,
    /// Output format. jsonl is the one `auditlog import` reads back.
    #[arg(long, value_enum, default_value = "jsonl", value_name = "FORMAT")]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The log's archive (s3://BUCKET/PREFIX, as given to `archive --to`): export the
    /// matching archived records first, then the live log's.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive: Option<String>,
    #[command(flatten)]
    s3: super::s3::S3Args,
}

pub fn run(args: ExportArgs) -> Result<(), CliError> {
    if args.format == Format::Table {
        return Err(CliError::Usage(
            "export writes jsonl, csv or json; for a table use `auditlog query`".into(),
        ));
    }
    let query = args.filters.to_query()?.limit(PAGE_RECORDS);
    let log = open_read_only(&args.dir.dir)?;
    let archive = match &args.archive {
        Some(url) => Some(super::s3::archive_reader(&args.s3, url, &log.log_id())?),
        None => None,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| {
            CliError::Failed(auditlog::Error::Io {
                context: format!("creating {}", path.display()),
                source: e,
            })
        })?),
        None => Box::new(std::io::stdout().lock()),
    };
    let display = args.display.display(args.format)?;
    let mut writer =
        RecordWriter::new(BufWriter::with_capacity(1 << 16, out), args.format, display);
    let failed = |e: std::io::Error| match &args.output {
        Some(path) => CliError::Failed(auditlog::Error::Io {
            context: format!("writing {}", path.display()),
            source: e,
        }),
        None => stdout_failed(e),
    };
    // A read-only handle is one snapshot (records appended meanwhile by a writer are left
    // for the next export), so the export is one consistent prefix of the log.
    if let Some(reader) = &archive {
        let mut write_error = None;
        reader
            .scan(log.first_seq(), &mut |record| {
                if query.matches(&record)
                    && let Err(e) = writer.write(&record)
                {
                    write_error = Some(e);
                    return Ok(false);
                }
                Ok(true)
            })
            .map_err(super::s3::store_failed)?;
        if let Some(e) = write_error {
            return Err(failed(e));
        }
    }
    let mut page = log.query(&query)?;
    // Progress by position in the log: the records matched so far are a prefix of it.
    let (first, end) = (log.first_seq(), log.end_seq());
    let mut progress = Progress::new("export", Unit::Count("records"), Some(end - first));
    let mut exported = 0u64;
    loop {
        for record in &page.records {
            writer.write(record).map_err(failed)?;
            exported += 1;
        }
        if let Some(last) = page.records.last() {
            progress.update(last.seq + 1 - first, || {
                format!("{} written", thousands(exported))
            });
        }
        if !page.has_more {
            break;
        }
        page = log.query(&query.clone().after(page.cursor))?;
    }
    progress.clear();
    let written = writer.finish().map_err(failed)?;
    if let Some(path) = &args.output {
        eprintln!("exported {written} records to {}", path.display());
    }
    Ok(())
}
