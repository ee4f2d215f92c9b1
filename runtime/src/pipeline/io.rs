//! A pipeline's two ends behind traits: [`PipelineSource`] (a Kinesis stream
//! or generated rows) and [`PipelineSink`] (a Kinesis stream, the terminal,
//! or nothing).
//!
//! The source is called once per batch, so the run holds it as a
//! `Box<dyn PipelineSource>`; the sink is called once per record, so the run
//! loop is generic over it (static dispatch on the hot path).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{PipelineError, PipelineOptions};
use crate::Record;
use crate::checkpoint::{CheckpointStoreConfig, FileCheckpointStore, LeaseTableConfig};
use crate::config::TableConfig;
use crate::datagen::Datagen;
use crate::lease::SourceLeases;
use crate::print::{Blackhole, PrintSink};
use crate::sink::{Sink, SinkError, SinkStats};
use crate::source::{Ack, Batch, Source, SourceError, SourceStats};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One batch from a pipeline's source: its records, what acknowledges it,
/// and (from Kinesis) where each record came from.
pub(crate) struct Pulled<S> {
    pub(crate) records: Vec<S>,
    pub(crate) ack: Option<Ack>,
    /// The source batch, its records taken: for [`Batch::origin`].
    from: Option<Batch<S>>,
}

impl<S> Pulled<S> {
    /// The Kinesis shard the batch was read from (`None` for generated rows).
    pub(crate) fn shard(&self) -> Option<&std::sync::Arc<str>> {
        self.from.as_ref().map(|b| &b.shard_id)
    }

    /// Names where record `i` came from, for an error message.
    pub(crate) fn origin_text(&self, i: usize) -> String {
        match &self.from {
            Some(b) => match b.origin(i) {
                Some(o) => match o.sub_sequence_number {
                    Some(sub) => {
                        format!("shard {}, sequence number {}, sub-sequence number {sub}", b.shard_id, o.sequence_number)
                    }
                    None => format!("shard {}, sequence number {}", b.shard_id, o.sequence_number),
                },
                None => format!("shard {}, record {i} of a batch", b.shard_id),
            },
            None => format!("generated row {i} of a batch"),
        }
    }
}

/// Where a pipeline's records come from. Called once per batch.
pub(crate) trait PipelineSource<S>: Send {
    /// The next batch and what acknowledges it; `None` once a bounded source is done.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Pulled<S>>, PipelineError>>;
    /// The sink has written every record made from the batch `ack` came with.
    fn ack(&mut self, ack: Ack);
    /// Each shard's lag behind the tip, in milliseconds.
    fn lag(&self) -> BTreeMap<String, i64>;
    /// Whether every shard's reader has read to the tip (a GetRecords reported
    /// no lag) — not merely that no records came: a shard whose first read is
    /// still under way is not caught up.
    fn caught_up(&self) -> bool;
    fn stats(&self) -> SourceStats;
    /// Commits what was acknowledged and stops.
    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), PipelineError>>;
    /// Whether records of a shard may still be written (a lease table:
    /// the shard's lease is held and usable); `None`: always.
    fn origin_fence(&self) -> Option<crate::sink::OriginFence> {
        None
    }
}

/// Where a pipeline's records go. Called once per record (`send`), so the
/// run loop is generic over it.
pub(crate) trait PipelineSink<D>: Send + Sized {
    /// Accepts one record, waiting while the sink is full.
    fn send(&mut self, record: &D) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// [`PipelineSink::send`] of a record made from a record of source shard `origin`.
    fn send_from(&mut self, record: &D, origin: Option<&std::sync::Arc<str>>) -> impl Future<Output = Result<(), SinkError>> + Send {
        let _ = origin;
        self.send(record)
    }
    /// Starts no new writes of records from shards `usable` refuses.
    fn fence_origins(&mut self, usable: crate::sink::OriginFence) {
        let _ = usable;
    }
    /// After each source batch: the local sinks write out and acknowledge.
    fn end_batch(&mut self) -> Result<(), SinkError>;
    /// Waits until everything accepted is written (or given up on).
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// Stops at once, abandoning what is not yet written.
    fn abort(self) -> SinkStats;
    fn close(self) -> impl Future<Output = Result<SinkStats, SinkError>> + Send;
    /// A failure of the sink's background work, if any.
    fn check(&self) -> Result<(), SinkError>;
    /// How many records `send` accepted.
    fn accepted(&self) -> u64;
    /// The count of leading records written, as it changes.
    fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64>;
    fn stats(&self) -> SinkStats;
}

