//! Retention inside the bucket: whole bundles, oldest first (never the newest), by age or
//! by a size budget, recorded the way local retention records its removals (docs/FORMAT.md
//! §9): a cut record with the tree head and frontier at the first kept record, signed with
//! the log's key when given, in the archive's own cut log. So a verifier of what remains
//! still proves that it continues the original tree, and is told which records were
//! removed, when, and (with the public key) that the removal was authorized.
//!
//! The cut log is stored as immutable objects `<log id>/cuts/<cut_seq, 20 digits>.log`, each
//! the whole cut log (§9 bytes) up to and including the cut of that number; the highest
//! number is the archive's cut log. Order of a run, so that a crash at any point leaves an
//! archive that verifies: (1) the new cut log object, (2) the head object without the
//! removed bundles, (3) each removed bundle's objects, manifest first. Bundles that end at
//! or below the newest cut are leftovers of an interrupted run: verification ignores them
//! (as it ignores local segments below a cut) and the next run deletes them.

use crate::error::{Error, Result};
use crate::head::{head_key, parse_log_id, read_head};
use crate::store::S3Store;
use crate::verify::{fetch_bundle, list_bundles};
use auditlog::Timestamp;
use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::archive::{MANIFEST_NAME, Manifest};
use auditlog_format::cuts::{self, Cut, CutKind, CutLog};
use auditlog_format::merkle::Frontier;
use std::time::Duration;

/// The folder of a log's archive cut log objects.
pub const CUTS_FOLDER: &str = "cuts";

/// The key of the cut log object that ends with the cut at `cut_seq`.
pub fn cuts_key(log_id: &str, cut_seq: u64) -> String {
    format!("{log_id}/{CUTS_FOLDER}/{cut_seq:020}.log")
}

/// The archive's cut log: the highest-numbered object under `<log id>/cuts/`, its key, its
/// bytes and what they decode to. `None` when retention never ran in the bucket.
pub fn read_cut_log(store: &S3Store, log_id: &str) -> Result<Option<(String, Vec<u8>, CutLog)>> {
    let id = parse_log_id(log_id).unwrap_or_default();
    let newest = store
        .list(&format!("{log_id}/{CUTS_FOLDER}"))?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| {
            k.rsplit('/').next().is_some_and(|n| {
                n.len() == 24 && n.ends_with(".log") && n[..20].bytes().all(|b| b.is_ascii_digit())
            })
        })
        .max();
    let Some(key) = newest else {
        return Ok(None);
    };
    let Some(bytes) = store.get(&key)? else {
        return Ok(None);
    };
    let log = cuts::decode(&bytes, &id).map_err(|kind| Error::ArchiveDamaged {
        url: store.describe_key(&key),
        problem: format!("the archive's cut log is unreadable: {kind:?}"),
    })?;
    Ok(Some((key, bytes, log)))
}

/// What retention in the bucket keeps. A bundle goes if either limit says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveRetentionPolicy {
    /// Delete bundles whose newest record is older than this. Default: no age limit.
    pub max_age: Option<Duration>,
    /// Delete the oldest bundles while the log's archive (every object of its bundles)
    /// totals more than this. Default: no size limit.
    pub max_total_bytes: Option<u64>,
}

/// One bundle retention deletes (or, planned, would delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRetainedOut {
    /// The bundle's name.
    pub bundle: String,
    /// Its first record.
    pub first_seq: u64,
    /// One past its last.
    pub end_seq: u64,
    /// `recorded_at` of its newest record.
    pub last_recorded_at: Timestamp,
    /// Bytes of its objects.
    pub bytes: u64,
    /// Which limit selects it.
    pub reason: String,
}

/// What [`apply_archive_retention`] did, or [`plan_archive_retention`] would do.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ArchiveRetentionReport {
    /// The log id.
    pub log_id: String,
    /// The bundles selected, oldest first.
    pub bundles: Vec<ArchiveRetainedOut>,
    /// The cut recorded (`None` for a plan, or when nothing was selected).
    pub cut: Option<Cut>,
    /// Objects deleted.
    pub deleted_objects: usize,
}

