//! The EFO consumer's lifecycle: JOB_MANAGED survives a kill -9 and is
//! reused (never a second consumer), a clean stop deregisters it, a fast
//! restart after a clean stop waits for the deletion; SELF_MANAGED never
//! registers and fails clearly when the consumer is missing.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kinesis_tables::config::{EfoLifecycle, ReaderType};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::{Source, SourceError};
use kinesis_tables_tests::emulator::{ConsumerInfo, Emulator, Kind};
use kinesis_tables_tests::generated::{RtEfo, RtEfoLegacy};
use kinesis_tables_tests::rt;

const RECORDS: usize = 2_000;

fn lines(path: &std::path::Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            Some((f.next()?.to_owned(), f.next()?.parse().ok()?))
        })
        .collect()
}

fn active(list: &[ConsumerInfo]) -> Vec<&ConsumerInfo> {
    list.iter().filter(|c| c.status == "ACTIVE").collect()
}

async fn kill_and_restart(kind: Kind) {
    let started = Instant::now();
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("life", 2).await.unwrap();
    let cfg = rt::config_for::<RtEfo>(&emu.endpoint(), "life");
    assert_eq!((cfg.source.reader, cfg.source.efo.lifecycle), (ReaderType::Efo, EfoLifecycle::JobManaged));
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtEfo>::with_client(client, &cfg);
    let mut sent = HashSet::new();
    let mut all_records = Vec::new();
    for i in 0..RECORDS {
        let (k, n) = (format!("key-{}", i % 30), (i / 30) as i64);
        let r = RtEfo {
            k: k.clone(),
            n,
            note: None,
            amount: None,
            at: None,
            tags: None,
            arrival: Default::default(),
            shard: String::new(),
            seqno: String::new(),
        };
        all_records.push(r);
        sent.insert((k, n));
    }
    // Half before run 1, half while the reader is down.
    for r in &all_records[..RECORDS / 2] {
        sink.send(r).await.unwrap();
    }
    sink.flush().await.unwrap();

    let dir = std::env::temp_dir().join(format!("kt-efo-life-{}-{}", kind.name(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let (out1, out2) = (dir.join("run1.txt"), dir.join("run2.txt"));
    let spawn = |out: &std::path::Path, idle_ms: u64| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_efo_reader"))
            .args([&emu.endpoint(), "life", dir.to_str().unwrap(), out.to_str().unwrap(), &idle_ms.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };

    // Run 1: kill -9 once records flow.
    let mut child = spawn(&out1, 60_000);
    let t = Instant::now();
    while lines(&out1).len() < 100 {
        assert!(t.elapsed() < Duration::from_secs(60), "{kind}: the reader made no progress");
        assert!(child.try_wait().unwrap().is_none(), "{kind}: the reader exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap(); // SIGKILL: no deregistration
    let after_kill = emu.list_consumers("life").await.unwrap();
    assert_eq!(after_kill.len(), 1, "{kind}: {after_kill:?}");
    assert_eq!((after_kill[0].name.as_str(), after_kill[0].status.as_str()), ("kt-efo-reader", "ACTIVE"));
    for r in &all_records[RECORDS / 2..] {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();

    // Run 2: reuses that consumer (same ARN, never a second one), reads the rest, stops cleanly.
    let mut child = spawn(&out2, 2_500);
    let mut most = 0;
    let status = loop {
        let list = emu.list_consumers("life").await.unwrap();
        most = most.max(list.len());
        if let Some(c) = list.first() {
            assert_eq!(c.arn, after_kill[0].arn, "{kind}: the restart registered a new consumer: {list:?}");
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "{kind}: the restarted reader did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{kind}: the restarted reader failed: {status}");
    assert_eq!(most, 1, "{kind}: more than one consumer while the restarted reader ran");
    let left = emu.wait_consumers("life", Duration::from_secs(10), |l| l.is_empty()).await.unwrap();
    assert!(left.is_empty(), "{kind}: a clean stop leaves no consumer: {left:?}");

    let all: Vec<(String, i64)> = lines(&out1).into_iter().chain(lines(&out2)).collect();
    let (distinct, dups) = rt::check_order(&all).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(distinct, RECORDS, "{kind}: records lost across kill -9");
    assert!(all.iter().all(|id| sent.contains(id)));
    eprintln!(
        "{kind}: run 1 read {} records before kill -9, run 2 {} ({dups} repeated after the last checkpoint), one consumer throughout; {:?}",
        lines(&out1).len(),
        lines(&out2).len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(efo_kill_restart_reuses_consumer, kill_and_restart);

/// A clean stop and an immediate restart: the new start meets the consumer
/// while it is being deleted and must end up with exactly one ACTIVE consumer
/// (FLINK-37908: register and deregister race on a fast restart).
async fn fast_restart(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("fast", 1).await.unwrap();
    let cfg = rt::config_for::<RtEfo>(&emu.endpoint(), "fast");
    let (_, client) = rt::clients(&cfg).await;
    // The first source stops cleanly without waiting for the deletion to finish.
    let mut quick = cfg.clone();
    quick.source.efo.deregister_timeout = Duration::from_millis(1);
    let first = Source::<RtEfo>::builder().config(quick).client(client.clone()).start().await.unwrap();
    assert_eq!(emu.list_consumers("fast").await.unwrap().len(), 1);
    first.close().await.unwrap();
    let second = Source::<RtEfo>::builder().config(cfg.clone()).client(client.clone()).start().await.unwrap();
    let list = emu.wait_consumers("fast", Duration::from_secs(10), |l| l.len() == 1).await.unwrap();
    assert_eq!(active(&list).len(), 1, "{kind}: exactly one ACTIVE consumer after a fast restart: {list:?}");
    second.close().await.unwrap();
    let left = emu.wait_consumers("fast", Duration::from_secs(10), |l| l.is_empty()).await.unwrap();
    assert!(left.is_empty(), "{kind}: {left:?}");
}

kinesis_tables_tests::on_each_emulator!(efo_fast_restart_after_clean_stop, fast_restart);

/// SELF_MANAGED (kinesis-legacy, registration NONE, stream by name): a
/// missing consumer fails the start, naming it and the stream; an existing
/// one is used and left in place.
async fn self_managed(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("selfm", 2).await.unwrap();
    let cfg = rt::config_for::<RtEfoLegacy>(&emu.endpoint(), "selfm");
    assert_eq!(cfg.source.efo.lifecycle, EfoLifecycle::SelfManaged);
    assert_eq!(cfg.source.efo.http_max_concurrency, 2);
    let (sink_client, client) = rt::clients(&cfg).await;
    let err = Source::<RtEfoLegacy>::builder().config(cfg.clone()).client(client.clone()).start().await.unwrap_err();
    let SourceError::Setup(message) = &err else { panic!("{kind}: expected a setup error, got {err:?}") };
    assert!(message.contains("`kt-efo-legacy`") && message.contains("`selfm`") && message.contains("does not exist"), "{kind}: {message}");
    assert!(emu.list_consumers("selfm").await.unwrap().is_empty(), "{kind}: SELF_MANAGED must not register");

    let arn = emu.register_consumer("selfm", "kt-efo-legacy").await.unwrap();
    let mut sink = Sink::<RtEfoLegacy>::with_client(sink_client, &cfg);
    for n in 0..300 {
        sink.send(&RtEfoLegacy { k: format!("k{}", n % 7), n, note: None, ok: Some(n % 2 == 0), shard: String::new() }).await.unwrap();
    }
    sink.close().await.unwrap();
    let mut source = Source::<RtEfoLegacy>::builder().config(cfg.clone()).client(client).start().await.unwrap();
    let mut got = Vec::new();
    while got.len() < 300 {
        let batch = tokio::time::timeout(Duration::from_secs(20), source.next()).await.expect("records arrive").unwrap();
        got.extend(batch.records.iter().map(|r| {
            assert!(r.shard.starts_with("shardId-"), "metadata filled");
            (r.k.clone(), r.n)
        }));
        source.ack(batch.ack);
    }
    let (distinct, dups) = rt::check_order(&got).unwrap();
    assert_eq!((distinct, dups), (300, 0), "{kind}");
    source.close().await.unwrap();
    let list = emu.list_consumers("selfm").await.unwrap();
    assert_eq!(list.len(), 1, "{kind}: SELF_MANAGED must not deregister: {list:?}");
    assert_eq!(list[0].arn, arn);
}

kinesis_tables_tests::on_each_emulator!(efo_self_managed, self_managed);
