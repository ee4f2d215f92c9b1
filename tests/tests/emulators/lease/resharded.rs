//! KCL-format rows of a resharded stream: a checkpoint inside a KPL
//! aggregated record (`checkpointSubSequenceNumber`), a parent at
//! `SHARD_END` with its children at `TRIM_HORIZON`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use kinesis_tables::checkpoint::MemoryCheckpointStore;
use kinesis_tables::config::{StartPosition, TableConfig};
use kinesis_tables::lease::{BootClock, LeaseCoordinator, LeaseTable, SourceLeases, stream_identity};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::dynalite::Dynalite;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;

use super::config;

/// (sequence number, sub-sequence number) of one user record.
type At = (String, Option<u64>);

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn row(shard: &str, checkpoint: &str, sub: u64, parents: &[&str], children: &[&str]) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("leaseKey".to_owned(), s(shard)),
        ("leaseCounter".to_owned(), AttributeValue::N("3".into())),
        ("checkpoint".to_owned(), s(checkpoint)),
        ("checkpointSubSequenceNumber".to_owned(), AttributeValue::N(sub.to_string())),
        ("ownerSwitchesSinceCheckpoint".to_owned(), AttributeValue::N("0".into())),
    ]);
    if !parents.is_empty() {
        item.insert("parentShardId".to_owned(), AttributeValue::Ss(parents.iter().map(|p| (*p).to_owned()).collect()));
    }
    if !children.is_empty() {
        item.insert("childShardIds".to_owned(), AttributeValue::Ss(children.iter().map(|p| (*p).to_owned()).collect()));
    }
    item
}

/// Reads `want` records with `source`, by shard, and the shards in the order read.
async fn read_ordered(source: &mut Source<RtJson>, want: usize) -> (BTreeMap<String, Vec<At>>, Vec<String>) {
    let mut got: BTreeMap<String, Vec<At>> = BTreeMap::new();
    let mut order = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.values().map(Vec::len).sum::<usize>() < want {
        let b = tokio::time::timeout_at(deadline, source.next()).await.expect("every record within 60 s").unwrap();
        for i in 0..b.records.len() {
            let o = b.origin(i).unwrap();
            got.entry(b.shard_id.to_string()).or_default().push((o.sequence_number.to_owned(), o.sub_sequence_number));
            order.push(b.shard_id.to_string());
        }
        source.ack(b.ack.clone());
    }
    (got, order)
}

async fn read(source: &mut Source<RtJson>, want: usize) -> BTreeMap<String, Vec<At>> {
    read_ordered(source, want).await.0
}

fn table_config(emu: &Emulator) -> TableConfig {
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "resharded");
    cfg.source.start = StartPosition::TrimHorizon;
    cfg.source.shard_discovery_interval = Duration::from_millis(500);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcl_rows_of_a_resharded_stream_resume_inside_aggregates_and_skip_finished_parents() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("resharded", 1).await.unwrap();
    let mut cfg = table_config(&emu);
    cfg.sink.aggregation.enabled = true;
    cfg.sink.aggregation.max_count = 10;
    let (sink_client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(sink_client.clone(), &cfg);
    let records = rt::records::<RtJson>(60, 24);
    for r in &records[..30] {
        sink.send(r).await.unwrap();
    }
    sink.flush().await.unwrap();
    let parent = emu.open_shards("resharded").await.unwrap()[0].shard_id.clone();
    let [low, high] = emu.split_shard("resharded", &parent).await.unwrap();
    for r in &records[30..] {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();

    // Every user record, from a source with no lease table.
    let cfg = table_config(&emu);
    let (_, client) = rt::clients(&cfg).await;
    let mut all_reader = Source::<RtJson>::builder()
        .client(client.clone())
        .config(cfg.clone())
        .checkpoints(MemoryCheckpointStore::default())
        .start()
        .await
        .unwrap();
    let all = read(&mut all_reader, 60).await;
    drop(all_reader);
    let in_parent = &all[&parent];
    // An aggregated record of the parent with sub-records after the third.
    let k = in_parent.iter().position(|(_, sub)| *sub == Some(3)).expect("an aggregated record of 4+ sub-records");
    assert!(in_parent.get(k + 1).is_some_and(|(seq, sub)| *seq == in_parent[k].0 && *sub == Some(4)), "{in_parent:?}");
    let (low, high) = (low.shard_id.as_str(), high.shard_id.as_str());

    let d = Dynalite::start().await.unwrap();
    // Case 1: the parent checkpointed inside an aggregated record (sub-record 3 processed).
    // Case 2: the parent at SHARD_END.
    let cases = [("inside", row(&parent, &in_parent[k].0, 3, &[], &[])), ("end", row(&parent, "SHARD_END", 0, &[], &[low, high]))];
    for (table, parent_row) in cases {
        LeaseTable::new(d.client(), table, "fixture").ensure(true).await.unwrap();
        for r in [parent_row, row(low, "TRIM_HORIZON", 0, &[&parent], &[]), row(high, "TRIM_HORIZON", 0, &[&parent], &[])] {
            d.client().put_item().table_name(table).set_item(Some(r)).send().await.unwrap();
        }
        let leases = LeaseCoordinator::start(
            LeaseTable::new(d.client(), table, "w"),
            &config(table),
            stream_identity(&cfg, None),
            Arc::new(BootClock),
        )
        .await
        .unwrap();
        let mut source = Source::<RtJson>::builder()
            .client(client.clone())
            .config(cfg.clone())
            .leases(leases.clone())
            .commit_interval(Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let from_parent = if table == "inside" { in_parent.len() - k - 1 } else { 0 };
        let of = |m: &BTreeMap<String, Vec<At>>, shard: &str| m.get(shard).cloned().unwrap_or_default();
        let (got, order) = read_ordered(&mut source, from_parent + of(&all, low).len() + of(&all, high).len()).await;
        if table == "inside" {
            assert_eq!(got[&parent], in_parent[k + 1..], "{table}: the parent resumes after sub-record 3");
            let last_parent = order.iter().rposition(|s| *s == parent).unwrap();
            let first_child = order.iter().position(|s| *s != parent).unwrap();
            assert!(last_parent < first_child, "{table}: a child was read before its parent finished");
        } else {
            assert!(!got.contains_key(&parent), "{table}: a SHARD_END parent is never read");
        }
        assert_eq!(of(&got, low), of(&all, low), "{table}: the lower child from its start");
        assert_eq!(of(&got, high), of(&all, high), "{table}: the upper child from its start");
        assert!(tokio::time::timeout(Duration::from_millis(1_500), source.next()).await.is_err(), "{table}: no duplicates");
        source.close().await.unwrap();
        leases.stop().await.unwrap();
        let rows: BTreeMap<String, _> =
            LeaseTable::new(d.client(), table, "r").scan().await.unwrap().into_iter().map(|l| (l.key.clone(), l)).collect();
        if let Some(p) = rows.get(&parent) {
            assert_eq!(p.checkpoint.as_deref(), Some("SHARD_END"), "{table}: the parent finished");
        }
        for c in [low, high] {
            if let Some(last) = of(&all, c).last() {
                assert_eq!(rows[c].checkpoint.as_deref(), Some(last.0.as_str()), "{table}: {c} checkpointed at its last record");
            }
        }
    }
}
