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

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::PipelineError;
use super::io::{PipelineSource, Pulled};

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
