//! EFO subscriptions that end early: the fault proxy cuts SubscribeToShard
//! event streams mid-flight (and before they start), or lets them go silent.
//! The reader subscribes again after the last continuation: nothing lost,
//! nothing duplicated, per-key order.

use std::time::{Duration, Instant};

use kinesis_tables::config::{Backoff, TableConfig};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::{Source, SourceStats};
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::faultproxy::{FaultProxy, Faults, StreamFaults};
use kinesis_tables_tests::generated::{RtEfo, RtJson};
use kinesis_tables_tests::rt;

/// RtJson records through `endpoint`, read with `rt_efo`'s EFO settings.
fn efo_config(endpoint: &str, stream: &str) -> TableConfig {
    let mut cfg = rt::config_for::<RtJson>(endpoint, stream);
    cfg.source = rt::config_for::<RtEfo>(endpoint, stream).source;
    cfg
}

/// Writes `records` in chunks straight to the emulator while a source reads
/// through the proxy with `faults`; returns what was read and the stats.
async fn read_through_faults(
    kind: Kind,
    records: usize,
    faults: (Faults, StreamFaults),
    tweak: impl FnOnce(&mut TableConfig),
) -> (Vec<RtJson>, Vec<RtJson>, SourceStats, FaultProxy) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("efo-cut", 2).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    let direct = efo_config(&emu.endpoint(), "efo-cut");
    let mut cfg = efo_config(&proxy.endpoint(), "efo-cut");
    tweak(&mut cfg);
    let (sink_client, _) = rt::clients(&direct).await;
    let (_, source_client) = rt::clients(&cfg).await;
    let sent: Vec<RtJson> = rt::records(records, 40);

    // Retry often and briefly, so that a run of failed subscriptions cannot exhaust the retries.
    cfg.source.efo.subscribe_retry = Backoff::new(40, 100, 500, 1.5);
    proxy.set(faults.0);
    proxy.set_stream(faults.1);
    let mut source = Source::<RtJson>::builder().config(cfg).client(source_client).start().await.unwrap();
    let want = sent.len();
    let reader = tokio::spawn(async move {
        let got = rt::read_until(&mut source, want, Duration::from_secs(30)).await;
        let stats = source.close().await.unwrap();
        (got, stats)
    });
    let mut sink = Sink::<RtJson>::with_client(sink_client, &direct);
    for chunk in sent.chunks(records / 8) {
        for r in chunk {
            sink.send(r).await.unwrap();
        }
        sink.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    sink.close().await.unwrap();
    // Faults while writing; then let the reader catch up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.set(Faults::default());
    proxy.set_stream(StreamFaults::default());
    let (got, stats) = reader.await.unwrap();
    let got = got.unwrap_or_else(|e| panic!("{kind}: {e}"));
    // Keep the emulator alive until the source closed (it deregisters its consumer).
    drop(emu);
    (sent, got, stats, proxy)
}

async fn cuts(kind: Kind, records: usize) {
    let started = Instant::now();
    let faults = (
        Faults { operations: vec!["SubscribeToShard".into()], cut: 0.9, seed: Some(7), ..Faults::default() },
        StreamFaults { stream_for: Some(Duration::from_millis(1200)), ..StreamFaults::default() },
    );
    let (sent, got, stats, proxy) = read_through_faults(kind, records, faults, |_| {}).await;
    let counts = proxy.counts();
    let dups = rt::check_delivery(&sent, &got).unwrap_or_else(|e| panic!("{kind}: {e}"));
    eprintln!(
        "{kind}: {} records through {} cut subscriptions in {:?}: {} SubscribeToShard calls, {stats:?}",
        got.len(),
        counts.cut,
        started.elapsed(),
        counts.requests.get("SubscribeToShard").copied().unwrap_or(0)
    );
    assert_eq!(dups, 0, "{kind}: duplicates after resubscribing");
    assert!(counts.cut >= 3, "{kind}: the proxy cut only {} subscriptions", counts.cut);
    assert!(stats.resubscriptions >= 2, "{kind}: cuts mid-stream are followed by resubscriptions: {stats:?}");
    assert!(stats.transient_errors >= 1, "{kind}: cuts are counted: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efo_cut_subscriptions_ferrokinesis() {
    cuts(Kind::Ferrokinesis, 4_000).await;
}

/// kinesis-mock honours AFTER_SEQUENCE_NUMBER (ferrokinesis replays the shard,
/// which the reader filters), and keeps a cut subscription "active" for about
/// 3 s, so the reader also meets ResourceInUseException here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efo_cut_subscriptions_kinesis_mock() {
    cuts(Kind::KinesisMock, 2_000).await;
}

/// Streams that go silent are dropped after `source.efo.subscription.timeout`
/// and renewed: the stream never stalls for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efo_silent_subscriptions_time_out_ferrokinesis() {
    let kind = Kind::Ferrokinesis;
    let faults = (
        Faults { operations: vec!["SubscribeToShard".into()], seed: Some(3), ..Faults::default() },
        StreamFaults { stall: 0.8, ..StreamFaults::default() },
    );
    let (sent, got, stats, proxy) =
        read_through_faults(kind, 2_000, faults, |cfg| cfg.source.efo.subscription_timeout = Duration::from_millis(800)).await;
    let dups = rt::check_delivery(&sent, &got).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(dups, 0);
    let counts = proxy.counts();
    eprintln!("{kind}: {} stalled subscriptions; {stats:?}", counts.stalled);
    assert!(counts.stalled >= 2, "{counts:?}");
    assert!(stats.subscription_timeouts >= 2, "{stats:?}");
}
