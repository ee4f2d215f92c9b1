//! The handle to a worker's coordinator: what the source, the checkpoint
//! store and readiness probes ask of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::clock::Clock;
use super::core::ListedShard;
use super::error::{LeaseError, LeaseErrorKind};
use super::table::LeaseTable;
use crate::checkpoint::ShardPosition;

/// The stream a pipeline reads and how new root leases start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamIdentity {
    /// The stream's id as checkpoints name it (its ARN or name).
    pub stream: String,
    /// The checkpoint of a new lease of a shard without a leased parent:
    /// `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`.
    pub initial: &'static str,
    /// The pipeline, for the `pipeline` metric label.
    pub pipeline: Option<String>,
}

/// What readiness probes ask of the lease coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseHealth {
    /// The first scan of the table succeeded (after the first shard listing).
    pub started: bool,
    /// Leases held now.
    pub held: usize,
    /// The last failure, cleared by the next successful take cycle.
    pub last_error: Option<String>,
    /// The coordinator refused the table or stopped: it will not recover.
    pub fatal: bool,
}

/// One held lease, as the rest of the worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeldView {
    /// The lease's checkpoint when taken, or our last checkpoint of it.
    pub(crate) position: Option<ShardPosition>,
    /// When it stops being usable, on the coordinator's clock.
    pub(crate) deadline: Duration,
    /// Every parent lease is at SHARD_END or gone.
    pub(crate) parents_done: bool,
    /// The lease was taken at `TRIM_HORIZON`.
    pub(crate) trim_horizon: bool,
}

/// What the coordinator publishes after every change.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub(crate) held: BTreeMap<String, HeldView>,
}

pub(super) enum Command {
    Listing(Vec<ListedShard>),
    StreamFields { created_millis: Option<i64>, pinned_start_millis: Option<i64> },
    Checkpoint { shard: String, position: ShardPosition, reply: oneshot::Sender<Result<bool, LeaseError>> },
    Stop { reply: oneshot::Sender<Result<usize, LeaseError>> },
}

/// Talks to a worker's coordinator. Cloneable.
#[derive(Clone)]
pub struct LeaseHandle {
    tx: mpsc::Sender<Command>,
    view: watch::Receiver<Arc<View>>,
    health: Arc<Mutex<LeaseHealth>>,
    clock: Arc<dyn Clock>,
    table: LeaseTable,
    identity: Arc<StreamIdentity>,
}

impl std::fmt::Debug for LeaseHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseHandle").field("table", &self.table.name()).field("worker", &self.table.worker()).finish()
    }
}

impl LeaseHandle {
    pub(super) fn new(
        tx: mpsc::Sender<Command>,
        view: watch::Receiver<Arc<View>>,
        health: Arc<Mutex<LeaseHealth>>,
        clock: Arc<dyn Clock>,
        table: LeaseTable,
        identity: Arc<StreamIdentity>,
    ) -> Self {
        LeaseHandle { tx, view, health, clock, table, identity }
    }

    /// This worker's id (`leaseOwner`).
    pub fn worker(&self) -> &str {
        self.table.worker()
    }

    pub fn table(&self) -> &LeaseTable {
        &self.table
    }

    pub fn identity(&self) -> &StreamIdentity {
        &self.identity
    }

    /// Readiness: started, leases held, the last error.
    pub fn health(&self) -> LeaseHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_else(|_| LeaseHealth {
            last_error: Some("lease health lock poisoned".into()),
            fatal: true,
            ..LeaseHealth::default()
        })
    }

    /// Tells the coordinator the stream's shards (after every listing).
    pub async fn set_listing(&self, listed: Vec<ListedShard>) -> Result<(), LeaseError> {
        self.send(Command::Listing(listed)).await
    }

    /// The stream-wide fields our rows carry (stream creation time, pinned LATEST).
    pub async fn set_stream_fields(&self, created_millis: Option<i64>, pinned_start_millis: Option<i64>) -> Result<(), LeaseError> {
        self.send(Command::StreamFields { created_millis, pinned_start_millis }).await
    }

    async fn send(&self, c: Command) -> Result<(), LeaseError> {
        self.tx.send(c).await.map_err(|_| stopped())
    }

    /// Writes a checkpoint of a held, usable lease. `Ok(false)`: the lease
    /// is not held (lost, fenced, or never taken) and nothing was written.
    pub async fn checkpoint(&self, shard: &str, position: ShardPosition) -> Result<bool, LeaseError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Checkpoint { shard: shard.to_owned(), position, reply }).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Releases every held lease (owner removed, counter bumped, as the
    /// KCL's evictLease) so that other workers take them at once, and stops.
    /// Returns how many were released.
    pub async fn stop(&self) -> Result<usize, LeaseError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Stop { reply }).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// The leases to read now: held, still usable on this worker's clock,
    /// and with every parent finished — with their positions.
    pub(crate) fn readable(&self) -> BTreeMap<String, Option<ShardPosition>> {
        let now = self.clock.now();
        let view = self.view.borrow().clone();
        view.held.iter().filter(|(_, h)| h.parents_done && now < h.deadline).map(|(k, h)| (k.clone(), h.position.clone())).collect()
    }

    /// For a held lease at a start sentinel: whether it starts at
    /// TRIM_HORIZON (`TRIM_HORIZON`) or at the configured start (`LATEST`,
    /// `AT_TIMESTAMP`, whose time the row does not keep).
    pub(crate) fn start_at_trim_horizon(&self, shard: &str) -> Option<bool> {
        self.view.borrow().held.get(shard).filter(|h| h.position.is_none()).map(|h| h.trim_horizon)
    }

    /// Whether `shard` is held and usable now.
    pub fn usable(&self, shard: &str) -> bool {
        let now = self.clock.now();
        self.view.borrow().held.get(shard).is_some_and(|h| now < h.deadline)
    }

    /// The ids of the leases held now (usable or not).
    pub fn held(&self) -> BTreeSet<String> {
        self.view.borrow().held.keys().cloned().collect()
    }

    /// Whether a worker other than this one holds a lease in the table (a
    /// consistent scan): a shared EFO consumer stays while one does.
    pub async fn others_hold_leases(&self) -> Result<bool, LeaseError> {
        let me = self.table.worker();
        Ok(self.table.scan().await?.iter().any(|l| l.owner.as_deref().is_some_and(|o| o != me)))
    }

    /// Waits until the held leases change.
    /// Waits until the held leases change, or the next held lease's fence
    /// deadline passes — on its own, so that the source stops reading a
    /// lease at its deadline even while the coordinator waits on DynamoDB.
    pub async fn changed(&self) {
        let mut v = self.view.clone();
        let now = self.clock.now();
        let next = v.borrow().held.values().map(|h| h.deadline).filter(|d| *d > now).min();
        let until = next.map_or(Duration::from_secs(3_600), |d| d - now + Duration::from_millis(1));
        tokio::select! {
            changed = v.changed() => {
                if changed.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            _ = tokio::time::sleep(until) => {}
        }
    }
}

fn stopped() -> LeaseError {
    LeaseError::new(LeaseErrorKind::Stopped, "the lease coordinator has stopped")
}
