//! The helper of README command 1 (`scripts/quickstart.sh`), over the tables
//! of `templates/specs/orders.yaml`:
//!
//! - `create STREAM SHARDS`: creates a stream and waits until it is ACTIVE;
//! - `feed N`: writes N typed orders to the `orders` stream with the sink;
//! - `show`: reads `orders-archive` (what the pipeline wrote) with the source.
//!
//! Endpoint, region and credentials come from the AWS environment.

use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;

#[allow(dead_code)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));
    pub use crate::transforms;
}
use tables::{BigOrders, Orders, OrdersArchive};

/// The spec's transforms (they name the tables as `super::…`).
#[path = "../../../templates/specs/orders.rs"]
pub mod transforms;

type Error = Box<dyn std::error::Error>;

fn order(i: i64) -> Orders {
    Orders {
        order_id: i,
        customer: format!("customer-{}", i % 5000),
        amount: format!("{}.{:02}", (i * 131) % 2000, i % 100).parse().unwrap_or_default(),
        qty: (i % 9) as i32 + 1,
        placed_at: chrono::DateTime::from_timestamp_millis(1_764_000_000_000 + i * 17).map(|t| t.naive_utc()).unwrap_or_default(),
        shard: String::new(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["create", stream, shards] => create_stream(stream, shards.parse()?).await,
        ["feed", n] => feed(n.parse()?).await,
        ["show"] => show().await,
        _ => Err("usage: kinesis-tables-quickstart create STREAM SHARDS | feed N | show".into()),
    }
}

async fn feed(n: i64) -> Result<(), Error> {
    let t = Instant::now();
    let mut sink = Sink::<Orders>::connect().await?;
    for i in 0..n {
        sink.send(&order(i)).await?;
    }
    let stats = sink.close().await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "fed {} orders into `orders` in {secs:.2} s ({:.0} records/s, {} PutRecords calls)",
        stats.acknowledged,
        stats.acknowledged as f64 / secs,
        stats.requests
    );
    Ok(())
}

async fn show() -> Result<(), Error> {
    let t = Instant::now();
    let mut source = Source::<OrdersArchive>::builder().start().await?;
    let mut got = 0u64;
    let mut shown = 0;
    while let Ok(batch) = tokio::time::timeout(Duration::from_secs(3), source.next()).await {
        let batch = batch?;
        for r in &batch.records {
            if shown < 3 {
                println!("  {}", String::from_utf8_lossy(&r.encode()?).trim_end());
                shown += 1;
            }
        }
        got += batch.records.len() as u64;
        source.ack(batch.ack);
    }
    let secs = (t.elapsed().as_secs_f64() - 3.0).max(0.001);
    source.close().await?;
    println!("read {got} archived orders back from `orders-archive` (csv) at {:.0} records/s", got as f64 / secs);
    let _ = BigOrders::TABLE_NAME;
    Ok(())
}

async fn create_stream(name: &str, shards: i32) -> Result<(), Error> {
    use kinesis_tables::aws::aws_sdk_kinesis::types::StreamStatus;
    let cfg = Orders::config()?;
    let client = kinesis_tables::connect::kinesis_client(&cfg, kinesis_tables::connect::HttpSettings::source(&cfg), None).await?;
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
