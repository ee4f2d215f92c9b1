//! Pointing generated tables at a test stream, and checking what came back.

use std::collections::BTreeMap;

use kinesis_tables::config::{Credentials, Secret, StreamRef, TableConfig};
use kinesis_tables::connect::{self, HttpSettings};
use kinesis_tables::{Record, TableConfig as _Cfg};

/// `R`'s compiled configuration, pointed at `stream` behind `endpoint`
/// (emulator or fault proxy), with static test credentials.
pub fn config_for<R: Record>(endpoint: &str, stream: &str) -> TableConfig {
    let mut cfg: _Cfg = R::config().expect("test tables have no ${ENV} options").into_owned();
    cfg.aws.endpoint = Some(endpoint.to_owned().into());
    cfg.aws.region = Some(crate::emulator::REGION.into());
    cfg.aws.credentials =
        Credentials::Basic { access_key_id: Secret(crate::emulator::ACCOUNT_ID.into()), secret_key: Secret("test-secret".into()) };
    cfg.stream = match cfg.stream {
        StreamRef::Arn { region, account, .. } => StreamRef::Arn {
            arn: format!("arn:aws:kinesis:{region}:{account}:stream/{stream}").into(),
            region,
            account,
            name: stream.to_owned().into(),
        },
        StreamRef::Name(_) => StreamRef::Name(stream.to_owned().into()),
    };
    cfg
}

/// A sink client and a source client for `cfg`, built the way the runtime builds them.
pub async fn clients(cfg: &TableConfig) -> (aws_sdk_kinesis::Client, aws_sdk_kinesis::Client) {
    let sink = connect::kinesis_client(cfg, HttpSettings::sink(cfg), None).await.expect("sink client");
    let source = connect::kinesis_client(cfg, HttpSettings::source(cfg), None).await.expect("source client");
    (sink, source)
}

/// Checks that, per key, the sequence numbers `n` arrive in increasing order
/// (first occurrences; repeats of a record already seen are duplicates) and
/// returns (distinct records, duplicates).
pub fn check_order(received: &[(String, i64)]) -> Result<(usize, usize), String> {
    let mut last: BTreeMap<&str, i64> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut dups = 0;
    for (k, n) in received {
        if !seen.insert((k.as_str(), *n)) {
            dups += 1;
            continue;
        }
        if let Some(prev) = last.get(k.as_str())
            && *n <= *prev
        {
            return Err(format!("key {k}: record {n} arrived after record {prev}"));
        }
        last.insert(k, *n);
    }
    Ok((seen.len(), dups))
}

/// A test table: records made from (key, n), and metadata that can be cleared
/// so that what was read compares equal to what was written.
pub trait TestRecord: Record + Clone + PartialEq + std::fmt::Debug {
    fn make(key: &str, n: i64) -> Self;
    fn key_n(&self) -> (String, i64);
    /// Clears the metadata columns, checking they were filled.
    fn take_metadata(&mut self) -> Result<(), String>;
}

use crate::generated::{RtAvro, RtAvroJson, RtCsv, RtJson, RtRaw};

impl TestRecord for RtJson {
    fn make(key: &str, n: i64) -> Self {
        use std::str::FromStr;
        RtJson {
            k: key.to_owned(),
            n,
            note: (n % 3 != 0).then(|| format!("note \"{n}\", with, commas\nand a newline")),
            amount: Some(kinesis_tables::types::Decimal::from_str(&format!("{}.{:02}", n * 7, n % 100)).unwrap()),
            at: kinesis_tables::types::DateTime::from_timestamp_millis(1_700_000_000_000 + n).map(|t| t.naive_utc()),
            tags: (n % 2 == 0).then(|| vec![Some(format!("t{n}")), None]),
            arrival: Default::default(),
            shard: String::new(),
            seqno: String::new(),
        }
    }
    fn key_n(&self) -> (String, i64) {
        (self.k.clone(), self.n)
    }
    fn take_metadata(&mut self) -> Result<(), String> {
        if !self.shard.starts_with("shardId-") || self.seqno.is_empty() || self.arrival.timestamp() < 1_600_000_000 {
            return Err(format!("metadata not filled: shard {:?}, seqno {:?}, arrival {}", self.shard, self.seqno, self.arrival));
        }
        self.arrival = Default::default();
        self.shard.clear();
        self.seqno.clear();
        Ok(())
    }
}

