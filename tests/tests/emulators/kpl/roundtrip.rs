//! Our aggregating sink into our source, both readers, on ferrokinesis:
//! 10,000 records over 500 keys written as KPL aggregated records read back
//! as exactly those records, in per-key order.

use std::collections::BTreeMap;
use std::time::Duration;

use kinesis_tables::config::{ReaderType, StartPosition, TableConfig};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtAgg;
use kinesis_tables_tests::rt;

fn records(count: usize, keys: usize) -> Vec<RtAgg> {
    let mut next = vec![0i64; keys];
    (0..count)
        .map(|i| {
            let k = (i * 7919) % keys;
            next[k] += 1;
            RtAgg { k: format!("key-{k}"), n: next[k] - 1, payload: Some(format!("payload {i}, \"quoted\"")) }
        })
        .collect()
}

async fn round_trip(reader: ReaderType) {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("agg", 3).await.unwrap();
    let cfg = rt::config_for::<RtAgg>(&emu.endpoint(), "agg");
    let (sink_client, source_client) = rt::clients(&cfg).await;
    let sent = records(10_000, 500);
    let mut sink = Sink::<RtAgg>::with_client(sink_client, &cfg);
    for r in &sent {
        sink.send(r).await.unwrap();
    }
    let written = sink.close().await.unwrap();
    assert!(written.aggregated_user_records > 9_000, "{written:?}");

    let mut read_cfg: TableConfig = cfg.clone();
    read_cfg.source.start = StartPosition::TrimHorizon;
    read_cfg.source.reader = reader;
    read_cfg.source.efo.consumer_name = Some("kt-agg-reader".into());
    let mut source = Source::<RtAgg>::builder().config(read_cfg).client(source_client).start().await.unwrap();
    let mut got = Vec::new();
    while let Ok(batch) = tokio::time::timeout(Duration::from_secs(4), source.next()).await {
        let batch = batch.unwrap();
        got.extend(batch.records.iter().cloned());
        source.ack(batch.ack);
    }
    let stats = source.close().await.unwrap();
    assert_eq!(stats.sub_records, written.aggregated_user_records, "{reader:?}: {stats:?}");
    assert_eq!((stats.corrupt_aggregates, stats.out_of_range_sub_records), (0, 0), "{reader:?}");
    // Exactly the records sent, each key's in order.
    assert_eq!(got.len(), sent.len(), "{reader:?}");
    let mut per_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in &got {
        per_key.entry(&r.k).or_default().push(r.n);
    }
    for (k, ns) in &per_key {
        assert_eq!(*ns, (0..ns.len() as i64).collect::<Vec<_>>(), "{reader:?}: key {k} out of order or incomplete");
    }
    let mut a: Vec<_> = got.iter().map(|r| (r.k.clone(), r.n, r.payload.clone())).collect();
    let mut b: Vec<_> = sent.iter().map(|r| (r.k.clone(), r.n, r.payload.clone())).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "{reader:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_by_our_sink_read_by_polling() {
    round_trip(ReaderType::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_by_our_sink_read_by_efo() {
    round_trip(ReaderType::Efo).await;
}
