//! A pipeline's source on a lease table: the Kinesis source reading the
//! shards this worker holds leases on, and on a clean stop the hand-over
//! of those leases.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::clock::BootClock;
use super::coordinator::{LeaseCoordinator, LeaseHandle, LeaseHealth, StreamIdentity};
use super::row::{AT_TIMESTAMP, LATEST, TRIM_HORIZON};
use super::table::LeaseTable;
use crate::Record;
use crate::checkpoint::LeaseTableConfig;
use crate::config::{StartPosition, TableConfig};
use crate::pipeline::io::{PipelineSource, Pulled};
use crate::pipeline::{PipelineError, PipelineOptions};
use crate::source::{Ack, Source, SourceError, SourceStats};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, PipelineError>> + Send + 'a>>;

/// Every coordinator this process started, for readiness probes.
fn registry() -> &'static Mutex<Vec<(String, LeaseHandle)>> {
    static REGISTRY: OnceLock<Mutex<Vec<(String, LeaseHandle)>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The lease health of every pipeline of this process that uses a lease
/// table, by pipeline name (for `/readyz`).
pub fn health() -> Vec<(String, LeaseHealth)> {
    registry().lock().map(|r| r.iter().map(|(n, h)| (n.clone(), h.health())).collect()).unwrap_or_default()
}

/// The checkpoint a new root lease starts at, from the table's start position.
pub fn initial_sentinel(start: &StartPosition) -> &'static str {
    match start {
        StartPosition::TrimHorizon => TRIM_HORIZON,
        StartPosition::Latest => LATEST,
        StartPosition::AtTimestamp { .. } => AT_TIMESTAMP,
    }
}

/// The identity of the stream table `cfg` reads, as its checkpoints name
/// it, with the start position of new root leases.
pub fn stream_identity(cfg: &TableConfig, pipeline: Option<&str>) -> StreamIdentity {
    StreamIdentity {
        stream: crate::stream::Target::new(&cfg.stream).id().to_owned(),
        initial: initial_sentinel(&cfg.source.start),
        pipeline: pipeline.map(str::to_owned),
    }
}

/// The Kinesis source of a pipeline on a lease table.
pub(crate) struct LeasedSource<S: Record> {
    source: Source<S>,
    leases: LeaseHandle,
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
        let client = super::dynamodb_client(leases).await.map_err(setup)?;
        let worker = leases.worker_id.as_ref().map(|w| w.to_string()).unwrap_or_else(super::default_worker_id);
        let table = LeaseTable::new(client, leases.table.to_string(), worker);
        let identity = stream_identity(cfg, Some(name));
        let handle = LeaseCoordinator::start(table, leases, identity, Arc::new(BootClock)).await.map_err(setup)?;
        if let Ok(mut r) = registry().lock() {
            r.push((name.to_owned(), handle.clone()));
        }
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
    fn next(&mut self) -> BoxFuture<'_, Option<Pulled<S>>> {
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
    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
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
