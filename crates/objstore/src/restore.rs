//! Restoring a log from its archive: the bundles of one log are fetched into a staging
//! directory inside the target, checked exactly as `verify s3://...` checks them (each
//! bundle alone, the chain of tree heads, the head object and, with the public key, its
//! signature), and only then moved into place as a log directory whose tree head is the
//! archive's. Every file is written and synced through the engine's [`FileSystem`], and
//! `auditlog.meta` comes last: a restore cut short leaves a directory without it, which no
//! tool takes for a log.

use crate::error::{Error, Result};
use crate::head::parse_log_id;
use crate::store::S3Store;
use crate::verify::{ArchiveVerifyOptions, Start, fetch_and_check, list_logs};
use auditlog::TreeHead;
use auditlog::checkpoint::NoteSigner;
use auditlog::fs::FileSystem;
use auditlog::lifecycle::BundleSummary;
use auditlog::lifecycle::archive::MANIFEST_NAME;
use auditlog_format::cuts::{self, Cut, CutKind};
use auditlog_format::merkle::Frontier;
use auditlog_format::meta::{LogMeta, META_FILE};
use auditlog_format::timestamp::Timestamp;
use std::path::{Path, PathBuf};

/// The staging directory inside the target, removed when the restore is done. The engine
/// ignores names it does not know, so a leftover one never changes the log.
pub const STAGING_DIR: &str = ".restore-staging";

/// How [`restore_log`] runs.
#[derive(Debug, Default)]
pub struct RestoreOptions<'a> {
    /// What the fetched archive is checked with (the public key of the head's checkpoint,
    /// check threads). `scratch` is ignored: staging is inside the target.
    pub verify: ArchiveVerifyOptions<'a>,
    /// Signs the cut that a restored log starts with when its archive does not begin at
    /// record 0 (records removed before they were archived), so that `verify --public-key`
    /// accepts it. Without it that cut is unsigned and reported as unauthenticated.
    pub signer: Option<&'a NoteSigner>,
}

/// What [`restore_log`] rebuilt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The log id, 32 hex digits.
    pub log_id: String,
    /// The directory written.
    pub dir: PathBuf,
    /// The bundles restored, oldest first, as the checks proved them.
    pub bundles: Vec<BundleSummary>,
    /// The restored log's first record.
    pub first_seq: u64,
    /// Its tree head: the end of the newest bundle.
    pub tree_head: TreeHead,
    /// Bytes fetched from the store.
    pub bytes_fetched: u64,
    /// Files written into the log directory.
    pub files: usize,
    /// Warnings of the checks (interrupted uploads, an unsigned head).
    pub warnings: Vec<String>,
}

/// The one log of an archive, for a caller that was given none (`restore` without
/// `--log-id`): an error naming them when there are several, or none.
pub fn only_log(store: &S3Store) -> Result<String> {
    let logs = list_logs(store)?;
    match logs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::ArchiveDamaged {
            url: store.url().to_string(),
            problem: "no archived log here".into(),
        }),
        many => Err(Error::Refused {
            why: format!(
                "{} holds {} logs; choose one ({})",
                store.url(),
                many.len(),
                many.join(", ")
            ),
        }),
    }
}

