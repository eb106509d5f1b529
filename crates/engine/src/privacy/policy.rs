//! The privacy policy: which fields of an event are personal data, and whose.
//!
//! Stored with the log as `privacy.policy` (docs/FORMAT.md, "Privacy policy"), fixed when the
//! log is created: a field protected from the first record on is protected in every record, so
//! a reader knows exactly where to expect protected values.

use super::PrivacyError;
use crate::event::Event;
use std::fmt;

/// The file name of the policy in the log directory.
pub const POLICY_FILE: &str = "privacy.policy";
const HEADER: &str = "auditlog privacy policy 1";

/// The field whose value names the data subject a protected value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectField {
    /// `actor.id` (the default): the person who acted.
    #[default]
    ActorId,
    /// `entity.id`: the record acted upon (a customer record, say). An event without an
    /// entity falls back to `actor.id`.
    EntityId,
}

impl SubjectField {
    fn parse(text: &str) -> Result<Self, PrivacyError> {
        match text {
            "actor.id" => Ok(SubjectField::ActorId),
            "entity.id" => Ok(SubjectField::EntityId),
            _ => Err(PrivacyError::BadPolicy(format!(
                "the subject field is actor.id or entity.id, not {text:?}"
            ))),
        }
    }

    /// The subject of `event` by this field.
    pub fn subject_of<'e>(&self, event: &'e Event) -> &'e str {
        match (self, &event.entity) {
            (SubjectField::EntityId, Some(entity)) => &entity.id,
            _ => &event.actor.id,
        }
    }
}

impl fmt::Display for SubjectField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubjectField::ActorId => "actor.id",
            SubjectField::EntityId => "entity.id",
        })
    }
}

/// Where a protected value lives in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPath {
    /// `actor.name`.
    ActorName,
    /// `actor.email`.
    ActorEmail,
    /// `entity.name`.
    EntityName,
    /// `ip`.
    Ip,
    /// `user_agent`.
    UserAgent,
    /// `session_id`.
    SessionId,
    /// `error_message`.
    ErrorMessage,
    /// A path of object keys into `before`, `after` or `metadata` (`after.address.street`).
    Json {
        /// `before`, `after` or `metadata`.
        root: JsonRoot,
        /// The keys below the root, at least one.
        keys: Vec<String>,
    },
}

/// The JSON fields of an event a path can point into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonRoot {
    /// `before`.
    Before,
    /// `after`.
    After,
    /// `metadata`.
    Metadata,
}

impl FieldPath {
    /// Parses a path as written in a policy (`actor.email`, `after.address.street`).
    pub fn parse(text: &str) -> Result<Self, PrivacyError> {
        let path = match text {
            "actor.name" => FieldPath::ActorName,
            "actor.email" => FieldPath::ActorEmail,
            "entity.name" => FieldPath::EntityName,
            "ip" => FieldPath::Ip,
            "user_agent" => FieldPath::UserAgent,
            "session_id" => FieldPath::SessionId,
            "error_message" => FieldPath::ErrorMessage,
            "actor.id" | "entity.id" | "entity.type" | "action" | "tenant" => {
                return Err(PrivacyError::BadPolicy(format!(
                    "{text} cannot be protected: it is indexed or identifies the subject \
                     (use a pseudonymous id there)"
                )));
            }
            _ => {
                let mut parts = text.split('.');
                let root = match parts.next() {
                    Some("before") => JsonRoot::Before,
                    Some("after") => JsonRoot::After,
                    Some("metadata") => JsonRoot::Metadata,
                    _ => {
                        return Err(PrivacyError::BadPolicy(format!(
                            "unknown field {text:?}: protect actor.name, actor.email, \
                             entity.name, ip, user_agent, session_id, error_message or a path \
                             into before, after or metadata"
                        )));
                    }
                };
                let keys: Vec<String> = parts.map(str::to_owned).collect();
                if keys.is_empty()
                    || keys
                        .iter()
                        .any(|k| k.is_empty() || k.contains(char::is_whitespace))
                {
                    return Err(PrivacyError::BadPolicy(format!(
                        "{text:?}: a JSON path names at least one non-empty key below its root"
                    )));
                }
                FieldPath::Json { root, keys }
            }
        };
        Ok(path)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::ActorName => f.write_str("actor.name"),
            FieldPath::ActorEmail => f.write_str("actor.email"),
            FieldPath::EntityName => f.write_str("entity.name"),
            FieldPath::Ip => f.write_str("ip"),
            FieldPath::UserAgent => f.write_str("user_agent"),
            FieldPath::SessionId => f.write_str("session_id"),
            FieldPath::ErrorMessage => f.write_str("error_message"),
            FieldPath::Json { root, keys } => {
                let root = match root {
                    JsonRoot::Before => "before",
                    JsonRoot::After => "after",
                    JsonRoot::Metadata => "metadata",
                };
                write!(f, "{root}.{}", keys.join("."))
            }
        }
    }
}