impl TestRecord for RtCsv {
    fn make(key: &str, n: i64) -> Self {
        RtCsv {
            k: key.to_owned(),
            n,
            note: match n % 4 {
                0 => None,
                1 => Some(String::new()),
                2 => Some(format!("quoted \"{n}\", comma")),
                _ => Some("\\N is not null here".to_owned()),
            },
            ok: (n % 5 != 0).then_some(n % 2 == 0),
            shard: String::new(),
        }
    }
    fn key_n(&self) -> (String, i64) {
        (self.k.clone(), self.n)
    }
    fn take_metadata(&mut self) -> Result<(), String> {
        if !self.shard.starts_with("shardId-") {
            return Err(format!("shard metadata not filled: {:?}", self.shard));
        }
        self.shard.clear();
        Ok(())
    }
}

impl TestRecord for RtRaw {
    fn make(key: &str, n: i64) -> Self {
        RtRaw { line: format!("{key}:{n:08}:payload é ✓") }
    }
    fn key_n(&self) -> (String, i64) {
        let mut it = self.line.split(':');
        let k = it.next().unwrap_or_default().to_owned();
        let n = it.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
        (k, n)
    }
    fn take_metadata(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// The avro tables have `rt_json`'s physical columns.
macro_rules! avro_test_record {
    ($($t:ident),*) => {$(
        impl TestRecord for $t {
            fn make(key: &str, n: i64) -> Self {
                let r = RtJson::make(key, n);
                $t { k: r.k, n: r.n, note: r.note, amount: r.amount, at: r.at, tags: r.tags, shard: String::new() }
            }
            fn key_n(&self) -> (String, i64) {
                (self.k.clone(), self.n)
            }
            fn take_metadata(&mut self) -> Result<(), String> {
                if !self.shard.starts_with("shardId-") {
                    return Err(format!("shard metadata not filled: {:?}", self.shard));
                }
                self.shard.clear();
                Ok(())
            }
        }
    )*};
}
avro_test_record!(RtAvro, RtAvroJson);

/// `count` records over `keys` keys, numbered per key from 0.
pub fn records<R: TestRecord>(count: usize, keys: usize) -> Vec<R> {
    let mut next = vec![0i64; keys];
    (0..count)
        .map(|i| {
            let k = (i * 7919) % keys;
            let n = next[k];
            next[k] += 1;
            R::make(&format!("key-{k}"), n)
        })
        .collect()
}

/// Reads until `want` distinct records arrived (or `idle` passes with nothing
/// new), acknowledging every batch. Returns the records in arrival order.
pub async fn read_until<R: TestRecord>(
    source: &mut kinesis_tables::source::Source<R>,
    want: usize,
    idle: std::time::Duration,
) -> Result<Vec<R>, String> {
    let mut out = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < want {
        match tokio::time::timeout(idle, source.next()).await {
            Err(_) => break,
            Ok(Err(e)) => return Err(format!("source failed after {} records: {e}", out.len())),
            Ok(Ok(batch)) => {
                for mut r in batch.records {
                    r.take_metadata()?;
                    distinct.insert(r.key_n());
                    out.push(r);
                }
                source.ack(batch.ack);
            }
        }
    }
    Ok(out)
}

/// Checks that `got` holds every record of `sent` (and nothing else, beyond
/// duplicates of sent records), in order per key. Returns the duplicate count.
pub fn check_delivery<R: TestRecord>(sent: &[R], got: &[R]) -> Result<usize, String> {
    let keyed: Vec<(String, i64)> = got.iter().map(|r| r.key_n()).collect();
    let (distinct, dups) = check_order(&keyed)?;
    let mut by_id: std::collections::HashMap<(String, i64), &R> = std::collections::HashMap::new();
    for r in sent {
        by_id.insert(r.key_n(), r);
    }
    for r in got {
        match by_id.get(&r.key_n()) {
            Some(s) if *s == r => {}
            Some(s) => return Err(format!("record {:?} came back different:\n sent {s:?}\n  got {r:?}", r.key_n())),
            None => return Err(format!("record {:?} was never sent", r.key_n())),
        }
    }
    if distinct != sent.len() {
        let got_ids: std::collections::HashSet<_> = keyed.iter().cloned().collect();
        let missing: Vec<_> = sent.iter().map(|r| r.key_n()).filter(|id| !got_ids.contains(id)).take(5).collect();
        return Err(format!("{} of {} records arrived; missing e.g. {missing:?}", distinct, sent.len()));
    }
    Ok(dups)
}

/// Points a child process at `endpoint` through the standard AWS
/// environment only (as a deployed binary is configured), with test keys.
pub fn aws_env(cmd: &mut tokio::process::Command, endpoint: &str) {
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(k);
    }
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", crate::emulator::ACCOUNT_ID)
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// A read across a reshard: no loss, no duplicates, per-key order, every
/// parent's last record delivered before its child's first, and the merged
/// shard `merged` read. `got` is `(shard id, record)` in delivery order.
pub fn check_lineage(
    kind: crate::emulator::Kind,
    sent: &[crate::generated::RtJson],
    got: &[(String, crate::generated::RtJson)],
    all: &[crate::emulator::ShardInfo],
    merged: &str,
) {
    use std::collections::HashMap;
    let records: Vec<crate::generated::RtJson> = got.iter().map(|(_, r)| r.clone()).collect();
    let dups = check_delivery(sent, &records).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(dups, 0, "{kind}: duplicates");
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, (shard, _)) in got.iter().enumerate() {
        first.entry(shard.as_str()).or_insert(i);
        last.insert(shard.as_str(), i);
    }
    let mut checked = 0;
    for s in all {
        for p in s.parent_shard_id.iter().chain(&s.adjacent_parent_shard_id) {
            if let (Some(lp), Some(fc)) = (last.get(p.as_str()), first.get(s.shard_id.as_str())) {
                assert!(lp < fc, "{kind}: child {} delivered (at {fc}) before parent {p} was done (at {lp})", s.shard_id);
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "{kind}: expected records on parents and children, checked {checked} pairs");
    assert!(first.contains_key(merged), "{kind}: the merged shard was read");
}

/// Writes `sent` in three parts to a stream of (at least) two shards: the
/// first, then a split of the first shard, the second, then a merge of the
/// split's upper child with the second original shard, the third. Returns
/// the merged shard.
pub async fn write_across_split_and_merge(
    emu: &crate::emulator::Emulator,
    stream: &str,
    sink: &mut kinesis_tables::sink::Sink<crate::generated::RtJson>,
    sent: &[crate::generated::RtJson],
) -> crate::emulator::ShardInfo {
    let third = sent.len() / 3;
    let shards = emu.open_shards(stream).await.unwrap();
    for r in &sent[..third] {
        sink.send(r).await.unwrap();
    }
    sink.flush().await.unwrap();
    let [_low, high] = emu.split_shard(stream, &shards[0].shard_id).await.unwrap();
    for r in &sent[third..2 * third] {
        sink.send(r).await.unwrap();
    }
    sink.flush().await.unwrap();
    // The upper child of the split is adjacent to the second original shard.
    let merged = emu.merge_shards(stream, &high.shard_id, &shards[1].shard_id).await.unwrap();
    for r in &sent[2 * third..] {
        sink.send(r).await.unwrap();
    }
    merged
}

/// After a restart, every closed shard is finished or pruned (gone from the
/// source's maps once its children were checkpointed): none is read again.
pub fn check_closed_shards_done(kind: crate::emulator::Kind, status: &BTreeMap<String, &'static str>, all: &[crate::emulator::ShardInfo]) {
    for s in all.iter().filter(|s| !s.is_open()) {
        let st = status.get(&s.shard_id).copied();
        assert!(matches!(st, None | Some("finished")), "{kind}: closed shard {} after restart: {status:?}", s.shard_id);
    }
}

/// Reads `want` distinct records (or until `idle` passes with nothing),
/// keeping each one's shard, in delivery order; acknowledges everything,
/// closes the source and returns its counters.
pub async fn read_with_shards(
    mut source: kinesis_tables::source::Source<crate::generated::RtJson>,
    want: usize,
    idle: std::time::Duration,
) -> (Vec<(String, crate::generated::RtJson)>, kinesis_tables::source::SourceStats) {
    let mut got = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < want {
        let Ok(batch) = tokio::time::timeout(idle, source.next()).await else { break };
        let batch = batch.unwrap();
        for mut r in batch.records {
            let shard = r.shard.clone();
            r.take_metadata().unwrap();
            distinct.insert(r.key_n());
            got.push((shard, r));
        }
        source.ack(batch.ack);
    }
    let stats = source.close().await.unwrap();
    (got, stats)
}
