//! The Kinesis source: polling (GetRecords) or enhanced fan-out (EFO).
//!
//! One task per shard reads with GetShardIterator/GetRecords (`polling`)
//! — or, with `source.reader.type: EFO`, with SubscribeToShard ([`efo`]) —
//! and decodes records into the table's type (with its metadata columns) in
//! parallel, both through one function (`decode`); a discovery task lists
//! shards every `source.shard.discovery.interval` and reads those an
//! assigner gives it (today: all of them) (`discovery`). The [`Source`]
//! hands batches out in order per shard and, through its I/O-free
//! bookkeeping (`shards`), reads a shard's children only once the shard
//! itself has been read to its end, and commits them only after it.
//!
//! **Delivery** is at least once. A batch's position is committed only after
//! it (and every earlier batch of its shard) has been [acknowledged](Source::ack);
//! a background task writes the checkpoint at most every commit interval, so
//! after a crash a shard repeats at most the records acknowledged within one
//! commit interval. A shard that was read to its end and fully acknowledged
//! is recorded as finished and never read again.

mod counters;
mod decode;
pub(crate) mod discovery;
pub mod efo;
mod error;
mod event;
mod polling;
pub(crate) mod shards;
mod start;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::Record;
use crate::checkpoint::{
    Checkpoint, CheckpointCommit, CheckpointStore, MemoryCheckpointStore, ShardCheckpointStore, ShardPosition, WholeCheckpoint,
};
use crate::config::{ReaderType, StartPosition, TableConfig};
use crate::connect::{self, HttpSettings};
use crate::policy::OnDataLoss;
use crate::stream::Target;

pub use counters::SourceStats;
pub use error::{Cause, SourceError, SourceErrorKind};
pub use event::RecordOrigin;

use counters::Counters;
use discovery::{AllShards, Described, Discovery, ShardAssigner};
use event::{Event, Origins};
use polling::ShardReader;
use shards::{ShardInfo, Shards, Status};
use start::StartInputs;

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

/// Acknowledges one [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    shard_id: Arc<str>,
    batch: u64,
}

/// Builds a [`Source`].
pub struct SourceBuilder<R: Record> {
    client: Option<Client>,
    config: Option<TableConfig>,
    store: Option<Arc<dyn ShardCheckpointStore>>,
    assigner: Option<Arc<dyn ShardAssigner>>,
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
    pub fn checkpoints(self, store: impl CheckpointStore) -> Self {
        self.shard_checkpoints(WholeCheckpoint::new(Arc::new(store)))
    }
    /// Where checkpoints go, through the per-shard interface.
    pub fn shard_checkpoints(mut self, store: impl ShardCheckpointStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }
    /// Which listed shards to read (default: all of them).
    pub(crate) fn assigner(mut self, assigner: Arc<dyn ShardAssigner>) -> Self {
        self.assigner = Some(assigner);
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
            None => R::config().map_err(|e| SourceError::setup(e.to_string(), e))?.into_owned(),
        };
        if !cfg.connector.is_kinesis() {
            return Err(SourceError::Setup(
                format!("table `{}` uses `connector: {}`, not a Kinesis stream", R::TABLE_NAME, cfg.connector.name()).into(),
            ));
        }
        let client = match self.client {
            Some(c) => c,
            None => connect::kinesis_client(&cfg, HttpSettings::source(&cfg), R::custom_credentials())
                .await
                .map_err(|e| SourceError::setup(e.to_string(), e))?,
        };
        let store = self.store.unwrap_or_else(|| Arc::new(WholeCheckpoint::new(Arc::new(MemoryCheckpointStore::default()))));
        let target = Arc::new(Target::new(&cfg.stream));
        let described = discovery::describe_stream(&client, &target, &cfg.source.describe_stream_retry).await?;
        let (loaded, checkpoint, first_start) = load_checkpoint(&*store, &target, &described, &cfg.source.start).await?;
        // EFO: find or register the consumer last, once everything that can
        // fail for other reasons has been checked, so a failed start leaves no
        // consumer behind.
        let efo = match cfg.source.reader {
            ReaderType::Efo => Some(Arc::new(setup_efo::<R>(&client, &cfg, &target, described.arn.clone()).await?)),
            ReaderType::Polling => None,
        };
        let counters = Arc::new(Counters::default());
        let (cp_tx, cp_rx) = watch::channel(checkpoint.clone());
        let committer = tokio::spawn(commit_loop(store.clone(), loaded, cp_rx, self.commit_interval, counters.clone()));
        let (tx, rx) = mpsc::channel(16);
        let rediscover = Arc::new(Notify::new());
        let assigner = self.assigner.unwrap_or_else(|| Arc::new(AllShards));
        let discovery = Discovery {
            client: client.clone(),
            target: target.clone(),
            interval: cfg.source.shard_discovery_interval,
            retry: cfg.source.list_shards_retry,
            assigner: assigner.clone(),
            early: rediscover.clone(),
        };
        let discovery = tokio::spawn(discovery.run(tx.clone()));
        Ok(Source {
            client,
            cfg: Arc::new(cfg),
            target,
            tx,
            rx,
            shards: Shards::new(checkpoint),
            readers: HashMap::new(),
            cp_tx,
            committer: Some(committer),
            discovery,
            rediscover,
            counters,
            efo,
            closed: Arc::new(std::sync::Mutex::new(HashSet::new())),
            first_listing: true,
            first_start,
            store,
            retention_millis: described.retention_hours.map(|h| i64::from(h) * 3_600_000),
            on_data_loss: self.on_data_loss,
            failed: None,
            assigner,
        })
    }
}

