//! The coordinator: one task per worker that owns every lease the worker
//! holds. It renews them every renew interval, scans, syncs, cleans up and
//! takes every take interval, and writes checkpoints on request — all in
//! one place, so a lease's counter has one writer and renewal and checkpoint
//! never race (KCL issues #537, #677). A [`LeaseHandle`] talks to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::clock::Clock;
use super::core::{self, Expiry, ListedShard, TakeInput};
use super::error::{LeaseError, LeaseErrorKind};
use super::handle::{Command, HeldView, LeaseHandle, LeaseHealth, StreamIdentity, View};
use super::row::{CheckpointValue, Ext, Lease};
use super::table::{LeaseTable, Outcome};
use crate::checkpoint::{LeaseTableConfig, ShardPosition};

/// Starts coordinators.
#[derive(Debug)]
pub struct LeaseCoordinator;

impl LeaseCoordinator {
    /// Checks (or creates) the table and starts the worker's coordinator.
    /// It takes leases once it is told the stream's shards
    /// ([`LeaseHandle::set_listing`]).
    pub async fn start(
        table: LeaseTable,
        cfg: &LeaseTableConfig,
        identity: StreamIdentity,
        clock: Arc<dyn Clock>,
    ) -> Result<LeaseHandle, LeaseError> {
        table.ensure(cfg.create_table).await?;
        let (tx, rx) = mpsc::channel(64);
        let (view_tx, view) = watch::channel(Arc::new(View::default()));
        let health = Arc::new(Mutex::new(LeaseHealth::default()));
        let identity = Arc::new(identity);
        let actor = Actor {
            table: table.clone(),
            cfg: cfg.clone(),
            identity: identity.clone(),
            clock: clock.clone(),
            held: BTreeMap::new(),
            leases: Vec::new(),
            expiry: Expiry::default(),
            listing: None,
            validated: false,
            ext: Ext { stream: Some(identity.stream.clone()), ..Ext::default() },
            view: view_tx,
            health: health.clone(),
            seed: fastrand::u64(..),
        };
        tokio::spawn(actor.run(rx));
        Ok(LeaseHandle::new(tx, view, health, clock, table, identity))
    }
}

/// A held lease: its counter is ours to move.
#[derive(Debug, Clone)]
struct Held {
    counter: u64,
    /// When the last write that moved the counter was sent, on our clock.
    renewed: Duration,
    position: Option<ShardPosition>,
    parents: BTreeSet<String>,
    /// Taken at `TRIM_HORIZON`.
    trim_horizon: bool,
}

