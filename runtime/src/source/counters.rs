//! The source's counters: [`SourceStats`] and the atomics the readers count into.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    pub records: u64,
    pub bytes: u64,
    pub batches: u64,
    /// Records that failed to decode and were skipped (`ignore-parse-errors`).
    pub skipped_bad_records: u64,
    /// CSV comment lines skipped (`csv.allow-comments`).
    pub skipped_comments: u64,
    pub get_records_calls: u64,
    pub throttled: u64,
    pub transient_errors: u64,
    pub expired_iterators: u64,
    pub checkpoints_written: u64,
    /// EFO: SubscribeToShard subscriptions that delivered their first event.
    pub subscriptions: u64,
    /// EFO: subscriptions renewed after one ended (expiry, a cut connection, an error).
    pub resubscriptions: u64,
    /// EFO: subscriptions dropped because no event came within `source.efo.subscription.timeout`.
    pub subscription_timeouts: u64,
    /// KPL-aggregated Kinesis records read (each delivered as its sub-records).
    pub aggregated_records: u64,
    /// User records unpacked from aggregated records.
    pub sub_records: u64,
    /// Records that start with the KPL magic but fail its checks (digest,
    /// protobuf, indexes): delivered whole as plain records, as the KPL defines.
    pub corrupt_aggregates: u64,
    /// Sub-records whose hash key lies outside the hash range of the shard
    /// they were read from (written before a reshard, or packed without
    /// regard to shards). Delivered, never dropped; KCL drops them silently.
    pub out_of_range_sub_records: u64,
    /// Positions found to have fallen out of the stream's retention (a
    /// checkpointed shard gone, or a checkpointed record trimmed), each a
    /// loss of data that `--on-data-loss continue` let the source go past.
    pub data_loss: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    /// MillisBehindLatest of each shard's latest GetRecords.
    pub(crate) lag: Mutex<BTreeMap<String, i64>>,
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) skipped_bad_records: AtomicU64,
    pub(crate) skipped_comments: AtomicU64,
    pub(crate) get_records_calls: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) transient_errors: AtomicU64,
    pub(crate) expired_iterators: AtomicU64,
    pub(crate) checkpoints_written: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    pub(crate) resubscriptions: AtomicU64,
    pub(crate) subscription_timeouts: AtomicU64,
    pub(crate) aggregated_records: AtomicU64,
    pub(crate) sub_records: AtomicU64,
    pub(crate) corrupt_aggregates: AtomicU64,
    pub(crate) out_of_range_sub_records: AtomicU64,
    pub(crate) data_loss: AtomicU64,
    /// Hash-key ranges of the shards, from ListShards.
    pub(crate) ranges: Mutex<HashMap<String, (u128, u128)>>,
}

impl Counters {
    /// A shard dropped out: forget its lag and hash range.
    pub(crate) fn forget(&self, shard: &str) {
        if let Ok(mut lag) = self.lag.lock() {
            lag.remove(shard);
        }
        if let Ok(mut ranges) = self.ranges.lock() {
            ranges.remove(shard);
        }
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> SourceStats {
        let c = self;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SourceStats {
            records: l(&c.records),
            bytes: l(&c.bytes),
            batches: l(&c.batches),
            skipped_bad_records: l(&c.skipped_bad_records),
            skipped_comments: l(&c.skipped_comments),
            get_records_calls: l(&c.get_records_calls),
            throttled: l(&c.throttled),
            transient_errors: l(&c.transient_errors),
            expired_iterators: l(&c.expired_iterators),
            checkpoints_written: l(&c.checkpoints_written),
            subscriptions: l(&c.subscriptions),
            resubscriptions: l(&c.resubscriptions),
            subscription_timeouts: l(&c.subscription_timeouts),
            aggregated_records: l(&c.aggregated_records),
            sub_records: l(&c.sub_records),
            corrupt_aggregates: l(&c.corrupt_aggregates),
            out_of_range_sub_records: l(&c.out_of_range_sub_records),
            data_loss: l(&c.data_loss),
        }
    }
}
