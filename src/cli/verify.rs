//! `auditlog verify PATH`: check a log directory or one segment file, optionally against a
//! signed checkpoint.

use super::CliError;
use super::progress::{self, Progress as ProgressLine};
use auditlog::checkpoint::{Checkpoint, NoteVerifier};
use auditlog::verify::{IndexCheck, Progress, VerifyOptions, verify_with};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A log directory, one segment file, an archive bundle, or s3://BUCKET/PREFIX (every
    /// log archived there); or give it with --dir; without either, the AUDITLOG_DIR
    /// environment variable.
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// The log directory, as the other commands take it (the same as PATH).
    #[arg(long, value_name = "DIR", conflicts_with = "path")]
    dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// A signed checkpoint (C2SP signed note) the log must be consistent with.
    #[arg(long, value_name = "FILE", requires = "public_key")]
    checkpoint: Option<PathBuf>,
    /// The log's public key (`name+hash+base64`, as written by `auditlog keygen`): it must
    /// have signed the checkpoint and every cut record (retention, archive) of the log.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Skip decoding payloads (hashes and CRCs are still checked).
    #[arg(long)]
    no_decode: bool,
    /// An archive bundle of this log (repeatable): after the log itself, prove that the
    /// bundles and the live log form one unbroken chain of tree heads.
    #[arg(long = "bundle", value_name = "DIR")]
    bundles: Vec<PathBuf>,
    /// The log's archive in object storage (s3://BUCKET/PREFIX, as given to `archive --to`):
    /// after the log itself, prove that every bundle archived there and the live log form
    /// one unbroken chain of tree heads.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive: Option<String>,
    #[command(flatten)]
    s3: super::s3::S3Args,
    /// Skip comparing index files with the indexes rebuilt from their segments (by default
    /// one that differs is damage, since it could hide records, and is moved aside).
    #[arg(long)]
    no_index_check: bool,
}

impl VerifyArgs {
    /// PATH or --dir (`run` fills `path` from them or AUDITLOG_DIR).
    fn target(&self) -> &std::path::Path {
        self.path.as_deref().unwrap_or(std::path::Path::new("."))
    }
}

pub fn read_text(path: &PathBuf, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read the {what} {}: {e}", path.display())))
}

