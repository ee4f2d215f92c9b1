//! What the shard readers (polling or EFO) and discovery tell the
//! [`Source`](super::Source), and where each record of a batch came from.

use std::collections::HashSet;
use std::sync::Arc;

use super::error::SourceError;
use super::shards::{Pos, ShardInfo};

/// Where one record of a [`Batch`](crate::source::Batch) was read: for messages that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOrigin<'a> {
    pub sequence_number: &'a str,
    pub sub_sequence_number: Option<u64>,
}

/// The origins of a batch's records: the sequence numbers of the read they
/// came from (shared by the batches of one read) and, per record, an index
/// into them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    pub(crate) sequence_numbers: Arc<[String]>,
    pub(crate) of: Vec<Origin>,
}

impl Origins {
    pub(crate) fn get(&self, i: usize) -> Option<RecordOrigin<'_>> {
        let o = self.of.get(i)?;
        Some(RecordOrigin {
            sequence_number: self.sequence_numbers.get(o.raw as usize).map(String::as_str).unwrap_or(""),
            sub_sequence_number: o.sub.map(|(k, _)| k as u64),
        })
    }
}

/// What shard readers (polling or EFO) and discovery tell the [`Source`](crate::source::Source).
pub(crate) enum Event<R> {
    /// A listing of the stream's shards, and those of them this source reads.
    Listed {
        shards: Vec<ShardInfo>,
        assigned: HashSet<String>,
    },
    /// The shard's reader has its first iterator: records from here on are read.
    Positioned {
        shard: Arc<str>,
    },
    Batch {
        shard: Arc<str>,
        records: Vec<R>,
        origins: Origins,
        /// The position of the batch's last record (or skipped record).
        last: Option<Pos>,
        millis_behind: Option<i64>,
    },
    End {
        shard: Arc<str>,
    },
    /// A read found no new records and the reader at the tip of the shard:
    /// every record that arrived before `at_millis` has been read.
    Tip {
        shard: Arc<str>,
        at_millis: i64,
    },
    Failed(SourceError),
}

/// Where a decoded record came from: its Kinesis record, and its place among
/// the sub-records of an aggregated one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub(crate) raw: u32,
    /// `(index, count)` of the sub-record; `None` for a plain record.
    pub(crate) sub: Option<(u32, u32)>,
}

impl Origin {
    /// The checkpoint position after this record: inside the aggregated
    /// record unless it is its last sub-record.
    pub(crate) fn sub_position(self) -> Option<u64> {
        match self.sub {
            Some((i, n)) if i + 1 < n => Some(i as u64),
            _ => None,
        }
    }
}
