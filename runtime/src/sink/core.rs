//! The sink's pure core: no I/O, no tasks, no clock of its own (every call
//! that needs the time is passed `now`), no AWS types. The worker
//! ([`super::worker`]) feeds it accepted records, asks it for requests,
//! sends them and hands back what Kinesis answered.
//!
//! State machine. Each accepted record is an [`Entry`] queued behind its
//! partition key. A key is *ready* when it is not in flight, its queue is not
//! empty and the head is not backing off; *ready* is ordered by the head's
//! record number, so requests take the oldest records first. A request takes
//! one record (or, with aggregation, one aggregated record holding a run of
//! the key's records) from each ready key it can fit, and marks the key in
//! flight: **a key has at most one record or aggregated record in flight**.
//! When the answer comes, acknowledged records leave; failed ones go back to
//! the front of their key's queue in order, with a backoff, and the key's
//! later records wait behind them. So a key's records reach Kinesis in the
//! order they were sent, whatever fails.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::layout::{Layout, names_a_gone_shard};
use super::pack::{Packer, Took};
use super::request::{AggLimits, Entry, Limits, Reply, Request, Unit, UnitResult};
use super::stats::{Counters, add};
use crate::retry::{self, Class};

struct KeyQueue<P> {
    entries: VecDeque<Entry<P>>,
    inflight: bool,
}

/// Per source shard: records numbered in send order, and those not yet acknowledged.
#[derive(Default)]
struct OriginTrack {
    next: u64,
    open: BTreeSet<u64>,
}

/// The sink's state machine (see the module documentation).
pub(crate) struct Core<P> {
    pub(crate) limits: Limits,
    counters: Arc<Counters>,
    table: &'static str,
    keys: HashMap<Arc<str>, KeyQueue<P>>,
    /// Keys that can be sent now, by their head's record number.
    ready: BTreeMap<u64, Arc<str>>,
    /// Keys whose head waits for a retry backoff to end.
    backoff: BTreeMap<(Instant, u64), Arc<str>>,
    /// Records and bytes queued (not in flight).
    buffered: usize,
    buffered_bytes: usize,
    /// Requests in flight.
    inflight: usize,
    /// Accepted records not yet acknowledged, by number.
    open: BTreeSet<u64>,
    /// One past the last record number received.
    next_received: u64,
    origins: HashMap<Arc<str>, OriginTrack>,
    failure: Option<String>,
    /// `flush()` waits: everything sendable goes now.
    flushing: bool,
    // ---- aggregation only
    pub(crate) layout: Option<Arc<Layout>>,
    /// Incremented with every layout read; requests remember the one they were packed with.
    pub(crate) layout_gen: u64,
    /// Records landed on another shard than packed for: read the layout again before packing more.
    layout_stale: bool,
    /// Aggregated records that landed on a shard the current layout does not
    /// know yet: (shard, hash keys of their records), judged after the next read.
    misroutes: Vec<(Arc<str>, Vec<u128>)>,
    /// A response freed keys since the last packing.
    freed: bool,
    /// Bytes and records received since the last packing.
    fresh_bytes: usize,
    fresh_records: usize,
    /// The last packing stopped at a request limit with more to send.
    pub(crate) more: bool,
    /// Whether records of a source shard may still be sent (shared with the [`Sink`](super::Sink)).
    pub(crate) fence: Arc<std::sync::Mutex<Option<super::OriginFence>>>,
}

impl<P> Core<P> {
    pub(crate) fn new(limits: Limits, counters: Arc<Counters>, table: &'static str) -> Core<P> {
        Core {
            limits,
            counters,
            table,
            keys: HashMap::new(),
            ready: BTreeMap::new(),
            backoff: BTreeMap::new(),
            buffered: 0,
            buffered_bytes: 0,
            inflight: 0,
            open: BTreeSet::new(),
            next_received: 0,
            origins: HashMap::new(),
            failure: None,
            flushing: false,
            layout: None,
            layout_gen: 0,
            layout_stale: false,
            misroutes: Vec::new(),
            freed: false,
            fresh_bytes: 0,
            fresh_records: 0,
            more: false,
            fence: Arc::default(),
        }
    }

