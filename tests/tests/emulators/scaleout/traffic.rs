//! Load and its audit: a producer writing keyed, per-key numbered records to
//! `lease-in` at a steady rate, and a checker reading all of `lease-out`
//! that counts loss, duplicates (per source shard) and per-key order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::faultproxy::LoggedRequest;
use kinesis_tables_tests::generated::{LeaseIn, LeaseOut};
use kinesis_tables_tests::rt;
use tokio::task::JoinHandle;

/// Writes records `key-0 … key-{keys-1}`, each key numbered from 0, about
/// `per_second` a second, until stopped.
pub struct Producer {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Vec<(String, i64)>>,
}

impl Producer {
    pub async fn start(endpoint: &str, keys: usize, per_second: usize) -> Producer {
        let cfg = rt::config_for::<LeaseIn>(endpoint, "lease-in");
        let (client, _) = rt::clients(&cfg).await;
        let mut sink = Sink::<LeaseIn>::with_client(client, &cfg);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            let mut next = vec![0i64; keys];
            let mut out = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let per_tick = per_second.div_ceil(20);
            while !stop2.load(Ordering::Relaxed) {
                tick.tick().await;
                for _ in 0..per_tick {
                    let k = out.len() * 7919 % keys;
                    let r = LeaseIn { k: format!("key-{k}"), n: next[k], src_shard: String::new(), src_seq: String::new() };
                    next[k] += 1;
                    sink.send(&r).await.expect("producer: send");
                    out.push((r.k, r.n));
                }
            }
            sink.close().await.expect("producer: close");
            out
        });
        Producer { stop, task }
    }

    /// Stops, waits for every record to be acknowledged, and returns them in order.
    pub async fn stop(self) -> Vec<(String, i64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("producer task")
    }
}

/// One record of `lease-out`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Copied {
    pub key: String,
    pub n: i64,
    pub src_shard: String,
    pub src_seq: String,
}

/// Reads `lease-out` until every record of `sent` arrived, or `idle` passes with nothing new.
pub async fn read_output(endpoint: &str, sent: &[(String, i64)], idle: Duration) -> Vec<Copied> {
    let cfg = rt::config_for::<LeaseOut>(endpoint, "lease-out");
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<LeaseOut>::builder().config(cfg).client(client).start().await.expect("checker: source");
    let want: HashSet<&(String, i64)> = sent.iter().collect();
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    let mut out = Vec::new();
    while want.iter().any(|w| !seen.contains(*w)) {
        match tokio::time::timeout(idle, source.next()).await {
            Err(_) => break,
            Ok(Err(e)) => panic!("checker: source failed after {} records: {e}", out.len()),
            Ok(Ok(batch)) => {
                for r in batch.records {
                    seen.insert((r.k.clone(), r.n));
                    out.push(Copied { key: r.k, n: r.n, src_shard: r.src_shard, src_seq: r.src_seq });
                }
                source.ack(batch.ack);
            }
        }
    }
    out
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: usize,
    pub lost: usize,
    /// Copies beyond the first, in all.
    pub duplicates: usize,
    /// Copies beyond the first, per source shard.
    pub duplicates_by_shard: BTreeMap<String, usize>,
    /// Records that were never sent.
    pub foreign: usize,
}

/// Counts loss and duplicates, and checks per-key order (first copies of each
/// key's records in increasing order): `Err` names the first violation.
pub fn tally(sent: &[(String, i64)], out: &[Copied]) -> Result<Tally, String> {
    let keyed: Vec<(String, i64)> = out.iter().map(|c| (c.key.clone(), c.n)).collect();
    rt::check_order(&keyed).map_err(|e| format!("{e}; {}", copies_of_key(out, &e)))?;
    let want: HashSet<&(String, i64)> = sent.iter().collect();
    let mut copies: HashMap<(String, i64), usize> = HashMap::new();
    let mut t = Tally { sent: sent.len(), ..Tally::default() };
    for c in out {
        let id = (c.key.clone(), c.n);
        if !want.contains(&id) {
            t.foreign += 1;
        }
        let n = copies.entry(id).or_default();
        *n += 1;
        if *n > 1 {
            t.duplicates += 1;
            *t.duplicates_by_shard.entry(c.src_shard.clone()).or_default() += 1;
        }
    }
    t.lost = sent.iter().filter(|id| !copies.contains_key(*id)).count();
    Ok(t)
}

