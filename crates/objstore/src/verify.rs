//! Verifying an archive in a bucket: every log under the prefix, every bundle of each, with
//! the auditor's own checks. Bundles are fetched into a scratch directory and checked by
//! `auditlog_verify` exactly as local bundles are ([`auditlog_verify::check_with_bundles`]:
//! each bundle alone, then one unbroken chain of tree heads); this module adds only what a
//! bucket has and a directory has not: listing, the head object, and uploads that an
//! interrupted run left without a manifest (which are not bundles).

use crate::error::{Error, Result};
use crate::head::{ArchiveHead, HEAD_NAME, parse_log_id, read_head, tree_head};
use crate::retention::read_cut_log;
use crate::store::S3Store;
use auditlog::checkpoint::{Checkpoint, NoteVerifier, origin_of};
use auditlog::fs::FileSystem;
use auditlog::lifecycle::BundleSummary;
use auditlog::lifecycle::archive::{MANIFEST_NAME, Manifest};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Objects fetched at once.
const PARALLEL_GETS: usize = 8;

/// What is in one log's folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogListing {
    /// Bundles with a manifest, by name (so by first sequence number).
    pub bundles: Vec<String>,
    /// Bundle folders without a manifest: an upload that was interrupted (a rerun of
    /// `archive` completes it). Never checked as bundles.
    pub incomplete: Vec<String>,
}

/// The logs archived under the store's prefix: folders named by a 32-hex-digit log id.
pub fn list_logs(store: &S3Store) -> Result<Vec<String>> {
    Ok(store
        .list_folders("")?
        .into_iter()
        .filter(|f| parse_log_id(f).is_some())
        .collect())
}

