//! Generated JSON encode/decode against a hand-written `serde_json` derive on
//! the same struct, in the same run. Report: generated time / serde time.

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

criterion_group!(benches, bench);
criterion_main!(benches);