fn bad(store: &S3Store, key: &str, why: String) -> Error {
    Error::ArchiveDamaged {
        url: store.describe_key(key),
        problem: why,
    }
}

fn manifest_of(store: &S3Store, log_id: &str, bundle: &str) -> Result<Manifest> {
    let key = format!("{log_id}/{bundle}/{MANIFEST_NAME}");
    let bytes = store
        .get(&key)?
        .ok_or_else(|| bad(store, &key, "the manifest is gone".into()))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(store, &key, format!("not a manifest: {e}")))
}

/// The bundles of `log_id` that retention with `policy` deletes at `now`, oldest first:
/// first any a run cut short left below the archive's newest cut, then those the limits
/// select, never the newest bundle.
pub fn plan_archive_retention(
    store: &S3Store,
    log_id: &str,
    policy: &ArchiveRetentionPolicy,
    now: Timestamp,
) -> Result<Vec<ArchiveRetainedOut>> {
    let listing = list_bundles(store, log_id)?;
    let cut_seq = read_cut_log(store, log_id)?
        .and_then(|(_, _, log)| log.latest().map(|c| c.cut_seq))
        .unwrap_or(0);
    let objects = store.list(log_id)?;
    let bytes_of = |bundle: &str| -> u64 {
        let folder = format!("{log_id}/{bundle}/");
        objects
            .iter()
            .filter(|(k, _)| k.starts_with(&folder))
            .map(|(_, n)| n)
            .sum()
    };
    let mut total: u64 = listing.bundles.iter().map(|b| bytes_of(b)).sum();
    let mut out = Vec::new();
    let newest = listing.bundles.len().saturating_sub(1);
    for bundle in &listing.bundles[..newest] {
        let m = manifest_of(store, log_id, bundle)?;
        let bytes = bytes_of(bundle);
        let age_nanos = now.as_nanos().saturating_sub(m.last_recorded_at);
        let reason = if m.end_seq <= cut_seq {
            "below the archive's newest cut (left by an interrupted retention run)".to_string()
        } else if let Some(age) = policy
            .max_age
            .filter(|age| age_nanos > 0 && age_nanos as u128 > age.as_nanos())
        {
            format!("older than {} days", age.as_secs() / 86_400)
        } else if let Some(budget) = policy.max_total_bytes.filter(|b| total > *b) {
            format!("over the archive's size budget of {budget} bytes")
        } else {
            break;
        };
        total = total.saturating_sub(bytes);
        out.push(ArchiveRetainedOut {
            bundle: bundle.clone(),
            first_seq: m.first_seq,
            end_seq: m.end_seq,
            last_recorded_at: Timestamp::from_nanos(m.last_recorded_at),
            bytes,
            reason,
        });
    }
    Ok(out)
}