/// The bundles of log `log_id`.
pub fn list_bundles(store: &S3Store, log_id: &str) -> Result<LogListing> {
    let mut folders: BTreeMap<String, bool> = BTreeMap::new();
    for (key, _) in store.list(log_id)? {
        let mut parts = key.split('/');
        let (Some(_), Some(bundle), Some(file), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !bundle.starts_with(&format!("{log_id}-")) {
            continue;
        }
        *folders.entry(bundle.to_string()).or_default() |= file == MANIFEST_NAME;
    }
    let mut listing = LogListing::default();
    for (bundle, complete) in folders {
        if complete {
            listing.bundles.push(bundle);
        } else {
            listing.incomplete.push(bundle);
        }
    }
    Ok(listing)
}

/// Downloads bundle `bundle` of `log_id` into `into/<bundle>/`: its manifest as stored, and
/// every file the manifest lists whose name is a plain file name (the checks refuse the
/// others). Returns the bundle's directory and the bytes fetched.
pub fn fetch_bundle(
    store: &S3Store,
    log_id: &str,
    bundle: &str,
    into: &Path,
) -> Result<(PathBuf, u64)> {
    let (dirs, bytes) = fetch_bundles(
        store,
        log_id,
        &[bundle.to_string()],
        into,
        None,
        &mut |_| {},
    )?;
    Ok((dirs.into_iter().next().unwrap_or_default(), bytes))
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Writes `bytes` to the new file `path`: through `fs`, synced, when given (a restore, whose
/// files become a log); else plainly (scratch space of a verification).
pub(crate) fn write_new(fs: Option<&dyn FileSystem>, path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    match fs {
        None => std::fs::write(path, bytes).map_err(failed),
        Some(fs) => fs
            .create_new(path)
            .and_then(|mut file| {
                file.write_all_at(bytes, 0)?;
                file.sync_data()
            })
            .map_err(failed),
    }
}

/// Downloads several bundles of `log_id` into `into/<bundle>/`, all objects with up to
/// [`PARALLEL_GETS`] requests in flight, and calls `done(i)` as soon as every object of
/// bundle `i` is written (so that checking it overlaps the download of the next ones).
/// Returns the bundles' directories and the bytes.
pub(crate) fn fetch_bundles(
    store: &S3Store,
    log_id: &str,
    bundles: &[String],
    into: &Path,
    fs: Option<&dyn FileSystem>,
    done: &mut dyn FnMut(usize),
) -> Result<(Vec<PathBuf>, u64)> {
    let dirs: Vec<PathBuf> = bundles.iter().map(|b| into.join(b)).collect();
    for dir in &dirs {
        match fs {
            None => std::fs::create_dir_all(dir),
            Some(fs) => fs.create_dir_all(dir),
        }
        .map_err(io_error(format!("creating {}", dir.display())))?;
    }
    let manifest_keys: Vec<String> = bundles
        .iter()
        .map(|b| format!("{log_id}/{b}/{MANIFEST_NAME}"))
        .collect();
    let mut fetched = 0u64;
    // (key, file to write, bundle)
    let mut files: Vec<(String, PathBuf, usize)> = Vec::new();
    store.get_each(&manifest_keys, PARALLEL_GETS, &mut |i, bytes| {
        let bytes = bytes.unwrap_or_default();
        fetched += bytes.len() as u64;
        let dir = &dirs[i];
        write_new(fs, &dir.join(MANIFEST_NAME), &bytes)?;
        let names: Vec<String> = serde_json::from_slice::<Manifest>(&bytes)
            .map(|m| m.files.into_iter().map(|f| f.name).collect::<Vec<_>>())
            .unwrap_or_default();
        for name in names.into_iter().filter(|n| is_plain_name(n)) {
            files.push((format!("{log_id}/{}/{name}", bundles[i]), dir.join(name), i));
        }
        Ok(())
    })?;
    // A bundle is complete when its last object is in (keys are grouped by bundle).
    let mut last_of: Vec<Option<usize>> = vec![None; bundles.len()];
    for (k, (_, _, b)) in files.iter().enumerate() {
        last_of[*b] = Some(k);
    }
    let mut next_done = 0;
    let mut finish_until = |upto: usize, done: &mut dyn FnMut(usize)| {
        while next_done < bundles.len() && last_of[next_done].is_none_or(|k| k < upto) {
            done(next_done);
            next_done += 1;
        }
    };
    finish_until(0, done);
    let keys: Vec<String> = files.iter().map(|(k, _, _)| k.clone()).collect();
    store.get_each(&keys, PARALLEL_GETS, &mut |i, bytes| {
        // A missing object stays missing here, and the bundle check reports it.
        if let Some(bytes) = bytes {
            fetched += bytes.len() as u64;
            write_new(fs, &files[i].1, &bytes)?;
        }
        finish_until(i + 1, done);
        Ok(())
    })?;
    finish_until(usize::MAX, done);
    Ok((dirs, fetched))
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name != MANIFEST_NAME
}

/// Downloads every bundle of `log_id` into `into`, in name order.
pub fn fetch_log(
    store: &S3Store,
    log_id: &str,
    into: &Path,
) -> Result<(Vec<PathBuf>, LogListing, u64)> {
    let listing = list_bundles(store, log_id)?;
    let (dirs, bytes) = fetch_bundles(store, log_id, &listing.bundles, into, None, &mut |_| {})?;
    Ok((dirs, listing, bytes))
}

/// What checking one log's archive found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogVerdict {
    /// The log id (32 hex digits).
    pub log_id: String,
    /// Where its folder is.
    pub url: String,
    /// The bundles proved, oldest first (empty when `problems` is not).
    pub bundles: Vec<BundleSummary>,
    /// Damage: a bundle that fails its checks, a broken chain, a head that names what is
    /// not there or whose signature fails.
    pub problems: Vec<String>,
    /// Things worth knowing that are not damage (interrupted uploads, an unsigned head).
    pub warnings: Vec<String>,
    /// Bytes fetched.
    pub bytes: u64,
}

impl LogVerdict {
    /// Whether the log's archive verified.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`verify_archive`] found, per log.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ArchiveVerdict {
    /// The bucket and prefix.
    pub url: String,
    /// One verdict per log, by log id.
    pub logs: Vec<LogVerdict>,
}

impl ArchiveVerdict {
    /// Whether every log verified (and there was at least one).
    pub fn ok(&self) -> bool {
        !self.logs.is_empty() && self.logs.iter().all(LogVerdict::ok)
    }
}

/// Called with each log's verdict, the number of logs done and the number of logs.
pub type Progress = dyn Fn(&LogVerdict, usize, usize) + Sync;

/// How [`verify_archive`] runs.
#[derive(Default)]
pub struct ArchiveVerifyOptions<'a> {
    /// The logs' public key: the head objects' checkpoints must be signed with it.
    pub public_key: Option<&'a NoteVerifier>,
    /// Logs checked at once (0: two).
    pub threads: usize,
    /// Threads checking one log's bundles (0: one per core).
    pub check_threads: usize,
    /// Scratch space for fetched bundles (default: the system's temporary directory). One
    /// log's bundles are there at a time per thread.
    pub scratch: Option<PathBuf>,
    /// Called as each log finishes.
    pub progress: Option<&'a Progress>,
}

impl fmt::Debug for ArchiveVerifyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveVerifyOptions")
            .field("public_key", &self.public_key.is_some())
            .field("threads", &self.threads)
            .field("check_threads", &self.check_threads)
            .field("scratch", &self.scratch)
            .finish_non_exhaustive()
    }
}

