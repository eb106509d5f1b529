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