/// Reads a public key file.
pub fn read_verifier(path: &PathBuf) -> Result<NoteVerifier, CliError> {
    NoteVerifier::from_text(&read_text(path, "public key")?)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// Reads a private key file, for commands that sign (checkpoints, cut records).
pub fn read_signer(path: &PathBuf) -> Result<auditlog::checkpoint::NoteSigner, CliError> {
    auditlog::checkpoint::NoteSigner::from_text(&read_text(path, "private key")?)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// Opens `dir` for writing, with `key` (a private key file) as its signing key if given.
pub fn open_signing(
    dir: &std::path::Path,
    key: Option<&PathBuf>,
) -> Result<auditlog::AuditLog, CliError> {
    let mut builder = auditlog::AuditLog::builder(dir);
    if let Some(path) = key {
        builder = builder.signing_key(read_signer(path)?);
    }
    Ok(builder.open()?)
}

pub fn run(mut args: VerifyArgs) -> Result<(), CliError> {
    // `--dir` is not read from AUDITLOG_DIR by clap, so that the variable, set for the other
    // commands, never conflicts with a PATH given here: it is the last resort.
    args.path = args
        .path
        .take()
        .or(args.dir.take())
        .or_else(|| std::env::var_os("AUDITLOG_DIR").map(PathBuf::from));
    if args.path.is_none() {
        return Err(CliError::Usage(
            "give the log directory (or a segment file): auditlog verify DIR, or --dir DIR, \
             or set AUDITLOG_DIR"
                .into(),
        ));
    }
    if let Some(text) = args.target().to_str()
        && let auditlog_objstore::Location::S3(url) = super::s3::location(text)?
    {
        let request = super::verify_s3::Request {
            s3: &args.s3,
            public_key: args.public_key.as_ref(),
            json: args.json,
            threads: args.threads,
            conflicting: args.checkpoint.is_some()
                || !args.bundles.is_empty()
                || args.archive.is_some(),
        };
        return super::verify_s3::run(&request, &url);
    }
    // A bad --archive is a usage error before any work.
    let archive_url = match &args.archive {
        Some(text) => Some(super::s3::s3_url(text, "--archive")?),
        None => None,
    };
    if !args.target().exists() {
        return Err(CliError::Usage(format!(
            "{} does not exist",
            args.target().display()
        )));
    }
    let mut options = VerifyOptions {
        threads: args.threads,
        decode_payloads: !args.no_decode,
        ..VerifyOptions::default()
    };
    if let Some(key) = &args.public_key {
        options.cut_key = Some(read_verifier(key)?);
    }
    if let (Some(cp), Some(key)) = (&args.checkpoint, &args.public_key) {
        let verifier = read_verifier(key)?;
        let note = read_text(cp, "checkpoint")?;
        // A checkpoint whose signature fails is a failed check, not a usage error.
        let checkpoint = Checkpoint::open(&note, &verifier)
            .map_err(|e| CliError::Damage(format!("{}: {e}", cp.display())))?;
        options.checkpoint = Some(checkpoint);
    }
    // One line for the whole run, redrawn after each segment (from the verifier's threads).
    let line = Arc::new(Mutex::new(None::<ProgressLine>));
    if progress::enabled() {
        let line = Arc::clone(&line);
        options.progress = Some(Arc::new(move |p: Progress| {
            let mut line = line.lock().unwrap_or_else(|e| e.into_inner());
            let line = line.get_or_insert_with(|| {
                ProgressLine::new("verify", progress::Unit::Bytes, Some(p.bytes_total))
            });
            line.update(p.bytes_done, || {
                format!("{} of {} segments", p.segments_done, p.segments_total)
            });
        }));
    }
    let result = verify_and_report(&args, &options, &line, archive_url.as_ref());
    // Erase the line before any message about the result.
    if let Some(mut l) = line.lock().unwrap_or_else(|e| e.into_inner()).take() {
        l.clear();
    }
    result
}

fn verify_and_report(
    args: &VerifyArgs,
    options: &VerifyOptions,
    line: &Mutex<Option<ProgressLine>>,
    archive_url: Option<&auditlog_objstore::S3Url>,
) -> Result<(), CliError> {
    let clear = || {
        if let Some(l) = line.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            l.clear();
        }
    };
    if auditlog::classes::is_classified_root(args.target()) {
        let result = run_classified(args, options);
        return result;
    }
    let indexes = if args.no_index_check {
        IndexCheck::Skip
    } else {
        IndexCheck::CompareAndSetAside
    };
    let report = verify_with(args.target(), options, indexes)?;
    clear();
    if args.json {
        println!("{:#}", report.to_json());
    } else {
        print!("{report}");
    }
    // Bundles fetched from --archive live here until the check is done.
    let mut fetched = None;
    let mut bundles = args.bundles.clone();
    if report.ok
        && let Some(url) = archive_url
    {
        let log = auditlog::ReadOnlyLog::open(args.target())?;
        // Retention ran in the bucket: the archive is checked alone (its own cut log
        // explains the bundles it deleted), then the live log must continue it.
        let alone = options.checkpoint.is_none() && args.bundles.is_empty();
        if alone
            && let Some(message) = super::verify_s3::check_live_after_retention(
                &args.s3,
                url,
                &log,
                args.public_key.as_ref(),
            )?
        {
            println!("{message}");
            return Ok(());
        }
        let (scratch, dirs) = super::verify_s3::fetch_log(&args.s3, url, &log.log_id())?;
        if dirs.is_empty() {
            return Err(CliError::Damage(format!(
                "{url} holds no bundle of log {}",
                auditlog_objstore::head::log_id_hex(&log.log_id())
            )));
        }
        bundles.extend(dirs);
        fetched = Some(scratch);
    }
    if report.ok && !bundles.is_empty() {
        let log = auditlog::ReadOnlyLog::open(args.target())?;
        match log.check_with_bundles(&bundles) {
            Ok(bundles) => {
                for b in &bundles {
                    println!(
                        "bundle OK: records {}..{} ({} .. {})",
                        b.start.size, b.end.size, b.start, b.end
                    );
                }
                println!("the bundles and the live log form one chain of tree heads");
            }
            Err(c) => {
                let mut text = c.to_string();
                if let (Some(scratch), Some(url)) = (&fetched, &args.archive) {
                    let log_id = auditlog::ReadOnlyLog::open(args.target())?.log_id();
                    let folder = format!(
                        "{}/{}",
                        url.trim_end_matches('/'),
                        auditlog_objstore::head::log_id_hex(&log_id)
                    );
                    text = super::verify_s3::local_to_url(&text, scratch.path(), &folder);
                }
                return Err(CliError::Damage(text));
            }
        }
    }
    drop(fetched);
    if !report.ok {
        return Err(CliError::Damage(format!(
            "{} problem(s) found",
            report.problems.len()
        )));
    }
    // The auditor asked for a checkpoint check that could not be made: never exit 0 on it.
    if options.checkpoint.is_some() && !report.checkpoint.as_ref().is_some_and(|c| c.consistent) {
        return Err(CliError::Damage(
            "the log is intact but the checkpoint could not be checked against it (see the \
             note); verify the archive bundle that holds its last record with --checkpoint"
                .into(),
        ));
    }
    Ok(())
}

/// A classified root: the manifest and every class, reported per class.
fn run_classified(args: &VerifyArgs, options: &VerifyOptions) -> Result<(), CliError> {
    if options.checkpoint.is_some() || !args.bundles.is_empty() || args.archive.is_some() {
        return Err(CliError::Usage(format!(
            "{} is a classified root: a checkpoint or bundle belongs to one class, so give \
             that class's sub-directory with --checkpoint or --bundle",
            args.target().display()
        )));
    }
    let report = auditlog::classes::verify_classified(args.target(), options)?;
    if args.json {
        println!("{:#}", report.to_json());
    } else {
        print!("{report}");
    }
    if report.ok {
        Ok(())
    } else {
        Err(CliError::Damage(
            "damage found in the classified root".into(),
        ))
    }
}
