//! Inclusion proofs of archived records, from the bucket alone (`auditlog get --archive
//! s3://... SEQ --proof`), in the form `auditlog prove` prints for the live log
//! (docs/FORMAT.md §6, "Proof documents"), so that `auditlog verify-proof` checks them
//! offline.
//!
//! The proof is against the archive head's tree head (`head.json`, §10.1), with its signed
//! checkpoint when the archiving run had the log's key; without a head, against the end of
//! the bundle that holds the record. Its nodes come from three places, every one of them
//! small next to the segments:
//! - subtrees left of a bundle, or spanning bundles, from the `start_frontier` of a later
//!   bundle's manifest where one of its nodes is exactly that subtree (one small GET per
//!   manifest, O(log n) of them);
//! - subtrees inside the bundle that holds the record from its leaf hashes: the bundle's
//!   `.hashes` object (§11, 32 bytes per record, one range read of all its leaves, since the
//!   path needs nearly all of them), checked by pushing them onto the manifest's start
//!   frontier, which must give the manifest's end root; a bundle without one has its leaves
//!   computed from its records (range reads of all its frames);
//! - subtrees inside later bundles (the right edge of each level of the path, at most one
//!   per level) from one range read of just those leaves of their `.hashes` object (or of
//!   the frames holding those records).
//!
//! So the bytes read are about 32 per record of the record's bundle plus parts of a few
//! later ones; for events that zstd compresses well that is more than the cold segment
//! itself (a leaf hash does not compress), though no segment is ever fetched whole.
//! - the record itself: the cold segment's layout and the one frame that holds it.
//!
//! The document is then checked exactly as `verify-proof` checks it, against the tree head it
//! carries, before it is returned: a leaf-hash object, a manifest or a head that disagrees
//! with the bundles gives an error (damage: run `auditlog verify s3://...`), never a proof.

use crate::error::{Error, Result};
use crate::head::{parse_log_id, read_head, tree_head};
use crate::read::{ArchiveReader, ReadStats};
use auditlog::lifecycle::archive::Manifest;
use auditlog::merkle::{Frontier, Hash, to_hex};
use auditlog_format::event::decode_payload;
use auditlog_format::merkle::lanes::root_of;
use auditlog_format::merkle::{
    SubtreeSource, inclusion_path, leaf_hash, node_hash, payload_digest, subtree_ranges,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Bytes before the leaves in a `.hashes` file, and after them (docs/FORMAT.md §11).
const HASHES_HEAD: u64 = 76;
const HASHES_TAIL: u64 = 32;

fn damaged(reader: &ArchiveReader, what: String) -> Error {
    Error::ArchiveDamaged {
        url: reader
            .store()
            .describe_key(&format!("{}/", reader.log_id())),
        problem: what,
    }
}

impl ArchiveReader {
    /// Record `seq` with its inclusion proof (see the module documentation), as a proof
    /// document, and what was read for it; `None` if no bundle holds the record.
    pub fn prove(&self, seq: u64) -> Result<Option<(Value, ReadStats)>> {
        let mut stats = ReadStats::default();
        let Some((bundle, raw)) = self.get_raw(seq, &mut stats)? else {
            return Ok(None);
        };
        let head = read_head(self.store(), self.log_id())?;
        if let Some(h) = &head {
            stats.note(serde_json::to_vec(h).map_or(0, |v| v.len()), false);
        }
        let signed = head
            .as_ref()
            .and_then(|h| Some((tree_head(&h.end)?, h.checkpoint.clone())))
            .filter(|(th, _)| th.size > seq);
        let (target, checkpoint) = match signed {
            Some(found) => found,
            None => {
                let (_, opened) = self
                    .bundle_of(seq, &mut stats)?
                    .ok_or_else(|| damaged(self, format!("{bundle} vanished while read")))?;
                let end = tree_head(&opened.0.end).ok_or_else(|| {
                    damaged(
                        self,
                        format!("{bundle}: the manifest's end is not a tree head"),
                    )
                })?;
                (end, None)
            }
        };
        let mut source = Subtrees {
            reader: self,
            size: target.size,
            memo: HashMap::new(),
            loaded: vec![false; self.bundles().len()],
            leaves: HashMap::new(),
            manifests: HashMap::new(),
            home: self
                .bundles()
                .iter()
                .rposition(|(first, _)| *first <= seq)
                .unwrap_or_default(),
            stats: &mut stats,
        };
        source.memo.insert((0, target.size), target.root);
        let path = inclusion_path(seq, target.size, &mut source).map_err(|e| match e {
            auditlog_format::merkle::ProofError::Source(e) => e,
            other => damaged(self, format!("no proof of record #{seq}: {other}")),
        })?;
        let leaf = leaf_hash(seq, raw.recorded_at, &payload_digest(&raw.payload));
        let event = decode_payload(&raw.payload)
            .ok()
            .and_then(|e| serde_json::to_value(&e).ok());
        let doc = json!({
            "type": "inclusion",
            "log_id": self.log_id(),
            "seq": seq,
            "recorded_at_nanos": raw.recorded_at,
            "payload": B64.encode(&raw.payload),
            "leaf_index": seq,
            "leaf_hash": to_hex(&leaf),
            "tree_head": {"size": target.size, "root": to_hex(&target.root)},
            "path": path.iter().map(to_hex).collect::<Vec<_>>(),
            "checkpoint": checkpoint,
            "event": event,
        });
        // The verifier's own check, before anything is printed.
        let check = auditlog::proof::check_proof(&doc, None)
            .map_err(|e| damaged(self, format!("the proof of record #{seq}: {e}")))?;
        if !check.valid || parse_log_id(self.log_id()).is_none() {
            return Err(damaged(
                self,
                format!(
                    "the proof of record #{seq} built from {bundle} does not hold against the \
                     archive's tree head {} ({}): its leaf hashes, manifests or head disagree \
                     with the bundles; run `auditlog verify` on the archive",
                    target, check.message
                ),
            ));
        }
        Ok(Some((doc, stats)))
    }
}

/// The subtrees of the archive's tree of `size` leaves.
struct Subtrees<'a> {
    reader: &'a ArchiveReader,
    size: u64,
    /// Known roots of leaf ranges: frontier nodes of the manifests read, and every root
    /// computed.
    memo: HashMap<(u64, u64), Hash>,
    /// Whether bundle `i`'s manifest frontier is in `memo`.
    loaded: Vec<bool>,
    /// The manifests fetched, by bundle name.
    manifests: HashMap<String, Arc<Manifest>>,
    /// Leaf hashes of the bundles read whole, by index.
    leaves: HashMap<usize, Vec<Hash>>,
    /// The bundle that holds the record proven: its leaves are read whole and checked (the
    /// path needs nearly all of them); other bundles' only in the ranges the path needs.
    home: usize,
    stats: &'a mut ReadStats,
}