/// The records of `sent` that never arrived.
pub fn lost(sent: &[(String, i64)], out: &[Copied]) -> Vec<(String, i64)> {
    let got: HashSet<(&str, i64)> = out.iter().map(|c| (c.key.as_str(), c.n)).collect();
    sent.iter().filter(|(k, n)| !got.contains(&(k.as_str(), *n))).cloned().collect()
}

/// For each record, which workers' PutRecords carried it (source shard, sequence number, answer): the lost records' trail.
pub fn writers(records: &[(String, i64)], logs: &[(&str, Vec<LoggedRequest>)]) -> String {
    let mut lines = Vec::new();
    for (k, n) in records {
        let mut seen = Vec::new();
        for (name, log) in logs {
            for p in log.iter().filter(|p| p.operation == "PutRecords") {
                for data in &p.records {
                    let v: serde_json::Value = serde_json::from_slice(data).unwrap_or_default();
                    if v["k"].as_str() == Some(k.as_str()) && v["n"].as_i64() == Some(*n) {
                        seen.push(format!("{name} ({} {}, status {:?})", v["src_shard"], v["src_seq"], p.status));
                    }
                }
            }
        }
        lines.push(format!("{k}/{n}: {}", if seen.is_empty() { "never written".to_string() } else { seen.join("; ") }));
    }
    lines.join(" | ")
}

/// Where each copy of the records of the key named in a `check_order` error came from, in arrival order.
fn copies_of_key(out: &[Copied], error: &str) -> String {
    let key = error.strip_prefix("key ").and_then(|r| r.split(':').next()).unwrap_or_default();
    let copies: Vec<String> =
        out.iter().filter(|c| c.key == key).map(|c| format!("{} from {} at {}", c.n, c.src_shard, c.src_seq)).collect();
    format!("copies of {key} in arrival order: {}", copies.join(", "))
}

/// Sequence numbers are decimal strings: compare by length, then text.
pub fn seq_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// What a worker wrote (its PutRecords through its Kinesis proxy) from shard
/// `shard` after `checkpoint` (the last checkpoint it wrote of it; `None`:
/// everything): the records another worker may repeat after taking the lease over.
pub fn unacknowledged(puts: &[LoggedRequest], shard: &str, checkpoint: Option<&str>) -> usize {
    let mut ids = HashSet::new();
    for p in puts.iter().filter(|p| p.operation == "PutRecords") {
        for data in &p.records {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { continue };
            let (Some(s), Some(q)) = (v["src_shard"].as_str(), v["src_seq"].as_str()) else { continue };
            if s == shard && checkpoint.is_none_or(|cp| !cp.bytes().all(|b| b.is_ascii_digit()) || seq_after(q, cp)) {
                ids.insert(q.to_owned());
            }
        }
    }
    ids.len()
}

/// The records (source shard, sequence number) a worker's PutRecords
/// carried, from its Kinesis proxy's log; with `after`, only requests that arrived after it.
pub fn put_ids(puts: &[LoggedRequest], after: Option<Instant>) -> HashSet<(String, String)> {
    let mut ids = HashSet::new();
    for p in puts.iter().filter(|p| p.operation == "PutRecords" && after.is_none_or(|t| p.at > t)) {
        for data in &p.records {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { continue };
            if let (Some(s), Some(q)) = (v["src_shard"].as_str(), v["src_seq"].as_str()) {
                ids.insert((s.to_owned(), q.to_owned()));
            }
        }
    }
    ids
}

/// Records of `from` that the `others` wrote again after `at` (a hand-over's duplicates), per source shard.
pub fn rewritten(from: &[LoggedRequest], others: &[Vec<LoggedRequest>], at: Instant) -> BTreeMap<String, usize> {
    let first = put_ids(from, None);
    let mut again = HashSet::new();
    for o in others {
        again.extend(put_ids(o, Some(at)));
    }
    let mut out = BTreeMap::new();
    for (shard, _) in first.intersection(&again) {
        *out.entry(shard.clone()).or_default() += 1;
    }
    out
}

/// The last checkpoint `worker` wrote successfully of each lease (from its DynamoDB proxy's log).
pub fn last_checkpoints(requests: &[LoggedRequest]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in requests.iter().filter(|r| r.is_checkpoint() && r.succeeded()) {
        if let (Some(k), Some(cp)) = (&r.lease_key, &r.checkpoint) {
            out.insert(k.clone(), cp.clone());
        }
    }
    out
}
