//! The batching Kinesis sink.
//!
//! Records are encoded and keyed when they are handed to [`Sink::send`];
//! a background worker batches them into PutRecords requests
//! (`sink.batch.max-size`, `sink.flush-buffer.size`,
//! `sink.flush-buffer.timeout`), keeps at most `sink.requests.max-inflight`
//! requests open and at most `sink.requests.max-buffered` records in memory
//! (`send` waits for room: backpressure).
//!
//! **Order per partition key.** A key has at most one record in flight at a
//! time. Failed entries (throttled, internal failure, a failed request) go
//! back to the front of the buffer and are retried with backoff, and the
//! key's later records wait behind them, so a key's records reach the shard
//! in the order they were sent. The price is one round trip per record for a
//! single hot key (for example the `fixed` partitioner); spread keys for
//! throughput.
//!
//! **Aggregation** (`sink.aggregation.enabled`). Records are packed into
//! KPL aggregated records ([`crate::kpl`]), at most `sink.aggregation.max-size`
//! bytes and `sink.aggregation.max-count` records each. Only records bound for
//! the same shard share an aggregated record: the sink reads the open shards'
//! hash key ranges with ListShards, computes each record's hash key (the MD5
//! of its partition key) and packs per shard. An aggregated record is put
//! under its first record's partition key, so Kinesis routes it exactly as
//! that record alone, to the shard it was packed for. PutRecords answers the
//! shard each record landed on; when that is not the shard packed for (the
//! stream was resharded), the sink reads the layout again before packing
//! more, and counts the records that landed outside their shard's range
//! ([`SinkStats::out_of_range_records`]; a de-aggregating reader still
//! delivers them). A record that is too large to aggregate is sent alone.
//! Every count the sink reports (accepted, acknowledged, the watermark,
//! `max-buffered`) is of user records, never of aggregated records.
//!
//! Order per key holds with aggregation too: a key's records go into one
//! aggregated record per request, in order, and a key is in at most one
//! aggregated record in flight; a failed aggregated record's records go back
//! to the front of the buffer and are packed again, ahead of the key's later
//! records.
//!
//! **Failures.** With `sink.fail-on-error = false` (the default) retryable
//! failures are retried until they succeed; with `true` the first failed
//! entry fails the sink. Errors that retrying cannot fix (a missing stream,
//! no permission, a KMS key that is disabled) always fail the sink. A failed
//! sink logs and reports how many records it gave up on; nothing is dropped
//! silently.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::{Partitioner as PartitionerConfig, TableConfig};
use crate::config_limits as limits;
use crate::connect::{self, HttpSettings};
use crate::kpl::{self, AddOutcome, Aggregator};
use crate::retry::{self, Class};
use crate::stream::Target;
use crate::{EncodeError, Record};

/// Why a record or the sink failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkError {
    /// This record was refused (it could not be encoded, its partition key is
    /// empty or over 256 characters, or it is over 1 MiB). Nothing was sent;
    /// the sink carries on.
    Record(String),
    /// The sink failed and stopped; `given_up` records that had been
    /// accepted were not acknowledged by Kinesis.
    Failed { reason: String, given_up: u64 },
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Record(r) => write!(f, "record refused: {r}"),
            SinkError::Failed { reason, given_up } => {
                write!(f, "sink failed: {reason}; {given_up} accepted record(s) were not written")
            }
        }
    }
}

impl std::error::Error for SinkError {}

impl From<EncodeError> for SinkError {
    fn from(e: EncodeError) -> Self {
        SinkError::Record(e.to_string())
    }
}

/// Counters of a sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Records accepted by [`Sink::send`].
    pub accepted: u64,
    /// Records Kinesis acknowledged.
    pub acknowledged: u64,
    /// Bytes (data plus key) of acknowledged records.
    pub acknowledged_bytes: u64,
    /// Records refused by `send` (encoding, key or size errors).
    pub refused: u64,
    /// PutRecords requests made.
    pub requests: u64,
    /// Requests that failed as a whole (and were retried, unless the sink failed).
    pub failed_requests: u64,
    /// Record sends that were retried after a failure.
    pub retried_records: u64,
    /// Records given up on when the sink failed.
    pub given_up: u64,
    /// Aggregated records Kinesis acknowledged (with `sink.aggregation.enabled`).
    pub aggregated_records: u64,
    /// Records acknowledged inside those aggregated records (the rest of
    /// `acknowledged` was sent alone).
    pub aggregated_user_records: u64,
    /// Times the shard layout was read again because records landed on
    /// another shard than they were packed for (the stream was resharded).
    pub layout_refreshes: u64,
    /// Records written inside an aggregated record to a shard whose hash key
    /// range does not hold their partition key's hash (packed for a shard
    /// that was split or merged meanwhile). Not lost: a de-aggregating reader
    /// delivers them with the shard's records, but a reader that filters by
    /// hash key range would skip them. Each is also logged.
    pub out_of_range_records: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    acknowledged: AtomicU64,
    acknowledged_bytes: AtomicU64,
    refused: AtomicU64,
    requests: AtomicU64,
    failed_requests: AtomicU64,
    retried_records: AtomicU64,
    given_up: AtomicU64,
    aggregated_records: AtomicU64,
    aggregated_user_records: AtomicU64,
    layout_refreshes: AtomicU64,
    out_of_range_records: AtomicU64,
}

struct Shared {
    counters: Counters,
    failure: Mutex<Option<String>>,
    /// Every record accepted before this count has been acknowledged.
    acknowledged_through: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn failed(&self) -> Option<SinkError> {
        let reason = self.failure.lock().ok()?.clone()?;
        Some(SinkError::Failed { reason, given_up: self.counters.given_up.load(Ordering::Relaxed) })
    }
}

enum KeySource<R> {
    Random,
    Fixed(Arc<str>),
    Fields,
    Custom(Box<dyn crate::Partitioner<R>>),
}

/// Tunables of the worker, from the table options.
#[derive(Debug, Clone)]
struct Limits {
    batch_records: usize,
    batch_bytes: usize,
    flush_bytes: usize,
    flush_timeout: Duration,
    max_inflight: usize,
    fail_on_error: bool,
    /// `None` without `sink.aggregation.enabled`.
    aggregation: Option<AggLimits>,
}

