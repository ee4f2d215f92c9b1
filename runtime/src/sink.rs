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
//! **Failures.** With `sink.fail-on-error = false` (the default) retryable
//! failures are retried until they succeed; with `true` the first failed
//! entry fails the sink. Errors that retrying cannot fix (a missing stream,
//! no permission, a KMS key that is disabled) always fail the sink. A failed
//! sink logs and reports how many records it gave up on; nothing is dropped
//! silently.

use std::collections::{HashSet, VecDeque};
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
}

/// A Kinesis sink for records of table `R`.
pub struct Sink<R: Record> {
    tx: Option<mpsc::UnboundedSender<Cmd>>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    worker: Option<tokio::task::JoinHandle<()>>,
    keys: KeySource<R>,
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
        Ok(Self::with_client(client, &cfg))
    }

    /// A sink over an existing client.
    pub fn with_client(client: Client, cfg: &TableConfig) -> Self {
        let keys = match &cfg.sink.partitioner {
            PartitionerConfig::Random => KeySource::Random,
            PartitionerConfig::Fixed => KeySource::Fixed(random_key().into()),
            PartitionerConfig::Fields { .. } => KeySource::Fields,
            PartitionerConfig::Custom { type_path } => match R::custom_partitioner() {
                Some(p) => KeySource::Custom(p),
                None => {
                    // Generated code always supplies it; a hand-written Record might not.
                    tracing::error!(table = R::TABLE_NAME, "custom partitioner `{type_path}` was not supplied; using random keys");
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
        };
        let permits = Arc::new(Semaphore::new((s.max_buffered as usize).clamp(1, Semaphore::MAX_PERMITS)));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            failure: Mutex::new(None),
            acknowledged_through: tokio::sync::watch::Sender::new(0),
        });
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
            failed: false,
            stalled: false,
            retry_wake: None,
            task_sizes: std::collections::HashMap::new(),
            open: std::collections::BTreeSet::new(),
            next_received: 0,
            table: R::TABLE_NAME,
        };
        Sink { tx: Some(tx), permits, shared, worker: Some(tokio::spawn(worker.run())), keys, _record: PhantomData }
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
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return Err(self.failed_now()),
        };
        let seq = self.shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let entry =
            Entry { seq, data: Blob::new(data), key, size, attempts: 0, not_before: None, enqueued: Instant::now(), _permit: permit };
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

type Sent = (Vec<Entry>, Result<PutRecordsOutput, String>, Class);

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
}

impl Worker {
    async fn run(mut self) {
        let mut open = true;
        loop {
            let wake = self.next_wake();
            tokio::select! {
                cmd = self.rx.recv(), if open => match cmd {
                    Some(Cmd::Put(e)) => {
                        if self.failed {
                            self.give_up(1);
                        } else {
                            if !self.inflight_keys.contains(&e.key) {
                                self.stalled = false;
                            }
                            self.open.insert(e.seq);
                            self.next_received = e.seq + 1;
                            self.buffered_bytes += e.size;
                            self.buffer.push_back(e);
                        }
                    }
                    Some(Cmd::Flush(w)) => self.waiters.push(w),
                    None => open = false,
                },
                Some(done) = self.inflight.join_next_with_id(), if !self.inflight.is_empty() => {
                    self.stalled = false;
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
                return;
            }
        }
    }

    /// When a timer must wake the worker: the flush timeout of the oldest
    /// record, or the end of a retry backoff. Never a time already past
    /// while nothing can be sent (that would spin).
    fn next_wake(&self) -> Option<Instant> {
        if self.failed || self.inflight.len() >= self.limits.max_inflight {
            return None;
        }
        if self.stalled {
            return self.retry_wake;
        }
        let front = self.buffer.front()?;
        let flush = front.enqueued + self.limits.flush_timeout;
        Some(self.retry_wake.map_or(flush, |r| r.min(flush)))
    }

    /// Recomputes the earliest pending backoff end (requeued records sit at the front).
    fn refresh_retry_wake(&mut self) {
        let now = Instant::now();
        self.retry_wake = self.buffer.iter().take_while(|e| e.attempts > 0).filter_map(|e| e.not_before).filter(|nb| *nb > now).min();
    }

    fn should_send(&self, now: Instant) -> bool {
        let Some(front) = self.buffer.front() else { return false };
        !self.waiters.is_empty()
            || self.buffer.len() >= self.limits.batch_records
            || self.buffered_bytes >= self.limits.flush_bytes
            || front.attempts > 0
            || now >= front.enqueued + self.limits.flush_timeout
    }

    fn dispatch(&mut self) {
        if self.stalled {
            return;
        }
        let now = Instant::now();
        while self.inflight.len() < self.limits.max_inflight && self.should_send(now) {
            let batch = self.assemble(now);
            if batch.is_empty() {
                self.stalled = true;
                break;
            }
            self.spawn(batch);
        }
    }

    /// Takes the next batch: in buffer order, at most one record per key,
    /// skipping keys that are in flight or still backing off.
    fn assemble(&mut self, now: Instant) -> Vec<Entry> {
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
            batch.push(e);
        }
        for e in skipped.into_iter().rev() {
            self.buffer.push_front(e);
        }
        self.buffered_bytes -= bytes;
        batch
    }

