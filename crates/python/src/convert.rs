//! Python dicts in the documented JSON shape of an event, straight into an engine [`Event`]:
//! no JSON text in between (encoding each event to JSON in Python cost more than the whole
//! append). The rules are the engine's JSON reader's: the same keys, unknown keys refused,
//! `before`/`after` any JSON value, `metadata` an object. Values inside them are written as
//! compact JSON here; a value JSON has no type for (a `datetime`, a `Decimal`) goes through
//! `auditlog.embedded._json_default`, as the Python encoder would.
//!
//! `append_many` is bound by this conversion, so it avoids what cost most per event (sessions
//! 29 and 30, docs/BENCHMARKS.md). A dict's keys are walked once and matched by pointer
//! against interned names (`Fields`), instead of each key being copied out as a Rust `String`
//! and matched, or each known key being looked up. JSON values are printed by serde_json from
//! the Python objects themselves (`Json` is their `Serialize`), so that `JsonText::serialize`
//! keeps the text after one check: text handed to `JsonText` as a `&str` is checked and then
//! parsed once more by serde_json for its raw value.

use crate::errors::raise;
use auditlog::{Actor, Entity, Event, JsonText, Timestamp};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;

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

/// A dict's values for the keys `names`, found in one walk over the dict. Looking each known
/// key up was a hash probe per key, present or not (about 1,900 instructions per event in
/// session 29); walking compares each key's pointer with the interned names (the keys of a
/// dict literal are interned, so they are these very objects) and only then its text.
struct Fields<'py, const N: usize> {
    values: [Option<Bound<'py, PyAny>>; N],
    /// The first key that is not one of the names: refused by `no_others`, after the known
    /// fields are read (so that a known field's bad value is what is reported first).
    other: Option<Bound<'py, PyAny>>,
}

impl<'py, const N: usize> Fields<'py, N> {
    fn walk(
        dict: &Bound<'py, PyDict>,
        names: &[&str; N],
        interned: &'static PyOnceLock<[Py<PyString>; N]>,
    ) -> Self {
        let py = dict.py();
        let keys = interned.get_or_init(py, || names.map(|n| PyString::intern(py, n).unbind()));
        let mut fields = Fields {
            values: std::array::from_fn(|_| None),
            other: None,
        };
        for (key, value) in dict.iter() {
            let at = keys
                .iter()
                .position(|k| k.as_ptr() == key.as_ptr())
                .or_else(|| {
                    let text = crate::utf8::utf8(key.cast::<PyString>().ok()?).ok()?;
                    names.iter().position(|n| *n == text)
                });
            match at {
                Some(i) => fields.values[i] = Some(value),
                None if fields.other.is_none() => fields.other = Some(key),
                None => {}
            }
        }
        fields
    }
}

/// Refuses `other`, a key not among the names (see `Fields`): `unknown` words the error.
fn no_others(
    other: Option<Bound<'_, PyAny>>,
    place: &str,
    unknown: impl FnOnce(&str) -> String,
) -> PyResult<()> {
    match other {
        None => Ok(()),
        Some(key) => Err(invalid(unknown(&string(place, &key)?))),
    }
}

/// `keys` as an error message lists them: "`a`, `b`, `c`".
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    quoted.join(", ")
}

/// `f.values[i].take()` for the key `name` of `keys`, its position found when compiling (a
/// name not in `keys` does not compile).
macro_rules! take {
    ($f:expr, $keys:expr, $name:literal) => {
        $f.values[const { index_of(&$keys, $name) }].take()
    };
}