/// Rebuilds log `log_id` of `store` in `to`, which must not exist or be empty. Nothing is
/// written into `to` (but the staging directory) before every bundle and the chain between
/// them have been checked; if they fail, the staging directory is removed and the error
/// says what failed. The restored log holds every archived record, with the same tree
/// heads; records never archived (the live log's newer ones) are not in it.
pub fn restore_log(
    store: &S3Store,
    log_id: &str,
    to: &Path,
    fs: &dyn FileSystem,
    options: &RestoreOptions<'_>,
) -> Result<RestoreReport> {
    let id = parse_log_id(log_id).ok_or_else(|| Error::Refused {
        why: format!("{log_id:?} is not a log id (32 hex digits)"),
    })?;
    let io = |context: String| move |source| Error::Io { context, source };
    match std::fs::read_dir(to) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Refused {
                    why: format!(
                        "{} is not empty: restore writes a new log directory (after an \
                         interrupted restore, which leaves no {META_FILE}, remove it and \
                         run again)",
                        to.display()
                    ),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("reading {}", to.display()))(e)),
    }
    fs.create_dir_all(to)
        .map_err(io(format!("creating {}", to.display())))?;
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs.sync_dir(parent)
            .map_err(io(format!("syncing {}", parent.display())))?;
    }
    let staging = to.join(STAGING_DIR);
    let result = stage_and_move(store, log_id, &id, to, &staging, fs, options);
    // Staged files left after a failure are only fetched copies; the log is not there.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn stage_and_move(
    store: &S3Store,
    log_id: &str,
    id: &[u8; 16],
    to: &Path,
    staging: &Path,
    fs: &dyn FileSystem,
    options: &RestoreOptions<'_>,
) -> Result<RestoreReport> {
    let io = |context: String| move |source| Error::Io { context, source };
    let checked = fetch_and_check(
        store,
        log_id,
        &options.verify,
        staging,
        Some(fs),
        Start::MayBeUnexplained,
    )?;
    let (verdict, dirs) = (checked.verdict, checked.dirs);
    if !verdict.ok() {
        return Err(Error::ArchiveDamaged {
            url: verdict.url.clone(),
            problem: verdict.problems.join("; "),
        });
    }
    // Every listed file of every bundle into the log directory, by rename (no copy): the
    // bytes are those just checked. Bundles share dictionaries; a second copy must be equal.
    let mut files = 0;
    for (dir, summary) in dirs.iter().zip(&verdict.bundles) {
        for f in &summary.manifest.files {
            if f.name == MANIFEST_NAME {
                continue;
            }
            let (from, into) = (dir.join(&f.name), to.join(&f.name));
            if into.exists() {
                let same = std::fs::read(&into).ok() == std::fs::read(&from).ok();
                if !same {
                    return Err(Error::ArchiveDamaged {
                        url: verdict.url.clone(),
                        problem: format!("two bundles hold different files named {}", f.name),
                    });
                }
                continue;
            }
            fs.rename(&from, &into).map_err(io(format!(
                "moving {} into {}",
                f.name,
                to.display()
            )))?;
            files += 1;
        }
    }
    let first = verdict
        .bundles
        .first()
        .expect("a verified archive has a bundle");
    let last = verdict
        .bundles
        .last()
        .expect("a verified archive has a bundle");
    if let Some(bytes) = &checked.cut_log {
        // Retention ran in the bucket: its cut log (checked above, the first bundle starts at
        // its newest cut) is the restored log's, signatures and all.
        let path = cuts::cuts_path(to);
        auditlog::fs::write_file_durably(fs, &path, bytes)
            .map_err(io(format!("writing {}", path.display())))?;
    } else {
        cuts::create_empty(fs, to, id).map_err(|e| Error::Io {
            context: format!("creating the cut log in {}", to.display()),
            source: std::io::Error::other(e),
        })?;
    }
    if first.start.size > 0 && checked.cut_log.is_none() {
        // Records before the first bundle were removed from the live log before they were
        // archived: the restored log starts with a cut there, as the live log did.
        let m = &first.manifest;
        let nodes = m
            .start_frontier
            .iter()
            .map(|h| auditlog::merkle::from_hex(h))
            .collect::<Option<Vec<_>>>();
        let frontier = nodes
            .and_then(|n| Frontier::from_parts(m.first_seq, n))
            .expect("check_bundle proved the start frontier");
        let cut = Cut {
            kind: CutKind::Retention,
            removed_from: 0,
            cut_seq: m.first_seq,
            cut_at: Timestamp::now(),
            prev_recorded_at: m.prev_recorded_at,
            frontier,
            note: format!(
                "not in the archive {} when this log was restored from it",
                store.url()
            ),
            signature: None,
        };
        cuts::append(fs, to, id, &cut, options.signer).map_err(|e| Error::Io {
            context: format!(
                "recording the start of the restored log in {}",
                to.display()
            ),
            source: std::io::Error::other(e),
        })?;
    }
    // The identity last: until it is there, the directory is not a log.
    let meta = LogMeta {
        log_id: *id,
        created_at: first.manifest.first_recorded_at,
    };
    auditlog::fs::write_file_durably(fs, &to.join(META_FILE), &meta.encode())
        .map_err(io(format!("writing {}", to.join(META_FILE).display())))?;
    fs.sync_dir(to)
        .map_err(io(format!("syncing {}", to.display())))?;
    Ok(RestoreReport {
        log_id: log_id.to_string(),
        dir: to.to_path_buf(),
        bundles: verdict.bundles.clone(),
        first_seq: first.start.size,
        tree_head: last.end,
        bytes_fetched: verdict.bytes,
        files,
        warnings: verdict.warnings,
    })
}