/// Verifies every log archived under the store's prefix.
pub fn verify_archive(
    store: &S3Store,
    options: &ArchiveVerifyOptions<'_>,
) -> Result<ArchiveVerdict> {
    let logs = list_logs(store)?;
    let threads = if options.threads == 0 {
        2
    } else {
        options.threads
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = parking_lot::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(logs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(log_id) = logs.get(i) else { break };
                    let verdict = verify_log(store, log_id, options);
                    if let (Ok(v), Some(progress)) = (&verdict, options.progress) {
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(v, n, logs.len());
                    }
                    results.lock().push(verdict);
                }
            });
        }
    });
    let mut verdicts = results
        .into_inner()
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    verdicts.sort_by(|a, b| a.log_id.cmp(&b.log_id));
    Ok(ArchiveVerdict {
        url: store.url().to_string(),
        logs: verdicts,
    })
}

/// Verifies one log's archive: fetches its bundles, checks them with
/// [`auditlog_verify::check_with_bundles`] (no live log: an empty directory with no cut
/// log and no segment), then checks the head object against what they proved.
pub fn verify_log(
    store: &S3Store,
    log_id: &str,
    options: &ArchiveVerifyOptions<'_>,
) -> Result<LogVerdict> {
    let scratch = match &options.scratch {
        Some(dir) => tempfile::Builder::new()
            .prefix("auditlog-verify-")
            .tempdir_in(dir),
        None => tempfile::Builder::new()
            .prefix("auditlog-verify-")
            .tempdir(),
    }
    .map_err(|source| Error::Io {
        context: "creating a scratch directory for fetched bundles".into(),
        source,
    })?;
    Ok(fetch_and_check(
        store,
        log_id,
        options,
        scratch.path(),
        None,
        Start::MustBeExplained,
    )?
    .verdict)
}

/// What [`fetch_and_check`] makes of an archive without a cut log whose first bundle starts
/// above record 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Damage (`verify s3://`): nothing in the bucket explains the missing records, as when
    /// its cut objects were deleted. `verify DIR --archive` checks such an archive against
    /// the live log's cut log instead.
    MustBeExplained,
    /// A warning (restore): the restored log gets a retention cut at the first bundle.
    MayBeUnexplained,
}

/// What [`fetch_and_check`] fetched and found.
pub(crate) struct Checked {
    pub verdict: LogVerdict,
    /// The directories of the bundles checked, oldest first.
    pub dirs: Vec<PathBuf>,
    /// The archive's cut log (docs/FORMAT.md §9 bytes), when retention ran in the bucket.
    pub cut_log: Option<Vec<u8>>,
}

