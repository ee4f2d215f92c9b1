//! Writes typed click records to Kinesis with the batching sink, then reads
//! them back with the polling source, printing throughput and a few records.
//!
//! Endpoint, region and credentials come from the AWS environment;
//! `scripts/quickstart.sh` points them at a local emulator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;

mod tables {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));
}
use tables::Clicks;

const PAGES: [&str; 5] = ["/", "/pricing", "/docs", "/blog", "/signup"];

fn click(i: i64) -> Clicks {
    Clicks {
        user_id: i % 500,
        page: PAGES[(i % 5) as usize].to_owned(),
        referrer: (i % 3 == 0).then(|| "https://example.com/".to_owned()),
        amount: format!("{}.{:02}", (i * 37) % 10_000 / 100, i % 100).parse().ok(),
        ts: chrono::DateTime::from_timestamp_millis(1_764_000_000_000 + i).map(|t| t.naive_utc()).unwrap_or_default(),
        shard: String::new(),
        arrived: Default::default(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = Clicks::config()?;
    if args.first().map(String::as_str) == Some("--create-stream") {
        let shards: i32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
        return create_stream(&cfg, &args[1], shards).await;
    }
    let n: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    println!("table `{}`: stream {}, format {}", Clicks::TABLE_NAME, cfg.stream.name(), Clicks::FORMAT);

    let t = Instant::now();
    let mut sink = Sink::<Clicks>::connect().await?;
    for i in 0..n {
        sink.send(&click(i)).await?;
    }
    let stats = sink.close().await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "sink:   {} records acknowledged in {} PutRecords calls, {:.2} s, {:.0} records/s",
        stats.acknowledged,
        stats.requests,
        secs,
        stats.acknowledged as f64 / secs
    );

    let checkpoints = std::env::var("KT_CHECKPOINT_DIR").unwrap_or_else(|_| "target/quickstart-checkpoints".into());
    let t = Instant::now();
    let mut source = Source::<Clicks>::builder().checkpoints(FileCheckpointStore::new(&checkpoints, "clicks")).start().await?;
    let mut per_shard: BTreeMap<String, u64> = BTreeMap::new();
    let mut got = 0u64;
    let mut shown = 0;
    loop {
        let batch = match tokio::time::timeout(Duration::from_secs(3), source.next()).await {
            Ok(b) => b?,
            Err(_) => break, // caught up
        };
        for r in &batch.records {
            *per_shard.entry(r.shard.clone()).or_default() += 1;
            if shown < 3 {
                println!("  {} from {} (arrived {})", String::from_utf8_lossy(&r.encode()?), r.shard, r.arrived);
                shown += 1;
            }
        }
        got += batch.records.len() as u64;
        source.ack(batch.ack);
    }
    let secs = t.elapsed().as_secs_f64() - 3.0;
    let st = source.close().await?;
    println!(
        "source: {got} records read ({:.0} records/s), {} GetRecords calls, per shard {per_shard:?}",
        got as f64 / secs.max(0.001),
        st.get_records_calls
    );
    println!("checkpoint in {checkpoints}: a second run reads only new records");
    Ok(())
}

/// Creates the stream (if it does not exist) and waits until it is ACTIVE.
async fn create_stream(cfg: &kinesis_tables::TableConfig, name: &str, shards: i32) -> Result<(), Box<dyn std::error::Error>> {
    use kinesis_tables::aws::aws_sdk_kinesis::types::StreamStatus;
    let client = kinesis_tables::connect::kinesis_client(cfg, kinesis_tables::connect::HttpSettings::source(cfg), None).await?;
    if client.describe_stream_summary().stream_name(name).send().await.is_err() {
        client.create_stream().stream_name(name).shard_count(shards).send().await?;
    }
    for _ in 0..100 {
        let d = client.describe_stream_summary().stream_name(name).send().await?;
        if d.stream_description_summary().map(|s| s.stream_status()) == Some(&StreamStatus::Active) {
            println!("stream `{name}` is ACTIVE with {shards} shards");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("stream `{name}` did not become ACTIVE").into())
}
