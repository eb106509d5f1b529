//! `auditlog verify s3://BUCKET/PREFIX`: every log archived there, and the fetching behind
//! `verify DIR --archive s3://...`.

use super::CliError;
use super::s3::{S3Args, store_failed};
use auditlog_objstore::{ArchiveVerifyOptions, LogVerdict, S3Url, fetch_log as fetch, head};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// What `verify` was asked, for an archive in object storage.
#[derive(Debug)]
pub struct Request<'a> {
    pub s3: &'a S3Args,
    pub public_key: Option<&'a PathBuf>,
    pub json: bool,
    pub threads: usize,
    /// --checkpoint, --bundle or --archive were given, which name one live log.
    pub conflicting: bool,
}

pub fn run(request: &Request<'_>, url: &S3Url) -> Result<(), CliError> {
    if request.conflicting {
        return Err(CliError::Usage(format!(
            "{url} is an archive of possibly many logs: --checkpoint, --bundle and --archive \
             go with a log directory"
        )));
    }
    let verifier = match request.public_key {
        Some(path) => Some(super::verify::read_verifier(path)?),
        None => None,
    };
    let store = request.s3.connect(url)?;
    let progress = |v: &LogVerdict, done: usize, total: usize| {
        eprintln!(
            "verified {done}/{total}: log {} {} ({} MiB)",
            v.log_id,
            if v.ok() { "OK" } else { "FAILED" },
            v.bytes >> 20
        );
    };
    let options = ArchiveVerifyOptions {
        public_key: verifier.as_ref(),
        threads: request.threads,
        progress: std::io::stderr()
            .is_terminal()
            .then_some(&progress as &(dyn Fn(&LogVerdict, usize, usize) + Sync)),
        ..ArchiveVerifyOptions::default()
    };
    let verdict = auditlog_objstore::verify_archive(&store, &options).map_err(store_failed)?;
    if request.json {
        let logs: Vec<serde_json::Value> = verdict
            .logs
            .iter()
            .map(|l| {
                serde_json::json!({
                    "log_id": l.log_id,
                    "url": l.url,
                    "ok": l.ok(),
                    "bundles": l.bundles.len(),
                    "first_seq": l.bundles.first().map(|b| b.start.size),
                    "end": l.bundles.last().map(|b| serde_json::json!({
                        "size": b.end.size,
                        "root": auditlog::merkle::to_hex(&b.end.root),
                    })),
                    "problems": l.problems,
                    "warnings": l.warnings,
                    "bytes_fetched": l.bytes,
                })
            })
            .collect();
        println!(
            "{:#}",
            serde_json::json!({ "url": verdict.url, "ok": verdict.ok(), "logs": logs })
        );
    } else {
        print!("{verdict}");
    }
    if verdict.logs.is_empty() {
        return Err(CliError::Damage(format!("{url} holds no archived log")));
    }
    if !verdict.ok() {
        let bad = verdict.logs.iter().filter(|l| !l.ok()).count();
        return Err(CliError::Damage(format!(
            "{bad} archived log(s) failed verification"
        )));
    }
    Ok(())
}

/// Fetches every bundle of log `log_id` from `url` into a new scratch directory.
pub fn fetch_log(
    s3: &S3Args,
    url: &S3Url,
    log_id: &[u8; 16],
) -> Result<(tempfile::TempDir, Vec<PathBuf>), CliError> {
    let store = s3.connect(url)?;
    let scratch = tempfile::Builder::new()
        .prefix("auditlog-archive-")
        .tempdir()
        .map_err(|e| {
            CliError::Failed(auditlog::Error::Io {
                context: "creating a scratch directory for fetched bundles".into(),
                source: e,
            })
        })?;
    let (dirs, listing, _) =
        fetch(&store, &head::log_id_hex(log_id), scratch.path()).map_err(store_failed)?;
    for bundle in &listing.incomplete {
        eprintln!(
            "auditlog: note: {url}/{}/{bundle} has no manifest (an interrupted upload, not a \
             bundle; rerunning archive completes it)",
            head::log_id_hex(log_id)
        );
    }
    Ok((scratch, dirs))
}

/// A message about fetched files, with the scratch directory replaced by the archive's URL.
pub fn local_to_url(text: &str, scratch: &Path, url: &str) -> String {
    text.replace(&scratch.display().to_string(), url.trim_end_matches('/'))
}

/// `verify DIR --archive URL` when retention ran in the bucket (it has a cut log): the
/// archive alone must verify (bundles, chain, its cut log against its first bundle, the
/// head), every archive cut of the live log above the bucket's newest cut must be the end
/// of a bundle there, and the live log must start at a bundle's end. `None` when the bucket
/// has no cut log (the caller checks the bundles with the live log as usual).
pub fn check_live_after_retention(
    s3: &S3Args,
    url: &S3Url,
    log: &auditlog::ReadOnlyLog,
    public_key: Option<&PathBuf>,
) -> Result<Option<String>, CliError> {
    let store = s3.connect(url)?;
    let hex = head::log_id_hex(&log.log_id());
    let Some((_, _, bucket_cuts)) =
        auditlog_objstore::read_cut_log(&store, &hex).map_err(store_failed)?
    else {
        return Ok(None);
    };
    let verifier = match public_key {
        Some(path) => Some(super::verify::read_verifier(path)?),
        None => None,
    };
    let options = ArchiveVerifyOptions {
        public_key: verifier.as_ref(),
        ..ArchiveVerifyOptions::default()
    };
    let verdict = auditlog_objstore::verify_log(&store, &hex, &options).map_err(store_failed)?;
    print!("{verdict}");
    if !verdict.ok() {
        return Err(CliError::Damage(format!(
            "the archive of log {hex} at {url} does not verify"
        )));
    }
    let live_cuts = auditlog_format::cuts::read(log.dir(), &log.log_id())?;
    let cut_seq = bucket_cuts.latest().map_or(0, |c| c.cut_seq);
    let ends: Vec<auditlog::TreeHead> = verdict.bundles.iter().map(|b| b.end).collect();
    for cut in &live_cuts.cuts {
        let archived = cut.kind == auditlog_format::cuts::CutKind::Archive;
        if archived && cut.cut_seq > cut_seq && !ends.contains(&cut.tree_head()) {
            return Err(CliError::Damage(format!(
                "the live log archived records {}..{} to a bundle that is not in {url}",
                cut.removed_from, cut.cut_seq
            )));
        }
    }
    let start = live_cuts.latest().map(|c| c.tree_head());
    let last = ends.last().copied().unwrap_or(auditlog::TreeHead::empty());
    if let Some(start) = start
        && last.size >= start.size
        && !ends.contains(&start)
        && !verdict.bundles.iter().any(|b| b.start == start)
    {
        return Err(CliError::Damage(format!(
            "the live log (from record {}) does not continue the archived bundles",
            start.size
        )));
    }
    Ok(Some(format!(
        "the archive (records {cut_seq}..{}, after retention in the bucket) and the live log \
         form one chain of tree heads",
        last.size
    )))
}