impl Subtrees<'_> {
    /// Bundle `name`'s manifest, fetched once.
    fn manifest(&mut self, name: &str) -> Result<Arc<Manifest>> {
        if let Some(m) = self.manifests.get(name) {
            return Ok(Arc::clone(m));
        }
        let manifest = self
            .reader
            .manifest(name, self.stats)?
            .ok_or_else(|| damaged(self.reader, format!("{name}: the manifest is gone")))?;
        let manifest = Arc::new(manifest);
        self.manifests
            .insert(name.to_string(), Arc::clone(&manifest));
        Ok(manifest)
    }

    fn first(&self, i: usize) -> u64 {
        self.reader.bundles()[i].0
    }

    fn end(&self, i: usize) -> u64 {
        self.reader
            .bundles()
            .get(i + 1)
            .map_or(self.size, |(first, _)| *first)
    }

    /// If `[a, b)` is a node of the frontier at some bundle's start (§4.3: a perfect
    /// subtree that is a left child, and a start inside its right sibling's span), puts that
    /// manifest's frontier into `memo`.
    fn load_frontier_for(&mut self, a: u64, b: u64) -> Result<()> {
        let width = b - a;
        if !width.is_power_of_two() || !a.is_multiple_of(width * 2) {
            return Ok(());
        }
        let starts = self.reader.bundles();
        let j = starts
            .iter()
            .position(|(first, _)| *first >= b && *first < a + 2 * width);
        let Some(j) = j.filter(|j| !self.loaded[*j]) else {
            return Ok(());
        };
        self.loaded[j] = true;
        let name = starts[j].1.clone();
        let manifest = self.manifest(&name)?;
        let nodes: Option<Vec<Hash>> = manifest
            .start_frontier
            .iter()
            .map(|h| auditlog::merkle::from_hex(h))
            .collect();
        let nodes = nodes
            .filter(|n| n.len() == subtree_ranges(manifest.first_seq).count())
            .ok_or_else(|| damaged(self.reader, format!("{name}: a bad start frontier")))?;
        for (range, node) in subtree_ranges(manifest.first_seq).zip(nodes) {
            self.memo.entry(range).or_insert(node);
        }
        Ok(())
    }

    /// The root of leaves `a..b` of bundle `i` (not the one holding the record): one range
    /// read of exactly those leaves in its `.hashes` object, or of the frames holding those
    /// records when it has none. Not checked here against the bundle (that needs all its
    /// leaves): a wrong leaf makes the proof fail the check it gets before it is returned.
    fn root_of_part(&mut self, i: usize, a: u64, b: u64) -> Result<Hash> {
        let (first, name) = self.reader.bundles()[i].clone();
        let manifest = self.manifest(&name)?;
        let stored = if b <= manifest.end_seq && first == manifest.first_seq {
            self.stored_leaves(&name, &manifest, a..b)?
        } else {
            None
        };
        let leaves = match stored {
            Some((_, leaves)) => leaves,
            None => self.reader.leaves_from_records(a..b, self.stats)?,
        };
        if leaves.len() as u64 != b - a {
            return Err(damaged(
                self.reader,
                format!("{name}: records {a}..{b} are not all there"),
            ));
        }
        Ok(root_of(&leaves))
    }

    /// The leaves of records `range` of bundle `name` read from its leaf-hash object (one
    /// range read), with that object's name; `None` if its manifest lists no leaf-hash
    /// object of the size its records make. `range` lies inside the bundle.
    fn stored_leaves(
        &mut self,
        name: &str,
        manifest: &Manifest,
        range: std::ops::Range<u64>,
    ) -> Result<Option<(String, Vec<Hash>)>> {
        let count = manifest.end_seq.saturating_sub(manifest.first_seq);
        let Some(file) = manifest
            .files
            .iter()
            .find(|f| f.role == "hashes" && f.size == HASHES_HEAD + 32 * count + HASHES_TAIL)
        else {
            return Ok(None);
        };
        let key = format!("{}/{name}/{}", self.reader.log_id(), file.name);
        let at = HASHES_HEAD + 32 * (range.start - manifest.first_seq);
        let bytes = self
            .reader
            .store()
            .get_range(&key, at..at + 32 * (range.end - range.start))?;
        self.stats.note(bytes.len(), false);
        let leaves = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect();
        Ok(Some((file.name.clone(), leaves)))
    }

    /// The leaf hashes of bundle `i`: its `.hashes` object's leaves (one range read),
    /// accepted only if they carry the manifest's start frontier to its end root; else
    /// computed from its records.
    fn leaves_of(&mut self, i: usize) -> Result<&[Hash]> {
        if !self.leaves.contains_key(&i) {
            let name = self.reader.bundles()[i].1.clone();
            let manifest = self.manifest(&name)?;
            let count = manifest.end_seq.saturating_sub(manifest.first_seq);
            let stored = if count > 0 {
                self.stored_leaves(&name, &manifest, manifest.first_seq..manifest.end_seq)?
            } else {
                None
            };
            let leaves = match stored {
                Some((file, leaves)) => {
                    let start: Option<Vec<Hash>> = manifest
                        .start_frontier
                        .iter()
                        .map(|h| auditlog::merkle::from_hex(h))
                        .collect();
                    let mut frontier = start
                        .and_then(|n| Frontier::from_parts(manifest.first_seq, n))
                        .ok_or_else(|| {
                            damaged(self.reader, format!("{name}: a bad start frontier"))
                        })?;
                    for leaf in &leaves {
                        frontier.push(*leaf);
                    }
                    let end = tree_head(&manifest.end);
                    if leaves.len() as u64 != count || Some(frontier.tree_head()) != end {
                        return Err(damaged(
                            self.reader,
                            format!(
                                "{name}/{}: the leaf hashes do not lead from the bundle's start \
                                 to its end (derived data that disagrees with its bundle); \
                                 run `auditlog verify` on the archive",
                                file
                            ),
                        ));
                    }
                    leaves
                }
                _ => self
                    .reader
                    .leaves_from_records(manifest.first_seq..manifest.end_seq, self.stats)?,
            };
            self.leaves.insert(i, leaves);
        }
        Ok(&self.leaves[&i])
    }
}

