//! `auditlog._native`: the engine as a CPython extension module (abi3, Python 3.9 and later).
//!
//! This module is the narrow, private half of the Python package in `python/auditlog`: events
//! cross into Rust as dicts in their documented JSON shape, converted directly (`convert.rs`,
//! unknown keys refused) or as that JSON text (the engine's own serde reader), and records, proofs and reports come back as JSON text, which the pure-Python
//! half turns into `Event`, `Record` and `Page` objects. Every call that does I/O or waits
//! releases the GIL (`py.detach`). Engine errors become the exception classes of
//! `auditlog.errors`, carrying the engine's message.

mod convert;
mod errors;
mod log;
mod query;
mod receipt;
mod tail;
mod utf8;

use pyo3::prelude::*;

/// mimalloc rather than the C library's malloc: a batch's events are a dozen Rust strings
/// each, allocated in Python's thread and freed there or by the writer, and glibc's malloc
/// and free took about 200 and 170 instructions a call, a fifth of `append_many` (session 29,
/// docs/BENCHMARKS.md). Only the extension's own allocations use it; Python's are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<log::NativeLog>()?;
    m.add_class::<log::PendingAppend>()?;
    m.add_class::<tail::NativeTail>()?;
    m.add_function(wrap_pyfunction!(log::verify, m)?)?;
    m.add_function(wrap_pyfunction!(log::validate_event, m)?)?;
    m.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
