//! `auditlog get SEQ`: one record as pretty JSON, from the live log or, with `--archive`,
//! from its archive in object storage (range reads of one cold frame).

use super::output::stdout_failed;
use super::{CliError, open::open_read_only};
use auditlog::Record;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The log directory (not needed with --archive and --log-id).
    #[arg(long, env = "AUDITLOG_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The record's sequence number.
    #[arg(value_name = "SEQ")]
    seq: u64,
    /// Print the record on one line (compact JSON) instead of indented.
    #[arg(long)]
    compact: bool,
    /// The log's archive (s3://BUCKET/PREFIX, as given to `archive --to`): a record archived
    /// away from the live log is read from there.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive: Option<String>,
    /// With --archive and no --dir: the log (32 hex digits, its folder in the archive).
    /// Default: the only log in the archive.
    #[arg(long, value_name = "HEX", requires = "archive")]
    log_id: Option<String>,
    /// Print the record's inclusion proof instead, in the form `auditlog prove` prints (for
    /// `auditlog verify-proof`): for an archived record against the archive's signed head
    /// (head.json), built from range reads of the bucket; for a record still in the log
    /// (--dir), as `auditlog prove` builds it.
    #[arg(long)]
    proof: bool,
    #[command(flatten)]
    s3: super::s3::S3Args,
    /// With the log's master key, protected values print in clear (else `[protected]`).
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
}

fn not_found(seq: u64, first: u64, end: u64) -> CliError {
    if end > first {
        CliError::Usage(format!(
            "no record #{seq}: the log holds #{first} to #{}",
            end - 1
        ))
    } else {
        CliError::Usage(format!("no record #{seq}: the log is empty"))
    }
}

pub fn run(args: GetArgs) -> Result<(), CliError> {
    if args.proof {
        return print_proof(&args);
    }
    let record = match (&args.dir, &args.archive) {
        (Some(dir), archive) => {
            let log = open_read_only(dir)?;
            match log.get(args.seq) {
                Ok(r) => r,
                Err(auditlog::Error::NotFound { seq, first, end }) => match archive {
                    Some(url) if seq < first => from_archive(&args, url, Some(log.log_id()))?,
                    _ => return Err(not_found(seq, first, end)),
                },
                Err(e) => return Err(CliError::from(e)),
            }
        }
        (None, Some(url)) => from_archive(&args, url, None)?,
        (None, None) => {
            return Err(CliError::Usage(
                "give the log with --dir (or AUDITLOG_DIR), or its archive with --archive".into(),
            ));
        }
    };
    // An archived record read without --dir prints as stored (its vault is in the log's
    // directory).
    let record = match &args.dir {
        Some(dir) => super::privacy::Revealer::open(dir, &args.master_key)?
            .show(&record)
            .into_owned(),
        None => record,
    };
    let text = if args.compact {
        serde_json::to_string(&record)
    } else {
        serde_json::to_string_pretty(&record)
    }
    .map_err(|e| CliError::Usage(format!("cannot print record #{}: {e}", args.seq)))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(stdout_failed)
}

/// `--proof`: the inclusion proof of record `args.seq`, from the live log when it holds the
/// record, else from the archive; what the archive read cost goes to stderr.
fn print_proof(args: &GetArgs) -> Result<(), CliError> {
    let live = match &args.dir {
        Some(dir) => {
            let log = open_read_only(dir)?;
            let (first, end) = (log.first_seq(), log.end_seq());
            if (first..end).contains(&args.seq) || args.archive.is_none() {
                let doc = log.prove_inclusion(args.seq, None).map_err(|e| match e {
                    auditlog::Error::NotFound { seq, first, end } => not_found(seq, first, end),
                    e => CliError::from(e),
                })?;
                Some(doc)
            } else if args.seq >= end {
                return Err(not_found(args.seq, first, end));
            } else {
                None
            }
        }
        None => None,
    };
    let doc = match (live, &args.archive) {
        (Some(doc), _) => doc,
        (None, Some(url)) => {
            let log_id = match &args.dir {
                Some(dir) => Some(open_read_only(dir)?.log_id()),
                None => None,
            };
            let (reader, url) = archive_of(args, url, log_id)?;
            match reader.prove(args.seq).map_err(super::s3::store_failed)? {
                Some((doc, stats)) => {
                    eprintln!(
                        "read from {url}: {} requests, {} bytes ({} of segment objects)",
                        stats.requests, stats.bytes, stats.segment_bytes
                    );
                    doc
                }
                None => {
                    return Err(CliError::Usage(format!(
                        "no record #{} in the archive of log {} at {url}",
                        args.seq,
                        reader.log_id()
                    )));
                }
            }
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give the log with --dir (or AUDITLOG_DIR), or its archive with --archive".into(),
            ));
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{doc:#}").map_err(stdout_failed)
}

/// Record `args.seq` of log `log_id` (or of `--log-id`, or the archive's only log).
fn from_archive(args: &GetArgs, url: &str, log_id: Option<[u8; 16]>) -> Result<Record, CliError> {
    let (reader, url) = archive_of(args, url, log_id)?;
    match reader.get(args.seq).map_err(super::s3::store_failed)? {
        Some((record, _)) => Ok(record),
        None => Err(CliError::Usage(format!(
            "no record #{} in the archive of log {} at {url}",
            args.seq,
            reader.log_id()
        ))),
    }
}

/// The archive at `url` of log `log_id` (or of `--log-id`, or the archive's only log).
fn archive_of(
    args: &GetArgs,
    url: &str,
    log_id: Option<[u8; 16]>,
) -> Result<(auditlog_objstore::ArchiveReader, auditlog_objstore::S3Url), CliError> {
    let url = super::s3::s3_url(url, "--archive")?;
    let store = args.s3.connect(&url)?;
    let failed = super::s3::store_failed;
    let id = match (log_id, &args.log_id) {
        (Some(id), _) => id,
        (None, Some(hex)) => auditlog_objstore::head::parse_log_id(hex)
            .ok_or_else(|| CliError::Usage(format!("--log-id {hex:?} is not 32 hex digits")))?,
        (None, None) => {
            let logs = auditlog_objstore::list_logs(&store).map_err(failed)?;
            match logs.as_slice() {
                [one] => auditlog_objstore::head::parse_log_id(one).unwrap_or_default(),
                [] => return Err(CliError::Usage(format!("{url} holds no archived log"))),
                many => {
                    return Err(CliError::Usage(format!(
                        "{url} holds {} logs; choose one with --log-id ({})",
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    let reader = auditlog_objstore::ArchiveReader::open(&store, &id).map_err(failed)?;
    Ok((reader, url))
}
