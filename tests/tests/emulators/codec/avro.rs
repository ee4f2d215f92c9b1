//! The avro format: round trips over every column type Avro holds (nulls,
//! nested rows, awkward names) in both encodings and both timestamp
//! mappings; Flink's exact bytes; bad input as errors naming the column;
//! arbitrary bytes never panic.

use std::collections::BTreeMap;
use std::str::FromStr;

use kinesis_tables::types::{DateTime, Decimal, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use kinesis_tables::{DecodeErrorKind, Record};
use kinesis_tables_tests::generated::*;

pub(super) fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}
pub(super) fn ltz(s: &str) -> DateTime<Utc> {
    ts(s).and_utc()
}
fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Every value of `avro_everything` (the json-encoded table has the same
/// columns under other struct names).
macro_rules! everything_full {
    ($t:ident, $nested:ident, $geo:ident, $item:ident, $value:ident) => {
        $t {
            b: true,
            t: Some(-7),
            s: Some(1234),
            i: -42,
            big: i64::MIN,
            f: Some(1.5),
            d: Some(-1e300),
            price: Some(dec("-12345678.90")),
            huge: dec("12345678901234567890.123456789012345678"),
            name: Some("quote \" backslash \\ newline \n unicode é ✓ 🔑".into()),
            code: Some("abc".into()),
            fixed: Some("xyz".into()),
            blob: Some(vec![0, 1, 2, 0x7f, 0x80, 0xff]),
            vb: Some(vec![9; 16]),
            bin: Some(vec![1, 2, 3, 4]),
            day: Some(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()),
            at: Some(NaiveTime::from_hms_milli_opt(23, 59, 58, 123).unwrap()),
            ts: Some(ts("2024-01-31 12:00:00.125")),
            ts0: ts("1901-01-01 00:00:01"),
            tags: Some(vec![Some("a".into()), None, Some("".into())]),
            scores: vec![1, -2, i32::MAX],
            attrs: Some(BTreeMap::from([("x".to_string(), Some(1)), ("y".to_string(), None), ("".to_string(), Some(-1))])),
            nested: Some($nested { street: Some("Main St".into()), zip: 12345, geo: Some($geo { lat: Some(52.5), lon: None }) }),
            history: Some(vec![Some($item { at: Some(ts("2024-01-01 00:00:00.001")), what: Some("signup".into()) }), None]),
            lookup: BTreeMap::from([("k".to_string(), Some($value { n: Some(7) })), ("none".to_string(), None)]),
            r#type: Some("keyword".into()),
            under: Some(-1),
            self_: Some(i64::MAX),
            shard: None,
        }
    };
}

macro_rules! everything_nulls {
    ($t:ident) => {
        $t {
            b: false,
            t: None,
            s: None,
            i: 0,
            big: 0,
            f: None,
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
            ts0: ts("1970-01-01 00:00:00"),
            tags: None,
            scores: vec![],
            attrs: None,
            nested: None,
            history: None,
            lookup: BTreeMap::new(),
            r#type: None,
            under: None,
            self_: None,
            shard: None,
        }
    };
}

macro_rules! modern_full {
    ($t:ident, $inner:ident) => {
        $t {
            ts3: Some(ts("2024-01-31 12:00:00.125")),
            ts6: Some(ts("1960-06-01 00:00:00.000001")),
            ts9: ts("1999-12-31 23:59:59.123456789"),
            ltz3: Some(ltz("1970-01-01 00:00:00.001")),
            ltz6: ltz("2262-04-11 23:47:16.854775"),
            ltz9: Some(ltz("2024-06-01 00:00:00.000000001")),
            inner: Some($inner { at: Some(ts("2000-02-29 01:02:03.456789")), z: ltz("1677-09-21 00:12:43.145224192") }),
            stamps: Some(vec![Some(ts("2024-01-01 00:00:00.999")), None]),
        }
    };
}

macro_rules! modern_nulls {
    ($t:ident, $inner:ident) => {
        $t {
            ts3: None,
            ts6: None,
            ts9: ts("1970-01-01 00:00:00"),
            ltz3: None,
            ltz6: ltz("1970-01-01 00:00:00"),
            ltz9: None,
            inner: None,
            stamps: None,
        }
    };
}

pub(super) fn everything() -> [AvroEverything; 2] {
    [
        everything_full!(
            AvroEverything,
            AvroEverythingNested,
            AvroEverythingNestedGeo,
            AvroEverythingHistoryItem,
            AvroEverythingLookupValue
        ),
        everything_nulls!(AvroEverything),
    ]
}
pub(super) fn everything_json() -> [AvroEverythingJson; 2] {
    [
        everything_full!(
            AvroEverythingJson,
            AvroEverythingJsonNested,
            AvroEverythingJsonNestedGeo,
            AvroEverythingJsonHistoryItem,
            AvroEverythingJsonLookupValue
        ),
        everything_nulls!(AvroEverythingJson),
    ]
}
pub(super) fn modern() -> [AvroModern; 2] {
    [modern_full!(AvroModern, AvroModernInner), modern_nulls!(AvroModern, AvroModernInner)]
}
pub(super) fn modern_json() -> [AvroModernJson; 2] {
    [modern_full!(AvroModernJson, AvroModernJsonInner), modern_nulls!(AvroModernJson, AvroModernJsonInner)]
}

fn round_trip<R: Record + PartialEq + std::fmt::Debug>(recs: &[R]) {
    for rec in recs {
        let bytes = rec.encode().unwrap();
        assert_eq!(&R::decode(&bytes).unwrap(), rec, "{}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn avro_round_trips_every_type_in_both_encodings_and_mappings() {
    round_trip(&everything());
    round_trip(&everything_json());
    round_trip(&modern());
    round_trip(&modern_json());
    assert_eq!(AvroEverything::FORMAT, "avro");
}

#[test]
fn avro_json_encoding_is_the_text_of_the_binary_values() {
    // The json table encodes as Avro's JsonEncoder: unions as {"branch": v},
    // bytes as ISO-8859-1 characters, a record union by its full name.
    let text = String::from_utf8(everything_json()[0].encode().unwrap()).unwrap();
    let blob = "\"blob\":{\"bytes\":\"\\u0000\\u0001\\u0002\u{7f}\u{80}\u{ff}\"}";
    for part in [
        r#""b":true,"t":{"int":-7}"#,
        blob,
        r#""day":{"int":-1}"#,
        r#""ts":{"long":1706702400125}"#,
        r#""nested":{"org.apache.flink.avro.generated.record_nested":{"street":{"string":"Main St"},"zip":12345,"geo":{"org.apache.flink.avro.generated.record_nested_geo":{"lat":{"double":52.5},"lon":null}}}}"#,
        r#""history":{"array":[{"org.apache.flink.avro.generated.record_history":{"#,
        r#""lookup":{"k":{"org.apache.flink.avro.generated.record_lookup":{"n":{"int":7}}},"none":null}"#,
        r#""type":{"string":"keyword"},"_under":{"int":-1},"Self_":{"long":9223372036854775807}}"#,
    ] {
        assert!(text.contains(part), "{part}\nnot in\n{text}");
    }
    assert!(!text.contains("shard"), "metadata columns are not part of the datum: {text}");
    // And the binary table prints the same JSON.
    let shown = String::from_utf8(everything()[0].encode_text().unwrap()).unwrap();
    assert_eq!(shown, text);
}

#[test]
fn avro_binary_is_flinks_datum_without_a_header() {
    let rec = AvroPrint { id: 1, blob: Some(vec![0xff]), note: None };
    // id: zig-zag 1; blob: union branch 1, length 1, 0xff; note: branch 0.
    assert_eq!(rec.encode().unwrap(), [2, 2, 2, 0xff, 0]);
    assert_eq!(String::from_utf8(rec.encode_text().unwrap()).unwrap(), r#"{"id":1,"blob":{"bytes":"ÿ"},"note":null}"#);
}

fn err<R: Record + std::fmt::Debug>(data: &[u8]) -> String {
    let e = R::decode(data).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::Invalid);
    e.message
}

#[test]
fn bad_avro_input_is_an_error_naming_the_column() {
    let good = AvroPrint { id: 5, blob: Some(vec![1, 2, 3]), note: Some("hi".into()) }.encode().unwrap();
    // Truncated anywhere: an error, never a panic.
    for n in 0..good.len() {
        let m = err::<AvroPrint>(&good[..n]);
        assert!(m.starts_with("avro: column `"), "{n}: {m}");
    }
    assert!(err::<AvroPrint>(&good[..4]).contains("column `blob`"), "{}", err::<AvroPrint>(&good[..4]));
    // A wrong union index.
    let m = err::<AvroPrint>(&[2, 4]);
    assert!(m.contains("`blob`") && m.contains("union branch 2"), "{m}");
    // A length that runs past the buffer (2^40 bytes claimed).
    let m = err::<AvroPrint>(&[2, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1]);
    assert!(m.contains("`blob`") && m.contains("runs past the end"), "{m}");
    // Trailing bytes.
    assert!(err::<AvroPrint>(&[good.clone(), vec![0]].concat()).contains("after the end"));
    // A decimal too large for DECIMAL(10, 2), inside the full record.
    let mut rec = everything()[1].clone();
    rec.price = Some(dec("99999999.99"));
    let mut bytes = rec.encode().unwrap();
    // b, t, s, i, big, f, d take a byte each; then price: branch 1, 5 bytes,
    // 9999999999 as two's complement. Make it 10^10, one digit too many.
    assert_eq!(bytes[7..14], [2, 10, 0x02, 0x54, 0x0b, 0xe3, 0xff]);
    bytes[12..14].copy_from_slice(&[0xe4, 0x00]);
    let m = err::<AvroEverything>(&bytes);
    assert!(m.contains("`price`") && m.contains("DECIMAL(10, 2)"), "{m}");
    // Avro JSON: wrong branch, bytes that are not ISO-8859-1, a missing field.
    let m = err::<AvroEverythingJson>(br#"{"b":true,"t":{"long":1}}"#);
    assert!(m.contains("`t`") && m.contains("`int`"), "{m}");
    let m = err::<AvroPrintJsonProbe>(br#"{"id":1,"blob":{"bytes":"\u0100"},"note":null}"#);
    assert!(m.contains("`blob`") && m.contains("not a byte"), "{m}");
    let m = err::<AvroPrintJsonProbe>(br#"{"id":1,"blob":null}"#);
    assert!(m.contains("`note`") && m.contains("missing"), "{m}");
}

/// Decodes `avro_print` rows from Avro JSON (the print table itself writes
/// binary to streams; `encode_text` is its JSON).
#[derive(Debug)]
struct AvroPrintJsonProbe;
impl Record for AvroPrintJsonProbe {
    const TABLE_NAME: &'static str = "probe";
    const FORMAT: &'static str = "avro";
    fn config() -> Result<std::borrow::Cow<'static, kinesis_tables::TableConfig>, kinesis_tables::ConfigError> {
        AvroPrint::config()
    }
    fn encode(&self) -> Result<Vec<u8>, kinesis_tables::EncodeError> {
        Ok(Vec::new())
    }
    fn decode(data: &[u8]) -> Result<Self, kinesis_tables::DecodeError> {
        kinesis_tables::codec::avro::json::decode_record::<AvroPrint>(data).map(|_| AvroPrintJsonProbe)
    }
    fn partition_key(&self) -> Result<Option<String>, kinesis_tables::EncodeError> {
        Ok(None)
    }
    fn set_metadata(&mut self, _: &kinesis_tables::Metadata<'_>) {}
}

#[test]
fn arbitrary_bytes_never_panic_the_avro_decoders() {
    let mut rng = fastrand::Rng::with_seed(13);
    let seeds: Vec<Vec<u8>> =
        everything().iter().map(|r| r.encode().unwrap()).chain(modern().iter().map(|r| r.encode().unwrap())).collect();
    let texts: Vec<Vec<u8>> = everything_json().iter().map(|r| r.encode().unwrap()).collect();
    for round in 0..20_000 {
        // Random bytes, and valid datums with a few bytes changed or cut.
        let mut b: Vec<u8> = match round % 3 {
            0 => (0..rng.usize(0..96)).map(|_| rng.u8(..)).collect(),
            1 => seeds[rng.usize(..seeds.len())].clone(),
            _ => texts[rng.usize(..texts.len())].clone(),
        };
        if !b.is_empty() && round % 3 != 0 {
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..b.len());
                b[i] = rng.u8(..);
            }
            b.truncate(rng.usize(0..=b.len()));
        }
        let _ = AvroEverything::decode(&b);
        let _ = AvroModern::decode(&b);
        let _ = AvroEverythingJson::decode(&b);
        let _ = AvroModernJson::decode(&b);
    }
}