    fn spawn(&mut self, batch: Vec<Entry>) {
        for e in &batch {
            self.inflight_keys.insert(e.key.clone());
        }
        self.shared.counters.requests.fetch_add(1, Ordering::Relaxed);
        let records: Vec<PutRecordsRequestEntry> = batch
            .iter()
            .map(|e| {
                PutRecordsRequestEntry::builder()
                    .data(e.data.clone())
                    .partition_key(&*e.key)
                    .build()
                    .expect("data and partition key are set")
            })
            .collect();
        let req = self.client.put_records().set_records(Some(records));
        let by_arn = self.target.arn().is_some();
        let req = match self.target.arn() {
            Some(arn) => req.stream_arn(arn),
            None => req.stream_name(self.target.name()),
        };
        let target = self.target.clone();
        let n = batch.len() as u64;
        let handle = self.inflight.spawn(async move {
            match req.send().await {
                Ok(out) => (batch, Ok(out), Class::Transient),
                // Resent by name right away: not a failure of the records.
                Err(e) if target.refused_arn(&e, by_arn) => (batch, Err(retry::describe(&e)), Class::Retarget),
                Err(e) => {
                    let class = retry::classify(&e);
                    (batch, Err(retry::describe(&e)), class)
                }
            }
        });
        self.task_sizes.insert(handle.id(), n);
    }

    fn complete(&mut self, (batch, result, class): Sent) {
        for e in &batch {
            self.inflight_keys.remove(&e.key);
        }
        let c = &self.shared.counters;
        let out = match result {
            Ok(out) => out,
            Err(_) if class == Class::Retarget && self.failed => {
                self.give_up(batch.len() as u64);
                return;
            }
            Err(_) if class == Class::Retarget => {
                self.requeue_now(batch);
                return;
            }
            Err(reason) => {
                c.failed_requests.fetch_add(1, Ordering::Relaxed);
                if class == Class::Fatal || self.limits.fail_on_error || self.failed {
                    let n = batch.len() as u64;
                    self.fail(format!("PutRecords failed: {reason}"), n);
                } else {
                    tracing::warn!(table = self.table, records = batch.len(), "PutRecords failed, retrying: {reason}");
                    self.requeue(batch);
                }
                return;
            }
        };
        let results = out.records();
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
                let n = batch.len() as u64;
                self.fail("PutRecords returned a malformed response".into(), n);
            } else {
                self.requeue(batch);
            }
            return;
        }
        let mut failed = Vec::new();
        let mut fatal: Option<String> = None;
        let mut first_error = None;
        for (e, r) in batch.into_iter().zip(results) {
            // An entry with neither an error nor a sequence number is not an acknowledgement.
            let code = r.error_code().or(if r.sequence_number().is_none() { Some("MissingSequenceNumber") } else { None });
            match code {
                Some(code) => {
                    let msg = format!("{code}: {}", r.error_message().unwrap_or(""));
                    if code.starts_with("KMS") && !retry::is_throttling_code(code) {
                        fatal.get_or_insert(msg.clone());
                    }
                    first_error.get_or_insert(msg);
                    failed.push(e);
                }
                None => {
                    self.open.remove(&e.seq);
                    c.acknowledged.fetch_add(1, Ordering::Relaxed);
                    c.acknowledged_bytes.fetch_add(e.size as u64, Ordering::Relaxed);
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

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
