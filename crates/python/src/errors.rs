//! Engine errors as the exception classes of `auditlog.errors` (defined in Python, so that
//! they can also derive from `ValueError`, `LookupError` or `OSError`), each carrying the
//! engine's `Display` text.

use auditlog::{AppendError, Error, OpenError};
use pyo3::prelude::*;

/// The `auditlog.errors` class for an engine error.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::InvalidEvent { .. } | Error::EventTooLarge { .. } => "InvalidEvent",
        Error::InvalidOption { .. } => "InvalidOption",
        Error::QueueFull => "QueueFull",
        Error::Poisoned { .. } => "Poisoned",
        Error::Closed | Error::ReadOnly => "Closed",
        Error::Locked { .. } => "Locked",
        Error::UnsupportedVersion { .. } | Error::NotALog { .. } => "NotALog",
        Error::Corrupt(_) | Error::BadCheckpoint { .. } | Error::InconsistentCheckpoint { .. } => {
            "Damaged"
        }
        Error::InvalidCursor { .. } => "InvalidCursor",
        Error::NotFound { .. } => "NotFound",
        Error::Io { .. } => "IoError",
        _ => "AuditLogError",
    }
}

/// A Python exception of class `name` in `auditlog.errors` with `message`.
pub(crate) fn raise(name: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("auditlog.errors")
            .and_then(|m| m.getattr(name))
            .and_then(|class| class.call1((message.clone(),)));
        match made {
            Ok(exc) => PyErr::from_value(exc),
            // The pure-Python half is missing: still say what the engine said.
            Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
        }
    })
}

/// Engine errors into Python exceptions.
pub(crate) trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(|e| raise(class_of(&e), e.to_string()))
    }
}

impl<T> IntoPy<T> for Result<T, AppendError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(Error::from).py_err()
    }
}

impl<T> IntoPy<T> for Result<T, OpenError> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(Error::from).py_err()
    }
}

/// An event that is not the documented JSON shape.
pub(crate) fn bad_json(e: &serde_json::Error) -> PyErr {
    raise(
        "InvalidEvent",
        format!("invalid event: {e}{}", auditlog::json_error_hint(e)),
    )
}
