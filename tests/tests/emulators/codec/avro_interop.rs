//! The avro format against Python's `fastavro`, both ways, with the schema
//! the compiler derives (`AVRO_SCHEMA`, what `kinesis-tables schema --avro`
//! prints): what the encoder writes, fastavro reads; what fastavro writes,
//! the decoder reads; for every column type, nulls and nested rows, both
//! encodings and both timestamp mappings. Needs KT_PYTHON_FASTAVRO.

use kinesis_tables::Record;
use kinesis_tables_tests::generated::*;
use kinesis_tables_tests::pyavro::python_avro;
use serde_json::{Value, json};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &Value) -> Vec<u8> {
    let s = s.as_str().unwrap();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Sends `recs` (binary table `B`) through fastavro and reads what it writes
/// back with `B` and the json-encoded table `J`; returns fastavro's rendering.
fn through_fastavro<B, J>(recs: &[B], json_twins: &[J]) -> Vec<Value>
where
    B: Record + PartialEq + std::fmt::Debug,
    J: Record + PartialEq + std::fmt::Debug,
{
    let schema: Value = serde_json::from_str(avro_schema::<B>()).unwrap();
    let py = python_avro();
    // Binary in, both encodings out.
    let datums: Vec<String> = recs.iter().map(|r| hex(&r.encode().unwrap())).collect();
    let out = py.run("decode", &json!({"schema": schema, "datums": datums, "encoding": "binary"}));
    check_back(recs, json_twins, &out);
    // Avro JSON in (the json table's text), both encodings out.
    let texts: Vec<String> = json_twins.iter().map(|r| String::from_utf8(r.encode().unwrap()).unwrap()).collect();
    let out2 = py.run("decode", &json!({"schema": schema, "datums": texts, "encoding": "json"}));
    check_back(recs, json_twins, &out2);
    assert_eq!(out["values"], out2["values"], "fastavro reads the same values from both encodings");
    // fastavro writes from values it builds from its own rendering.
    let out3 = py.run("encode", &json!({"schema": schema, "values": out["values"]}));
    check_back(recs, json_twins, &out3);
    out["values"].as_array().unwrap().clone()
}

fn check_back<B, J>(recs: &[B], json_twins: &[J], out: &Value)
where
    B: Record + PartialEq + std::fmt::Debug,
    J: Record + PartialEq + std::fmt::Debug,
{
    for (i, (rec, twin)) in recs.iter().zip(json_twins).enumerate() {
        let bin = unhex(&out["binary"][i]);
        assert_eq!(&B::decode(&bin).unwrap(), rec, "fastavro's binary datum {i}");
        assert_eq!(bin, rec.encode().unwrap(), "fastavro writes the bytes we write, datum {i}");
        let text = out["json"][i].as_str().unwrap();
        assert_eq!(&J::decode(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}")), twin, "fastavro's json datum {i}");
    }
}

fn avro_schema<B: Record>() -> &'static str {
    match B::TABLE_NAME {
        "avro_everything" => AvroEverything::AVRO_SCHEMA,
        "avro_modern" => AvroModern::AVRO_SCHEMA,
        t => panic!("no schema for {t}"),
    }
}

#[test]
fn fastavro_reads_and_writes_every_type_under_the_legacy_mapping() {
    assert_eq!(AvroEverything::AVRO_SCHEMA, AvroEverythingJson::AVRO_SCHEMA);
    let values = through_fastavro(&super::avro::everything(), &super::avro::everything_json());
    // fastavro's reading of the logical types is ours.
    let full = &values[0];
    assert_eq!(full["price"], "-12345678.90");
    assert_eq!(full["huge"], "12345678901234567890.123456789012345678");
    assert_eq!(full["day"], "1969-12-31");
    assert_eq!(full["at"], "23:59:58.123000");
    assert_eq!(full["ts"], "2024-01-31T12:00:00.125000+00:00");
    assert_eq!(full["ts0"], "1901-01-01T00:00:01+00:00");
    assert_eq!(full["blob"], json!({"$bytes": "0001027f80ff"}));
    assert_eq!(full["nested"], json!({"street": "Main St", "zip": 12345, "geo": {"lat": 52.5, "lon": null}}));
    assert_eq!(full["lookup"], json!({"k": {"n": 7}, "none": null}));
    assert_eq!(full["type"], "keyword");
    assert_eq!(full["Self_"], i64::MAX);
    assert!(full.get("shard").is_none());
    assert!(values[1]["nested"].is_null() && values[1]["price"].is_null());
}

#[test]
fn fastavro_reads_and_writes_every_timestamp_under_the_new_mapping() {
    let values = through_fastavro(&super::avro::modern(), &super::avro::modern_json());
    let full = &values[0];
    // local-timestamp-* is a naive time, timestamp-* an instant.
    assert_eq!(full["ts3"], "2024-01-31T12:00:00.125000");
    assert_eq!(full["ts6"], "1960-06-01T00:00:00.000001");
    assert_eq!(full["ltz3"], "1970-01-01T00:00:00.001000+00:00");
    assert_eq!(full["ltz6"], "2262-04-11T23:47:16.854775+00:00");
    // fastavro passes the nanosecond types through as their long.
    assert_eq!(full["ts9"], 946_684_799_123_456_789i64);
    assert_eq!(full["ltz9"], 1_717_200_000_000_000_001i64);
    assert_eq!(full["inner"]["at"], "2000-02-29T01:02:03.456789");
    // ARRAY elements use the legacy mapping (Flink's converter): timestamp-millis.
    assert_eq!(full["stamps"][0], "2024-01-01T00:00:00.999000+00:00");
}
