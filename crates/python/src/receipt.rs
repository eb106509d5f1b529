//! Receipts as Python sees them: `auditlog.Receipt` named tuples `(seq, recorded_at,
//! tree_size, leaf_hash)`, the time as RFC 3339 text and the hash as lowercase hex, made here
//! directly.
//!
//! Before session 30 the extension returned plain tuples and the package made each named
//! tuple from one with `tuple.__new__` (which copies it into a second tuple): two
//! GC-tracked objects per record: ~1,080 instructions per event of `append_many` for the
//! Rust tuples, ~2,890 for the Python map and list, and ~1,970 for the collections the
//! allocations set off (docs/BENCHMARKS.md, "Python append_many (session 30)"). Here each receipt is one
//! object, allocated as an instance of `Receipt` and filled as `tuple.__new__` fills it, and
//! taken out of the cycle collector at once: it holds two ints and two strs and has no
//! `__dict__`, so it can refer to nothing that refers back to it (CPython untracks a plain
//! tuple of such items at its first collection, but not a subclass's instance).
//! Neither call is offered by PyO3, so this is the crate's second module of unsafe code
//! (the first is `utf8.rs`).
#![expect(
    unsafe_code,
    reason = "a tuple subclass's instance allocated and filled through the C API"
)]

use auditlog::merkle::Hash;
use auditlog::{Receipt, Timestamp};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple, PyType};

/// `hash` as lowercase hex, written into `out`.
pub(crate) fn hex<'a>(hash: &Hash, out: &'a mut [u8; 64]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in hash.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

/// `auditlog.Receipt`, checked once to be a subclass of tuple whose instances have no
/// `__dict__` (what `new_receipt` relies on).
fn receipt_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static RECEIPT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    RECEIPT
        .get_or_try_init(py, || {
            let class = py
                .import(pyo3::intern!(py, "auditlog._model"))?
                .getattr(pyo3::intern!(py, "Receipt"))?
                .cast_into::<PyType>()?;
            let dict_offset: isize = class
                .getattr(pyo3::intern!(py, "__dictoffset__"))?
                .extract()?;
            if !class.is_subclass_of::<PyTuple>()? || dict_offset != 0 {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "auditlog._model.Receipt is not a tuple subclass without a __dict__",
                ));
            }
            Ok(class.unbind())
        })
        .map(|class| class.bind(py))
}

/// One `Receipt(seq, recorded_at, tree_size, leaf_hash)`.
fn new_receipt<'py>(
    class: &Bound<'py, PyType>,
    fields: [Bound<'py, PyAny>; 4],
) -> PyResult<Bound<'py, PyAny>> {
    let py = class.py();
    let type_ptr = class.as_ptr().cast::<ffi::PyTypeObject>();
    // SAFETY: `class` is a live type object (the GIL is held, a `Bound` proves it), a heap
    // type (made in Python), so `PyType_GetSlot` answers for it on every version, with a
    // function pointer or NULL, which `Option` of a function pointer represents. `receipt_type`
    // checked it subclasses tuple, so its `tp_alloc` (a class made in Python has
    // `PyType_GenericAlloc`) makes an instance with room for 4 items, all NULL, with one
    // reference, as `tuple.__new__` makes it for a subclass; NULL is an exception set.
    let object = unsafe {
        let slot = ffi::PyType_GetSlot(type_ptr, ffi::Py_tp_alloc);
        let alloc: Option<ffi::allocfunc> = std::mem::transmute(slot);
        let alloc = alloc.ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err("auditlog._model.Receipt has no tp_alloc")
        })?;
        Bound::from_owned_ptr_or_err(py, alloc(type_ptr, 4))?
    };
    for (i, field) in (0..).zip(fields) {
        // SAFETY: `object` is a tuple (subclass) of 4 items that nothing else refers to yet
        // (`PyTuple_SetItem` checks both) and `i` is below 4; the call takes over the
        // reference `into_ptr` gives up, on failure too.
        if unsafe { ffi::PyTuple_SetItem(object.as_ptr(), i, field.into_ptr()) } != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    // SAFETY: a live object of a GC type, tracked by `tp_alloc`; it holds only ints and
    // strs, so it can be part of no reference cycle and the collector need not see it.
    unsafe { ffi::PyObject_GC_UnTrack(object.as_ptr().cast()) };
    Ok(object)
}

/// The receipt of one append.
pub(crate) fn receipt<'py>(py: Python<'py>, r: &Receipt) -> PyResult<Bound<'py, PyAny>> {
    let fields = [
        r.seq.into_pyobject(py)?.into_any(),
        PyString::new(py, &r.recorded_at.to_rfc3339()).into_any(),
        r.tree_size.into_pyobject(py)?.into_any(),
        PyString::new(py, hex(&r.leaf_hash, &mut [0; 64])).into_any(),
    ];
    new_receipt(receipt_type(py)?, fields)
}

/// A batch's receipts, as a list. The records of one request share their `recorded_at` and
/// tree size, so each of those is made once as a Python object rather than once per record.
pub(crate) fn receipts<'py>(py: Python<'py>, receipts: &[Receipt]) -> PyResult<Bound<'py, PyList>> {
    let class = receipt_type(py)?;
    let mut time: Option<(Timestamp, Bound<'py, PyAny>)> = None;
    let mut tree: Option<(u64, Bound<'py, PyAny>)> = None;
    let mut digits = [0; 64];
    let mut rows = Vec::with_capacity(receipts.len());
    for r in receipts {
        let recorded_at = match &time {
            Some((at, text)) if *at == r.recorded_at => text.clone(),
            _ => time
                .insert((
                    r.recorded_at,
                    PyString::new(py, &r.recorded_at.to_rfc3339()).into_any(),
                ))
                .1
                .clone(),
        };
        let tree_size = match &tree {
            Some((size, int)) if *size == r.tree_size => int.clone(),
            _ => tree
                .insert((r.tree_size, r.tree_size.into_pyobject(py)?.into_any()))
                .1
                .clone(),
        };
        let leaf_hash = PyString::new(py, hex(&r.leaf_hash, &mut digits)).into_any();
        let seq = r.seq.into_pyobject(py)?.into_any();
        rows.push(new_receipt(
            class,
            [seq, recorded_at, tree_size, leaf_hash],
        )?);
    }
    PyList::new(py, rows)
}
