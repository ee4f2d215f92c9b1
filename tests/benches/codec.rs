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

/// What the generated decoder will look like on the fast reader
/// (`codec::json::JsonRead`), written out by hand until the compiler emits it.
#[derive(PartialEq, Debug)]
struct Fast {
    id: i64,
    user: Option<String>,
    score: Option<f64>,
    active: bool,
    count: Option<i32>,
    tags: Vec<String>,
}

mod fast {
    use kinesis_tables::DataType;
    use kinesis_tables::codec::ReadError;
    use kinesis_tables::codec::json::{JsonCx, JsonRead, JsonReader, absent, duplicate, read_field, skip_field};

    static TAGS: DataType = DataType::Array(&DataType::String);

    impl JsonRead for super::Fast {
        fn read(r: &mut JsonReader<'_>, _: &'static DataType, cx: &JsonCx) -> Result<Self, ReadError> {
            r.begin_object()?;
            let (mut f0, mut f1, mut f2, mut f3, mut f4, mut f5) = (None, None, None, None, None, None);
            let mut first = true;
            while let Some(key) = r.next_key(&mut first)? {
                match key.as_bytes() {
                    b"id" if f0.is_some() => return Err(duplicate(r, "id")),
                    b"id" => f0 = Some(read_field(r, "id", &DataType::BigInt, cx)?),
                    b"user" if f1.is_some() => return Err(duplicate(r, "user")),
                    b"user" => f1 = Some(read_field(r, "user", &DataType::String, cx)?),
                    b"score" if f2.is_some() => return Err(duplicate(r, "score")),
                    b"score" => f2 = Some(read_field(r, "score", &DataType::Double, cx)?),
                    b"active" if f3.is_some() => return Err(duplicate(r, "active")),
                    b"active" => f3 = Some(read_field(r, "active", &DataType::Boolean, cx)?),
                    b"count" if f4.is_some() => return Err(duplicate(r, "count")),
                    b"count" => f4 = Some(read_field(r, "count", &DataType::Int, cx)?),
                    b"tags" if f5.is_some() => return Err(duplicate(r, "tags")),
                    b"tags" => f5 = Some(read_field(r, "tags", &TAGS, cx)?),
                    _ => skip_field(r)?,
                }
            }
            Ok(super::Fast {
                id: match f0 {
                    Some(v) => v,
                    None => absent(r, "id", cx)?,
                },
                user: match f1 {
                    Some(v) => v,
                    None => absent(r, "user", cx)?,
                },
                score: match f2 {
                    Some(v) => v,
                    None => absent(r, "score", cx)?,
                },
                active: match f3 {
                    Some(v) => v,
                    None => absent(r, "active", cx)?,
                },
                count: match f4 {
                    Some(v) => v,
                    None => absent(r, "count", cx)?,
                },
                tags: match f5 {
                    Some(v) => v,
                    None => absent(r, "tags", cx)?,
                },
            })
        }
    }
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
    let cx = kinesis_tables::codec::json::JsonCx {
        timestamp_standard: kinesis_tables::config::TimestampStandard::Sql,
        decimal_as_plain_number: false,
        ignore_null_fields: false,
        fail_on_missing_field: false,
    };
    for (e, h) in encoded.iter().zip(&h) {
        let f: Fast = kinesis_tables::codec::json::read_record(e, &cx).unwrap();
        assert_eq!((f.id, &f.user, f.score, f.active, f.count, &f.tags), (h.id, &h.user, h.score, h.active, h.count, &h.tags));
    }
    group.bench_function("decode/fast_reader", |b| {
        b.iter(|| {
            for e in &encoded {
                black_box(kinesis_tables::codec::json::read_record::<Fast>(e, &cx).unwrap());
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
