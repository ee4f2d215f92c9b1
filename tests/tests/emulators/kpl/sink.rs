//! The sink with KPL aggregation (`sink.aggregation.enabled`) on a local
//! ferrokinesis: what it writes is read back raw with GetRecords over every
//! shard and de-aggregated with `kpl::deaggregate` (and, in one test, with the
//! official Python library), then checked: every record exactly once (or at
//! least once under faults), per-key order, every user record on a shard
//! whose hash key range holds its key (or counted by the sink when a
//! resharding moved it), and far fewer Kinesis records than user records.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kinesis_tables::Record;
use kinesis_tables::kpl::{self, Deaggregated};
use kinesis_tables::sink::Sink;
use kinesis_tables_tests::emulator::{Emulator, Kind, ShardInfo};
use kinesis_tables_tests::faultproxy::{FaultProxy, Faults};
use kinesis_tables_tests::generated::RtAgg;
use kinesis_tables_tests::{pyagg, rt};
use serde_json::json;

/// Payload of the few records too large to aggregate (max-size is 51,200).
const LARGE: usize = 60_000;

/// `count` records over `keys` keys, numbered per key from 0; with `large`,
/// every 997th record is too large to aggregate (it is sent alone).
fn records(count: usize, keys: usize, large: bool) -> Vec<RtAgg> {
    let mut next = vec![0i64; keys];
    (0..count)
        .map(|i| {
            let k = (i * 7919) % keys;
            let n = next[k];
            next[k] += 1;
            let payload = if large && i % 997 == 500 { "L".repeat(LARGE) } else { format!("payload {i} with, a comma and \"quotes\"") };
            RtAgg { k: format!("key-{k}"), n, payload: Some(payload) }
        })
        .collect()
}

/// One Kinesis record as read: its shard, partition key and data.
struct Raw {
    shard: String,
    partition_key: String,
    data: Vec<u8>,
}

/// One user record as read back.
#[derive(Debug)]
struct Read {
    shard: String,
    key: String,
    n: i64,
    hash: u128,
    record: RtAgg,
}