struct Actor {
    table: LeaseTable,
    cfg: LeaseTableConfig,
    identity: Arc<StreamIdentity>,
    clock: Arc<dyn Clock>,
    held: BTreeMap<String, Held>,
    /// The last scan, updated by our own writes.
    leases: Vec<Lease>,
    expiry: Expiry,
    listing: Option<Vec<ListedShard>>,
    validated: bool,
    ext: Ext,
    view: watch::Sender<Arc<View>>,
    health: Arc<Mutex<LeaseHealth>>,
    seed: u64,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut renew = tokio::time::interval(self.cfg.renew_interval.max(Duration::from_millis(10)));
        let mut take = tokio::time::interval(self.cfg.take_interval.max(Duration::from_millis(10)));
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        take.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let fence = self.until_next_deadline();
            tokio::select! {
                _ = renew.tick() => self.renew_all().await,
                _ = take.tick(), if self.listing.is_some() => self.take_cycle().await,
                _ = tokio::time::sleep(fence) => self.fence(),
                cmd = rx.recv() => match cmd {
                    // Every handle is gone without a stop: like a crash, the
                    // leases are left to expire.
                    None => return,
                    Some(Command::Stop { reply }) => {
                        let r = self.release_all().await;
                        let _ = reply.send(r);
                        return;
                    }
                    Some(Command::Listing(l)) => {
                        let first = self.listing.is_none();
                        self.listing = Some(l);
                        if first {
                            self.take_cycle().await;
                            take.reset();
                        }
                    }
                    Some(Command::StreamFields { created_millis, pinned_start_millis }) => {
                        self.ext.stream_created_millis = created_millis.or(self.ext.stream_created_millis);
                        self.ext.pinned_start_millis = pinned_start_millis.or(self.ext.pinned_start_millis);
                    }
                    Some(Command::Checkpoint { shard, position, reply }) => {
                        let r = self.checkpoint(&shard, position).await;
                        let _ = reply.send(r);
                    }
                },
            }
            if self.health.lock().is_ok_and(|h| h.fatal) {
                // The table was refused: hold nothing, take nothing.
                let _ = self.release_all().await;
                while let Some(cmd) = rx.recv().await {
                    match cmd {
                        Command::Stop { reply } => {
                            let _ = reply.send(Ok(0));
                            return;
                        }
                        Command::Checkpoint { reply, .. } => {
                            let _ = reply.send(Ok(false));
                        }
                        _ => {}
                    }
                }
                return;
            }
        }
    }

    fn labels(&self) -> Vec<(&'static str, String)> {
        let mut l = vec![("worker", self.table.worker().to_owned())];
        if let Some(p) = &self.identity.pipeline {
            l.push(("pipeline", p.clone()));
        }
        l
    }

    fn count(&self, name: &'static str, n: usize) {
        if n > 0 {
            metrics::counter!(name, &self.labels()).increment(n as u64);
        }
    }

    fn error(&self, e: &LeaseError) {
        tracing::warn!(table = self.table.name(), worker = self.table.worker(), "{e}");
        if let Ok(mut h) = self.health.lock() {
            h.last_error = Some(e.to_string());
            if e.kind() == LeaseErrorKind::Foreign || e.kind() == LeaseErrorKind::Unreadable {
                h.fatal = true;
            }
        }
    }

    /// The time until the earliest fence deadline of a held lease.
    fn until_next_deadline(&self) -> Duration {
        let now = self.clock.now();
        self.held
            .values()
            .map(|h| core::fence_deadline(h.renewed, self.cfg.failover).saturating_sub(now))
            .min()
            .unwrap_or(Duration::from_secs(3_600))
    }

    /// Drops the leases whose fence deadline passed: the worker must not use them.
    fn fence(&mut self) {
        let now = self.clock.now();
        let failover = self.cfg.failover;
        let expired: Vec<String> =
            self.held.iter().filter(|(_, h)| !core::usable(h.renewed, now, failover)).map(|(k, _)| k.clone()).collect();
        for k in &expired {
            tracing::warn!(table = self.table.name(), shard = %k, "lease not renewed in time: fenced, no longer read or checkpointed");
            self.held.remove(k);
        }
        self.count("kinesis_tables_leases_lost_total", expired.len());
        self.publish();
    }

    fn lost(&mut self, key: &str, why: &str) {
        if self.held.remove(key).is_some() {
            tracing::warn!(table = self.table.name(), shard = key, "lease lost: {why}");
            self.count("kinesis_tables_leases_lost_total", 1);
        }
    }

    fn publish(&self) {
        let by_key: HashMap<&str, &Lease> = self.leases.iter().map(|l| (l.key.as_str(), l)).collect();
        let held = self
            .held
            .iter()
            .map(|(k, h)| {
                let probe = Lease { key: k.clone(), parents: h.parents.clone(), ..Lease::default() };
                let view = HeldView {
                    position: h.position.clone(),
                    deadline: core::fence_deadline(h.renewed, self.cfg.failover),
                    parents_done: core::parents_done(&probe, &by_key),
                    trim_horizon: h.trim_horizon,
                };
                (k.clone(), view)
            })
            .collect();
        metrics::gauge!("kinesis_tables_leases_held", &self.labels()).set(self.held.len() as f64);
        if let Ok(mut h) = self.health.lock() {
            h.held = self.held.len();
        }
        self.view.send_replace(Arc::new(View { held }));
    }

    /// Updates the cached row of `key` after a write of ours.
    fn cache(&mut self, key: &str, f: impl FnOnce(&mut Lease)) {
        if let Some(l) = self.leases.iter_mut().find(|l| l.key == key) {
            f(l);
        }
    }

    async fn renew_all(&mut self) {
        let now = self.clock.now();
        let keys: Vec<(String, u64)> = self.held.iter().map(|(k, h)| (k.clone(), h.counter)).collect();
        let mut changed = false;
        for (key, counter) in keys {
            if !self.held.get(&key).is_some_and(|h| core::usable(h.renewed, now, self.cfg.failover)) {
                continue;
            }
            let sent = self.clock.now();
            let started = std::time::Instant::now();
            // A renewal must not hold up the others past their deadlines.
            let renewed = tokio::time::timeout(self.cfg.renew_interval.max(Duration::from_millis(100)), self.table.renew(&key, counter))
                .await
                .unwrap_or_else(|_| Err(LeaseError::new(LeaseErrorKind::DynamoDb, format!("renewing lease `{key}` timed out"))));
            match renewed {
                Ok(Outcome::Applied) => {
                    metrics::histogram!("kinesis_tables_lease_renewal_seconds", &self.labels()).record(started.elapsed().as_secs_f64());
                    if let Some(h) = self.held.get_mut(&key) {
                        h.counter = counter + 1;
                        h.renewed = sent;
                    }
                    self.expiry.wrote(&key, counter + 1, sent);
                    self.cache(&key, |l| l.counter = counter + 1);
                    changed = true;
                }
                Ok(Outcome::Lost) => {
                    self.lost(&key, "the renewal found another counter or owner");
                    changed = true;
                }
                Err(e) => self.error(&e),
            }
        }
        if changed {
            self.publish();
        }
    }

    async fn checkpoint(&mut self, shard: &str, position: ShardPosition) -> Result<bool, LeaseError> {
        let now = self.clock.now();
        let Some(h) = self.held.get(shard).cloned() else { return Ok(false) };
        if !core::usable(h.renewed, now, self.cfg.failover) {
            self.fence();
            return Ok(false);
        }
        if h.position.as_ref() == Some(&position) {
            // The row already holds it (the position the lease was taken at).
            return Ok(true);
        }
        let children: Vec<String> = match position {
            ShardPosition::Finished => {
                self.listing.iter().flatten().filter(|s| s.parents.iter().any(|p| p == shard)).map(|s| s.id.clone()).collect()
            }
            _ => Vec::new(),
        };
        let value = CheckpointValue::of(&position);
        let sent = self.clock.now();
        match self.table.checkpoint(shard, h.counter, &value, &self.ext, &children).await {
            Ok(Outcome::Applied) => {
                if let Some(h) = self.held.get_mut(shard) {
                    h.counter += 1;
                    h.renewed = sent;
                    h.position = Some(position);
                }
                let counter = h.counter + 1;
                self.expiry.wrote(shard, counter, sent);
                self.cache(shard, |l| {
                    l.counter = counter;
                    l.checkpoint = Some(value.checkpoint.clone());
                    l.sub_sequence = value.sub_sequence;
                    l.children.extend(children);
                });
                self.publish();
                Ok(true)
            }
            Ok(Outcome::Lost) => {
                self.lost(shard, "the checkpoint found another counter or owner");
                self.publish();
                Ok(false)
            }
            Err(e) => {
                self.error(&e);
                Err(e)
            }
        }
    }

    async fn release_all(&mut self) -> Result<usize, LeaseError> {
        let keys: Vec<String> = self.held.keys().cloned().collect();
        let mut released = 0;
        let mut first_error = None;
        for key in keys {
            match self.table.release(&key).await {
                Ok(Outcome::Applied) => released += 1,
                Ok(Outcome::Lost) => {}
                Err(e) => {
                    self.error(&e);
                    first_error.get_or_insert(e);
                }
            }
            self.held.remove(&key);
        }
        self.count("kinesis_tables_leases_released_total", released);
        self.publish();
        match first_error {
            Some(e) => Err(e),
            None => Ok(released),
        }
    }

    /// Scan, check the table (once), reconcile, create leases, delete
    /// finished ones, then take and steal.
    async fn take_cycle(&mut self) {
        if let Err(e) = self.try_take_cycle().await {
            self.error(&e);
        }
        // Also after an error: the source asks again and sees a refused table.
        self.publish();
    }

    async fn try_take_cycle(&mut self) -> Result<(), LeaseError> {
        let Some(listing) = self.listing.clone() else { return Ok(()) };
        let leases = self.table.scan().await?;
        if !self.validated {
            core::check_table(&leases, &listing, &self.identity.stream)?;
            self.validated = true;
        }
        let now = self.clock.now();
        self.expiry.observe(&leases, now);
        // A held lease whose row moved without us is lost.
        let by_key: HashMap<&str, &Lease> = leases.iter().map(|l| (l.key.as_str(), l)).collect();
        let gone: Vec<String> = self
            .held
            .iter()
            .filter(|(k, h)| {
                by_key.get(k.as_str()).is_none_or(|l| l.counter != h.counter || l.owner.as_deref() != Some(self.table.worker()))
            })
            .map(|(k, _)| k.clone())
            .collect();
        self.leases = leases;
        for k in gone {
            self.lost(&k, "the table shows another counter or owner");
        }
        self.sync(&listing).await?;
        self.take(now).await?;
        if let Ok(mut h) = self.health.lock() {
            h.started = true;
            h.last_error = None;
        }
        Ok(())
    }

    /// Creates the leases the listing calls for, and deletes held, finished leases.
    async fn sync(&mut self, listing: &[ListedShard]) -> Result<(), LeaseError> {
        for lease in core::leases_to_create(listing, &self.leases, self.identity.initial, &self.ext) {
            if self.table.create(&lease).await? == Outcome::Applied {
                self.leases.push(lease);
            }
        }
        let by_key: HashMap<&str, &Lease> = self.leases.iter().map(|l| (l.key.as_str(), l)).collect();
        let doomed: Vec<(String, u64)> = self
            .held
            .iter()
            .filter(|(k, _)| {
                let kids: Vec<&str> = listing.iter().filter(|s| s.parents.iter().any(|p| p == *k)).map(|s| s.id.as_str()).collect();
                by_key.get(k.as_str()).is_some_and(|l| core::deletable(l, &by_key, &kids))
            })
            .map(|(k, h)| (k.clone(), h.counter))
            .collect();
        for (key, counter) in doomed {
            if self.table.delete(&key, counter).await? == Outcome::Applied {
                tracing::info!(table = self.table.name(), shard = %key, "deleted a finished lease");
            }
            self.held.remove(&key);
            self.leases.retain(|l| l.key != key);
        }
        Ok(())
    }

    async fn take(&mut self, now: Duration) -> Result<(), LeaseError> {
        let held: BTreeSet<String> = self.held.keys().cloned().collect();
        self.seed = self.seed.wrapping_add(1);
        let plan = core::plan(TakeInput {
            me: self.table.worker(),
            leases: &self.leases,
            held: &held,
            expiry: &self.expiry,
            now,
            failover: self.cfg.failover,
            max_steal: self.cfg.max_leases_to_steal,
            max_per_worker: self.cfg.max_leases_per_worker,
            seed: self.seed,
        });
        let (mut taken, mut stolen) = (0, 0);
        for (key, steal) in plan.take.iter().map(|k| (k, false)).chain(plan.steal.iter().map(|k| (k, true))) {
            let Some(l) = self.leases.iter().find(|l| &l.key == key).cloned() else { continue };
            let sent = self.clock.now();
            if self.table.take(key, l.counter, l.owner.as_deref()).await? == Outcome::Applied {
                let held = Held {
                    counter: l.counter + 1,
                    renewed: sent,
                    position: l.position(),
                    parents: l.parents.clone(),
                    trim_horizon: l.checkpoint.as_deref() == Some(super::row::TRIM_HORIZON),
                };
                self.held.insert(key.clone(), held);
                self.expiry.wrote(key, l.counter + 1, sent);
                let me = self.table.worker().to_owned();
                self.cache(key, |c| {
                    c.counter += 1;
                    c.owner = Some(me);
                });
                if steal {
                    stolen += 1
                } else {
                    taken += 1
                }
                tracing::info!(table = self.table.name(), shard = %key, from = ?l.owner, steal, "took a lease");
            }
        }
        self.count("kinesis_tables_leases_taken_total", taken);
        self.count("kinesis_tables_leases_stolen_total", stolen);
        Ok(())
    }
}
