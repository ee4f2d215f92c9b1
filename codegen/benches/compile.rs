//! Checking and generating a 200-table spec.

use criterion::{Criterion, black_box, criterion_group, criterion_main};

fn spec(n: usize) -> String {
    let mut s = String::from("tables:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  table_{i}:\n    columns:\n      id: BIGINT NOT NULL\n      name: VARCHAR(64)\n      price: DECIMAL(10, 2)\n      at: TIMESTAMP(3)\n      tags: ARRAY<STRING>\n      attrs: MAP<STRING, INT>\n      addr: ROW<street STRING, zip INT>\n      shard: STRING METADATA FROM 'shard-id' VIRTUAL\n    partitioned_by: [id]\n    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/s{i}\n      aws.region: us-east-1\n      format: json\n      sink.batch.max-size: 250\n      source.init.position: TRIM_HORIZON\n"
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let src = spec(200);
    let checked = kinesis_tables_codegen::check_source("bench.yaml", &src);
    assert_eq!(checked.error_count(), 0);
    assert_eq!(checked.tables.len(), 200);
    let mut g = c.benchmark_group("compile_200_tables");
    g.sample_size(10);
    g.bench_function("check", |b| b.iter(|| black_box(kinesis_tables_codegen::check_source("bench.yaml", black_box(&src)))));
    g.bench_function("check_and_generate", |b| {
        b.iter(|| {
            let c = kinesis_tables_codegen::check_source("bench.yaml", black_box(&src));
            black_box(kinesis_tables_codegen::generate(&[c]))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
