//! The Kinesis source: polling (GetRecords) or enhanced fan-out (EFO).
//!
//! One task per shard reads with GetShardIterator/GetRecords — or, with
//! `source.reader.type: EFO`, with SubscribeToShard (see [`crate::efo`]) — and
//! decodes records into the table's type (with its metadata columns) in
//! parallel, both through one function ([`deliver`]); a discovery task lists
//! shards every `source.shard.discovery.interval`. The
//! [`Source`] hands batches out in order per shard and reads a shard's
//! children only once the shard itself has been read to its end.
//!
//! **Delivery** is at least once. A batch's position is committed only after
//! it (and every earlier batch of its shard) has been [acknowledged](Source::ack);
//! a background task writes the checkpoint at most every commit interval, so
//! after a crash a shard repeats at most the records acknowledged within one
//! commit interval. A shard that was read to its end and fully acknowledged
//! is recorded as finished and never read again.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::checkpoint::{Checkpoint, CheckpointStore, MemoryCheckpointStore, ShardPosition};
use crate::config::{Backoff, FormatConfig, ReaderType, StartPosition, TableConfig};
use crate::connect::{self, HttpSettings};
use crate::efo;
use crate::kpl;
use crate::policy::OnDataLoss;
use crate::retry::{self, Class};
use crate::stream::Target;
use crate::{DecodeErrorKind, Metadata, Record};

/// Why the source stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceError {
    /// The configuration or the connection could not be set up.
    Setup(String),
    /// A record could not be decoded and the format's `ignore-parse-errors` is off.
    BadRecord { shard_id: String, sequence_number: String, error: String },
    /// A Kinesis call failed and retrying could not fix it.
    Kinesis(String),
    /// The checkpoint could not be read or written.
    Checkpoint(String),
    /// A checkpointed position fell out of the stream's retention: records
    /// after it may be gone unread (`--on-data-loss continue` goes on).
    DataLoss { shard_id: String, position: String, reason: String },
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Setup(m) => write!(f, "source setup failed: {m}"),
            SourceError::BadRecord { shard_id, sequence_number, error } => {
                write!(f, "record {sequence_number} of shard {shard_id} cannot be decoded: {error}")
            }
            SourceError::Kinesis(m) => write!(f, "Kinesis error: {m}"),
            SourceError::Checkpoint(m) => write!(f, "checkpoint error: {m}"),
            SourceError::DataLoss { shard_id, position, reason } => write!(
                f,
                "data loss on shard {shard_id} after position {position}: {reason}; \
                 to accept the loss and go on, restart with --on-data-loss continue"
            ),
        }
    }
}

impl std::error::Error for SourceError {}

/// Records read from one shard by one GetRecords call.
#[derive(Debug)]
pub struct Batch<R> {
    pub shard_id: Arc<str>,
    pub records: Vec<R>,
    /// How far the shard's reader is behind the tip of the shard.
    pub millis_behind_latest: Option<i64>,
    /// Give this back to [`Source::ack`] once the records are safely processed.
    pub ack: Ack,
    /// Where each record came from, by index into `records`.
    origins: Origins,
}

impl<R> Batch<R> {
    /// The Kinesis position of record `i` of the batch: its sequence number
    /// and, for a sub-record of a KPL-aggregated record, its sub-sequence
    /// number. `None` when `i` is out of range.
    pub fn origin(&self, i: usize) -> Option<RecordOrigin<'_>> {
        self.origins.get(i)
    }
}

/// Where one record of a [`Batch`] was read: for messages that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOrigin<'a> {
    pub sequence_number: &'a str,
    pub sub_sequence_number: Option<u64>,
}

/// The origins of a batch's records: the sequence numbers of the read they
/// came from (shared by the batches of one read) and, per record, an index
/// into them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    sequence_numbers: Arc<[String]>,
    of: Vec<Origin>,
}

impl Origins {
    fn get(&self, i: usize) -> Option<RecordOrigin<'_>> {
        let o = self.of.get(i)?;
        Some(RecordOrigin {
            sequence_number: self.sequence_numbers.get(o.raw as usize).map(String::as_str).unwrap_or(""),
            sub_sequence_number: o.sub.map(|(k, _)| k as u64),
        })
    }
}

/// Acknowledges one [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    shard_id: Arc<str>,
    batch: u64,
}

/// Counters of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    pub records: u64,
    pub bytes: u64,
    pub batches: u64,
    /// Records that failed to decode and were skipped (`ignore-parse-errors`).
    pub skipped_bad_records: u64,
    /// CSV comment lines skipped (`csv.allow-comments`).
    pub skipped_comments: u64,
    pub get_records_calls: u64,
    pub throttled: u64,
    pub transient_errors: u64,
    pub expired_iterators: u64,
    pub checkpoints_written: u64,
    /// EFO: SubscribeToShard subscriptions that delivered their first event.
    pub subscriptions: u64,
    /// EFO: subscriptions renewed after one ended (expiry, a cut connection, an error).
    pub resubscriptions: u64,
    /// EFO: subscriptions dropped because no event came within `source.efo.subscription.timeout`.
    pub subscription_timeouts: u64,
    /// KPL-aggregated Kinesis records read (each delivered as its sub-records).
    pub aggregated_records: u64,
    /// User records unpacked from aggregated records.
    pub sub_records: u64,
    /// Records that start with the KPL magic but fail its checks (digest,
    /// protobuf, indexes): delivered whole as plain records, as the KPL defines.
    pub corrupt_aggregates: u64,
    /// Sub-records whose hash key lies outside the hash range of the shard
    /// they were read from (written before a reshard, or packed without
    /// regard to shards). Delivered, never dropped; KCL drops them silently.
    pub out_of_range_sub_records: u64,
    /// Positions found to have fallen out of the stream's retention (a
    /// checkpointed shard gone, or a checkpointed record trimmed), each a
    /// loss of data that `--on-data-loss continue` let the source go past.
    pub data_loss: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    /// MillisBehindLatest of each shard's latest GetRecords.
    lag: std::sync::Mutex<BTreeMap<String, i64>>,
    records: AtomicU64,
    bytes: AtomicU64,
    batches: AtomicU64,
    skipped_bad_records: AtomicU64,
    skipped_comments: AtomicU64,
    pub(crate) get_records_calls: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) transient_errors: AtomicU64,
    expired_iterators: AtomicU64,
    checkpoints_written: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    pub(crate) resubscriptions: AtomicU64,
    pub(crate) subscription_timeouts: AtomicU64,
    aggregated_records: AtomicU64,
    sub_records: AtomicU64,
    corrupt_aggregates: AtomicU64,
    out_of_range_sub_records: AtomicU64,
    data_loss: AtomicU64,
    /// Hash-key ranges of the shards, from ListShards.
    ranges: std::sync::Mutex<std::collections::HashMap<String, (u128, u128)>>,
}

