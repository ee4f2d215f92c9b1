//! Start positions: LATEST (pinned at the first start, not at restarts) and
//! AT_TIMESTAMP, against both emulators.

use std::time::Duration;

use kinesis_tables::checkpoint::{Checkpoint, FileCheckpointStore, ShardPosition};
use kinesis_tables::config::StartPosition;
use kinesis_tables::policy::OnDataLoss;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::{Source, SourceError};
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::faultproxy::{FaultProxy, Faults};
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

kinesis_tables_tests::on_each_emulator!(latest_after_split, latest_after_a_split);

kinesis_tables_tests::on_each_emulator!(latest, latest_is_pinned);

kinesis_tables_tests::on_each_emulator!(at_timestamp, at_timestamp);

/// Reads until `want` records arrived (or 4 s pass with nothing new), acknowledging everything.
async fn read_n(source: &mut Source<RtJson>, want: usize) -> Vec<RtJson> {
    rt::read_until(source, want, Duration::from_secs(4)).await.unwrap()
}

fn temp_dir(what: &str, kind: Kind) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kt-{what}-{}-{}", kind.name(), fastrand::u64(..)))
}

async fn creation_millis(emu: &Emulator, stream: &str) -> i64 {
    let out = emu.client().describe_stream_summary().stream_name(stream).send().await.unwrap();
    out.stream_description_summary().unwrap().stream_creation_timestamp().to_millis().unwrap()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A stream deleted and recreated under the same name (same ARN, shard ids
/// starting over) is refused, naming both creation times, instead of being
/// read with the old stream's positions (which skipped it silently).
async fn recreated_stream_is_refused(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("recreated", 1).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "recreated");
    let dir = temp_dir("recreated", kind);
    let store = || FileCheckpointStore::new(&dir, "recreated");
    let old_created = creation_millis(&emu, "recreated").await;
    write(&cfg, &batch(0..20)).await;
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client.clone()).checkpoints(store()).start().await.unwrap();
    assert_eq!(ids(&read_n(&mut source, 20).await), (0..20).collect::<Vec<_>>(), "{kind}");
    source.close().await.unwrap();

    emu.client().delete_stream().stream_name("recreated").send().await.unwrap();
    for _ in 0..100 {
        if emu.client().describe_stream_summary().stream_name("recreated").send().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ferrokinesis reports creation times in whole seconds.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    emu.create_stream("recreated", 1).await.unwrap();
    let new_created = creation_millis(&emu, "recreated").await;
    assert_ne!(old_created, new_created, "{kind}: the emulator gave the recreated stream the same creation time");
    write(&cfg, &batch(100..105)).await;

    let err = Source::<RtJson>::builder().config(cfg.clone()).client(client.clone()).checkpoints(store()).start().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("deleted and recreated"), "{kind}: {text}");
    assert!(text.contains(&rfc3339(old_created)) && text.contains(&rfc3339(new_created)), "{kind}: both creation times named: {text}");
    // Removing the checkpoint, as the message says, reads the new stream.
    std::fs::remove_dir_all(&dir).unwrap();
    let mut source = Source::<RtJson>::builder().config(cfg).client(client).checkpoints(store()).start().await.unwrap();
    assert_eq!(ids(&read_n(&mut source, 5).await), (100..105).collect::<Vec<_>>(), "{kind}");
    source.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(recreated_stream, recreated_stream_is_refused);

/// The first `next` of a source over a lost position fails naming the shard
/// and the position, and says how to go on; returns the reason.
async fn expect_data_loss(mut source: Source<RtJson>, kind: Kind, shard: &str, committed: &str) -> String {
    let err = tokio::time::timeout(Duration::from_secs(10), source.next()).await.unwrap().unwrap_err();
    assert!(err.to_string().contains("--on-data-loss continue"), "{kind}: {err}");
    match err {
        SourceError::DataLoss { shard_id, position, reason } => {
            assert_eq!((shard_id.as_str(), position.as_str()), (shard, committed), "{kind}: {reason}");
            reason
        }
        other => panic!("{kind}: expected data loss, got {other}"),
    }
}

/// With `--on-data-loss continue`: reads the records `expected`, exactly,
/// with the loss counted once.
async fn continue_past_loss(cfg: kinesis_tables::TableConfig, store: FileCheckpointStore, kind: Kind, expected: std::ops::Range<i64>) {
    let (_, client) = rt::clients(&cfg).await;
    let mut source =
        Source::<RtJson>::builder().config(cfg).client(client).checkpoints(store).on_data_loss(OnDataLoss::Continue).start().await.unwrap();
    let want = expected.clone().count();
    assert_eq!(ids(&read_n(&mut source, want).await), expected.collect::<Vec<_>>(), "{kind}");
    assert_eq!(source.stats().data_loss, 1, "{kind}");
    source.close().await.unwrap();
}

/// A closed shard whose checkpoint holds an unfinished position is trimmed
/// (the fault proxy leaves it out of ListShards, as Kinesis does after the
/// retention period): the source fails naming the shard and the position,
/// rather than treating it as read; with `continue` it counts the loss,
/// reads the children from their start and commits past the lost shard.
async fn trimmed_parent_is_data_loss(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("trimmed", 1).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "trimmed");
    cfg.source.polling.max_records = 10;
    let dir = temp_dir("trimmed", kind);
    let store = || FileCheckpointStore::new(&dir, "trimmed");
    write(&cfg, &batch(0..50)).await;
    let parent = emu.open_shards("trimmed").await.unwrap()[0].shard_id.clone();
    // Read and commit one batch of the parent only.
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client).checkpoints(store()).start().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), source.next()).await.unwrap().unwrap();
    assert!(first.records.len() < 50, "{kind}: one small batch");
    source.ack(first.ack);
    let committed = match source.checkpoint().shards.get(&parent) {
        Some(ShardPosition::After { sequence_number, .. }) => sequence_number.clone(),
        other => panic!("{kind}: parent position {other:?}"),
    };
    source.close().await.unwrap();
    // The parent is split (so it is closed, with children) and more is written.
    emu.split_shard("trimmed", &parent).await.unwrap();
    write(&cfg, &batch(50..80)).await;

    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults { hide_shards: vec![parent.clone()], ..Faults::default() });
    let mut via_proxy = rt::config_for::<RtJson>(&proxy.endpoint(), "trimmed");
    via_proxy.source.polling.max_records = 10;
    let (_, client) = rt::clients(&via_proxy).await;
    let source = Source::<RtJson>::builder().config(via_proxy.clone()).client(client).checkpoints(store()).start().await.unwrap();
    expect_data_loss(source, kind, &parent, &committed).await;

    // `continue`: the loss is counted, the children are read whole, and the
    // committed checkpoint no longer holds the lost shard.
    continue_past_loss(via_proxy, store(), kind, 50..80).await;
    let cp: Checkpoint = serde_json::from_slice(&std::fs::read(store().path()).unwrap()).unwrap();
    assert!(!cp.shards.contains_key(&parent), "{kind}: {cp:?}");
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(trimmed_parent, trimmed_parent_is_data_loss);