/// Loads the checkpoint, checks that it belongs to this stream (and not to
/// an earlier stream of its name), and pins LATEST durably at the very first
/// start. Returns what the store holds, the checkpoint to resume from, and
/// whether this is the very first start.
async fn load_checkpoint(
    store: &dyn ShardCheckpointStore,
    target: &Target,
    described: &Described,
    start: &StartPosition,
) -> Result<(Checkpoint, Checkpoint, bool), SourceError> {
    let stream_id = target.id().to_owned();
    let loaded = store.load().await.map_err(SourceError::checkpoint)?;
    let mut checkpoint = match loaded.clone() {
        Some(cp) if cp.stream != stream_id => {
            return Err(SourceError::Checkpoint(
                format!("the checkpoint belongs to stream `{}`, not `{stream_id}`; use another checkpoint location", cp.stream).into(),
            ));
        }
        Some(cp) => cp,
        None => Checkpoint { stream: stream_id, ..Checkpoint::default() },
    };
    match (checkpoint.stream_created_millis, described.created_millis) {
        (Some(saved), Some(now)) if saved != now => {
            return Err(SourceError::Checkpoint(
                format!(
                    "stream `{}` was created at {}, but the checkpoint is of a stream of that name created at {}: \
                     the stream was deleted and recreated, and the checkpoint's positions do not apply to it \
                     (its shard ids start over). To read the new stream from the table's start position, \
                     delete or move the checkpoint, or use another checkpoint location",
                    target.id(),
                    start::millis_text(now),
                    start::millis_text(saved)
                )
                .into(),
            ));
        }
        (None, Some(now)) => checkpoint.stream_created_millis = Some(now),
        _ => {}
    }
    let mut stored = loaded.unwrap_or_default();
    let first_start = checkpoint.shards.is_empty() && checkpoint.pinned_start_millis.is_none();
    if *start == StartPosition::Latest && checkpoint.pinned_start_millis.is_none() {
        // Pin LATEST now, durably, so a restart reads from here rather than from its own "now".
        checkpoint.pinned_start_millis = Some(chrono::Utc::now().timestamp_millis());
        store.commit(CheckpointCommit::between(&stored, &checkpoint)).await.map_err(SourceError::checkpoint)?;
        stored = checkpoint.clone();
    }
    Ok((stored, checkpoint, first_start))
}

/// Finds or registers the EFO consumer (on the stream's ARN: the configured
/// one, else the one DescribeStreamSummary reported).
async fn setup_efo<R: Record>(
    client: &Client,
    cfg: &TableConfig,
    target: &Target,
    described_arn: Option<String>,
) -> Result<efo::Efo, SourceError> {
    let stream_arn = match (cfg.stream.arn(), described_arn) {
        (Some(arn), _) => arn.to_owned(),
        (None, Some(arn)) => arn,
        (None, None) => {
            return Err(SourceError::Setup(
                format!("EFO needs the ARN of stream `{}`, and DescribeStreamSummary did not return it", target.name()).into(),
            ));
        }
    };
    efo::Efo::setup(client, cfg, R::TABLE_NAME, stream_arn, target.name()).await
}

