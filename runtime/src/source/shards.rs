//! Shard bookkeeping: the I/O-free core of the source.
//!
//! It knows each listed shard's parents and state, the batches handed out
//! and not yet committed, and the checkpoint. It decides which shards may
//! be read (a child only once every parent was read to its end), turns
//! acknowledgements into a committable position (the watermark: the end of
//! the longest acknowledged prefix of a shard's batches), and commits
//! parents before children: no position of a child, nor its finished mark,
//! reaches the checkpoint before every parent is committed as finished. A
//! finished shard whose children all have a checkpoint is pruned.
//!
//! No tokio, no AWS types: the [`Source`](super::Source) feeds it events and
//! acts on what it answers.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::checkpoint::{Checkpoint, ShardPosition};

/// Where a shard is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
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

impl Status {
    /// The name [`Source::shard_status`](super::Source::shard_status) reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Starting => "starting",
            Status::Reading => "reading",
            Status::Ended => "ended",
            Status::Finished => "finished",
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

impl Pos {
    fn into_position(self) -> ShardPosition {
        ShardPosition::After { sequence_number: self.sequence_number, sub_sequence_number: self.sub, arrival_millis: self.arrival_millis }
    }
}

/// A shard as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardInfo {
    pub(crate) id: String,
    pub(crate) parents: Vec<String>,
    /// The shard's hash-key range.
    pub(crate) range: Option<(u128, u128)>,
}

/// A batch handed out and not yet committed.
#[derive(Debug)]
struct Pending {
    batch: u64,
    /// The position after the batch (its last record, or skipped record).
    last: Option<Pos>,
    acked: bool,
}

#[derive(Debug)]
struct ShardState {
    parents: Vec<String>,
    status: Status,
    /// Discovered after this run's first listing: starts at TRIM_HORIZON.
    late: bool,
    next_batch: u64,
    pending: VecDeque<Pending>,
    /// An acknowledged position held back until every parent is committed
    /// as finished, so that a restart never reads a child ahead of a parent.
    held: Option<Pos>,
}

/// The bookkeeping of every shard a source reads.
#[derive(Debug)]
pub(crate) struct Shards {
    shards: BTreeMap<String, ShardState>,
    checkpoint: Checkpoint,
    /// Shards that had a position in the checkpoint loaded at startup.
    resumed: HashSet<String>,
    /// Finished shards dropped from the checkpoint and the map once all
    /// their children were past their first checkpoint; never read again.
    pruned: HashSet<String>,
    /// Pruned since the last [`Shards::take_pruned`].
    newly_pruned: Vec<String>,
    /// The next batch number of shards revoked, so that acknowledgements
    /// of their old batches never match a batch of a later assignment.
    retired: BTreeMap<String, u64>,
    /// Shards whose start without a position the assigner decides: at
    /// TRIM_HORIZON (`true`) or at the configured start (`false`).
    start_override: BTreeMap<String, bool>,
}

impl Shards {
    /// The bookkeeping of a source resuming from `checkpoint`.
    pub(crate) fn new(checkpoint: Checkpoint) -> Shards {
        let resumed = checkpoint.shards.keys().cloned().collect();
        Shards {
            shards: BTreeMap::new(),
            checkpoint,
            resumed,
            pruned: HashSet::new(),
            newly_pruned: Vec::new(),
            retired: BTreeMap::new(),
            start_override: BTreeMap::new(),
        }
    }

    /// The checkpoint as it will be committed next.
    pub(crate) fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub(crate) fn status(&self, id: &str) -> Option<Status> {
        self.shards.get(id).map(|s| s.status)
    }

    /// Every shard's status, by id.
    pub(crate) fn statuses(&self) -> impl Iterator<Item = (&str, Status)> {
        self.shards.iter().map(|(id, s)| (id.as_str(), s.status))
    }

    /// Whether shard `id` was discovered after the first listing.
    pub(crate) fn is_late(&self, id: &str) -> bool {
        match self.start_override.get(id) {
            Some(trim_horizon) => *trim_horizon,
            None => self.shards.get(id).is_some_and(|s| s.late),
        }
    }

    /// Where shard `id`, without a position, starts, as its assigner says
    /// (a lease's start sentinel): at TRIM_HORIZON, or at the configured
    /// start — not as a shard discovered late or a child of a resumed parent.
    pub(crate) fn override_start(&mut self, id: &str, trim_horizon: bool) {
        self.start_override.insert(id.to_owned(), trim_horizon);
    }

