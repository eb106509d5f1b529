//! `NativeTail`: a live [`Subscription`] that Python's `AuditLog.tail()` generator polls.

use crate::errors::IntoPy;
use auditlog::Subscription;
use pyo3::prelude::*;
use std::sync::Mutex;
use std::time::Duration;

#[pyclass(module = "auditlog._native", frozen)]
#[derive(Debug)]
pub struct NativeTail {
    sub: Mutex<Subscription>,
}

impl NativeTail {
    pub(crate) fn new(sub: Subscription) -> Self {
        NativeTail {
            sub: Mutex::new(sub),
        }
    }
}

#[pymethods]
impl NativeTail {
    /// The next matching record as JSON text, waiting at most `timeout_s` seconds without
    /// the GIL: `None` if none committed in time. Raises `Closed` once the log is closed.
    fn next_json(&self, py: Python<'_>, timeout_s: f64) -> PyResult<Option<String>> {
        let timeout = Duration::from_secs_f64(timeout_s.max(0.0));
        py.detach(|| {
            let mut sub = self.sub.lock().unwrap_or_else(|e| e.into_inner());
            let record = sub.next_timeout(timeout).py_err()?;
            Ok(record.map(|r| serde_json::to_string(&r).expect("records serialize")))
        })
    }

    /// The sequence number the tail reads next.
    #[getter]
    fn next_seq(&self) -> u64 {
        self.sub
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq()
    }
}