#[derive(Debug, Clone, Copy)]
struct AggLimits {
    max_bytes: usize,
    max_records: usize,
}

/// A Kinesis sink for records of table `R`.
pub struct Sink<R: Record> {
    tx: Option<mpsc::UnboundedSender<Cmd>>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    worker: Option<tokio::task::JoinHandle<()>>,
    keys: KeySource<R>,
    /// `sink.aggregation.enabled`: `send` computes hash keys.
    aggregating: bool,
    _record: PhantomData<fn(R)>,
}

impl<R: Record> fmt::Debug for Sink<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink").field("table", &R::TABLE_NAME).field("stats", &self.stats()).finish()
    }
}

struct Entry {
    seq: u64,
    data: Blob,
    key: Arc<str>,
    /// The key's Kinesis hash key (with aggregation only; 0 otherwise).
    hash: u128,
    size: usize,
    attempts: u32,
    not_before: Option<Instant>,
    enqueued: Instant,
    _permit: OwnedSemaphorePermit,
}

enum Cmd {
    Put(Entry),
    Flush(oneshot::Sender<Result<(), SinkError>>),
}

impl<R: Record> Sink<R> {
    /// Connects with the table's options (resolving `${ENV}` references now).
    pub async fn connect() -> Result<Self, SinkError> {
        let cfg = R::config().map_err(|e| SinkError::Failed { reason: e.to_string(), given_up: 0 })?;
        if !cfg.connector.is_kinesis() {
            return Err(SinkError::Failed {
                reason: format!("table `{}` uses `connector: {}`, not a Kinesis stream", R::TABLE_NAME, cfg.connector.name()),
                given_up: 0,
            });
        }
        let client = connect::kinesis_client(&cfg, HttpSettings::sink(&cfg), R::custom_credentials())
            .await
            .map_err(|e| SinkError::Failed { reason: e.to_string(), given_up: 0 })?;
        let sink = Self::with_client(client, &cfg);
        // A sink that cannot start (a missing custom partitioner) fails here.
        sink.check()?;
        Ok(sink)
    }

