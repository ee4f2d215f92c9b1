//! The helper of README command 1 (`scripts/quickstart.sh`):
//! `create STREAM SHARDS` creates a stream on the emulator and waits until it
//! is ACTIVE. Everything else in the quickstart is pipeline binaries.
//!
//! Endpoint, region and credentials come from the AWS environment.

use std::time::Duration;

use kinesis_tables::Record;

#[allow(dead_code)]
mod tables {
    include!(concat!(env!("OUT_DIR"), "/kinesis_tables.rs"));
    pub use crate::transforms;
}
use tables::{BigOrders, Orders};

/// The spec's transforms (they name the tables as `super::…`).
#[path = "../../../templates/specs/orders.rs"]
pub mod transforms;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["create", stream, shards] => create_stream(stream, shards.parse()?).await,
        _ => Err("usage: kinesis-tables-quickstart create STREAM SHARDS".into()),
    }
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