/// A source of records of table `R` (polling or EFO).
pub struct Source<R: Record> {
    client: Client,
    cfg: Arc<TableConfig>,
    target: Arc<Target>,
    tx: mpsc::Sender<Event<R>>,
    rx: mpsc::Receiver<Event<R>>,
    /// The bookkeeping of the shards and the checkpoint.
    shards: Shards,
    /// The running reader of each shard.
    readers: HashMap<String, JoinHandle<()>>,
    cp_tx: watch::Sender<Checkpoint>,
    committer: Option<JoinHandle<Result<(), SourceError>>>,
    discovery: JoinHandle<()>,
    rediscover: Arc<Notify>,
    counters: Arc<Counters>,
    /// The EFO consumer, when reading with enhanced fan-out.
    efo: Option<Arc<efo::Efo>>,
    /// Shards known to be closed (some listed shard names them as parent).
    closed: efo::ClosedShards,
    first_listing: bool,
    first_start: bool,
    /// The checkpoint store, held until the source is closed: a file store's
    /// lock must outlive the deregistration of a JOB_MANAGED EFO consumer, or
    /// a new process could take over the consumer that is being deregistered.
    store: Arc<dyn ShardCheckpointStore>,
    /// The stream's retention period, when DescribeStreamSummary gave it.
    retention_millis: Option<i64>,
    on_data_loss: OnDataLoss,
    failed: Option<SourceError>,
    /// Which listed shards this source reads.
    assigner: Arc<dyn ShardAssigner>,
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
            assigner: None,
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
            if self.committer.as_ref().is_some_and(|c| c.is_finished()) {
                self.committer_stopped().await;
                continue;
            }
            // The source holds a sender itself, so the channel never closes.
            let Some(event) = self.rx.recv().await else {
                return Err(SourceError::Kinesis("the source's channel closed".into()));
            };
            if let Some(batch) = self.on_event(event) {
                return Ok(batch);
            }
        }
    }

    /// The commit loop ends only with an error while the source is open.
    /// The handle is cleared only once its result is in hand, so a cancelled
    /// `next` cannot lose it.
    async fn committer_stopped(&mut self) {
        let Some(c) = self.committer.as_mut() else { return };
        let result = c.await;
        self.committer = None;
        let e = match result {
            Ok(Err(e)) => e,
            Ok(Ok(())) => SourceError::Checkpoint("the checkpoint writer stopped".into()),
            Err(e) => SourceError::Checkpoint(Cause::with_source(format!("the checkpoint writer failed: {e}"), e)),
        };
        tracing::error!(table = R::TABLE_NAME, "{e}");
        self.failed = Some(e);
    }

    /// Takes in one event; a batch to hand out, if it is one.
    fn on_event(&mut self, event: Event<R>) -> Option<Batch<R>> {
        match event {
            Event::Listed { shards, assigned } => self.on_listed(shards, assigned),
            Event::Batch { shard, records, origins, last, millis_behind } => {
                let n = self.shards.delivered(&shard, last)?;
                let ack = Ack { shard_id: shard.clone(), batch: n };
                self.counters.batches.fetch_add(1, Ordering::Relaxed);
                if records.is_empty() {
                    // Only skipped records: nothing to process, but the position moves on.
                    self.ack(ack);
                    return None;
                }
                return Some(Batch { shard_id: shard, records, millis_behind_latest: millis_behind, ack, origins });
            }
            Event::End { shard } => self.on_end(&shard),
            Event::Tip { shard, at_millis } => {
                if self.shards.tip(&shard, at_millis) {
                    self.publish();
                }
            }
            Event::Positioned { shard } => self.shards.positioned(&shard),
            Event::Failed(e) => {
                tracing::error!(table = R::TABLE_NAME, "{e}");
                self.failed = Some(e);
            }
        }
        None
    }

    /// Acknowledges a batch: its records may now be committed.
    pub fn ack(&mut self, ack: Ack) {
        if self.shards.ack(&ack.shard_id, ack.batch) {
            self.publish();
        }
    }

    /// Hands the checkpoint to the commit loop, and forgets pruned shards.
    fn publish(&mut self) {
        for id in self.shards.take_pruned() {
            self.counters.forget(&id);
            self.readers.remove(&id);
            tracing::debug!(table = R::TABLE_NAME, shard = %id, "pruned a finished shard from the checkpoint");
        }
        self.cp_tx.send_replace(self.shards.checkpoint().clone());
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
        self.counters.stats()
    }

    /// How far behind the tip each shard's reader was at its latest
    /// GetRecords (MillisBehindLatest), by shard id. Finished shards drop out.
    pub fn lag(&self) -> BTreeMap<String, i64> {
        let mut lag = self.counters.lag.lock().map(|l| l.clone()).unwrap_or_default();
        lag.retain(|id, _| matches!(self.shards.status(id), Some(Status::Reading | Status::Starting)));
        lag
    }

    /// The shards being read and those finished, by id.
    pub fn shard_status(&self) -> BTreeMap<String, &'static str> {
        self.shards.statuses().map(|(id, s)| (id.to_owned(), s.as_str())).collect()
    }

    /// The checkpoint as it will be committed next.
    pub fn checkpoint(&self) -> &Checkpoint {
        self.shards.checkpoint()
    }

    /// Stops reading and writes the final checkpoint of everything acknowledged.
    pub async fn close(mut self) -> Result<SourceStats, SourceError> {
        self.stop_tasks();
        let (tx, _) = watch::channel(Checkpoint::default());
        // Dropping the sender ends the commit loop after a final write.
        drop(std::mem::replace(&mut self.cp_tx, tx));
        if let Some(c) = self.committer.take() {
            c.await.map_err(|e| SourceError::Checkpoint(Cause::with_source(format!("commit task failed: {e}"), e)))??;
        }
        // A clean stop deregisters a JOB_MANAGED consumer (after the final
        // checkpoint, so a failure here loses nothing). Dropping the source
        // without `close`, like a crash, leaves it for the next start to reuse.
        // Workers sharing the stream through a lease table share the
        // consumer: only the last one to leave deregisters it.
        if let Some(efo) = self.efo.take()
            && self.assigner.last_reader().await
        {
            efo.release(&self.client, &self.cfg).await?;
        }
        // Only now may another process take the checkpoint (and the consumer).
        let _ = &self.store;
        Ok(self.stats())
    }

    fn stop_tasks(&mut self) {
        self.discovery.abort();
        for (_, r) in self.readers.drain() {
            r.abort();
        }
    }

    fn on_listed(&mut self, list: Vec<ShardInfo>, assigned: HashSet<String>) {
        if let Ok(mut ranges) = self.counters.ranges.lock() {
            ranges.extend(list.iter().filter_map(|i| Some((i.id.clone(), i.range?))));
        }
        let late = !self.first_listing;
        self.first_listing = false;
        if let Ok(mut closed) = self.closed.lock() {
            closed.extend(list.iter().flat_map(|i| i.parents.iter().cloned()));
        }
        // A checkpointed shard that is no longer listed was trimmed: with an
        // unfinished position, the records after it went unread.
        let listed: HashSet<&str> = list.iter().map(|i| i.id.as_str()).collect();
        let vanished = self.shards.vanished(&listed);
        let mut changed = !vanished.is_empty();
        for (id, position) in vanished {
            let ShardPosition::After { sequence_number, sub_sequence_number, .. } = &position else { continue };
            let reason = "ListShards no longer lists the shard (it was trimmed after the stream's retention period) \
                          while the checkpoint held an unfinished position: its records after that position are gone"
                .to_owned();
            if !self.data_loss(&id, &start::position_text(sequence_number, *sub_sequence_number), reason) {
                return;
            }
            self.shards.forget(&id);
        }
        changed |= self.reassigned(&listed, &assigned);
        changed |= self.shards.listed(&list, &assigned, late);
        if changed {
            self.publish();
        }
        self.start_ready();
    }

    /// Listed shards no longer assigned (a lease lost or fenced) stop at once: the
    /// reader is stopped, pending batches and the position are dropped and
    /// the shard is never checkpointed again. Shards newly assigned take
    /// their committed position from the assigner. Returns whether the
    /// checkpoint changed.
    fn reassigned(&mut self, listed: &HashSet<&str>, assigned: &HashSet<String>) -> bool {
        let revoked: Vec<String> =
            self.shards.statuses().filter(|(id, _)| listed.contains(id) && !assigned.contains(*id)).map(|(id, _)| id.to_owned()).collect();
        let mut changed = false;
        for id in revoked {
            if let Some(r) = self.readers.remove(&id) {
                r.abort();
            }
            self.counters.forget(&id);
            changed |= self.shards.revoke(&id);
            tracing::info!(table = R::TABLE_NAME, shard = %id, "shard no longer assigned: stopped reading it");
        }
        for id in assigned {
            if self.shards.status(id).is_none() {
                if let Some(position) = self.assigner.position(id) {
                    changed |= self.shards.adopt(id, position);
                }
                if let Some(trim_horizon) = self.assigner.start_at_trim_horizon(id) {
                    self.shards.override_start(id, trim_horizon);
                }
            }
        }
        changed
    }

    fn on_end(&mut self, shard: &str) {
        self.rediscover.notify_one();
        self.readers.remove(shard);
        if self.shards.ended(shard) {
            self.publish();
        }
        self.start_ready();
    }

    /// Starts readers for waiting shards whose parents have been read to their end.
    fn start_ready(&mut self) {
        for id in self.shards.ready() {
            if !self.check_retention(&id) {
                return;
            }
            let start = start::start_of(StartInputs {
                committed: self.shards.checkpoint().shards.get(&id),
                late: self.shards.is_late(&id),
                parent_resumed: self.shards.parent_resumed(&id),
                configured: &self.cfg.source.start,
                pinned_start_millis: self.shards.checkpoint().pinned_start_millis,
                first_start: self.first_start,
            });
            self.shards.starting(&id);
            let reader = ShardReader::<R> {
                client: self.client.clone(),
                cfg: self.cfg.clone(),
                target: self.target.clone(),
                shard: id.clone().into(),
                tx: self.tx.clone(),
                counters: self.counters.clone(),
                assigner: self.assigner.clone(),
                _r: std::marker::PhantomData,
            };
            let handle = match &self.efo {
                Some(efo) => {
                    tokio::spawn(efo::EfoShardReader { polling: reader, efo: efo.clone(), closed: self.closed.clone() }.run(start))
                }
                None => tokio::spawn(reader.run(start)),
            };
            self.readers.insert(id, handle);
        }
    }

    /// Before a shard resumes from its checkpointed position: whether the
    /// position is still inside the stream's retention period. Records that
    /// arrived after it and before now minus the retention period may have
    /// been trimmed unread. Returns whether to start the shard.
    fn check_retention(&mut self, id: &str) -> bool {
        let now = chrono::Utc::now().timestamp_millis();
        match start::expired(self.shards.checkpoint().shards.get(id), self.retention_millis, now) {
            None => true,
            Some(expired) => self.data_loss(id, &expired.position, expired.reason),
        }
    }
}

