//! Python dicts in the documented JSON shape of an event, straight into an engine [`Event`]:
//! no JSON text in between (encoding each event to JSON in Python cost more than the whole
//! append). The rules are the engine's JSON reader's: the same keys, unknown keys refused,
//! `before`/`after` any JSON value, `metadata` an object. Values inside them are written as
//! compact JSON here; a value JSON has no type for (a `datetime`, a `Decimal`) goes through
//! `auditlog.embedded._json_default`, as the Python encoder would.

use crate::errors::raise;
use auditlog::{Actor, Entity, Event, JsonText, Outcome, Severity, Timestamp};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::fmt::Write;

/// Deeper JSON than this is refused before the engine's own (smaller) depth limit applies:
/// it bounds the recursion here.
const MAX_DEPTH: usize = 256;

fn invalid(message: String) -> PyErr {
    raise("InvalidEvent", format!("invalid event: {message}"))
}

fn string(key: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    match v.cast::<PyString>() {
        Ok(s) => text(key, s),
        Err(_) => Err(invalid(format!(
            "`{key}` must be a string, not {}",
            type_name(v)
        ))),
    }
}

/// The UTF-8 text of a Python str. A str may hold a lone surrogate (`"\ud800"`, what
/// `surrogateescape` decoding leaves for undecodable bytes), which is not Unicode text and
/// has no UTF-8 form: that is the caller's bad event, not a `UnicodeEncodeError` from
/// deep inside the append.
fn text(key: &str, s: &Bound<'_, PyString>) -> PyResult<String> {
    s.extract::<String>().map_err(|_| {
        invalid(format!(
            "`{key}` holds a string with a lone surrogate (such as '\\ud800'), which is not \
             Unicode text; decode its bytes with errors='replace' or 'backslashreplace' first"
        ))
    })
}

fn opt_string(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if v.is_none() {
        return Ok(None);
    }
    string(key, v).map(Some)
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

fn strings(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
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
    let d = as_dict("actor", v)?;
    let mut actor = Actor::default();
    let mut id = None;
    for (k, v) in d.iter() {
        let k = string("actor key", &k)?;
        match k.as_str() {
            "id" => id = Some(string("actor.id", &v)?),
            "kind" => actor.kind = opt_string("actor.kind", &v)?,
            "name" => actor.name = opt_string("actor.name", &v)?,
            "email" => actor.email = opt_string("actor.email", &v)?,
            other => {
                return Err(invalid(format!(
                    "unknown field `{other}` in `actor`, expected one of `id`, `kind`, `name`, `email`"
                )));
            }
        }
    }
    actor.id = id.ok_or_else(|| invalid("missing field `id` in `actor`".into()))?;
    Ok(actor)
}

fn entity(v: &Bound<'_, PyAny>) -> PyResult<Option<Entity>> {
    if v.is_none() {
        return Ok(None);
    }
    let d = as_dict("entity", v)?;
    let (mut kind, mut id, mut name) = (None, None, None);
    for (k, v) in d.iter() {
        let k = string("entity key", &k)?;
        match k.as_str() {
            "type" => kind = Some(string("entity.type", &v)?),
            "id" => id = Some(string("entity.id", &v)?),
            "name" => name = opt_string("entity.name", &v)?,
            other => {
                return Err(invalid(format!(
                    "unknown field `{other}` in `entity`, expected one of `type`, `id`, `name`"
                )));
            }
        }
    }
    Ok(Some(Entity {
        kind: kind.ok_or_else(|| invalid("missing field `type` in `entity`".into()))?,
        id: id.ok_or_else(|| invalid("missing field `id` in `entity`".into()))?,
        name,
    }))
}

fn json_text(key: &str, v: &Bound<'_, PyAny>) -> PyResult<JsonText> {
    let mut out = String::new();
    write_json(key, v, &mut out, 0)?;
    JsonText::try_from(out).map_err(|e| invalid(format!("`{key}`: {e}")))
}

fn write_json(key: &str, v: &Bound<'_, PyAny>, out: &mut String, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!("`{key}` is nested too deeply")));
    }
    if v.is_none() {
        out.push_str("null");
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => write!(out, "{i}").expect("writing to a String"),
            // Beyond 64 bits: Python's own decimal text, kept exactly (JsonText keeps it).
            Err(_) => out.push_str(&text(key, &v.str()?)?),
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let f = f.value();
        if !f.is_finite() {
            return Err(invalid(format!(
                "`{key}` holds {f}, which JSON cannot represent"
            )));
        }
        out.push_str(&serde_json::to_string(&f).expect("finite floats serialize"));
    } else if let Ok(s) = v.cast::<PyString>() {
        let s = text(key, s)?;
        out.push_str(&serde_json::to_string(&s).expect("strings serialize"));
    } else if let Ok(d) = v.cast::<PyDict>() {
        out.push('{');
        for (i, (k, item)) in d.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let k: String = if let Ok(s) = k.cast::<PyString>() {
                text(key, s)?
            } else if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
                text(key, &k.str()?)?
            } else {
                return Err(invalid(format!(
                    "`{key}` has a key of type {}; JSON keys are strings",
                    type_name(&k)
                )));
            };
            out.push_str(&serde_json::to_string(&k).expect("strings serialize"));
            out.push(':');
            write_json(key, &item, out, depth + 1)?;
        }
        out.push('}');
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        out.push('[');
        for (i, item) in v.try_iter()?.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json(key, &item?, out, depth + 1)?;
        }
        out.push(']');
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