    /// A sink over an existing client. A sink that cannot work (the table
    /// names a custom partitioner that `R` does not supply) is failed from
    /// the start: [`Sink::check`], `send` and `flush` return the reason.
    pub fn with_client(client: Client, cfg: &TableConfig) -> Self {
        let mut unusable = None;
        let keys = match &cfg.sink.partitioner {
            PartitionerConfig::Random => KeySource::Random,
            PartitionerConfig::Fixed => KeySource::Fixed(random_key().into()),
            PartitionerConfig::Fields { .. } => KeySource::Fields,
            PartitionerConfig::Custom { type_path } => match R::custom_partitioner() {
                Some(p) => KeySource::Custom(p),
                None => {
                    // Generated code always supplies it; a hand-written Record
                    // might not. Random keys would break the order per key.
                    unusable = Some(format!(
                        "table `{}` names the custom partitioner `{type_path}`, but its Record type does not supply it \
                         (`Record::custom_partitioner` returned None)",
                        R::TABLE_NAME
                    ));
                    KeySource::Random
                }
            },
        };
        let s = &cfg.sink;
        let limits = Limits {
            batch_records: (s.batch_max_size as usize).clamp(1, limits::PUT_RECORDS_MAX_RECORDS as usize),
            batch_bytes: limits::PUT_RECORDS_MAX_BYTES as usize,
            flush_bytes: (s.flush_buffer_size as usize).max(1),
            flush_timeout: s.flush_buffer_timeout,
            max_inflight: (s.max_inflight as usize).max(1),
            fail_on_error: s.fail_on_error,
            aggregation: s.aggregation.enabled.then(|| AggLimits {
                // The catalogue bounds both; clamp anyway for hand-made configs.
                max_bytes: (s.aggregation.max_size as usize)
                    .clamp(limits::AGGREGATED_RECORD_MIN_BYTES as usize, limits::AGGREGATED_RECORD_MAX_BYTES as usize),
                max_records: (s.aggregation.max_count as usize).max(1),
            }),
        };
        let permits = Arc::new(Semaphore::new((s.max_buffered as usize).clamp(1, Semaphore::MAX_PERMITS)));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            failure: Mutex::new(None),
            acknowledged_through: tokio::sync::watch::Sender::new(0),
        });
        let unusable_from_start = unusable.is_some();
        if let Some(reason) = unusable {
            tracing::error!(table = R::TABLE_NAME, "sink failed: {reason}");
            if let Ok(mut f) = shared.failure.lock() {
                *f = Some(reason);
            }
            permits.close();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let target = Arc::new(Target::new(&cfg.stream));
        let worker = Worker {
            client,
            target,
            limits,
            rx,
            permits: permits.clone(),
            shared: shared.clone(),
            buffer: VecDeque::new(),
            buffered_bytes: 0,
            inflight: JoinSet::new(),
            inflight_keys: HashSet::new(),
            waiters: Vec::new(),
            failed: unusable_from_start,
            stalled: false,
            retry_wake: None,
            task_sizes: std::collections::HashMap::new(),
            open: std::collections::BTreeSet::new(),
            next_received: 0,
            table: R::TABLE_NAME,
            layout: None,
            layout_gen: 0,
            layout_stale: false,
            refresh: None,
            misroutes: Vec::new(),
            freed: false,
            fresh_bytes: 0,
            fresh_records: 0,
            more: false,
        };
        let aggregating = worker.limits.aggregation.is_some();
        Sink { tx: Some(tx), permits, shared, worker: Some(tokio::spawn(worker.run())), keys, aggregating, _record: PhantomData }
    }

    /// Hands a record to the sink. Waits while `sink.requests.max-buffered`
    /// records are unacknowledged. A [`SinkError::Record`] refuses only this
    /// record; a [`SinkError::Failed`] means the sink has stopped.
    pub async fn send(&mut self, record: &R) -> Result<(), SinkError> {
        if let Some(e) = self.shared.failed() {
            return Err(e);
        }
        let refuse = |shared: &Shared, e: SinkError| {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            Err(e)
        };
        let data = match record.encode() {
            Ok(d) => d,
            Err(e) => return refuse(&self.shared, e.into()),
        };
        let key: Arc<str> = match &self.keys {
            KeySource::Random => random_key().into(),
            KeySource::Fixed(k) => k.clone(),
            KeySource::Fields => match record.partition_key() {
                Ok(Some(k)) => k.into(),
                Ok(None) => return refuse(&self.shared, SinkError::Record("the table has no partition key columns".into())),
                Err(e) => return refuse(&self.shared, e.into()),
            },
            KeySource::Custom(p) => match crate::codec::key::check_partition_key(p.partition_key(record)) {
                Ok(k) => k.into(),
                Err(e) => return refuse(&self.shared, e.into()),
            },
        };
        let size = data.len() + key.len();
        if size > limits::RECORD_MAX_BYTES {
            return refuse(
                &self.shared,
                SinkError::Record(format!(
                    "the record is {size} bytes with its partition key; Kinesis accepts at most {} (it is never truncated)",
                    limits::RECORD_MAX_BYTES
                )),
            );
        }
        let hash = if self.aggregating {
            // Data that starts with the KPL magic is always sent inside an
            // aggregated record (a reader would take it for one), which must fit.
            let wrapped = kpl::aggregated_size(&key, None, data.len()) + key.len();
            if kpl::is_aggregated(&data) && wrapped > limits::RECORD_MAX_BYTES {
                return refuse(
                    &self.shared,
                    SinkError::Record(format!(
                        "the record's data starts with the KPL aggregation magic bytes, so with aggregation it is sent inside an \
                         aggregated record, which would be {wrapped} bytes with its partition key; Kinesis accepts at most {}",
                        limits::RECORD_MAX_BYTES
                    )),
                );
            }
            kpl::hash_key(&key)
        } else {
            0
        };
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return Err(self.failed_now()),
        };
        let seq = self.shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let entry =
            Entry { seq, data: Blob::new(data), key, hash, size, attempts: 0, not_before: None, enqueued: Instant::now(), _permit: permit };
        match &self.tx {
            Some(tx) if tx.send(Cmd::Put(entry)).is_ok() => Ok(()),
            _ => {
                self.shared.counters.accepted.fetch_sub(1, Ordering::Relaxed);
                Err(self.failed_now())
            }
        }
    }

    fn failed_now(&self) -> SinkError {
        self.shared.failed().unwrap_or(SinkError::Failed { reason: "the sink is closed".into(), given_up: 0 })
    }

    /// Returns once every record accepted so far has been acknowledged.
    pub async fn flush(&mut self) -> Result<(), SinkError> {
        let (tx, rx) = oneshot::channel();
        match &self.tx {
            Some(t) if t.send(Cmd::Flush(tx)).is_ok() => {}
            _ => return Err(self.failed_now()),
        }
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(self.failed_now()),
        }
    }

    /// Flushes, then stops the worker.
    pub async fn close(mut self) -> Result<SinkStats, SinkError> {
        let flushed = self.flush().await;
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.await;
        }
        flushed.map(|_| self.stats())
    }

    /// Stops the worker at once, abandoning the records it holds (they are
    /// not acknowledged), and returns the counters. For a shutdown that ran
    /// out of time; [`Sink::close`] is the orderly way.
    pub fn abort(mut self) -> SinkStats {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            w.abort();
        }
        self.stats()
    }

    /// `Err` once the sink has failed (what `send` and `flush` would return).
    pub fn check(&self) -> Result<(), SinkError> {
        match self.shared.failed() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// How many records were accepted so far: the next record is number
    /// `accepted()`. With [`Sink::acknowledgements`] this tells when a given
    /// record was acknowledged.
    pub fn accepted(&self) -> u64 {
        self.shared.counters.accepted.load(Ordering::Relaxed)
    }

    /// Watches the count of leading records acknowledged: when it reads `n`,
    /// every record numbered below `n` was written (acknowledgements can
    /// come out of order across keys; this is the contiguous prefix).
    pub fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.acknowledged_through.subscribe()
    }

    /// The counters so far.
    pub fn stats(&self) -> SinkStats {
        let c = &self.shared.counters;
        SinkStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            acknowledged: c.acknowledged.load(Ordering::Relaxed),
            acknowledged_bytes: c.acknowledged_bytes.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            failed_requests: c.failed_requests.load(Ordering::Relaxed),
            retried_records: c.retried_records.load(Ordering::Relaxed),
            given_up: c.given_up.load(Ordering::Relaxed),
            aggregated_records: c.aggregated_records.load(Ordering::Relaxed),
            aggregated_user_records: c.aggregated_user_records.load(Ordering::Relaxed),
            layout_refreshes: c.layout_refreshes.load(Ordering::Relaxed),
            out_of_range_records: c.out_of_range_records.load(Ordering::Relaxed),
        }
    }
}

impl<R: Record> Drop for Sink<R> {
    fn drop(&mut self) {
        // Dropping without `close` still lets the worker finish what it holds;
        // say so, since nobody will hear about the outcome.
        self.tx = None;
        let s = self.stats();
        let open = s.accepted.saturating_sub(s.acknowledged + s.given_up);
        if self.worker.is_some() && open > 0 {
            tracing::warn!(
                table = R::TABLE_NAME,
                "sink dropped without close() with {open} record(s) not yet acknowledged; still sending them"
            );
        }
    }
}

fn random_key() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// One Kinesis record of a PutRecords request: a user record sent alone, or
/// an aggregated record of several.
struct Unit {
    /// The user records it carries, in order.
    entries: Vec<Entry>,
    /// The aggregated record's data; `None` for a record sent alone (its own
    /// data is sent).
    aggregated: Option<Blob>,
    /// Whether it is an aggregated record (stays set after the data is sent).
    is_aggregate: bool,
    /// The partition key it is put under: its first record's.
    key: Arc<str>,
    /// The shard it was packed for (with aggregation, when the layout knew one).
    shard: Option<Arc<str>>,
}

