//! Which source batches go to the sink together, and in what order their
//! records are sent.
//!
//! A Kinesis source batch holds one shard's records, so it carries only
//! that shard's share of the partition keys; the sink keeps at most one
//! record per key in flight, so a sink fed one batch after another has only
//! those keys to choose from. The run loop therefore takes every batch the
//! source has ready (without waiting, [`gather`]) and sends their records
//! interleaved, one record of each in turn ([`schedule`]): the sink then
//! holds the keys of several shards at once.
//!
//! Order is kept: a batch's own records keep their order, and batches are
//! interleaved only when their shards were already being read before this
//! group (so none is the child of another batch in the group: a child's
//! reader starts only after its parents' last batches were delivered).
//! Batches of a shard new in this group, a second batch of a shard, and
//! generated rows go after the interleaved ones, one batch after another, in
//! the order they came.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::io::{PipelineSink, PipelineSource, Pulled};
use super::metrics::Metrics;
use super::signals::stopped;
use super::{PipelineError, PipelineOptions, Transform};
use crate::Record;
use crate::policy::OnDataLoss;
use crate::sink::SinkError;
use crate::source::Ack;

/// Takes `first` and the further batches `source` has ready now, up to
/// `max` in all. The second value is `true` when the source said it is done.
pub(crate) fn gather<S>(source: &mut dyn PipelineSource<S>, first: Pulled<S>, max: usize) -> Result<(Vec<Pulled<S>>, bool), PipelineError> {
    let mut group = vec![first];
    let mut cx = Context::from_waker(Waker::noop());
    while group.len() < max {
        // `next` is cancel-safe: a future dropped while pending loses nothing.
        match source.next().as_mut().poll(&mut cx) {
            Poll::Ready(Ok(Some(b))) => group.push(b),
            Poll::Ready(Ok(None)) => return Ok((group, true)),
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok((group, false))
}

/// The order to send a group's records in: for each send, the index of the
/// batch whose next record goes. `shards[i]` is batch `i`'s shard (`None`:
/// generated rows), `lens[i]` its record count; `seen` holds the shards of
/// earlier groups and gains this group's.
pub(crate) fn schedule(shards: &[Option<Arc<str>>], lens: &[usize], seen: &mut HashSet<Arc<str>>) -> Vec<usize> {
    let mut mixed = Vec::new();
    let mut after = Vec::new();
    let mut here: HashSet<&Arc<str>> = HashSet::new();
    for (i, shard) in shards.iter().enumerate() {
        match shard {
            Some(s) if seen.contains(s) && here.insert(s) => mixed.push(i),
            _ => after.push(i),
        }
    }
    let mut plan = Vec::with_capacity(lens.iter().sum());
    let longest = mixed.iter().map(|&i| lens[i]).max().unwrap_or(0);
    for round in 0..longest {
        plan.extend(mixed.iter().copied().filter(|&i| round < lens[i]));
    }
    for i in after {
        plan.extend(std::iter::repeat_n(i, lens[i]));
    }
    seen.extend(shards.iter().flatten().cloned());
    plan
}

/// What sending a group of source batches changes in the run loop.
pub(super) struct Feeding<'a, O> {
    pub(super) sink: &'a mut O,
    pub(super) options: &'a PipelineOptions,
    pub(super) name: &'a str,
    pub(super) stop: &'a mut tokio::sync::watch::Receiver<bool>,
    /// When a stop signal was seen: the rest of the group must be sent
    /// within the shutdown timeout from then.
    pub(super) signalled_at: &'a mut Option<tokio::time::Instant>,
    pub(super) refused_skipped: &'a mut u64,
    /// Source records the transform failed, skipped under `--on-data-loss continue`.
    pub(super) failed_skipped: &'a mut u64,
    pub(super) pending: &'a mut VecDeque<(u64, Option<Ack>)>,
}

impl<O> Feeding<'_, O> {
    /// Transforms a group of source batches and sends their records in
    /// [`schedule`]'s order; each batch is queued for acknowledgement
    /// once its last record was accepted. `true` when a stop signal cut the
    /// sending short.
    pub(super) async fn send_group<S: Record, D: Record, T: Transform<S, D>>(
        &mut self,
        mut group: Vec<Pulled<S>>,
        transform: &mut T,
        seen: &mut HashSet<Arc<str>>,
        metrics: &Metrics,
        records_in: &mut u64,
    ) -> Result<bool, PipelineError>
    where
        O: PipelineSink<D>,
    {
        let mut outs: Vec<std::vec::IntoIter<(usize, D)>> = Vec::with_capacity(group.len());
        for batch in &mut group {
            let records = std::mem::take(&mut batch.records);
            *records_in += records.len() as u64;
            metrics.batch(records.len());
            let mut out = Vec::with_capacity(records.len());
            for (i, record) in records.into_iter().enumerate() {
                match transform.apply(record) {
                    Ok(made) => out.extend(made.into_iter().map(|o| (i, o))),
                    Err(e) => self.failed(e, i, batch)?,
                }
            }
            outs.push(out.into_iter());
        }
        let shards: Vec<_> = group.iter().map(|b| b.shard().cloned()).collect();
        let lens: Vec<usize> = outs.iter().map(ExactSizeIterator::len).collect();
        let mut left = lens.clone();
        // Batches that made no records are done at once.
        for (b, n) in lens.iter().enumerate() {
            if *n == 0 {
                self.batch_done(&mut group[b])?;
            }
        }
        for b in schedule(&shards, &lens, seen) {
            let Some((i, out)) = outs[b].next() else { continue };
            if !self.send_one(&out, i, &group[b]).await? {
                return Ok(true);
            }
            left[b] -= 1;
            if left[b] == 0 {
                self.batch_done(&mut group[b])?;
            }
        }
        Ok(false)
    }

    /// Sends one record (output of record `i` of `batch`). `send` waits while
    /// the sink is full: a signal must still be seen. It does not abandon the
    /// group at once (a healthy sink finishes it, so a clean stop repeats
    /// nothing); the rest is sent within the shutdown timeout. `send` is
    /// cancel-safe: it only waits before accepting. `false`: not sent in time.
    async fn send_one<S, D>(&mut self, out: &D, i: usize, batch: &Pulled<S>) -> Result<bool, PipelineError>
    where
        O: PipelineSink<D>,
    {
        if self.signalled_at.is_none() {
            tokio::select! {
                sent = self.sink.send_from(out, batch.shard()) => {
                    if let Err(e) = sent {
                        refused(e, i, batch, self.options, self.name, self.refused_skipped)?;
                    }
                    return Ok(true);
                }
                _ = stopped(self.stop) => *self.signalled_at = Some(tokio::time::Instant::now()),
            }
        }
        let deadline = self.signalled_at.unwrap_or_else(tokio::time::Instant::now) + self.options.shutdown_timeout;
        let Ok(sent) = tokio::time::timeout_at(deadline, self.sink.send_from(out, batch.shard())).await else {
            return Ok(false);
        };
        if let Err(e) = sent {
            refused(e, i, batch, self.options, self.name, self.refused_skipped)?;
        }
        Ok(true)
    }

    /// The transform failed source record `i` of `batch`: the run fails
    /// naming where it came from, or (`--on-data-loss continue`) the record
    /// is skipped and counted.
    fn failed<S>(&mut self, e: super::TransformError, i: usize, batch: &Pulled<S>) -> Result<(), PipelineError> {
        let origin = batch.origin_text(i);
        match self.options.on_data_loss {
            OnDataLoss::Fail => Err(PipelineError::TransformFailed { origin, reason: e.0 }),
            OnDataLoss::Continue => {
                *self.failed_skipped += 1;
                tracing::error!(pipeline = self.name, "skipping the record at {origin}: the transform failed: {e}");
                Ok(())
            }
        }
    }

    /// Every record of `batch` was accepted: it is acknowledged once the sink
    /// has acknowledged everything accepted so far.
    fn batch_done<S, D>(&mut self, batch: &mut Pulled<S>) -> Result<(), PipelineError>
    where
        O: PipelineSink<D>,
    {
        self.sink.end_batch()?;
        self.pending.push_back((self.sink.accepted(), batch.ack.take()));
        Ok(())
    }
}