    /// Takes an accepted record (a failed core gives it up at once).
    pub(crate) fn receive(&mut self, mut e: Entry<P>) {
        if self.failure.is_some() {
            self.give_up(1);
            return;
        }
        if let Some((origin, _)) = &e.origin
            && self.fenced(origin)
        {
            // Never sent: its shard's lease is lost. It holds no place in the watermark.
            add(&self.counters.fenced, 1);
            self.next_received = self.next_received.max(e.seq + 1);
            return;
        }
        self.fresh_bytes += e.size;
        self.fresh_records += 1;
        self.open.insert(e.seq);
        self.next_received = e.seq + 1;
        if let Some((origin, place)) = &mut e.origin {
            let t = self.origins.entry(origin.clone()).or_default();
            *place = t.next;
            t.open.insert(t.next);
            t.next += 1;
        }
        self.buffered += 1;
        self.buffered_bytes += e.size;
        let q = self.keys.entry(e.key.clone()).or_insert_with(|| KeyQueue { entries: VecDeque::new(), inflight: false });
        let was_idle = q.entries.is_empty() && !q.inflight;
        let (seq, key) = (e.seq, e.key.clone());
        q.entries.push_back(e);
        if was_idle {
            self.ready.insert(seq, key);
        }
    }

    pub(crate) fn set_flushing(&mut self, flushing: bool) {
        self.flushing = flushing;
    }

