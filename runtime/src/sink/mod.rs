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
//! time. Records wait in a queue per key; a request takes the oldest record
//! of every key that is free (across all the keys held, whichever source
//! batch or shard they came from). Failed entries (throttled, internal
//! failure, a failed request) go back to the front of their key's queue and
//! are retried with backoff, and the key's later records wait behind them, so a key's records reach the shard
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
//! to the front of their keys' queues and are packed again, ahead of the key's later
//! records.
//!
//! **Failures.** With `sink.fail-on-error = false` (the default) retryable
//! failures are retried until they succeed; with `true` the first failed
//! entry fails the sink. Errors that retrying cannot fix (a missing stream,
//! no permission, a KMS key that is disabled) always fail the sink. A failed
//! sink logs and reports how many records it gave up on; nothing is dropped
//! silently.
//!
//! Layout: [`core`](self) is the pure state machine (per-key gating, request
//! assembly, answers and retries, driven by an explicit clock), `pack` the
//! aggregation packing per shard, `layout` the shard hash key ranges,
//! `request` the plain data they share, `worker` the only code that calls
//! Kinesis, and this module the public handle.

mod core;
mod layout;
mod pack;
mod request;
mod stats;
mod worker;

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use aws_sdk_kinesis::Client;
use tokio::sync::{Semaphore, mpsc, oneshot};

use self::core::Core;
use self::request::{AggLimits, Entry, Limits};
pub use self::stats::SinkStats;
use self::worker::{Cmd, Shared, Worker};
use crate::config::{Partitioner as PartitionerConfig, TableConfig};
use crate::config_limits as limits;
use crate::connect::{self, HttpSettings};
use crate::kpl;
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

enum KeySource<R> {
    Random,
    Fixed(Arc<str>),
    Fields,
    Custom(Box<dyn crate::Partitioner<R>>),
}

/// Whether records of a source shard may still be written (see [`Sink::fence_origins`]).
pub type OriginFence = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A Kinesis sink for records of table `R`.
pub struct Sink<R: Record> {
    tx: Option<mpsc::UnboundedSender<Cmd>>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    worker: Option<tokio::task::JoinHandle<()>>,
    keys: KeySource<R>,
    /// `sink.aggregation.enabled`: `send` computes hash keys.
    aggregating: bool,
    /// [`Sink::fence_origins`] was called.
    fenced: bool,
    _record: PhantomData<fn(R)>,
}

impl<R: Record> fmt::Debug for Sink<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink").field("table", &R::TABLE_NAME).field("stats", &self.stats()).finish()
    }
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
        let limits = limits_of(cfg);
        let permits = Arc::new(Semaphore::new(limits.max_buffered));
        let shared = Arc::new(Shared::new());
        let aggregating = limits.aggregation.is_some();
        let mut core = Core::new(limits, shared.counters.clone(), R::TABLE_NAME);
        core.fence = shared.fence.clone();
        if let Some(reason) = unusable {
            tracing::error!(table = R::TABLE_NAME, "sink failed: {reason}");
            if let Ok(mut f) = shared.failure.lock() {
                *f = Some(reason.clone());
            }
            permits.close();
            core.failed_from_start(reason);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let target = Arc::new(Target::new(&cfg.stream));
        let worker = Worker::new(client, target, core, rx, permits.clone(), shared.clone(), R::TABLE_NAME);
        Sink {
            tx: Some(tx),
            permits,
            shared,
            worker: Some(tokio::spawn(worker.run())),
            keys,
            aggregating,
            fenced: false,
            _record: PhantomData,
        }
    }

    /// Hands a record to the sink. Waits while `sink.requests.max-buffered`
    /// records are unacknowledged. A [`SinkError::Record`] refuses only this
    /// record; a [`SinkError::Failed`] means the sink has stopped.
    pub async fn send(&mut self, record: &R) -> Result<(), SinkError> {
        self.send_tagged(record, None).await
    }

    /// [`Sink::send`], noting the source shard the record came from:
    /// [`Sink::acknowledged_by_origin`] then tells, per source shard, how
    /// many of the records sent from it are acknowledged (for a source that
    /// commits per shard).
    pub async fn send_from(&mut self, record: &R, origin: Arc<str>) -> Result<(), SinkError> {
        self.send_tagged(record, Some(origin)).await
    }

    /// Fences source shards: `usable(shard)` says whether records sent from
    /// `shard` ([`Sink::send_from`]) may still be written. Once it says no
    /// (the shard's lease was lost), the sink starts no new PutRecords for
    /// that shard's records — queued ones are dropped and counted as
    /// [`SinkStats::fenced`] — while requests already sent finish.
    pub fn fence_origins(&mut self, usable: OriginFence) {
        if let Ok(mut f) = self.shared.fence.lock() {
            *f = Some(usable);
            self.fenced = true;
        }
    }

    /// Whether [`Sink::fence_origins`] was called: records are then worth
    /// sending with [`Sink::send_from`].
    pub fn is_fenced(&self) -> bool {
        self.fenced
    }

    async fn send_tagged(&mut self, record: &R, origin: Option<Arc<str>>) -> Result<(), SinkError> {
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
        let entry = Entry {
            seq,
            data,
            key,
            hash,
            size,
            origin: origin.map(|o| (o, 0)),
            attempts: 0,
            not_before: None,
            enqueued: Instant::now(),
            _permit: permit,
        };
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
        self.shared.counters.snapshot()
    }

    /// Per source shard named by [`Sink::send_from`]: how many of the records
    /// sent from it, in the order sent, were acknowledged as a prefix (every
    /// one of its first `n` records is written).
    pub fn acknowledged_by_origin(&self) -> BTreeMap<Arc<str>, u64> {
        match self.shared.by_origin.lock() {
            Ok(by) => by.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => BTreeMap::new(),
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

/// The core's tunables from the table options.
fn limits_of(cfg: &TableConfig) -> Limits {
    let s = &cfg.sink;
    Limits {
        batch_records: (s.batch_max_size as usize).clamp(1, limits::PUT_RECORDS_MAX_RECORDS as usize),
        batch_bytes: limits::PUT_RECORDS_MAX_BYTES as usize,
        flush_bytes: (s.flush_buffer_size as usize).max(1),
        flush_timeout: s.flush_buffer_timeout,
        max_inflight: (s.max_inflight as usize).max(1),
        max_buffered: (s.max_buffered as usize).clamp(1, Semaphore::MAX_PERMITS),
        fail_on_error: s.fail_on_error,
        aggregation: s.aggregation.enabled.then(|| AggLimits {
            // The catalogue bounds both; clamp anyway for hand-made configs.
            max_bytes: (s.aggregation.max_size as usize)
                .clamp(limits::AGGREGATED_RECORD_MIN_BYTES as usize, limits::AGGREGATED_RECORD_MAX_BYTES as usize),
            max_records: (s.aggregation.max_count as usize).max(1),
        }),
    }
}