/// The event a dict in the documented JSON shape describes.
pub(crate) fn event(v: &Bound<'_, PyAny>) -> PyResult<Event> {
    let d = v.cast::<PyDict>().map_err(|_| {
        invalid(format!(
            "expected an auditlog.Event or a dict, not {}",
            type_name(v)
        ))
    })?;
    let mut event = Event::default();
    let (mut has_actor, mut has_action) = (false, false);
    for (k, v) in d.iter() {
        let k = string("key", &k)?;
        match k.as_str() {
            "actor" => {
                event.actor = actor(&v)?;
                has_actor = true;
            }
            "action" => {
                event.action = string("action", &v)?;
                has_action = true;
            }
            "occurred_at" => {
                event.occurred_at = match opt_string("occurred_at", &v)? {
                    None => None,
                    Some(s) => Some(
                        Timestamp::parse_rfc3339(&s)
                            .map_err(|e| invalid(format!("`occurred_at`: {e}")))?,
                    ),
                }
            }
            "outcome" => {
                let s = string("outcome", &v)?;
                event.outcome = s
                    .parse::<Outcome>()
                    .map_err(|e| invalid(format!("`outcome`: {e}")))?;
            }
            "severity" => {
                let s = string("severity", &v)?;
                event.severity = s
                    .parse::<Severity>()
                    .map_err(|e| invalid(format!("`severity`: {e}")))?;
            }
            "error_message" => event.error_message = opt_string("error_message", &v)?,
            "entity" => event.entity = entity(&v)?,
            "tenant" => event.tenant = opt_string("tenant", &v)?,
            "ip" => event.ip = opt_string("ip", &v)?,
            "user_agent" => event.user_agent = opt_string("user_agent", &v)?,
            "session_id" => event.session_id = opt_string("session_id", &v)?,
            "request_id" => event.request_id = opt_string("request_id", &v)?,
            "source" => event.source = opt_string("source", &v)?,
            // In a dict, `None` is JSON null, kept apart from an absent key (as in JSON).
            "before" => event.before = Some(json_text("before", &v)?),
            "after" => event.after = Some(json_text("after", &v)?),
            "changed_fields" => event.changed_fields = strings("changed_fields", &v)?,
            "labels" => event.labels = strings("labels", &v)?,
            "metadata" => {
                if !v.is_none() {
                    as_dict("metadata", &v)?;
                    event.metadata = Some(json_text("metadata", &v)?);
                }
            }
            other => {
                return Err(invalid(format!(
                    "unknown field `{other}`, expected one of `occurred_at`, `actor`, `action`, `outcome`, `error_message`, `severity`, `entity`, `tenant`, `ip`, `user_agent`, `session_id`, `request_id`, `source`, `before`, `after`, `changed_fields`, `labels`, `metadata`"
                )));
            }
        }
    }
    if !has_actor {
        return Err(invalid("missing field `actor`".into()));
    }
    if !has_action {
        return Err(invalid("missing field `action`".into()));
    }
    Ok(event)
}