/// Builds a [`Source`].
pub struct SourceBuilder<R: Record> {
    client: Option<Client>,
    config: Option<TableConfig>,
    store: Option<Arc<dyn CheckpointStore>>,
    commit_interval: Duration,
    on_data_loss: OnDataLoss,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R: Record> SourceBuilder<R> {
    /// What to do when a checkpointed position fell out of the stream's
    /// retention (default: fail).
    pub fn on_data_loss(mut self, policy: OnDataLoss) -> Self {
        self.on_data_loss = policy;
        self
    }
    /// Use this client instead of one built from the options.
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }
    /// Use this configuration instead of `R::config()`.
    pub fn config(mut self, config: TableConfig) -> Self {
        self.config = Some(config);
        self
    }
    /// Where checkpoints go (default: in memory, so a restart starts over).
    pub fn checkpoints(mut self, store: impl CheckpointStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }
    /// The longest time between checkpoint writes (default 1 s). It bounds
    /// the records repeated after a crash.
    pub fn commit_interval(mut self, interval: Duration) -> Self {
        self.commit_interval = interval;
        self
    }

    /// Loads the checkpoint and starts discovery and the shard readers.
    pub async fn start(self) -> Result<Source<R>, SourceError> {
        let cfg = match self.config {
            Some(c) => c,
            None => R::config().map_err(|e| SourceError::Setup(e.to_string()))?.into_owned(),
        };
        if !cfg.connector.is_kinesis() {
            return Err(SourceError::Setup(format!(
                "table `{}` uses `connector: {}`, not a Kinesis stream",
                R::TABLE_NAME,
                cfg.connector.name()
            )));
        }
        let client = match self.client {
            Some(c) => c,
            None => connect::kinesis_client(&cfg, HttpSettings::source(&cfg), R::custom_credentials())
                .await
                .map_err(|e| SourceError::Setup(e.to_string()))?,
        };
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryCheckpointStore::default()));
        let target = Arc::new(Target::new(&cfg.stream));
        let described = describe_stream(&client, &target, &cfg.source.describe_stream_retry).await?;
        let stream_id = target.id().to_owned();
        let mut checkpoint = match store.load().await.map_err(|e| SourceError::Checkpoint(e.0))? {
            Some(cp) if cp.stream != stream_id => {
                return Err(SourceError::Checkpoint(format!(
                    "the checkpoint belongs to stream `{}`, not `{stream_id}`; use another checkpoint location",
                    cp.stream
                )));
            }
            Some(cp) => cp,
            None => Checkpoint { stream: stream_id, ..Checkpoint::default() },
        };
        match (checkpoint.stream_created_millis, described.created_millis) {
            (Some(saved), Some(now)) if saved != now => {
                return Err(SourceError::Checkpoint(format!(
                    "stream `{}` was created at {}, but the checkpoint is of a stream of that name created at {}: \
                     the stream was deleted and recreated, and the checkpoint's positions do not apply to it \
                     (its shard ids start over). To read the new stream from the table's start position, \
                     delete or move the checkpoint, or use another checkpoint location",
                    target.id(),
                    millis_text(now),
                    millis_text(saved)
                )));
            }
            (None, Some(now)) => checkpoint.stream_created_millis = Some(now),
            _ => {}
        }
        let first_start = checkpoint.shards.is_empty() && checkpoint.pinned_start_millis.is_none();
        if cfg.source.start == StartPosition::Latest && checkpoint.pinned_start_millis.is_none() {
            // Pin LATEST now, durably, so a restart reads from here rather than from its own "now".
            checkpoint.pinned_start_millis = Some(chrono::Utc::now().timestamp_millis());
            store.save(checkpoint.clone()).await.map_err(|e| SourceError::Checkpoint(e.0))?;
        }
        // EFO: find or register the consumer last, once everything that can
        // fail for other reasons has been checked, so a failed start leaves no
        // consumer behind.
        let efo = match cfg.source.reader {
            ReaderType::Efo => {
                let stream_arn = match (cfg.stream.arn(), described.arn) {
                    (Some(arn), _) => arn.to_owned(),
                    (None, Some(arn)) => arn,
                    (None, None) => {
                        return Err(SourceError::Setup(format!(
                            "EFO needs the ARN of stream `{}`, and DescribeStreamSummary did not return it",
                            target.name()
                        )));
                    }
                };
                Some(Arc::new(efo::Efo::setup(&client, &cfg, R::TABLE_NAME, stream_arn, target.name()).await?))
            }
            ReaderType::Polling => None,
        };
        let resumed = checkpoint.shards.keys().cloned().collect();
        let counters = Arc::new(Counters::default());
        let (cp_tx, cp_rx) = watch::channel(checkpoint.clone());
        let committer = tokio::spawn(commit_loop(store.clone(), cp_rx, self.commit_interval, counters.clone()));
        let (tx, rx) = mpsc::channel(16);
        let rediscover = Arc::new(tokio::sync::Notify::new());
        let discovery = tokio::spawn(discovery_loop(
            client.clone(),
            target.clone(),
            cfg.source.shard_discovery_interval,
            cfg.source.list_shards_retry,
            tx.clone(),
            rediscover.clone(),
        ));
        Ok(Source {
            client,
            cfg: Arc::new(cfg),
            target,
            tx,
            rx,
            shards: BTreeMap::new(),
            checkpoint,
            cp_tx,
            committer: Some(committer),
            discovery,
            rediscover,
            counters,
            efo,
            closed: Arc::new(std::sync::Mutex::new(std::collections::HashSet::new())),
            first_listing: true,
            first_start,
            resumed,
            pruned: std::collections::HashSet::new(),
            store,
            retention_millis: described.retention_hours.map(|h| i64::from(h) * 3_600_000),
            on_data_loss: self.on_data_loss,
            failed: None,
        })
    }
}

/// A shard as listed.
#[derive(Debug, Clone)]
pub(crate) struct ShardInfo {
    id: String,
    parents: Vec<String>,
    /// The shard's hash-key range.
    range: Option<(u128, u128)>,
}

