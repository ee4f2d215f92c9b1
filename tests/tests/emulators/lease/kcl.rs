//! A source resuming from a lease table in the KCL's format: rows written
//! as the KCL 2.x writes them (`DynamoDBLeaseSerializer`), read by a source
//! on ferrokinesis.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use kinesis_tables::lease::{BootClock, LeaseCoordinator, LeaseTable, SourceLeases, stream_identity};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::dynalite::Dynalite;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;

use super::config;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A KCL 2.x lease row (plus the 3.x attributes a newer KCL adds).
fn kcl_row(shard: &str, checkpoint: &str, sub: u64, owner: Option<&str>) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("leaseKey".to_owned(), s(shard)),
        ("leaseCounter".to_owned(), n(17)),
        ("checkpoint".to_owned(), s(checkpoint)),
        ("checkpointSubSequenceNumber".to_owned(), n(sub)),
        ("ownerSwitchesSinceCheckpoint".to_owned(), n(0)),
        ("throughputKBps".to_owned(), n(3)),
    ]);
    if let Some(o) = owner {
        item.insert("leaseOwner".to_owned(), s(o));
    }
    item
}

/// Every record of each shard, by sequence number order.
async fn records_by_shard(emu: &Emulator, stream: &str) -> BTreeMap<String, Vec<String>> {
    let c = emu.client();
    let mut out = BTreeMap::new();
    let listed = c.list_shards().stream_name(stream).send().await.unwrap();
    for sh in listed.shards() {
        let it = c
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(sh.shard_id())
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut iterator = it.shard_iterator().map(str::to_owned);
        let mut seqs = Vec::new();
        while let Some(i) = iterator.take() {
            let r = c.get_records().shard_iterator(&i).send().await.unwrap();
            seqs.extend(r.records().iter().map(|r| r.sequence_number().to_owned()));
            if r.records().is_empty() {
                break;
            }
            iterator = r.next_shard_iterator().map(str::to_owned);
        }
        out.insert(sh.shard_id().to_owned(), seqs);
    }
    out
}

async fn put_rows(d: &Dynalite, table: &str, rows: Vec<HashMap<String, AttributeValue>>) {
    LeaseTable::new(d.client(), table, "fixture").ensure(true).await.unwrap();
    for r in rows {
        d.client().put_item().table_name(table).set_item(Some(r)).send().await.unwrap();
    }
}

/// A KCL table whose owner stopped: shard 0 checkpointed at a plain record
/// (`(seq, 0)`), shard 1 at `TRIM_HORIZON` and owned by a KCL worker that is
/// gone. The source takes both, reads shard 0 from the record after its
/// checkpoint and shard 1 from its start (configured LATEST notwithstanding), exactly once each, checkpoints
/// in the rows, keeps the KCL 3.x attribute and releases the leases on close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_resumes_each_shard_exactly_after_its_kcl_checkpoint() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("kcl", 2).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "kcl");
    // LATEST for new leases: a row at TRIM_HORIZON still starts there.
    cfg.source.start = kinesis_tables::config::StartPosition::Latest;
    let (client, source_client) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client.clone(), &cfg);
    for r in rt::records::<RtJson>(60, 12) {
        sink.send(&r).await.unwrap();
    }
    sink.close().await.unwrap();
    let written = records_by_shard(&emu, "kcl").await;
    let ids: Vec<String> = written.keys().cloned().collect();
    let (s0, s1) = (&ids[0], &ids[1]);
    assert!(written[s0].len() > 3 && !written[s1].is_empty(), "{written:?}");
    let at = 2;
    let d = Dynalite::start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    put_rows(&d, "kcl-app", vec![kcl_row(s0, &written[s0][at], 0, None), kcl_row(s1, "TRIM_HORIZON", 0, Some("kcl-worker-gone"))]).await;

    let mut lease_cfg = config("kcl-app");
    lease_cfg.commit_interval = Some(Duration::from_millis(100));
    let identity = stream_identity(&cfg, Some("kcl"));
    let table = LeaseTable::new(d.client(), "kcl-app", "w1");
    let leases = LeaseCoordinator::start(table.clone(), &lease_cfg, identity, Arc::new(BootClock)).await.unwrap();
    let mut source_cfg = cfg.clone();
    source_cfg.source.shard_discovery_interval = Duration::from_millis(500);
    let mut source = Source::<RtJson>::builder()
        .client(source_client)
        .config(source_cfg)
        .leases(leases.clone())
        .commit_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    // Records after the source pinned LATEST (ferrokinesis keeps arrival
    // times in whole seconds: a second apart, so that a shard started at the
    // pin would miss the earlier ones).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let mut sink = Sink::<RtJson>::with_client(client.clone(), &cfg);
    for r in rt::records::<RtJson>(80, 12).into_iter().skip(60) {
        sink.send(&r).await.unwrap();
    }
    sink.close().await.unwrap();
    let written = records_by_shard(&emu, "kcl").await;
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let want = written[s0].len() - at - 1 + written[s1].len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.values().map(Vec::len).sum::<usize>() < want {
        let b = tokio::time::timeout_at(deadline, source.next()).await.expect("every record within 60 s").unwrap();
        let shard = b.shard_id.to_string();
        for i in 0..b.records.len() {
            got.entry(shard.clone()).or_default().push(b.origin(i).unwrap().sequence_number.to_owned());
        }
        source.ack(b.ack.clone());
    }
    assert_eq!(got[s0], written[s0][at + 1..], "shard 0 resumes right after its checkpoint");
    assert_eq!(got[s1], written[s1], "shard 1 from TRIM_HORIZON (its KCL owner is gone)");
    // Nothing more arrives.
    assert!(tokio::time::timeout(Duration::from_millis(1_500), source.next()).await.is_err(), "no duplicates");
    source.close().await.unwrap();
    assert_eq!(leases.stop().await.unwrap(), 2);
    for l in table.scan().await.unwrap() {
        assert_eq!(l.owner, None, "released on close");
        let last = written[&l.key].last().unwrap();
        assert_eq!(l.checkpoint.as_deref(), Some(last.as_str()), "checkpointed at the last record");
        assert_eq!(l.sub_sequence, 0, "a whole record is sub-sequence 0 for the KCL");
    }
    let raw = d.client().get_item().table_name("kcl-app").key("leaseKey", s(s0)).send().await.unwrap();
    assert_eq!(raw.item().unwrap().get("throughputKBps"), Some(&n(3)), "the KCL 3.x attribute is kept");
}

