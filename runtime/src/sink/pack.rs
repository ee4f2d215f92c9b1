//! Aggregation packing for one request: records go into one KPL aggregated
//! record per shard (by the hash key of their partition key, so an aggregate
//! never mixes shards), a key's run of records into one aggregated record
//! (never split across two in a request), within `sink.aggregation.max-size`
//! / `max-count` and the request's record and byte limits. Records too large
//! to aggregate, or on no known shard, are sent alone.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::layout::Layout;
use super::request::{AggLimits, Entry, Unit};
use crate::config_limits as limits;
use crate::kpl::{self, AddOutcome, Aggregator};

/// An aggregated record being packed for one shard.
struct Building<P> {
    agg: Aggregator,
    entries: Vec<Entry<P>>,
    /// It holds a record past the flush timeout, or one being retried.
    due: bool,
}

impl<P> Building<P> {
    /// Whether it is worth sending before a flush: at its record limit, or
    /// within 1/16 of its size limit.
    fn is_full(&self, a: AggLimits) -> bool {
        self.agg.len() >= a.max_records || self.agg.size_bytes() >= a.max_bytes - a.max_bytes / 16
    }

    /// The unit to send: a lone record goes alone, unless its data looks
    /// like an aggregated record.
    fn finish(mut self, shard: Arc<str>) -> Unit<P> {
        let key = self.entries[0].key.clone();
        if self.entries.len() == 1 && !kpl::is_aggregated(&self.entries[0].data) {
            return Unit { key, entries: self.entries, aggregated: None, is_aggregate: false, shard: Some(shard) };
        }
        let data = self.agg.finish().map(|out| out.data);
        Unit { key, is_aggregate: data.is_some(), aggregated: data, entries: self.entries, shard: Some(shard) }
    }
}

/// What [`Packer::add_key`] did with a key's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Took {
    /// Some of its records (from the front) are in a unit of this request.
    Some,
    /// None: the request is full.
    RequestFull,
}

/// What [`Packer::try_add`] did with a record.
enum Added {
    Yes,
    No,
    /// It went alone: the key's one unit.
    Alone,
}

/// One request's packing.
pub(crate) struct Packer<P> {
    layout: Arc<Layout>,
    a: AggLimits,
    batch_records: usize,
    batch_bytes: usize,
    flush_timeout: Duration,
    now: Instant,
    units: Vec<Unit<P>>,
    building: HashMap<usize, Building<P>>,
    /// Bytes of the request so far (data and partition keys), finished and building.
    bytes: usize,
    /// It stopped at a request limit with more to send.
    pub(crate) more: bool,
}

impl<P> Packer<P> {
    pub(crate) fn new(
        layout: Arc<Layout>,
        a: AggLimits,
        batch_records: usize,
        batch_bytes: usize,
        flush_timeout: Duration,
        now: Instant,
    ) -> Self {
        Packer {
            layout,
            a,
            batch_records,
            batch_bytes,
            flush_timeout,
            now,
            units: Vec::new(),
            building: HashMap::new(),
            bytes: 0,
            more: false,
        }
    }

    fn is_due(&self, e: &Entry<P>) -> bool {
        e.attempts > 0 || e.enqueued + self.flush_timeout <= self.now
    }

    /// Packs records of one key from the front of `entries`, in order, into
    /// one unit; what is left stays in `entries`.
    pub(crate) fn add_key(&mut self, key: &Arc<str>, entries: &mut VecDeque<Entry<P>>) -> Took {
        let Some(first) = entries.front() else { return Took::Some };
        let shard = self.layout.shard_of(first.hash);
        let mut took = false;
        while let Some(e) = entries.front() {
            // What this record adds at most: alone, with its own partition key.
            let alone = kpl::aggregated_size(key, None, e.data.len());
            if self.bytes + alone + key.len() > self.batch_bytes {
                self.more = true;
                break;
            }
            match shard.filter(|_| alone <= self.a.max_bytes) {
                Some(si) => match self.try_add(si, took, entries) {
                    Added::Yes => took = true,
                    Added::No => break,
                    Added::Alone => return Took::Some,
                },
                // Alone, as the key's one unit in this request (never
                // overtaking its records in an aggregated record).
                None => {
                    if took {
                        break;
                    }
                    if self.unit_limit() {
                        self.more = true;
                        break;
                    }
                    let Some(e) = entries.pop_front() else { break };
                    let unit = alone_unit(e, shard.map(|si| self.layout.id(si)));
                    self.bytes += unit.data().len() + unit.key.len();
                    self.units.push(unit);
                    return Took::Some;
                }
            }
        }
        if took { Took::Some } else { Took::RequestFull }
    }