/// What shard readers (polling or EFO) and discovery tell the [`Source`].
pub(crate) enum Event<R> {
    Listed(Vec<ShardInfo>),
    /// The shard's reader has its first iterator: records from here on are read.
    Positioned {
        shard: Arc<str>,
    },
    Batch {
        shard: Arc<str>,
        records: Vec<R>,
        origins: Origins,
        /// The position of the batch's last record (or skipped record).
        last: Option<Pos>,
        millis_behind: Option<i64>,
    },
    End {
        shard: Arc<str>,
    },
    /// A read found no new records and the reader at the tip of the shard:
    /// every record that arrived before `at_millis` has been read.
    Tip {
        shard: Arc<str>,
        at_millis: i64,
    },
    Failed(SourceError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Waiting for its parents to be read to their end.
    Waiting,
    /// Getting its first shard iterator.
    Starting,
    Reading,
    /// Read to its end; waiting for acknowledgements.
    Ended,
    /// Read to its end and fully acknowledged (or finished in an earlier run).
    Finished,
}

struct ShardState {
    parents: Vec<String>,
    status: Status,
    /// Discovered after this run's first listing: starts at TRIM_HORIZON.
    late: bool,
    next_batch: u64,
    /// Delivered batches not yet committed: (batch number, last sequence number, acknowledged).
    pending: VecDeque<(u64, Option<Pos>, bool)>,
    /// An acknowledged position held back until every parent is committed
    /// as finished, so that a restart never reads a child ahead of a parent.
    held: Option<Pos>,
    reader: Option<JoinHandle<()>>,
}

/// A source of records of table `R` (polling or EFO).
pub struct Source<R: Record> {
    client: Client,
    cfg: Arc<TableConfig>,
    target: Arc<Target>,
    tx: mpsc::Sender<Event<R>>,
    rx: mpsc::Receiver<Event<R>>,
    shards: BTreeMap<String, ShardState>,
    checkpoint: Checkpoint,
    cp_tx: watch::Sender<Checkpoint>,
    committer: Option<JoinHandle<Result<(), SourceError>>>,
    discovery: JoinHandle<()>,
    rediscover: Arc<tokio::sync::Notify>,
    counters: Arc<Counters>,
    /// The EFO consumer, when reading with enhanced fan-out.
    efo: Option<Arc<efo::Efo>>,
    /// Shards known to be closed (some listed shard names them as parent).
    closed: efo::ClosedShards,
    first_listing: bool,
    first_start: bool,
    /// Shards that had a position in the checkpoint loaded at startup.
    resumed: std::collections::HashSet<String>,
    /// Finished shards dropped from the checkpoint and the maps once all
    /// their children were past their first checkpoint; never read again.
    pruned: std::collections::HashSet<String>,
    /// The checkpoint store, held until the source is closed: a file store's
    /// lock must outlive the deregistration of a JOB_MANAGED EFO consumer, or
    /// a new process could take over the consumer that is being deregistered.
    store: Arc<dyn CheckpointStore>,
    /// The stream's retention period, when DescribeStreamSummary gave it.
    retention_millis: Option<i64>,
    on_data_loss: OnDataLoss,
    failed: Option<SourceError>,
}

impl<R: Record> fmt::Debug for Source<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("table", &R::TABLE_NAME)
            .field("stream", &self.target.id())
            .field("shards", &self.shard_status())
            .field("stats", &self.stats())
            .finish()
    }
}

impl<R: Record> Source<R> {
    pub fn builder() -> SourceBuilder<R> {
        SourceBuilder {
            client: None,
            config: None,
            store: None,
            commit_interval: Duration::from_secs(1),
            on_data_loss: OnDataLoss::Fail,
            _r: std::marker::PhantomData,
        }
    }

