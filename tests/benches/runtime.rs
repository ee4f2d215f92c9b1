//! Runtime throughput against a hand-written aws-sdk-kinesis loop, on a local
//! ferrokinesis, in the same run, as a ratio.
//!
//! Both sides use the same HTTP client, the same records and the same codec
//! (the table's generated encode/decode), so the ratio measures the sink's
//! and the source's machinery: batching, per-key ordering, backpressure,
//! retries, checkpoint bookkeeping and shard management.
//!
//! - sink: `Sink::send` + `close` vs. a loop of 500-record PutRecords with up
//!   to 16 requests in flight (the usual hand-written producer; it keeps no
//!   per-key order and retries nothing).
//! - source: `Source::next` + `ack` vs. one task per shard looping
//!   GetShardIterator(TRIM_HORIZON) + GetRecords(10,000) and decoding.
//! - EFO source: the same `Source` with `rt_efo`'s reader (SubscribeToShard)
//!   vs. the GetRecords loop above, and vs. one task per shard holding a
//!   SubscribeToShard(TRIM_HORIZON) subscription and decoding each event's
//!   records. Both read through a consumer registered before the clock starts
//!   (ours as SELF_MANAGED), so registration (CREATING for ~500 ms on
//!   ferrokinesis) is not counted. ferrokinesis sends an event every 200 ms
//!   with up to 10,000 records per shard, which bounds both EFO sides.
//!
//! Run: `cargo bench -p kinesis-tables-tests --bench runtime` (emulators from
//! scripts/install-emulators.sh). `KT_BENCH_RECORDS` sets the record count.

use std::time::{Duration, Instant};

use kinesis_tables::Record;
use kinesis_tables::aws::aws_sdk_kinesis::primitives::Blob;
use kinesis_tables::aws::aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use kinesis_tables::config::{EfoLifecycle, ReaderType};
use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtEfo, RtJson};
use kinesis_tables_tests::rt;

const SHARDS: i32 = 4;
const KEYS: usize = 1_000;
const ROUNDS: usize = 3;
/// The EFO consumer both EFO sides read through (one per stream).
const CONSUMER: &str = "kt-bench";

async fn ours_sink(cfg: &kinesis_tables::TableConfig, client: &aws_sdk_kinesis::Client, records: &[RtJson]) -> Duration {
    let t = Instant::now();
    let mut sink = Sink::<RtJson>::with_client(client.clone(), cfg);
    for r in records {
        sink.send(r).await.unwrap();
    }
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, records.len() as u64);
    t.elapsed()
}

async fn baseline_sink(stream: &str, client: &aws_sdk_kinesis::Client, records: &[RtJson], random_keys: bool) -> Duration {
    let t = Instant::now();
    let mut inflight = tokio::task::JoinSet::new();
    for chunk in records.chunks(500) {
        let entries: Vec<PutRecordsRequestEntry> = chunk
            .iter()
            .map(|r| {
                let key = if random_keys { format!("{:032x}", fastrand::u128(..)) } else { r.partition_key().unwrap().unwrap() };
                PutRecordsRequestEntry::builder().data(Blob::new(r.encode().unwrap())).partition_key(key).build().unwrap()
            })
            .collect();
        while inflight.len() >= 16 {
            inflight.join_next().await.unwrap().unwrap();
        }
        let req = client.put_records().stream_name(stream).set_records(Some(entries));
        inflight.spawn(async move {
            let out = req.send().await.unwrap();
            assert_eq!(out.failed_record_count(), Some(0));
        });
    }
    while let Some(r) = inflight.join_next().await {
        r.unwrap();
    }
    t.elapsed()
}

async fn ours_source(cfg: &kinesis_tables::TableConfig, client: &aws_sdk_kinesis::Client, n: usize) -> Duration {
    // The hand-written loop does not pace its calls; neither do we here (the
    // default paces GetRecords to 5 calls/s per shard, AWS's limit).
    let mut cfg = cfg.clone();
    cfg.source.polling.interval = Duration::ZERO;
    let t = Instant::now();
    let mut source = Source::<RtJson>::builder().config(cfg).client(client.clone()).start().await.unwrap();
    let mut got = 0;
    while got < n {
        let batch = source.next().await.unwrap();
        got += batch.records.len();
        source.ack(batch.ack);
    }
    let elapsed = t.elapsed();
    let stats = source.close().await.unwrap();
    // The stream holds exactly n records: more would be duplicates.
    assert_eq!(got, n, "ours read {got} of {n}: {stats:?}");
    elapsed
}