/// Fetches the bundles of `log_id` into `scratch/bundles/<bundle>/` (through `fs` when given)
/// and checks them: each bundle alone as soon as its objects are in (on
/// `options.check_threads` threads, while the next bundles download), then the chain, then
/// the head object. Bundles below the archive's newest cut (retention in the bucket cut
/// short) are left out; the first bundle must start at that cut.
pub(crate) fn fetch_and_check(
    store: &S3Store,
    log_id: &str,
    options: &ArchiveVerifyOptions<'_>,
    scratch: &Path,
    fs: Option<&dyn FileSystem>,
    start: Start,
) -> Result<Checked> {
    let bundles_dir = scratch.join("bundles");
    let live_dir = scratch.join("live");
    for d in [&bundles_dir, &live_dir] {
        std::fs::create_dir_all(d).map_err(|source| Error::Io {
            context: format!("creating {}", d.display()),
            source,
        })?;
    }
    let url = store.describe_key(&format!("{log_id}/"));
    let mut listing = list_bundles(store, log_id)?;
    let mut verdict = LogVerdict {
        log_id: log_id.to_string(),
        url: url.clone(),
        bundles: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        bytes: 0,
    };
    for bundle in &listing.incomplete {
        verdict.warnings.push(format!(
            "{bundle}: objects without a manifest (an interrupted upload, not a bundle; \
             rerunning archive completes it)"
        ));
    }
    let id = parse_log_id(log_id).unwrap_or_default();
    let cut_log = match read_cut_log(store, log_id) {
        Ok(c) => c,
        Err(Error::ArchiveDamaged { problem, .. }) => {
            verdict.problems.push(problem);
            None
        }
        Err(e) => return Err(e),
    };
    let newest_cut = cut_log
        .as_ref()
        .and_then(|(_, _, log)| log.latest().cloned());
    if let Some(cut) = &newest_cut {
        let first_of = |b: &String| b.rsplit('-').next().and_then(|n| n.parse::<u64>().ok());
        let (below, kept): (Vec<String>, Vec<String>) = listing
            .bundles
            .drain(..)
            .partition(|b| first_of(b).is_some_and(|f| f < cut.cut_seq));
        for bundle in &below {
            verdict.warnings.push(format!(
                "{bundle}: below the archive's cut at {} (left by a retention run cut short; \
                 the next run deletes it); not checked",
                cut.cut_seq
            ));
        }
        listing.bundles = kept;
    }
    if let Some((key, bytes, _)) = &cut_log {
        std::fs::write(live_dir.join(auditlog_format::cuts::CUTS_FILE), bytes).map_err(
            |source| Error::Io {
                context: format!("staging {}", store.describe_key(key)),
                source,
            },
        )?;
    }
    if listing.bundles.is_empty() {
        verdict.problems.push("no bundle with a manifest".into());
        return Ok(Checked {
            verdict,
            dirs: Vec::new(),
            cut_log: None,
        });
    }
    let dirs: Vec<PathBuf> = listing
        .bundles
        .iter()
        .map(|b| bundles_dir.join(b))
        .collect();
    let threads = match options.check_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(dirs.len());
    // Each bundle alone, on every core (the checks are CPU-bound) and while the next
    // bundles download, then the chain: the same two halves as check_with_bundles.
    let (send, receive) = std::sync::mpsc::channel::<usize>();
    let receive = parking_lot::Mutex::new(receive);
    let results = parking_lot::Mutex::new(Vec::with_capacity(dirs.len()));
    let fetched = std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let next = receive.lock().recv();
                    let Ok(i) = next else { break };
                    let checked = auditlog_verify::check_bundle(&dirs[i]);
                    results.lock().push((i, checked));
                }
            });
        }
        let fetched = fetch_bundles(
            store,
            log_id,
            &listing.bundles,
            &bundles_dir,
            fs,
            &mut |i| {
                let _ = send.send(i);
            },
        );
        drop(send);
        fetched
    });
    let (_, bytes) = fetched?;
    verdict.bytes = bytes;
    let mut results = results.into_inner();
    results.sort_by_key(|(i, _)| *i);
    let live = auditlog_verify::bundle::LiveLog {
        dir: &live_dir,
        log_id: id,
        first_segment: None,
    };
    let local = bundles_dir.display().to_string();
    let checked = results
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|summaries| {
            auditlog_verify::bundle::check_chain_of_bundles(&live, &dirs, summaries)
        });
    match checked {
        Ok(summaries) => verdict.bundles = summaries,
        Err(c) => verdict
            .problems
            .push(c.to_string().replace(&local, url.trim_end_matches('/'))),
    }
    if verdict.problems.is_empty() {
        match &cut_log {
            Some((key, _, log)) => check_cuts(&mut verdict, key, log, &id, options.public_key),
            None => {
                let first = verdict.bundles.first().map_or(0, |b| b.start.size);
                match start {
                    _ if first == 0 => {}
                    Start::MustBeExplained => verdict.problems.push(format!(
                        "{}: records 0..{first} are not in the archive and no cut in it \
                         explains their removal (were its cuts/ objects deleted?); if \
                         retention removed them from the live log before archiving, \
                         `auditlog verify DIR --archive URL` checks them against its cut log",
                        listing.bundles[0]
                    )),
                    Start::MayBeUnexplained => verdict.warnings.push(format!(
                        "the archive starts at record {first}, and no cut in it records the \
                         removal of records 0..{first} (they may have been removed from the \
                         live log before archiving: its cut log says)"
                    )),
                }
            }
        }
    }
    if verdict.problems.is_empty() {
        let head = read_head(store, log_id);
        check_head(&mut verdict, head, &id, options.public_key);
    }
    Ok(Checked {
        verdict,
        dirs,
        cut_log: cut_log.map(|(_, bytes, _)| bytes),
    })
}

