//! KPL aggregation against the Kinesis write limits: user records per second
//! per shard with and without `sink.aggregation.enabled`, in the same run,
//! through `tests/src/limitproxy.rs` (1,000 records and 1 MiB per second per
//! shard, refused entries answered `ProvisionedThroughputExceededException`
//! as AWS does) in front of a local ferrokinesis.
//!
//! Records are `rt_agg` rows of exactly 100 bytes (CSV) over 1,000 partition
//! keys. Each mode writes to a fresh stream for a warm-up, then the user
//! records acknowledged during the measuring window are counted. Without
//! aggregation the 1,000 records/s limit binds; with it the 1 MiB/s one does.
//!
//! Run: `cargo bench -p kinesis-tables-tests --bench aggregation` (emulators
//! from scripts/install-emulators.sh). `KT_BENCH_SECONDS` sets the window
//! (default 8), `KT_BENCH_SHARDS` the shard count (default 2).

use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::sink::{Sink, SinkStats};
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtAgg;
use kinesis_tables_tests::limitproxy::{LimitProxy, Limits, ShardCounts};
use kinesis_tables_tests::rt;

const KEYS: usize = 1_000;
const RECORD_BYTES: usize = 100;
const WARM_UP: Duration = Duration::from_secs(2);

/// Record `i`: key `key-{i % KEYS}`, padded to exactly RECORD_BYTES encoded.
fn record(i: usize) -> RtAgg {
    let mut r = RtAgg { k: format!("key-{}", (i * 7919) % KEYS), n: i as i64, payload: Some("x".into()) };
    let len = r.encode().expect("encodes").len();
    r.payload = Some("x".repeat((RECORD_BYTES + 1).saturating_sub(len)));
    r
}

struct Outcome {
    per_shard: f64,
    stats: SinkStats,
    counts: Vec<(String, ShardCounts)>,
    window: Duration,
}

async fn run(emu: &Emulator, proxy: &LimitProxy, stream: &str, shards: i32, aggregate: bool, window: Duration) -> Outcome {
    emu.create_stream(stream, shards).await.unwrap();
    let mut cfg = rt::config_for::<RtAgg>(&proxy.endpoint(), stream);
    cfg.sink.aggregation.enabled = aggregate;
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtAgg>::with_client(client, &cfg);
    let start = Instant::now();
    let mut mark: Option<(Instant, u64)> = None;
    let mut i = 0;
    let mut progress = start;
    let (t1, a1) = loop {
        let r = record(i);
        assert_eq!(r.encode().unwrap().len(), RECORD_BYTES);
        sink.send(&r).await.unwrap();
        i += 1;
        let now = Instant::now();
        if now - progress >= Duration::from_secs(1) {
            progress = now;
            eprintln!("  {stream}: {:.0} s, {i} sent, {:?}", (now - start).as_secs_f64(), sink.stats());
        }
        if mark.is_none() && now - start >= WARM_UP {
            mark = Some((now, sink.stats().acknowledged));
        }
        if let Some((t0, _)) = mark
            && now - t0 >= window
        {
            break (now, sink.stats().acknowledged);
        }
    };
    let (t0, a0) = mark.unwrap();
    let window = t1 - t0;
    let per_shard = (a1 - a0) as f64 / window.as_secs_f64() / shards as f64;
    eprintln!("  {stream}: closing");
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, i as u64);
    let mut counts: Vec<(String, ShardCounts)> = proxy.counts().into_iter().collect();
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    Outcome { per_shard, stats, counts, window }
}

fn main() {
    let seconds: u64 = std::env::var("KT_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let shards: i32 = std::env::var("KT_BENCH_SHARDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
        let window = Duration::from_secs(seconds);
        // A proxy per mode, so that each one's counts are its own.
        let proxy = LimitProxy::start(&emu.endpoint(), Limits::default()).await.unwrap();
        let agg = run(&emu, &proxy, "aggregated", shards, true, window).await;
        let proxy = LimitProxy::start(&emu.endpoint(), Limits::default()).await.unwrap();
        let plain = run(&emu, &proxy, "plain", shards, false, window).await;

        println!(
            "aggregation benchmark: {RECORD_BYTES}-byte records, {KEYS} keys, {shards} shards, limits 1,000 records/s and 1 MiB/s per shard (limitproxy over ferrokinesis)"
        );
        for (name, o) in [("aggregated", &agg), ("plain", &plain)] {
            println!("{name:>10}: {:>8.0} user records/s per shard (window {:.1} s)", o.per_shard, o.window.as_secs_f64());
            println!(
                "            sink: {} records, {} requests, {} aggregated records holding {} records, {} retried",
                o.stats.acknowledged, o.stats.requests, o.stats.aggregated_records, o.stats.aggregated_user_records, o.stats.retried_records
            );
            for (shard, c) in &o.counts {
                println!(
                    "            {shard}: {} Kinesis records ({} bytes) accepted, {} throttled",
                    c.accepted_records, c.accepted_bytes, c.throttled_records
                );
            }
        }
        println!("ratio aggregated / plain: {:.1}", agg.per_shard / plain.per_shard);
    });
}
