//! EFO round trip: 10,000 records read through enhanced fan-out while the
//! stream is split and merged, on both emulators. Nothing lost, nothing
//! duplicated, per-key order, parents before children, metadata filled; a
//! restart from the checkpoint reads nothing again; a clean stop deregisters
//! the JOB_MANAGED consumer.

use std::time::{Duration, Instant};

use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::config::{ReaderType, TableConfig};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtEfo, RtJson};
use kinesis_tables_tests::rt::{self, TestRecord};

const RECORDS: usize = 10_000;

/// RtJson records, read with `rt_efo`'s source settings (EFO, JOB_MANAGED).
fn efo_config(endpoint: &str, stream: &str, consumer: &str) -> TableConfig {
    let mut cfg = rt::config_for::<RtJson>(endpoint, stream);
    cfg.source = rt::config_for::<RtEfo>(endpoint, stream).source;
    cfg.source.efo.consumer_name = Some(consumer.to_owned().into());
    assert_eq!(cfg.source.reader, ReaderType::Efo);
    cfg
}

async fn round_trip(kind: Kind) {
    let started = Instant::now();
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("efo-rt", 2).await.unwrap();
    let cfg = efo_config(&emu.endpoint(), "efo-rt", "rt-consumer");
    let dir = std::env::temp_dir().join(format!("kt-efo-rt-{}-{}", kind.name(), fastrand::u64(..)));
    let store = || FileCheckpointStore::new(&dir, "efo-rt");
    let (sink_client, source_client) = rt::clients(&cfg).await;
    let sent: Vec<RtJson> = rt::records(RECORDS, 80);

    let source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client.clone()).checkpoints(store()).start().await.unwrap();
    let consumers = emu.list_consumers("efo-rt").await.unwrap();
    assert_eq!(consumers.len(), 1, "{kind}: {consumers:?}");
    assert_eq!((consumers[0].name.as_str(), consumers[0].status.as_str()), ("rt-consumer", "ACTIVE"));
    let reader = tokio::spawn(rt::read_with_shards(source, sent.len(), Duration::from_secs(20)));

    let mut sink = Sink::<RtJson>::with_client(sink_client.clone(), &cfg);
    let merged = rt::write_across_split_and_merge(&emu, "efo-rt", &mut sink, &sent).await;
    sink.close().await.unwrap();

    let (got, stats) = reader.await.unwrap();
    let all = emu.list_shards("efo-rt").await.unwrap();
    assert_eq!(all.len(), 5, "two originals, two children of the split, one merged shard");
    rt::check_lineage(kind, &sent, &got, &all, &merged.shard_id);
    // GetRecords only confirms the end of a closed shard, on a server that does not announce it.
    match kind {
        Kind::Ferrokinesis => assert_eq!(stats.get_records_calls, 0, "{kind}: ferrokinesis sends ChildShards: {stats:?}"),
        Kind::KinesisMock => assert!(stats.get_records_calls <= 30, "{kind}: EFO does not poll: {stats:?}"),
    }
    assert!(stats.subscriptions >= 5, "{kind}: one subscription per shard at least: {stats:?}");
    assert_eq!(stats.records, RECORDS as u64, "{kind}: {stats:?}");
    eprintln!("{kind}: EFO read {} records over {} shards in {:?}; {stats:?}", got.len(), all.len(), started.elapsed());

    // The clean stop deregistered the consumer.
    let left = emu.wait_consumers("efo-rt", Duration::from_secs(10), |l| l.is_empty()).await.unwrap();
    assert!(left.is_empty(), "{kind}: consumer left after a clean stop: {left:?}");

    // A restart reads nothing again: closed shards are finished, open ones resume after their last record.
    let mut source =
        Source::<RtJson>::builder().config(cfg.clone()).client(source_client.clone()).checkpoints(store()).start().await.unwrap();
    let again = rt::read_until(&mut source, 1, Duration::from_secs(4)).await.unwrap();
    assert!(again.is_empty(), "{kind}: {} records re-read after a restart", again.len());
    let status = source.shard_status();
    rt::check_closed_shards_done(kind, &status, &all);
    assert!(source.lag().contains_key(&merged.shard_id), "{kind}: lag of the open shard is reported: {:?}", source.lag());
    let extra: Vec<RtJson> = (0..200).map(|n| RtJson::make("after-restart", n)).collect();
    let mut sink = Sink::<RtJson>::with_client(sink_client, &cfg);
    for r in &extra {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();
    let got = rt::read_until(&mut source, extra.len(), Duration::from_secs(10)).await.unwrap();
    assert_eq!(rt::check_delivery(&extra, &got).unwrap(), 0, "{kind}");
    source.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(efo_round_trip, round_trip);