/// A sink error for output `i` of a source batch: a refused record fails the
/// run naming where it came from, or (`--on-data-loss continue`) is skipped
/// and counted; any other error fails the run.
fn refused<S>(
    e: SinkError,
    i: usize,
    batch: &Pulled<S>,
    options: &PipelineOptions,
    name: &str,
    refused_skipped: &mut u64,
) -> Result<(), PipelineError> {
    match e {
        SinkError::Record(reason) => {
            let origin = batch.origin_text(i);
            match options.on_data_loss {
                OnDataLoss::Fail => Err(PipelineError::Refused { origin, reason }),
                OnDataLoss::Continue => {
                    *refused_skipped += 1;
                    tracing::error!(pipeline = name, "skipping a record made from {origin} that the sink refused: {reason}");
                    Ok(())
                }
            }
        }
        e => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(names: &[&str]) -> Vec<Option<Arc<str>>> {
        names.iter().map(|n| (!n.is_empty()).then(|| Arc::from(*n))).collect()
    }

    #[test]
    fn known_shards_interleave_and_keep_each_batchs_order() {
        let mut seen: HashSet<Arc<str>> = ["a", "b"].iter().map(|s| Arc::from(*s)).collect();
        let plan = schedule(&shards(&["a", "b"]), &[3, 2], &mut seen);
        assert_eq!(plan, vec![0, 1, 0, 1, 0]);
    }

    #[test]
    fn new_shards_repeats_and_generated_rows_go_after_one_batch_at_a_time() {
        let mut seen: HashSet<Arc<str>> = ["a"].iter().map(|s| Arc::from(*s)).collect();
        // "c" is new (it may be the child of "a"); a's second batch; generated rows.
        let plan = schedule(&shards(&["a", "c", "a", ""]), &[2, 2, 1, 1], &mut seen);
        assert_eq!(plan, vec![0, 0, 1, 1, 2, 3]);
        assert!(seen.contains("c"));
        // Next time "c" is known.
        assert_eq!(schedule(&shards(&["a", "c"]), &[1, 2], &mut seen), vec![0, 1, 1]);
    }

    #[test]
    fn a_batch_with_no_records_takes_no_turn() {
        let mut seen: HashSet<Arc<str>> = ["a", "b"].iter().map(|s| Arc::from(*s)).collect();
        assert_eq!(schedule(&shards(&["a", "b"]), &[0, 2], &mut seen), vec![1, 1]);
    }
}
