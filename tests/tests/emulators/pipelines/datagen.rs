//! The `datagen` source and the `blackhole` sink, in process (no emulator):
//! every generated value fits its column, options take effect, the rate is
//! honoured and a bounded source ends a pipeline. `print` is tested through
//! real binaries in `cli/tests/pipeline_build.rs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::datagen::Datagen;
use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables_tests::generated::{GenAll, GenDiscard, OrderFeed};

async fn all<R: Record>() -> Vec<R> {
    let mut d = Datagen::<R>::start().unwrap();
    let mut rows = Vec::new();
    while let Some(batch) = d.next().await.unwrap() {
        rows.extend(batch);
    }
    assert!(d.is_done());
    rows
}

#[tokio::test]
async fn generated_values_fit_their_types_and_follow_the_options() {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let rows: Vec<GenAll> = all().await;
    // number-of-rows is 5000, but the shortest sequence (-5..=1994) ends first.
    assert_eq!(rows.len(), 2000);
    // 1,000 rows per second: 2,000 rows cannot come faster than that allows
    // (a lower bound on the pacing, not a speed measurement).
    assert!(started.elapsed() >= Duration::from_millis(1900), "the rate was not honoured: {:?}", started.elapsed());
    let now = chrono::Utc::now();
    let (mut null_b, mut null_str, mut lens) = (0, 0, HashSet::new());
    for (k, r) in rows.iter().enumerate() {
        // Every value fits its SQL type: the row survives its own codec unchanged.
        let bytes = r.encode().unwrap_or_else(|e| panic!("row {k} does not encode: {e}: {r:?}"));
        assert_eq!(&GenAll::decode(&bytes).unwrap(), r);
        assert_eq!(r.seq, k as i64 - 5, "sequence");
        assert_eq!(r.seq_text, (100_000 + k).to_string(), "sequence as text");
        assert!((-3..=3).contains(&r.i), "min/max: {}", r.i);
        assert!((0.5..=0.75).contains(&r.d), "min/max: {}", r.d);
        let small: f64 = r.small_dec.to_string().parse().unwrap();
        assert!((-99.99..=99.99).contains(&small), "{small}");
        assert_eq!(r.ch.chars().count(), 3, "CHAR(3) is filled");
        assert!(r.vc.chars().count() <= 5);
        assert_eq!(r.vb.len(), 4, "length");
        assert!(r.arr.as_ref().is_some_and(|a| a.len() == 4 && a.iter().all(|v| (10..=20).contains(v))), "{:?}", r.arr);
        // Made between the start and now, up to max-past (1 min) before that moment.
        let (earliest, latest) = (started_at - chrono::Duration::seconds(61), now + chrono::Duration::seconds(1));
        assert!(r.ts >= earliest.naive_utc() && r.ts <= latest.naive_utc(), "max-past 1 min: {} not in {earliest}..{latest}", r.ts);
        let day_age = now.date_naive() - r.day;
        assert!((0..=11).contains(&day_age.num_days()), "max-past 10 d: {day_age}");
        assert!(r.ltz >= started_at - chrono::Duration::seconds(1) && r.ltz <= latest, "no max-past: {}", r.ltz);
        null_b += r.b.is_none() as usize;
        match &r.str {
            None => null_str += 1,
            Some(s) => {
                assert!(s.len() <= 10);
                lens.insert(s.len());
            }
        }
    }
    // null-rate 0.5 and 0.1 over 2,000 rows (far outside these bounds is a bug, not luck).
    assert!((700..=1300).contains(&null_b), "null-rate 0.5 gave {null_b} nulls");
    assert!((80..=320).contains(&null_str), "null-rate 0.1 gave {null_str} nulls");
    assert!(lens.len() > 5, "var-len gives varying lengths: {lens:?}");
}

#[tokio::test]
async fn the_quickstart_feed_makes_the_orders_it_promises() {
    let rows: Vec<OrderFeed> = all().await;
    assert_eq!(rows.len(), 50_000);
    let ids: Vec<i64> = rows.iter().map(|r| r.order_id).collect();
    assert_eq!(ids, (1..=50_000).collect::<Vec<_>>());
    let one = "1".parse::<kinesis_tables::types::Decimal>().unwrap();
    let top = "2000".parse::<kinesis_tables::types::Decimal>().unwrap();
    for r in &rows {
        assert_eq!(r.customer.len(), 12);
        assert!(r.customer.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(r.amount >= one && r.amount <= top, "{}", r.amount);
        assert!((1..=9).contains(&r.qty));
        r.encode().unwrap();
    }
    assert!(rows.iter().map(|r| &r.customer).collect::<HashSet<_>>().len() > 49_000, "random customers");
}

#[tokio::test]
async fn a_bounded_source_ends_the_pipeline() {
    let dir = std::env::temp_dir().join(format!("kt-datagen-{}", fastrand::u64(..)));
    let options = PipelineOptions { checkpoint_dir: dir, ..PipelineOptions::default() };
    let report =
        pipeline::run::<GenAll, GenDiscard, _>("gen_to_blackhole", &options, |r: GenAll| Some(GenDiscard { seq: r.seq })).await.unwrap();
    assert_eq!((report.records_in, report.records_out, report.stopped_by), (2000, 2000, "done"));
}

#[tokio::test]
async fn datagen_is_not_a_kinesis_stream() {
    let err = kinesis_tables::source::Source::<GenAll>::builder().start().await.unwrap_err();
    assert!(err.to_string().contains("uses `connector: datagen`"), "{err}");
    let err = kinesis_tables::sink::Sink::<GenDiscard>::connect().await.unwrap_err();
    assert!(err.to_string().contains("uses `connector: blackhole`"), "{err}");
}