/// `cfg` (an `rt_json` table on `stream`) read with `rt_efo`'s source
/// settings, through the consumer the bench registered (SELF_MANAGED).
fn efo_config(endpoint: &str, stream: &str, cfg: &kinesis_tables::TableConfig) -> kinesis_tables::TableConfig {
    let mut cfg = cfg.clone();
    cfg.source = rt::config_for::<RtEfo>(endpoint, stream).source;
    cfg.source.efo.consumer_name = Some(CONSUMER.to_owned().into());
    cfg.source.efo.lifecycle = EfoLifecycle::SelfManaged;
    assert_eq!(cfg.source.reader, ReaderType::Efo);
    cfg
}

/// Whether sequence number `a` comes after `b` (decimal strings, longer
/// than a u128 holds).
fn seq_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

async fn baseline_efo_source(stream: &str, consumer_arn: &str, client: &aws_sdk_kinesis::Client, n: usize) -> Duration {
    let t = Instant::now();
    let shards = client.list_shards().stream_name(stream).send().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    for s in shards.shards() {
        let client = client.clone();
        let consumer_arn = consumer_arn.to_owned();
        let shard = s.shard_id().to_owned();
        let tx = tx.clone();
        tasks.spawn(async move {
            // The last record read: a new subscription starts after it.
            // ferrokinesis ignores the starting sequence number (it replays the
            // shard) and its continuation is last + 1, not a record's, so resume
            // after the last record and drop what comes again.
            let mut last: Option<String> = None;
            let mut subscriptions = 0;
            loop {
                subscriptions += 1;
                assert!(subscriptions <= 5, "shard {shard}: subscription ended {subscriptions} times");
                let pos = match &last {
                    None => StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon),
                    Some(s) => StartingPosition::builder().r#type(ShardIteratorType::AfterSequenceNumber).sequence_number(s),
                };
                let req = client.subscribe_to_shard().consumer_arn(&consumer_arn).shard_id(&shard);
                let mut out = req.starting_position(pos.build().unwrap()).send().await.unwrap();
                while let Some(ev) = out.event_stream.recv().await.unwrap() {
                    let SubscribeToShardEventStream::SubscribeToShardEvent(ev) = ev else { continue };
                    let mut count = 0;
                    for r in ev.records() {
                        if last.as_deref().is_some_and(|l| !seq_after(r.sequence_number(), l)) {
                            continue;
                        }
                        let _rec = RtJson::decode(r.data().as_ref()).unwrap();
                        count += 1;
                    }
                    if count > 0 {
                        last = ev.records().last().map(|r| r.sequence_number().to_owned());
                        let _ = tx.send(count);
                    }
                }
            }
        });
    }
    drop(tx);
    // A real consumer keeps its subscriptions; we stop once all n arrived.
    let mut total = 0;
    while total < n {
        tokio::select! {
            c = rx.recv() => total += c.unwrap(),
            r = tasks.join_next() => panic!("a subscription task ended after {total} of {n} records: {r:?}"),
        }
    }
    let elapsed = t.elapsed();
    tasks.abort_all();
    while let Some(r) = tasks.join_next().await {
        assert!(r.is_err_and(|e| e.is_cancelled()), "a subscription task failed");
    }
    // Whatever arrived meanwhile (nothing: the stream holds exactly n records).
    while let Ok(c) = rx.try_recv() {
        total += c;
    }
    assert_eq!(total, n, "EFO baseline read {total} of {n}");
    elapsed
}

