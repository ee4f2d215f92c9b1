//! The source's side of the lease table: the checkpoint store (positions
//! come from, and go to, the lease rows, through the coordinator) and the
//! shard assigner (the held, usable leases whose parents are finished).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use super::core::ListedShard;
use super::error::LeaseErrorKind;
use super::handle::LeaseHandle;
use crate::checkpoint::{
    BoxFuture, Checkpoint, CheckpointCommit, CheckpointError, CheckpointErrorKind, ShardCheckpointStore, ShardPosition, ShardUpdate,
};
use crate::source::SourceError;
use crate::source::discovery::ShardAssigner;
use crate::source::shards::ShardInfo;

/// Checkpoints in the lease table: [`ShardCheckpointStore`] over a [`LeaseHandle`].
///
/// A commit writes each changed shard's position into its lease, conditional
/// on the counter and owner. A shard whose lease this worker no longer holds
/// is not written (it is counted as lost by the coordinator, and the source
/// stops reading it); a write that fails for another reason is retried with
/// the next commit, and the final commit at close reports it.
#[derive(Debug)]
pub struct LeaseCheckpoints {
    handle: LeaseHandle,
    /// Positions whose write failed, retried with the next commit.
    unwritten: Mutex<BTreeMap<String, ShardPosition>>,
}

impl LeaseCheckpoints {
    pub fn new(handle: LeaseHandle) -> Self {
        LeaseCheckpoints { handle, unwritten: Mutex::new(BTreeMap::new()) }
    }
}

fn failed(e: super::LeaseError) -> CheckpointError {
    let kind = match e.kind() {
        LeaseErrorKind::Unreadable => CheckpointErrorKind::Unreadable,
        LeaseErrorKind::Stopped => CheckpointErrorKind::Unavailable,
        _ => CheckpointErrorKind::Io,
    };
    CheckpointError::new(kind, e.message().to_owned()).with_source(e)
}

impl ShardCheckpointStore for LeaseCheckpoints {
    /// Every lease's position, and the stream-wide fields our rows carry;
    /// `None` when the table has no lease.
    fn load(&self) -> BoxFuture<'_, Result<Option<Checkpoint>, CheckpointError>> {
        Box::pin(async move {
            let leases = self.handle.table().scan().await.map_err(failed)?;
            if leases.is_empty() {
                return Ok(None);
            }
            let mut cp = Checkpoint { stream: self.handle.identity().stream.clone(), ..Checkpoint::default() };
            for l in &leases {
                cp.pinned_start_millis = cp.pinned_start_millis.or(l.ext.pinned_start_millis);
                cp.stream_created_millis = cp.stream_created_millis.or(l.ext.stream_created_millis);
                if let Some(s) = &l.ext.stream
                    && *s != cp.stream
                {
                    // The source refuses a checkpoint of another stream, naming it.
                    cp.stream = s.clone();
                }
                if let Some(p) = l.position() {
                    cp.shards.insert(l.key.clone(), p);
                }
            }
            self.handle.set_stream_fields(cp.stream_created_millis, cp.pinned_start_millis).await.map_err(failed)?;
            Ok(Some(cp))
        })
    }

    fn commit(&self, commit: CheckpointCommit) -> BoxFuture<'_, Result<(), CheckpointError>> {
        Box::pin(async move {
            self.handle.set_stream_fields(commit.stream_created_millis, commit.pinned_start_millis).await.map_err(failed)?;
            let mut todo = std::mem::take(&mut *self.unwritten.lock().map_err(|_| poisoned())?);
            for (id, u) in commit.shards {
                match u {
                    ShardUpdate::Set(p) => {
                        todo.insert(id, p);
                    }
                    // Finished leases are deleted by the coordinator's clean-up, as the KCL does.
                    ShardUpdate::Remove => {
                        todo.remove(&id);
                    }
                }
            }
            let mut first_error = None;
            let mut left = BTreeMap::new();
            for (id, p) in todo {
                match self.handle.checkpoint(&id, p.clone()).await {
                    Ok(true) => {}
                    Ok(false) => tracing::debug!(shard = %id, "not checkpointed: the lease is not held"),
                    Err(e) => {
                        first_error.get_or_insert(e);
                        left.insert(id, p);
                    }
                }
            }
            let unwritten = left.len();
            *self.unwritten.lock().map_err(|_| poisoned())? = left;
            match first_error {
                // Retried with the next commit; the coordinator's health shows it.
                Some(e) if self.handle.health().fatal => Err(failed(e)),
                Some(e) => {
                    tracing::warn!("{unwritten} checkpoint(s) not written, retried with the next commit: {e}");
                    Ok(())
                }
                None => Ok(()),
            }
        })
    }
}

fn poisoned() -> CheckpointError {
    CheckpointError::new(CheckpointErrorKind::Unavailable, "lease checkpoint lock poisoned")
}

/// Assigns the shards whose leases this worker holds, may still use, and
/// whose parents are finished.
#[derive(Debug)]
pub struct LeaseAssigner {
    handle: LeaseHandle,
}

impl LeaseAssigner {
    pub fn new(handle: LeaseHandle) -> Self {
        LeaseAssigner { handle }
    }
}

impl ShardAssigner for LeaseAssigner {
    fn assign<'a>(&'a self, listed: &'a [ShardInfo]) -> BoxFuture<'a, Result<HashSet<String>, SourceError>> {
        Box::pin(async move {
            let shards = listed.iter().map(|s| ListedShard { id: s.id.clone(), parents: s.parents.clone(), range: s.range }).collect();
            self.handle.set_listing(shards).await.map_err(|e| SourceError::Checkpoint(e.to_string().into()))?;
            let health = self.handle.health();
            if health.fatal {
                let why = health.last_error.unwrap_or_else(|| "the lease coordinator stopped".into());
                return Err(SourceError::Setup(format!("lease table `{}`: {why}", self.handle.table().name()).into()));
            }
            let listed: HashSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
            Ok(self.handle.readable().into_keys().filter(|k| listed.contains(k.as_str())).collect())
        })
    }

    fn position(&self, shard: &str) -> Option<Option<ShardPosition>> {
        self.handle.readable().remove(shard)
    }

    fn start_at_trim_horizon(&self, shard: &str) -> Option<bool> {
        self.handle.start_at_trim_horizon(shard)
    }

    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.handle.changed())
    }

    fn usable(&self, shard: &str) -> bool {
        self.handle.usable(shard)
    }

    /// No other worker holds a lease (on a failed scan: not known, so no).
    fn last_reader(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { matches!(self.handle.others_hold_leases().await, Ok(false)) })
    }
}

/// A source on a lease table.
pub trait SourceLeases {
    /// Shares the stream with other workers through a lease table: reads
    /// the shards whose leases `leases` holds and checkpoints in the lease
    /// rows. Stop the coordinator ([`LeaseHandle::stop`]) after
    /// [`Source::close`](crate::source::Source::close) to hand the leases over at once.
    fn leases(self, leases: LeaseHandle) -> Self;
}

impl<R: crate::Record> SourceLeases for crate::source::SourceBuilder<R> {
    fn leases(self, leases: LeaseHandle) -> Self {
        self.assigner(std::sync::Arc::new(LeaseAssigner::new(leases.clone()))).shard_checkpoints(LeaseCheckpoints::new(leases))
    }
}
