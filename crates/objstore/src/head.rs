//! The archive head: one small object per log, `<log id>/head.json`, naming its bundles and
//! the latest archived tree head, signed as a checkpoint when the log has a key. Tools list
//! logs and bundles from it without scanning; it is the one object that is overwritten, so
//! it is written after the manifest it adds, and a verifier trusts only what it can check
//! (the bundles themselves, and the signature with the log's public key).

use crate::error::{Error, Result};
use crate::store::S3Store;
use auditlog::Timestamp;
use auditlog::checkpoint::{Checkpoint, NoteSigner, origin_of};
use auditlog::lifecycle::archive::{HeadJson, Manifest};
use auditlog::merkle::TreeHead;
use serde::{Deserialize, Serialize};

/// The head object's name inside a log's folder.
pub const HEAD_NAME: &str = "head.json";

/// One bundle, as the head lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadBundle {
    /// The bundle's name (`<log id>-<first seq, 20 digits>`).
    pub name: String,
    /// Its first sequence number.
    pub first_seq: u64,
    /// One past its last.
    pub end_seq: u64,
}

/// `<log id>/head.json` (docs/FORMAT.md §10, "Object layout").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveHead {
    /// Always `auditlog-archive-head`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// The log's id, 32 hex digits.
    pub log_id: String,
    /// Every bundle archived, by first sequence number.
    pub bundles: Vec<HeadBundle>,
    /// The tree head at the end of the newest bundle.
    pub end: HeadJson,
    /// A signed checkpoint (C2SP signed note) of `end`, when the archiving log had a key;
    /// `null` otherwise (then the head is a listing, not evidence).
    pub checkpoint: Option<String>,
}

/// The key of log `log_id`'s head object.
pub fn head_key(log_id: &str) -> String {
    format!("{log_id}/{HEAD_NAME}")
}

/// Reads log `log_id`'s head object, if there is one.
pub fn read_head(store: &S3Store, log_id: &str) -> Result<Option<ArchiveHead>> {
    let Some(bytes) = store.get(&head_key(log_id))? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Io {
            context: format!("reading {}", store.describe_key(&head_key(log_id))),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
}

/// Adds the bundle of `manifest` to its log's head object (creating it), and signs the new
/// end with `signer` if given. An unreadable head is replaced: it is a listing that
/// [`crate::verify_archive`] checks against the bundles, not a source of truth.
pub fn record_bundle(
    store: &S3Store,
    manifest: &Manifest,
    signer: Option<&NoteSigner>,
) -> Result<ArchiveHead> {
    let bundle = auditlog_format::bundle::bundle_name(
        &parse_log_id(&manifest.log_id).unwrap_or_default(),
        manifest.first_seq,
    );
    let mut head = read_head(store, &manifest.log_id)
        .ok()
        .flatten()
        .filter(|h| h.log_id == manifest.log_id)
        .unwrap_or_else(|| ArchiveHead {
            format: "auditlog-archive-head".into(),
            version: 1,
            log_id: manifest.log_id.clone(),
            bundles: Vec::new(),
            end: manifest.end.clone(),
            checkpoint: None,
        });
    if !head.bundles.iter().any(|b| b.name == bundle) {
        head.bundles.push(HeadBundle {
            name: bundle,
            first_seq: manifest.first_seq,
            end_seq: manifest.end_seq,
        });
        head.bundles.sort_by_key(|b| b.first_seq);
    }
    let newest = head.bundles.last().map(|b| b.end_seq).unwrap_or_default();
    if manifest.end_seq >= newest || head.end.size < manifest.end.size {
        head.end = manifest.end.clone();
    }
    head.checkpoint = match (signer, parse_log_id(&head.log_id), tree_head(&head.end)) {
        (Some(key), Some(id), Some(th)) => Some(
            Checkpoint {
                origin: origin_of(&id),
                tree_head: th,
                time: Timestamp::now(),
            }
            .sign(key)
            .map_err(|e| Error::Io {
                context: "signing the archive head".into(),
                source: std::io::Error::other(e),
            })?,
        ),
        _ => None,
    };
    let json = serde_json::to_vec_pretty(&head).map_err(|e| Error::Io {
        context: "encoding the archive head".into(),
        source: std::io::Error::other(e),
    })?;
    store.put_overwrite(&head_key(&head.log_id), &json)?;
    Ok(head)
}

/// A tree head from its JSON form.
pub fn tree_head(h: &HeadJson) -> Option<TreeHead> {
    let root = auditlog::merkle::from_hex(&h.root)?;
    Some(TreeHead { size: h.size, root })
}

/// A log id as 32 hex digits (its folder's name).
pub fn log_id_hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A log id written as 32 hex digits.
pub fn parse_log_id(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}
