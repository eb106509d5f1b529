//! Verifying an archive bundle alone (FORMAT.md §10): the manifest, the checksum of every
//! file it lists, and the segment(s) inside, from the tree head at the bundle's start to the
//! one at its end ([`check_bundle`]), and a live log together with the bundles archived from
//! it ([`check_with_bundles`]); [`verify_bundle`] turns the answer into a [`VerifyReport`].

use super::report::{VerifyReport, Warning};
use super::{VerifyOptions, verify};
use crate::bundle_format::{HeadJson, MANIFEST_NAME, Manifest};
use crate::cold;
use crate::cuts::CutKind;
use crate::error::Result;
use crate::error::{Corruption, CorruptionKind};
use crate::merkle::{Frontier, Hash, TreeHead, from_hex};
use crate::segment::name::{parse_cold_segment_file_name, parse_segment_file_name};
use crate::segment::scan::{End, scan};
use std::path::Path;
use std::path::PathBuf;

/// Whether `dir` is an archive bundle rather than a log directory.
pub fn is_bundle(dir: &Path) -> bool {
    dir.join(MANIFEST_NAME).is_file() && !dir.join(crate::meta::META_FILE).exists()
}

/// Checks the bundle in `dir`, and the checkpoint of `options` against the bundle's segment
/// that holds the checkpoint's last record (the way to check a checkpoint whose records
/// retention or archiving removed from the live log).
pub fn verify_bundle(dir: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        ok: false,
        path: dir.to_path_buf(),
        log_id: None,
        first_seq: 0,
        records: 0,
        tree_head: TreeHead::empty(),
        time_range: None,
        segments_checked: 0,
        bytes_checked: 0,
        problems: Vec::new(),
        warnings: Vec::new(),
        checkpoint: None,
    };
    match check_bundle(dir) {
        Ok(summary) => {
            report.first_seq = summary.start.size;
            report.records = summary.end.size - summary.start.size;
            report.tree_head = summary.end;
            report.segments_checked = summary
                .manifest
                .files
                .iter()
                .filter(|f| f.name.ends_with(".seg") || f.name.ends_with(".zseg"))
                .count();
            report.bytes_checked = summary.manifest.files.iter().map(|f| f.size).sum();
            report.log_id = parse_log_id(&summary.manifest.log_id);
            report.warnings.push(Warning {
                file: dir.join(MANIFEST_NAME),
                offset: None,
                message: format!(
                    "archive bundle of records {}..{}: starts at {} and ends at {}; to prove it \
                     belongs to a log, verify the log with its bundles (--bundle)",
                    summary.start.size, summary.end.size, summary.start, summary.end
                ),
            });
            if let Some(cp) = &options.checkpoint {
                check_checkpoint_in_bundle(dir, &summary.manifest, cp, options, &mut report)?;
            }
            report.ok = report.problems.is_empty();
        }
        Err(c) => report.problems.push(c),
    }
    Ok(report)
}

/// Verifies, against `cp`, the one segment of the bundle whose records reach the checkpoint's
/// tree size (its header carries the tree's frontier at its start, so it proves the prefix on
/// its own), and copies the outcome into `report`. Segment files are named by their first
/// sequence number, so that segment is the last one starting at or before the size.
fn check_checkpoint_in_bundle(
    dir: &Path,
    manifest: &Manifest,
    cp: &crate::checkpoint::Checkpoint,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<()> {
    let size = cp.tree_head.size;
    let holder = manifest
        .files
        .iter()
        .filter_map(|f| {
            let first = parse_segment_file_name(&f.name)
                .or_else(|| parse_cold_segment_file_name(&f.name))?;
            Some((first, &f.name))
        })
        .filter(|&(first, _)| first <= size)
        .max_by_key(|&(first, _)| first);
    if let Some((_, name)) = holder {
        let lone = verify(&dir.join(name), options)?;
        if size <= lone.first_seq + lone.records {
            report.checkpoint = lone.checkpoint;
            report.problems.extend(lone.problems);
            return Ok(());
        }
    }
    report.warnings.push(Warning {
        file: dir.join(MANIFEST_NAME),
        offset: None,
        message: format!(
            "the checkpoint (tree size {size}) lies outside this bundle's records {}..{}",
            manifest.first_seq, manifest.end_seq
        ),
    });
    Ok(())
}

/// A log id written as 32 hex digits.
fn parse_log_id(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        id[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(id)
}

/// What the engine knows of the live log whose bundles [`check_with_bundles`] checks.
#[derive(Debug, Clone)]
pub struct LiveLog<'a> {
    /// The log directory (its cut log is read from here).
    pub dir: &'a Path,
    /// The log's id.
    pub log_id: [u8; 16],
    /// The oldest segment still in the directory, if any.
    pub first_segment: Option<FirstSegment>,
}

/// The oldest segment of a live log.
#[derive(Debug, Clone)]
pub struct FirstSegment {
    /// Its file.
    pub path: PathBuf,
    /// The tree head its header starts from.
    pub start: TreeHead,
    /// The tree head its footer ends at, when sealed.
    pub end: Option<TreeHead>,
}

/// What [`check_bundle`] proved about a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundleSummary {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// The tree head before its first record.
    pub start: TreeHead,
    /// The tree head after its last record, recomputed from the records.
    pub end: TreeHead,
}