/// A KCL multi-stream table, or leases of shards the stream does not have,
/// are refused before anything is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_stream_or_foreign_table_is_refused() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("mine", 1).await.unwrap();
    let d = Dynalite::start().await.unwrap();
    for (table, key) in [("multi", "123456789012:mine:1700000000:shardId-000000000000"), ("foreign", "shardId-000000000042")] {
        put_rows(&d, table, vec![kcl_row(key, "TRIM_HORIZON", 0, None)]).await;
        let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "mine");
        let identity = stream_identity(&cfg, None);
        let leases =
            LeaseCoordinator::start(LeaseTable::new(d.client(), table, "w"), &config(table), identity, Arc::new(BootClock)).await.unwrap();
        let (_, source_client) = rt::clients(&cfg).await;
        let mut source = Source::<RtJson>::builder().client(source_client).config(cfg).leases(leases.clone()).start().await.unwrap();
        let e = tokio::time::timeout(Duration::from_secs(30), source.next()).await.expect("refused within 30 s").unwrap_err();
        let why = if table == "multi" { "multi-stream" } else { "does not have" };
        assert!(e.to_string().contains(why), "{table}: {e}");
        let h = leases.health();
        assert!(h.fatal && h.held == 0, "{table}: {h:?}");
        assert!(h.last_error.is_some());
        leases.stop().await.unwrap();
    }
}

/// A fresh lease table with `LATEST`: the new leases start at LATEST (their
/// sentinel), so records written before the start are not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_leases_start_at_the_configured_latest() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("fresh", 2).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "fresh");
    cfg.source.start = kinesis_tables::config::StartPosition::Latest;
    cfg.source.shard_discovery_interval = Duration::from_millis(500);
    let (client, source_client) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client.clone(), &cfg);
    for r in rt::records::<RtJson>(40, 8) {
        sink.send(&r).await.unwrap();
    }
    sink.flush().await.unwrap();
    let d = Dynalite::start().await.unwrap();
    let leases = LeaseCoordinator::start(
        LeaseTable::new(d.client(), "fresh-app", "w"),
        &config("fresh-app"),
        stream_identity(&cfg, None),
        Arc::new(BootClock),
    )
    .await
    .unwrap();
    let mut source = Source::<RtJson>::builder().client(source_client).config(cfg.clone()).leases(leases.clone()).start().await.unwrap();
    // Both shards positioned (their first iterator taken) before the new records.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while source.shard_status().values().filter(|s| **s == "reading").count() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "shards not reading: {:?}", source.shard_status());
        let _ = tokio::time::timeout(Duration::from_millis(100), source.next()).await;
    }
    for r in rt::records::<RtJson>(50, 8).into_iter().skip(40) {
        sink.send(&r).await.unwrap();
    }
    sink.close().await.unwrap();
    let mut got = Vec::new();
    while got.len() < 10 {
        let b = tokio::time::timeout_at(deadline, source.next()).await.expect("the new records within 30 s").unwrap();
        got.extend(b.records.iter().map(|r| (r.k.clone(), r.n)));
        source.ack(b.ack.clone());
    }
    got.sort();
    let mut want: Vec<(String, i64)> = rt::records::<RtJson>(50, 8).into_iter().skip(40).map(|r| (r.k, r.n)).collect();
    want.sort();
    assert_eq!(got, want, "only the records written after the start");
    source.close().await.unwrap();
    leases.stop().await.unwrap();
    let rows = LeaseTable::new(d.client(), "fresh-app", "r").scan().await.unwrap();
    assert_eq!(rows.len(), 2);
}