/// Starts the source `S`'s table names: a Kinesis stream (with this
/// pipeline's checkpoint) or the `datagen` generator.
pub(crate) async fn start_source<S: Record>(name: &str, options: &PipelineOptions) -> Result<Box<dyn PipelineSource<S>>, PipelineError> {
    use crate::config::ConnectorKind;
    let cfg = S::config().map_err(|e| PipelineError::Source(SourceError::Setup(e.to_string().into())))?;
    Ok(match (cfg.connector, &options.checkpoint_store) {
        (ConnectorKind::Datagen, _) => Box::new(Datagen::<S>::start().map_err(|e| PipelineError::Generator(e.0))?),
        (_, CheckpointStoreConfig::DynamoDb(leases)) => Box::new(LeasedSource::<S>::start(name, &cfg, leases, options).await?),
        (_, CheckpointStoreConfig::File) => Box::new(
            Source::<S>::builder()
                .checkpoints(FileCheckpointStore::open(&options.checkpoint_dir, name).map_err(|e| match e.is_locked() {
                    true => PipelineError::CheckpointLocked(e.to_string()),
                    false => PipelineError::Source(SourceError::Checkpoint(e.to_string().into())),
                })?)
                .commit_interval(options.commit_interval)
                .on_data_loss(options.on_data_loss)
                .start()
                .await?,
        ),
    })
}

impl<S: Record> PipelineSource<S> for Source<S> {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Pulled<S>>, PipelineError>> {
        Box::pin(async move {
            let mut b = Source::next(self).await?;
            let records = std::mem::take(&mut b.records);
            Ok(Some(Pulled { records, ack: Some(b.ack.clone()), from: Some(b) }))
        })
    }

    fn ack(&mut self, ack: Ack) {
        Source::ack(self, ack);
    }

    fn lag(&self) -> BTreeMap<String, i64> {
        Source::lag(self)
    }

    fn caught_up(&self) -> bool {
        let (status, lag) = (self.shard_status(), Source::lag(self));
        !status.is_empty()
            && status.iter().all(|(id, st)| match *st {
                "reading" => lag.get(id) == Some(&0),
                "starting" => false,
                _ => true,
            })
    }

    fn stats(&self) -> SourceStats {
        Source::stats(self)
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), PipelineError>> {
        Box::pin(async move {
            Source::close(*self).await?;
            Ok(())
        })
    }
}

impl<S: Record> PipelineSource<S> for Datagen<S> {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Pulled<S>>, PipelineError>> {
        Box::pin(async move {
            let rows = Datagen::next(self).await.map_err(|e| PipelineError::Generator(e.0))?;
            Ok(rows.map(|records| Pulled { records, ack: None, from: None }))
        })
    }

    fn ack(&mut self, _ack: Ack) {}

    fn lag(&self) -> BTreeMap<String, i64> {
        BTreeMap::new()
    }

    fn caught_up(&self) -> bool {
        true
    }

    fn stats(&self) -> SourceStats {
        SourceStats { records: self.produced(), ..SourceStats::default() }
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), PipelineError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

impl<D: Record + Sync> PipelineSink<D> for Sink<D> {
    fn send(&mut self, record: &D) -> impl Future<Output = Result<(), SinkError>> + Send {
        Sink::send(self, record)
    }

    async fn send_from(&mut self, record: &D, origin: Option<&std::sync::Arc<str>>) -> Result<(), SinkError> {
        match origin {
            Some(o) if self.is_fenced() => Sink::send_from(self, record, o.clone()).await,
            _ => Sink::send(self, record).await,
        }
    }

    fn fence_origins(&mut self, usable: crate::sink::OriginFence) {
        Sink::fence_origins(self, usable);
    }

    fn end_batch(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        Sink::flush(self)
    }

    fn abort(self) -> SinkStats {
        Sink::abort(self)
    }

    fn close(self) -> impl Future<Output = Result<SinkStats, SinkError>> + Send {
        Sink::close(self)
    }

    fn check(&self) -> Result<(), SinkError> {
        Sink::check(self)
    }

    fn accepted(&self) -> u64 {
        Sink::accepted(self)
    }

    fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64> {
        Sink::acknowledgements(self)
    }

    fn stats(&self) -> SinkStats {
        Sink::stats(self)
    }
}

impl<D: Record + Sync> PipelineSink<D> for PrintSink<D> {
    fn send(&mut self, record: &D) -> impl Future<Output = Result<(), SinkError>> + Send {
        std::future::ready(PrintSink::send(self, record))
    }

