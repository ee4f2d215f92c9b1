//! Generated Avro encode/decode against `apache-avro` (the Rust library of
//! the Avro project) with a serde derive on the same struct and the same
//! schema (the one the compiler derives), in the same run. Both sides
//! produce the same bytes. Report: generated time / apache-avro time.
//!
//! `cargo bench -p kinesis-tables-tests --bench avro`

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kinesis_tables::Record;
use kinesis_tables_tests::generated::BenchAvro;
use serde::{Deserialize, Serialize};

/// The record's Avro name is `record` (namespace `org.apache.flink.avro.generated`).
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename = "record")]
struct Hand {
    id: i64,
    user: Option<String>,
    score: Option<f64>,
    active: bool,
    count: Option<i32>,
    tags: Vec<String>,
}

fn rows() -> (Vec<BenchAvro>, Vec<Hand>) {
    let mut g = Vec::new();
    let mut h = Vec::new();
    for i in 0..1000i64 {
        let user = if i % 5 == 0 { None } else { Some(format!("user-{i} \"quoted\"")) };
        let tags: Vec<String> = (0..(i % 4)).map(|t| format!("tag{t}")).collect();
        g.push(BenchAvro {
            id: i,
            user: user.clone(),
            score: Some(i as f64 * 1.25),
            active: i % 2 == 0,
            count: Some(i as i32),
            tags: tags.clone(),
        });
        h.push(Hand { id: i, user, score: Some(i as f64 * 1.25), active: i % 2 == 0, count: Some(i as i32), tags });
    }
    (g, h)
}

/// apache-avro's direct serde paths (no intermediate `Value`).
fn lib_encode(w: &apache_avro::writer::datum::GenericDatumWriter<'_>, h: &Hand) -> Vec<u8> {
    w.write_ser_to_vec(h).unwrap()
}

fn lib_decode(r: &apache_avro::reader::datum::GenericDatumReader<'_>, mut bytes: &[u8]) -> Hand {
    r.read_deser::<Hand>(&mut bytes).unwrap()
}

fn bench(c: &mut Criterion) {
    let schema = apache_avro::Schema::parse_str(BenchAvro::AVRO_SCHEMA).unwrap();
    let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&schema).build().unwrap();
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema).build().unwrap();
    let (g, h) = rows();
    for (a, b) in g.iter().zip(&h) {
        let bytes = a.encode().unwrap();
        assert_eq!(bytes, lib_encode(&writer, b));
        assert_eq!(&lib_decode(&reader, &bytes), b);
    }
    let encoded: Vec<Vec<u8>> = g.iter().map(|r| r.encode().unwrap()).collect();
    let mut group = c.benchmark_group("avro");
    group.bench_function("encode/generated", |b| {
        b.iter(|| {
            for r in &g {
                black_box(r.encode().unwrap());
            }
        })
    });
    group.bench_function("encode/apache_avro", |b| {
        b.iter(|| {
            for r in &h {
                black_box(lib_encode(&writer, r));
            }
        })
    });
    group.bench_function("decode/generated", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(BenchAvro::decode(e).unwrap());
            }
        })
    });
    group.bench_function("decode/apache_avro", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(lib_decode(&reader, e));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