impl Unit {
    fn alone(e: Entry, shard: Option<Arc<str>>) -> Unit {
        Unit { key: e.key.clone(), entries: vec![e], aggregated: None, is_aggregate: false, shard }
    }

    fn records(&self) -> usize {
        self.entries.len()
    }
}

fn records_of(units: &[Unit]) -> usize {
    units.iter().map(Unit::records).sum()
}

fn entries_of(units: Vec<Unit>) -> Vec<Entry> {
    units.into_iter().flat_map(|u| u.entries).collect()
}

/// A request's units, its outcome, how it failed, and the layout generation it was packed with.
type Sent = (Vec<Unit>, Result<PutRecordsOutput, String>, Class, u64);

/// The open shards' hash key ranges, and the ranges of every shard listed.
#[derive(Debug, Default)]
struct Layout {
    /// `(starting hash key, ending hash key, shard id)`, sorted by start.
    open: Vec<(u128, u128, Arc<str>)>,
    /// Every shard ListShards returned, open or closed.
    all: HashMap<Arc<str>, (u128, u128)>,
}

impl Layout {
    /// Builds the layout from ListShards' shards. An open shard whose child
    /// is also listed as open (the moment of a split or merge) is left out.
    fn new(shards: Vec<ListedShard>) -> Layout {
        let parents: HashSet<&str> = shards.iter().filter(|s| s.open).flat_map(|s| s.parents.iter().map(String::as_str)).collect();
        let mut open: Vec<(u128, u128, Arc<str>)> =
            shards.iter().filter(|s| s.open && !parents.contains(&*s.id)).map(|s| (s.start, s.end, s.id.clone())).collect();
        open.sort_by_key(|s| s.0);
        let all = shards.iter().map(|s| (s.id.clone(), (s.start, s.end))).collect();
        Layout { open, all }
    }

    /// The index in `open` of the shard whose range holds `hash`.
    fn shard_of(&self, hash: u128) -> Option<usize> {
        let i = self.open.partition_point(|s| s.0 <= hash).checked_sub(1)?;
        (hash <= self.open[i].1).then_some(i)
    }
}

/// One shard as ListShards returned it.
struct ListedShard {
    id: Arc<str>,
    start: u128,
    end: u128,
    open: bool,
    parents: Vec<String>,
}

/// Lists the stream's shards, retrying retryable errors with the sink's
/// backoff (or failing at once with `fail_on_error`).
async fn list_shards(client: Client, target: Arc<Target>, fail_on_error: bool) -> Result<Layout, String> {
    let listed = crate::stream::list_shards(&client, &target, |class, why, attempt| {
        let reason = format!("ListShards failed: {why}");
        if class == Class::Fatal || fail_on_error {
            return Err(reason);
        }
        tracing::warn!(stream = target.name(), "{reason}; retrying");
        Ok(retry::delay(&retry::SINK_BACKOFF, attempt))
    })
    .await?;
    let mut shards = Vec::with_capacity(listed.len());
    for s in listed {
        let Some((start, end)) = s.range else {
            // Its records are sent alone (never aggregated), so nothing depends on it.
            tracing::warn!(stream = target.name(), shard = s.id, "ListShards gave no usable hash key range for a shard");
            continue;
        };
        shards.push(ListedShard { id: s.id.into(), start, end, open: s.open, parents: s.parents });
    }
    Ok(Layout::new(shards))
}

/// An aggregated record being packed for one shard.
struct Building {
    agg: Aggregator,
    entries: Vec<Entry>,
    /// Where each entry was in the buffer.
    places: Vec<usize>,
    keys: HashSet<Arc<str>>,
    /// It holds a record past the flush timeout, or one being retried.
    due: bool,
}

impl Building {
    /// Whether it is worth sending before a flush: at its record limit, or
    /// within 1/16 of its size limit.
    fn is_full(&self, a: AggLimits) -> bool {
        self.agg.len() >= a.max_records || self.agg.size_bytes() >= a.max_bytes - a.max_bytes / 16
    }

    /// The unit to send: a lone record goes alone, unless its data looks
    /// like an aggregated record.
    fn finish(mut self, shard: Arc<str>) -> Unit {
        let key = self.entries[0].key.clone();
        if self.entries.len() == 1 && !kpl::is_aggregated(self.entries[0].data.as_ref()) {
            return Unit { key, entries: self.entries, aggregated: None, is_aggregate: false, shard: Some(shard) };
        }
        let data = self.agg.finish().map(|out| Blob::new(out.data));
        Unit { key, is_aggregate: data.is_some(), aggregated: data, entries: self.entries, shard: Some(shard) }
    }
}

struct Worker {
    client: Client,
    target: Arc<Target>,
    limits: Limits,
    rx: mpsc::UnboundedReceiver<Cmd>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    buffer: VecDeque<Entry>,
    buffered_bytes: usize,
    inflight: JoinSet<Sent>,
    inflight_keys: HashSet<Arc<str>>,
    waiters: Vec<oneshot::Sender<Result<(), SinkError>>>,
    failed: bool,
    /// The buffer holds nothing sendable (every key is in flight or backing
    /// off): no timer until a response, a new key or a backoff's end.
    stalled: bool,
    /// The earliest end of a retry backoff among requeued records.
    retry_wake: Option<Instant>,
    /// Records per PutRecords task, to count them if a task dies.
    task_sizes: std::collections::HashMap<tokio::task::Id, u64>,
    /// Accepted records not yet acknowledged, by number.
    open: std::collections::BTreeSet<u64>,
    /// One past the last record number received.
    next_received: u64,
    table: &'static str,
    // ---- aggregation only
    /// The shard layout records are packed by; `None` until first read.
    layout: Option<Arc<Layout>>,
    /// Incremented with every layout read; requests remember the one they were packed with.
    layout_gen: u64,
    /// Records landed on another shard than packed for: read the layout again before packing more.
    layout_stale: bool,
    /// The ListShards task under way.
    refresh: Option<tokio::task::JoinHandle<Result<Layout, String>>>,
    /// Aggregated records that landed on a shard the current layout does not
    /// know yet: (shard, hash keys of their records), judged after the next read.
    misroutes: Vec<(Arc<str>, Vec<u128>)>,
    /// A response freed keys since the last packing.
    freed: bool,
    /// Bytes and records received since the last packing.
    fresh_bytes: usize,
    fresh_records: usize,
    /// The last packing stopped at a request limit with more to send.
    more: bool,
}