/// Every record of every shard, from TRIM_HORIZON to the end, shard by shard.
async fn read_raw(client: &Client, stream: &str, shards: &[ShardInfo]) -> Vec<Raw> {
    let mut out = Vec::new();
    for s in shards {
        let it = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(&s.shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut it = it.shard_iterator().map(str::to_owned);
        while let Some(i) = it.take() {
            let page = client.get_records().shard_iterator(i).limit(10_000).send().await.unwrap();
            for r in page.records() {
                out.push(Raw { shard: s.shard_id.clone(), partition_key: r.partition_key().to_owned(), data: r.data().as_ref().to_vec() });
            }
            if page.records().is_empty() {
                break;
            }
            it = page.next_shard_iterator().map(str::to_owned);
        }
    }
    out
}

/// De-aggregates what was read (the KPL rule: an aggregated record's user
/// records, anything else as it is) and decodes every user record. Also
/// returns how many Kinesis records were aggregated, and how many user
/// records they held.
fn deaggregate(raw: &[Raw]) -> (Vec<Read>, usize, usize) {
    let mut reads = Vec::new();
    let mut aggregated = 0;
    let mut inside = 0;
    for r in raw {
        let subs = match kpl::deaggregate(&r.data, &r.partition_key) {
            Deaggregated::Aggregated(subs) => {
                aggregated += 1;
                inside += subs.len();
                subs.into_iter().map(|s| (s.partition_key, s.data)).collect()
            }
            Deaggregated::Plain => vec![(r.partition_key.clone(), r.data.clone())],
            Deaggregated::Corrupt(reason) => panic!("the sink wrote a corrupt aggregated record on {}: {reason}", r.shard),
        };
        for (key, data) in subs {
            let record = RtAgg::decode(&data).unwrap_or_else(|e| panic!("a user record on {} does not decode: {e}", r.shard));
            assert_eq!(record.k, key, "a user record's partition key is its k column");
            reads.push(Read { shard: r.shard.clone(), hash: kpl::hash_key(&key), key, n: record.n, record });
        }
    }
    (reads, aggregated, inside)
}

/// What [`check`] found.
#[derive(Debug)]
struct Summary {
    duplicates: usize,
    /// User records read from a shard whose range does not hold their hash key.
    out_of_range: usize,
}

/// Every sent record read back, unchanged (exactly once unless
/// `allow_duplicates`), nothing else, and per-key order: a key's records in
/// its shards' lineage order (closed parents first, then shards whose range
/// does not hold the key, where a resharding put them, then its own shard),
/// in read order within each shard.
fn check(sent: &[RtAgg], reads: &[Read], shards: &[ShardInfo], allow_duplicates: bool) -> Result<Summary, String> {
    let by_id: HashMap<(&str, i64), &RtAgg> = sent.iter().map(|r| ((r.k.as_str(), r.n), r)).collect();
    let range: HashMap<&str, &ShardInfo> = shards.iter().map(|s| (s.shard_id.as_str(), s)).collect();
    let mut out_of_range = 0;
    let mut per_key: HashMap<&str, Vec<(u8, usize, i64)>> = HashMap::new();
    for (i, r) in reads.iter().enumerate() {
        match by_id.get(&(r.key.as_str(), r.n)) {
            Some(s) if **s == r.record => {}
            Some(s) => return Err(format!("record ({}, {}) came back different:\n sent {s:?}\n  got {:?}", r.key, r.n, r.record)),
            None => return Err(format!("record ({}, {}) was never sent", r.key, r.n)),
        }
        let shard = range.get(r.shard.as_str()).ok_or_else(|| format!("read from unknown shard {}", r.shard))?;
        let inside = shard.starting_hash_key <= r.hash && r.hash <= shard.ending_hash_key;
        out_of_range += usize::from(!inside);
        let rank = match (shard.is_open(), inside) {
            (false, true) => 0,
            (_, false) => 1,
            (true, true) => 2,
        };
        per_key.entry(r.key.as_str()).or_default().push((rank, i, r.n));
    }
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for (key, mut occurrences) in per_key {
        occurrences.sort();
        let mut last = -1;
        for (_, _, n) in occurrences {
            if !seen.insert((key, n)) {
                duplicates += 1;
                continue;
            }
            if n <= last {
                return Err(format!("key {key}: record {n} was read after record {last}"));
            }
            last = n;
        }
    }
    if seen.len() != sent.len() {
        let missing: Vec<_> = sent.iter().map(|r| (r.k.as_str(), r.n)).filter(|id| !seen.contains(id)).take(5).collect();
        return Err(format!("{} of {} records read; missing e.g. {missing:?}", seen.len(), sent.len()));
    }
    if duplicates > 0 && !allow_duplicates {
        return Err(format!("{duplicates} records read twice"));
    }
    Ok(Summary { duplicates, out_of_range })
}

async fn send_all(sink: &mut Sink<RtAgg>, records: &[RtAgg]) {
    for r in records {
        sink.send(r).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_on_four_shards() {
    const RECORDS: usize = 20_000;
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("agg", 4).await.unwrap();
    let mut cfg = rt::config_for::<RtAgg>(&emu.endpoint(), "agg");
    assert!(cfg.sink.aggregation.enabled, "rt_agg turns aggregation on in the spec");
    // Partly filled aggregated records wait for this long (flush() sends
    // them at the end), so that packing does not depend on the machine's speed.
    cfg.sink.flush_buffer_timeout = Duration::from_secs(2);
    let (sink_client, _) = rt::clients(&cfg).await;
    let sent = records(RECORDS, 1_000, true);

    let mut sink = Sink::<RtAgg>::with_client(sink_client, &cfg);
    let mut watermark = sink.acknowledgements();
    send_all(&mut sink, &sent).await;
    sink.flush().await.unwrap();
    // The watermark counts user records.
    assert_eq!(*watermark.borrow_and_update(), RECORDS as u64);
    assert_eq!(sink.accepted(), RECORDS as u64);
    let stats = sink.close().await.unwrap();

    let shards = emu.list_shards("agg").await.unwrap();
    let raw = read_raw(&emu.client(), "agg", &shards).await;
    let (reads, aggregated, inside) = deaggregate(&raw);
    let summary = check(&sent, &reads, &shards, false).unwrap();
    let large = sent.iter().filter(|r| r.payload.as_ref().is_some_and(|p| p.len() == LARGE)).count() as u64;
    eprintln!("{RECORDS} records in {} Kinesis records ({aggregated} aggregated); {summary:?}; {stats:?}", raw.len());
    assert_eq!((summary.out_of_range, summary.duplicates), (0, 0), "every user record once, on a shard whose range holds its key");
    assert_eq!(stats.acknowledged, RECORDS as u64);
    assert_eq!((stats.given_up, stats.refused, stats.layout_refreshes, stats.out_of_range_records), (0, 0, 0, 0), "{stats:?}");
    assert_eq!((stats.aggregated_records, stats.aggregated_user_records), (aggregated as u64, inside as u64), "{stats:?}");
    // Records too large to aggregate go alone; the rest is aggregated (but
    // for a lone record of its shard in a batch, sent as it is).
    assert!(stats.aggregated_user_records <= RECORDS as u64 - large, "{stats:?}");
    assert!(stats.aggregated_user_records >= (RECORDS as u64 - large) * 98 / 100, "{stats:?}");
    assert!(large > 10 && raw.len() - aggregated >= large as usize);
    assert!(raw.len() * 20 < RECORDS, "{} Kinesis records for {RECORDS} user records: not aggregated", raw.len());
    // Every shard got records.
    let used: HashSet<&str> = raw.iter().map(|r| r.shard.as_str()).collect();
    assert_eq!(used.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_while_writing() {
    const CHUNK: usize = 4_000;
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("agg-split", 2).await.unwrap();
    let mut cfg = rt::config_for::<RtAgg>(&emu.endpoint(), "agg-split");
    // Batches are packed when about one full aggregated record per shard has
    // arrived (not after 50 ms), so the first batch after the split mixes
    // keys of both children: some records must land outside their range.
    cfg.sink.flush_buffer_timeout = Duration::from_secs(2);
    let (sink_client, _) = rt::clients(&cfg).await;
    // No record sent alone: one could reveal the split before an aggregated record does.
    let sent = records(3 * CHUNK, 500, false);

    let mut sink = Sink::<RtAgg>::with_client(sink_client, &cfg);
    send_all(&mut sink, &sent[..CHUNK]).await;
    sink.flush().await.unwrap();
    let before = emu.open_shards("agg-split").await.unwrap();
    // The sink learns of the split only from where its next records land.
    emu.split_shard("agg-split", &before[0].shard_id).await.unwrap();
    send_all(&mut sink, &sent[CHUNK..2 * CHUNK]).await;
    sink.flush().await.unwrap();
    let mid = sink.stats();
    send_all(&mut sink, &sent[2 * CHUNK..]).await;
    let stats = sink.close().await.unwrap();

    let shards = emu.list_shards("agg-split").await.unwrap();
    assert_eq!(shards.len(), 4);
    let raw = read_raw(&emu.client(), "agg-split", &shards).await;
    let (reads, _, _) = deaggregate(&raw);
    let summary = check(&sent, &reads, &shards, false).unwrap();
    eprintln!("split: {summary:?}; {stats:?}");
    assert_eq!(stats.acknowledged, sent.len() as u64);
    assert!(mid.layout_refreshes >= 1, "the split was noticed while writing the second chunk: {mid:?}");
    // The sink counts exactly the records that landed outside their shard's range.
    assert_eq!(stats.out_of_range_records, summary.out_of_range as u64, "{stats:?}");
    assert!(summary.out_of_range > 0, "the split went unnoticed by the packing: {stats:?}");
    // After the refresh, nothing more lands outside.
    assert_eq!(stats.out_of_range_records, mid.out_of_range_records);
    // The last chunk was packed for the children.
    let children: HashSet<&str> = shards.iter().filter(|s| s.parent_shard_id.is_some()).map(|s| s.shard_id.as_str()).collect();
    let late: HashSet<(&str, i64)> = sent[2 * CHUNK..].iter().map(|r| (r.k.as_str(), r.n)).collect();
    let parent = before[0].shard_id.as_str();
    for r in reads.iter().filter(|r| late.contains(&(r.key.as_str(), r.n))) {
        assert_ne!(r.shard, parent, "a record sent after the split was read from the closed parent");
        if children.contains(r.shard.as_str()) {
            let s = shards.iter().find(|s| s.shard_id == r.shard).unwrap();
            assert!(s.starting_hash_key <= r.hash && r.hash <= s.ending_hash_key, "record ({}, {}) on {}", r.key, r.n, r.shard);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_lose_nothing_and_keep_order() {
    const RECORDS: usize = 10_000;
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("agg-faults", 3).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    // Every operation (the default); `..` keeps this working as the fault proxy grows.
    proxy.set(Faults {
        throttle: 0.05,
        server_error: 0.05,
        fail_entries: 0.25,
        delay: 0.05,
        delay_for: Duration::from_millis(100),
        cut: 0.03,
        seed: Some(39),
        ..Faults::default()
    });
    let mut cfg = rt::config_for::<RtAgg>(&proxy.endpoint(), "agg-faults");
    // Smaller aggregated records, so that there are many to fail.
    cfg.sink.aggregation.max_size = 4_096;
    cfg.sink.aggregation.max_count = 50;
    let (sink_client, _) = rt::clients(&cfg).await;
    let sent = records(RECORDS, 200, true);

    let mut sink = Sink::<RtAgg>::with_client(sink_client, &cfg);
    send_all(&mut sink, &sent).await;
    let stats = sink.close().await.unwrap();
    let counts = proxy.counts();

    let shards = emu.list_shards("agg-faults").await.unwrap();
    let raw = read_raw(&emu.client(), "agg-faults", &shards).await;
    let (reads, aggregated, _) = deaggregate(&raw);
    let summary = check(&sent, &reads, &shards, true).unwrap();
    eprintln!("faults: injected {counts:?}; sink {stats:?}; read {} ({aggregated} aggregated); {summary:?}", raw.len());
    assert_eq!(stats.acknowledged, RECORDS as u64);
    assert_eq!(stats.given_up, 0);
    assert_eq!(summary.out_of_range, 0);
    assert!(counts.failed_entries > 10 && counts.throttled > 0 && counts.server_errors > 0 && counts.cut > 0, "{counts:?}");
    assert!(stats.retried_records > 0 && stats.failed_requests > 0, "{stats:?}");
    // Duplicates (resent after a cut connection) are read, but acknowledged once.
    assert!(aggregated > 100 && stats.aggregated_records as usize <= aggregated, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_deaggregates_what_the_sink_wrote() {
    const RECORDS: usize = 3_000;
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("agg-py", 2).await.unwrap();
    let mut cfg = rt::config_for::<RtAgg>(&emu.endpoint(), "agg-py");
    cfg.sink.aggregation.max_size = 8_192;
    let (sink_client, _) = rt::clients(&cfg).await;
    let sent = records(RECORDS, 300, true);
    let mut sink = Sink::<RtAgg>::with_client(sink_client, &cfg);
    send_all(&mut sink, &sent).await;
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, RECORDS as u64);

    let shards = emu.list_shards("agg-py").await.unwrap();
    let raw = read_raw(&emu.client(), "agg-py", &shards).await;
    let (reads, aggregated, _) = deaggregate(&raw);
    check(&sent, &reads, &shards, false).unwrap();
    assert!(aggregated > 20, "{aggregated} aggregated records");

    let request = json!({ "records": raw.iter().map(|r| json!({ "partition_key": r.partition_key, "data": B64.encode(&r.data) })).collect::<Vec<_>>() });
    let response = pyagg::python_agg(Path::new(env!("CARGO_TARGET_TMPDIR"))).run("deaggregate", &request);
    let py = response["records"].as_array().expect("records");
    assert_eq!(py.len(), reads.len(), "Python delivers as many user records as kpl::deaggregate");
    let mut py_aggregated = 0;
    for (i, (p, r)) in py.iter().zip(&reads).enumerate() {
        let data = B64.decode(p["data"].as_str().expect("data")).expect("base64");
        let record = RtAgg::decode(&data).unwrap_or_else(|e| panic!("user record {i} from Python does not decode: {e}"));
        assert_eq!(p["partition_key"].as_str(), Some(r.key.as_str()), "user record {i}");
        assert_eq!(record, r.record, "user record {i}");
        py_aggregated += usize::from(p["aggregated"].as_bool() == Some(true));
    }
    assert_eq!(py_aggregated as u64, stats.aggregated_user_records, "Python sees the same records as aggregated");
}
