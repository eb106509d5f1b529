//! `auditlog archive`: move the oldest sealed segments into bundles in a local directory.

use super::{CliError, DirArg, progress};
use auditlog::lifecycle::{ArchivePolicy, LocalDirDestination};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The archive directory (bundles are created under it).
    #[arg(long, value_name = "ARCHIVE_DIR")]
    to: PathBuf,
    /// Only segments whose newest record is older than this many days.
    #[arg(long, value_name = "DAYS")]
    older_than_days: Option<u64>,
    /// At most this many segments, oldest first.
    #[arg(long, value_name = "N")]
    max_segments: Option<usize>,
    /// The log's private key (written by `auditlog keygen`): the cut record is signed with
    /// it, so that `auditlog verify --public-key` can tell this removal from a deletion.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

pub fn run(args: ArchiveArgs) -> Result<(), CliError> {
    let log = super::verify::open_signing(&args.dir.dir, args.key.as_ref())?;
    let destination = LocalDirDestination::new(&args.to);
    let policy = ArchivePolicy {
        min_age: args.older_than_days.map(super::days),
        max_segments: args.max_segments,
    };
    // Progress: segments gone from the directory since the start, of the sealed ones then
    // (all of them are candidates, the newest excepted, unless a flag narrows the choice).
    let dir = args.dir.dir.clone();
    let count = || {
        let (hot, cold) = progress::segments_in(&dir);
        (hot.len() + cold.len()) as u64
    };
    let before = count();
    let candidates = match (args.older_than_days, args.max_segments) {
        (None, None) => Some(before.saturating_sub(1)),
        (None, Some(n)) => Some((n as u64).min(before.saturating_sub(1))),
        _ => None,
    };
    let report = progress::while_running(
        "archive",
        progress::Unit::Count("segments"),
        || (before.saturating_sub(count()), candidates),
        || log.archive(&destination, &policy),
    )?;
    for bundle in &report.bundles {
        println!("archived {}", destination.bundle_dir(bundle).display());
    }
    println!(
        "{} bundle(s); {} bytes removed from {}; the log now starts at sequence {}",
        report.bundles.len(),
        report.reclaimed_bytes,
        args.dir.dir.display(),
        log.first_seq()
    );
    log.close()?;
    Ok(())
}
