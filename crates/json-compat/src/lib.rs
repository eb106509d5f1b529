//! No code: this crate exists for its tests (tests/serde_json_defaults.rs), which check that an
//! application depending on `auditlog` still gets serde_json's default behaviour.
//!
//! It must never gain code that the engine or the verifier depend on.