impl<R: Record> Drop for Source<R> {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// Writes the checkpoint at most every `interval`, as a commit of what
/// changed since the last write (`stored`: what the store holds at start).
async fn commit_loop(
    store: Arc<dyn ShardCheckpointStore>,
    mut stored: Checkpoint,
    mut rx: watch::Receiver<Checkpoint>,
    interval: Duration,
    counters: Arc<Counters>,
) -> Result<(), SourceError> {
    let mut last: Option<Checkpoint> = None;
    loop {
        let open = rx.changed().await.is_ok();
        let cp = rx.borrow_and_update().clone();
        if last.as_ref() != Some(&cp) {
            store.commit(CheckpointCommit::between(&stored, &cp)).await.map_err(SourceError::checkpoint)?;
            counters.checkpoints_written.fetch_add(1, Ordering::Relaxed);
            stored = cp.clone();
            last = Some(cp);
        }
        if !open {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::checkpoint::{BoxFuture, CheckpointError, ShardUpdate};

    /// Records every commit.
    #[derive(Default)]
    struct Recording(Mutex<Vec<CheckpointCommit>>);

    impl ShardCheckpointStore for Arc<Recording> {
        fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
            Box::pin(async { Ok(None) })
        }
        fn commit(&self, commit: CheckpointCommit) -> BoxFuture<'_, Result<(), CheckpointError>> {
            self.0.lock().unwrap().push(commit);
            Box::pin(async { Ok(()) })
        }
    }

    fn after(seq: &str) -> ShardPosition {
        ShardPosition::After { sequence_number: seq.into(), sub_sequence_number: None, arrival_millis: None }
    }

    /// The commit loop hands the store only the shards that changed since
    /// its previous commit, and a last commit when the source closes.
    #[tokio::test]
    async fn the_commit_loop_commits_per_shard_changes() {
        let recording = Arc::new(Recording::default());
        let mut stored = Checkpoint { stream: "s".into(), ..Checkpoint::default() };
        stored.shards.insert("a".into(), after("1"));
        stored.shards.insert("b".into(), after("2"));
        let (tx, rx) = watch::channel(stored.clone());
        let counters = Arc::new(Counters::default());
        let store: Arc<dyn ShardCheckpointStore> = Arc::new(recording.clone());
        let task = tokio::spawn(commit_loop(store, stored.clone(), rx, Duration::from_millis(1), counters.clone()));
        let mut next = stored.clone();
        next.shards.insert("a".into(), after("5"));
        next.shards.remove("b");
        tx.send_replace(next);
        drop(tx);
        task.await.unwrap().unwrap();
        let commits = recording.0.lock().unwrap().clone();
        let last = commits.last().expect("a commit");
        let updates: Vec<(&str, &ShardUpdate)> = last.shards.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(updates, [("a", &ShardUpdate::Set(after("5"))), ("b", &ShardUpdate::Remove)]);
        assert_eq!(counters.stats().checkpoints_written, commits.len() as u64);
    }
}
