//! `kinesis_tables::kpl` against the official Python library `aws-kinesis-agg`
//! (PyPI), both ways: Python aggregates and Rust de-aggregates, Rust
//! aggregates and Python de-aggregates.
//!
//! The library is installed by `kinesis_tables_tests::pyagg` (shared with
//! the sink's aggregation tests) unless `KT_PYTHON_AGG` names an existing
//! install. The Python side is `tests/python/kpl_interop.py`.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kinesis_tables::kpl::{self, AddOutcome, Aggregator, Deaggregated, Flushed, SubRecord};
use kinesis_tables_tests::pyagg::{self, PythonAgg};
use serde_json::{Value, json};

/// The Python library, installed once per target dir (see [`pyagg::python_agg`]).
fn python_agg() -> &'static PythonAgg {
    pyagg::python_agg(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

fn sub(pk: &str, ehk: Option<&str>, data: &[u8]) -> SubRecord {
    SubRecord { partition_key: pk.to_owned(), explicit_hash_key: ehk.map(str::to_owned), data: data.to_vec() }
}

/// User records with several partition keys (repeated and distinct, non-ASCII,
/// the 256-character maximum), some explicit hash keys, binary and empty data.
fn known_records() -> Vec<SubRecord> {
    let all_bytes: Vec<u8> = (0..=255).collect();
    let long_key = "k".repeat(256);
    let mut records = vec![
        sub("user-1", None, b"{\"id\":1}"),
        sub("user-2", Some("0"), b""),
        sub("user-1", Some("170141183460469231731687303715884105728"), &all_bytes),
        sub("user-3", None, b""),
        sub("ключ-é", Some("340282366920938463463374607431768211455"), "données ✓".as_bytes()),
        sub(&long_key, None, &[0xF3, 0x89, 0x9A, 0xC2, 0, 1, 2]),
        sub("user-2", Some("0"), &[0; 1000]),
        sub("user-1", None, &[0xff; 3000]),
        sub("user-4", Some("12345678901234567890"), b"x"),
    ];
    for i in 0..40 {
        let ehk = (i % 3 == 0).then(|| (i * 1_000_003).to_string());
        let data: Vec<u8> = (0..i * 7).map(|j| (j * 31 + i) as u8).collect();
        records.push(sub(&format!("user-{}", i % 7), ehk.as_deref(), &data));
    }
    records
}

fn record_json(r: &SubRecord) -> Value {
    json!({ "partition_key": r.partition_key, "explicit_hash_key": r.explicit_hash_key, "data": B64.encode(&r.data) })
}

fn b64_field(v: &Value, field: &str) -> Vec<u8> {
    B64.decode(v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))).expect("base64")
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Aggregates with the Python library; returns (partition key, explicit hash
/// key, data, user record count) of each aggregated record.
fn python_aggregate(records: &[SubRecord], max_size: Option<usize>) -> Vec<(String, Option<String>, Vec<u8>, usize)> {
    let response =
        python_agg().run("aggregate", &json!({ "max_size": max_size, "records": records.iter().map(record_json).collect::<Vec<_>>() }));
    response["aggregates"]
        .as_array()
        .expect("aggregates")
        .iter()
        .map(|a| {
            let pk = a["partition_key"].as_str().expect("partition_key").to_owned();
            (pk, opt_str(&a["explicit_hash_key"]), b64_field(a, "data"), a["records"].as_u64().expect("records") as usize)
        })
        .collect()
}

#[test]
fn python_aggregates_rust_deaggregates() {
    let records = known_records();
    for max_size in [None, Some(4096), Some(3500)] {
        let aggregates = python_aggregate(&records, max_size);
        if max_size.is_some() {
            assert!(aggregates.len() > 2, "max_size {max_size:?} should split the records: {} aggregates", aggregates.len());
        }
        let mut got = Vec::new();
        for (i, (pk, ehk, data, count)) in aggregates.iter().enumerate() {
            assert!(data.len() <= max_size.unwrap_or(1 << 20));
            let Deaggregated::Aggregated(subs) = kpl::deaggregate(data, pk) else {
                panic!("max_size {max_size:?}, aggregate {i}: not de-aggregated: {:?}", kpl::deaggregate(data, pk));
            };
            let subs = subs.to_vec();
            assert_eq!(subs.len(), *count);
            // The aggregated record goes under its first user record's keys.
            assert_eq!((pk, ehk), (&subs[0].partition_key, &subs[0].explicit_hash_key), "max_size {max_size:?}, aggregate {i}");
            got.extend(subs);
        }
        assert_eq!(got.len(), records.len(), "max_size {max_size:?}");
        for (i, (g, r)) in got.iter().zip(&records).enumerate() {
            let brief = |s: &SubRecord| format!("({:?}, {:?}, {} bytes)", s.partition_key, s.explicit_hash_key, s.data.len());
            assert!(g == r, "max_size {max_size:?}, user record {i}: read {}, expected {}", brief(g), brief(r));
        }
    }

    // When everything fits in one record, the Rust aggregator writes the very
    // same bytes as the Python library.
    let [(pk, ehk, data, _)] = &python_aggregate(&records, None)[..] else { panic!("one aggregate expected") };
    let mut agg = Aggregator::new(1 << 20, usize::MAX);
    for r in &records {
        assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
    }
    let ours = agg.finish().expect("not empty");
    assert_eq!((&ours.partition_key, &ours.explicit_hash_key), (pk, ehk));
    assert!(ours.data == *data, "Rust and Python encode the same records differently");
}

/// A Kinesis record as read, and the user records a reader must deliver for
/// it (known from how it was made, not from reading it).
struct Outer {
    partition_key: String,
    data: Vec<u8>,
    aggregated: bool,
    expected: Vec<SubRecord>,
}

impl Outer {
    /// A record delivered as it is.
    fn plain(partition_key: &str, data: Vec<u8>) -> Outer {
        Outer { partition_key: partition_key.to_owned(), expected: vec![sub(partition_key, None, &data)], data, aggregated: false }
    }
}

#[test]
fn rust_aggregates_python_deaggregates() {
    let records = known_records();
    let mut outers = Vec::new();
    // Aggregates in which every record, no record, or some records have an
    // explicit hash key, split by size and by count.
    let batches: [(Vec<SubRecord>, usize, usize); 4] = [
        (records.clone(), 3500, 1000),
        (records.clone(), 1 << 20, 6),
        (records.iter().filter(|r| r.explicit_hash_key.is_some()).cloned().collect(), 1200, 1000),
        (records.iter().filter(|r| r.explicit_hash_key.is_none()).cloned().collect(), 3100, 1000),
    ];
    for (batch, max_bytes, max_records) in &batches {
        let mut agg = Aggregator::new(*max_bytes, *max_records);
        let mut finished = Vec::new();
        for r in batch {
            let (pk, ehk) = (r.partition_key.as_str(), r.explicit_hash_key.as_deref());
            match agg.add(pk, ehk, &r.data) {
                AddOutcome::Added => {}
                AddOutcome::Full => {
                    finished.extend(agg.finish());
                    assert_eq!(agg.add(pk, ehk, &r.data), AddOutcome::Added);
                }
                AddOutcome::TooLarge { size } => panic!("{size} bytes"),
            }
        }
        finished.extend(agg.finish());
        assert!(finished.len() > 2, "the batch should be split: {} records", finished.len());
        let mut rest = &batch[..];
        for out in finished {
            assert!(out.data.len() <= *max_bytes && out.record_count <= *max_records);
            let (these, after) = rest.split_at(out.record_count);
            rest = after;
            outers.push(Outer { partition_key: out.partition_key, data: out.data, aggregated: true, expected: these.to_vec() });
        }
        assert!(rest.is_empty());
    }

    // A lone record sent plain, plain records, and records that start with
    // the magic but are not valid aggregated records: all delivered as they are.
    let mut agg = Aggregator::new(1 << 20, 10);
    assert_eq!(agg.add("lone", Some("77"), b"lone data"), AddOutcome::Added);
    let Some(Flushed::Single(lone)) = agg.finish_or_single() else { panic!("a lone record is sent plain") };
    assert_eq!(lone, sub("lone", Some("77"), b"lone data"));
    outers.push(Outer::plain(&lone.partition_key, lone.data));

    let valid = {
        let mut agg = Aggregator::new(1 << 20, 10);
        assert_eq!(agg.add("a", None, b"payload"), AddOutcome::Added);
        agg.finish().expect("not empty").data
    };
    let mut bad_digest = valid.clone();
    *bad_digest.last_mut().expect("not empty") ^= 0x55;
    outers.push(Outer::plain("plain", b"{\"not\":\"aggregated\"}".to_vec()));
    outers.push(Outer::plain("empty", Vec::new()));
    outers.push(Outer::plain("magic-only", kpl::MAGIC.to_vec()));
    outers.push(Outer::plain("too-short", [&kpl::MAGIC[..], &[0; 16]].concat()));
    outers.push(Outer::plain("bad-digest", bad_digest));
    outers.push(Outer::plain("truncated", valid[..valid.len() - 1].to_vec()));

    // Rust's own reading, by the KPL rule.
    for outer in &outers {
        let delivered = match kpl::deaggregate(&outer.data, &outer.partition_key) {
            Deaggregated::Aggregated(subs) => subs.to_vec(),
            Deaggregated::Plain | Deaggregated::Corrupt(_) => vec![sub(&outer.partition_key, None, &outer.data)],
        };
        assert!(delivered == outer.expected, "Rust reads outer record {:?} wrong", outer.partition_key);
    }

    // Python's reading.
    let request = json!({ "records": outers.iter().map(|o| json!({ "partition_key": o.partition_key, "data": B64.encode(&o.data) })).collect::<Vec<_>>() });
    let response = python_agg().run("deaggregate", &request);
    let py = response["records"].as_array().expect("records");
    let raw = response["raw"].as_array().expect("raw");
    assert_eq!(raw.len(), outers.len());
    let total: usize = outers.iter().map(|o| o.expected.len()).sum();
    assert_eq!(py.len(), total, "Python delivered {} records, expected {total}", py.len());

    let mut py_iter = py.iter();
    for (outer, raw) in outers.iter().zip(raw) {
        assert_eq!(raw.is_array(), outer.aggregated, "Python's view of whether {:?} is aggregated", outer.partition_key);
        // aws-kinesis-agg 1.2.3 gives a user record without an explicit hash
        // key index the table's first entry (the field reads as 0) when the
        // table is not empty; the raw protobuf view shows the index is absent.
        let first_ehk = outer.expected.iter().find_map(|s| s.explicit_hash_key.clone());
        for (i, s) in outer.expected.iter().enumerate() {
            let p = py_iter.next().expect("as many records");
            let context = format!("outer record {:?}, user record {i}", outer.partition_key);
            assert_eq!(p["partition_key"].as_str(), Some(s.partition_key.as_str()), "{context}");
            assert!(b64_field(p, "data") == s.data, "{context}: data differs");
            assert_eq!(p["aggregated"].as_bool(), Some(outer.aggregated), "{context}");
            if outer.aggregated {
                assert_eq!(p["sub_sequence_number"].as_u64(), Some(i as u64), "{context}");
                let index = &raw[i]["explicit_hash_key_index"];
                assert_eq!(index.is_null(), s.explicit_hash_key.is_none(), "{context}: explicit hash key index present?");
                let quirk = s.explicit_hash_key.clone().or_else(|| first_ehk.clone());
                assert_eq!(opt_str(&p["explicit_hash_key"]), quirk, "{context}");
            } else {
                assert_eq!(opt_str(&p["explicit_hash_key"]), None, "{context}");
            }
        }
    }
    assert!(py_iter.next().is_none());
}
