//! The UTF-8 text of a Python str, read in place where the running interpreter's stable ABI
//! has the call for it.
//!
//! `PyUnicode_AsUTF8AndSize` returns the str's own UTF-8 bytes (an ASCII str's characters
//! themselves; for other text, a UTF-8 copy CPython makes once and keeps with the str). It is
//! in the stable ABI only from Python 3.10, and the wheel is built for 3.9's (abi3-py39), so
//! PyO3 offers there only `PyUnicode_AsUTF8String`, which makes a new bytes object on every
//! call: in `append_many` that object, its copy and its release were about 290 of the 410
//! instructions each str cost (session 29, docs/BENCHMARKS.md). So the call is declared here
//! and made only when the running interpreter is 3.10 or later; 3.9 exports the function
//! too, so the module loads there, but never calls it.
#![expect(
    unsafe_code,
    reason = "one C-API call that PyO3 does not offer to an abi3-py39 build"
)]

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::borrow::Cow;
use std::ffi::c_char;
use std::sync::OnceLock;

unsafe extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// Whether `PyUnicode_AsUTF8AndSize` is in the running interpreter's stable ABI.
fn in_place(py: Python<'_>) -> bool {
    static IN_PLACE: OnceLock<bool> = OnceLock::new();
    *IN_PLACE.get_or_init(|| py.version_info() >= (3, 10))
}

/// `s` as UTF-8. A str with a lone surrogate has none: Python's `UnicodeEncodeError`.
pub(crate) fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if !in_place(s.py()) {
        return s.to_cow();
    }
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str and the GIL is held (a `Bound` proves both). The call returns
    // NULL with an exception set, or a pointer to `size` bytes that the str owns and never
    // changes (a str is immutable) until it is freed, which the borrow `'a` of `s` rules out.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    let len = usize::try_from(size).expect("a str's UTF-8 length is not negative");
    // SAFETY: as above, `data` points to `len` bytes that live and stay unchanged for `'a`,
    // and they are UTF-8: CPython's own encoder wrote them (or they are an ASCII str's
    // characters), and it fails rather than encode a lone surrogate. Checking them again
    // cost a tenth of the conversion.
    Ok(Cow::Borrowed(unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), len))
    }))
}
