//! Two sources on one stream and one lease table: they split the shards,
//! a shard that moves is read by its new owner from the old owner's
//! checkpoint, and after a clean stop the other source reads every shard.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_tables::lease::{BootClock, LeaseCoordinator, LeaseHandle, LeaseTable, SourceLeases, stream_identity};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::dynalite::Dynalite;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;
use tokio::sync::watch;

use super::{config, eventually};

/// (worker, shard, sequence number) of every record read.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

struct Running {
    handle: LeaseHandle,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Source<RtJson>>,
}

async fn start(emu: &Emulator, d: &Dynalite, id: &str, seen: Seen) -> Running {
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "two");
    cfg.source.shard_discovery_interval = Duration::from_millis(500);
    let (_, client) = rt::clients(&cfg).await;
    let mut lease_cfg = config("two-app");
    lease_cfg.commit_interval = Some(Duration::from_millis(100));
    let handle =
        LeaseCoordinator::start(LeaseTable::new(d.client(), "two-app", id), &lease_cfg, stream_identity(&cfg, None), Arc::new(BootClock))
            .await
            .unwrap();
    let mut source = Source::<RtJson>::builder()
        .client(client)
        .config(cfg)
        .leases(handle.clone())
        .commit_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let (stop, mut stopped) = watch::channel(false);
    let id = id.to_owned();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.changed() => return source,
                b = source.next() => {
                    let b = b.expect("the source reads");
                    let mut seen = seen.lock().unwrap();
                    for i in 0..b.records.len() {
                        seen.push((id.clone(), b.shard_id.to_string(), b.origin(i).unwrap().sequence_number.to_owned()));
                    }
                    drop(seen);
                    source.ack(b.ack.clone());
                }
            }
        }
    });
    Running { handle, stop, task }
}

async fn write(emu: &Emulator, from: usize, count: usize) {
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "two");
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    for r in rt::records::<RtJson>(from + count, 16).into_iter().skip(from) {
        sink.send(&r).await.unwrap();
    }
    sink.close().await.unwrap();
}

fn distinct(seen: &Seen) -> usize {
    seen.lock().unwrap().iter().map(|(_, s, q)| (s.clone(), q.clone())).collect::<HashSet<_>>().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_split_a_stream_and_one_reads_it_all_after_the_other_stops() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("two", 4).await.unwrap();
    let d = Dynalite::start().await.unwrap();
    write(&emu, 0, 200).await;
    let seen: Seen = Arc::default();
    let a = start(&emu, &d, "a", seen.clone()).await;
    let b = start(&emu, &d, "b", seen.clone()).await;
    eventually(60, "a 2-2 split", async || a.handle.held().len() == 2 && b.handle.held().len() == 2).await;
    eventually(60, "every record read", async || distinct(&seen) == 200).await;
    write(&emu, 200, 100).await;
    eventually(60, "the next records read", async || distinct(&seen) == 300).await;
    // Per shard, one reader at a time: once a shard moved (b stealing its
    // share from a that took everything first), its old reader reads none of
    // it, so the readers of a shard never alternate.
    {
        let seen = seen.lock().unwrap();
        let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (w, s, _) in seen.iter() {
            let r = readers.entry(s.as_str()).or_default();
            if r.last() != Some(&w.as_str()) {
                r.push(w.as_str());
            }
        }
        for (s, r) in &readers {
            assert!(r.len() <= 2, "shard {s} read by {r:?}: both workers read it at once");
        }
        let shards_of_a: BTreeSet<&str> = readers.iter().filter(|(_, r)| r.last() == Some(&"a")).map(|(s, _)| *s).collect();
        let held_a = a.handle.held();
        assert_eq!(shards_of_a, held_a.iter().map(String::as_str).collect(), "a last read the shards it holds");
    }
    // A clean stop of a: drain, checkpoint, release.
    a.stop.send_replace(true);
    let source_a = a.task.await.unwrap();
    source_a.close().await.unwrap();
    assert_eq!(a.handle.stop().await.unwrap(), 2);
    eventually(60, "b takes a's leases", async || b.handle.held().len() == 4).await;
    let before = seen.lock().unwrap().len();
    write(&emu, 300, 100).await;
    eventually(60, "b reads the records written after a stopped", async || distinct(&seen) == 400).await;
    let seen_now = seen.lock().unwrap().clone();
    let after = &seen_now[before..];
    assert!(after.iter().all(|(w, _, _)| w == "b"), "only b reads after a stopped");
    let mut once: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (_, s, q) in after {
        *once.entry((s.clone(), q.clone())).or_default() += 1;
    }
    assert!(once.values().all(|n| *n == 1), "a clean hand-over repeats nothing");
    let dups = seen_now.len() - distinct(&seen);
    eprintln!("two sources: {} records read, {dups} duplicates (all before the clean stop)", seen_now.len());
    b.stop.send_replace(true);
    b.task.await.unwrap().close().await.unwrap();
    b.handle.stop().await.unwrap();
}