/// The position of `name` in `keys`; for `take!`, so at compile time.
const fn index_of(keys: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < keys.len() {
        if same_text(keys[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not one of the keys")
}

const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `keys` as an array of their number (which must be `N`).
const fn as_array<const N: usize>(keys: &[&'static str]) -> [&'static str; N] {
    assert!(keys.len() == N);
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = keys[i];
        i += 1;
    }
    out
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
    const KEYS: [&str; 4] = ["id", "kind", "name", "email"];
    static INTERNED: PyOnceLock<[Py<PyString>; 4]> = PyOnceLock::new();
    let mut f = Fields::walk(as_dict("actor", v)?, &KEYS, &INTERNED);
    let id = take!(f, KEYS, "id")
        .map(|v| string("actor.id", &v))
        .transpose()?;
    let kind = opt_string("actor.kind", take!(f, KEYS, "kind"))?;
    let name = opt_string("actor.name", take!(f, KEYS, "name"))?;
    let email = opt_string("actor.email", take!(f, KEYS, "email"))?;
    no_others(f.other, "actor key", |other| {
        format!(
            "unknown field `{other}` in `actor`, expected one of {}",
            one_of(&KEYS)
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
    const KEYS: [&str; 3] = ["type", "id", "name"];
    static INTERNED: PyOnceLock<[Py<PyString>; 3]> = PyOnceLock::new();
    let mut f = Fields::walk(as_dict("entity", &v)?, &KEYS, &INTERNED);
    let kind = take!(f, KEYS, "type")
        .map(|v| string("entity.type", &v))
        .transpose()?;
    let id = take!(f, KEYS, "id")
        .map(|v| string("entity.id", &v))
        .transpose()?;
    let name = opt_string("entity.name", take!(f, KEYS, "name"))?;
    no_others(f.other, "entity key", |other| {
        format!(
            "unknown field `{other}` in `entity`, expected one of {}",
            one_of(&KEYS)
        )
    })?;
    Ok(Some(Entity {
        kind: kind.ok_or_else(|| invalid("missing field `type` in `entity`".into()))?,
        id: id.ok_or_else(|| invalid("missing field `id` in `entity`".into()))?,
        name,
    }))
}

/// `v` (the value of `key`) as JSON text. A Python error met while printing it (a bad
/// value, or one `_json_default` refuses) is kept aside and raised as it is: serde_json's
/// error can only carry text.
fn json_text(key: &str, v: &Bound<'_, PyAny>) -> PyResult<JsonText> {
    let error = RefCell::new(None);
    let json = Json {
        key,
        value: v,
        depth: 0,
        error: &error,
    };
    JsonText::serialize(&json).map_err(|e| {
        error
            .take()
            .unwrap_or_else(|| invalid(format!("`{key}`: {e}")))
    })
}

/// The event a dict in the documented JSON shape describes. Anything but a plain dict (an
/// `auditlog.Event`, another mapping) is first made one by `auditlog.embedded._as_dict`,
/// which refuses what is neither: `append_many` passes its list as it is, since a Python
/// call per event to check each was a dict cost about 100 ns.
pub(crate) fn event(v: &Bound<'_, PyAny>) -> PyResult<Event> {
    if v.is_exact_instance_of::<PyDict>() {
        return event_dict(v.cast::<PyDict>()?);
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
    event_dict(d)
}

/// An event's keys: the engine's list, as an array for `Fields`.
const EVENT_KEYS: [&str; auditlog::EVENT_KEYS.len()] = as_array(auditlog::EVENT_KEYS);

fn event_dict(d: &Bound<'_, PyDict>) -> PyResult<Event> {
    static INTERNED: PyOnceLock<[Py<PyString>; EVENT_KEYS.len()]> = PyOnceLock::new();
    let mut f = Fields::walk(d, &EVENT_KEYS, &INTERNED);
    let (actor_dict, action) = (
        take!(f, EVENT_KEYS, "actor"),
        take!(f, EVENT_KEYS, "action"),
    );
    let mut event = Event {
        occurred_at: match opt_string("occurred_at", take!(f, EVENT_KEYS, "occurred_at"))? {
            None => None,
            Some(s) => Some(
                Timestamp::parse_rfc3339(&s).map_err(|e| invalid(format!("`occurred_at`: {e}")))?,
            ),
        },
        error_message: opt_string("error_message", take!(f, EVENT_KEYS, "error_message"))?,
        entity: entity(take!(f, EVENT_KEYS, "entity"))?,
        tenant: opt_string("tenant", take!(f, EVENT_KEYS, "tenant"))?,
        ip: opt_string("ip", take!(f, EVENT_KEYS, "ip"))?,
        user_agent: opt_string("user_agent", take!(f, EVENT_KEYS, "user_agent"))?,
        session_id: opt_string("session_id", take!(f, EVENT_KEYS, "session_id"))?,
        request_id: opt_string("request_id", take!(f, EVENT_KEYS, "request_id"))?,
        source: opt_string("source", take!(f, EVENT_KEYS, "source"))?,
        changed_fields: strings("changed_fields", take!(f, EVENT_KEYS, "changed_fields"))?,
        labels: strings("labels", take!(f, EVENT_KEYS, "labels"))?,
        ..Event::default()
    };
    if let Some(v) = take!(f, EVENT_KEYS, "outcome") {
        event.outcome = parse("outcome", &v)?;
    }
    if let Some(v) = take!(f, EVENT_KEYS, "severity") {
        event.severity = parse("severity", &v)?;
    }
    // In a dict, `None` is JSON null, kept apart from an absent key (as in JSON).
    if let Some(v) = take!(f, EVENT_KEYS, "before") {
        event.before = Some(json_text("before", &v)?);
    }
    if let Some(v) = take!(f, EVENT_KEYS, "after") {
        event.after = Some(json_text("after", &v)?);
    }
    if let Some(v) = take!(f, EVENT_KEYS, "metadata").filter(|v| !v.is_none()) {
        as_dict("metadata", &v)?;
        event.metadata = Some(json_text("metadata", &v)?);
    }
    no_others(f.other, "key", |other| {
        format!(
            "unknown field `{other}`, expected one of {}",
            one_of(&EVENT_KEYS)
        )
    })?;
    event.actor = actor(&actor_dict.ok_or_else(|| invalid("missing field `actor`".into()))?)?;
    event.action = match action {
        Some(v) => string("action", &v)?,
        None => return Err(invalid("missing field `action`".into())),
    };
    Ok(event)
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

/// A Python value (`key`'s, or inside it) printed as JSON by serde_json: what the Python
/// encoder makes of it, with `auditlog.embedded._json_default` for types JSON lacks.
struct Json<'a, 'py> {
    key: &'a str,
    value: &'a Bound<'py, PyAny>,
    /// Bounds the recursion before the engine's own (smaller) depth limit applies.
    depth: usize,
    /// The first Python error met (see `json_text`).
    error: &'a RefCell<Option<PyErr>>,
}

impl<'a, 'py> Json<'a, 'py> {
    fn inner<'b>(&'b self, value: &'b Bound<'py, PyAny>) -> Json<'b, 'py> {
        Json {
            key: self.key,
            value,
            depth: self.depth + 1,
            error: self.error,
        }
    }

    /// `e` kept for `json_text`, and an error for serde_json to return with.
    fn fail<E: serde::ser::Error>(&self, e: PyErr) -> E {
        self.error.borrow_mut().get_or_insert(e);
        E::custom("a Python error (raised instead)")
    }

    fn text<'s, E: serde::ser::Error>(
        &self,
        s: &'s Bound<'_, PyString>,
    ) -> Result<Cow<'s, str>, E> {
        text(self.key, s).map_err(|e| self.fail(e))
    }
}

impl Serialize for Json<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (key, v) = (self.key, self.value);
        if self.depth > MAX_DEPTH {
            return Err(self.fail(invalid(format!("`{key}` is nested too deeply"))));
        }
        if v.is_none() {
            serializer.serialize_unit()
        } else if let Ok(s) = v.cast::<PyString>() {
            serializer.serialize_str(&self.text(s)?)
        } else if let Ok(b) = v.cast::<PyBool>() {
            serializer.serialize_bool(b.is_true())
        } else if v.is_instance_of::<PyInt>() {
            match v.extract::<i64>() {
                Ok(i) => serializer.serialize_i64(i),
                // Beyond 64 bits: Python's own decimal text, kept exactly (JsonText keeps it).
                Err(_) => {
                    let digits = v.str().map_err(|e| self.fail(e))?;
                    // An int subclass's `__str__` may print anything: checked as JSON.
                    let raw =
                        RawValue::from_string(self.text(&digits)?.into_owned()).map_err(|e| {
                            self.fail(invalid(format!(
                                "`{key}` holds an int whose text is not a JSON number: {e}"
                            )))
                        })?;
                    raw.serialize(serializer)
                }
            }
        } else if let Ok(f) = v.cast::<PyFloat>() {
            let f = f.value();
            if !f.is_finite() {
                return Err(self.fail(invalid(format!(
                    "`{key}` holds {f}, which JSON cannot represent"
                ))));
            }
            serializer.serialize_f64(f)
        } else if let Ok(d) = v.cast::<PyDict>() {
            let mut map = serializer.serialize_map(Some(d.len()))?;
            for (k, item) in d.iter() {
                if let Ok(s) = k.cast::<PyString>() {
                    map.serialize_key(&*self.text(s)?)?;
                } else if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
                    let k = k.str().map_err(|e| self.fail(e))?;
                    map.serialize_key(&*self.text(&k)?)?;
                } else {
                    return Err(self.fail(invalid(format!(
                        "`{key}` has a key of type {}; JSON keys are strings",
                        type_name(&k)
                    ))));
                }
                map.serialize_value(&self.inner(&item))?;
            }
            map.end()
        } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
            let items = v.try_iter().map_err(|e| self.fail(e))?;
            let mut seq = serializer.serialize_seq(None)?;
            for item in items {
                seq.serialize_element(&self.inner(&item.map_err(|e| self.fail(e))?))?;
            }
            seq.end()
        } else {
            // What the Python encoder does with other types: datetimes, decimals, sets, ...
            let converted = v
                .py()
                .import(intern!(v.py(), "auditlog.embedded"))
                .and_then(|m| m.getattr(intern!(v.py(), "_json_default")))
                .and_then(|default| {
                    default
                        .call1((v,))
                        .map_err(|e| invalid(format!("`{key}`: {e}")))
                })
                .map_err(|e| self.fail(e))?;
            self.inner(&converted).serialize(serializer)
        }
    }
}