    /// Nothing queued and nothing in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.buffered == 0 && self.inflight == 0
    }

    pub(crate) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Every record numbered below this was acknowledged.
    pub(crate) fn acknowledged_through(&self) -> u64 {
        self.open.first().copied().unwrap_or(self.next_received)
    }

    /// Per source shard: how many of its records, in send order, were acknowledged as a prefix.
    pub(crate) fn acknowledged_by_origin(&self) -> Vec<(Arc<str>, u64)> {
        self.origins.iter().map(|(o, t)| (o.clone(), t.open.first().copied().unwrap_or(t.next))).collect()
    }

    pub(crate) fn has_origins(&self) -> bool {
        !self.origins.is_empty()
    }

    /// Whether packing must wait for the shard layout (the worker reads it).
    pub(crate) fn awaiting_layout(&self) -> bool {
        self.limits.aggregation.is_some() && (self.layout.is_none() || self.layout_stale)
    }

    /// The oldest entry that could be sent now, if any.
    fn oldest_ready(&self) -> Option<&Entry<P>> {
        let (_, key) = self.ready.first_key_value()?;
        self.keys.get(key)?.entries.front()
    }

    /// Moves keys whose backoff ended to `ready`.
    fn wake(&mut self, now: Instant) {
        while let Some(((at, seq), _)) = self.backoff.first_key_value() {
            if *at > now {
                break;
            }
            let seq = *seq;
            if let Some((_, key)) = self.backoff.pop_first() {
                self.ready.insert(seq, key);
            }
        }
    }

    /// When the worker must wake the core if nothing else happens: the end of
    /// a backoff, or the flush timeout of the oldest sendable record. Never a
    /// time already past (that would spin), nothing while every request slot
    /// is taken (an answer wakes it). Ask with the `now` of the last
    /// [`Core::take_requests`]: a record due by then was sent, so a later
    /// `now` could skip one that fell due in between.
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        if self.failure.is_some() || self.inflight >= self.limits.max_inflight || self.awaiting_layout() {
            return None;
        }
        let backoff = self.backoff.first_key_value().map(|((at, _), _)| *at);
        let flush = self.oldest_ready().map(|e| e.enqueued + self.limits.flush_timeout).filter(|t| *t > now);
        [backoff, flush].into_iter().flatten().min()
    }

    /// Whether to make a request now: `Some(true)` when everything sendable
    /// must go, `Some(false)` when only full aggregated records (and those
    /// holding a due record) should, `None` not at all.
    fn should_send(&self, now: Instant) -> Option<bool> {
        let head = self.oldest_ready()?;
        let due = self.flushing
            || self.buffered_bytes >= self.limits.flush_bytes
            || head.attempts > 0
            || now >= head.enqueued + self.limits.flush_timeout;
        match self.limits.aggregation {
            None => (due || self.buffered >= self.limits.batch_records).then_some(true),
            // flush() waits, the flush size is reached, or no more records
            // can come and no answer will free room: everything goes.
            Some(_)
                if self.flushing
                    || self.buffered_bytes >= self.limits.flush_bytes
                    || (self.open.len() >= self.limits.max_buffered && self.inflight == 0) =>
            {
                Some(true)
            }
            Some(a) => (due || self.freed || self.more || self.fresh_enough(a)).then_some(false),
        }
    }

    /// Whether enough records arrived since the last packing to fill about
    /// one aggregated record per shard.
    fn fresh_enough(&self, a: AggLimits) -> bool {
        let shards = self.layout.as_ref().map_or(1, |l| l.open.len().max(1));
        self.fresh_bytes >= a.max_bytes.saturating_mul(shards) || self.fresh_records >= a.max_records.saturating_mul(shards)
    }

    /// The requests to send now, each counted as in flight.
    pub(crate) fn take_requests(&mut self, now: Instant) -> Vec<Request<P>> {
        let mut out = Vec::new();
        if self.failure.is_some() || self.awaiting_layout() {
            return out;
        }
        self.wake(now);
        self.drop_fenced();
        while self.inflight < self.limits.max_inflight
            && let Some(flush) = self.should_send(now)
        {
            let units = match self.limits.aggregation {
                None => self.assemble(),
                Some(a) => {
                    let units = self.assemble_aggregated(now, a, flush);
                    self.freed = false;
                    self.fresh_bytes = 0;
                    self.fresh_records = 0;
                    units
                }
            };
            if units.is_empty() {
                break;
            }
            self.inflight += 1;
            add(&self.counters.requests, 1);
            out.push(Request { units, generation: self.layout_gen });
        }
        out
    }

    /// Whether records of source shard `origin` may no longer be sent.
    fn fenced(&self, origin: &str) -> bool {
        let fence = self.fence.lock().ok().and_then(|f| f.clone());
        fence.is_some_and(|usable| !usable(origin))
    }

    /// Drops queued records of fenced source shards (requests in flight
    /// finish): they are counted as fenced and leave the watermark, so the
    /// records behind them are acknowledged in turn.
    fn drop_fenced(&mut self) {
        let lost: HashSet<Arc<str>> = self.origins.keys().filter(|o| self.fenced(o)).cloned().collect();
        if lost.is_empty() {
            return;
        }
        let touched: Vec<Arc<str>> = self
            .keys
            .iter()
            .filter(|(_, q)| q.entries.iter().any(|e| e.origin.as_ref().is_some_and(|(o, _)| lost.contains(o))))
            .map(|(k, _)| k.clone())
            .collect();
        for key in touched {
            let Some(q) = self.keys.get_mut(&key) else { continue };
            let (drop, keep): (VecDeque<Entry<P>>, VecDeque<Entry<P>>) =
                std::mem::take(&mut q.entries).into_iter().partition(|e| e.origin.as_ref().is_some_and(|(o, _)| lost.contains(o)));
            q.entries = keep;
            self.ready.retain(|_, k| *k != key);
            self.backoff.retain(|_, k| *k != key);
            for e in drop {
                self.buffered -= 1;
                self.buffered_bytes -= e.size;
                self.open.remove(&e.seq);
                if let Some((origin, place)) = &e.origin
                    && let Some(t) = self.origins.get_mut(origin)
                {
                    t.open.remove(place);
                }
                add(&self.counters.fenced, 1);
            }
            self.settle(key);
        }
    }

    /// The next request without aggregation: the oldest ready keys' heads.
    fn assemble(&mut self) -> Vec<Unit<P>> {
        let mut units = Vec::new();
        let mut bytes = 0;
        while units.len() < self.limits.batch_records {
            let Some(e) = self.oldest_ready() else { break };
            if bytes + e.size > self.limits.batch_bytes {
                break;
            }
            let Some(e) = self.take_head() else { break };
            bytes += e.size;
            units.push(Unit::alone(e, None));
        }
        units
    }

    /// The next request with aggregation: the oldest ready keys' runs of
    /// records, packed per shard ([`Packer`]). Unless `flush`, only aggregated
    /// records that are full or hold a due record (past the flush timeout, or
    /// a retry) go; the records of the others wait where they were.
    fn assemble_aggregated(&mut self, now: Instant, a: AggLimits, flush: bool) -> Vec<Unit<P>> {
        self.more = false;
        let Some(layout) = self.layout.clone() else { return Vec::new() };
        let l = &self.limits;
        let mut packer = Packer::new(layout, a, l.batch_records, l.batch_bytes, l.flush_timeout, now);
        while let Some((key, mut entries)) = self.take_key() {
            let took = packer.add_key(&key, &mut entries);
            self.give_back(&key, entries, took == Took::Some);
            if took == Took::RequestFull {
                break;
            }
        }
        self.more = packer.more;
        let (units, held) = packer.finish(flush);
        let keys: Vec<Arc<str>> = held.iter().map(|e| e.key.clone()).collect();
        self.requeue(held, None);
        for key in keys {
            if let Some(q) = self.keys.get_mut(&key) {
                q.inflight = false;
            }
            self.settle(key);
        }
        units
    }

    /// Takes the oldest ready key's head and marks the key in flight.
    pub(crate) fn take_head(&mut self) -> Option<Entry<P>> {
        let (_, key) = self.ready.pop_first()?;
        let q = self.keys.get_mut(&key)?;
        let e = q.entries.pop_front()?;
        q.inflight = true;
        self.buffered -= 1;
        self.buffered_bytes -= e.size;
        Some(e)
    }

    /// The oldest ready key, taken off `ready` and marked in flight, with its queue.
    pub(crate) fn take_key(&mut self) -> Option<(Arc<str>, VecDeque<Entry<P>>)> {
        let (_, key) = self.ready.pop_first()?;
        let q = self.keys.get_mut(&key)?;
        q.inflight = true;
        let entries = std::mem::take(&mut q.entries);
        self.buffered -= entries.len();
        self.buffered_bytes -= entries.iter().map(|e| e.size).sum::<usize>();
        Some((key, entries))
    }

    /// Gives back what a packing did not use of a key taken with
    /// [`Core::take_key`]: `rest` goes back in front of the key's queue; the
    /// key stays in flight when `sent`, else it is ready again.
    pub(crate) fn give_back(&mut self, key: &Arc<str>, rest: VecDeque<Entry<P>>, sent: bool) {
        let Some(q) = self.keys.get_mut(key) else { return };
        self.buffered += rest.len();
        self.buffered_bytes += rest.iter().map(|e| e.size).sum::<usize>();
        let mut rest = rest;
        rest.append(&mut q.entries);
        q.entries = rest;
        q.inflight = sent;
        if !sent {
            self.settle(key.clone());
        }
    }

    /// A key that is not in flight: ready, backing off, or forgotten when empty.
    fn settle(&mut self, key: Arc<str>) {
        let Some(q) = self.keys.get(&key) else { return };
        if q.inflight {
            return;
        }
        match q.entries.front() {
            None => {
                self.keys.remove(&key);
            }
            Some(head) => match head.not_before {
                Some(at) if head.attempts > 0 => {
                    let seq = head.seq;
                    self.backoff.insert((at, seq), key);
                }
                _ => {
                    let seq = head.seq;
                    self.ready.insert(seq, key);
                }
            },
        }
    }

    /// Takes the answer to a request made by [`Core::take_requests`].
    pub(crate) fn complete(&mut self, req: Request<P>, reply: Reply, now: Instant) {
        self.inflight = self.inflight.saturating_sub(1);
        self.freed = true;
        let Request { units, generation } = req;
        let keys: Vec<Arc<str>> = units.iter().flat_map(|u| u.entries.iter().map(|e| e.key.clone())).collect();
        match reply {
            Reply::Failed { class: Class::Retarget, .. } if self.failure.is_some() => self.give_up(records_of(&units)),
            Reply::Failed { class: Class::Retarget, .. } => self.requeue(entries_of(units), None),
            Reply::Failed { reason, class } => self.request_failed(units, &reason, class, now),
            Reply::Answered(results) if results.len() != units.len() => {
                tracing::warn!(
                    table = self.table,
                    "PutRecords answered {} results for {} records; resending the batch",
                    results.len(),
                    units.len()
                );
                self.request_failed(units, "PutRecords returned a malformed response", Class::Transient, now);
            }
            Reply::Answered(results) => self.answered(units, results, generation, now),
        }
        for key in keys {
            if let Some(q) = self.keys.get_mut(&key) {
                q.inflight = false;
            }
            self.settle(key);
        }
    }

    /// A whole request failed: retried, or the sink fails.
    fn request_failed(&mut self, units: Vec<Unit<P>>, reason: &str, class: Class, now: Instant) {
        add(&self.counters.failed_requests, 1);
        if class == Class::Fatal || self.limits.fail_on_error || self.failure.is_some() {
            let n = records_of(&units);
            self.fail(format!("PutRecords failed: {reason}"), n);
        } else {
            tracing::warn!(table = self.table, records = records_of(&units), "PutRecords failed, retrying: {reason}");
            self.requeue(entries_of(units), Some(now));
        }
    }

    fn answered(&mut self, units: Vec<Unit<P>>, results: Vec<UnitResult>, generation: u64, now: Instant) {
        let mut failed = Vec::new();
        let mut fatal: Option<String> = None;
        let mut first_error = None;
        for (u, r) in units.into_iter().zip(results) {
            match r.error {
                Some((code, message)) => {
                    let msg = format!("{code}: {message}");
                    if code.starts_with("KMS") && !retry::is_throttling_code(&code) {
                        fatal.get_or_insert(msg.clone());
                    }
                    if self.limits.aggregation.is_some() && names_a_gone_shard(&code, &message) && generation == self.layout_gen {
                        self.mark_stale(&format!("a write failed with `{msg}`"));
                    }
                    first_error.get_or_insert(msg);
                    failed.extend(u.entries);
                }
                None => self.written(u, r.shard_id.as_deref(), generation),
            }
        }
        if failed.is_empty() {
            return;
        }
        let reason = fatal.clone().or(first_error).unwrap_or_default();
        if fatal.is_some() || self.limits.fail_on_error || self.failure.is_some() {
            let n = failed.len() as u64;
            self.fail(format!("{n} record(s) failed in PutRecords: {reason}"), n);
        } else {
            tracing::debug!(table = self.table, records = failed.len(), "PutRecords entries failed, retrying: {reason}");
            self.requeue(failed, Some(now));
        }
    }

    /// A unit was written: its records are acknowledged.
    fn written(&mut self, u: Unit<P>, landed: Option<&str>, generation: u64) {
        let c = self.counters.clone();
        let n = u.records() as u64;
        if u.is_aggregate {
            add(&c.aggregated_records, 1);
            add(&c.aggregated_user_records, n);
        }
        if let (Some(packed), Some(landed)) = (&u.shard, landed)
            && **packed != *landed
        {
            let hashes = u.entries.iter().map(|e| e.hash).collect();
            self.landed_elsewhere(generation, packed, landed, hashes);
        }
        // Counted before the entries (and their buffer permits) are dropped:
        // `accepted - acknowledged` never passes `max-buffered`.
        add(&c.acknowledged, n);
        for e in &u.entries {
            self.open.remove(&e.seq);
            if let Some((origin, place)) = &e.origin
                && let Some(t) = self.origins.get_mut(origin)
            {
                t.open.remove(place);
            }
            add(&c.acknowledged_bytes, e.size as u64);
        }
    }

    /// A unit packed for shard `packed` was written to shard `landed`: the
    /// layout changed. Reads it again (unless a newer one is in use) and
    /// counts the records outside `landed`'s range once its range is known.
    fn landed_elsewhere(&mut self, generation: u64, packed: &str, landed: &str, hashes: Vec<u128>) {
        let known = self.layout.as_ref().is_some_and(|l| l.all.contains_key(landed));
        if generation == self.layout_gen || !known {
            self.mark_stale(&format!("a record packed for shard {packed} was written to shard {landed}"));
        }
        self.misroutes.push((landed.into(), hashes));
        if !self.layout_stale {
            self.judge_misroutes();
        }
    }

    fn mark_stale(&mut self, why: &str) {
        if !self.layout_stale {
            tracing::info!(table = self.table, "{why}: the shards changed; reading them again before packing more");
            self.layout_stale = true;
        }
    }

    /// Installs a layout the worker read.
    pub(crate) fn install_layout(&mut self, layout: Layout) {
        if self.layout.is_some() {
            add(&self.counters.layout_refreshes, 1);
        }
        tracing::debug!(table = self.table, open_shards = layout.open.len(), "shard layout read");
        self.layout = Some(Arc::new(layout));
        self.layout_gen += 1;
        self.layout_stale = false;
        self.judge_misroutes();
    }

    /// Counts the records of aggregated records that landed on a shard whose
    /// range does not hold their hash key (the layout knows every range now).
    fn judge_misroutes(&mut self) {
        let Some(layout) = self.layout.clone() else { return };
        for (landed, hashes) in std::mem::take(&mut self.misroutes) {
            let outside = layout.outside(&landed, &hashes);
            if outside > 0 {
                add(&self.counters.out_of_range_records, outside as u64);
                tracing::warn!(
                    table = self.table,
                    shard = &*landed,
                    records = outside,
                    "records were written inside an aggregated record to a shard whose hash key range does not hold their keys (the \
                     shards changed while they were in flight); a de-aggregating reader delivers them with that shard's records"
                );
            }
        }
    }

    /// Puts entries back in front of their keys' queues, in order: with a
    /// backoff from `now`, or (`None`) to be sent again at once.
    fn requeue(&mut self, mut entries: Vec<Entry<P>>, backoff_from: Option<Instant>) {
        entries.sort_by_key(|e| e.seq);
        if backoff_from.is_some() {
            add(&self.counters.retried_records, entries.len() as u64);
        }
        for mut e in entries.into_iter().rev() {
            if let Some(now) = backoff_from {
                e.not_before = Some(now + retry::delay(&retry::SINK_BACKOFF, e.attempts));
                e.attempts = e.attempts.saturating_add(1);
            }
            self.buffered += 1;
            self.buffered_bytes += e.size;
            let q = self.keys.entry(e.key.clone()).or_insert_with(|| KeyQueue { entries: VecDeque::new(), inflight: false });
            q.entries.push_front(e);
        }
    }

    pub(crate) fn give_up(&mut self, n: u64) {
        add(&self.counters.given_up, n);
    }

    /// Fails the core: everything not yet acknowledged is given up on and counted.
    pub(crate) fn fail(&mut self, reason: String, lost_now: u64) {
        self.give_up(lost_now);
        if self.failure.is_none() {
            self.give_up(self.buffered as u64);
            self.keys.retain(|_, q| q.inflight);
            for q in self.keys.values_mut() {
                q.entries.clear();
            }
            self.ready.clear();
            self.backoff.clear();
            self.buffered = 0;
            self.buffered_bytes = 0;
            tracing::error!(table = self.table, "sink failed: {reason}");
            self.failure = Some(reason);
        }
    }

    /// Fails the core before anything was accepted (the reason was logged).
    pub(crate) fn failed_from_start(&mut self, reason: String) {
        self.failure = Some(reason);
    }

    /// A request's task died: its records are lost, and the sink fails.
    pub(crate) fn request_lost(&mut self, records: u64, reason: String) {
        self.inflight = self.inflight.saturating_sub(1);
        self.fail(reason, records);
    }
}