fn bundle_error(dir: &Path, why: impl Into<String>) -> Corruption {
    Corruption {
        file: dir.join(MANIFEST_NAME),
        offset: 0,
        seq: None,
        kind: CorruptionKind::BadManifest(why.into()),
    }
}

fn head_from_json(dir: &Path, h: &HeadJson) -> Result<TreeHead, Corruption> {
    let root: Hash = from_hex(&h.root)
        .ok_or_else(|| bundle_error(dir, "a tree head root is not 64 hex digits"))?;
    Ok(TreeHead { size: h.size, root })
}

/// Checks a bundle directory alone: the manifest; every file's size and BLAKE3; the segment
/// completely (every record's CRC and order, the Merkle root recomputed from the header's
/// frontier); and that the segment's identity, start frontier and both tree heads equal the
/// manifest's.
pub fn check_bundle(dir: &Path) -> Result<BundleSummary, Corruption> {
    let text = std::fs::read(dir.join(MANIFEST_NAME))
        .map_err(|e| bundle_error(dir, format!("no readable manifest: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bundle_error(dir, format!("manifest is not valid JSON: {e}")))?;
    if manifest.format != "auditlog-bundle" || manifest.version != 1 {
        return Err(bundle_error(dir, "unknown manifest format or version"));
    }
    let mut segment = None;
    for f in &manifest.files {
        if f.name.contains('/') || f.name.starts_with('.') {
            return Err(bundle_error(dir, format!("bad file name {:?}", f.name)));
        }
        let path = dir.join(&f.name);
        let bytes = std::fs::read(&path)
            .map_err(|e| bundle_error(dir, format!("{} is unreadable: {e}", f.name)))?;
        if bytes.len() as u64 != f.size || blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            return Err(Corruption {
                file: path,
                offset: 0,
                seq: None,
                kind: CorruptionKind::DigestMismatch,
            });
        }
        if f.role == "segment" {
            segment = Some((path, bytes));
        }
    }
    let (path, bytes) =
        segment.ok_or_else(|| bundle_error(dir, "the manifest lists no segment"))?;
    let (header, footer) = if parse_cold_segment_file_name(
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default(),
    )
    .is_some()
    {
        // A bundle reports every failure as damage of the bundle (its files were read above).
        let s = cold::check(&path).map_err(|e| match e {
            auditlog_format::Error::Corrupt(c) => *c,
            e => bundle_error(dir, e.to_string()),
        })?;
        (s.header, s.footer)
    } else {
        let outcome = scan(&path, &bytes, &mut |_, _| {})?;
        match outcome.end {
            End::Footer(f) => (outcome.header, f),
            _ => {
                return Err(Corruption {
                    file: path,
                    offset: outcome.records_end,
                    seq: None,
                    kind: CorruptionKind::UnsealedSegment,
                });
            }
        }
    };
    let start = head_from_json(dir, &manifest.start)?;
    let end = head_from_json(dir, &manifest.end)?;
    let frontier: Option<Vec<Hash>> = manifest
        .start_frontier
        .iter()
        .map(|h| from_hex(h))
        .collect();
    let frontier = frontier
        .and_then(|nodes| Frontier::from_parts(manifest.first_seq, nodes))
        .ok_or_else(|| bundle_error(dir, "start_frontier is malformed"))?;
    let log_id = crate::meta::log_id_hex(&header.log_id);
    let agrees = log_id == manifest.log_id
        && header.first_seq == manifest.first_seq
        && header.frontier == frontier
        && header.frontier.tree_head() == start
        && header.prev_recorded_at == manifest.prev_recorded_at
        && footer.tree_head == end
        && end.size == manifest.end_seq
        && footer.first_recorded_at == manifest.first_recorded_at
        && footer.last_recorded_at == manifest.last_recorded_at;
    if !agrees {
        return Err(bundle_error(dir, "the segment does not match the manifest"));
    }
    Ok(BundleSummary {
        manifest,
        start,
        end,
    })
}

/// Checks a live log together with bundles archived from it: each bundle alone
/// ([`check_bundle`]), that they form one chain of tree heads without gaps, that every
/// archive cut of the log's cut log is the end of one of them, and that the live log's first
/// segment continues where the last bundle (or recorded cut) ends. The engine describes the
/// live log it holds open (`auditlog::LogReader::check_with_bundles`).
pub fn check_with_bundles(
    live: &LiveLog<'_>,
    bundle_dirs: &[PathBuf],
) -> Result<Vec<BundleSummary>, Corruption> {
    let summaries = bundle_dirs
        .iter()
        .map(|d| check_bundle(d))
        .collect::<Result<Vec<_>, _>>()?;
    check_chain_of_bundles(live, bundle_dirs, summaries)
}

/// The second half of [`check_with_bundles`], for a caller that ran [`check_bundle`] on each
/// of `bundle_dirs` itself (in parallel, say) and got `summaries`: the chain between the
/// bundles, the archive cuts and the live log's first segment.
pub fn check_chain_of_bundles(
    live: &LiveLog<'_>,
    bundle_dirs: &[PathBuf],
    mut summaries: Vec<BundleSummary>,
) -> Result<Vec<BundleSummary>, Corruption> {
    summaries.sort_by_key(|s| s.start.size);
    let first = live
        .first_segment
        .as_ref()
        .map(|s| (s.start, s.path.clone()));
    let cut_log = crate::cuts::read(live.dir, &live.log_id)
        .map_err(|e| bundle_error(live.dir, format!("unreadable cut log: {e}")))?;
    for pair in summaries.windows(2) {
        if pair[1].start != pair[0].end
            && !retention_bridges(&cut_log.cuts, pair[0].end, pair[1].start)
        {
            return Err(bundle_error(
                &bundle_dir_of(bundle_dirs, &pair[1]),
                format!(
                    "bundle does not continue the previous one ({})",
                    pair[0].end
                ),
            ));
        }
    }
    let log_id = crate::meta::log_id_hex(&live.log_id);
    for s in &summaries {
        if s.manifest.log_id != log_id {
            return Err(bundle_error(
                &bundle_dir_of(bundle_dirs, s),
                "bundle of another log",
            ));
        }
    }
    for cut in &cut_log.cuts {
        let archived = cut.kind == CutKind::Archive;
        if archived && !summaries.iter().any(|s| s.end == cut.tree_head()) {
            return Err(Corruption {
                file: live.dir.join(crate::cuts::CUTS_FILE),
                offset: 0,
                seq: Some(cut.cut_seq),
                kind: CorruptionKind::MissingSegment {
                    first_seq: cut.removed_from,
                },
            });
        }
    }
    // A bundle of the live log's first segment itself is the leftover of an archive run
    // that a crash interrupted before its cut was recorded (the next run reuses it): a
    // copy, not a fork, when it ends where that segment ends.
    let copy_of_first = |start: TreeHead| {
        let first_end = live.first_segment.as_ref().and_then(|s| s.end);
        summaries
            .iter()
            .any(|s| s.start == start && Some(s.end) == first_end)
    };
    if let (Some(last), Some((start, path))) = (summaries.last(), first)
        && last.end.size >= start.size
        && !summaries.iter().any(|s| s.end == start)
        && !copy_of_first(start)
    {
        return Err(Corruption {
            file: path,
            offset: 0,
            seq: Some(start.size),
            kind: CorruptionKind::ChainBroken(
                "the live log does not continue the archived bundles".into(),
            ),
        });
    }
    Ok(summaries)
}

/// Whether retention cuts recorded one after another remove the records between two bundles,
/// from at or before the `end` of one to the `start` of the next: records deleted between two
/// archive runs, or the segment of a bundle that an interrupted archive run left behind and
/// retention deleted later.
fn retention_bridges(cuts: &[crate::cuts::Cut], end: TreeHead, start: TreeHead) -> bool {
    let mut from = None;
    for cut in cuts.iter().skip_while(|c| c.cut_seq <= end.size) {
        let contiguous = from.map_or(cut.removed_from <= end.size, |f| cut.removed_from == f);
        if cut.kind != CutKind::Retention || !contiguous {
            return false;
        }
        if cut.tree_head() == start {
            return true;
        }
        from = Some(cut.cut_seq);
    }
    false
}

fn bundle_dir_of(dirs: &[PathBuf], s: &BundleSummary) -> PathBuf {
    dirs.iter()
        .find(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&format!("{:020}", s.start.size)))
        })
        .cloned()
        .unwrap_or_default()
}
