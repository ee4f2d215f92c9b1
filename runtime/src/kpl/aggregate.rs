//! Writing aggregated records: the sink side.

use std::collections::HashMap;

use prost::Message;

use super::deaggregate::{SubRecord, is_aggregated, table_entry};
use super::{DIGEST_LEN, MAGIC, md5, pb};

/// The exact size of an aggregated record holding only this one user record
/// (magic, protobuf message and MD5): what [`Aggregator::add`] compares with
/// `max_bytes` when it answers [`AddOutcome::TooLarge`]. Aggregating more
/// records into one never costs a record more than this.
pub fn aggregated_size(partition_key: &str, explicit_hash_key: Option<&str>, data_len: usize) -> usize {
    // Alone, both keys are new and both indexes 0.
    MAGIC.len()
        + DIGEST_LEN
        + table_entry_len(partition_key)
        + explicit_hash_key.map_or(0, table_entry_len)
        + record_entry_len(0, explicit_hash_key.map(|_| 0), data_len)
}

/// The outcome of [`Aggregator::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum AddOutcome {
    /// The record was added.
    Added,
    /// The record was not added: it would take the aggregated record over
    /// `max_bytes` or `max_records`. [`Aggregator::finish`] and add it again.
    Full,
    /// The record was not added: even alone it would make an aggregated
    /// record of `size` bytes, over `max_bytes`. It can never be aggregated
    /// under this limit.
    TooLarge { size: usize },
}

/// A finished aggregated record, ready for PutRecord(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatedOut {
    /// The partition key to put the record under: the first user record's.
    pub partition_key: String,
    /// The explicit hash key to put the record under: the first user
    /// record's, when it has one.
    pub explicit_hash_key: Option<String>,
    /// The encoded aggregated record: magic, protobuf message, MD5.
    pub data: Vec<u8>,
    /// How many user records it holds.
    pub record_count: usize,
}

/// What [`Aggregator::finish_or_single`] hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flushed {
    /// The only user record, to send as a plain record.
    Single(SubRecord),
    /// An aggregated record.
    Aggregated(AggregatedOut),
}

/// Packs user records into KPL aggregated records on the sink side.
///
/// The size of the record being built is kept exactly as user records are
/// added (magic, protobuf message and MD5 included), so a finished record is
/// never over `max_bytes`. Partition keys and explicit hash keys are stored
/// once each in the key tables, as the KPL does.
///
/// `max_bytes` limits the aggregated record's data only. Kinesis counts the
/// partition key too against its 1 MiB record limit, so leave room for it
/// (the KPL's default `AggregationMaxSize` is 51,200 bytes).
///
/// ```
/// use kinesis_tables::kpl::{AddOutcome, Aggregator};
///
/// let mut agg = Aggregator::new(50 * 1024, 1000);
/// let mut out = Vec::new();
/// for (key, data) in [("a", &b"1"[..]), ("b", b"2"), ("a", b"3")] {
///     match agg.add(key, None, data) {
///         AddOutcome::Added => {}
///         AddOutcome::Full => {
///             out.extend(agg.finish());
///             assert_eq!(agg.add(key, None, data), AddOutcome::Added);
///         }
///         AddOutcome::TooLarge { size } => panic!("a record of {size} bytes cannot be sent"),
///     }
/// }
/// out.extend(agg.finish());
/// assert_eq!(out.len(), 1);
/// assert_eq!(out[0].partition_key, "a");
/// assert_eq!(out[0].record_count, 3);
/// ```
#[derive(Debug, Clone)]
pub struct Aggregator {
    max_bytes: usize,
    max_records: usize,
    message: pb::AggregatedRecord,
    pk_index: HashMap<String, u64>,
    ehk_index: HashMap<String, u64>,
    /// The exact encoded length of `message`.
    message_len: usize,
}

impl Aggregator {
    /// An empty aggregator whose records hold at most `max_records` user
    /// records (a `0` counts as 1) and at most `max_bytes` bytes of data.
    pub fn new(max_bytes: usize, max_records: usize) -> Self {
        Aggregator {
            max_bytes,
            max_records: max_records.max(1),
            message: pb::AggregatedRecord::default(),
            pk_index: HashMap::new(),
            ehk_index: HashMap::new(),
            message_len: 0,
        }
    }

