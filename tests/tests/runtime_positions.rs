//! Start positions: LATEST (pinned at the first start, not at restarts) and
//! AT_TIMESTAMP, against both emulators.

use std::time::Duration;

use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::config::StartPosition;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt::{self, TestRecord};

async fn write(cfg: &kinesis_tables::TableConfig, records: &[RtJson]) {
    let (client, _) = rt::clients(cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, cfg);
    for r in records {
        sink.send(r).await.unwrap();
    }
    assert_eq!(sink.close().await.unwrap().acknowledged, records.len() as u64);
}

/// Drives the source until every shard it knows has its first iterator.
async fn wait_positioned(source: &mut Source<RtJson>) {
    for _ in 0..200 {
        let status = source.shard_status();
        if !status.is_empty() && status.values().all(|s| *s == "reading" || *s == "finished") {
            return;
        }
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(50), source.next()).await {
            panic!("no records expected yet, got {:?}", r.map(|b| b.records.len()));
        }
    }
    panic!("shards never positioned: {:?}", source.shard_status());
}

fn batch(range: std::ops::Range<i64>) -> Vec<RtJson> {
    range.map(|n| RtJson::make(&format!("key-{}", n % 10), n)).collect()
}

fn ids(records: &[RtJson]) -> Vec<i64> {
    let mut v: Vec<i64> = records.iter().map(|r| r.n).collect();
    v.sort();
    v
}

async fn latest_is_pinned(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("latest", 3).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "latest");
    cfg.source.start = StartPosition::Latest;
    let dir = std::env::temp_dir().join(format!("kt-latest-{}-{}", kind.name(), fastrand::u64(..)));
    let store = || FileCheckpointStore::new(&dir, "latest");

    let before = batch(0..200);
    write(&cfg, &before).await;

    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client.clone()).checkpoints(store()).start().await.unwrap();
    wait_positioned(&mut source).await;
    let during = batch(200..400);
    write(&cfg, &during).await;
    let got = rt::read_until(&mut source, during.len(), Duration::from_secs(5)).await.unwrap();
    assert_eq!(ids(&got), ids(&during), "LATEST reads only what arrives after the start");
    source.close().await.unwrap();

    // Written while the source is down: a restart must read these, not skip
    // them by taking a new LATEST.
    let down = batch(400..600);
    write(&cfg, &down).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client).checkpoints(store()).start().await.unwrap();
    let got = rt::read_until(&mut source, down.len(), Duration::from_secs(5)).await.unwrap();
    let got_ids = ids(&got);
    assert_eq!(got_ids, ids(&down), "a restart resumes from the checkpoint, then the pinned start");
    // Nothing more arrives (no re-read of earlier records).
    let more = rt::read_until(&mut source, 1, Duration::from_secs(2)).await.unwrap();
    assert!(more.is_empty(), "unexpected records after restart: {:?}", ids(&more));
    source.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

async fn at_timestamp(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("at-ts", 2).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "at-ts");
    let early = batch(0..150);
    write(&cfg, &early).await;
    // Arrival times are whole seconds on some servers: leave clear gaps.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let late = batch(150..300);
    write(&cfg, &late).await;

    cfg.source.start = StartPosition::AtTimestamp { epoch_millis: t };
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg).client(client).start().await.unwrap();
    let got = rt::read_until(&mut source, late.len() + 1, Duration::from_secs(4)).await.unwrap();
    assert_eq!(ids(&got), ids(&late), "AT_TIMESTAMP reads exactly the records that arrived after it");
    for r in &got {
        assert!(r.n >= 150);
    }
    source.close().await.unwrap();
}

/// A stream resharded before the first start: LATEST applies to the open
/// children too, not only to the closed parent.
async fn latest_after_a_split(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("split-first", 1).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "split-first");
    cfg.source.start = StartPosition::Latest;
    write(&cfg, &batch(0..100)).await;
    let parent = emu.open_shards("split-first").await.unwrap().remove(0);
    emu.split_shard("split-first", &parent.shard_id).await.unwrap();
    write(&cfg, &batch(100..200)).await;

    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client).start().await.unwrap();
    wait_positioned(&mut source).await;
    let after = batch(200..300);
    write(&cfg, &after).await;
    let got = rt::read_until(&mut source, after.len() + 1, Duration::from_secs(4)).await.unwrap();
    assert_eq!(ids(&got), ids(&after), "{kind}: only records written after the start");
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_after_split_kinesis_mock() {
    latest_after_a_split(Kind::KinesisMock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_after_split_ferrokinesis() {
    latest_after_a_split(Kind::Ferrokinesis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_kinesis_mock() {
    latest_is_pinned(Kind::KinesisMock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_ferrokinesis() {
    latest_is_pinned(Kind::Ferrokinesis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_kinesis_mock() {
    at_timestamp(Kind::KinesisMock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_ferrokinesis() {
    at_timestamp(Kind::Ferrokinesis).await;
}
