//! Python dicts in the documented JSON shape of an event, straight into an engine [`Event`]:
//! no JSON text in between (encoding each event to JSON in Python cost more than the whole
//! append). The rules are the engine's JSON reader's: the same keys, unknown keys refused,
//! `before`/`after` any JSON value, `metadata` an object. Values inside them are written as
//! compact JSON here; a value JSON has no type for (a `datetime`, a `Decimal`) goes through
//! `auditlog.embedded._json_default`, as the Python encoder would.
//!
//! `append_many` is bound by this conversion, so it avoids what cost most per event (session
//! 29, docs/BENCHMARKS.md): each known key is looked up with an interned `str` (a hash probe
//! that compares pointers) instead of each key being copied out as a Rust `String` and
//! matched, and JSON values are written into one buffer kept for the whole batch.

use crate::errors::raise;
use auditlog::{Actor, Entity, Event, JsonText, Timestamp};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::io::Write;

/// Deeper JSON than this is refused before the engine's own (smaller) depth limit applies:
/// it bounds the recursion here.
const MAX_DEPTH: usize = 256;

fn invalid(message: String) -> PyErr {
    raise("InvalidEvent", format!("invalid event: {message}"))
}

/// The UTF-8 text of a Python str. A str may hold a lone surrogate (`"\ud800"`, what
/// `surrogateescape` decoding leaves for undecodable bytes), which is not Unicode text and
/// has no UTF-8 form: that is the caller's bad event, not a `UnicodeEncodeError` from
/// deep inside the append.
fn text<'a>(key: &str, s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    crate::utf8::utf8(s).map_err(|_| {
        invalid(format!(
            "`{key}` holds a string with a lone surrogate (such as '\\ud800'), which is not \
             Unicode text; decode its bytes with errors='replace' or 'backslashreplace' first"
        ))
    })
}

fn string(key: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    match v.cast::<PyString>() {
        Ok(s) => text(key, s).map(Cow::into_owned),
        Err(_) => Err(invalid(format!(
            "`{key}` must be a string, not {}",
            type_name(v)
        ))),
    }
}