/// The archive's cut log against the bundles proved: the first bundle starts exactly at the
/// newest cut (tree head, frontier and the time of the record before), the cuts are in order,
/// and with the public key every cut is signed by it (docs/FORMAT.md §9, "Authentication").
fn check_cuts(
    verdict: &mut LogVerdict,
    key_name: &str,
    log: &auditlog_format::cuts::CutLog,
    log_id: &[u8; 16],
    key: Option<&NoteVerifier>,
) {
    let object = key_name.rsplit('/').next().unwrap_or(key_name).to_string();
    if let Some((offset, why)) = &log.damaged {
        verdict.problems.push(format!(
            "cuts/{object}: a damaged cut record at byte {offset}: {why}"
        ));
    }
    for (i, why) in auditlog_format::cuts::note::order_problems(log) {
        let c = &log.cuts[i];
        verdict.problems.push(format!(
            "cuts/{object}: the cut of records {}..{}: {why}",
            c.removed_from, c.cut_seq
        ));
    }
    let Some(newest) = log.latest() else { return };
    let first = &verdict.bundles[0].manifest;
    let frontier: Vec<String> = newest
        .frontier
        .nodes()
        .iter()
        .map(auditlog::merkle::to_hex)
        .collect();
    if first.first_seq != newest.cut_seq
        || first.start_frontier != frontier
        || first.prev_recorded_at != newest.prev_recorded_at
    {
        verdict.problems.push(format!(
            "the first bundle (records {}..{}) does not start at the archive's newest cut \
             ({}): records between them are missing",
            first.first_seq, first.end_seq, newest.cut_seq
        ));
    }
    for cut in &log.cuts {
        verdict.warnings.push(cut.to_string());
        if let Some(key) = key
            && let Err(why) = cut.check_signature(key, log_id)
        {
            verdict.problems.push(format!(
                "the cut of records {}..{}: {why}; nothing proves retention removed them \
                 rather than a deletion",
                cut.removed_from, cut.cut_seq
            ));
        }
    }
    if key.is_none() {
        verdict.warnings.push(format!(
            "the removal of records 0..{} is unauthenticated without --public-key",
            newest.cut_seq
        ));
    }
}