#[cfg(test)]
impl<P> Core<P> {
    /// Every key with records is in exactly one place: in flight, ready (under
    /// its head's number) or backing off; `ready` and `backoff` name no key twice.
    pub(crate) fn check_invariants(&self) {
        let mut places: HashMap<&Arc<str>, usize> = HashMap::new();
        for (seq, key) in &self.ready {
            let q = &self.keys[key];
            assert!(!q.inflight, "{key} is ready and in flight");
            assert_eq!(q.entries.front().map(|e| e.seq), Some(*seq), "{key} is ready under a stale number");
            *places.entry(key).or_default() += 1;
        }
        for key in self.backoff.values() {
            assert!(!self.keys[key].inflight, "{key} is backing off and in flight");
            *places.entry(key).or_default() += 1;
        }
        let queued: usize = self.keys.values().map(|q| q.entries.len()).sum();
        let bytes: usize = self.keys.values().flat_map(|q| q.entries.iter().map(|e| e.size)).sum();
        assert_eq!((self.buffered, self.buffered_bytes), (queued, bytes), "the buffered counts drifted");
        for (key, q) in &self.keys {
            let n = places.get(key).copied().unwrap_or(0) + q.inflight as usize;
            assert!(n == 1 || (n == 0 && q.entries.is_empty()), "{key} is in {n} places with {} records", q.entries.len());
        }
    }
}

fn records_of<P>(units: &[Unit<P>]) -> u64 {
    units.iter().map(Unit::records).sum::<usize>() as u64
}

fn entries_of<P>(units: Vec<Unit<P>>) -> Vec<Entry<P>> {
    units.into_iter().flat_map(|u| u.entries).collect()
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
