//! Splits and merges while the source reads: nothing lost, parents read
//! before their children, and nothing re-read after a restart.

use std::time::Duration;

use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt::{self, TestRecord};

const CHUNK: usize = 1000;

async fn resharding(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("reshard", 2).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "reshard");
    let dir = std::env::temp_dir().join(format!("kt-reshard-{}-{}", kind.name(), fastrand::u64(..)));
    let store = || FileCheckpointStore::new(&dir, "reshard");
    let (sink_client, source_client) = rt::clients(&cfg).await;
    let sent: Vec<RtJson> = rt::records(3 * CHUNK, 60);

    // Read in the background while writing, splitting and merging.
    let source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client.clone()).checkpoints(store()).start().await.unwrap();
    let reader = tokio::spawn(read_with_shards(source, sent.len()));

    let mut sink = Sink::<RtJson>::with_client(sink_client.clone(), &cfg);
    let merged = rt::write_across_split_and_merge(&emu, "reshard", &mut sink, &sent).await;
    sink.close().await.unwrap();

    let got = reader.await.unwrap();
    let all = emu.list_shards("reshard").await.unwrap();
    assert_eq!(all.len(), 5, "two originals, two children of the split, one merged shard");
    rt::check_lineage(kind, &sent, &got, &all, &merged.shard_id);

    // A reader that starts after the resharding finds parents and children
    // all present at once, with records on each: it must still drain every
    // parent before its children.
    let late = Source::<RtJson>::builder().config(cfg.clone()).client(source_client.clone()).start().await.unwrap();
    let late_got = read_with_shards(late, sent.len()).await;
    rt::check_lineage(kind, &sent, &late_got, &all, &merged.shard_id);

    // A restart reads nothing again: closed shards are finished, open ones resume.
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client).checkpoints(store()).start().await.unwrap();
    let again = rt::read_until(&mut source, 1, Duration::from_secs(4)).await.unwrap();
    assert!(again.is_empty(), "{kind}: {} records re-read after a restart", again.len());
    let status = source.shard_status();
    for s in all.iter().filter(|s| !s.is_open()) {
        assert_eq!(status.get(&s.shard_id).copied(), Some("finished"), "{kind}: closed shard {} after restart: {status:?}", s.shard_id);
    }
    let extra: Vec<RtJson> = (0..100).map(|n| RtJson::make("after-restart", n)).collect();
    let mut sink = Sink::<RtJson>::with_client(sink_client, &cfg);
    for r in &extra {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();
    let got = rt::read_until(&mut source, extra.len() + 1, Duration::from_secs(4)).await.unwrap();
    assert_eq!(rt::check_delivery(&extra, &got).unwrap(), 0);
    source.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads `want` records (or until 15 s pass with nothing), keeping each one's
/// shard, in delivery order; acknowledges everything and closes the source.
async fn read_with_shards(mut source: Source<RtJson>, want: usize) -> Vec<(String, RtJson)> {
    let mut got: Vec<(String, RtJson)> = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < want {
        match tokio::time::timeout(Duration::from_secs(15), source.next()).await {
            Err(_) => break,
            Ok(batch) => {
                let batch = batch.unwrap();
                for mut r in batch.records {
                    let shard = r.shard.clone();
                    r.take_metadata().unwrap();
                    distinct.insert(r.key_n());
                    got.push((shard, r));
                }
                source.ack(batch.ack);
            }
        }
    }
    source.close().await.unwrap();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_kinesis_mock() {
    resharding(Kind::KinesisMock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_ferrokinesis() {
    resharding(Kind::Ferrokinesis).await;
}
