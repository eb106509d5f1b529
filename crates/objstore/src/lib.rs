//! Archiving auditlog segments to S3-compatible object storage (AWS S3, SeaweedFS, Ceph,
//! Garage, ...), and verifying and reading them there.
//!
//! - [`S3Destination`] is the engine's [`ArchiveDestination`](auditlog::lifecycle::ArchiveDestination)
//!   in a bucket: bundles under `PREFIX/<log id>/`, create-only puts, the manifest last.
//! - [`head`] keeps one small object per log naming its bundles and the latest archived tree
//!   head, signed as a checkpoint when the log has a key.
//! - [`verify_archive`] checks every log of a bucket with the auditor's own checks
//!   (`auditlog-verify`) on the fetched bytes.
//! - [`ArchiveReader::prove`] proves an archived record against the archive's signed head,
//!   by range reads.
//! - [`restore_log`] rebuilds a log directory from its archive, every byte checked first.
//!
//! The object layout is part of the on-disk contract: docs/FORMAT.md §10.
//!
//! This crate sits above the engine, so that neither the engine nor the verifier links an
//! HTTP client or an async runtime.

mod destination;
mod error;
pub mod head;
mod proof;
mod read;
mod restore;
mod retention;
mod store;
mod url;
mod verify;

pub use destination::{DEFAULT_PARALLEL_BUNDLES, S3Destination};
pub use error::{Error, Result};
pub use object_store::{BackoffConfig, RetryConfig};
pub use read::{ArchiveReader, ReadStats};
pub use restore::{RestoreOptions, RestoreReport, STAGING_DIR, only_log, restore_log};
pub use retention::{
    ArchiveRetainedOut, ArchiveRetentionPolicy, ArchiveRetentionReport, CUTS_FOLDER,
    apply_archive_retention, cuts_key, plan_archive_retention, read_cut_log,
};
pub use store::{PutOutcome, S3Options, S3Store, default_retry};
pub use url::{Location, S3Url, parse_location};
pub use verify::{
    ArchiveVerdict, ArchiveVerifyOptions, LogListing, LogVerdict, Progress, fetch_bundle,
    fetch_log, list_bundles, list_logs, verify_archive, verify_log,
};
