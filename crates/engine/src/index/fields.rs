//! [`Fields`]: what filtering and grouping read from a record, whether decoded ([`Record`])
//! or read in place ([`RecordView`]), so the semantics are written once (in `filter.rs`
//! and `aggregate.rs`) for both.

use crate::event::{Outcome, Record, RecordView, Severity};
use crate::privacy::FieldPath;

/// The fields of a record that queries filter and group on.
pub(crate) trait Fields {
    /// `recorded_at`, in nanoseconds.
    fn recorded_at(&self) -> i64;
    /// `occurred_at`, in nanoseconds.
    fn occurred_at(&self) -> Option<i64>;
    fn actor_id(&self) -> &str;
    /// The entity's type and id.
    fn entity(&self) -> Option<(&str, &str)>;
    fn action(&self) -> &str;
    fn tenant(&self) -> Option<&str>;
    fn outcome(&self) -> Outcome;
    fn severity(&self) -> Severity;
    fn has_label(&self, label: &str) -> bool;
    fn for_each_label(&self, f: &mut dyn FnMut(&str));
    /// Whether `hit` holds for one of the texts [`Query::text`](super::Query::text)
    /// searches: the plain text fields, then the compact JSON texts.
    fn any_text(&self, hit: &mut dyn FnMut(&str) -> bool) -> bool;
    /// The text of a string field a privacy policy can protect (`None` for JSON paths,
    /// which are read through `FieldText`).
    fn protectable(&self, path: &FieldPath) -> Option<&str>;
}

impl Fields for Record {
    fn recorded_at(&self) -> i64 {
        self.recorded_at.as_nanos()
    }
    fn occurred_at(&self) -> Option<i64> {
        self.event.occurred_at.map(|t| t.as_nanos())
    }
    fn actor_id(&self) -> &str {
        &self.event.actor.id
    }
    fn entity(&self) -> Option<(&str, &str)> {
        self.event
            .entity
            .as_ref()
            .map(|e| (e.kind.as_str(), e.id.as_str()))
    }
    fn action(&self) -> &str {
        &self.event.action
    }
    fn tenant(&self) -> Option<&str> {
        self.event.tenant.as_deref()
    }
    fn outcome(&self) -> Outcome {
        self.event.outcome
    }
    fn severity(&self) -> Severity {
        self.event.severity
    }
    fn has_label(&self, label: &str) -> bool {
        self.event.labels.iter().any(|l| l == label)
    }
    fn for_each_label(&self, f: &mut dyn FnMut(&str)) {
        self.event.labels.iter().for_each(|l| f(l));
    }
    fn any_text(&self, hit: &mut dyn FnMut(&str) -> bool) -> bool {
        let e = &self.event;
        let entity = e.entity.as_ref();
        let plain = [
            Some(e.actor.id.as_str()),
            e.actor.kind.as_deref(),
            e.actor.name.as_deref(),
            e.actor.email.as_deref(),
            Some(e.action.as_str()),
            e.error_message.as_deref(),
            entity.map(|x| x.kind.as_str()),
            entity.map(|x| x.id.as_str()),
            entity.and_then(|x| x.name.as_deref()),
            e.tenant.as_deref(),
            e.ip.as_deref(),
            e.user_agent.as_deref(),
            e.session_id.as_deref(),
            e.request_id.as_deref(),
            e.source.as_deref(),
        ];
        if plain.into_iter().flatten().any(&mut *hit)
            || e.changed_fields.iter().any(|s| hit(s))
            || e.labels.iter().any(|s| hit(s))
        {
            return true;
        }
        // The JSON text, which is what the payload stores.
        [&e.before, &e.after, &e.metadata]
            .into_iter()
            .flatten()
            .any(|v| hit(v.as_str()))
    }

    fn protectable(&self, path: &FieldPath) -> Option<&str> {
        let e = &self.event;
        match path {
            FieldPath::ActorName => e.actor.name.as_deref(),
            FieldPath::ActorEmail => e.actor.email.as_deref(),
            FieldPath::EntityName => e.entity.as_ref().and_then(|x| x.name.as_deref()),
            FieldPath::Ip => e.ip.as_deref(),
            FieldPath::UserAgent => e.user_agent.as_deref(),
            FieldPath::SessionId => e.session_id.as_deref(),
            FieldPath::ErrorMessage => e.error_message.as_deref(),
            FieldPath::Json { .. } => None,
        }
    }
}

impl Fields for RecordView<'_> {
    fn recorded_at(&self) -> i64 {
        self.recorded_at.as_nanos()
    }
    fn occurred_at(&self) -> Option<i64> {
        self.event.occurred_at().map(|t| t.as_nanos())
    }
    fn actor_id(&self) -> &str {
        self.event.actor_id()
    }
    fn entity(&self) -> Option<(&str, &str)> {
        self.event.entity().map(|e| (e.kind, e.id))
    }
    fn action(&self) -> &str {
        self.event.action()
    }
    fn tenant(&self) -> Option<&str> {
        self.event.tenant()
    }
    fn outcome(&self) -> Outcome {
        self.event.outcome()
    }
    fn severity(&self) -> Severity {
        self.event.severity()
    }
    fn has_label(&self, label: &str) -> bool {
        self.event.labels().any(|l| l == label)
    }
    fn for_each_label(&self, f: &mut dyn FnMut(&str)) {
        self.event.labels().for_each(f);
    }
    fn any_text(&self, hit: &mut dyn FnMut(&str) -> bool) -> bool {
        let e = &self.event;
        let entity = e.entity();
        let plain = [
            Some(e.actor_id()),
            e.actor_kind(),
            e.actor_name(),
            e.actor_email(),
            Some(e.action()),
            e.error_message(),
            entity.map(|x| x.kind),
            entity.map(|x| x.id),
            entity.and_then(|x| x.name),
            e.tenant(),
            e.ip(),
            e.user_agent(),
            e.session_id(),
            e.request_id(),
            e.source(),
        ];
        plain.into_iter().flatten().any(&mut *hit)
            || e.changed_fields().any(&mut *hit)
            || e.labels().any(&mut *hit)
            || [e.before_json(), e.after_json(), e.metadata_json()]
                .into_iter()
                .flatten()
                .any(&mut *hit)
    }
    fn protectable(&self, path: &FieldPath) -> Option<&str> {
        let e = &self.event;
        match path {
            FieldPath::ActorName => e.actor_name(),
            FieldPath::ActorEmail => e.actor_email(),
            FieldPath::EntityName => e.entity().and_then(|x| x.name),
            FieldPath::Ip => e.ip(),
            FieldPath::UserAgent => e.user_agent(),
            FieldPath::SessionId => e.session_id(),
            FieldPath::ErrorMessage => e.error_message(),
            FieldPath::Json { .. } => None,
        }
    }
}
