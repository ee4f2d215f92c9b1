//! The sink's service: the only code that talks to Kinesis (PutRecords,
//! ListShards). It owns the client, the channel from [`super::Sink`], the
//! request tasks and the timers, and translates between them and the pure
//! [`Core`]: records in, requests out, answers back, `now` from the clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::SinkError;
use super::core::Core;
use super::layout::{Layout, ListedShard};
use super::request::{Entry, Reply, Request, UnitResult};
use super::stats::Counters;
use crate::retry::{self, Class};
use crate::stream::Target;

/// What the [`super::Sink`] handle and the worker share.
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    pub(crate) failure: Mutex<Option<String>>,
    /// Every record accepted before this count has been acknowledged.
    pub(crate) acknowledged_through: watch::Sender<u64>,
    /// Per source shard: how many of its records were acknowledged as a prefix.
    pub(crate) by_origin: Mutex<HashMap<Arc<str>, u64>>,
    /// Whether records of a source shard may still be sent.
    pub(crate) fence: Arc<Mutex<Option<super::OriginFence>>>,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            counters: Arc::new(Counters::default()),
            failure: Mutex::new(None),
            acknowledged_through: watch::Sender::new(0),
            by_origin: Mutex::new(HashMap::new()),
            fence: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) fn failed(&self) -> Option<SinkError> {
        let reason = self.failure.lock().ok()?.clone()?;
        Some(SinkError::Failed { reason, given_up: self.counters.given_up.load(std::sync::atomic::Ordering::Relaxed) })
    }
}

pub(crate) type Permit = OwnedSemaphorePermit;

pub(crate) enum Cmd {
    Put(Entry<Permit>),
    Flush(oneshot::Sender<Result<(), SinkError>>),
}

/// Commands taken from the channel before the core is asked for requests:
/// records that arrived together go out together.
const DRAIN: usize = 1024;

pub(crate) struct Worker {
    pub(crate) client: Client,
    pub(crate) target: Arc<Target>,
    pub(crate) core: Core<Permit>,
    pub(crate) rx: mpsc::UnboundedReceiver<Cmd>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) table: &'static str,
    inflight: JoinSet<(Request<Permit>, Reply)>,
    /// Records per PutRecords task, to count them if a task dies.
    task_sizes: HashMap<tokio::task::Id, u64>,
    waiters: Vec<oneshot::Sender<Result<(), SinkError>>>,
    /// The ListShards task under way.
    refresh: Option<tokio::task::JoinHandle<Result<Layout, String>>>,
    /// The failure was published to the handle.
    published_failure: bool,
}

impl Worker {
    pub(crate) fn new(
        client: Client,
        target: Arc<Target>,
        core: Core<Permit>,
        rx: mpsc::UnboundedReceiver<Cmd>,
        permits: Arc<Semaphore>,
        shared: Arc<Shared>,
        table: &'static str,
    ) -> Worker {
        let published_failure = core.failure().is_some();
        Worker {
            client,
            target,
            core,
            rx,
            permits,
            shared,
            table,
            inflight: JoinSet::new(),
            task_sizes: HashMap::new(),
            waiters: Vec::new(),
            refresh: None,
            published_failure,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut open = true;
        // The timer the core asked for, computed with the same `now` as the
        // requests it made: with a later `now` a record that became due in
        // between would be neither sent nor timed (and the sink would stall).
        let mut wake: Option<tokio::time::Instant> = None;
        loop {
            if self.core.awaiting_layout() && self.refresh.is_none() && self.core.failure().is_none() {
                let task = list_shards(self.client.clone(), self.target.clone(), self.core.limits.fail_on_error);
                self.refresh = Some(tokio::spawn(task));
            }
            tokio::select! {
                cmd = self.rx.recv(), if open => match cmd {
                    Some(cmd) => {
                        self.command(cmd);
                        for _ in 0..DRAIN {
                            match self.rx.try_recv() {
                                Ok(cmd) => self.command(cmd),
                                Err(_) => break,
                            }
                        }
                    }
                    None => open = false,
                },
                Some(done) = self.inflight.join_next_with_id(), if !self.inflight.is_empty() => match done {
                    Ok((id, (req, reply))) => {
                        self.task_sizes.remove(&id);
                        self.core.complete(req, reply, Instant::now());
                    }
                    Err(e) => {
                        let lost = self.task_sizes.remove(&e.id()).unwrap_or(0);
                        self.core.request_lost(lost, format!("a PutRecords task failed: {e}"));
                    }
                },
                listed = join_refresh(&mut self.refresh), if self.refresh.is_some() => {
                    self.refresh = None;
                    match listed {
                        Ok(Ok(layout)) => self.core.install_layout(layout),
                        Ok(Err(reason)) => self.core.fail(reason, 0),
                        Err(e) => self.core.fail(format!("the ListShards task failed: {e}"), 0),
                    }
                },
                _ = sleep_until(wake), if wake.is_some() => {}
            }
            self.core.set_flushing(!self.waiters.is_empty());
            let now = Instant::now();
            for req in self.core.take_requests(now) {
                self.spawn(req);
            }
            wake = self.core.next_wake(now).map(tokio::time::Instant::from_std);
            self.publish();
            self.answer_waiters();
            if !open && self.inflight.is_empty() && (self.core.is_idle() || self.core.failure().is_some()) {
                if let Some(r) = self.refresh.take() {
                    r.abort();
                }
                return;
            }
        }
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Put(e) => self.core.receive(e),
            Cmd::Flush(w) => self.waiters.push(w),
        }
    }

