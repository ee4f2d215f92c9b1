//! The sink's counters: [`SinkStats`] (a snapshot, public) and the atomic
//! [`Counters`] the core and the worker add to while `Sink::stats` reads them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Records accepted by [`Sink::send`](super::Sink::send).
    pub accepted: u64,
    /// Records Kinesis acknowledged.
    pub acknowledged: u64,
    /// Bytes (data plus key) of acknowledged records.
    pub acknowledged_bytes: u64,
    /// Records refused by `send` (encoding, key or size errors).
    pub refused: u64,
    /// PutRecords requests made.
    pub requests: u64,
    /// Requests that failed as a whole (and were retried, unless the sink failed).
    pub failed_requests: u64,
    /// Record sends that were retried after a failure.
    pub retried_records: u64,
    /// Records given up on when the sink failed.
    pub given_up: u64,
    /// Aggregated records Kinesis acknowledged (with `sink.aggregation.enabled`).
    pub aggregated_records: u64,
    /// Records acknowledged inside those aggregated records (the rest of
    /// `acknowledged` was sent alone).
    pub aggregated_user_records: u64,
    /// Times the shard layout was read again because records landed on
    /// another shard than they were packed for (the stream was resharded).
    pub layout_refreshes: u64,
    /// Records written inside an aggregated record to a shard whose hash key
    /// range does not hold their partition key's hash (packed for a shard
    /// that was split or merged meanwhile). Not lost: a de-aggregating reader
    /// delivers them with the shard's records, but a reader that filters by
    /// hash key range would skip them. Each is also logged.
    pub out_of_range_records: u64,
    /// Records never sent because the lease of the source shard they came
    /// from was lost ([`Sink::fence_origins`](super::Sink::fence_origins)).
    pub fenced: u64,
}

/// The live counters behind [`SinkStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) acknowledged: AtomicU64,
    pub(crate) acknowledged_bytes: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) failed_requests: AtomicU64,
    pub(crate) retried_records: AtomicU64,
    pub(crate) given_up: AtomicU64,
    pub(crate) aggregated_records: AtomicU64,
    pub(crate) aggregated_user_records: AtomicU64,
    pub(crate) layout_refreshes: AtomicU64,
    pub(crate) out_of_range_records: AtomicU64,
    pub(crate) fenced: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SinkStats {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SinkStats {
            accepted: l(&self.accepted),
            acknowledged: l(&self.acknowledged),
            acknowledged_bytes: l(&self.acknowledged_bytes),
            refused: l(&self.refused),
            requests: l(&self.requests),
            failed_requests: l(&self.failed_requests),
            retried_records: l(&self.retried_records),
            given_up: l(&self.given_up),
            aggregated_records: l(&self.aggregated_records),
            aggregated_user_records: l(&self.aggregated_user_records),
            layout_refreshes: l(&self.layout_refreshes),
            out_of_range_records: l(&self.out_of_range_records),
            fenced: l(&self.fenced),
        }
    }
}
