//! Verification of a classified root: the class manifest, then every class's sub-log with
//! [`verify`](crate::verify()), reported per class.

use crate::classes_format::{self as manifest, CLASSES_FILE, ClassEntry};
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::meta::{LogMeta, META_FILE};
use crate::{VerifyOptions, VerifyReport, verify};
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};

/// What [`verify_classified`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassifiedVerifyReport {
    /// True only when the manifest and every class verified without a problem.
    pub ok: bool,
    /// The root verified.
    pub root: PathBuf,
    /// Problems of the root itself: a damaged manifest, a missing or replaced sub-log.
    pub problems: Vec<Corruption>,
    /// Each class's name and report, in the manifest's order (with a damaged manifest: every
    /// sub-directory holding a log, by name).
    pub classes: Vec<(String, VerifyReport)>,
}

/// Verifies the classified root `root`: its manifest (checksum, classes, each sub-log's
/// log id) and every class's sub-log. Damage is never an `Err` (see
/// [`verify`](crate::verify())); `Err` means verification could not run. A checkpoint in
/// `options` is refused: a checkpoint belongs to one class, so verify that class's directory.
pub fn verify_classified(root: &Path, options: &VerifyOptions) -> Result<ClassifiedVerifyReport> {
    verify_classified_with(root, options, &verify)
}

/// [`verify_classified`], verifying each class's sub-log with `verify_one` (the engine passes
/// its verify, which adds the check of each sub-log's index files).
pub fn verify_classified_with(
    root: &Path,
    options: &VerifyOptions,
    verify_one: &dyn Fn(&Path, &VerifyOptions) -> Result<VerifyReport>,
) -> Result<ClassifiedVerifyReport> {
    if options.checkpoint.is_some() {
        return Err(Error::InvalidOption {
            option: "checkpoint",
            reason: "a checkpoint is one class's: verify that class's sub-directory with it".into(),
        });
    }
    let mut problems = Vec::new();
    let problem = |file: PathBuf, why: String| Corruption {
        file,
        offset: 0,
        seq: None,
        kind: CorruptionKind::BadManifest(why),
    };
    let entries: Vec<ClassEntry> = match manifest::read(root) {
        Ok(Some(entries)) => entries,
        Ok(None) => {
            return Err(Error::NotALog {
                path: root.to_path_buf(),
                reason: format!("{CLASSES_FILE} is missing: it is not a classified root"),
            });
        }
        Err(e) => {
            match e {
                auditlog_format::Error::Corrupt(c) => problems.push(*c),
                e => problems.push(problem(root.join(CLASSES_FILE), e.to_string())),
            }
            sub_logs_by_name(root)?
        }
    };
    let mut classes = Vec::with_capacity(entries.len());
    for entry in &entries {
        let dir = root.join(&entry.name);
        match LogMeta::read(&dir) {
            Ok(meta) if entry.log_id != [0; 16] && meta.log_id != entry.log_id => {
                problems.push(problem(
                    dir.join(META_FILE),
                    format!(
                        "the sub-log of class {:?} is another log than {CLASSES_FILE} records",
                        entry.name
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => {
                problems.push(problem(
                    dir,
                    format!("the sub-log of class {:?}: {e}", entry.name),
                ));
                continue;
            }
        }
        classes.push((entry.name.clone(), verify_one(&dir, options)?));
    }
    let ok = problems.is_empty() && classes.iter().all(|(_, r)| r.ok);
    Ok(ClassifiedVerifyReport {
        ok,
        root: root.to_path_buf(),
        problems,
        classes,
    })
}

/// With a damaged manifest: every sub-directory that holds a log, sorted by name (log ids
/// unknown, so not compared).
fn sub_logs_by_name(root: &Path) -> Result<Vec<ClassEntry>> {
    let entries =
        std::fs::read_dir(root).map_err(|e| Error::io(format!("listing {}", root.display()), e))?;
    let mut found: Vec<ClassEntry> = entries
        .flatten()
        .filter(|e| e.path().join(META_FILE).is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .map(|name| ClassEntry {
            name,
            severities: 0,
            max_age_secs: 0,
            max_total_bytes: 0,
            log_id: [0; 16],
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

impl ClassifiedVerifyReport {
    /// The report as JSON: `ok`, `root`, `problems` (file, kind, message) and `classes`, an
    /// object of each class's [`VerifyReport::to_json`].
    pub fn to_json(&self) -> Value {
        let problems: Vec<Value> = self.problems.iter().map(crate::problem_json).collect();
        let classes: serde_json::Map<String, Value> = self
            .classes
            .iter()
            .map(|(name, r)| (name.clone(), r.to_json()))
            .collect();
        json!({
            "ok": self.ok,
            "root": self.root.display().to_string(),
            "problems": problems,
            "classes": classes,
        })
    }
}

impl fmt::Display for ClassifiedVerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "DAMAGED root: {}: {}", p.file.display(), p.kind)?;
        }
        for (name, report) in &self.classes {
            write!(f, "class {name}: {report}")?;
        }
        let bad = self.classes.iter().filter(|(_, r)| !r.ok).count();
        if self.ok {
            writeln!(f, "OK: {} classes verified", self.classes.len())
        } else {
            writeln!(
                f,
                "DAMAGED: {} root problem(s), {bad} of {} classes damaged",
                self.problems.len(),
                self.classes.len()
            )
        }
    }
}