/// Compares the head object with the bundles proved.
fn check_head(
    verdict: &mut LogVerdict,
    head: Result<Option<ArchiveHead>>,
    log_id: &[u8; 16],
    key: Option<&NoteVerifier>,
) {
    let head = match head {
        Ok(Some(h)) => h,
        Ok(None) if key.is_some() => {
            verdict.problems.push(format!(
                "no {HEAD_NAME}: nothing signed shows how far the archive reaches"
            ));
            return;
        }
        Ok(None) => {
            verdict
                .warnings
                .push(format!("no {HEAD_NAME} (the bundles were listed instead)"));
            return;
        }
        Err(e) => {
            verdict
                .problems
                .push(format!("{HEAD_NAME} is unreadable: {e}"));
            return;
        }
    };
    for b in &verdict.bundles {
        if !head.bundles.iter().any(|h| h.first_seq == b.start.size) {
            verdict.warnings.push(format!(
                "{HEAD_NAME} does not list the bundle of records {}..{} (an archive run stopped \
                 before updating it; the next run adds it): readers that go by the head miss it",
                b.start.size, b.end.size
            ));
        }
    }
    let ends: Vec<_> = verdict.bundles.iter().map(|b| b.end).collect();
    let last = *ends.last().expect("at least one bundle was proved");
    for b in &head.bundles {
        if !verdict
            .bundles
            .iter()
            .any(|s| s.start.size == b.first_seq && s.end.size == b.end_seq)
        {
            verdict.problems.push(format!(
                "{HEAD_NAME} lists bundle {} (records {}..{}) that is not in the archive",
                b.name, b.first_seq, b.end_seq
            ));
        }
    }
    match tree_head(&head.end) {
        Some(end) if end == last => {}
        Some(end) if ends.contains(&end) => verdict.warnings.push(format!(
            "{HEAD_NAME} ends at {end}, before the newest bundle (an archive run stopped \
             before updating it)"
        )),
        _ => verdict.problems.push(format!(
            "{HEAD_NAME} ends at tree size {}, which no bundle ends at",
            head.end.size
        )),
    }
    match (&head.checkpoint, key) {
        (Some(note), Some(key)) => match Checkpoint::open(note, key) {
            Ok(cp) if cp.origin != origin_of(log_id) => verdict.problems.push(format!(
                "{HEAD_NAME}'s checkpoint is of another log ({})",
                cp.origin
            )),
            Ok(cp) if !ends.contains(&cp.tree_head) => verdict.problems.push(format!(
                "{HEAD_NAME}'s checkpoint vouches for {}, which no bundle ends at",
                cp.tree_head
            )),
            Ok(cp) if cp.tree_head != last => verdict.warnings.push(format!(
                "{HEAD_NAME}'s signed checkpoint is of {}, before the newest bundle",
                cp.tree_head
            )),
            Ok(_) => {}
            Err(e) => verdict
                .problems
                .push(format!("{HEAD_NAME}'s checkpoint does not verify: {e}")),
        },
        (None, Some(_)) => verdict.problems.push(format!(
            "{HEAD_NAME} is not signed, so nothing proves the archive was not cut short"
        )),
        (Some(_), None) => verdict.warnings.push(format!(
            "{HEAD_NAME} is signed; give the public key to check it"
        )),
        (None, None) => verdict.warnings.push(format!(
            "{HEAD_NAME} is not signed: nothing here proves no newer bundle was removed \
             (archive with --key, verify with --public-key)"
        )),
    }
}

impl fmt::Display for LogVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ok() {
            let (first, last) = (self.bundles.first(), self.bundles.last());
            writeln!(
                f,
                "log {}: OK, {} bundle(s), records {}..{}, ends at {}",
                self.log_id,
                self.bundles.len(),
                first.map_or(0, |b| b.start.size),
                last.map_or(0, |b| b.end.size),
                last.map_or_else(String::new, |b| b.end.to_string()),
            )?;
        } else {
            writeln!(f, "log {}: FAILED ({})", self.log_id, self.url)?;
        }
        for p in &self.problems {
            writeln!(f, "  problem: {p}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ArchiveVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for log in &self.logs {
            write!(f, "{log}")?;
        }
        let bad = self.logs.iter().filter(|l| !l.ok()).count();
        if self.logs.is_empty() {
            writeln!(f, "{}: no archived log found", self.url)
        } else if bad == 0 {
            writeln!(f, "{}: {} log(s) verified", self.url, self.logs.len())
        } else {
            writeln!(
                f,
                "{}: {bad} of {} log(s) FAILED",
                self.url,
                self.logs.len()
            )
        }
    }
}
