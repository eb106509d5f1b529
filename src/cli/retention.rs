//! `auditlog retention`: delete the oldest sealed segments by age or size budget, recording
//! the cut first; `--dry-run` lists what would go. On a classified root, every class applies
//! the retention recorded for it.

use super::CliError;
use super::s3::{S3Args, s3_url, store_failed};
use auditlog::ReadOnlyLog;
use auditlog::classes::ClassifiedLog;
use auditlog::lifecycle::{RetentionPolicy, RetentionReport};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    /// The log directory (with --archive: names the log whose archive it is).
    #[arg(long, env = "AUDITLOG_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Delete segments whose newest record is older than this many days (engine clock).
    #[arg(long, value_name = "DAYS")]
    max_age_days: Option<u64>,
    /// Delete the oldest segments while the log's files exceed this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_bytes: Option<u64>,
    /// List what would be deleted, change nothing.
    #[arg(long, conflicts_with = "apply")]
    dry_run: bool,
    /// Apply retention to the log's archive in object storage (s3://BUCKET/PREFIX, as given
    /// to `archive --to`) instead: whole bundles, oldest first, never the newest, recorded
    /// in the archive's cut log. Lists what would go unless --apply.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive: Option<String>,
    /// With --archive: delete (without it, only list what would go).
    #[arg(long, requires = "archive")]
    apply: bool,
    /// With --archive and no --dir: the log (32 hex digits). Default: the archive's only log.
    #[arg(long, value_name = "HEX", requires = "archive")]
    log_id: Option<String>,
    #[command(flatten)]
    s3: S3Args,
    /// The log's private key (written by `auditlog keygen`): the cut record is signed with
    /// it, so that `auditlog verify --public-key` can tell this removal from a deletion.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

pub fn run(args: RetentionArgs) -> Result<(), CliError> {
    if args.archive.is_some() {
        return run_archive(&args);
    }
    let Some(dir) = args.dir.clone() else {
        return Err(CliError::Usage(
            "give the log with --dir (or AUDITLOG_DIR), or its archive with --archive".into(),
        ));
    };
    if auditlog::classes::is_classified_root(&dir) {
        return run_classified(&args, &dir);
    }
    if args.max_age_days.is_none() && args.max_bytes.is_none() {
        return Err(CliError::Usage(
            "give --max-age-days and/or --max-bytes".into(),
        ));
    }
    let policy = RetentionPolicy {
        max_age: args.max_age_days.map(super::days),
        max_total_bytes: args.max_bytes,
    };
    if args.dry_run {
        let log = ReadOnlyLog::open(&dir)?;
        print(&log.plan_retention(&policy)?, true);
    } else {
        let log = super::verify::open_signing(&dir, args.key.as_ref())?;
        print(&log.apply_retention(&policy)?, false);
        log.close()?;
    }
    Ok(())
}

/// A classified root: each class applies the policy recorded in its manifest.
fn run_classified(args: &RetentionArgs, dir: &std::path::Path) -> Result<(), CliError> {
    if args.max_age_days.is_some() || args.max_bytes.is_some() {
        return Err(CliError::Usage(format!(
            "{} is a classified root: each class applies its own recorded retention, so \
             --max-age-days and --max-bytes do not apply (give a class's sub-directory to \
             apply them to one class)",
            dir.display()
        )));
    }
    if args.key.is_some() {
        // A classified log has no signing key (one per class would be needed): refuse
        // rather than write unsigned cuts the caller believes signed.
        return Err(CliError::Usage(format!(
            "{} is a classified root, whose classes cannot sign their cuts yet: --key \
             does not apply",
            dir.display()
        )));
    }
    let log = ClassifiedLog::builder(dir).read_only(args.dry_run).open()?;
    let reports = if args.dry_run {
        log.plan_retention()?
    } else {
        log.apply_retention()?
    };
    for ((name, report), class) in reports.iter().zip(log.classes()) {
        println!("class {name} ({}):", describe(&class.retention));
        print(report, args.dry_run);
    }
    log.close()?;
    Ok(())
}

fn describe(policy: &RetentionPolicy) -> String {
    let age = policy
        .max_age
        .map(|a| format!("keep {} days", a.as_secs() / 86_400));
    let bytes = policy.max_total_bytes.map(|b| format!("at most {b} bytes"));
    let parts: Vec<String> = age.into_iter().chain(bytes).collect();
    if parts.is_empty() {
        "keep everything".into()
    } else {
        parts.join(", ")
    }
}

fn print(report: &RetentionReport, dry_run: bool) {
    let verb = if dry_run { "would delete" } else { "deleted" };
    for s in &report.segments {
        println!(
            "{verb} records {}..{} (newest {}, {} bytes): {}",
            s.first_seq, s.end_seq, s.last_recorded_at, s.bytes, s.reason
        );
    }
    if let Some(cut) = &report.cut {
        println!("{cut}");
        println!("{} bytes reclaimed", report.reclaimed_bytes);
    }
    if report.segments.is_empty() {
        println!("nothing to delete");
    }
}

/// `--archive`: retention of whole bundles in object storage, listed unless `--apply`.
fn run_archive(args: &RetentionArgs) -> Result<(), CliError> {
    let url = s3_url(args.archive.as_deref().unwrap_or_default(), "--archive")?;
    if args.max_age_days.is_none() && args.max_bytes.is_none() {
        return Err(CliError::Usage(
            "give --max-age-days and/or --max-bytes".into(),
        ));
    }
    if args.dry_run && args.apply {
        return Err(CliError::Usage(
            "--dry-run and --apply exclude each other".into(),
        ));
    }
    let signer = match &args.key {
        Some(path) => Some(super::verify::read_signer(path)?),
        None => None,
    };
    let hex = match (&args.dir, &args.log_id) {
        (_, Some(hex)) => {
            if auditlog_objstore::head::parse_log_id(hex).is_none() {
                return Err(CliError::Usage(format!(
                    "--log-id {hex:?} is not 32 hex digits"
                )));
            }
            Some(hex.to_ascii_lowercase())
        }
        (Some(dir), None) => Some(auditlog_objstore::head::log_id_hex(
            &ReadOnlyLog::open(dir)?.log_id(),
        )),
        (None, None) => None,
    };
    let store = args.s3.connect(&url)?;
    let hex = match hex {
        Some(h) => h,
        None => auditlog_objstore::only_log(&store).map_err(store_failed)?,
    };
    let policy = auditlog_objstore::ArchiveRetentionPolicy {
        max_age: args.max_age_days.map(super::days),
        max_total_bytes: args.max_bytes,
    };
    let now = auditlog::Timestamp::now();
    let (bundles, cut) = if args.apply {
        let report =
            auditlog_objstore::apply_archive_retention(&store, &hex, &policy, signer.as_ref(), now)
                .map_err(store_failed)?;
        (report.bundles, report.cut)
    } else {
        let plan = auditlog_objstore::plan_archive_retention(&store, &hex, &policy, now)
            .map_err(store_failed)?;
        (plan, None)
    };
    let verb = if args.apply {
        "deleted"
    } else {
        "would delete"
    };
    for b in &bundles {
        println!(
            "{verb} {url}/{hex}/{} (records {}..{}, newest {}, {} bytes): {}",
            b.bundle, b.first_seq, b.end_seq, b.last_recorded_at, b.bytes, b.reason
        );
    }
    if let Some(cut) = &cut {
        println!("{cut}");
    }
    if bundles.is_empty() {
        println!("nothing to delete");
    } else if !args.apply {
        println!("(a plan: nothing was deleted; add --apply to delete)");
    }
    Ok(())
}
