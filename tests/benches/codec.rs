//! Generated JSON encode/decode against a hand-written `serde_json` derive on
//! the same struct, in the same run. Report: generated time / serde time.
//!
//! Also: a record whose DECIMAL column holds a 1 MB mantissa with a matching
//! negative exponent (a value near 1, the input that made `parse_decimal`
//! quadratic), decoded by the generated decoder (refused: more digits than
//! DECIMAL(12, 2) holds) against `serde_json` merely parsing the same bytes
//! into a `Value`, and the same at 100 KB: both ratios near 1 and a tenfold
//! step between the sizes mean linear time.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kinesis_tables::Record;
use kinesis_tables_tests::generated::BenchRow;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Hand {
    id: i64,
    user: Option<String>,
    score: Option<f64>,
    active: bool,
    count: Option<i32>,
    tags: Vec<String>,
}

fn rows() -> (Vec<BenchRow>, Vec<Hand>) {
    let mut g = Vec::new();
    let mut h = Vec::new();
    for i in 0..1000i64 {
        let user = if i % 5 == 0 { None } else { Some(format!("user-{i} \"quoted\"")) };
        let tags: Vec<String> = (0..(i % 4)).map(|t| format!("tag{t}")).collect();
        g.push(BenchRow {
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

fn bench(c: &mut Criterion) {
    let (g, h) = rows();
    // Both sides produce the same bytes, so the comparison is like for like.
    for (a, b) in g.iter().zip(&h) {
        assert_eq!(a.encode().unwrap(), serde_json::to_vec(b).unwrap());
    }
    let encoded: Vec<Vec<u8>> = g.iter().map(|r| r.encode().unwrap()).collect();
    let mut group = c.benchmark_group("json");
    group.bench_function("encode/generated", |b| {
        b.iter(|| {
            for r in &g {
                black_box(r.encode().unwrap());
            }
        })
    });
    group.bench_function("encode/serde_json", |b| {
        b.iter(|| {
            for r in &h {
                black_box(serde_json::to_vec(r).unwrap());
            }
        })
    });
    group.bench_function("decode/generated", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(BenchRow::decode(e).unwrap());
            }
        })
    });
    group.bench_function("decode/serde_json", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(serde_json::from_slice::<Hand>(e).unwrap());
            }
        })
    });
    group.finish();
}

/// `{"k":"a","n":1,"amount":<digits>e-<digits - 1>}` with `digits` digits.
fn long_decimal_record(digits: usize) -> Vec<u8> {
    let mantissa = "1234567890".repeat(digits / 10);
    format!(r#"{{"k":"a","n":1,"amount":{mantissa}e-{}}}"#, digits - 1).into_bytes()
}

fn long_decimals(c: &mut Criterion) {
    use kinesis_tables_tests::generated::RtJson;
    let mut group = c.benchmark_group("long_decimal");
    group.sample_size(10);
    for (label, digits) in [("100KB", 100_000), ("1MB", 1_000_000)] {
        let record = long_decimal_record(digits);
        let err = RtJson::decode(&record).unwrap_err().to_string();
        assert!(err.len() < 400, "the error echoes at most a little of the value: {} bytes", err.len());
        group.bench_function(format!("{label}/generated_decode"), |b| b.iter(|| black_box(RtJson::decode(black_box(&record)).is_err())));
        group.bench_function(format!("{label}/serde_json_value"), |b| {
            b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(&record)).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, long_decimals);
criterion_main!(benches);