/// Deletes the bundles [`plan_archive_retention`] selects, after recording the cut (signed
/// with `signer` when given) and updating the head object; see the module documentation for
/// the order. The first kept bundle is fetched and checked first: the cut repeats its start
/// (tree head, frontier, time of the record before), and is only made from a bundle that
/// proves it.
pub fn apply_archive_retention(
    store: &S3Store,
    log_id: &str,
    policy: &ArchiveRetentionPolicy,
    signer: Option<&NoteSigner>,
    now: Timestamp,
) -> Result<ArchiveRetentionReport> {
    let id = parse_log_id(log_id).ok_or_else(|| Error::Refused {
        why: format!("{log_id:?} is not a log id (32 hex digits)"),
    })?;
    let plan = plan_archive_retention(store, log_id, policy, now)?;
    let mut report = ArchiveRetentionReport {
        log_id: log_id.to_string(),
        ..ArchiveRetentionReport::default()
    };
    let Some(last_removed) = plan.last() else {
        return Ok(report);
    };
    let listing = list_bundles(store, log_id)?;
    let kept = listing
        .bundles
        .iter()
        .find(|b| {
            b.rsplit('-')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|first| first >= last_removed.end_seq)
        })
        .ok_or_else(|| Error::Refused {
            why: "the newest bundle is never removed".into(),
        })?
        .clone();
    let scratch = tempfile::Builder::new()
        .prefix("auditlog-retention-")
        .tempdir()
        .map_err(|source| Error::Io {
            context: "creating a scratch directory".into(),
            source,
        })?;
    let (dir, _) = fetch_bundle(store, log_id, &kept, scratch.path())?;
    let summary = auditlog_verify::check_bundle(&dir).map_err(|c| {
        bad(
            store,
            &format!("{log_id}/{kept}/"),
            format!("the first bundle to keep does not verify, so no cut is made from it: {c}"),
        )
    })?;
    let m = &summary.manifest;
    // (1) The cut log with the new cut, unless a run cut short already wrote it.
    let existing = read_cut_log(store, log_id)?;
    let already = existing
        .as_ref()
        .and_then(|(_, _, log)| log.latest().cloned())
        .filter(|c| c.cut_seq >= m.first_seq);
    let cut = match already {
        Some(cut) => cut,
        None => {
            let live = scratch.path().join("cuts");
            std::fs::create_dir_all(&live).map_err(|source| Error::Io {
                context: format!("creating {}", live.display()),
                source,
            })?;
            let fs = auditlog::fs::StdFileSystem;
            let removed_from = match &existing {
                Some((_, bytes, log)) => {
                    std::fs::write(cuts::cuts_path(&live), bytes).map_err(|source| Error::Io {
                        context: "staging the archive's cut log".into(),
                        source,
                    })?;
                    log.latest().map_or(0, |c| c.cut_seq)
                }
                None => 0,
            };
            let nodes = m
                .start_frontier
                .iter()
                .map(|h| auditlog::merkle::from_hex(h))
                .collect::<Option<Vec<_>>>();
            let frontier = nodes
                .and_then(|n| Frontier::from_parts(m.first_seq, n))
                .expect("check_bundle proved the start frontier");
            let reasons: Vec<&str> = plan.iter().map(|p| p.reason.as_str()).collect();
            let cut = Cut {
                kind: CutKind::Retention,
                removed_from,
                cut_seq: m.first_seq,
                cut_at: now,
                prev_recorded_at: m.prev_recorded_at,
                frontier,
                note: format!(
                    "archived bundles deleted from {} ({})",
                    store.url(),
                    reasons.last().copied().unwrap_or_default()
                ),
                signature: None,
            };
            let cut = cuts::append(&fs, &live, &id, &cut, signer).map_err(|e| Error::Io {
                context: "recording the cut".into(),
                source: std::io::Error::other(e),
            })?;
            let bytes = std::fs::read(cuts::cuts_path(&live)).map_err(|source| Error::Io {
                context: "reading the staged cut log".into(),
                source,
            })?;
            store.put_create(&cuts_key(log_id, cut.cut_seq), &bytes)?;
            cut
        }
    };
    // (2) The head object without the removed bundles, before any of them goes.
    if let Some(mut head) = read_head(store, log_id)? {
        head.bundles.retain(|b| b.first_seq >= cut.cut_seq);
        let json = serde_json::to_vec_pretty(&head).map_err(|e| Error::Io {
            context: "encoding the archive head".into(),
            source: std::io::Error::other(e),
        })?;
        store.put_overwrite(&head_key(log_id), &json)?;
    }
    // (3) The bundles, each manifest first: a bundle cut short is no longer one.
    for p in &plan {
        let folder = format!("{log_id}/{}", p.bundle);
        store.delete(&format!("{folder}/{MANIFEST_NAME}"))?;
        report.deleted_objects += 1;
        for (key, _) in store.list(&folder)? {
            store.delete(&key)?;
            report.deleted_objects += 1;
        }
    }
    report.bundles = plan;
    report.cut = Some(cut);
    Ok(report)
}
