//! Generated records round-trip through json, csv, raw and avro, nulls, nested
//! types and awkward column names included; and every value that a format or
//! a SQL type cannot hold is an error, never silently changed.

use std::collections::BTreeMap;
use std::str::FromStr;

use kinesis_tables::config::{Credentials, FormatConfig, Partitioner, StartPosition, StreamRef};
use kinesis_tables::types::{DateTime, Decimal, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use kinesis_tables::{DecodeErrorKind, Metadata, Record};
use kinesis_tables_tests::generated::*;

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}
fn ltz(s: &str) -> DateTime<Utc> {
    ts(s).and_utc()
}
fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn full() -> Everything {
    Everything {
        b: true,
        t: Some(-7),
        s: Some(1234),
        i: -42,
        i2: Some(i32::MAX),
        big: i64::MIN,
        f: Some(1.5),
        r: Some(-0.25),
        d: Some(f64::NAN),
        price: Some(dec("12.30")),
        huge: dec("12345678901234567890.123456789012345678"),
        name: Some("quote \" backslash \\ newline \n tab \t unicode é ✓".into()),
        code: Some("abc".into()),
        fixed: Some("xyz".into()),
        blob: Some(vec![0, 1, 2, 255]),
        vb: Some(vec![9; 16]),
        bin: Some(vec![1, 2, 3, 4]),
        day: Some(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
        at: Some(NaiveTime::from_hms_milli_opt(23, 59, 58, 123).unwrap()),
        ts: Some(ts("2024-01-31 12:00:00.125")),
        ts9: ts("1999-12-31 23:59:59.123456789"),
        ltz: Some(ltz("2024-06-01 00:00:00.000001")),
        ltz2: Some(ltz("1970-01-01 00:00:00.001")),
        tags: Some(vec![Some("a".into()), None, Some("".into())]),
        scores: vec![1, -2, 3],
        attrs: Some(BTreeMap::from([("x".to_string(), Some(1)), ("y".to_string(), None)])),
        nested: Some(EverythingNested {
            street: Some("Main St".into()),
            zip: 12345,
            geo: Some(EverythingNestedGeo { lat: Some(52.5), lon: None }),
        }),
        history: Some(vec![Some(EverythingHistoryItem { at: Some(ts("2024-01-01 00:00:00.001")), what: Some("signup".into()) }), None]),
        r#type: Some("keyword".into()),
        user_id: Some(42),
        weird_name: Some("w".into()),
        arrival: DateTime::<Utc>::default(),
        shard: None,
        seq: String::new(),
    }
}

fn nulls() -> Everything {
    Everything {
        b: false,
        t: None,
        s: None,
        i: 0,
        i2: None,
        big: 0,
        f: None,
        r: None,
        d: None,
        price: None,
        huge: dec("0"),
        name: None,
        code: None,
        fixed: None,
        blob: None,
        vb: None,
        bin: None,
        day: None,
        at: None,
        ts: None,
        ts9: ts("2000-01-01 00:00:00"),
        ltz: None,
        ltz2: None,
        tags: None,
        scores: vec![],
        attrs: None,
        nested: None,
        history: None,
        r#type: None,
        user_id: None,
        weird_name: None,
        arrival: DateTime::<Utc>::default(),
        shard: None,
        seq: String::new(),
    }
}

/// NaN != NaN, so compare the JSON text of a re-encoding as well as fields.
fn assert_same(a: &Everything, b: &Everything) {
    assert_eq!(a.encode().unwrap(), b.encode().unwrap());
    let mut a2 = a.clone();
    let mut b2 = b.clone();
    a2.d = None;
    b2.d = None;
    assert_eq!(a2, b2);
    assert_eq!(a.d.map(f64::is_nan), b.d.map(f64::is_nan));
}

#[test]
fn json_round_trip_with_every_type() {
    for rec in [full(), nulls()] {
        let bytes = rec.encode().unwrap();
        let back = Everything::decode(&bytes).unwrap();
        assert_same(&rec, &back);
    }
}

#[test]
fn json_text_follows_flink() {
    let text = String::from_utf8(full().encode().unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "keyword");
    assert_eq!(v["user-id"], 42);
    assert_eq!(v["weird \"name\""], "w");
    assert_eq!(v["ts"], "2024-01-31 12:00:00.125");
    assert_eq!(v["ts9"], "1999-12-31 23:59:59.123456789");
    assert_eq!(v["ltz2"], "1970-01-01 00:00:00.001Z");
    assert_eq!(v["blob"], "AAEC/w==");
    assert_eq!(v["d"], "NaN");
    assert_eq!(v["price"].as_f64(), Some(12.3));
    assert_eq!(v["nested"]["geo"]["lat"], 52.5);
    assert!(v.get("arrival").is_none(), "VIRTUAL metadata is not written: {text}");
    // The exact decimal text survives, digit for digit.
    let back = Everything::decode(text.as_bytes()).unwrap();
    assert_eq!(back.huge, dec("12345678901234567890.123456789012345678"));
}

#[test]
fn json_missing_nullable_fields_read_as_null_and_unknown_fields_are_ignored() {
    let r =
        Everything::decode(br#"{"b":true,"i":1,"big":2,"huge":3,"ts9":"2000-01-01 00:00:00","scores":[],"extra":{"x":[1,2]}}"#).unwrap();
    assert_eq!(r.name, None);
    assert_eq!(r.huge, dec("3"));
    let err = Everything::decode(br#"{"b":true,"big":2,"huge":3,"ts9":"2000-01-01 00:00:00","scores":[]}"#).unwrap_err();
    assert!(err.message.contains("missing field `i`"), "{err}");
    let err = Everything::decode(br#"{"b":true,"i":1,"i":2,"big":2,"huge":3,"ts9":"2000-01-01 00:00:00","scores":[]}"#).unwrap_err();
    assert!(err.message.contains("appears twice"), "{err}");
    let err = Everything::decode(b"{} trailing").unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Invalid);
}

#[test]
fn values_that_do_not_fit_their_type_are_errors_not_truncations() {
    let mut r = full();
    r.code = Some("123456789".into());
    let e = r.encode().unwrap_err();
    assert!(e.to_string().contains("column `code`") && e.to_string().contains("VARCHAR(8)"), "{e}");
    let mut r = full();
    r.price = Some(dec("1.234"));
    assert!(r.encode().unwrap_err().to_string().contains("more than 2 digits after the point"));
    let mut r = full();
    r.price = Some(dec("123456789.5"));
    assert!(r.encode().unwrap_err().to_string().contains("more than 8 digits before the point of DECIMAL(10, 2)"));
    let mut r = full();
    r.ts = Some(ts("2024-01-31 12:00:00.1255"));
    assert!(r.encode().unwrap_err().to_string().contains("precision 3"));
    let mut r = full();
    r.nested.as_mut().unwrap().street = None;
    r.bin = Some(vec![0; 5]);
    assert!(r.encode().unwrap_err().to_string().contains("column `bin`"));
    // On the way in too.
    let e =
        Everything::decode(br#"{"b":true,"i":1,"big":2,"huge":3,"ts9":"2000-01-01 00:00:00","scores":[],"code":"123456789"}"#).unwrap_err();
    assert!(e.message.contains("field `code`"), "{e}");
    let e = Everything::decode(br#"{"b":true,"i":1,"big":2,"huge":3,"ts9":"2000-01-01 00:00:00","scores":[],"t":300}"#).unwrap_err();
    assert!(e.message.contains("field `t`"), "{e}");
}

#[test]
fn partition_keys_come_from_partitioned_by_and_are_never_truncated() {
    assert_eq!(full().partition_key().unwrap().as_deref(), Some("42/abc"));
    let mut r = full();
    r.user_id = None;
    assert!(r.partition_key().unwrap_err().to_string().contains("column `user-id`"));
    let t = RawText { line: Some("x".into()), shard: None };
    assert_eq!(t.partition_key().unwrap(), None);
    let f = flat(7);
    assert_eq!(f.partition_key().unwrap().as_deref(), Some("7"));
}

#[test]
fn metadata_columns_are_filled_from_kinesis() {
    let mut r = Everything::decode(&full().encode().unwrap()).unwrap();
    let when = ltz("2024-05-05 05:05:05.005");
    r.set_metadata(&Metadata {
        timestamp: when,
        shard_id: "shardId-000000000001",
        sequence_number: "4960",
        partition_key: "k",
        sub_sequence_number: None,
    });
    assert_eq!((r.arrival, r.shard.as_deref(), r.seq.as_str()), (when, Some("shardId-000000000001"), "4960"));
    let mut legacy = UserBehaviorLegacy {
        user_id: Some(1),
        item_id: Some(2),
        category_id: None,
        behavior: Some("buy".into()),
        ts: None,
        arrival_time: None,
        shard_id: String::new(),
        sequence_number: String::new(),
    };
    legacy.set_metadata(&Metadata {
        timestamp: when,
        shard_id: "s",
        sequence_number: "n",
        partition_key: "k",
        sub_sequence_number: Some(3),
    });
    assert_eq!(legacy.arrival_time, Some(when.naive_utc()));
    assert_eq!(legacy.encode().unwrap(), b"1,2,,buy,");
    assert_eq!(legacy.partition_key().unwrap().as_deref(), Some("1|2"));
}

#[test]
fn iso_timestamps_plain_decimals_and_null_skipping() {
    let r = EverythingIso { ts: Some(ts("2024-01-31 12:00:00.5")), ltz: None, price: Some(dec("10000000")), gone: None };
    let text = String::from_utf8(r.encode().unwrap()).unwrap();
    assert_eq!(text, r#"{"ts":"2024-01-31T12:00:00.500","price":10000000.0000}"#);
    let e = EverythingIso::decode(text.as_bytes()).unwrap_err();
    assert!(e.message.contains("missing field `ltz`"), "fail-on-missing-field is on: {e}");
    let full = r#"{"ts":"2024-01-31T12:00:00.500","ltz":null,"price":10000000,"gone":null}"#;
    assert_eq!(EverythingIso::decode(full.as_bytes()).unwrap(), r);
}

fn flat(i: i32) -> FlatCsv {
    FlatCsv {
        b: Some(i % 2 == 0),
        t: Some(i as i8),
        s: None,
        i,
        big: Some(i as i64 * 1_000_000_000),
        f: Some(0.5),
        d: Some(f64::INFINITY),
        price: Some(dec("-3.50")),
        name: Some(if i % 3 == 0 { String::new() } else { format!("a,b \"c\" {i}") }),
        code: Some("k".into()),
        blob: Some(vec![1, 2, 3]),
        day: Some(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        at: Some(NaiveTime::from_hms_milli_opt(1, 2, 3, 4).unwrap()),
        ts: Some(ts("2020-01-01 01:02:03.004")),
        ltz: Some(ltz("2020-01-01 01:02:03.004")),
        tags: Some(vec![Some("x".into()), None, Some("y".into())]),
        nums: Some(vec![1, 2, 3]),
        r#type: None,
        shard: None,
    }
}

#[test]
fn csv_round_trip_keeps_nulls_and_empty_strings_apart() {
    for i in 0..30 {
        let r = flat(i);
        let bytes = r.encode().unwrap();
        assert_eq!(FlatCsv::decode(&bytes).unwrap(), r, "{}", String::from_utf8_lossy(&bytes));
    }
    let empty = flat(3);
    let text = String::from_utf8(empty.encode().unwrap()).unwrap();
    assert!(text.contains(",\"\","), "an empty string is quoted: {text}");
    assert!(text.ends_with(','), "a trailing null is an empty field: {text}");
    assert!(FlatCsv::decode(b"1,2").unwrap_err().message.contains("expected 18 fields"));
    let mut bad = flat(1);
    bad.tags = Some(vec![Some("has;delimiter".into())]);
    assert!(bad.encode().unwrap_err().to_string().contains("array delimiter"));
}

#[test]
fn csv_options_take_effect() {
    let r = PipesCsv { a: Some("it's | here".into()), b: None };
    let text = String::from_utf8(r.encode().unwrap()).unwrap();
    assert_eq!(text, "'it''s | here'|\\N");
    assert_eq!(PipesCsv::decode(text.as_bytes()).unwrap(), r);
    let r = PipesCsv { a: Some("\\N".into()), b: Some(1) };
    assert_eq!(PipesCsv::decode(&r.encode().unwrap()).unwrap(), r, "a string equal to the null literal is quoted");
    assert_eq!(PipesCsv::decode(b"# a comment").unwrap_err().kind, DecodeErrorKind::Comment);
    let r = PipesCsv { a: Some("#not a comment".into()), b: Some(2) };
    assert_eq!(PipesCsv::decode(&r.encode().unwrap()).unwrap(), r);
}

#[test]
fn raw_round_trips_and_refuses_ambiguity() {
    let r = RawText { line: Some("héllo world".into()), shard: None };
    assert_eq!(r.encode().unwrap(), "héllo world".as_bytes());
    assert_eq!(RawText::decode(&r.encode().unwrap()).unwrap(), r);
    assert_eq!(RawText::decode(b"").unwrap().line, None);
    assert!(RawText { line: Some(String::new()), shard: None }.encode().is_err());
    let l = RawLatin1 { line: "héllo".into() };
    assert_eq!(l.encode().unwrap(), b"h\xe9llo");
    assert_eq!(RawLatin1::decode(b"h\xe9llo").unwrap(), l);
    assert!(RawLatin1 { line: "✓".into() }.encode().is_err());
    let n = RawNumber { n: 0x0102 };
    assert_eq!(n.encode().unwrap(), vec![2, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(RawNumber::decode(&n.encode().unwrap()).unwrap(), n);
    assert!(RawNumber::decode(b"\x01").is_err());
    let b = RawBytes { payload: Some(vec![0, 255]) };
    assert_eq!(RawBytes::decode(&b.encode().unwrap()).unwrap(), b);
}

#[test]
fn configuration_is_typed_and_env_values_are_checked_at_startup() {
    let cfg = Everything::config().unwrap();
    assert!(matches!(cfg.stream, StreamRef::Arn { ref name, .. } if name == "everything"));
    assert_eq!(cfg.sink.partitioner, Partitioner::Fields { delimiter: "/".into() });
    assert_eq!(cfg.sink.batch_max_size, 500);
    assert_eq!(cfg.source.start, StartPosition::Latest);
    assert!(matches!(FlatCsv::CONFIG.format, FormatConfig::Csv(_)));
    assert_eq!(UserBehavior::CONFIG.aws.region.as_deref(), Some("us-east-1"));
    assert_eq!(RawBytes::CONFIG.aws.endpoint.as_deref(), Some("http://127.0.0.1:4567"));

    // `from_env` reads its stream ARN and the role's source keys at startup.
    // SAFETY of set_var: this is the only test touching these variables.
    unsafe {
        std::env::remove_var("KT_TEST_STREAM_ARN");
    }
    let err = FromEnv::config().unwrap_err();
    assert!(err.to_string().contains("KT_TEST_STREAM_ARN"), "{err}");
    unsafe {
        std::env::set_var("KT_TEST_STREAM_ARN", "arn:aws:kinesis:us-west-2:012345678901:stream/s");
        std::env::set_var("KT_TEST_ACCESS_KEY", "AKIDEXAMPLE");
        std::env::set_var("KT_TEST_SECRET_KEY", "not-in-the-binary");
    }
    let err = FromEnv::config().unwrap_err();
    assert!(err.to_string().contains("us-west-2"), "the region rule runs at startup too: {err}");
    unsafe {
        std::env::set_var("KT_TEST_STREAM_ARN", "arn:aws:kinesis:us-east-1:012345678901:stream/s");
    }
    let cfg = FromEnv::config().unwrap();
    match &cfg.aws.credentials {
        Credentials::AssumeRole { role_arn, source, .. } => {
            assert_eq!(role_arn, "arn:aws:iam::012345678901:role/reader");
            assert!(matches!(source, Credentials::Basic { secret_key, .. } if secret_key.0 == "not-in-the-binary"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{cfg:?}").contains("not-in-the-binary"), "secrets are redacted from Debug");
    assert!(!FromEnv::RAW_OPTIONS.iter().any(|(_, v)| v.contains("not-in-the-binary")));
}

/// The avro format, in process.
mod avro;
/// The avro format against Python's fastavro.
mod avro_interop;
/// Avro records through real streams on the emulators (json → avro → json).
mod avro_stream;