    /// The next batch. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Result<Batch<R>, SourceError> {
        loop {
            if let Some(e) = &self.failed {
                return Err(e.clone());
            }
            if let Some(c) = self.committer.as_mut()
                && c.is_finished()
            {
                // The commit loop ends only with an error while the source is
                // open. The handle is cleared only once its result is in hand,
                // so a cancelled `next` cannot lose it.
                let result = c.await;
                self.committer = None;
                let e = match result {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => SourceError::Checkpoint("the checkpoint writer stopped".into()),
                    Err(e) => SourceError::Checkpoint(format!("the checkpoint writer failed: {e}")),
                };
                tracing::error!(table = R::TABLE_NAME, "{e}");
                self.failed = Some(e);
                continue;
            }
            // The source holds a sender itself, so the channel never closes.
            let Some(event) = self.rx.recv().await else {
                return Err(SourceError::Kinesis("the source's channel closed".into()));
            };
            match event {
                Event::Listed(list) => self.on_listed(list),
                Event::Batch { shard, records, origins, last, millis_behind } => {
                    let Some(state) = self.shards.get_mut(&*shard) else { continue };
                    let n = state.next_batch;
                    state.next_batch += 1;
                    state.pending.push_back((n, last, false));
                    let ack = Ack { shard_id: shard.clone(), batch: n };
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    if records.is_empty() {
                        // Only skipped records: nothing to process, but the position moves on.
                        self.ack(ack);
                        continue;
                    }
                    return Ok(Batch { shard_id: shard, records, millis_behind_latest: millis_behind, ack, origins });
                }
                Event::End { shard } => self.on_end(&shard),
                Event::Tip { shard, at_millis } => self.on_tip(&shard, at_millis),
                Event::Positioned { shard } => {
                    if let Some(s) = self.shards.get_mut(&*shard)
                        && s.status == Status::Starting
                    {
                        s.status = Status::Reading;
                    }
                }
                Event::Failed(e) => {
                    tracing::error!(table = R::TABLE_NAME, "{e}");
                    self.failed = Some(e);
                }
            }
        }
    }

    /// Acknowledges a batch: its records may now be committed.
    pub fn ack(&mut self, ack: Ack) {
        let Some(state) = self.shards.get_mut(&*ack.shard_id) else { return };
        if let Some(p) = state.pending.iter_mut().find(|p| p.0 == ack.batch) {
            p.2 = true;
        }
        let mut position = None;
        while state.pending.front().is_some_and(|p| p.2) {
            if let Some((_, Some(seq), _)) = state.pending.pop_front() {
                position = Some(seq);
            }
        }
        let moved = position.is_some();
        if let Some(pos) = position {
            state.held = Some(pos);
        }
        let finished = state.status == Status::Ended && state.pending.is_empty();
        if finished {
            state.status = Status::Finished;
        }
        // The common case, a position moving inside a shard whose parents are
        // done, touches only this shard; a shard finishing may release others.
        let changed = if finished { self.settle() } else { moved && self.settle_one(&ack.shard_id) };
        if changed {
            self.cp_tx.send_replace(self.checkpoint.clone());
        }
    }

    /// [`Source::settle`] for one shard whose position moved: commits it if
    /// its parents are committed as finished, then prunes those parents if
    /// this was the last child to reach its first checkpoint.
    fn settle_one(&mut self, id: &str) -> bool {
        let Some(state) = self.shards.get(id) else { return false };
        if state.held.is_none() || !self.parents_committed(state) {
            return false;
        }
        let parents = state.parents.clone();
        let first = !self.checkpoint.shards.contains_key(id);
        self.commit_held(id);
        if first {
            self.prune(&parents);
        }
        true
    }

    /// Moves what was acknowledged into the checkpoint, parents first: a
    /// shard's position, and its finished mark, are committed only once every
    /// parent is committed as finished (or gone from the listing). Then prunes.
    /// Returns whether the checkpoint changed.
    fn settle(&mut self) -> bool {
        let mut changed = false;
        loop {
            let ready: Vec<String> = self
                .shards
                .iter()
                .filter(|(id, s)| {
                    let unsettled = s.held.is_some()
                        || (s.status == Status::Finished && self.checkpoint.shards.get(*id) != Some(&ShardPosition::Finished));
                    unsettled && self.parents_committed(s)
                })
                .map(|(id, _)| id.clone())
                .collect();
            if ready.is_empty() {
                break;
            }
            for id in ready {
                self.commit_held(&id);
                if self.shards.get(&id).is_some_and(|s| s.status == Status::Finished) {
                    self.checkpoint.shards.insert(id, ShardPosition::Finished);
                }
                changed = true;
            }
        }
        let all: Vec<String> = self.shards.keys().cloned().collect();
        changed | self.prune(&all)
    }

    /// Moves shard `id`'s held position, if any, into the checkpoint.
    fn commit_held(&mut self, id: &str) {
        if let Some(Pos { sequence_number, sub, arrival_millis }) = self.shards.get_mut(id).and_then(|s| s.held.take()) {
            let position = ShardPosition::After { sequence_number, sub_sequence_number: sub, arrival_millis };
            self.checkpoint.shards.insert(id.to_owned(), position);
        }
    }

    /// Whether every parent of a shard is committed as finished.
    fn parents_committed(&self, state: &ShardState) -> bool {
        state.parents.iter().all(|p| self.committed_finished(p))
    }

    /// Whether shard `id` is committed as finished: marked so in the
    /// checkpoint, pruned, or no longer listed (trimmed; a trimmed shard with
    /// an unfinished position is reported as data loss when listed).
    fn committed_finished(&self, id: &str) -> bool {
        self.pruned.contains(id) || !self.shards.contains_key(id) || self.checkpoint.shards.get(id) == Some(&ShardPosition::Finished)
    }

    /// Drops finished shards whose children are all past their first
    /// checkpoint (as the KCL cleans up its leases), from the checkpoint and
    /// from the source's maps, so neither grows with every reshard. A restart
    /// treats a listed shard missing from the checkpoint, with a descendant
    /// in it, as finished.
    fn prune(&mut self, candidates: &[String]) -> bool {
        let prunable: Vec<String> = candidates
            .iter()
            .filter_map(|id| self.shards.get_key_value(id))
            .filter(|(id, _)| self.checkpoint.shards.get(*id) == Some(&ShardPosition::Finished))
            .filter(|(id, _)| {
                let mut children = self.shards.iter().filter(|(_, c)| c.parents.iter().any(|p| p == *id)).peekable();
                children.peek().is_some() && children.all(|(cid, _)| self.checkpoint.shards.contains_key(cid))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &prunable {
            self.checkpoint.shards.remove(id);
            self.shards.remove(id);
            if let Ok(mut lag) = self.counters.lag.lock() {
                lag.remove(id);
            }
            if let Ok(mut ranges) = self.counters.ranges.lock() {
                ranges.remove(id);
            }
            tracing::debug!(table = R::TABLE_NAME, shard = %id, "pruned a finished shard from the checkpoint");
            self.pruned.insert(id.clone());
        }
        !prunable.is_empty()
    }

    /// A reader at the tip of its shard: once nothing of the shard waits for
    /// acknowledgement, its checkpointed position is known current as of
    /// `at_millis` (refreshed at most once a minute, so a quiet shard's
    /// position does not look older than the retention period).
    fn on_tip(&mut self, shard: &str, at_millis: i64) {
        let Some(state) = self.shards.get(shard) else { return };
        if !state.pending.is_empty() || state.held.is_some() {
            return;
        }
        if let Some(ShardPosition::After { arrival_millis, .. }) = self.checkpoint.shards.get_mut(shard)
            && arrival_millis.is_none_or(|a| a < at_millis - 60_000)
        {
            *arrival_millis = Some(at_millis);
            self.cp_tx.send_replace(self.checkpoint.clone());
        }
    }

    /// A position that fell out of retention: fail (the default), or log,
    /// count and go on. Returns whether to go on.
    fn data_loss(&mut self, shard_id: &str, position: &str, reason: String) -> bool {
        let e = SourceError::DataLoss { shard_id: shard_id.to_owned(), position: position.to_owned(), reason };
        tracing::error!(table = R::TABLE_NAME, shard = shard_id, "{e}");
        match self.on_data_loss {
            OnDataLoss::Fail => {
                self.failed = Some(e);
                false
            }
            OnDataLoss::Continue => {
                self.counters.data_loss.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SourceStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SourceStats {
            records: l(&c.records),
            bytes: l(&c.bytes),
            batches: l(&c.batches),
            skipped_bad_records: l(&c.skipped_bad_records),
            skipped_comments: l(&c.skipped_comments),
            get_records_calls: l(&c.get_records_calls),
            throttled: l(&c.throttled),
            transient_errors: l(&c.transient_errors),
            expired_iterators: l(&c.expired_iterators),
            checkpoints_written: l(&c.checkpoints_written),
            subscriptions: l(&c.subscriptions),
            resubscriptions: l(&c.resubscriptions),
            subscription_timeouts: l(&c.subscription_timeouts),
            aggregated_records: l(&c.aggregated_records),
            sub_records: l(&c.sub_records),
            corrupt_aggregates: l(&c.corrupt_aggregates),
            out_of_range_sub_records: l(&c.out_of_range_sub_records),
            data_loss: l(&c.data_loss),
        }
    }

    /// How far behind the tip each shard's reader was at its latest
    /// GetRecords (MillisBehindLatest), by shard id. Finished shards drop out.
    pub fn lag(&self) -> BTreeMap<String, i64> {
        let mut lag = self.counters.lag.lock().map(|l| l.clone()).unwrap_or_default();
        lag.retain(|id, _| self.shards.get(id).is_some_and(|s| matches!(s.status, Status::Reading | Status::Starting)));
        lag
    }

    /// The shards being read and those finished, by id.
    pub fn shard_status(&self) -> BTreeMap<String, &'static str> {
        self.shards
            .iter()
            .map(|(id, s)| {
                let st = match s.status {
                    Status::Waiting => "waiting",
                    Status::Starting => "starting",
                    Status::Reading => "reading",
                    Status::Ended => "ended",
                    Status::Finished => "finished",
                };
                (id.clone(), st)
            })
            .collect()
    }

    /// The checkpoint as it will be committed next.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Stops reading and writes the final checkpoint of everything acknowledged.
    pub async fn close(mut self) -> Result<SourceStats, SourceError> {
        self.stop_tasks();
        let (tx, _) = watch::channel(Checkpoint::default());
        // Dropping the sender ends the commit loop after a final write.
        drop(std::mem::replace(&mut self.cp_tx, tx));
        if let Some(c) = self.committer.take() {
            c.await.map_err(|e| SourceError::Checkpoint(format!("commit task failed: {e}")))??;
        }
        // A clean stop deregisters a JOB_MANAGED consumer (after the final
        // checkpoint, so a failure here loses nothing). Dropping the source
        // without `close`, like a crash, leaves it for the next start to reuse.
        if let Some(efo) = self.efo.take() {
            efo.release(&self.client, &self.cfg).await?;
        }
        // Only now may another process take the checkpoint (and the consumer).
        let _ = &self.store;
        Ok(self.stats())
    }

    fn stop_tasks(&mut self) {
        self.discovery.abort();
        for s in self.shards.values_mut() {
            if let Some(r) = s.reader.take() {
                r.abort();
            }
        }
    }

    fn on_listed(&mut self, list: Vec<ShardInfo>) {
        if let Ok(mut ranges) = self.counters.ranges.lock() {
            ranges.extend(list.iter().filter_map(|i| Some((i.id.clone(), i.range?))));
        }
        let late = !self.first_listing;
        self.first_listing = false;
        if let Ok(mut closed) = self.closed.lock() {
            closed.extend(list.iter().flat_map(|i| i.parents.iter().cloned()));
        }
        let mut changed = false;
        // A checkpointed shard that is no longer listed was trimmed: with an
        // unfinished position, the records after it went unread.
        let listed: std::collections::HashSet<&str> = list.iter().map(|i| i.id.as_str()).collect();
        let vanished: Vec<(String, String)> = self
            .checkpoint
            .shards
            .iter()
            .filter(|(id, _)| !listed.contains(id.as_str()) && !self.shards.contains_key(*id))
            .filter_map(|(id, pos)| match pos {
                ShardPosition::After { sequence_number, sub_sequence_number, .. } => {
                    Some((id.clone(), position_text(sequence_number, *sub_sequence_number)))
                }
                ShardPosition::Finished => None,
            })
            .collect();
        for (id, position) in vanished {
            let reason = "ListShards no longer lists the shard (it was trimmed after the stream's retention period) \
                          while the checkpoint held an unfinished position: its records after that position are gone"
                .to_owned();
            if !self.data_loss(&id, &position, reason) {
                return;
            }
            self.checkpoint.shards.remove(&id);
            changed = true;
        }
        let finished_before = self.finished_by_descendants(&list);
        for info in list {
            if self.shards.contains_key(&info.id) || self.pruned.contains(&info.id) {
                continue;
            }
            if finished_before.contains(&info.id) {
                // Pruned by an earlier run: a descendant is in the checkpoint.
                self.pruned.insert(info.id);
                continue;
            }
            let status = match self.checkpoint.shards.get(&info.id) {
                Some(ShardPosition::Finished) => Status::Finished,
                _ => Status::Waiting,
            };
            self.shards.insert(
                info.id.clone(),
                ShardState { parents: info.parents, status, late, next_batch: 0, pending: VecDeque::new(), held: None, reader: None },
            );
        }
        if changed || self.settle() {
            self.cp_tx.send_replace(self.checkpoint.clone());
        }
        self.start_ready();
    }

    /// Listed shards that are new to this source, missing from the
    /// checkpoint, and have a descendant in it: finished and pruned by an
    /// earlier run (without this they would be read again from the start).
    fn finished_by_descendants(&self, list: &[ShardInfo]) -> std::collections::HashSet<String> {
        let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for i in list {
            for p in &i.parents {
                children.entry(p.as_str()).or_default().push(i.id.as_str());
            }
        }
        let mut out = std::collections::HashSet::new();
        for i in list {
            if self.shards.contains_key(&i.id) || self.checkpoint.shards.contains_key(&i.id) {
                continue;
            }
            let mut stack: Vec<&str> = children.get(i.id.as_str()).cloned().unwrap_or_default();
            let mut seen = std::collections::HashSet::new();
            while let Some(c) = stack.pop() {
                if !seen.insert(c) {
                    continue;
                }
                if self.checkpoint.shards.contains_key(c) {
                    out.insert(i.id.clone());
                    break;
                }
                stack.extend(children.get(c).into_iter().flatten());
            }
        }
        out
    }

    fn on_end(&mut self, shard: &str) {
        self.rediscover.notify_one();
        if let Some(s) = self.shards.get_mut(shard) {
            s.reader = None;
            s.status = Status::Ended;
            if s.pending.is_empty() {
                s.status = Status::Finished;
            }
        }
        if self.settle() {
            self.cp_tx.send_replace(self.checkpoint.clone());
        }
        self.start_ready();
    }

    /// Starts readers for waiting shards whose parents have been read to their end.
    fn start_ready(&mut self) {
        let ids: Vec<String> = self.shards.iter().filter(|(_, s)| s.status == Status::Waiting).map(|(id, _)| id.clone()).collect();
        for id in ids {
            let parents_done = self.shards[&id].parents.iter().all(|p| match self.shards.get(p) {
                Some(ps) => matches!(ps.status, Status::Ended | Status::Finished),
                // Not listed: trimmed from the stream, nothing left to read.
                None => true,
            });
            if !parents_done {
                continue;
            }
            if !self.check_retention(&id) {
                return;
            }
            let start = self.start_of(&id);
            let state = self.shards.get_mut(&id).expect("listed above");
            state.status = Status::Starting;
            let reader = ShardReader::<R> {
                client: self.client.clone(),
                cfg: self.cfg.clone(),
                target: self.target.clone(),
                shard: id.clone().into(),
                tx: self.tx.clone(),
                counters: self.counters.clone(),
                _r: std::marker::PhantomData,
            };
            state.reader = Some(match &self.efo {
                Some(efo) => {
                    tokio::spawn(efo::EfoShardReader { polling: reader, efo: efo.clone(), closed: self.closed.clone() }.run(start))
                }
                None => tokio::spawn(reader.run(start)),
            });
        }
    }

    /// Before a shard resumes from its checkpointed position: whether the
    /// position is still inside the stream's retention period. Records that
    /// arrived after it and before now minus the retention period may have
    /// been trimmed unread. Returns whether to start the shard.
    fn check_retention(&mut self, id: &str) -> bool {
        let (Some(retention), Some(ShardPosition::After { sequence_number, sub_sequence_number, arrival_millis: Some(arrival) })) =
            (self.retention_millis, self.checkpoint.shards.get(id))
        else {
            return true;
        };
        let now = chrono::Utc::now().timestamp_millis();
        if *arrival >= now - retention {
            return true;
        }
        let position = position_text(sequence_number, *sub_sequence_number);
        let reason = format!(
            "the shard was last known read up to {} and the stream keeps records for {} h: \
             records that arrived after that and before {} may have been trimmed unread",
            millis_text(*arrival),
            retention / 3_600_000,
            millis_text(now - retention)
        );
        self.data_loss(id, &position, reason)
    }

    /// Where a shard without a finished mark starts.
    fn start_of(&self, id: &str) -> Start {
        match self.checkpoint.shards.get(id) {
            Some(ShardPosition::After { sequence_number, sub_sequence_number: None, .. }) => {
                return Start::After(sequence_number.clone());
            }
            Some(ShardPosition::After { sequence_number, sub_sequence_number: Some(sub), .. }) => {
                return Start::Inside { sequence_number: sequence_number.clone(), after_sub: *sub };
            }
            _ => {}
        }
        let state = &self.shards[id];
        // A parent read by an earlier run: the child continues its data. (A
        // parent finished in this run does not count: a closed parent read
        // from LATEST must not send its children back to TRIM_HORIZON.)
        let parent_was_read = state.parents.iter().any(|p| self.resumed.contains(p));
        if state.late || parent_was_read {
            return Start::TrimHorizon;
        }
        match self.cfg.source.start {
            StartPosition::TrimHorizon => Start::TrimHorizon,
            StartPosition::AtTimestamp { epoch_millis } => Start::AtTimestamp(epoch_millis),
            StartPosition::Latest => match self.checkpoint.pinned_start_millis {
                Some(pin) if !self.first_start => Start::AtTimestamp(pin),
                _ => Start::Latest,
            },
        }
    }
}

impl<R: Record> Drop for Source<R> {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// Where a shard reader starts.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    Latest,
    TrimHorizon,
    AtTimestamp(i64),
    After(String),
    /// At this (aggregated) record, whose sub-records up to `after_sub` were
    /// processed: read from it and skip those.
    Inside {
        sequence_number: String,
        after_sub: u64,
    },
}

impl Start {
    /// The sub-records to skip at the start: `(sequence number, through sub-record)`.
    pub(crate) fn skip(&self) -> Option<(String, u64)> {
        match self {
            Start::Inside { sequence_number, after_sub } => Some((sequence_number.clone(), *after_sub)),
            _ => None,
        }
    }
}

/// A position in a shard: a record, and within an aggregated record the
/// sub-record (`None`: the whole record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) sequence_number: String,
    pub(crate) sub: Option<u64>,
    /// See [`ShardPosition::After`]'s `arrival_millis`.
    pub(crate) arrival_millis: Option<i64>,
}

/// A checkpoint position for messages: the sequence number, and the
/// sub-record inside a KPL-aggregated record.
fn position_text(sequence_number: &str, sub: Option<u64>) -> String {
    match sub {
        Some(k) => format!("{sequence_number} (sub-record {k})"),
        None => sequence_number.to_owned(),
    }
}

async fn commit_loop(
    store: Arc<dyn CheckpointStore>,
    mut rx: watch::Receiver<Checkpoint>,
    interval: Duration,
    counters: Arc<Counters>,
) -> Result<(), SourceError> {
    let mut last: Option<Checkpoint> = None;
    loop {
        let open = rx.changed().await.is_ok();
        let cp = rx.borrow_and_update().clone();
        if last.as_ref() != Some(&cp) {
            store.save(cp.clone()).await.map_err(|e| SourceError::Checkpoint(e.0))?;
            counters.checkpoints_written.fetch_add(1, Ordering::Relaxed);
            last = Some(cp);
        }
        if !open {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

async fn discovery_loop<R>(
    client: Client,
    target: Arc<Target>,
    interval: Duration,
    retry: Backoff,
    tx: mpsc::Sender<Event<R>>,
    early: Arc<tokio::sync::Notify>,
) {
    loop {
        let event = match list_shards(&client, &target, &retry).await {
            Ok(list) => Event::Listed(list),
            Err(e) => Event::Failed(e),
        };
        let failed = matches!(event, Event::Failed(_));
        if tx.send(event).await.is_err() || failed {
            return;
        }
        // A shard that ends has children: look for them now rather than at the next interval.
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = early.notified() => {}
        }
    }
}

/// What DescribeStreamSummary told the source at startup.
struct Described {
    /// The stream's ARN as the server reports it.
    arn: Option<String>,
    created_millis: Option<i64>,
    retention_hours: Option<i32>,
}

/// Epoch milliseconds as RFC 3339 text, for messages.
fn millis_text(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("{ms} ms after the epoch"),
    }
}

/// Checks at startup that the stream exists and is readable
/// (DescribeStreamSummary, with the `scan.stream.describe.*` backoff).
/// Returns what the source needs of the summary.
async fn describe_stream(client: &Client, target: &Target, b: &Backoff) -> Result<Described, SourceError> {
    let mut attempt = 0;
    loop {
        let req = client.describe_stream_summary();
        let by_arn = target.arn().is_some();
        let req = match target.arn() {
            Some(arn) => req.stream_arn(arn),
            None => req.stream_name(target.name()),
        };
        match req.send().await {
            Ok(out) => {
                use aws_sdk_kinesis::types::StreamStatus;
                let summary = out.stream_description_summary();
                let described = Described {
                    arn: summary.map(|d| d.stream_arn().to_owned()).filter(|a| !a.is_empty()),
                    created_millis: summary.and_then(|d| d.stream_creation_timestamp().to_millis().ok()),
                    retention_hours: summary.map(|d| d.retention_period_hours()).filter(|h| *h > 0),
                };
                match summary.map(|d| d.stream_status().clone()) {
                    Some(StreamStatus::Active | StreamStatus::Updating) | None => return Ok(described),
                    Some(StreamStatus::Creating) if attempt < b.max_retries => {}
                    Some(other) => {
                        return Err(SourceError::Setup(format!("stream `{}` is {}, not ACTIVE", target.name(), other.as_str())));
                    }
                }
            }
            Err(e) if target.refused_arn(&e, by_arn) => continue,
            Err(e) => {
                let class = retry::classify(&e);
                if class == Class::Fatal || attempt >= b.max_retries {
                    return Err(SourceError::Setup(format!("stream `{}`: {}", target.id(), retry::describe(&e))));
                }
            }
        }
        tokio::time::sleep(retry::delay(b, attempt)).await;
        attempt += 1;
    }
}

async fn list_shards(client: &Client, target: &Target, b: &Backoff) -> Result<Vec<ShardInfo>, SourceError> {
    let listed = crate::stream::list_shards(client, target, |class, why, attempt| {
        if class == Class::Fatal || attempt >= b.max_retries {
            Err(format!("ListShards failed: {why}"))
        } else {
            Ok(retry::delay(b, attempt))
        }
    })
    .await
    .map_err(SourceError::Kinesis)?;
    Ok(listed.into_iter().map(|s| ShardInfo { id: s.id, parents: s.parents, range: s.range }).collect())
}

/// The polling reader of one shard (the EFO reader wraps one, for its
/// client, configuration and channel).
pub(crate) struct ShardReader<R> {
    pub(crate) client: Client,
    pub(crate) cfg: Arc<TableConfig>,
    pub(crate) target: Arc<Target>,
    pub(crate) shard: Arc<str>,
    pub(crate) tx: mpsc::Sender<Event<R>>,
    pub(crate) counters: Arc<Counters>,
    _r: std::marker::PhantomData<fn() -> R>,
}

/// The per-shard read limit that adaptive reads stay under.
const SHARD_READ_BYTES_PER_SEC: f64 = 2.0 * 1024.0 * 1024.0;

impl<R: Record> ShardReader<R> {
    async fn run(self, start: Start) {
        if let Err(e) = self.read(start).await {
            let _ = self.tx.send(Event::Failed(e)).await;
        }
    }

    async fn read(&self, start: Start) -> Result<(), SourceError> {
        let polling = &self.cfg.source.polling;
        let mut last_read: Option<String> = match &start {
            Start::After(s) => Some(s.clone()),
            _ => None,
        };
        // Started inside an aggregated record: its processed sub-records are skipped.
        let mut skip = start.skip();
        // When the first iterator is LATEST, remember when it was taken: if it
        // expires before anything was read, reading resumes from that time
        // rather than from a new LATEST that would skip what arrived since.
        let taken_at = chrono::Utc::now().timestamp_millis();
        let mut iterator = Some(self.iterator(&start).await?);
        if self.tx.send(Event::Positioned { shard: self.shard.clone() }).await.is_err() {
            return Ok(());
        }
        let mut limit = polling.max_records;
        let mut attempt = 0u32;
        while let Some(it) = iterator.take() {
            self.counters.get_records_calls.fetch_add(1, Ordering::Relaxed);
            let call_started = tokio::time::Instant::now();
            let mut req = self.client.get_records().shard_iterator(&it).limit(limit as i32);
            let by_arn = self.target.arn().is_some();
            if let Some(arn) = self.target.arn() {
                req = req.stream_arn(arn);
            }
            let out = match req.send().await {
                Ok(out) => {
                    attempt = 0;
                    out
                }
                Err(e) if self.target.refused_arn(&e, by_arn) => {
                    iterator = Some(it);
                    continue;
                }
                Err(e) => {
                    let class = retry::classify(&e);
                    match class {
                        Class::ExpiredIterator => {
                            self.counters.expired_iterators.fetch_add(1, Ordering::Relaxed);
                            let from = match (&last_read, &start) {
                                (Some(s), _) => Start::After(s.clone()),
                                (None, Start::Latest) => Start::AtTimestamp(taken_at),
                                (None, other) => other.clone(),
                            };
                            iterator = Some(self.iterator(&from).await?);
                            continue;
                        }
                        Class::Fatal | Class::Retarget => {
                            return Err(SourceError::Kinesis(format!(
                                "GetRecords on shard {} failed: {}",
                                self.shard,
                                retry::describe(&e)
                            )));
                        }
                        Class::Throttled | Class::Transient => {
                            let counter =
                                if class == Class::Throttled { &self.counters.throttled } else { &self.counters.transient_errors };
                            counter.fetch_add(1, Ordering::Relaxed);
                            let b = &polling.get_records_retry;
                            if attempt >= b.max_retries {
                                return Err(SourceError::Kinesis(format!(
                                    "GetRecords on shard {} failed {} times in a row (scan.shard.getrecords.maxretries = {}): {}",
                                    self.shard,
                                    attempt + 1,
                                    b.max_retries,
                                    retry::describe(&e)
                                )));
                            }
                            tokio::time::sleep(retry::delay(b, attempt)).await;
                            attempt += 1;
                            iterator = Some(it);
                            continue;
                        }
                    }
                }
            };
            let n_in = out.records().len();
            let Some(bytes) =
                deliver(&self.tx, &self.cfg, &self.counters, &self.shard, out.records(), out.millis_behind_latest(), &mut skip).await?
            else {
                return Ok(());
            };
            if let Some(r) = out.records().last() {
                last_read = Some(r.sequence_number().to_owned());
            }
            match out.next_shard_iterator() {
                Some(next) if !next.is_empty() => iterator = Some(next.to_owned()),
                _ => {
                    let _ = self.tx.send(Event::End { shard: self.shard.clone() }).await;
                    return Ok(());
                }
            }
            if polling.adaptive_reads && n_in > 0 {
                // Stay under 2 MiB/s per shard at this call rate.
                let avg = (bytes as f64 / n_in as f64).max(1.0);
                let per_call = SHARD_READ_BYTES_PER_SEC * polling.interval.as_secs_f64().max(0.001);
                limit = ((per_call / avg) as u32).clamp(1, polling.max_records.max(1));
            }
            // The interval runs from the start of one call to the start of
            // the next, so time spent in the call counts towards it.
            tokio::time::sleep_until(call_started + polling.interval).await;
        }
        Ok(())
    }

    pub(crate) async fn iterator(&self, start: &Start) -> Result<String, SourceError> {
        let b = &self.cfg.source.polling.get_iterator_retry;
        let mut attempt = 0;
        loop {
            let mut req = self.client.get_shard_iterator().shard_id(&*self.shard);
            let by_arn = self.target.arn().is_some();
            req = match self.target.arn() {
                Some(arn) => req.stream_arn(arn),
                None => req.stream_name(self.target.name()),
            };
            req = match start {
                Start::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
                Start::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
                Start::AtTimestamp(ms) => {
                    req.shard_iterator_type(ShardIteratorType::AtTimestamp).timestamp(aws_smithy_types::DateTime::from_millis(*ms))
                }
                Start::After(seq) => req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(seq),
                Start::Inside { sequence_number, .. } => {
                    req.shard_iterator_type(ShardIteratorType::AtSequenceNumber).starting_sequence_number(sequence_number)
                }
            };
            match req.send().await {
                Ok(out) => match out.shard_iterator() {
                    Some(it) => return Ok(it.to_owned()),
                    None => {
                        return Err(SourceError::Kinesis(format!("GetShardIterator on shard {} returned no iterator", self.shard)));
                    }
                },
                Err(e) if self.target.refused_arn(&e, by_arn) => {}
                Err(e) => {
                    let class = retry::classify(&e);
                    if class == Class::Fatal || class == Class::ExpiredIterator || attempt >= b.max_retries {
                        return Err(SourceError::Kinesis(format!(
                            "GetShardIterator on shard {} failed: {}",
                            self.shard,
                            retry::describe(&e)
                        )));
                    }
                    tokio::time::sleep(retry::delay(b, attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Most records in one batch: an aggregated record can hold many thousands
/// of sub-records, so one Kinesis read may become several batches, and a
/// checkpoint can then fall inside an aggregated record.
pub(crate) const MAX_BATCH_RECORDS: usize = 10_000;

/// Decodes a read's records (de-aggregating KPL records) and sends them to
/// the [`Source`] in batches of at most [`MAX_BATCH_RECORDS`]. `skip` drops
/// the sub-records already processed at a start inside an aggregated record.
/// Returns the bytes read, or `None` when the source is gone.
pub(crate) async fn deliver<R: Record>(
    tx: &mpsc::Sender<Event<R>>,
    cfg: &TableConfig,
    counters: &Counters,
    shard: &Arc<str>,
    raw: &[aws_sdk_kinesis::types::Record],
    millis_behind: Option<i64>,
    skip: &mut Option<(String, u64)>,
) -> Result<Option<usize>, SourceError> {
    let decoded = decode_records::<R>(cfg, counters, shard, raw, skip)?;
    if let (Some(ms), Ok(mut lag)) = (millis_behind, counters.lag.lock()) {
        lag.insert(shard.to_string(), ms);
    }
    counters.records.fetch_add(decoded.records.len() as u64, Ordering::Relaxed);
    counters.bytes.fetch_add(decoded.bytes as u64, Ordering::Relaxed);
    let now = chrono::Utc::now().timestamp_millis();
    let Some(last) = raw.last() else {
        if millis_behind == Some(0) && tx.send(Event::Tip { shard: shard.clone(), at_millis: now }).await.is_err() {
            return Ok(None);
        }
        return Ok(Some(decoded.bytes));
    };
    let Decoded { records, origins, bytes } = decoded;
    let arrival = |r: &aws_sdk_kinesis::types::Record| r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok());
    let pos_of = |o: Origin| {
        let r = &raw[o.raw as usize];
        Pos { sequence_number: r.sequence_number().to_owned(), sub: o.sub_position(), arrival_millis: arrival(r) }
    };
    // At the tip, everything that arrived before now has been read.
    let last_arrival = match (arrival(last), millis_behind) {
        (a, Some(0)) => Some(a.map_or(now, |a| a.max(now))),
        (a, _) => a,
    };
    // Every batch but the last ends at its last record's position; the last
    // one ends after the whole read (skipped records included).
    let sequence_numbers: Arc<[String]> = raw.iter().map(|r| r.sequence_number().to_owned()).collect();
    let mut ordered: Vec<(Vec<R>, Vec<Origin>, Option<Pos>)> = Vec::new();
    let (mut rest, mut rest_origins) = (records, origins);
    while rest.len() > MAX_BATCH_RECORDS {
        let tail = rest.split_off(MAX_BATCH_RECORDS);
        let tail_origins = rest_origins.split_off(MAX_BATCH_RECORDS);
        let end = pos_of(rest_origins[MAX_BATCH_RECORDS - 1]);
        ordered.push((rest, rest_origins, Some(end)));
        (rest, rest_origins) = (tail, tail_origins);
    }
    ordered.push((
        rest,
        rest_origins,
        Some(Pos { sequence_number: last.sequence_number().to_owned(), sub: None, arrival_millis: last_arrival }),
    ));
    for (records, of, last) in ordered {
        let origins = Origins { sequence_numbers: sequence_numbers.clone(), of };
        let event = Event::Batch { shard: shard.clone(), records, origins, last, millis_behind };
        if tx.send(event).await.is_err() {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

/// Where a decoded record came from: its Kinesis record, and its place among
/// the sub-records of an aggregated one.
#[derive(Debug, Clone, Copy)]
struct Origin {
    raw: u32,
    /// `(index, count)` of the sub-record; `None` for a plain record.
    sub: Option<(u32, u32)>,
}

impl Origin {
    /// The checkpoint position after this record: inside the aggregated
    /// record unless it is its last sub-record.
    fn sub_position(self) -> Option<u64> {
        match self.sub {
            Some((i, n)) if i + 1 < n => Some(i as u64),
            _ => None,
        }
    }
}

struct Decoded<R> {
    records: Vec<R>,
    origins: Vec<Origin>,
    bytes: usize,
}

/// Turns Kinesis records into typed records with their metadata. KPL
/// aggregated records become their sub-records (with their own partition
/// keys and sub-sequence numbers); a record with the KPL magic that fails
/// the KPL's checks is delivered whole, as the KPL defines, and counted.
/// Records that cannot be decoded are skipped and counted
/// (`ignore-parse-errors`) or stop the source ([`SourceError::BadRecord`]).
fn decode_records<R: Record>(
    cfg: &TableConfig,
    counters: &Counters,
    shard: &str,
    raw: &[aws_sdk_kinesis::types::Record],
    skip: &mut Option<(String, u64)>,
) -> Result<Decoded<R>, SourceError> {
    let mut out = Decoded { records: Vec::with_capacity(raw.len()), origins: Vec::with_capacity(raw.len()), bytes: 0 };
    let range = counters.ranges.lock().ok().and_then(|r| r.get(shard).copied());
    for (i, r) in raw.iter().enumerate() {
        let data = r.data().as_ref();
        out.bytes += data.len();
        let ts = r
            .approximate_arrival_timestamp()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
            .unwrap_or_default();
        let seq = r.sequence_number();
        // Sub-records already processed before a restart inside this record.
        let skip_through = match skip.take() {
            Some((s, n)) if s == seq => Some(n),
            _ => None,
        };
        match kpl::deaggregate(data, r.partition_key()) {
            kpl::Deaggregated::Aggregated(subs) => {
                counters.aggregated_records.fetch_add(1, Ordering::Relaxed);
                let count = subs.len() as u32;
                for (k, sub) in subs.iter().enumerate() {
                    if skip_through.is_some_and(|n| k as u64 <= n) {
                        continue;
                    }
                    counters.sub_records.fetch_add(1, Ordering::Relaxed);
                    if let (Some((lo, hi)), Some(h)) = (range, sub.effective_hash_key())
                        && !(lo..=hi).contains(&h)
                    {
                        counters.out_of_range_sub_records.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            shard,
                            sequence_number = seq,
                            sub_sequence_number = k,
                            "a sub-record's hash key lies outside the shard's range; delivering it"
                        );
                    }
                    let meta = Metadata {
                        timestamp: ts,
                        shard_id: shard,
                        sequence_number: seq,
                        partition_key: sub.partition_key,
                        sub_sequence_number: Some(k as u64),
                    };
                    if let Some(rec) = decode_one::<R>(cfg, counters, sub.data, &meta)? {
                        out.records.push(rec);
                        out.origins.push(Origin { raw: i as u32, sub: Some((k as u32, count)) });
                    }
                }
            }
            other => {
                if let kpl::Deaggregated::Corrupt(why) = &other {
                    counters.corrupt_aggregates.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        shard,
                        sequence_number = seq,
                        "a record with the KPL magic fails its checks ({why}); delivering it whole"
                    );
                }
                let meta = Metadata {
                    timestamp: ts,
                    shard_id: shard,
                    sequence_number: seq,
                    partition_key: r.partition_key(),
                    sub_sequence_number: None,
                };
                if let Some(rec) = decode_one::<R>(cfg, counters, data, &meta)? {
                    out.records.push(rec);
                    out.origins.push(Origin { raw: i as u32, sub: None });
                }
            }
        }
    }
    Ok(out)
}

/// Decodes one (sub-)record; `None` when it was skipped.
fn decode_one<R: Record>(cfg: &TableConfig, counters: &Counters, data: &[u8], meta: &Metadata<'_>) -> Result<Option<R>, SourceError> {
    match R::decode(data) {
        Ok(mut rec) => {
            rec.set_metadata(meta);
            Ok(Some(rec))
        }
        Err(e) if e.kind == DecodeErrorKind::Comment => {
            counters.skipped_comments.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
        Err(e) => {
            let at = match meta.sub_sequence_number {
                Some(k) => format!("{} (sub-record {k})", meta.sequence_number),
                None => meta.sequence_number.to_owned(),
            };
            if cfg.format.ignore_parse_errors() {
                counters.skipped_bad_records.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    table = R::TABLE_NAME,
                    shard = meta.shard_id,
                    sequence_number = at,
                    "skipping a record that cannot be decoded: {e}"
                );
                Ok(None)
            } else {
                Err(SourceError::BadRecord {
                    shard_id: meta.shard_id.to_owned(),
                    sequence_number: at,
                    error: format!("{e}{}", format_hint(&cfg.format)),
                })
            }
        }
    }
}

fn format_hint(f: &FormatConfig) -> &'static str {
    match f {
        FormatConfig::Json(_) => " (set json.ignore-parse-errors to skip and count such records)",
        FormatConfig::Csv(_) => " (set csv.ignore-parse-errors to skip and count such records)",
        FormatConfig::Raw(_) | FormatConfig::Avro(_) => "",
    }
}