impl SubtreeSource for Subtrees<'_> {
    type Error = Error;

    fn subtree_root(&mut self, a: u64, b: u64) -> Result<Hash> {
        if let Some(h) = self.memo.get(&(a, b)) {
            return Ok(*h);
        }
        self.load_frontier_for(a, b)?;
        if let Some(h) = self.memo.get(&(a, b)) {
            return Ok(*h);
        }
        let holder = self
            .reader
            .bundles()
            .iter()
            .rposition(|(first, _)| *first <= a);
        let hash = match holder {
            Some(i) if b <= self.end(i) && i != self.home => self.root_of_part(i, a, b)?,
            Some(i) if b <= self.end(i) => {
                let first = self.first(i);
                let reader = self.reader;
                let leaves = self.leaves_of(i)?;
                let range = (a - first) as usize..(b - first) as usize;
                let part = leaves.get(range).ok_or_else(|| {
                    damaged(
                        reader,
                        format!("records {a}..{b} are not in the bundle the head names"),
                    )
                })?;
                root_of(part)
            }
            _ if b - a > 1 => {
                let mid = a + (1u64 << (u64::BITS - 1 - (b - a - 1).leading_zeros()));
                let left = self.subtree_root(a, mid)?;
                let right = self.subtree_root(mid, b)?;
                node_hash(&left, &right)
            }
            _ => {
                return Err(damaged(
                    self.reader,
                    format!("record {a} is in no bundle and no manifest's frontier"),
                ));
            }
        };
        self.memo.insert((a, b), hash);
        Ok(hash)
    }
}
