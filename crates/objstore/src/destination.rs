//! [`S3Destination`]: the engine's archive destination in an S3 bucket.

use crate::error::Error;
use crate::store::{PutOutcome, S3Store};
use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::ArchiveDestination;
use auditlog::lifecycle::archive::{MANIFEST_NAME, Manifest};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::io;
use std::sync::Arc;

/// Archives bundles to `PREFIX/<log id>/<bundle>/<file>` (docs/FORMAT.md §10, "Object
/// layout"). Every object is written with a create-only put: a rerun after an interrupted
/// run finds the objects it already wrote with the same bytes and goes on; an object with
/// other bytes under the same name is an error. The engine puts the manifest last and reads
/// the whole bundle back before it removes the segment.
///
/// After each manifest it updates the log's head object ([`crate::head`]), signed with the
/// key given to [`with_signer`](Self::with_signer).
#[derive(Debug, Clone)]
pub struct S3Destination {
    store: S3Store,
    signer: Option<NoteSigner>,
    parallel: usize,
    /// Logs (hex ids) whose archive start this destination has settled
    /// ([`record_start`](ArchiveDestination::record_start)): the bucket is asked once, not on
    /// every archive run, all of which after the first start above record 0.
    started: Arc<Mutex<HashSet<String>>>,
}

/// Bundles uploaded at once unless [`S3Destination::with_parallel_bundles`] says otherwise:
/// one PUT to an S3-compatible server rarely fills a link, four at a time do on loopback.
pub const DEFAULT_PARALLEL_BUNDLES: usize = 4;

impl S3Destination {
    /// A destination in `store`'s bucket and prefix, with an unsigned head object.
    pub fn new(store: S3Store) -> Self {
        Self::with_signer(store, None)
    }

    /// The same, signing the head object's checkpoint with the log's key (the one that signs
    /// its cuts), so that an auditor can tell a truncated archive from a complete one.
    pub fn with_signer(store: S3Store, signer: Option<NoteSigner>) -> Self {
        S3Destination {
            store,
            signer,
            parallel: DEFAULT_PARALLEL_BUNDLES,
            started: Arc::default(),
        }
    }

    /// Uploads `n` bundles at once (at least 1; default [`DEFAULT_PARALLEL_BUNDLES`]). Their
    /// manifests still go one by one, oldest first, each after its bundle's other objects.
    pub fn with_parallel_bundles(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S3Store {
        &self.store
    }

    /// The object key (relative to the prefix) of `name` = `bundle/file`, where a bundle is
    /// named `<log id hex>-<first seq>`: `<log id hex>/<bundle>/<file>`.
    pub fn key_of(name: &str) -> io::Result<String> {
        let (bundle, file) = name.split_once('/').unwrap_or((name, ""));
        let log_id = bundle.split_once('-').map(|(id, _)| id).unwrap_or_default();
        let is_hex = log_id.len() == 32 && log_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_hex || file.is_empty() || file.contains('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not <log id>-<seq>/<file>"),
            ));
        }
        Ok(format!("{log_id}/{bundle}/{file}"))
    }

    /// The URL of bundle `bundle`'s folder.
    pub fn bundle_url(&self, bundle: &str) -> String {
        let log_id = bundle.split_once('-').map(|(id, _)| id).unwrap_or_default();
        self.store.describe_key(&format!("{log_id}/{bundle}/"))
    }
}

fn to_io(e: Error) -> io::Error {
    let kind = match &e {
        Error::AccessDenied { .. } => io::ErrorKind::PermissionDenied,
        Error::NoSuchBucket { .. } => io::ErrorKind::NotFound,
        Error::Store {
            source: object_store::Error::AlreadyExists { .. },
            ..
        } => io::ErrorKind::AlreadyExists,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

impl ArchiveDestination for S3Destination {
    fn describe(&self) -> String {
        self.store.url().to_string()
    }

    fn put(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let key = Self::key_of(name)?;
        match self.store.put_create(&key, bytes).map_err(to_io)? {
            PutOutcome::Created | PutOutcome::AlreadyThere => {}
        }
        if name.ends_with(&format!("/{MANIFEST_NAME}")) {
            let manifest: Manifest = serde_json::from_slice(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            crate::head::record_bundle(&self.store, &manifest, self.signer.as_ref())
                .map_err(to_io)?;
        }
        Ok(())
    }

    fn parallel_bundles(&self) -> usize {
        self.parallel
    }

    fn wants_cold(&self) -> bool {
        true
    }

    /// The first bundle of an archive that starts above record 0: the live log's cut log up to
    /// the cut at `first_seq` becomes the archive's cut log (`cuts/<first_seq>.log`, the same
    /// object retention in the bucket writes), so that `verify s3://` explains the missing
    /// records from the bucket alone. Only when the bucket has neither a cut log nor a bundle
    /// of this log yet: later bundles continue the ones there.
    fn record_start(&self, log_id: &[u8; 16], first_seq: u64, cut_log: &[u8]) -> io::Result<()> {
        let hex = crate::head::log_id_hex(log_id);
        if self.started.lock().contains(&hex) {
            return Ok(());
        }
        let before = |b: &String| {
            b.rsplit('-')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|f| f < first_seq)
        };
        let has_start = crate::retention::read_cut_log(&self.store, &hex)
            .map_err(to_io)?
            .is_some()
            || crate::verify::list_bundles(&self.store, &hex)
                .map_err(to_io)?
                .bundles
                .iter()
                .any(before);
        if !has_start {
            self.store
                .put_create(&crate::retention::cuts_key(&hex, first_seq), cut_log)
                .map_err(to_io)?;
        }
        self.started.lock().insert(hex);
        Ok(())
    }

    fn exists(&self, name: &str) -> io::Result<bool> {
        let key = Self::key_of(name)?;
        let there = self.store.exists(&key).map_err(to_io)?;
        if there && name.ends_with(&format!("/{MANIFEST_NAME}")) {
            // A complete bundle met again: a run stopped between its manifest and the head
            // update. The head lists it before the engine goes on (readers take their list
            // of bundles from the head).
            let manifest: Manifest = serde_json::from_slice(&self.get(name)?)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let listed = crate::head::read_head(&self.store, &manifest.log_id)
                .ok()
                .flatten()
                .is_some_and(|h| h.bundles.iter().any(|b| b.first_seq == manifest.first_seq));
            if !listed {
                crate::head::record_bundle(&self.store, &manifest, self.signer.as_ref())
                    .map_err(to_io)?;
            }
        }
        Ok(there)
    }

    fn get(&self, name: &str) -> io::Result<Vec<u8>> {
        let key = Self::key_of(name)?;
        self.store.get(&key).map_err(to_io)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is not there", self.store.describe_key(&key)),
            )
        })
    }
}