async fn baseline_source(stream: &str, client: &aws_sdk_kinesis::Client, n: usize) -> Duration {
    let t = Instant::now();
    let shards = client.list_shards().stream_name(stream).send().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for s in shards.shards() {
        let client = client.clone();
        let stream = stream.to_owned();
        let shard = s.shard_id().to_owned();
        tasks.spawn(async move {
            let it = client
                .get_shard_iterator()
                .stream_name(&stream)
                .shard_id(&shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap();
            let mut it = it.shard_iterator().map(str::to_owned);
            let mut count = 0;
            while let Some(i) = it.take() {
                let out = client.get_records().shard_iterator(i).limit(10_000).send().await.unwrap();
                for r in out.records() {
                    let _rec = RtJson::decode(r.data().as_ref()).unwrap();
                    count += 1;
                }
                if out.records().is_empty() || out.millis_behind_latest() == Some(0) && out.records().len() < 10_000 {
                    // Caught up (a real consumer would keep polling).
                    break;
                }
                it = out.next_shard_iterator().map(str::to_owned);
            }
            count
        });
    }
    let mut total = 0;
    while let Some(c) = tasks.join_next().await {
        total += c.unwrap();
    }
    assert!(total >= n, "baseline read {total} of {n}");
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("KT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
        let records: Vec<RtJson> = rt::records(n, KEYS);
        let mut sink_ours = Vec::new();
        let mut sink_base = Vec::new();
        let mut random_ours = Vec::new();
        let mut random_base = Vec::new();
        let mut source_ours = Vec::new();
        let mut source_base = Vec::new();
        let mut efo_ours = Vec::new();
        let mut efo_base = Vec::new();
        for round in 0..ROUNDS {
            // Fresh streams each round, so both readers read exactly n records.
            let (a, b) = (format!("ours-{round}"), format!("base-{round}"));
            emu.create_stream(&a, SHARDS).await.unwrap();
            emu.create_stream(&b, SHARDS).await.unwrap();
            let cfg_a = rt::config_for::<RtJson>(&emu.endpoint(), &a);
            let cfg_b = rt::config_for::<RtJson>(&emu.endpoint(), &b);
            let (sink_client, source_client) = rt::clients(&cfg_a).await;
            // EFO consumers, registered (and ACTIVE) before any clock starts.
            let (consumer_a, consumer_b) = tokio::join!(emu.register_consumer(&a, CONSUMER), emu.register_consumer(&b, CONSUMER));
            let (_, consumer_b) = (consumer_a.unwrap(), consumer_b.unwrap());
            let efo_a = efo_config(&emu.endpoint(), &a, &cfg_a);
            // Alternate which goes first, so neither always meets a warmer server.
            if round % 2 == 0 {
                sink_ours.push(ours_sink(&cfg_a, &sink_client, &records).await);
                sink_base.push(baseline_sink(&b, &sink_client, &records, false).await);
                source_ours.push(ours_source(&cfg_a, &source_client, n).await);
                source_base.push(baseline_source(&b, &source_client, n).await);
                efo_ours.push(ours_source(&efo_a, &source_client, n).await);
                efo_base.push(baseline_efo_source(&b, &consumer_b, &source_client, n).await);
            } else {
                sink_base.push(baseline_sink(&b, &sink_client, &records, false).await);
                sink_ours.push(ours_sink(&cfg_a, &sink_client, &records).await);
                source_base.push(baseline_source(&b, &source_client, n).await);
                source_ours.push(ours_source(&cfg_a, &source_client, n).await);
                efo_base.push(baseline_efo_source(&b, &consumer_b, &source_client, n).await);
                efo_ours.push(ours_source(&efo_a, &source_client, n).await);
            }
            // The same with random partition keys: no ordering to keep.
            let (c, d) = (format!("ours-random-{round}"), format!("base-random-{round}"));
            emu.create_stream(&c, SHARDS).await.unwrap();
            emu.create_stream(&d, SHARDS).await.unwrap();
            let mut cfg_c = rt::config_for::<RtJson>(&emu.endpoint(), &c);
            cfg_c.sink.partitioner = kinesis_tables::config::Partitioner::Random;
            random_ours.push(ours_sink(&cfg_c, &sink_client, &records).await);
            random_base.push(baseline_sink(&d, &sink_client, &records, true).await);
            let _ = cfg_b;
        }
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        let (so, sb, ro, rb) = (median(sink_ours), median(sink_base), median(source_ours), median(source_base));
        println!("runtime benchmark: {n} records ({KEYS} keys, {SHARDS} shards, ferrokinesis on loopback), median of {ROUNDS}");
        println!(
            "sink, {KEYS} keys ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2} (ours keeps per-key order)",
            rate(so),
            rate(sb),
            rate(so) / rate(sb)
        );
        let (xo, xb) = (median(random_ours), median(random_base));
        println!("sink, random keys  ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2}", rate(xo), rate(xb), rate(xo) / rate(xb));
        println!("source, polling    ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2}", rate(ro), rate(rb), rate(ro) / rate(rb));
        let (eo, eb) = (median(efo_ours), median(efo_base));
        println!(
            "source, EFO        ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2} (SubscribeToShard loop)",
            rate(eo),
            rate(eb),
            rate(eo) / rate(eb)
        );
        println!(
            "source, EFO        ours {:>9.0} rec/s  sdk loop {:>9.0} rec/s  ratio {:.2} (GetRecords loop; ferrokinesis paces events at 200 ms)",
            rate(eo),
            rate(rb),
            rate(eo) / rate(rb)
        );
    });
}
