//! `NativeLog`: an open [`AuditLog`] held by Python, and the module's free functions.

use crate::convert;
use crate::errors::{IntoPy, bad_json, raise};
use crate::query::Filters;
use crate::receipt::{hex, receipt, receipts};
use crate::tail::NativeTail;
use auditlog::{AuditLog, Durability, Event, VerifyOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

fn parse_event(json: &str) -> PyResult<Event> {
    serde_json::from_str(json).map_err(|e| bad_json(&e))
}

fn durability(name: &str, sync_interval_ms: Option<u64>) -> PyResult<Durability> {
    match (name, sync_interval_ms) {
        ("immediate", None) => Ok(Durability::Immediate),
        ("os_buffered", None) => Ok(Durability::OsBuffered),
        ("periodic", ms) => Ok(Durability::Periodic(Duration::from_millis(
            ms.unwrap_or(100),
        ))),
        (_, Some(_)) => Err(raise(
            "InvalidOption",
            "invalid option `sync_interval_ms`: only durability=\"periodic\" takes an interval"
                .into(),
        )),
        (other, None) => Err(raise(
            "InvalidOption",
            format!(
                "invalid option `durability`: {other:?} is not one of \"immediate\", \"periodic\", \"os_buffered\""
            ),
        )),
    }
}

/// An open log. Every method may be called from any Python thread; appends from several
/// threads share the engine's group commit.
#[pyclass(module = "auditlog._native", frozen)]
#[derive(Debug)]
pub struct NativeLog {
    /// `None` once closed. Calls clone the `Arc` and release the lock at once, so `close`
    /// only waits for calls in flight.
    log: RwLock<Option<Arc<AuditLog>>>,
    /// The process that opened the log: after `fork()` the child has no writer thread, and
    /// an append there would wait forever for it.
    pid: u32,
    dir: PathBuf,
}

impl NativeLog {
    fn handle(&self) -> PyResult<Arc<AuditLog>> {
        if std::process::id() != self.pid {
            return Err(raise(
                "Closed",
                format!(
                    "this log was opened by process {} before a fork(); open it again in this process (or use one `auditlog serve` for many processes)",
                    self.pid
                ),
            ));
        }
        let guard = self.log.read().unwrap_or_else(|e| e.into_inner());
        guard
            .clone()
            .ok_or_else(|| raise("Closed", "the log is closed".into()))
    }
}

#[pymethods]
impl NativeLog {
    /// Opens (creating if needed) the log in `path` for writing.
    #[staticmethod]
    #[pyo3(signature = (path, durability = "immediate", sync_interval_ms = None, segment_max_bytes = None, max_event_bytes = None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        durability: &str,
        sync_interval_ms: Option<u64>,
        segment_max_bytes: Option<u64>,
        max_event_bytes: Option<usize>,
    ) -> PyResult<Self> {
        let mut builder =
            AuditLog::builder(&path).durability(self::durability(durability, sync_interval_ms)?);
        if let Some(bytes) = segment_max_bytes {
            builder = builder.segment_max_bytes(bytes);
        }
        if let Some(bytes) = max_event_bytes {
            builder = builder.max_event_bytes(bytes);
        }
        let log = py.detach(|| builder.open()).py_err()?;
        Ok(NativeLog {
            dir: log.dir().to_path_buf(),
            log: RwLock::new(Some(Arc::new(log))),
            pid: std::process::id(),
        })
    }

    /// The log's directory.
    #[getter]
    fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.log.read().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Appends one event (JSON text) and waits until it is acknowledged.
    fn append_json<'py>(&self, py: Python<'py>, json: String) -> PyResult<Bound<'py, PyAny>> {
        let log = self.handle()?;
        let written = py.detach(|| {
            let event = parse_event(&json)?;
            log.append(&event).py_err()?.wait().py_err()
        })?;
        receipt(py, &written)
    }

    /// Appends one event (a dict in the JSON shape) and waits until it is acknowledged.
    fn append_dict<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let log = self.handle()?;
        let event = convert::event(event)?;
        let written = py.detach(|| log.append(&event).py_err()?.wait().py_err())?;
        receipt(py, &written)
    }

    /// Appends a list of event dicts as one request (see `append_many_json`).
    fn append_many_dicts<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyList>> {
        let log = self.handle()?;
        let events = events
            .iter()
            .map(|e| convert::event(&e))
            .collect::<PyResult<Vec<Event>>>()?;
        let written = py.detach(|| log.append_batch(&events).py_err()?.wait().py_err())?;
        receipts(py, &written)
    }

    /// `try_submit_json` for an event dict.
    fn try_submit_dict(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<PendingAppend> {
        let log = self.handle()?;
        let event = convert::event(event)?;
        let handle = py.detach(|| log.try_append(&event).py_err())?;
        Ok(PendingAppend {
            handle: std::sync::Mutex::new(Some(handle)),
        })
    }

    /// Appends a JSON array of events as one request: consecutive sequence numbers, one
    /// acknowledgement; if one is invalid, none is written.
    fn append_many_json<'py>(&self, py: Python<'py>, json: String) -> PyResult<Bound<'py, PyList>> {
        let log = self.handle()?;
        let written = py.detach(|| {
            let events: Vec<Event> = serde_json::from_str(&json).map_err(|e| bad_json(&e))?;
            log.append_batch(&events).py_err()?.wait().py_err()
        })?;
        receipts(py, &written)
    }

    /// Queues one event without blocking (for asyncio): an invalid event or a full queue is
    /// an exception now; the returned `PendingAppend` waits for the acknowledgement.
    fn try_submit_json(&self, py: Python<'_>, json: String) -> PyResult<PendingAppend> {
        let log = self.handle()?;
        let handle = py.detach(|| log.try_append(&parse_event(&json)?).py_err())?;
        Ok(PendingAppend {
            handle: std::sync::Mutex::new(Some(handle)),
        })
    }

    /// The record `seq` as JSON text.
    fn get_json(&self, py: Python<'_>, seq: u64) -> PyResult<String> {
        let log = self.handle()?;
        py.detach(|| {
            let record = log.get(seq).py_err()?;
            Ok(serde_json::to_string(&record).expect("records serialize"))
        })
    }

    /// One page of a query: `(records as a JSON array, cursor, has_more)`.
    #[pyo3(signature = (filters, limit = None, cursor = None, newest_first = false))]
    fn query_json(
        &self,
        py: Python<'_>,
        filters: &Bound<'_, PyDict>,
        limit: Option<usize>,
        cursor: Option<String>,
        newest_first: bool,
    ) -> PyResult<(String, String, bool)> {
        let log = self.handle()?;
        let query = Filters::from_dict(filters)?.query(limit, cursor.as_deref(), newest_first)?;
        py.detach(|| {
            let page = log.query(&query).py_err()?;
            let json = serde_json::to_string(&page.records).expect("records serialize");
            Ok((json, page.cursor.to_string(), page.has_more))
        })
    }

    /// How many records match (ignoring any limit).
    fn count(&self, py: Python<'_>, filters: &Bound<'_, PyDict>) -> PyResult<u64> {
        let log = self.handle()?;
        let query = Filters::from_dict(filters)?.query(None, None, false)?;
        py.detach(|| log.count(&query).py_err())
    }

    /// A live tail of records matching `filters`, from `from_seq` (default: the end).
    #[pyo3(signature = (filters, from_seq = None))]
    fn tail(&self, filters: &Bound<'_, PyDict>, from_seq: Option<u64>) -> PyResult<NativeTail> {
        let log = self.handle()?;
        let query = Filters::from_dict(filters)?.query(None, None, false)?;
        let from = from_seq.unwrap_or_else(|| log.end_seq());
        Ok(NativeTail::new(log.subscribe(&query, from)))
    }

    /// `(size, root as hex)`.
    fn tree_head(&self) -> PyResult<(u64, String)> {
        let head = self.handle()?.tree_head().py_err()?;
        Ok((head.size, hex(&head.root, &mut [0; 64]).to_owned()))
    }

    #[getter]
    fn first_seq(&self) -> PyResult<u64> {
        Ok(self.handle()?.first_seq())
    }

    #[getter]
    fn end_seq(&self) -> PyResult<u64> {
        Ok(self.handle()?.end_seq())
    }

    /// An inclusion proof of `seq` (RFC 9162 shape, as `auditlog prove` prints it) as JSON.
    #[pyo3(signature = (seq, tree_size = None))]
    fn prove_json(&self, py: Python<'_>, seq: u64, tree_size: Option<u64>) -> PyResult<String> {
        let log = self.handle()?;
        py.detach(|| {
            let proof = auditlog::proof::prove_inclusion(log.dir(), seq, tree_size).py_err()?;
            Ok(proof.to_string())
        })
    }

    /// A consistency proof from the tree of `old` records to that of `new` (default: now).
    #[pyo3(signature = (old, new = None))]
    fn prove_consistency_json(
        &self,
        py: Python<'_>,
        old: u64,
        new: Option<u64>,
    ) -> PyResult<String> {
        let log = self.handle()?;
        py.detach(|| {
            let proof = auditlog::proof::prove_consistency(log.dir(), old, new).py_err()?;
            Ok(proof.to_string())
        })
    }

    /// Makes every acknowledged record durable, whatever the durability mode.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        let log = self.handle()?;
        py.detach(|| log.sync().py_err())
    }

    /// Seals the active segment and starts a new one.
    fn seal(&self, py: Python<'_>) -> PyResult<()> {
        let log = self.handle()?;
        py.detach(|| log.seal().py_err())
    }

    /// Writes and syncs everything queued, then stops the writer. Closing twice is a no-op.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.log.write().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut log) = taken else {
            return Ok(());
        };
        py.detach(|| {
            // Calls in flight hold a clone for as long as they run; wait for them.
            loop {
                match Arc::try_unwrap(log) {
                    Ok(log) => return log.close().py_err(),
                    Err(shared) => {
                        log = shared;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        })
    }
}

/// An append queued by `try_submit_json`; `wait()` blocks (without the GIL) until it is
/// acknowledged.
#[pyclass(module = "auditlog._native", frozen)]
#[derive(Debug)]
pub struct PendingAppend {
    handle: std::sync::Mutex<Option<auditlog::AppendHandle>>,
}

#[pymethods]
impl PendingAppend {
    fn wait<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| raise("AuditLogError", "this append was already waited for".into()))?;
        let written = py.detach(|| handle.wait().py_err())?;
        receipt(py, &written)
    }
}

/// Verifies the log directory, segment file or bundle at `path`; the report as JSON (damage
/// is in the report, never an exception).
#[pyfunction]
pub fn verify(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.detach(|| {
        let report = auditlog::verify(&path, &VerifyOptions::default()).py_err()?;
        Ok(report.to_json().to_string())
    })
}

/// Checks an event (JSON text) against the default limits without writing it.
#[pyfunction]
pub fn validate_event(json: &str) -> PyResult<()> {
    let event = parse_event(json)?;
    event
        .validate(&auditlog::EventLimits::default())
        .map_err(|e| raise("InvalidEvent", auditlog::Error::from(e).to_string()))
}
