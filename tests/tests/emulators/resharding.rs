//! Splits and merges while the source reads: nothing lost, parents read
//! before their children, and nothing re-read after a restart.

use std::time::Duration;

use std::collections::BTreeSet;

use kinesis_tables::checkpoint::{Checkpoint, FileCheckpointStore, ShardPosition};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt::{self, TestRecord};

const CHUNK: usize = 1000;
/// How long a read waits for more before it ends.
const IDLE: Duration = Duration::from_secs(15);

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
    let sent_len = sent.len();
    let reader = tokio::spawn(async move { rt::read_with_shards(source, sent_len, IDLE).await.0 });

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
    let late_got = rt::read_with_shards(late, sent.len(), IDLE).await.0;
    rt::check_lineage(kind, &sent, &late_got, &all, &merged.shard_id);

    // A restart reads nothing again: closed shards are finished, open ones resume.
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client).checkpoints(store()).start().await.unwrap();
    let again = rt::read_until(&mut source, 1, Duration::from_secs(4)).await.unwrap();
    assert!(again.is_empty(), "{kind}: {} records re-read after a restart", again.len());
    let status = source.shard_status();
    rt::check_closed_shards_done(kind, &status, &all);
    // Every closed shard had children that were read and checkpointed, so
    // none is left in the checkpoint: it does not grow with every reshard.
    let cp: Checkpoint = serde_json::from_slice(&std::fs::read(store().path()).unwrap()).unwrap();
    let open: BTreeSet<&str> = all.iter().filter(|s| s.is_open()).map(|s| s.shard_id.as_str()).collect();
    assert_eq!(cp.shards.keys().map(String::as_str).collect::<BTreeSet<_>>(), open, "{kind}: {cp:?}");
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

kinesis_tables_tests::on_each_emulator!(resharding, resharding);

/// A split and, at once, a split of the (empty) lower child; the parent's
/// batches after its first are left unacknowledged (a tail of several reads)
/// while everything else is acknowledged.
/// No shard may be committed as finished, and no descendant's position
/// committed, while a listed parent is not finished: otherwise a crash and a
/// restart read the grandchildren alongside the parent's replayed tail, and
/// a key's newer records overtake its older ones.
async fn empty_child_waits_for_parent(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("nested", 1).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "nested");
    cfg.source.polling.max_records = 100;
    let dir = std::env::temp_dir().join(format!("kt-nested-{}-{}", kind.name(), fastrand::u64(..)));
    let store = || FileCheckpointStore::new(&dir, "nested");
    let (sink_client, source_client) = rt::clients(&cfg).await;
    let all: Vec<RtJson> = rt::records(1500, 8);
    let (a, rest) = all.split_at(500);
    let (b, c) = rest.split_at(500);
    let write = |records: &[RtJson]| {
        let records = records.to_vec();
        let (client, cfg) = (sink_client.clone(), cfg.clone());
        async move {
            let mut sink = Sink::<RtJson>::with_client(client, &cfg);
            for r in &records {
                sink.send(r).await.unwrap();
            }
            sink.close().await.unwrap();
        }
    };
    write(a).await;
    let parent = emu.open_shards("nested").await.unwrap()[0].shard_id.clone();
    let [low, _high] = emu.split_shard("nested", &parent).await.unwrap();
    emu.split_shard("nested", &low.shard_id).await.unwrap();
    write(b).await;
    let shards = emu.list_shards("nested").await.unwrap();
    let parents_of = |id: &str| -> Vec<String> {
        let s = shards.iter().find(|s| s.shard_id == id).unwrap();
        s.parent_shard_id.iter().chain(&s.adjacent_parent_shard_id).cloned().collect()
    };

    // Run 1: everything but the parent's tail is acknowledged.
    let mut parent_batches = 0;
    let mut source = Source::<RtJson>::builder()
        .config(cfg.clone())
        .client(source_client.clone())
        .checkpoints(store())
        .commit_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let mut run1: Vec<RtJson> = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < a.len() + b.len() {
        let batch = tokio::time::timeout(Duration::from_secs(15), source.next())
            .await
            .unwrap_or_else(|_| panic!("{kind}: only {} of {} records read", distinct.len(), a.len() + b.len()))
            .unwrap();
        let holds_parent_tail = *batch.shard_id == *parent && {
            parent_batches += 1;
            parent_batches > 1
        };
        let records: Vec<RtJson> = batch
            .records
            .into_iter()
            .map(|mut r| {
                r.take_metadata().unwrap();
                r
            })
            .collect();
        distinct.extend(records.iter().map(|r| r.key_n()));
        if !holds_parent_tail {
            run1.extend(records);
            source.ack(batch.ack);
        }
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let cp: Checkpoint = serde_json::from_slice(&std::fs::read(store().path()).unwrap()).unwrap();
    assert_ne!(cp.shards.get(&parent), Some(&ShardPosition::Finished), "{kind}: the parent's tail was never acknowledged");
    for (id, pos) in &cp.shards {
        for p in parents_of(id) {
            assert_eq!(
                cp.shards.get(&p),
                Some(&ShardPosition::Finished),
                "{kind}: shard {id} is committed ({pos:?}) while its parent {p} is not finished: {cp:?}"
            );
        }
    }
    drop(source); // a crash: nothing more is committed

    // Run 2, after more records: the parent's tail comes before anything of its descendants.
    write(c).await;
    let source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client).checkpoints(store()).start().await.unwrap();
    let run2 = rt::read_with_shards(source, all.len(), IDLE).await.0;
    let keyed: Vec<(String, i64)> = run2.iter().map(|(_, r)| r.key_n()).collect();
    rt::check_order(&keyed).unwrap_or_else(|e| panic!("{kind}: run 2: {e}"));
    let last_parent = run2.iter().rposition(|(s, _)| *s == parent).expect("the parent's tail is read again");
    let first_other = run2.iter().position(|(s, _)| *s != parent).expect("descendants are read");
    assert!(
        last_parent < first_other,
        "{kind}: a descendant's record (at {first_other}) came before the parent's tail ended (at {last_parent})"
    );
    let mut got: Vec<RtJson> = run1;
    got.extend(run2.into_iter().map(|(_, r)| r));
    let ids: std::collections::HashSet<(String, i64)> = got.iter().map(|r| r.key_n()).collect();
    assert!(all.iter().all(|r| ids.contains(&r.key_n())), "{kind}: records lost");
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(empty_child_waits_for_parent, empty_child_waits_for_parent);