fn opt_string(key: &str, v: Option<Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match v {
        Some(v) if !v.is_none() => string(key, &v).map(Some),
        _ => Ok(None),
    }
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn as_dict<'a, 'py>(key: &str, v: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyDict>> {
    v.cast::<PyDict>().map_err(|_| {
        invalid(format!(
            "`{key}` must be an object (dict), not {}",
            type_name(v)
        ))
    })
}

/// The values of a dict's known keys, each looked up by an interned key; `found` counts the
/// hits, so that one comparison with the dict's length tells whether any other key is there.
struct Fields<'a, 'py> {
    dict: &'a Bound<'py, PyDict>,
    found: usize,
}

impl<'a, 'py> Fields<'a, 'py> {
    fn new(dict: &'a Bound<'py, PyDict>) -> Self {
        Fields { dict, found: 0 }
    }

    fn get(&mut self, key: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let value = self.dict.get_item(key)?;
        self.found += usize::from(value.is_some());
        Ok(value)
    }

    /// Refuses a key other than `known`: `unknown` words the error for the first one found.
    fn no_others(
        &self,
        place: &str,
        known: &[&str],
        unknown: impl FnOnce(&str) -> String,
    ) -> PyResult<()> {
        if self.found == self.dict.len() {
            return Ok(());
        }
        for key in self.dict.keys() {
            let key = string(place, &key)?;
            if !known.contains(&key.as_str()) {
                return Err(invalid(unknown(&key)));
            }
        }
        Ok(())
    }
}

/// `keys` as an error message lists them: "`a`, `b`, `c`".
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    quoted.join(", ")
}

/// `fields.get(intern!(py, "name"))?`: the key text is interned once per call site.
macro_rules! field {
    ($fields:expr, $name:literal) => {
        $fields.get(intern!($fields.dict.py(), $name))?
    };
}

fn strings(key: &str, v: Option<Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if v.is_instance_of::<PyString>() {
        return Err(invalid(format!(
            "`{key}` must be a list of strings, not a string"
        )));
    }
    let mut out = Vec::new();
    for item in v
        .try_iter()
        .map_err(|_| invalid(format!("`{key}` must be a list of strings")))?
    {
        out.push(string(key, &item?)?);
    }
    Ok(out)
}

fn actor(v: &Bound<'_, PyAny>) -> PyResult<Actor> {
    let mut f = Fields::new(as_dict("actor", v)?);
    let id = field!(f, "id")
        .map(|v| string("actor.id", &v))
        .transpose()?;
    let kind = opt_string("actor.kind", field!(f, "kind"))?;
    let name = opt_string("actor.name", field!(f, "name"))?;
    let email = opt_string("actor.email", field!(f, "email"))?;
    const KEYS: &[&str] = &["id", "kind", "name", "email"];
    f.no_others("actor key", KEYS, |other| {
        format!(
            "unknown field `{other}` in `actor`, expected one of {}",
            one_of(KEYS)
        )
    })?;
    Ok(Actor {
        id: id.ok_or_else(|| invalid("missing field `id` in `actor`".into()))?,
        kind,
        name,
        email,
    })
}

fn entity(v: Option<Bound<'_, PyAny>>) -> PyResult<Option<Entity>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let mut f = Fields::new(as_dict("entity", &v)?);
    let kind = field!(f, "type")
        .map(|v| string("entity.type", &v))
        .transpose()?;
    let id = field!(f, "id")
        .map(|v| string("entity.id", &v))
        .transpose()?;
    let name = opt_string("entity.name", field!(f, "name"))?;
    const KEYS: &[&str] = &["type", "id", "name"];
    f.no_others("entity key", KEYS, |other| {
        format!(
            "unknown field `{other}` in `entity`, expected one of {}",
            one_of(KEYS)
        )
    })?;
    Ok(Some(Entity {
        kind: kind.ok_or_else(|| invalid("missing field `type` in `entity`".into()))?,
        id: id.ok_or_else(|| invalid("missing field `id` in `entity`".into()))?,
        name,
    }))
}

/// What the converter keeps between the events of a batch.
#[derive(Debug, Default)]
pub(crate) struct Converter {
    /// The JSON text of the value being written; `JsonText` copies it out at its exact size.
    json: Vec<u8>,
}

impl Converter {
    fn json_text(&mut self, key: &str, v: &Bound<'_, PyAny>) -> PyResult<JsonText> {
        self.json.clear();
        write_json(key, v, &mut self.json, 0)?;
        // Only str contents (UTF-8) and ASCII were written.
        let text = std::str::from_utf8(&self.json).expect("JSON written from str is UTF-8");
        text.parse::<JsonText>()
            .map_err(|e| invalid(format!("`{key}`: {e}")))
    }

    /// The event a dict in the documented JSON shape describes. Anything but a plain dict (an
    /// `auditlog.Event`, another mapping) is first made one by `auditlog.embedded._as_dict`,
    /// which refuses what is neither: `append_many` passes its list as it is, since a Python
    /// call per event to check each was a dict cost about 100 ns.
    pub(crate) fn event(&mut self, v: &Bound<'_, PyAny>) -> PyResult<Event> {
        if v.is_exact_instance_of::<PyDict>() {
            return self.event_dict(v.cast::<PyDict>()?);
        }
        let as_dict = v
            .py()
            .import(intern!(v.py(), "auditlog.embedded"))?
            .getattr(intern!(v.py(), "_as_dict"))?;
        let d = as_dict.call1((v,))?;
        let d = d.cast::<PyDict>().map_err(|_| {
            invalid(format!(
                "expected an auditlog.Event or a dict, not {}",
                type_name(v)
            ))
        })?;
        self.event_dict(d)
    }

    fn event_dict(&mut self, d: &Bound<'_, PyDict>) -> PyResult<Event> {
        let mut f = Fields::new(d);
        let (actor_dict, action) = (field!(f, "actor"), field!(f, "action"));
        let mut event = Event {
            occurred_at: match opt_string("occurred_at", field!(f, "occurred_at"))? {
                None => None,
                Some(s) => Some(
                    Timestamp::parse_rfc3339(&s)
                        .map_err(|e| invalid(format!("`occurred_at`: {e}")))?,
                ),
            },
            error_message: opt_string("error_message", field!(f, "error_message"))?,
            entity: entity(field!(f, "entity"))?,
            tenant: opt_string("tenant", field!(f, "tenant"))?,
            ip: opt_string("ip", field!(f, "ip"))?,
            user_agent: opt_string("user_agent", field!(f, "user_agent"))?,
            session_id: opt_string("session_id", field!(f, "session_id"))?,
            request_id: opt_string("request_id", field!(f, "request_id"))?,
            source: opt_string("source", field!(f, "source"))?,
            changed_fields: strings("changed_fields", field!(f, "changed_fields"))?,
            labels: strings("labels", field!(f, "labels"))?,
            ..Event::default()
        };
        if let Some(v) = field!(f, "outcome") {
            event.outcome = parse("outcome", &v)?;
        }
        if let Some(v) = field!(f, "severity") {
            event.severity = parse("severity", &v)?;
        }
        // In a dict, `None` is JSON null, kept apart from an absent key (as in JSON).
        if let Some(v) = field!(f, "before") {
            event.before = Some(self.json_text("before", &v)?);
        }
        if let Some(v) = field!(f, "after") {
            event.after = Some(self.json_text("after", &v)?);
        }
        if let Some(v) = field!(f, "metadata").filter(|v| !v.is_none()) {
            as_dict("metadata", &v)?;
            event.metadata = Some(self.json_text("metadata", &v)?);
        }
        f.no_others("key", auditlog::EVENT_KEYS, |other| {
            format!(
                "unknown field `{other}`, expected one of {}",
                one_of(auditlog::EVENT_KEYS)
            )
        })?;
        event.actor = actor(&actor_dict.ok_or_else(|| invalid("missing field `actor`".into()))?)?;
        event.action = match action {
            Some(v) => string("action", &v)?,
            None => return Err(invalid("missing field `action`".into())),
        };
        Ok(event)
    }
}

/// An enum field (`outcome`, `severity`) from its text, parsed without a copy where the str
/// allows.
fn parse<T: std::str::FromStr<Err: std::fmt::Display>>(
    key: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<T> {
    let s = v
        .cast::<PyString>()
        .map_err(|_| invalid(format!("`{key}` must be a string, not {}", type_name(v))))?;
    text(key, s)?
        .parse::<T>()
        .map_err(|e| invalid(format!("`{key}`: {e}")))
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("strings serialize into a Vec");
}

fn write_json(key: &str, v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("`{key}` is nested too deeply")));
    }
    if v.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(s) = v.cast::<PyString>() {
        push_json_str(out, &text(key, s)?);
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => write!(out, "{i}").expect("writing to a Vec"),
            // Beyond 64 bits: Python's own decimal text, kept exactly (JsonText keeps it).
            Err(_) => out.extend_from_slice(text(key, &v.str()?)?.as_bytes()),
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let f = f.value();
        if !f.is_finite() {
            return Err(invalid(format!(
                "`{key}` holds {f}, which JSON cannot represent"
            )));
        }
        serde_json::to_writer(&mut *out, &f).expect("finite floats serialize");
    } else if let Ok(d) = v.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, item)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if let Ok(s) = k.cast::<PyString>() {
                push_json_str(out, &text(key, s)?);
            } else if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
                push_json_str(out, &text(key, &k.str()?)?);
            } else {
                return Err(invalid(format!(
                    "`{key}` has a key of type {}; JSON keys are strings",
                    type_name(&k)
                )));
            }
            out.push(b':');
            write_json(key, &item, out, depth + 1)?;
        }
        out.push(b'}');
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        out.push(b'[');
        for (i, item) in v.try_iter()?.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(key, &item?, out, depth + 1)?;
        }
        out.push(b']');
    } else {
        // What the Python encoder does with other types: datetimes, decimals, sets, ...
        let default = v
            .py()
            .import("auditlog.embedded")?
            .getattr("_json_default")?;
        let converted = default
            .call1((v,))
            .map_err(|e| invalid(format!("`{key}`: {e}")))?;
        write_json(key, &converted, out, depth + 1)?;
    }
    Ok(())
}