    /// The `max_bytes` limit.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The `max_records` limit.
    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// Adds a user record if it fits (see [`AddOutcome`]). The data is copied.
    pub fn add(&mut self, partition_key: &str, explicit_hash_key: Option<&str>, data: &[u8]) -> AddOutcome {
        let alone = aggregated_size(partition_key, explicit_hash_key, data.len());
        if alone > self.max_bytes {
            return AddOutcome::TooLarge { size: alone };
        }
        if self.message.records.len() >= self.max_records {
            return AddOutcome::Full;
        }

        let mut grow = 0;
        let pk_idx = match self.pk_index.get(partition_key) {
            Some(&i) => i,
            None => {
                grow += table_entry_len(partition_key);
                self.message.partition_key_table.len() as u64
            }
        };
        let ehk_idx = explicit_hash_key.map(|ehk| match self.ehk_index.get(ehk) {
            Some(&i) => i,
            None => {
                grow += table_entry_len(ehk);
                self.message.explicit_hash_key_table.len() as u64
            }
        });
        grow += record_entry_len(pk_idx, ehk_idx, data.len());
        if MAGIC.len() + self.message_len + grow + DIGEST_LEN > self.max_bytes {
            return AddOutcome::Full;
        }

        if pk_idx == self.message.partition_key_table.len() as u64 {
            self.message.partition_key_table.push(partition_key.to_owned());
            self.pk_index.insert(partition_key.to_owned(), pk_idx);
        }
        if let (Some(ehk), Some(idx)) = (explicit_hash_key, ehk_idx)
            && idx == self.message.explicit_hash_key_table.len() as u64
        {
            self.message.explicit_hash_key_table.push(ehk.to_owned());
            self.ehk_index.insert(ehk.to_owned(), idx);
        }
        self.message.records.push(pb::Record {
            partition_key_index: Some(pk_idx),
            explicit_hash_key_index: ehk_idx,
            data: Some(data.to_vec()),
            tags: Vec::new(),
        });
        self.message_len += grow;
        AddOutcome::Added
    }

    /// How many user records the record being built holds.
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// Whether no user record has been added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }

    /// The exact length of [`AggregatedOut::data`] if the record were
    /// finished now; 0 when empty (finishing gives nothing).
    pub fn size_bytes(&self) -> usize {
        if self.is_empty() { 0 } else { MAGIC.len() + self.message_len + DIGEST_LEN }
    }

    /// Encodes the record built so far and starts a new, empty one. `None`
    /// when empty. A record holding one user record is still a valid
    /// aggregated record; see [`Aggregator::finish_or_single`] to send it
    /// plain instead.
    pub fn finish(&mut self) -> Option<AggregatedOut> {
        if self.is_empty() {
            return None;
        }
        let (message, len) = self.take();
        Some(encode(message, len))
    }

    /// Like [`Aggregator::finish`], but a lone user record comes back as
    /// [`Flushed::Single`] to send as a plain record, which saves the 20 or
    /// more bytes of framing. A lone record whose data itself starts with
    /// [`MAGIC`] is still aggregated, so that readers do not take it for an
    /// aggregated record.
    pub fn finish_or_single(&mut self) -> Option<Flushed> {
        if self.is_empty() {
            return None;
        }
        let (mut message, len) = self.take();
        if let [only] = &mut message.records[..]
            && !is_aggregated(only.data.as_deref().unwrap_or_default())
        {
            // A lone record's key tables hold exactly its keys.
            return Some(Flushed::Single(SubRecord {
                partition_key: message.partition_key_table.pop().unwrap_or_default(),
                explicit_hash_key: message.explicit_hash_key_table.pop(),
                data: only.data.take().unwrap_or_default(),
            }));
        }
        Some(Flushed::Aggregated(encode(message, len)))
    }

    /// Takes the message built so far and its encoded length, and resets.
    fn take(&mut self) -> (pb::AggregatedRecord, usize) {
        self.pk_index.clear();
        self.ehk_index.clear();
        let len = std::mem::take(&mut self.message_len);
        let message = std::mem::take(&mut self.message);
        debug_assert_eq!(message.encoded_len(), len, "KPL aggregated record size accounting is off");
        (message, len)
    }
}

/// Frames `message`, whose encoded length is `len`.
fn encode(message: pb::AggregatedRecord, len: usize) -> AggregatedOut {
    let mut data = Vec::with_capacity(MAGIC.len() + len + DIGEST_LEN);
    data.extend_from_slice(&MAGIC);
    // Encoding into a Vec cannot run out of room.
    message.encode_raw(&mut data);
    let digest = md5(&data[MAGIC.len()..]);
    data.extend_from_slice(&digest);
    let first = message.records.first();
    let key = |table: &[String], index: Option<u64>| index.and_then(|i| table_entry(table, i)).map(str::to_owned);
    AggregatedOut {
        partition_key: key(&message.partition_key_table, first.and_then(|r| r.partition_key_index)).unwrap_or_default(),
        explicit_hash_key: key(&message.explicit_hash_key_table, first.and_then(|r| r.explicit_hash_key_index)),
        data,
        record_count: message.records.len(),
    }
}

/// Encoded length of a length-delimited field with a one-byte tag (all
/// fields of the format have numbers below 16).
fn delimited_len(len: usize) -> usize {
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

/// Encoded length of one entry of a key table.
fn table_entry_len(key: &str) -> usize {
    delimited_len(key.len())
}

/// Encoded length of one entry of `records`.
fn record_entry_len(pk_index: u64, ehk_index: Option<u64>, data_len: usize) -> usize {
    let varint = |v: u64| 1 + prost::encoding::encoded_len_varint(v);
    let inner = varint(pk_index) + ehk_index.map_or(0, varint) + delimited_len(data_len);
    delimited_len(inner)
}
