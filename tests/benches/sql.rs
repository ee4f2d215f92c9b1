//! The compiled SQL transform against the same logic written by hand in
//! Rust, in the same run, as ratios (goal >= 0.95: the compiled code costs
//! no more than 5 % over hand-written code).
//!
//! The query is the example (tests/specs/sql_bench.yaml):
//! `SELECT order_id, UPPER(customer), CAST(amount * 100 AS BIGINT), qty * 2
//! FROM sb_orders WHERE amount >= 1000 AND customer IS NOT NULL`, compiled to
//! `transform_sb_big_sql`. The hand-written side does the same with
//! bigdecimal and checked integer arithmetic, as a careful person would.
//!
//! - prepared rows: 100,000 generated rows, transformed (criterion: each
//!   side's time per row; then medians of 11 alternating passes, the ratio).
//! - pipelines: datagen -> blackhole, 1,000,000 rows through
//!   `pipeline::run` with each transform, 3 runs alternating, medians.
//!
//! Run: `cargo bench -p kinesis-tables-tests --bench sql`.

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, black_box};
use kinesis_tables::Record;
use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables::types::Decimal;
use kinesis_tables_tests::generated::pipelines::transform_sb_big_sql;
use kinesis_tables_tests::generated::{SbBig, SbOrders};

/// Why the hand-written transform failed a record.
#[derive(Debug)]
struct Overflow(&'static str);

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} overflows", self.0)
    }
}

/// The query by hand.
fn by_hand(r: SbOrders) -> Result<Option<SbBig>, Overflow> {
    use bigdecimal::{RoundingMode, ToPrimitive};
    let Some(customer) = r.customer else { return Ok(None) };
    if r.amount < 1000 {
        return Ok(None);
    }
    let cents = (&r.amount * Decimal::from(100)).with_scale_round(0, RoundingMode::Down).to_i64().ok_or(Overflow("total_cents"))?;
    let items = r.qty.checked_mul(2).ok_or(Overflow("items"))?;
    Ok(Some(SbBig { order_id: r.order_id, customer: customer.to_uppercase(), total_cents: cents, items }))
}

fn rows(n: usize) -> Vec<SbOrders> {
    let cfg = SbOrders::config().unwrap();
    let Some(kinesis_tables::config::LocalConfig::Datagen(d)) = &cfg.local else { unreachable!("sb_orders is datagen") };
    let mut g = kinesis_tables::datagen::Generator::new(d);
    (0..n)
        .map(|_| {
            let r = SbOrders::generate(&mut g).unwrap();
            g.advance();
            r
        })
        .collect()
}

fn pass<E>(rows: &[SbOrders], f: fn(SbOrders) -> Result<Option<SbBig>, E>) -> Duration {
    let batch = rows.to_vec();
    let t = Instant::now();
    let mut kept = 0usize;
    for r in batch {
        kept += usize::from(matches!(black_box(f(r)), Ok(Some(_))));
    }
    black_box(kept);
    t.elapsed()
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

async fn pipeline_run<E: std::fmt::Display>(name: &str, f: fn(SbOrders) -> Result<Option<SbBig>, E>) -> (Duration, u64) {
    let dir = std::env::temp_dir().join(format!("kt-sql-bench-{}", fastrand::u64(..)));
    let options = PipelineOptions { checkpoint_dir: dir.clone(), ..PipelineOptions::default() };
    let t = Instant::now();
    let report = pipeline::run::<SbOrders, SbBig, _>(name, &options, pipeline::fallible(f)).await.unwrap();
    let took = t.elapsed();
    let _ = std::fs::remove_dir_all(dir);
    (took, report.records_out)
}

fn main() {
    let prepared = rows(100_000);
    // Both sides agree on every row before anything is timed.
    for r in &prepared {
        let sql = transform_sb_big_sql(r.clone()).map_err(|e| e.to_string());
        let hand = by_hand(r.clone()).map_err(|e| e.to_string());
        assert_eq!(sql.is_ok(), hand.is_ok());
        assert_eq!(sql.ok(), hand.ok());
    }
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("sql_transform");
    group.throughput(Throughput::Elements(prepared.len() as u64));
    group.bench_function("compiled SQL", |b| {
        b.iter_batched(
            || prepared.clone(),
            |rows| rows.into_iter().map(transform_sb_big_sql).filter(|r| matches!(r, Ok(Some(_)))).count(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("by hand", |b| {
        b.iter_batched(
            || prepared.clone(),
            |rows| rows.into_iter().map(by_hand).filter(|r| matches!(r, Ok(Some(_)))).count(),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let (mut sql, mut hand) = (Vec::new(), Vec::new());
    for k in 0..11 {
        if k % 2 == 0 {
            sql.push(pass(&prepared, transform_sb_big_sql));
            hand.push(pass(&prepared, by_hand));
        } else {
            hand.push(pass(&prepared, by_hand));
            sql.push(pass(&prepared, transform_sb_big_sql));
        }
    }
    let (sql, hand) = (median(sql), median(hand));
    let per_row = |d: Duration| d.as_nanos() as f64 / prepared.len() as f64;
    println!(
        "prepared rows ({}): compiled SQL {:.1} ns/row, by hand {:.1} ns/row, ratio (hand time / SQL time) {:.2}",
        prepared.len(),
        per_row(sql),
        per_row(hand),
        hand.as_secs_f64() / sql.as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (mut sql, mut hand) = (Vec::new(), Vec::new());
        let mut out = 0;
        for k in 0..3 {
            let (a, b) = if k % 2 == 0 {
                let a = pipeline_run("sb_big_sql", transform_sb_big_sql).await;
                (a, pipeline_run("sb_big_hand", by_hand).await)
            } else {
                let b = pipeline_run("sb_big_hand", by_hand).await;
                (pipeline_run("sb_big_sql", transform_sb_big_sql).await, b)
            };
            // datagen is not seeded: the two runs keep different rows (about the same count).
            out = a.1;
            sql.push(a.0);
            hand.push(b.0);
        }
        let (sql, hand) = (median(sql), median(hand));
        let rate = |d: Duration| 1_000_000.0 / d.as_secs_f64();
        println!(
            "datagen -> blackhole (1,000,000 rows, {out} out): compiled SQL {:.0} rows/s, by hand {:.0} rows/s, ratio {:.2}",
            rate(sql),
            rate(hand),
            rate(sql) / rate(hand)
        );
    });
}