/// A checkpointed position older than the stream's retention period (the
/// fault proxy makes records look two days old, as for a consumer stopped
/// that long): records after it may have been trimmed unread. The source
/// fails naming the shard and position; with `continue` it counts the loss
/// and resumes after the position.
async fn position_past_retention_is_data_loss(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("aged", 1).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "aged");
    let dir = temp_dir("aged", kind);
    let store = || FileCheckpointStore::new(&dir, "aged");
    write(&cfg, &batch(0..20)).await;

    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults { age_records: Some(Duration::from_secs(48 * 3600)), ..Faults::default() });
    let via_proxy = rt::config_for::<RtJson>(&proxy.endpoint(), "aged");
    let (_, client) = rt::clients(&via_proxy).await;
    let mut source = Source::<RtJson>::builder().config(via_proxy).client(client).checkpoints(store()).start().await.unwrap();
    assert_eq!(read_n(&mut source, 20).await.len(), 20, "{kind}");
    source.close().await.unwrap();
    let cp: Checkpoint = serde_json::from_slice(&std::fs::read(store().path()).unwrap()).unwrap();
    let (shard, committed) = match cp.shards.iter().next() {
        Some((id, ShardPosition::After { sequence_number, arrival_millis: Some(a), .. })) => {
            assert!(*a < chrono::Utc::now().timestamp_millis() - 47 * 3_600_000, "{kind}: arrival stored: {a}");
            (id.clone(), sequence_number.clone())
        }
        other => panic!("{kind}: {other:?}"),
    };
    drop(proxy);

    write(&cfg, &batch(20..30)).await;
    let (_, client) = rt::clients(&cfg).await;
    let source = Source::<RtJson>::builder().config(cfg.clone()).client(client).checkpoints(store()).start().await.unwrap();
    let reason = expect_data_loss(source, kind, &shard, &committed).await;
    assert!(reason.contains("24 h"), "{kind}: names the retention period: {reason}");
    continue_past_loss(cfg, store(), kind, 20..30).await;
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(position_past_retention, position_past_retention_is_data_loss);