    /// Whether a parent of shard `id` had a position when the source started.
    pub(crate) fn parent_resumed(&self, id: &str) -> bool {
        !self.start_override.contains_key(id) && self.shards.get(id).is_some_and(|s| s.parents.iter().any(|p| self.resumed.contains(p)))
    }

    /// Shards pruned since the last call.
    pub(crate) fn take_pruned(&mut self) -> Vec<String> {
        std::mem::take(&mut self.newly_pruned)
    }

    /// Checkpointed shards that are not in `listed` (nor known to this
    /// source) with an unfinished position: trimmed while the checkpoint
    /// held a position in them. Returns `(shard, position)`.
    pub(crate) fn vanished(&self, listed: &HashSet<&str>) -> Vec<(String, ShardPosition)> {
        self.checkpoint
            .shards
            .iter()
            .filter(|(id, _)| !listed.contains(id.as_str()) && !self.shards.contains_key(*id))
            .filter(|(_, pos)| matches!(pos, ShardPosition::After { .. }))
            .map(|(id, pos)| (id.clone(), pos.clone()))
            .collect()
    }

    /// Shard `id` is no longer this source's (its lease was lost): its
    /// state, pending batches and position are dropped, and
    /// acknowledgements of its batches so far are ignored, also once it is
    /// assigned again. Returns whether the checkpoint changed.
    pub(crate) fn revoke(&mut self, id: &str) -> bool {
        let Some(state) = self.shards.remove(id) else { return false };
        self.retired.insert(id.to_owned(), state.next_batch);
        self.checkpoint.shards.remove(id).is_some()
    }

    /// The committed position of shard `id`, assigned anew, as its new
    /// owner found it (`None`: none yet). Returns whether the checkpoint changed.
    pub(crate) fn adopt(&mut self, id: &str, position: Option<ShardPosition>) -> bool {
        if self.shards.contains_key(id) || self.pruned.contains(id) {
            return false;
        }
        match position {
            Some(p) => self.checkpoint.shards.insert(id.to_owned(), p.clone()) != Some(p),
            None => self.checkpoint.shards.remove(id).is_some(),
        }
    }

    /// Drops a shard's position from the checkpoint (a vanished shard whose loss was accepted).
    pub(crate) fn forget(&mut self, id: &str) {
        self.checkpoint.shards.remove(id);
    }

    /// Takes in a listing: new shards wait for their parents, those
    /// finished in the checkpoint stay finished, and those pruned by an
    /// earlier run (missing from the checkpoint, with a descendant in it) are
    /// never read again. `assigned` are the shards this source reads.
    /// Returns whether the checkpoint changed.
    pub(crate) fn listed(&mut self, list: &[ShardInfo], assigned: &HashSet<String>, late: bool) -> bool {
        let finished_before = self.finished_by_descendants(list);
        for info in list {
            if !assigned.contains(&info.id) || self.shards.contains_key(&info.id) || self.pruned.contains(&info.id) {
                continue;
            }
            if finished_before.contains(&info.id) {
                self.pruned.insert(info.id.clone());
                continue;
            }
            let status = match self.checkpoint.shards.get(&info.id) {
                Some(ShardPosition::Finished) => Status::Finished,
                _ => Status::Waiting,
            };
            let next_batch = self.retired.get(&info.id).copied().unwrap_or(0);
            let state = ShardState { parents: info.parents.clone(), status, late, next_batch, pending: VecDeque::new(), held: None };
            self.shards.insert(info.id.clone(), state);
        }
        self.settle()
    }