impl Worker {
    async fn run(mut self) {
        let mut open = true;
        if self.limits.aggregation.is_some() {
            self.start_refresh();
        }
        loop {
            let wake = self.next_wake();
            tokio::select! {
                cmd = self.rx.recv(), if open => match cmd {
                    Some(Cmd::Put(e)) => {
                        if self.failed {
                            self.give_up(1);
                        } else {
                            self.receive(e);
                        }
                    }
                    Some(Cmd::Flush(w)) => {
                        self.stalled = false;
                        self.waiters.push(w);
                    }
                    None => open = false,
                },
                Some(done) = self.inflight.join_next_with_id(), if !self.inflight.is_empty() => {
                    self.stalled = false;
                    self.freed = true;
                    match done {
                        Ok((id, sent)) => {
                            self.task_sizes.remove(&id);
                            self.complete(sent);
                        }
                        Err(e) => {
                            let lost = self.task_sizes.remove(&e.id()).unwrap_or(0);
                            self.fail(format!("a PutRecords task failed: {e}"), lost);
                        }
                    }
                },
                listed = join_refresh(&mut self.refresh), if self.refresh.is_some() => {
                    self.refresh = None;
                    self.stalled = false;
                    match listed {
                        Ok(Ok(layout)) => self.install_layout(layout),
                        Ok(Err(reason)) => self.fail(reason, 0),
                        Err(e) => self.fail(format!("the ListShards task failed: {e}"), 0),
                    }
                },
                _ = sleep_until(wake), if wake.is_some() => {
                    self.stalled = false;
                    if self.retry_wake.is_some_and(|w| w <= Instant::now()) {
                        self.refresh_retry_wake();
                    }
                }
            }
            if !self.failed {
                self.dispatch();
            }
            self.answer_waiters();
            if !open && self.inflight.is_empty() && (self.buffer.is_empty() || self.failed) {
                if let Some(r) = self.refresh.take() {
                    r.abort();
                }
                return;
            }
        }
    }

    fn receive(&mut self, e: Entry) {
        match self.limits.aggregation {
            // Without aggregation a new key is worth a look at once; with
            // it, new records are packed when enough arrived to fill
            // aggregated records (or a flush condition holds).
            None if !self.inflight_keys.contains(&e.key) => self.stalled = false,
            None => {}
            Some(a) => {
                self.fresh_bytes += e.size;
                self.fresh_records += 1;
                if self.fresh_enough(a) {
                    self.stalled = false;
                }
            }
        }
        self.open.insert(e.seq);
        self.next_received = e.seq + 1;
        self.buffered_bytes += e.size;
        self.buffer.push_back(e);
    }

    /// Whether enough records arrived since the last packing to fill about
    /// one aggregated record per shard.
    fn fresh_enough(&self, a: AggLimits) -> bool {
        let shards = self.layout.as_ref().map_or(1, |l| l.open.len().max(1));
        self.fresh_bytes >= a.max_bytes.saturating_mul(shards) || self.fresh_records >= a.max_records.saturating_mul(shards)
    }

    /// Whether packing must wait for the shard layout.
    fn awaiting_layout(&self) -> bool {
        self.limits.aggregation.is_some() && (self.layout.is_none() || self.layout_stale)
    }

    /// When a timer must wake the worker: the flush timeout of the oldest
    /// record, or the end of a retry backoff. Never a time already past
    /// while nothing can be sent (that would spin).
    fn next_wake(&self) -> Option<Instant> {
        if self.failed || self.inflight.len() >= self.limits.max_inflight || self.awaiting_layout() {
            return None;
        }
        let front = self.buffer.front()?;
        let flush = front.enqueued + self.limits.flush_timeout;
        // With aggregation, packing while stalled only held back partly
        // filled aggregated records: the flush timeout still sends them.
        if self.stalled && (self.limits.aggregation.is_none() || flush <= Instant::now()) {
            return self.retry_wake;
        }
        Some(self.retry_wake.map_or(flush, |r| r.min(flush)))
    }

    /// Recomputes the earliest pending backoff end (requeued records sit at the front).
    fn refresh_retry_wake(&mut self) {
        let now = Instant::now();
        self.retry_wake = self.buffer.iter().take_while(|e| e.attempts > 0).filter_map(|e| e.not_before).filter(|nb| *nb > now).min();
    }

    /// Whether to pack a batch now: `Some(true)` when everything sendable
    /// must go (a flush condition holds), `Some(false)` when only full
    /// aggregated records should (with aggregation), `None` not at all.
    fn should_send(&self, now: Instant) -> Option<bool> {
        let front = self.buffer.front()?;
        let due = !self.waiters.is_empty()
            || self.buffered_bytes >= self.limits.flush_bytes
            || front.attempts > 0
            || now >= front.enqueued + self.limits.flush_timeout;
        match self.limits.aggregation {
            None => (due || self.buffer.len() >= self.limits.batch_records).then_some(true),
            // flush() waits, the flush size is reached, or no more records
            // can come and no response will free room: everything goes.
            Some(_)
                if !self.waiters.is_empty()
                    || self.buffered_bytes >= self.limits.flush_bytes
                    || (self.permits.available_permits() == 0 && self.inflight.is_empty()) =>
            {
                Some(true)
            }
            // A record is due (its timeout, or a retry), keys were freed, or
            // enough arrived to fill aggregated records: full aggregated
            // records go, and those holding a due record.
            Some(a) => (due || self.freed || self.more || self.fresh_enough(a)).then_some(false),
        }
    }

    fn dispatch(&mut self) {
        if self.stalled || self.awaiting_layout() {
            return;
        }
        let now = Instant::now();
        while self.inflight.len() < self.limits.max_inflight
            && let Some(flush) = self.should_send(now)
        {
            let batch = match self.limits.aggregation {
                None => self.assemble(now),
                Some(a) => {
                    let batch = self.assemble_aggregated(now, a, flush);
                    self.freed = false;
                    self.fresh_bytes = 0;
                    self.fresh_records = 0;
                    batch
                }
            };
            if batch.is_empty() {
                self.stalled = true;
                break;
            }
            self.spawn(batch);
        }
    }