    /// Whether the request has as many units as it may.
    fn unit_limit(&self) -> bool {
        self.units.len() + self.building.len() >= self.batch_records
    }

    /// Adds the front entry to shard `si`'s aggregated record (starting one
    /// if needed). [`Added::No`] when it did not go in: the key's records so
    /// far (`took`) filled it, or a new one would pass the request's unit limit.
    fn try_add(&mut self, si: usize, took: bool, entries: &mut VecDeque<Entry<P>>) -> Added {
        let Some(e) = entries.front() else { return Added::No };
        let due = self.is_due(e);
        if let Some(b) = self.building.get_mut(&si) {
            let before = b.agg.size_bytes();
            if b.agg.add(&e.key, None, &e.data) == AddOutcome::Added {
                self.bytes += b.agg.size_bytes() - before;
                b.due |= due;
                b.entries.extend(entries.pop_front());
                return Added::Yes;
            }
            // Full: it goes as it is; the key's later records wait when some are in it.
            if let Some(full) = self.building.remove(&si) {
                self.units.push(full.finish(self.layout.id(si)));
            }
            if took {
                return Added::No;
            }
        }
        if self.unit_limit() {
            self.more = true;
            return Added::No;
        }
        let mut b = Building { agg: Aggregator::new(self.a.max_bytes, self.a.max_records), entries: Vec::new(), due };
        if b.agg.add(&e.key, None, &e.data) != AddOutcome::Added {
            // Cannot happen (it fits alone); send it alone if it does.
            if took {
                return Added::No;
            }
            let Some(e) = entries.pop_front() else { return Added::No };
            self.bytes += e.size;
            self.units.push(Unit::alone(e, Some(self.layout.id(si))));
            return Added::Alone;
        }
        self.bytes += b.agg.size_bytes() + e.key.len();
        b.entries.extend(entries.pop_front());
        self.building.insert(si, b);
        Added::Yes
    }

    /// The request's units, and (unless `flush`) the records of aggregated
    /// records that are neither full nor hold a due record, to wait.
    pub(crate) fn finish(mut self, flush: bool) -> (Vec<Unit<P>>, Vec<Entry<P>>) {
        let mut rest: Vec<(usize, Building<P>)> = self.building.drain().collect();
        rest.sort_by_key(|(si, _)| *si);
        let mut held = Vec::new();
        for (si, b) in rest {
            if flush || b.due || b.is_full(self.a) {
                self.units.push(b.finish(self.layout.id(si)));
            } else {
                held.extend(b.entries);
            }
        }
        (self.units, held)
    }
}

/// A record sent alone with aggregation on: as it is, unless its data starts
/// with the KPL magic (a reader would take it for an aggregated record); then
/// inside an aggregated record of its own (`send` checked that it fits).
pub(crate) fn alone_unit<P>(e: Entry<P>, shard: Option<Arc<str>>) -> Unit<P> {
    if !kpl::is_aggregated(&e.data) {
        return Unit::alone(e, shard);
    }
    let mut agg = Aggregator::new(limits::RECORD_MAX_BYTES.saturating_sub(e.key.len()), 1);
    let data = match agg.add(&e.key, None, &e.data) {
        AddOutcome::Added => agg.finish().map(|out| out.data),
        _ => None,
    };
    if data.is_none() {
        tracing::error!(key = %crate::codec::echo(&e.key), "a record starting with the KPL magic does not fit an aggregated record; sending it as it is");
    }
    Unit { key: e.key.clone(), is_aggregate: data.is_some(), aggregated: data, entries: vec![e], shard }
}
