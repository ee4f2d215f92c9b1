//! What the sink's core works on: accepted records ([`Entry`]), the units a
//! PutRecords request carries ([`Unit`], [`Request`]), what Kinesis answered
//! ([`Reply`]), and the tunables ([`Limits`]). Plain data: no I/O, no AWS types.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::retry::Class;

/// Tunables, from the table options.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) batch_records: usize,
    pub(crate) batch_bytes: usize,
    pub(crate) flush_bytes: usize,
    pub(crate) flush_timeout: Duration,
    pub(crate) max_inflight: usize,
    /// `sink.requests.max-buffered`: records accepted and not yet acknowledged.
    pub(crate) max_buffered: usize,
    pub(crate) fail_on_error: bool,
    /// `None` without `sink.aggregation.enabled`.
    pub(crate) aggregation: Option<AggLimits>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AggLimits {
    pub(crate) max_bytes: usize,
    pub(crate) max_records: usize,
}

/// One accepted record. `P` is what the caller keeps alive until the record
/// is acknowledged or given up on (the worker: a buffer permit).
pub(crate) struct Entry<P> {
    /// The record's number: its place among the records accepted.
    pub(crate) seq: u64,
    pub(crate) data: Vec<u8>,
    pub(crate) key: Arc<str>,
    /// The key's Kinesis hash key (with aggregation only; 0 otherwise).
    pub(crate) hash: u128,
    /// Data plus key, in bytes.
    pub(crate) size: usize,
    /// The source shard the record came from, and its place among that shard's records.
    pub(crate) origin: Option<(Arc<str>, u64)>,
    pub(crate) attempts: u32,
    pub(crate) not_before: Option<Instant>,
    pub(crate) enqueued: Instant,
    pub(crate) _permit: P,
}

/// One Kinesis record of a PutRecords request: a user record sent alone, or
/// an aggregated record of several (all of one key's run, or of several
/// keys bound for one shard).
pub(crate) struct Unit<P> {
    /// The user records it carries, in order.
    pub(crate) entries: Vec<Entry<P>>,
    /// The aggregated record's data; `None` for a record sent alone.
    pub(crate) aggregated: Option<Vec<u8>>,
    pub(crate) is_aggregate: bool,
    /// The partition key it is put under: its first record's.
    pub(crate) key: Arc<str>,
    /// The shard it was packed for (with aggregation, when the layout knew one).
    pub(crate) shard: Option<Arc<str>>,
}

impl<P> Unit<P> {
    pub(crate) fn alone(e: Entry<P>, shard: Option<Arc<str>>) -> Unit<P> {
        Unit { key: e.key.clone(), entries: vec![e], aggregated: None, is_aggregate: false, shard }
    }

    pub(crate) fn records(&self) -> usize {
        self.entries.len()
    }

    /// The bytes Kinesis receives for it.
    pub(crate) fn data(&self) -> &[u8] {
        match &self.aggregated {
            Some(d) => d,
            None => &self.entries[0].data,
        }
    }
}

/// A PutRecords request the core made, and the layout generation it was packed with.
pub(crate) struct Request<P> {
    pub(crate) units: Vec<Unit<P>>,
    pub(crate) generation: u64,
}

impl<P> Request<P> {
    pub(crate) fn records(&self) -> usize {
        self.units.iter().map(Unit::records).sum()
    }
}

/// What Kinesis answered for one unit of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UnitResult {
    /// `(code, message)` when it was not written.
    pub(crate) error: Option<(String, String)>,
    /// The shard it was written to.
    pub(crate) shard_id: Option<String>,
}

#[cfg(test)]
impl UnitResult {
    pub(crate) fn ok(shard: &str) -> UnitResult {
        UnitResult { error: None, shard_id: Some(shard.into()) }
    }

    pub(crate) fn failed(code: &str, message: &str) -> UnitResult {
        UnitResult { error: Some((code.into(), message.into())), shard_id: None }
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// Kinesis answered, one result per unit (a count that does not match is
    /// a malformed response: the whole request is sent again).
    Answered(Vec<UnitResult>),
    /// The request failed as a whole. [`Class::Retarget`] sends it again at
    /// once (by name); the other classes are failures of its records.
    Failed { reason: String, class: Class },
}