    /// Takes the next batch: in buffer order, at most one record per key,
    /// skipping keys that are in flight or still backing off.
    fn assemble(&mut self, now: Instant) -> Vec<Unit> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut skipped = Vec::new();
        let mut blocked: HashSet<Arc<str>> = HashSet::new();
        while let Some(e) = self.buffer.pop_front() {
            let waiting = e.not_before.is_some_and(|nb| nb > now);
            if waiting || self.inflight_keys.contains(&e.key) || blocked.contains(&e.key) {
                blocked.insert(e.key.clone());
                skipped.push(e);
                continue;
            }
            if batch.len() >= self.limits.batch_records || bytes + e.size > self.limits.batch_bytes {
                self.buffer.push_front(e);
                break;
            }
            bytes += e.size;
            blocked.insert(e.key.clone());
            batch.push(Unit::alone(e, None));
        }
        for e in skipped.into_iter().rev() {
            self.buffer.push_front(e);
        }
        self.buffered_bytes -= bytes;
        batch
    }

    /// Takes the next batch with aggregation: in buffer order, records are
    /// packed into one aggregated record per shard (a full one is finished
    /// and a new one started). A key's records go into one aggregated record
    /// per batch: once that one is finished, or while the key is in flight
    /// or backing off, its later records wait. Records too large to
    /// aggregate, or on no known shard, are sent alone. Unless `flush`, only
    /// aggregated records that are full or hold a due record (past the flush
    /// timeout, or a retry) are sent; the records of the others stay where
    /// they were in the buffer.
    fn assemble_aggregated(&mut self, now: Instant, a: AggLimits, flush: bool) -> Vec<Unit> {
        self.more = false;
        let Some(layout) = self.layout.clone() else { return Vec::new() };
        let mut units: Vec<Unit> = Vec::new();
        let mut building: HashMap<usize, Building> = HashMap::new();
        // Bytes of the request so far (data and partition keys), finished and building.
        let mut bytes = 0;
        let mut taken = 0;
        // Records left in the buffer, with their place in it.
        let mut skipped: Vec<(usize, Entry)> = Vec::new();
        let mut blocked: HashSet<Arc<str>> = HashSet::new();
        let mut place = 0;
        while let Some(e) = self.buffer.pop_front() {
            place += 1;
            let waiting = e.not_before.is_some_and(|nb| nb > now);
            if waiting || self.inflight_keys.contains(&e.key) || blocked.contains(&e.key) {
                blocked.insert(e.key.clone());
                skipped.push((place, e));
                continue;
            }
            // What this record adds at most: alone, with its own partition key.
            let alone = kpl::aggregated_size(&e.key, None, e.data.as_ref().len());
            if bytes + alone + e.key.len() > self.limits.batch_bytes {
                self.buffer.push_front(e);
                self.more = true;
                break;
            }
            let shard = layout.shard_of(e.hash);
            let pack = shard.filter(|_| alone <= a.max_bytes);
            if let Some(si) = pack
                && let Some(b) = building.get_mut(&si)
            {
                let before = b.agg.size_bytes();
                match b.agg.add(&e.key, None, e.data.as_ref()) {
                    AddOutcome::Added => {
                        bytes += b.agg.size_bytes() - before;
                        taken += e.size;
                        b.keys.insert(e.key.clone());
                        b.due |= e.attempts > 0 || e.enqueued + self.limits.flush_timeout <= now;
                        b.places.push(place);
                        b.entries.push(e);
                        continue;
                    }
                    // Cannot be too large (checked above); finish it either way.
                    AddOutcome::Full | AddOutcome::TooLarge { .. } => {
                        if let Some(full) = building.remove(&si) {
                            blocked.extend(full.keys.iter().cloned());
                            units.push(full.finish(layout.open[si].2.clone()));
                        }
                        if blocked.contains(&e.key) {
                            skipped.push((place, e));
                            continue;
                        }
                    }
                }
            }
            // A new unit: a new aggregated record, or a record alone.
            if units.len() + building.len() >= self.limits.batch_records {
                self.buffer.push_front(e);
                self.more = true;
                break;
            }
            // A record sent alone must not overtake its key's records in this shard's aggregated record.
            if pack.is_none()
                && let Some(b) = shard.and_then(|si| building.get(&si))
                && b.keys.contains(&e.key)
            {
                blocked.insert(e.key.clone());
                skipped.push((place, e));
                continue;
            }
            taken += e.size;
            let shard_id = shard.map(|si| layout.open[si].2.clone());
            match pack {
                Some(si) => {
                    let mut b = Building {
                        agg: Aggregator::new(a.max_bytes, a.max_records),
                        entries: Vec::new(),
                        places: Vec::new(),
                        keys: HashSet::new(),
                        due: e.attempts > 0 || e.enqueued + self.limits.flush_timeout <= now,
                    };
                    if b.agg.add(&e.key, None, e.data.as_ref()) == AddOutcome::Added {
                        bytes += b.agg.size_bytes() + e.key.len();
                        b.keys.insert(e.key.clone());
                        b.places.push(place);
                        b.entries.push(e);
                        building.insert(si, b);
                    } else {
                        bytes += e.size;
                        blocked.insert(e.key.clone());
                        units.push(Unit::alone(e, shard_id));
                    }
                }
                None => {
                    blocked.insert(e.key.clone());
                    let unit = alone_unit(e, shard_id);
                    bytes += unit.aggregated.as_ref().map_or(unit.entries[0].data.as_ref().len(), |d| d.as_ref().len()) + unit.key.len();
                    units.push(unit);
                }
            }
        }
        let mut rest: Vec<(usize, Building)> = building.into_iter().collect();
        rest.sort_by_key(|(si, _)| *si);
        let mut held_back = false;
        for (si, b) in rest {
            if flush || b.due || b.is_full(a) {
                units.push(b.finish(layout.open[si].2.clone()));
            } else {
                held_back = true;
                for (place, e) in b.places.into_iter().zip(b.entries) {
                    taken -= e.size;
                    skipped.push((place, e));
                }
            }
        }
        if held_back {
            skipped.sort_by_key(|(place, _)| *place);
        }
        for (_, e) in skipped.into_iter().rev() {
            self.buffer.push_front(e);
        }
        self.buffered_bytes -= taken;
        units
    }

    fn spawn(&mut self, mut batch: Vec<Unit>) {
        for u in &batch {
            for e in &u.entries {
                self.inflight_keys.insert(e.key.clone());
            }
        }
        self.shared.counters.requests.fetch_add(1, Ordering::Relaxed);
        let records: Vec<PutRecordsRequestEntry> = batch
            .iter_mut()
            .map(|u| {
                let data = u.aggregated.take().unwrap_or_else(|| u.entries[0].data.clone());
                PutRecordsRequestEntry::builder().data(data).partition_key(&*u.key).build().expect("data and partition key are set")
            })
            .collect();
        let req = self.client.put_records().set_records(Some(records));
        let by_arn = self.target.arn().is_some();
        let req = match self.target.arn() {
            Some(arn) => req.stream_arn(arn),
            None => req.stream_name(self.target.name()),
        };
        let target = self.target.clone();
        let n = records_of(&batch) as u64;
        let generation = self.layout_gen;
        let handle = self.inflight.spawn(async move {
            match req.send().await {
                Ok(out) => (batch, Ok(out), Class::Transient, generation),
                // Resent by name right away: not a failure of the records.
                Err(e) if target.refused_arn(&e, by_arn) => (batch, Err(retry::describe(&e)), Class::Retarget, generation),
                Err(e) => {
                    let class = retry::classify(&e);
                    (batch, Err(retry::describe(&e)), class, generation)
                }
            }
        });
        self.task_sizes.insert(handle.id(), n);
    }

    fn complete(&mut self, (batch, result, class, generation): Sent) {
        for u in &batch {
            for e in &u.entries {
                self.inflight_keys.remove(&e.key);
            }
        }
        let out = match result {
            Ok(out) => out,
            Err(_) if class == Class::Retarget && self.failed => {
                self.give_up(records_of(&batch) as u64);
                return;
            }
            Err(_) if class == Class::Retarget => {
                self.requeue_now(entries_of(batch));
                return;
            }
            Err(reason) => {
                self.shared.counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                if class == Class::Fatal || self.limits.fail_on_error || self.failed {
                    let n = records_of(&batch) as u64;
                    self.fail(format!("PutRecords failed: {reason}"), n);
                } else {
                    tracing::warn!(table = self.table, records = records_of(&batch), "PutRecords failed, retrying: {reason}");
                    self.requeue(entries_of(batch));
                }
                return;
            }
        };
        let results = out.records();
        let c = &self.shared.counters;
        if results.len() != batch.len() {
            // We cannot tell which entries were written: resend them all
            // (duplicates are possible, loss is not).
            tracing::warn!(
                table = self.table,
                "PutRecords answered {} results for {} records; resending the batch",
                results.len(),
                batch.len()
            );
            c.failed_requests.fetch_add(1, Ordering::Relaxed);
            if self.limits.fail_on_error || self.failed {
                let n = records_of(&batch) as u64;
                self.fail("PutRecords returned a malformed response".into(), n);
            } else {
                self.requeue(entries_of(batch));
            }
            return;
        }
        let mut failed = Vec::new();
        let mut fatal: Option<String> = None;
        let mut first_error = None;
        for (u, r) in batch.into_iter().zip(results) {
            // An entry with neither an error nor a sequence number is not an acknowledgement.
            let code = r.error_code().or(if r.sequence_number().is_none() { Some("MissingSequenceNumber") } else { None });
            match code {
                Some(code) => {
                    let message = r.error_message().unwrap_or("");
                    let msg = format!("{code}: {message}");
                    if code.starts_with("KMS") && !retry::is_throttling_code(code) {
                        fatal.get_or_insert(msg.clone());
                    }
                    if self.limits.aggregation.is_some() && names_a_gone_shard(code, message) && generation == self.layout_gen {
                        self.mark_stale(&format!("a write failed with `{msg}`"));
                    }
                    first_error.get_or_insert(msg);
                    failed.extend(u.entries);
                }
                None => {
                    let n = u.records() as u64;
                    let c = &self.shared.counters;
                    if u.is_aggregate {
                        c.aggregated_records.fetch_add(1, Ordering::Relaxed);
                        c.aggregated_user_records.fetch_add(n, Ordering::Relaxed);
                    }
                    if let (Some(packed), Some(landed)) = (&u.shard, r.shard_id())
                        && **packed != *landed
                    {
                        self.landed_elsewhere(generation, packed, landed, &u.entries);
                    }
                    let c = &self.shared.counters;
                    for e in &u.entries {
                        self.open.remove(&e.seq);
                        c.acknowledged_bytes.fetch_add(e.size as u64, Ordering::Relaxed);
                    }
                    c.acknowledged.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        let through = self.open.first().copied().unwrap_or(self.next_received);
        self.shared.acknowledged_through.send_if_modified(|w| {
            let changed = *w != through;
            *w = through;
            changed
        });
        if failed.is_empty() {
            return;
        }
        let reason = fatal.clone().or(first_error).unwrap_or_default();
        if fatal.is_some() || self.limits.fail_on_error || self.failed {
            let n = failed.len() as u64;
            self.fail(format!("{n} record(s) failed in PutRecords: {reason}"), n);
        } else {
            tracing::debug!(table = self.table, records = failed.len(), "PutRecords entries failed, retrying: {reason}");
            self.requeue(failed);
        }
    }

    /// A unit packed for shard `packed` was written to shard `landed`: the
    /// layout changed. Reads it again (unless a newer one is in use) and
    /// counts the records outside `landed`'s range once its range is known.
    fn landed_elsewhere(&mut self, generation: u64, packed: &str, landed: &str, entries: &[Entry]) {
        let known = self.layout.as_ref().is_some_and(|l| l.all.contains_key(landed));
        if generation == self.layout_gen || !known {
            self.mark_stale(&format!("a record packed for shard {packed} was written to shard {landed}"));
        }
        let hashes = entries.iter().map(|e| e.hash).collect();
        self.misroutes.push((landed.into(), hashes));
        if !self.layout_stale {
            self.judge_misroutes();
        }
    }

    fn mark_stale(&mut self, why: &str) {
        if !self.layout_stale {
            tracing::info!(
                table = self.table,
                stream = self.target.name(),
                "{why}: the shards changed; reading them again before packing more"
            );
            self.layout_stale = true;
        }
        self.start_refresh();
    }

    fn start_refresh(&mut self) {
        if self.refresh.is_none() {
            let task = list_shards(self.client.clone(), self.target.clone(), self.limits.fail_on_error);
            self.refresh = Some(tokio::spawn(task));
        }
    }

    fn install_layout(&mut self, layout: Layout) {
        if self.layout.is_some() {
            self.shared.counters.layout_refreshes.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(table = self.table, open_shards = layout.open.len(), "shard layout read");
        self.layout = Some(Arc::new(layout));
        self.layout_gen += 1;
        self.layout_stale = false;
        self.judge_misroutes();
    }

    /// Counts the records of aggregated records that landed on a shard whose
    /// range does not hold their hash key (the layout knows every range now).
    fn judge_misroutes(&mut self) {
        let Some(layout) = self.layout.clone() else { return };
        for (landed, hashes) in std::mem::take(&mut self.misroutes) {
            let outside = match layout.all.get(&landed) {
                Some(&(start, end)) => hashes.iter().filter(|h| **h < start || **h > end).count(),
                // A shard ListShards does not list: its range is unknown, count them all.
                None => hashes.len(),
            };
            if outside > 0 {
                self.shared.counters.out_of_range_records.fetch_add(outside as u64, Ordering::Relaxed);
                tracing::warn!(
                    table = self.table,
                    shard = &*landed,
                    records = outside,
                    "records were written inside an aggregated record to a shard whose hash key range does not hold their keys (the \
                     shards changed while they were in flight); a de-aggregating reader delivers them with that shard's records"
                );
            }
        }
    }

    /// Puts failed entries back at the front, in their original order, with backoff.
    fn requeue(&mut self, mut entries: Vec<Entry>) {
        let now = Instant::now();
        entries.sort_by_key(|e| e.seq);
        self.shared.counters.retried_records.fetch_add(entries.len() as u64, Ordering::Relaxed);
        for mut e in entries.into_iter().rev() {
            let nb = now + retry::delay(&retry::SINK_BACKOFF, e.attempts);
            self.retry_wake = Some(self.retry_wake.map_or(nb, |w| w.min(nb)));
            e.not_before = Some(nb);
            e.attempts = e.attempts.saturating_add(1);
            self.buffered_bytes += e.size;
            self.buffer.push_front(e);
        }
    }

    /// Puts entries back at the front, in order, to be sent again at once.
    fn requeue_now(&mut self, mut entries: Vec<Entry>) {
        entries.sort_by_key(|e| e.seq);
        for e in entries.into_iter().rev() {
            self.buffered_bytes += e.size;
            self.buffer.push_front(e);
        }
    }

    fn give_up(&mut self, n: u64) {
        self.shared.counters.given_up.fetch_add(n, Ordering::Relaxed);
    }

    /// Fails the sink: everything not yet acknowledged is given up on and counted.
    fn fail(&mut self, reason: String, lost_now: u64) {
        self.give_up(lost_now);
        if !self.failed {
            self.failed = true;
            let buffered = self.buffer.len() as u64;
            self.buffer.clear();
            self.buffered_bytes = 0;
            self.give_up(buffered);
            if let Some(r) = self.refresh.take() {
                r.abort();
            }
            if let Ok(mut f) = self.shared.failure.lock() {
                *f = Some(reason.clone());
            }
            self.permits.close();
            tracing::error!(table = self.table, "sink failed: {reason}");
        }
    }

    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        if self.failed {
            if !self.inflight.is_empty() {
                return;
            }
            let err = self.shared.failed().unwrap_or(SinkError::Failed { reason: "failed".into(), given_up: 0 });
            tracing::error!(table = self.table, "{err}");
            for w in self.waiters.drain(..) {
                let _ = w.send(Err(err.clone()));
            }
        } else if self.buffer.is_empty() && self.inflight.is_empty() && self.rx.is_empty() {
            for w in self.waiters.drain(..) {
                let _ = w.send(Ok(()));
            }
        }
    }
}

/// A record sent alone with aggregation on: as it is, unless its data starts
/// with the KPL magic (a reader would take it for an aggregated record); then
/// inside an aggregated record of its own (`send` checked that it fits).
fn alone_unit(e: Entry, shard: Option<Arc<str>>) -> Unit {
    if !kpl::is_aggregated(e.data.as_ref()) {
        return Unit::alone(e, shard);
    }
    let mut agg = Aggregator::new(limits::RECORD_MAX_BYTES.saturating_sub(e.key.len()), 1);
    let data = match agg.add(&e.key, None, e.data.as_ref()) {
        AddOutcome::Added => agg.finish().map(|out| Blob::new(out.data)),
        _ => None,
    };
    if data.is_none() {
        tracing::error!(key = %crate::codec::echo(&e.key), "a record starting with the KPL magic does not fit an aggregated record; sending it as it is");
    }
    Unit { key: e.key.clone(), is_aggregate: data.is_some(), aggregated: data, entries: vec![e], shard }
}

/// Whether a failed PutRecords entry says the shard it went to is closed or
/// gone (then the layout is read again).
fn names_a_gone_shard(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == "ResourceNotFoundException"
        || (m.contains("shard") && (m.contains("closed") || m.contains("not found") || m.contains("does not exist")))
}

/// Waits for the ListShards task, if there is one.
async fn join_refresh(
    task: &mut Option<tokio::task::JoinHandle<Result<Layout, String>>>,
) -> Result<Result<Layout, String>, tokio::task::JoinError> {
    match task {
        Some(t) => t.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
