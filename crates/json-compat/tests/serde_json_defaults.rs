//! serde_json's global features change behaviour for every crate in a build. An application
//! that merely adds `auditlog` must keep the ordinary behaviour; these are the two breakages
//! `arbitrary_precision` is known for, and the key order `preserve_order` changes. Each also
//! writes an event through the engine, so the crate really links it.

use serde::Deserialize;
use std::collections::BTreeMap;

/// An untagged enum over numbers: with `arbitrary_precision` a number reaches the visitor as a
/// map, and `1.5` matches no variant.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Amount {
    Whole(u64),
    Fraction(f64),
}

/// `flatten` buffers the value; with `arbitrary_precision` the buffered number is no f64.
#[derive(Debug, Deserialize)]
struct Priced {
    name: String,
    #[serde(flatten)]
    extra: BTreeMap<String, f64>,
}

/// Appends one event in a directory of the test's own (`name`): tests run in parallel.
fn engine_is_linked(name: &str) {
    let dir = std::env::temp_dir().join(format!(
        "auditlog-json-compat-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let log = auditlog::AuditLog::open(&dir).expect("open a log");
    let event =
        auditlog::Event::new("user:1", "price.changed").after(serde_json::json!({"price": 1.5}));
    log.append(&event).expect("append").wait().expect("durable");
    log.close().expect("close");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn an_untagged_enum_parses_a_fraction() {
    engine_is_linked("untagged");
    let amount: Amount = serde_json::from_str("1.5").expect("1.5 is an Amount");
    assert_eq!(amount, Amount::Fraction(1.5));
    let whole: Amount = serde_json::from_str("7").expect("7 is an Amount");
    assert_eq!(whole, Amount::Whole(7));
}

#[test]
fn flatten_into_f64_works() {
    engine_is_linked("flatten");
    let priced: Priced =
        serde_json::from_str(r#"{"name":"tea","price":1.5,"tax":0.2}"#).expect("flatten into f64");
    assert_eq!(priced.name, "tea");
    assert_eq!(priced.extra["price"], 1.5);
    assert_eq!(priced.extra["tax"], 0.2);
}

#[test]
fn maps_are_sorted_by_key_as_serde_json_documents() {
    engine_is_linked("sorted");
    let value: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":2}"#).expect("object");
    assert_eq!(
        value.to_string(),
        r#"{"a":2,"b":1}"#,
        "preserve_order is not switched on"
    );
}