/// One protected field and whose data it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedField {
    /// Where the value is.
    pub path: FieldPath,
    /// Whose it is.
    pub subject: SubjectField,
}

/// Which fields of every event are personal data (see docs/PRIVACY.md).
///
/// ```
/// use auditlog::privacy::PrivacyPolicy;
/// let policy = PrivacyPolicy::parse_spec("actor.email,ip,after.email=entity.id", None)?;
/// assert_eq!(policy.fields().len(), 3);
/// # Ok::<(), auditlog::privacy::PrivacyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivacyPolicy {
    fields: Vec<ProtectedField>,
}

impl PrivacyPolicy {
    /// A policy protecting nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Protects `path` (see [`FieldPath::parse`]), whose subject is `subject`.
    pub fn protect(mut self, path: &str, subject: SubjectField) -> Result<Self, PrivacyError> {
        let path = FieldPath::parse(path)?;
        if self.fields.iter().any(|f| f.path == path) {
            return Err(PrivacyError::BadPolicy(format!("{path} is named twice")));
        }
        self.fields.push(ProtectedField { path, subject });
        Ok(self)
    }

    /// Parses the command line's form: comma-separated paths, each optionally followed by
    /// `=actor.id` or `=entity.id` to name its subject field; `default_subject` (else
    /// `actor.id`) for the others.
    pub fn parse_spec(spec: &str, default_subject: Option<&str>) -> Result<Self, PrivacyError> {
        let default = match default_subject {
            Some(s) => SubjectField::parse(s)?,
            None => SubjectField::ActorId,
        };
        let mut policy = PrivacyPolicy::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (path, subject) = match item.split_once('=') {
                Some((path, subject)) => (path, SubjectField::parse(subject)?),
                None => (item, default),
            };
            policy = policy.protect(path, subject)?;
        }
        if policy.fields.is_empty() {
            return Err(PrivacyError::BadPolicy("no field to protect".into()));
        }
        Ok(policy)
    }

    /// The protected fields, in the order given.
    pub fn fields(&self) -> &[ProtectedField] {
        &self.fields
    }

    /// The policy file's text.
    pub(crate) fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        for field in &self.fields {
            out.push_str(&format!(
                "protect {} subject={}\n",
                field.path, field.subject
            ));
        }
        out
    }

    /// Parses the policy file's text.
    pub(crate) fn from_text(text: &str) -> Result<Self, PrivacyError> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(PrivacyError::BadPolicy(format!(
                "{POLICY_FILE} does not start with {HEADER:?}"
            )));
        }
        let mut policy = PrivacyPolicy::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let rest = line.strip_prefix("protect ");
            let (path, subject) = rest
                .and_then(|r| r.split_once(" subject="))
                .ok_or_else(|| PrivacyError::BadPolicy(format!("bad policy line {line:?}")))?;
            policy = policy.protect(path, SubjectField::parse(subject)?)?;
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_and_file_text_round_trip() {
        let policy =
            PrivacyPolicy::parse_spec("actor.email, ip,after.address.street=entity.id", None)
                .unwrap();
        assert_eq!(policy.fields()[2].subject, SubjectField::EntityId);
        assert_eq!(PrivacyPolicy::from_text(&policy.to_text()).unwrap(), policy);
    }

    #[test]
    fn refuses_index_keys_unknown_fields_and_repeats() {
        for bad in [
            "actor.id",
            "entity.id",
            "email",
            "after",
            "after..x",
            "ip,ip",
            "",
        ] {
            assert!(
                matches!(
                    PrivacyPolicy::parse_spec(bad, None),
                    Err(PrivacyError::BadPolicy(_))
                ),
                "{bad:?}"
            );
        }
        assert!(PrivacyPolicy::parse_spec("ip", Some("tenant")).is_err());
    }
}
