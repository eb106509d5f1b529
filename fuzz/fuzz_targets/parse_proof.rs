#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| auditlog::fuzzing::parse_proof(data));