    fn end_batch(&mut self) -> Result<(), SinkError> {
        PrintSink::flush(self)
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        std::future::ready(PrintSink::flush(self))
    }

    fn abort(self) -> SinkStats {
        PrintSink::stats(&self)
    }

    async fn close(mut self) -> Result<SinkStats, SinkError> {
        PrintSink::flush(&mut self)?;
        Ok(PrintSink::stats(&self))
    }

    fn check(&self) -> Result<(), SinkError> {
        PrintSink::check(self)
    }

    fn accepted(&self) -> u64 {
        PrintSink::accepted(self)
    }

    fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64> {
        PrintSink::acknowledgements(self)
    }

    fn stats(&self) -> SinkStats {
        PrintSink::stats(self)
    }
}

impl<D: Record + Sync> PipelineSink<D> for Blackhole<D> {
    fn send(&mut self, record: &D) -> impl Future<Output = Result<(), SinkError>> + Send {
        Blackhole::send(self, record);
        std::future::ready(Ok(()))
    }

    fn end_batch(&mut self) -> Result<(), SinkError> {
        Blackhole::flush(self);
        Ok(())
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        Blackhole::flush(self);
        std::future::ready(Ok(()))
    }

    fn abort(self) -> SinkStats {
        Blackhole::stats(&self)
    }

    async fn close(mut self) -> Result<SinkStats, SinkError> {
        Blackhole::flush(&mut self);
        Ok(Blackhole::stats(&self))
    }

    fn check(&self) -> Result<(), SinkError> {
        Ok(())
    }

    fn accepted(&self) -> u64 {
        Blackhole::accepted(self)
    }

    fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64> {
        Blackhole::acknowledgements(self)
    }

    fn stats(&self) -> SinkStats {
        Blackhole::stats(self)
    }
}

/// The Kinesis source of a pipeline on a lease table.
pub(crate) struct LeasedSource<S: Record> {
    source: Source<S>,
    leases: crate::lease::LeaseHandle,
}

fn setup(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Source(SourceError::Setup(e.to_string().into()))
}

impl<S: Record> LeasedSource<S> {
    pub(crate) async fn start(
        name: &str,
        cfg: &TableConfig,
        leases: &LeaseTableConfig,
        options: &PipelineOptions,
    ) -> Result<Self, PipelineError> {
        let client = crate::lease::dynamodb_client(leases).await.map_err(setup)?;
        let worker = leases.worker_id.as_ref().map(|w| w.to_string()).unwrap_or_else(crate::lease::default_worker_id);
        let table = crate::lease::LeaseTable::new(client, leases.table.to_string(), worker);
        let identity = crate::lease::stream_identity(cfg, Some(name));
        let handle =
            crate::lease::LeaseCoordinator::start(table, leases, identity, Arc::new(crate::lease::BootClock)).await.map_err(setup)?;
        crate::lease::register(name, handle.clone());
        let started = Source::<S>::builder()
            .leases(handle.clone())
            .commit_interval(leases.commit_interval.unwrap_or(options.commit_interval))
            .on_data_loss(options.on_data_loss)
            .start()
            .await;
        match started {
            Ok(source) => Ok(LeasedSource { source, leases: handle }),
            Err(e) => {
                let _ = handle.stop().await;
                Err(e.into())
            }
        }
    }
}

impl<S: Record> PipelineSource<S> for LeasedSource<S> {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Pulled<S>>, PipelineError>> {
        PipelineSource::next(&mut self.source)
    }

    fn ack(&mut self, ack: Ack) {
        Source::ack(&mut self.source, ack);
    }

    fn lag(&self) -> BTreeMap<String, i64> {
        Source::lag(&self.source)
    }

    fn caught_up(&self) -> bool {
        PipelineSource::caught_up(&self.source)
    }

    fn stats(&self) -> SourceStats {
        Source::stats(&self.source)
    }

    fn origin_fence(&self) -> Option<crate::sink::OriginFence> {
        let leases = self.leases.clone();
        Some(Arc::new(move |shard: &str| leases.usable(shard)))
    }

    /// Commits what was acknowledged, then releases the leases so that
    /// other workers take them at once.
    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), PipelineError>> {
        Box::pin(async move {
            let LeasedSource { source, leases } = *self;
            let closed = Source::close(source).await;
            let released = leases.stop().await;
            closed?;
            released.map_err(setup)?;
            Ok(())
        })
    }
}