    /// Tells the handle what changed: the acknowledgement watermark, the
    /// per-origin counts, a failure.
    fn publish(&mut self) {
        let through = self.core.acknowledged_through();
        self.shared.acknowledged_through.send_if_modified(|w| {
            let changed = *w != through;
            *w = through;
            changed
        });
        if self.core.has_origins()
            && let Ok(mut by) = self.shared.by_origin.lock()
        {
            by.extend(self.core.acknowledged_by_origin());
        }
        if !self.published_failure
            && let Some(reason) = self.core.failure()
        {
            self.published_failure = true;
            if let Ok(mut f) = self.shared.failure.lock() {
                *f = Some(reason.to_owned());
            }
            if let Some(r) = self.refresh.take() {
                r.abort();
            }
            self.permits.close();
        }
    }

    fn spawn(&mut self, mut req: Request<Permit>) {
        let records: Vec<PutRecordsRequestEntry> = req
            .units
            .iter_mut()
            .map(|u| {
                let data = u.aggregated.take().unwrap_or_else(|| u.entries[0].data.clone());
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(data))
                    .partition_key(&*u.key)
                    .build()
                    .expect("data and partition key are set")
            })
            .collect();
        let put = self.client.put_records().set_records(Some(records));
        let by_arn = self.target.arn().is_some();
        let put = match self.target.arn() {
            Some(arn) => put.stream_arn(arn),
            None => put.stream_name(self.target.name()),
        };
        let target = self.target.clone();
        let n = req.records() as u64;
        let handle = self.inflight.spawn(async move {
            let reply = match put.send().await {
                Ok(out) => Reply::Answered(results(&out)),
                // Resent by name right away: not a failure of the records.
                Err(e) if target.refused_arn(&e, by_arn) => Reply::Failed { reason: retry::describe(&e), class: Class::Retarget },
                Err(e) => Reply::Failed { reason: retry::describe(&e), class: retry::classify(&e) },
            };
            (req, reply)
        });
        self.task_sizes.insert(handle.id(), n);
    }

    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        if self.core.failure().is_some() {
            if !self.inflight.is_empty() {
                return;
            }
            let err = self.shared.failed().unwrap_or(SinkError::Failed { reason: "failed".into(), given_up: 0 });
            tracing::error!(table = self.table, "{err}");
            for w in self.waiters.drain(..) {
                let _ = w.send(Err(err.clone()));
            }
        } else if self.core.is_idle() && self.rx.is_empty() {
            for w in self.waiters.drain(..) {
                let _ = w.send(Ok(()));
            }
        }
    }
}

/// PutRecords' answer, one result per record sent. An entry with neither an
/// error nor a sequence number is not an acknowledgement.
fn results(out: &PutRecordsOutput) -> Vec<UnitResult> {
    out.records()
        .iter()
        .map(|r| {
            let missing = r.sequence_number().is_none().then_some("MissingSequenceNumber");
            UnitResult {
                error: r.error_code().or(missing).map(|code| (code.to_owned(), r.error_message().unwrap_or("").to_owned())),
                shard_id: r.shard_id().map(str::to_owned),
            }
        })
        .collect()
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

/// Waits for the ListShards task, if there is one.
async fn join_refresh(
    task: &mut Option<tokio::task::JoinHandle<Result<Layout, String>>>,
) -> Result<Result<Layout, String>, tokio::task::JoinError> {
    match task {
        Some(t) => t.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
