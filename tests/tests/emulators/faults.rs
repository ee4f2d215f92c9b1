//! The round trip through the fault-injecting proxy: throttling, 500s, failed
//! PutRecords entries, delays and cut connections, all at once, on every
//! Kinesis call. Nothing may be lost and per-key order must hold (duplicates
//! are allowed: a request cut after the server did the work is sent again).

use std::time::Duration;

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::faultproxy::{FaultProxy, Faults};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;

const RECORDS: usize = 10_000;

async fn faults(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("faults", 4).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults {
        operations: vec![],
        throttle: 0.05,
        server_error: 0.05,
        fail_entries: 0.10,
        delay: 0.05,
        delay_for: Duration::from_millis(200),
        cut: 0.03,
        seed: Some(7),
        ..Faults::default()
    });
    let mut cfg = rt::config_for::<RtJson>(&proxy.endpoint(), "faults");
    // Under a 15% failure rate per call, the default 3 retries (as in Flink)
    // would give up now and then; these are the legacy options' fields.
    cfg.source.polling.get_records_retry.max_retries = 1_000;
    cfg.source.polling.get_iterator_retry.max_retries = 1_000;
    cfg.source.list_shards_retry.max_retries = 1_000;
    // Many small reads, so that the source meets every kind of fault too.
    cfg.source.polling.max_records = 100;
    cfg.source.polling.interval = Duration::from_millis(20);
    let (sink_client, source_client) = rt::clients(&cfg).await;

    let sent: Vec<RtJson> = rt::records(RECORDS, 100);
    let mut sink = Sink::<RtJson>::with_client(sink_client, &cfg);
    for r in &sent {
        sink.send(r).await.unwrap();
    }
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, RECORDS as u64, "{kind}: {stats:?}");
    assert_eq!(stats.given_up, 0);
    assert!(stats.retried_records > 0 && stats.failed_requests > 0, "{kind}: no retries under faults: {stats:?}");

    let mut source = Source::<RtJson>::builder().config(cfg).client(source_client).start().await.unwrap();
    let got = rt::read_until(&mut source, RECORDS, Duration::from_secs(30)).await.unwrap();
    let dups = rt::check_delivery(&sent, &got).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let st = source.stats();
    source.close().await.unwrap();

    let c = proxy.counts();
    eprintln!("{kind}: injected {c:?}; sink {stats:?}; source {st:?}; duplicates read {dups}");
    assert!(c.throttled > 0 && c.server_errors > 0 && c.failed_entries > 0 && c.delayed > 0 && c.cut > 0, "{kind}: {c:?}");
    assert!(st.throttled > 0 && st.transient_errors > 0, "{kind}: the source did not meet both throttling and failures: {st:?}");
}

kinesis_tables_tests::on_each_emulator!(faults, faults);
