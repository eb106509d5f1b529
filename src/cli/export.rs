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
    /// With the log's master key, protected values print in clear (else `[protected]`).
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
    /// A data-subject access export (GDPR art. 15): every record holding this subject's data
    /// (its actor id, or protected values of it), decrypted, each as a JSON line
    /// `{"record": ..., "proof": ...}` with its inclusion proof. Needs --master-key-file.
    #[arg(long, value_name = "ID", conflicts_with_all = ["archive", "format"])]
    subject: Option<String>,
}

pub fn run(args: ExportArgs) -> Result<(), CliError> {
    if args.format == Format::Table {
        return Err(CliError::Usage(
            "export writes jsonl, csv or json; for a table use `auditlog query`".into(),
        ));
    }
    let query = args.filters.to_query()?.limit(PAGE_RECORDS);
    let log = open_read_only(&args.dir.dir)?;
    let revealer = super::privacy::Revealer::open(&args.dir.dir, &args.master_key)?;
    if let Some(subject) = &args.subject {
        return subject_export(&args, &log, &revealer, query, subject);
    }
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
                    && let Err(e) = writer.write(&revealer.show(&record))
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
            writer.write(&revealer.show(record)).map_err(failed)?;
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

fn output(path: Option<&PathBuf>) -> Result<Box<dyn Write>, CliError> {
    Ok(match path {
        Some(path) => Box::new(File::create(path).map_err(|e| {
            CliError::Failed(auditlog::Error::Io {
                context: format!("creating {}", path.display()),
                source: e,
            })
        })?),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// `export --subject ID`: the matching records of the subject, decrypted, each with its
/// inclusion proof (against the newest signed checkpoint covering it, else the current tree).
fn subject_export(
    args: &ExportArgs,
    log: &auditlog::ReadOnlyLog,
    revealer: &super::privacy::Revealer,
    query: auditlog::query::Query,
    subject: &str,
) -> Result<(), CliError> {
    let Some(vault) = revealer.vault() else {
        return Err(CliError::Usage(
            "--subject: this log has no privacy policy (query --actor ID finds an actor's records)"
                .into(),
        ));
    };
    if !revealer.plaintext() {
        return Err(CliError::Usage(
            "--subject exports the subject's data decrypted: give --master-key-file (or \
             AUDITLOG_MASTER_KEY_FILE)"
                .into(),
        ));
    }
    let failed = |e: std::io::Error| match &args.output {
        Some(path) => CliError::Failed(auditlog::Error::Io {
            context: format!("writing {}", path.display()),
            source: e,
        }),
        None => stdout_failed(e),
    };
    let mut out = BufWriter::with_capacity(1 << 16, output(args.output.as_ref())?);
    let mut exported = 0u64;
    let mut page = log.query(&query)?;
    loop {
        for record in &page.records {
            if !vault.holds_subject(&record.event, subject) {
                continue;
            }
            // From the handle already open: the proofs match the snapshot being exported, and
            // the log is not opened again for every record.
            let proof = log.prove_inclusion(record.seq, None)?;
            let line = serde_json::json!({
                "record": &*revealer.show(record),
                "proof": proof,
            });
            serde_json::to_writer(&mut out, &line)
                .map_err(std::io::Error::other)
                .map_err(failed)?;
            out.write_all(b"\n").map_err(failed)?;
            exported += 1;
        }
        if !page.has_more {
            break;
        }
        page = log.query(&query.clone().after(page.cursor))?;
    }
    out.flush().map_err(failed)?;
    eprintln!("exported {exported} records of subject {subject:?}");
    Ok(())
}
