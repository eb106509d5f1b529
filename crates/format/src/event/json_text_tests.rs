use serde_json::json;

use super::*;

#[test]
fn text_is_kept_exactly_but_compact() {
    for (input, kept) in [
        (
            r#"{"b":12345678901234567890123456789,"a":1.10,"c":1e400}"#,
            r#"{"b":12345678901234567890123456789,"a":1.10,"c":1e400}"#,
        ),
        (" [ 1 , -0.0 ,\n\t\"a b\\\" \" ] ", r#"[1,-0.0,"a b\" "]"#),
        (r#""\u00e9\/\ud83d\ude00""#, r#""\u00e9\/\ud83d\ude00""#),
        (r#"{"k":1,"k":2}"#, r#"{"k":1,"k":2}"#),
        ("null", "null"),
    ] {
        let text: JsonText = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(text.as_str(), kept);
        assert_eq!(serde_json::to_string(&text).unwrap(), kept);
        let back: JsonText = serde_json::from_str(kept).unwrap();
        assert_eq!(back, text);
    }
}

#[test]
fn bad_texts_are_typed_errors() {
    for (input, offset) in [
        ("", Some(0)),
        ("{\"a\":}", Some(5)),
        ("[1,]", Some(3)),
        ("01", Some(1)),
        ("1 2", Some(2)),
        (r#""\ud800""#, Some(1)),
        (r#""\udc00\ud800""#, Some(1)),
        (r#"["\ud83dx"]"#, Some(2)),
    ] {
        let err = input.parse::<JsonText>().unwrap_err();
        assert_eq!(err.offset(), offset, "{input}: {err}");
        assert!(!err.to_string().is_empty());
    }
    let deep = "[".repeat(128) + &"]".repeat(128);
    let err = deep.parse::<JsonText>().unwrap_err();
    assert!(err.to_string().contains("127 levels"), "{err}");
    let ok = "[".repeat(127) + &"]".repeat(127);
    assert_eq!(ok.parse::<JsonText>().unwrap().depth(), 127);
}

#[test]
fn depth_and_widest_key_are_measured() {
    let text: JsonText = r#"{"ab":[{"x":1}],"\u00e9":2,"e\n":3}"#.parse().unwrap();
    assert_eq!(text.depth(), 3);
    // "é" is two bytes of UTF-8, "e\n" two as well, "ab" two.
    assert_eq!(text.widest_key(), 2);
    assert!(text.is_object());
    let text: JsonText = r#"{"\ud83d\ude00x":1}"#.parse().unwrap();
    assert_eq!(text.widest_key(), 5);
    let text = JsonText::from(json!([1, {"longer key": 2}]));
    assert_eq!(
        (text.depth(), text.widest_key(), text.is_object()),
        (2, 0, false)
    );
}

#[test]
fn values_too_deep_for_a_payload_are_marked_not_refused() {
    let deep = (0..200).fold(json!(1), |inner, _| json!([inner]));
    let text = JsonText::from(&deep);
    assert!(text.depth() > 127);
}

#[test]
fn with_entry_replaces_in_place_and_appends() {
    let meta: JsonText = r#"{"b":1.10,"a":{"n":1e400}}"#.parse().unwrap();
    let one = JsonText::from(json!(1));
    assert_eq!(
        meta.with_entry("b", &one).as_str(),
        r#"{"b":1,"a":{"n":1e400}}"#
    );
    assert_eq!(
        meta.with_entry("new \"key\"", &one).as_str(),
        r#"{"b":1.10,"a":{"n":1e400},"new \"key\"":1}"#
    );
    assert_eq!(
        JsonText::default().with_entry("k", &one).as_str(),
        r#"{"k":1}"#
    );
}

#[test]
fn metadata_must_be_an_object() {
    assert!(
        JsonText::from_stored("[1]", true)
            .unwrap_err()
            .is_not_an_object()
    );
    assert!(JsonText::from_stored("[1]", false).is_ok());
    assert!(JsonText::from_stored("{}", true).is_ok());
}

#[test]
fn parse_on_demand() {
    let text: JsonText = r#"{"n":12345678901234567890123456789,"f":1.5}"#.parse().unwrap();
    let raw: std::collections::BTreeMap<String, &RawValue> = text.parse().unwrap();
    assert_eq!(raw["n"].get(), "12345678901234567890123456789");
    assert_eq!(text.to_value().unwrap()["f"], json!(1.5));
    let huge: JsonText = "1e400".parse().unwrap();
    assert!(huge.to_value().is_err(), "beyond f64, as documented");
}

/// What `preserve_order` and `arbitrary_precision` used to break for every application
/// linking this crate: an untagged enum and `#[serde(flatten)]` reading `1.5` as `f64`.
#[test]
fn serde_json_features_are_not_forced_on_applications() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Num {
        Int(i64),
        Float(f64),
    }
    assert_eq!(serde_json::from_str::<Num>("1.5").unwrap(), Num::Float(1.5));

    #[derive(serde::Deserialize)]
    struct Inner {
        x: f64,
    }
    #[derive(serde::Deserialize)]
    struct Outer {
        #[serde(flatten)]
        inner: Inner,
    }
    let outer: Outer = serde_json::from_str(r#"{"x":1.5}"#).unwrap();
    assert_eq!(outer.inner.x, 1.5);
}
