//! The generated JSON decoder on input that is not in its own shape: fields
//! in any order, unknown fields of any shape, names written with escapes,
//! duplicates, broken syntax inside skipped values. In process.

use kinesis_tables::Record;
use kinesis_tables_tests::generated::{BenchRow, Everything};

fn row(text: &str) -> Result<BenchRow, kinesis_tables::DecodeError> {
    BenchRow::decode(text.as_bytes())
}

#[test]
fn fields_in_any_order_and_unknown_fields_of_any_shape() {
    let in_order = row(r#"{"id":7,"user":"u","score":1.5,"active":true,"count":3,"tags":["a"]}"#).unwrap();
    let reversed = row(r#"{"tags":["a"],"count":3,"active":true,"score":1.5,"user":"u","id":7}"#).unwrap();
    assert_eq!(in_order, reversed);
    let noisy = row(concat!(
        r#"{"x":{"deep":[1,{"y":null}],"z":"\u00e9"},"id":7,"user":"u","extra":[true,false],"#,
        r#""score":1.5,"active":true,"count":3,"tags":["a"],"last":-1.5e-3}"#
    ))
    .unwrap();
    assert_eq!(noisy, in_order);
    // A name written with escapes is the same name.
    let escaped = row(r#"{"\u0069d":7,"us\u0065r":"u","score":1.5,"active":true,"count":3,"tags":["a"]}"#).unwrap();
    assert_eq!(escaped, in_order);
}

#[test]
fn duplicates_missing_fields_and_bad_skipped_values_are_errors() {
    let dup = row(r#"{"id":7,"id":8,"active":true,"tags":[]}"#).unwrap_err();
    assert!(dup.message.contains("field `id` appears twice"), "{dup}");
    let dup_escaped = row(r#"{"id":7,"\u0069d":8,"active":true,"tags":[]}"#).unwrap_err();
    assert!(dup_escaped.message.contains("appears twice"), "{dup_escaped}");
    let missing = row(r#"{"id":7,"tags":[]}"#).unwrap_err();
    assert!(missing.message.contains("missing field `active`"), "{missing}");
    for bad in [r#"{"x":[1,,2],"id":7,"active":true,"tags":[]}"#, r#"{"x":{"a" 1},"id":7,"active":true,"tags":[]}"#, r#"{"x":tru,"id":7}"#]
    {
        assert!(row(bad).is_err(), "{bad}");
    }
    let typed = row(r#"{"id":"7","active":true,"tags":[]}"#).unwrap_err();
    assert!(typed.message.contains("field `id`"), "{typed}");
}

#[test]
fn awkward_column_names_round_trip() {
    // `weird "name"` and `user-id` need escapes or are not identifiers.
    let text = br#"{"b":true,"i":1,"big":2,"huge":3,"ts9":"2024-01-01 00:00:00","scores":[],"weird \"name\"":"w","user-id":5}"#;
    let e = Everything::decode(text).unwrap();
    assert_eq!(e.weird_name.as_deref(), Some("w"));
    assert_eq!(e.user_id, Some(5));
    assert_eq!(Everything::decode(&e.encode().unwrap()).unwrap(), e);
}