    /// Listed shards that are new to this source, missing from the
    /// checkpoint, and have a descendant in it: finished and pruned by an
    /// earlier run (without this they would be read again from the start).
    fn finished_by_descendants(&self, list: &[ShardInfo]) -> HashSet<String> {
        let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for i in list {
            for p in &i.parents {
                children.entry(p.as_str()).or_default().push(i.id.as_str());
            }
        }
        let mut out = HashSet::new();
        for i in list {
            if self.shards.contains_key(&i.id) || self.checkpoint.shards.contains_key(&i.id) {
                continue;
            }
            let mut stack: Vec<&str> = children.get(i.id.as_str()).cloned().unwrap_or_default();
            let mut seen = HashSet::new();
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

    /// Waiting shards whose parents have all been read to their end (or are
    /// not listed: trimmed, nothing left to read). The source starts them.
    pub(crate) fn ready(&self) -> Vec<String> {
        self.shards
            .iter()
            .filter(|(_, s)| s.status == Status::Waiting)
            .filter(|(_, s)| {
                s.parents.iter().all(|p| self.shards.get(p).is_none_or(|ps| matches!(ps.status, Status::Ended | Status::Finished)))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A reader was started for shard `id`.
    pub(crate) fn starting(&mut self, id: &str) {
        if let Some(s) = self.shards.get_mut(id) {
            s.status = Status::Starting;
        }
    }

    /// The reader of shard `id` has its first iterator.
    pub(crate) fn positioned(&mut self, id: &str) {
        if let Some(s) = self.shards.get_mut(id)
            && s.status == Status::Starting
        {
            s.status = Status::Reading;
        }
    }

    /// A batch of shard `id` that ends at `last` is handed out: its number,
    /// to acknowledge it by; `None` for a shard this source does not know.
    pub(crate) fn delivered(&mut self, id: &str, last: Option<Pos>) -> Option<u64> {
        let state = self.shards.get_mut(id)?;
        let batch = state.next_batch;
        state.next_batch += 1;
        state.pending.push_back(Pending { batch, last, acked: false });
        Some(batch)
    }

    /// Acknowledges batch `batch` of shard `id`: the shard's watermark moves
    /// to the end of its longest acknowledged prefix of batches, which is
    /// committed once the parents are. Returns whether the checkpoint changed.
    pub(crate) fn ack(&mut self, id: &str, batch: u64) -> bool {
        let Some(state) = self.shards.get_mut(id) else { return false };
        if let Some(p) = state.pending.iter_mut().find(|p| p.batch == batch) {
            p.acked = true;
        }
        let mut position = None;
        while state.pending.front().is_some_and(|p| p.acked) {
            if let Some(Pending { last: Some(pos), .. }) = state.pending.pop_front() {
                position = Some(pos);
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
        if finished { self.settle() } else { moved && self.settle_one(id) }
    }

    /// Shard `id` was read to its end. Returns whether the checkpoint changed.
    pub(crate) fn ended(&mut self, id: &str) -> bool {
        if let Some(s) = self.shards.get_mut(id) {
            s.status = if s.pending.is_empty() { Status::Finished } else { Status::Ended };
        }
        self.settle()
    }

    /// The reader of shard `id` is at the tip: once nothing of the shard
    /// waits for acknowledgement, its checkpointed position is known current
    /// as of `at_millis` (refreshed at most once a minute, so a quiet
    /// shard's position does not look older than the retention period).
    /// Returns whether the checkpoint changed.
    pub(crate) fn tip(&mut self, id: &str, at_millis: i64) -> bool {
        let Some(state) = self.shards.get(id) else { return false };
        if !state.pending.is_empty() || state.held.is_some() {
            return false;
        }
        if let Some(ShardPosition::After { arrival_millis, .. }) = self.checkpoint.shards.get_mut(id)
            && arrival_millis.is_none_or(|a| a < at_millis - 60_000)
        {
            *arrival_millis = Some(at_millis);
            return true;
        }
        false
    }

    /// [`Shards::settle`] for one shard whose position moved: commits it if
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
        if let Some(pos) = self.shards.get_mut(id).and_then(|s| s.held.take()) {
            self.checkpoint.shards.insert(id.to_owned(), pos.into_position());
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
    /// the map, so neither grows with every reshard. A restart treats a
    /// listed shard missing from the checkpoint, with a descendant in it, as
    /// finished.
    fn prune(&mut self, candidates: &[String]) -> bool {
        let prunable: Vec<String> = candidates
            .iter()
            .filter(|id| self.checkpoint.shards.get(*id) == Some(&ShardPosition::Finished) && self.shards.contains_key(*id))
            .filter(|id| {
                let mut children = self.shards.iter().filter(|(_, c)| c.parents.iter().any(|p| p == *id)).peekable();
                children.peek().is_some() && children.all(|(cid, _)| self.checkpoint.shards.contains_key(cid))
            })
            .cloned()
            .collect();
        for id in &prunable {
            self.checkpoint.shards.remove(id);
            self.shards.remove(id);
            self.pruned.insert(id.clone());
            self.newly_pruned.push(id.clone());
        }
        !prunable.is_empty()
    }
}

#[cfg(test)]
mod tests;
