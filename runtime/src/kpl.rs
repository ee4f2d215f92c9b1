//! The Kinesis Producer Library (KPL) aggregated record format.
//!
//! The KPL packs many *user records* into one Kinesis record. The data of such
//! an *aggregated record* is
//!
//! ```text
//! F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16 bytes)
//! ```
//!
//! where the protobuf message (proto2) is
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records = 3;
//! }
//! message Tag { required string key = 1; optional string value = 2; }
//! message Record {
//!   required uint64 partition_key_index = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes data = 3;
//!   repeated Tag tags = 4;
//! }
//! ```
//!
//! The source side uses [`deaggregate`]; the sink side uses [`Aggregator`].
//! [`hash_key`] and [`parse_hash_key`] give the 128-bit hash key that Kinesis
//! routes a record by, so that callers can group user records by shard before
//! aggregating them.
//!
//! **Shards.** An aggregated record is put under one partition key (the first
//! user record's) and so lands on one shard, whatever the keys of the other
//! user records inside it. A KPL consumer (the KCL) hands out the inner keys,
//! but a shard's records are only those of its hash key range if the producer
//! groups user records by shard before aggregating them.

use std::collections::HashMap;
use std::fmt;

use md5::{Digest, Md5};
use prost::Message;

/// The 4 bytes an aggregated record's data starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Length of the MD5 digest that ends an aggregated record.
pub const DIGEST_LEN: usize = 16;

/// The protobuf messages of the format, written by hand (no `protoc`), for
/// prost to encode and decode.
///
/// Fields marked `required` in the schema are declared `optional` here: prost
/// does not check `required` fields (it fills in `0` or empty when one is
/// absent), so the reader needs to see absence as `None`, and the writer
/// always sets them (`Some`), so they are encoded even when they hold `0` or
/// an empty value: proto2 readers may insist on them.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct AggregatedRecord {
        #[prost(string, repeated, tag = "1")]
        pub partition_key_table: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub explicit_hash_key_table: Vec<String>,
        #[prost(message, repeated, tag = "3")]
        pub records: Vec<Record>,
    }

    /// Only how many user records an `AggregatedRecord` holds: each entry
    /// decodes to an empty message that takes no memory (everything else is
    /// skipped), so counting them allocates nothing.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Shape {
        #[prost(message, repeated, tag = "3")]
        pub records: Vec<Skip>,
    }

    /// A message read for its framing only.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub(super) struct Skip {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Tag {
        /// `required`.
        #[prost(string, optional, tag = "1")]
        pub key: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub value: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Record {
        /// `required`.
        #[prost(uint64, optional, tag = "1")]
        pub partition_key_index: Option<u64>,
        #[prost(uint64, optional, tag = "2")]
        pub explicit_hash_key_index: Option<u64>,
        /// `required`.
        #[prost(bytes = "vec", optional, tag = "3")]
        pub data: Option<Vec<u8>>,
        /// Decoded so that a record carrying tags is checked, but not handed on.
        #[prost(message, repeated, tag = "4")]
        pub tags: Vec<Tag>,
    }
}

/// One user record inside an aggregated record, owned (the sink hands a lone
/// record back as one; see [`Aggregate::to_vec`] for the source side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRecord {
    pub partition_key: String,
    /// The explicit hash key (a decimal number) when the producer set one.
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

impl SubRecord {
    /// The hash key Kinesis routes this record by: its explicit hash key when
    /// it has one, else the [`hash_key`] of its partition key. `None` when the
    /// explicit hash key is not a valid decimal 128-bit number.
    pub fn effective_hash_key(&self) -> Option<u128> {
        effective_hash_key(&self.partition_key, self.explicit_hash_key.as_deref())
    }
}

/// One user record inside an aggregated record, borrowed from the decoded
/// [`Aggregate`]: keys shared by many user records are not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubRecordRef<'a> {
    pub partition_key: &'a str,
    /// The explicit hash key (a decimal number) when the producer set one.
    pub explicit_hash_key: Option<&'a str>,
    pub data: &'a [u8],
    /// [`hash_key`] of `partition_key`, computed once per distinct key.
    partition_hash: u128,
}

impl SubRecordRef<'_> {
    /// Like [`SubRecord::effective_hash_key`], without hashing the key again.
    pub fn effective_hash_key(&self) -> Option<u128> {
        match self.explicit_hash_key {
            Some(ehk) => parse_hash_key(ehk),
            None => Some(self.partition_hash),
        }
    }

    /// An owned copy.
    pub fn to_sub_record(&self) -> SubRecord {
        SubRecord {
            partition_key: self.partition_key.to_owned(),
            explicit_hash_key: self.explicit_hash_key.map(str::to_owned),
            data: self.data.to_vec(),
        }
    }
}

/// What a Kinesis record's data turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deaggregated {
    /// Not an aggregated record: deliver the record as it is.
    Plain,
    /// An aggregated record and the user records inside it, in order
    /// (sub-sequence numbers are the indexes).
    Aggregated(Aggregate),
    /// The data starts with [`MAGIC`] but is not a valid aggregated record.
    /// As the KPL does, deliver the whole original data as one plain record
    /// (count it, and log the reason).
    Corrupt(CorruptReason),
}

/// The longest partition key Kinesis and the KPL accept, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Why data that starts with [`MAGIC`] is not a valid aggregated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptReason {
    /// No room for a protobuf message between the magic and the digest.
    TooShort { len: usize },
    /// The MD5 at the end does not match the protobuf bytes.
    DigestMismatch,
    /// The protobuf message could not be decoded.
    Protobuf(String),
    /// The message holds no user record.
    NoRecords,
    /// A record's `partition_key_index` is past the end of the key table.
    PartitionKeyIndexOutOfRange { record: usize, index: u64, table_len: usize },
    /// A record's `explicit_hash_key_index` is past the end of the key table.
    ExplicitHashKeyIndexOutOfRange { record: usize, index: u64, table_len: usize },
    /// A user record (or one of its tags) lacks a field the format marks
    /// `required` (`partition_key_index`, `data`, or a tag's `key`).
    MissingField { record: usize, field: &'static str },
    /// A user record's partition key is longer than
    /// [`MAX_PARTITION_KEY_CHARS`] characters.
    PartitionKeyTooLong { record: usize, chars: usize },
}

impl CorruptReason {
    /// A short, stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CorruptReason::TooShort { .. } => "too_short",
            CorruptReason::DigestMismatch => "digest_mismatch",
            CorruptReason::Protobuf(_) => "protobuf",
            CorruptReason::NoRecords => "no_records",
            CorruptReason::PartitionKeyIndexOutOfRange { .. } => "partition_key_index",
            CorruptReason::ExplicitHashKeyIndexOutOfRange { .. } => "explicit_hash_key_index",
            CorruptReason::MissingField { .. } => "missing_field",
            CorruptReason::PartitionKeyTooLong { .. } => "partition_key_too_long",
        }
    }
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptReason::TooShort { len } => {
                write!(f, "{len} bytes is too short for an aggregated record (magic, protobuf message and MD5)")
            }
            CorruptReason::DigestMismatch => f.write_str("the MD5 digest does not match the protobuf message"),
            CorruptReason::Protobuf(e) => write!(f, "the protobuf message cannot be decoded: {e}"),
            CorruptReason::NoRecords => f.write_str("the aggregated record holds no user record"),
            CorruptReason::PartitionKeyIndexOutOfRange { record, index, table_len } => {
                write!(f, "user record {record} has partition key index {index} but the partition key table has {table_len} entries")
            }
            CorruptReason::ExplicitHashKeyIndexOutOfRange { record, index, table_len } => write!(
                f,
                "user record {record} has explicit hash key index {index} but the explicit hash key table has {table_len} entries"
            ),
            CorruptReason::MissingField { record, field } => {
                write!(f, "user record {record} lacks the required field `{field}`")
            }
            CorruptReason::PartitionKeyTooLong { record, chars } => {
                write!(f, "user record {record} has a partition key of {chars} characters, over the limit of {MAX_PARTITION_KEY_CHARS}")
            }
        }
    }
}

/// Whether `data` starts with [`MAGIC`], that is, whether it claims to be an
/// aggregated record.
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Splits a Kinesis record's data into the user records it aggregates.
///
/// Never fails and never panics: data without [`MAGIC`] is
/// [`Deaggregated::Plain`], and data with the magic that is not a valid
/// aggregated record is [`Deaggregated::Corrupt`]; in both cases the caller
/// delivers the original record as it is. Tags of user records are checked
/// and dropped.
///
/// **Memory.** prost decodes the message once: the data of the user records
/// and the key table entries are copied once (at most `data.len()` bytes in
/// all); each user record costs a fixed 80 bytes, each key table entry 28
/// and each tag 48 while it is checked. A key shared by thousands of user
/// records is neither copied nor hashed more than once. The whole is a fixed
/// multiple of `data.len()` whatever the input: about 6× for the reported
/// 64 KiB key shared by 7,000 user records, at most about 40× for crafted
/// input made of 2-byte entries.
///
/// `outer_partition_key` is the partition key the Kinesis record was put
/// under. It does not change the result (user records carry their own keys);
/// it is only named (shortened) in the debug event logged for a corrupt
/// record.
pub fn deaggregate(data: &[u8], outer_partition_key: &str) -> Deaggregated {
    if !is_aggregated(data) {
        return Deaggregated::Plain;
    }
    match decode_aggregated(data) {
        Ok(records) => Deaggregated::Aggregated(records),
        Err(reason) => {
            tracing::debug!(
                partition_key = %crate::codec::echo(outer_partition_key),
                len = data.len(),
                reason = %reason,
                "record starts with the KPL magic but is not a valid aggregated record; delivering it as one record"
            );
            Deaggregated::Corrupt(reason)
        }
    }
}

/// The user records of a valid aggregated record, as prost decoded them.
/// Keys are stored once each, in the key tables; a user record refers to its
/// keys by index. Iterate `&aggregate` for [`SubRecordRef`]s; iterating the
/// aggregate itself gives owned [`SubRecord`]s, one at a time, moving the
/// data out.
#[derive(Clone)]
pub struct Aggregate {
    /// Checked by [`decode_aggregated`]: every record has its required
    /// fields, its indexes are in range, and its tags are dropped.
    message: pb::AggregatedRecord,
    /// For each partition key table entry, where its hash is in `hashes`
    /// ([`NO_SLOT`] when no user record uses it).
    hash_slot: Vec<u32>,
    /// [`hash_key`] of each distinct partition key that a user record uses.
    hashes: Vec<u128>,
}

/// `Aggregate::hash_slot` of a partition key that no user record uses.
const NO_SLOT: u32 = u32::MAX;

impl Aggregate {
    /// How many user records it holds (at least one).
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// Always `false`: an aggregated record without user records is corrupt.
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }

    /// The `i`th user record.
    pub fn get(&self, i: usize) -> Option<SubRecordRef<'_>> {
        self.message.records.get(i).map(|r| self.sub_record(r))
    }

    /// The user records, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SubRecordRef<'_>> + '_ {
        self.message.records.iter().map(|r| self.sub_record(r))
    }

    fn sub_record<'a>(&'a self, r: &'a pb::Record) -> SubRecordRef<'a> {
        // The indexes were checked against the tables when decoded.
        let pk = r.partition_key_index.unwrap_or_default() as usize;
        SubRecordRef {
            partition_key: &self.message.partition_key_table[pk],
            explicit_hash_key: r.explicit_hash_key_index.map(|i| self.message.explicit_hash_key_table[i as usize].as_str()),
            data: r.data.as_deref().unwrap_or_default(),
            partition_hash: self.hashes[self.hash_slot[pk] as usize],
        }
    }

    /// Owned copies of all the user records (copies every shared key: for
    /// tests and small records).
    pub fn to_vec(&self) -> Vec<SubRecord> {
        self.iter().map(|s| s.to_sub_record()).collect()
    }
}

impl PartialEq for Aggregate {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Aggregate {}

impl fmt::Debug for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'b> IntoIterator for &'b Aggregate {
    type Item = SubRecordRef<'b>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = SubRecordRef<'b>> + 'b>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for Aggregate {
    type Item = SubRecord;
    type IntoIter = OwnedIter;
    fn into_iter(mut self) -> OwnedIter {
        let records = std::mem::take(&mut self.message.records).into_iter();
        OwnedIter { aggregate: self, records }
    }
}

/// Owned user records of an [`Aggregate`], made one at a time: the data is
/// moved out, the keys are copied.
pub struct OwnedIter {
    /// The key tables and hashes (its records are in `records`).
    aggregate: Aggregate,
    records: std::vec::IntoIter<pb::Record>,
}

impl Iterator for OwnedIter {
    type Item = SubRecord;
    fn next(&mut self) -> Option<SubRecord> {
        let mut r = self.records.next()?;
        let s = self.aggregate.sub_record(&r);
        let (partition_key, explicit_hash_key) = (s.partition_key.to_owned(), s.explicit_hash_key.map(str::to_owned));
        Some(SubRecord { partition_key, explicit_hash_key, data: r.data.take().unwrap_or_default() })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl ExactSizeIterator for OwnedIter {}

/// Decodes an aggregated record with prost and checks it as the KPL does (the
/// digest, the protobuf message, every `required` field, the key indexes) and
/// the partition key length limit. Each distinct partition key that a user
/// record uses is checked and hashed once.
fn decode_aggregated(data: &[u8]) -> Result<Aggregate, CorruptReason> {
    if data.len() <= MAGIC.len() + DIGEST_LEN {
        return Err(CorruptReason::TooShort { len: data.len() });
    }
    let (body, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_LEN);
    if md5(body)[..] != digest[..] {
        return Err(CorruptReason::DigestMismatch);
    }
    if u32::try_from(body.len()).is_err() {
        // Table indexes and hash slots are kept as `u32`.
        return Err(CorruptReason::Protobuf(format!("a message of {} bytes is over 4 GiB", body.len())));
    }
    // prost grows a repeated field by doubling its vector, which for 80-byte
    // records would be up to 80 bytes per input byte: count them first (no
    // allocation) and decode into a vector of the exact size. When counting
    // fails, decoding fails too, and says why.
    let n_records = pb::Shape::decode(body).map_or(0, |shape| shape.records.len());
    let mut message = pb::AggregatedRecord { records: Vec::with_capacity(n_records), ..Default::default() };
    message.merge(body).map_err(|e| CorruptReason::Protobuf(e.to_string()))?;
    if message.records.is_empty() {
        return Err(CorruptReason::NoRecords);
    }

    // The required fields (prost does not check them) and the indexes.
    let (n_pk, n_ehk) = (message.partition_key_table.len(), message.explicit_hash_key_table.len());
    for (record, r) in message.records.iter_mut().enumerate() {
        let missing = |field| CorruptReason::MissingField { record, field };
        let pk = r.partition_key_index.ok_or(missing("partition_key_index"))?;
        if r.data.is_none() {
            return Err(missing("data"));
        }
        if r.tags.iter().any(|t| t.key.is_none()) {
            return Err(missing("tags.key"));
        }
        // Checked, not handed on.
        r.tags = Vec::new();
        if usize::try_from(pk).map_or(true, |i| i >= n_pk) {
            return Err(CorruptReason::PartitionKeyIndexOutOfRange { record, index: pk, table_len: n_pk });
        }
        if let Some(ehk) = r.explicit_hash_key_index
            && usize::try_from(ehk).map_or(true, |i| i >= n_ehk)
        {
            return Err(CorruptReason::ExplicitHashKeyIndexOutOfRange { record, index: ehk, table_len: n_ehk });
        }
    }

    // Each partition key in use is checked and hashed once, by the first
    // user record that uses it.
    let mut hash_slot = vec![NO_SLOT; n_pk];
    let mut hashes = Vec::new();
    for (record, r) in message.records.iter().enumerate() {
        let pk = r.partition_key_index.unwrap_or_default() as usize;
        if hash_slot[pk] != NO_SLOT {
            continue;
        }
        let key = &message.partition_key_table[pk];
        if key.len() > MAX_PARTITION_KEY_CHARS {
            let chars = key.chars().count();
            if chars > MAX_PARTITION_KEY_CHARS {
                return Err(CorruptReason::PartitionKeyTooLong { record, chars });
            }
        }
        hash_slot[pk] = hashes.len() as u32;
        hashes.push(hash_key(key));
    }
    Ok(Aggregate { message, hash_slot, hashes })
}

fn table_entry(table: &[String], index: u64) -> Option<&str> {
    usize::try_from(index).ok().and_then(|i| table.get(i)).map(String::as_str)
}

fn md5(bytes: &[u8]) -> [u8; DIGEST_LEN] {
    Md5::digest(bytes).into()
}

/// The Kinesis hash key of a partition key: the MD5 digest of its UTF-8 bytes
/// read as a big-endian 128-bit unsigned number. A record goes to the shard
/// whose hash key range holds this number.
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(md5(partition_key.as_bytes()))
}

/// Parses an explicit hash key: a decimal number from 0 to 2^128 - 1, written
/// as Kinesis accepts it (`0|[1-9][0-9]{0,38}`: digits only, no sign, no
/// leading zero).
pub fn parse_hash_key(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    // 2^128 - 1 has 39 digits: a longer key is refused without reading it
    // (user records may share one long key).
    if b.is_empty() || b.len() > 39 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    s.parse().ok()
}

/// The hash key Kinesis routes a record by: the explicit hash key when there
/// is one, else the [`hash_key`] of the partition key. `None` when the
/// explicit hash key does not parse (see [`parse_hash_key`]).
pub fn effective_hash_key(partition_key: &str, explicit_hash_key: Option<&str>) -> Option<u128> {
    match explicit_hash_key {
        Some(ehk) => parse_hash_key(ehk),
        None => Some(hash_key(partition_key)),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(pk: &str, ehk: Option<&str>, data: &[u8]) -> SubRecord {
        SubRecord { partition_key: pk.to_owned(), explicit_hash_key: ehk.map(str::to_owned), data: data.to_vec() }
    }

    /// Aggregates all of `records` into one record (panics if they do not fit).
    fn aggregate_all(records: &[SubRecord]) -> AggregatedOut {
        let mut agg = Aggregator::new(1 << 20, usize::MAX);
        for r in records {
            assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
        }
        agg.finish().expect("not empty")
    }

    fn random_records(rng: &mut fastrand::Rng, n: usize) -> Vec<SubRecord> {
        (0..n)
            .map(|_| {
                let distinct = rng.usize(1..200);
                let pk = format!("key-{}", rng.usize(..distinct));
                let bits = rng.u32(0..128);
                let ehk = rng.bool().then(|| rng.u128(..(1 << bits)).to_string());
                let len = match rng.u8(..10) {
                    0 => 0,
                    1 => rng.usize(100..20_000),
                    _ => rng.usize(..130),
                };
                let data: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
                SubRecord { partition_key: pk, explicit_hash_key: ehk, data }
            })
            .collect()
    }

    /// Re-encodes with a protobuf message built field by field, to check the
    /// outer framing independently of the aggregator.
    fn frame(message: &pb::AggregatedRecord) -> Vec<u8> {
        let body = message.encode_to_vec();
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&body);
        data.extend_from_slice(&md5(&body));
        data
    }

    /// The user records of an aggregated record (panics if it is not one).
    fn read(data: &[u8]) -> Vec<SubRecord> {
        match deaggregate(data, "outer") {
            Deaggregated::Aggregated(subs) => {
                for s in &subs {
                    // The hash computed once per key is the key's hash.
                    assert_eq!(s.effective_hash_key(), effective_hash_key(s.partition_key, s.explicit_hash_key));
                }
                subs.to_vec()
            }
            other => panic!("expected an aggregated record, got {other:?}"),
        }
    }

    fn corrupt_reason(data: &[u8]) -> CorruptReason {
        match deaggregate(data, "outer") {
            Deaggregated::Corrupt(reason) => reason,
            other => panic!("expected a corrupt record, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_with_repeated_and_distinct_keys() {
        let records = vec![
            sub("alpha", None, b"one"),
            sub("beta", Some("12345"), b""),
            sub("alpha", Some("12345"), &[0, 0xff, 0xf3, 0x89, 0x9a, 0xc2]),
            sub("gamma", Some("340282366920938463463374607431768211455"), b"three"),
            sub("beta", None, &[7; 300]),
            sub("", Some("0"), b"empty key"),
            sub("ключ", None, "данные".as_bytes()),
            sub("alpha", Some("0"), b"last"),
        ];
        let out = aggregate_all(&records);
        assert_eq!(out.partition_key, "alpha");
        assert_eq!(out.explicit_hash_key, None);
        assert_eq!(out.record_count, records.len());
        assert!(out.data.starts_with(&MAGIC));
        assert_eq!(read(&out.data), records.clone());

        // Keys are stored once each, in order of first use.
        let body = &out.data[MAGIC.len()..out.data.len() - DIGEST_LEN];
        let message = pb::AggregatedRecord::decode(body).expect("decodes");
        assert_eq!(message.partition_key_table, ["alpha", "beta", "gamma", "", "ключ"]);
        assert_eq!(message.explicit_hash_key_table, ["12345", "340282366920938463463374607431768211455", "0"]);
        let indexes: Vec<_> = message.records.iter().map(|r| (r.partition_key_index.expect("set"), r.explicit_hash_key_index)).collect();
        assert_eq!(indexes, [(0, None), (1, Some(0)), (0, Some(0)), (2, Some(1)), (1, None), (3, Some(2)), (4, None), (0, Some(2))]);
    }

    #[test]
    fn aggregate_takes_first_records_keys() {
        let out = aggregate_all(&[sub("b", Some("99"), b"x"), sub("a", None, b"y")]);
        assert_eq!((out.partition_key.as_str(), out.explicit_hash_key.as_deref()), ("b", Some("99")));
    }

    #[test]
    fn required_fields_are_encoded_even_when_zero_or_empty() {
        let out = aggregate_all(&[sub("k", None, b"")]);
        // 0a 01 'k' | 1a 04 (08 00 1a 00)
        assert_eq!(&out.data[MAGIC.len()..out.data.len() - DIGEST_LEN], &[0x0a, 0x01, b'k', 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]);
        assert_eq!(&out.data[out.data.len() - DIGEST_LEN..], &md5(&out.data[MAGIC.len()..out.data.len() - DIGEST_LEN]));
    }

    #[test]
    fn random_round_trips_and_exact_sizes() {
        let mut rng = fastrand::Rng::with_seed(0x6b706c);
        // How often each path was taken, over all rounds.
        let (mut fulls, mut too_larges, mut multi) = (0, 0, 0);
        for round in 0..60 {
            let max_bytes = rng.usize(40..60_000);
            let max_records = if rng.bool() { rng.usize(1..50) } else { usize::MAX };
            let n = rng.usize(1..400);
            let records = random_records(&mut rng, n);
            let mut agg = Aggregator::new(max_bytes, max_records);
            let mut outs = Vec::new();
            let mut expected = Vec::new();
            let mut too_large = 0;
            for r in &records {
                let before = agg.size_bytes();
                match agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data) {
                    AddOutcome::Added => {}
                    AddOutcome::Full => {
                        assert_eq!(agg.size_bytes(), before, "a refused record changes nothing");
                        assert!(!agg.is_empty(), "an empty aggregator takes any record that is not too large");
                        let size = agg.size_bytes();
                        let out = agg.finish().expect("not empty");
                        assert_eq!(out.data.len(), size, "round {round}: size_bytes is exact");
                        outs.push(out);
                        fulls += 1;
                        assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
                    }
                    AddOutcome::TooLarge { size } => {
                        assert!(size > max_bytes);
                        // Exactly the size it would have alone.
                        assert_eq!(aggregate_all(std::slice::from_ref(r)).data.len(), size);
                        too_large += 1;
                        too_larges += 1;
                        continue;
                    }
                }
                expected.push(r.clone());
                assert!(agg.size_bytes() <= max_bytes);
                assert!(agg.len() <= max_records);
            }
            let size = agg.size_bytes();
            if let Some(out) = agg.finish() {
                assert_eq!(out.data.len(), size);
                outs.push(out);
            }
            assert!(agg.is_empty() && agg.size_bytes() == 0 && agg.finish().is_none());
            assert_eq!(expected.len() + too_large, records.len());

            let mut got = Vec::new();
            for out in &outs {
                assert!(out.data.len() <= max_bytes, "round {round}: {} > {max_bytes}", out.data.len());
                assert!(out.record_count <= max_records);
                let Deaggregated::Aggregated(subs) = deaggregate(&out.data, &out.partition_key) else {
                    panic!("round {round}: not an aggregated record");
                };
                let subs = subs.to_vec();
                assert_eq!(subs.len(), out.record_count);
                assert_eq!(out.partition_key, subs[0].partition_key);
                assert_eq!(out.explicit_hash_key, subs[0].explicit_hash_key);
                got.extend(subs);
            }
            assert_eq!(got, expected, "round {round}");
            multi += usize::from(outs.iter().any(|o| o.record_count > 1));
        }
        assert!(fulls > 100 && too_larges > 10 && multi > 30, "{fulls} full, {too_larges} too large, {multi} rounds aggregated");
    }

    #[test]
    fn full_records_are_packed_to_the_byte() {
        // Records that fill max_bytes exactly are accepted; one byte more is not.
        let one = aggregate_all(&[sub("k", None, b"0123456789")]).data.len();
        let mut agg = Aggregator::new(one, 10);
        assert_eq!(agg.add("k", None, b"0123456789"), AddOutcome::Added);
        assert_eq!(agg.size_bytes(), one);
        assert_eq!(agg.add("k", None, b""), AddOutcome::Full);
        let mut agg = Aggregator::new(one - 1, 10);
        assert_eq!(agg.add("k", None, b"0123456789"), AddOutcome::TooLarge { size: one });
        assert!(agg.is_empty());
    }

    #[test]
    fn max_records_is_respected() {
        let mut agg = Aggregator::new(1 << 20, 3);
        for i in 0..3 {
            assert_eq!(agg.add("k", None, &[i]), AddOutcome::Added);
        }
        assert_eq!(agg.len(), 3);
        assert_eq!(agg.add("k", None, b"x"), AddOutcome::Full);
        assert_eq!(agg.finish().map(|o| o.record_count), Some(3));
        assert_eq!(agg.add("k", None, b"x"), AddOutcome::Added);
        assert_eq!(agg.len(), 1);

        let mut agg = Aggregator::new(1 << 20, 0);
        assert_eq!(agg.max_records(), 1);
        assert_eq!(agg.add("k", None, b"x"), AddOutcome::Added);
        assert_eq!(agg.add("k", None, b"x"), AddOutcome::Full);
    }

    #[test]
    fn varint_boundaries_in_size_accounting() {
        // Indexes and lengths around 127/128 and 16383/16384 change varint widths.
        for n in [127, 128, 129, 300] {
            let records: Vec<_> = (0..n).map(|i| sub(&format!("k{i}"), Some(&i.to_string()), &vec![1; i])).collect();
            let mut agg = Aggregator::new(usize::MAX, usize::MAX);
            for r in &records {
                let _ = agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data);
            }
            let size = agg.size_bytes();
            let out = agg.finish().expect("not empty");
            assert_eq!(out.data.len(), size);
            assert_eq!(read(&out.data), records);
        }
        for len in [16_383 - 8, 16_383 - 5, 16_383 - 4, 16_383, 16_384, 2_097_151 - 6, 2_097_152] {
            let mut agg = Aggregator::new(usize::MAX, usize::MAX);
            let _ = agg.add("key", None, &vec![9; len]);
            let size = agg.size_bytes();
            assert_eq!(agg.finish().map(|o| o.data.len()), Some(size), "data length {len}");
        }
    }

    #[test]
    fn finish_or_single() {
        let mut agg = Aggregator::new(1 << 20, 100);
        assert_eq!(agg.finish_or_single(), None);
        assert_eq!(agg.add("k", Some("42"), b"data"), AddOutcome::Added);
        assert_eq!(agg.finish_or_single(), Some(Flushed::Single(sub("k", Some("42"), b"data"))));
        assert!(agg.is_empty());

        // The aggregator is reset: keys start again at index 0.
        assert_eq!(agg.add("k", None, b"a"), AddOutcome::Added);
        assert_eq!(agg.add("j", None, b"b"), AddOutcome::Added);
        let Some(Flushed::Aggregated(out)) = agg.finish_or_single() else { panic!("two records are aggregated") };
        assert_eq!(read(&out.data), vec![sub("k", None, b"a"), sub("j", None, b"b")]);

        // Data that looks aggregated is never sent plain.
        let inner = aggregate_all(&[sub("x", None, b"y")]).data;
        assert_eq!(agg.add("k", None, &inner), AddOutcome::Added);
        let Some(Flushed::Aggregated(out)) = agg.finish_or_single() else { panic!("magic data stays wrapped") };
        assert_eq!(read(&out.data), vec![sub("k", None, &inner)]);
    }

    #[test]
    fn plain_records() {
        for data in [&b""[..], b"{\"a\":1}", &MAGIC[..3], &[0xF3, 0x89, 0x9A, 0xC3, 0, 0, 0]] {
            assert_eq!(deaggregate(data, "pk"), Deaggregated::Plain);
            assert!(!is_aggregated(data));
        }
    }

    #[test]
    fn corrupt_records_are_reported_not_panicked_on() {
        let good = aggregate_all(&[sub("a", Some("1"), b"x"), sub("b", None, b"yz")]).data;
        assert!(matches!(deaggregate(&good, "a"), Deaggregated::Aggregated(_)));

        // Bad MD5.
        let mut bad = good.clone();
        *bad.last_mut().expect("not empty") ^= 1;
        assert_eq!(corrupt_reason(&bad), CorruptReason::DigestMismatch);
        // A changed protobuf byte also fails the digest.
        let mut bad = good.clone();
        bad[MAGIC.len() + 2] ^= 0x20;
        assert_eq!(corrupt_reason(&bad), CorruptReason::DigestMismatch);

        // Truncated at every length.
        for len in MAGIC.len()..good.len() {
            let reason = corrupt_reason(&good[..len]);
            if len <= MAGIC.len() + DIGEST_LEN {
                assert_eq!(reason, CorruptReason::TooShort { len });
            } else {
                assert_eq!(reason, CorruptReason::DigestMismatch, "length {len}");
            }
        }
        // Magic and the digest of an empty message: nothing in it.
        assert_eq!(corrupt_reason(&frame(&pb::AggregatedRecord::default())[..]), CorruptReason::TooShort { len: 20 });
        // A message with key tables but no record.
        let keys_only = pb::AggregatedRecord { partition_key_table: vec!["a".into()], ..Default::default() };
        assert_eq!(corrupt_reason(&frame(&keys_only)), CorruptReason::NoRecords);

        // Indexes out of range.
        let record = |pk: u64, ehk: Option<u64>| pb::Record {
            partition_key_index: Some(pk),
            explicit_hash_key_index: ehk,
            data: Some(b"d".to_vec()),
            tags: Vec::new(),
        };
        let message = |records| pb::AggregatedRecord {
            partition_key_table: vec!["a".into(), "b".into()],
            explicit_hash_key_table: vec!["7".into()],
            records,
        };
        assert_eq!(
            corrupt_reason(&frame(&message(vec![record(1, Some(0)), record(2, None)]))),
            CorruptReason::PartitionKeyIndexOutOfRange { record: 1, index: 2, table_len: 2 }
        );
        assert_eq!(
            corrupt_reason(&frame(&message(vec![record(u64::MAX, None)]))),
            CorruptReason::PartitionKeyIndexOutOfRange { record: 0, index: u64::MAX, table_len: 2 }
        );
        assert_eq!(
            corrupt_reason(&frame(&message(vec![record(0, Some(1))]))),
            CorruptReason::ExplicitHashKeyIndexOutOfRange { record: 0, index: 1, table_len: 1 }
        );
        // Tags are read and dropped.
        let mut tagged = record(1, Some(0));
        tagged.tags = vec![pb::Tag { key: Some("t".into()), value: Some("v".into()) }, pb::Tag { key: Some("u".into()), value: None }];
        assert_eq!(read(&frame(&message(vec![tagged]))), vec![sub("b", Some("7"), b"d")]);

        // Garbage after the magic, with a matching digest: not protobuf.
        for body in [&[0xff_u8; 8][..], &[0x0a, 0x05, b'a'], &[0x0a, 0x02, 0xc3, 0x28], &[0x1a, 0x80], &[0x0f]] {
            let mut data = MAGIC.to_vec();
            data.extend_from_slice(body);
            data.extend_from_slice(&md5(body));
            let reason = corrupt_reason(&data);
            assert!(matches!(reason, CorruptReason::Protobuf(_)), "{body:?}: {reason:?}");
            assert_eq!(reason.kind(), "protobuf");
            assert!(reason.to_string().starts_with("the protobuf message cannot be decoded"));
        }
        // Random garbage after the magic never panics.
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let mut data = MAGIC.to_vec();
            let len = rng.usize(..64);
            let body: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
            data.extend_from_slice(&body);
            if rng.bool() {
                data.extend_from_slice(&md5(&body));
            }
            let _ = deaggregate(&data, "pk");
        }
    }

    #[test]
    fn hash_keys() {
        // Python: int.from_bytes(hashlib.md5(b"key").digest(), "big")
        assert_eq!(hash_key("key"), 80325066489831061459460196859901989661);
        // Python: int.from_bytes(hashlib.md5("ключ".encode()).digest(), "big")
        assert_eq!(hash_key("ключ"), 259726384039714788407059515981389908711);
        // Python: int.from_bytes(hashlib.md5(b"").digest(), "big")
        assert_eq!(hash_key(""), 281949768489412648962353822266799178366);

        assert_eq!(parse_hash_key("0"), Some(0));
        assert_eq!(parse_hash_key("42"), Some(42));
        assert_eq!(parse_hash_key("340282366920938463463374607431768211455"), Some(u128::MAX));
        for bad in ["", "340282366920938463463374607431768211456", "-1", "+1", "01", "1 ", "0x10", "１"] {
            assert_eq!(parse_hash_key(bad), None, "{bad:?}");
        }
        assert_eq!(effective_hash_key("key", None), Some(80325066489831061459460196859901989661));
        assert_eq!(effective_hash_key("key", Some("5")), Some(5));
        assert_eq!(sub("key", Some("nope"), b"").effective_hash_key(), None);
    }

    /// Frames a hand-written protobuf body (magic, body, its MD5).
    fn frame_raw(body: &[u8]) -> Vec<u8> {
        [&MAGIC[..], body, &md5(body)].concat()
    }

    /// The encoded size of the smallest valid user record entry in
    /// `AggregatedRecord.records`: key and length, then `partition_key_index`
    /// (key and one varint byte) and `data` (key and a zero length).
    const MIN_RECORD_ENTRY: usize = 6;

    /// An aggregated record of `n` user records with empty data, all under
    /// one partition key of `key_len` bytes.
    fn shared_key_record(key_len: usize, n: usize) -> Vec<u8> {
        let message = pb::AggregatedRecord {
            partition_key_table: vec!["k".repeat(key_len)],
            explicit_hash_key_table: Vec::new(),
            records: (0..n)
                .map(|_| pb::Record {
                    partition_key_index: Some(0),
                    explicit_hash_key_index: None,
                    data: Some(Vec::new()),
                    tags: Vec::new(),
                })
                .collect(),
        };
        frame(&message)
    }

    #[test]
    fn deaggregation_memory_is_bounded_by_the_input() {
        // (name, data, user records in it, whether it is valid). A key over
        // 256 characters makes a record corrupt; the bound holds either way.
        let most = (1 << 20) / (MIN_RECORD_ENTRY + 1);
        let mut cases = vec![
            // The reported case: 107,560 bytes, a 64 KiB key, 7,000 empty user records.
            ("64 KiB key x 7,000", shared_key_record(64 * 1024, 7_000), 7_000, false),
            // 1 MiB variants: a longer key, and as many user records as fit.
            ("900 KiB key x 20,000", shared_key_record(900 * 1024, 20_000), 20_000, false),
            ("256-char key x 1 MiB of user records", shared_key_record(256, most), most, true),
        ];
        // Many distinct keys, each used once.
        let many_keys = pb::AggregatedRecord {
            partition_key_table: (0..40_000).map(|i| format!("{i:x}")).collect(),
            explicit_hash_key_table: (0..40_000).map(|i| i.to_string()).collect(),
            records: (0..40_000)
                .map(|i| pb::Record {
                    partition_key_index: Some(i),
                    explicit_hash_key_index: Some(i),
                    data: Some(Vec::new()),
                    tags: Vec::new(),
                })
                .collect(),
        };
        cases.push(("40,000 distinct keys", frame(&many_keys), 40_000, true));
        assert_eq!(cases[0].1.len(), 107_560);
        for (name, data, n, valid) in &cases {
            let (seen, peak) = counting::peak(|| {
                let d = deaggregate(data, "outer");
                // Reading every user record (keys, data, hash keys) allocates nothing.
                match &d {
                    Deaggregated::Aggregated(subs) => Some(
                        subs.iter()
                            .map(|s| s.partition_key.len() + s.data.len() + s.effective_hash_key().is_some() as usize)
                            .sum::<usize>(),
                    ),
                    Deaggregated::Corrupt(CorruptReason::PartitionKeyTooLong { record: 0, .. }) => None,
                    other => panic!("{name}: {other:?}"),
                }
            });
            // About 10x the input, plus a fixed cost per user record.
            let bound = 10 * data.len() + 64 * n;
            eprintln!(
                "{name}: {} bytes in, peak {peak} bytes = {:.2}x the input ({:.2}x the bound)",
                data.len(),
                peak as f64 / data.len() as f64,
                peak as f64 / bound as f64
            );
            assert!(peak <= bound, "{name}: {} bytes of input and {n} user records took {peak} bytes (bound {bound})", data.len());
            assert_eq!(seen.is_some(), *valid, "{name}");
        }
    }

    #[test]
    fn crafted_tables_and_tags_cost_memory_linear_in_the_input() {
        // Entries of two bytes each that prost materializes: a key table
        // entry is a 24-byte `String`, a tag 48 bytes (and its vector grows by
        // doubling); a user record entry is 80 bytes (vector sized exactly).
        // Whatever the input, the memory stays a fixed multiple of it.
        let entries = |prefix: &[u8], entry: &[u8], n: usize, suffix: &[u8]| {
            let mut body = prefix.to_vec();
            body.extend(std::iter::repeat_n(entry, n).flatten());
            body.extend_from_slice(suffix);
            frame_raw(&body)
        };
        let n = 100_000;
        // One user record (key 0, empty data) followed by `n` tags of 2 or 4 bytes.
        let tagged = |tag: &[u8]| {
            let len = 4 + n * tag.len();
            let mut prefix = vec![0x0a, 0x00, 0x1a];
            prost::encoding::encode_varint(len as u64, &mut prefix);
            prefix.extend_from_slice(&[0x08, 0x00, 0x1a, 0x00]);
            entries(&prefix, tag, n, &[])
        };
        let cases = [
            ("empty partition keys", entries(&[], &[0x0a, 0x00], n, &[0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]), true),
            ("empty explicit hash keys", entries(&[0x0a, 0x00], &[0x12, 0x00], n, &[0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00]), true),
            ("tags with empty keys", tagged(&[0x22, 0x02, 0x0a, 0x00]), true),
            ("tags without keys", tagged(&[0x22, 0x00]), false),
            ("empty user records", entries(&[0x0a, 0x00], &[0x1a, 0x00], n, &[]), false),
        ];
        for (name, data, valid) in &cases {
            let (read, peak) = counting::peak(|| matches!(deaggregate(data, "outer"), Deaggregated::Aggregated(_)));
            eprintln!("{name}: {} bytes in, peak {peak} bytes = {:.2}x the input", data.len(), peak as f64 / data.len() as f64);
            assert_eq!(read, *valid, "{name}");
            assert!(peak <= 50 * data.len(), "{name}: {} bytes of input took {peak} bytes", data.len());
        }
    }

    #[test]
    fn records_breaking_the_kpl_rules_are_corrupt() {
        // Kinesis counts a partition key's characters, not its bytes.
        let key = |chars: usize, c: char| std::iter::repeat_n(c, chars).collect::<String>();
        for c in ['k', 'к', '鍵', '🔑'] {
            let ok = aggregate_all(&[sub("a", None, b"1"), sub(&key(256, c), None, b"2")]);
            assert_eq!(read(&ok.data), vec![sub("a", None, b"1"), sub(&key(256, c), None, b"2")]);
            let bad = aggregate_all(&[sub("a", None, b"1"), sub(&key(257, c), None, b"2"), sub(&key(257, c), None, b"3")]);
            let reason = corrupt_reason(&bad.data);
            assert_eq!(reason, CorruptReason::PartitionKeyTooLong { record: 1, chars: 257 }, "{c:?}");
            assert_eq!(reason.kind(), "partition_key_too_long");
            assert!(reason.to_string().contains("257 characters, over the limit of 256"), "{reason}");
        }
        // A long key in the table that no user record uses is not a user
        // record's key.
        let unused = pb::AggregatedRecord {
            partition_key_table: vec!["a".into(), key(300, 'x')],
            explicit_hash_key_table: Vec::new(),
            records: vec![pb::Record {
                partition_key_index: Some(0),
                explicit_hash_key_index: None,
                data: Some(b"d".to_vec()),
                tags: Vec::new(),
            }],
        };
        assert_eq!(read(&frame(&unused)), vec![sub("a", None, b"d")]);

        // Required fields, missing (prost would fill in 0 and empty data).
        // Table `0a 01 'a'`, then one record entry `1a len ...`.
        let with_record = |record: &[u8]| {
            let mut body = vec![0x0a, 0x01, b'a', 0x1a, record.len() as u8];
            body.extend_from_slice(record);
            frame_raw(&body)
        };
        let missing = |field| CorruptReason::MissingField { record: 0, field };
        assert_eq!(read(&with_record(&[0x08, 0x00, 0x1a, 0x00])), vec![sub("a", None, b"")]);
        assert_eq!(corrupt_reason(&with_record(&[0x1a, 0x01, b'x'])), missing("partition_key_index"));
        assert_eq!(corrupt_reason(&with_record(&[0x08, 0x00])), missing("data"));
        assert_eq!(corrupt_reason(&with_record(&[])), missing("partition_key_index"));
        // A tag needs its key; its value is optional.
        assert_eq!(read(&with_record(&[0x08, 0x00, 0x1a, 0x00, 0x22, 0x03, 0x0a, 0x01, b't'])), vec![sub("a", None, b"")]);
        let reason = corrupt_reason(&with_record(&[0x08, 0x00, 0x1a, 0x00, 0x22, 0x03, 0x12, 0x01, b'v']));
        assert_eq!(reason, missing("tags.key"));
        assert_eq!(reason.kind(), "missing_field");
        assert_eq!(reason.to_string(), "user record 0 lacks the required field `tags.key`");
        // Fields of the wrong wire type, groups, and unknown fields.
        assert!(matches!(corrupt_reason(&with_record(&[0x0a, 0x00, 0x1a, 0x00])), CorruptReason::Protobuf(_)));
        assert!(matches!(corrupt_reason(&with_record(&[0x08, 0x00, 0x1b, 0x1c])), CorruptReason::Protobuf(_)));
        let unknown = [0x08, 0x00, 0x1a, 0x00, 0x28, 0x05, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x01, 0xff, 0x45, 1, 2, 3, 4];
        assert_eq!(read(&with_record(&unknown)), vec![sub("a", None, b"")]);
        // A later value of a field replaces an earlier one, as in protobuf.
        assert_eq!(read(&with_record(&[0x08, 0x05, 0x1a, 0x01, b'x', 0x08, 0x00])), vec![sub("a", None, b"x")]);
    }

    #[test]
    fn mutated_records_are_read_whole_or_corrupt() {
        // Mutated valid records, the digest fixed up: never a panic, never
        // taken for a plain record; what is read has every index in range
        // and the hash of its own key (`read` checks), and matches what
        // prost decodes.
        let mut rng = fastrand::Rng::with_seed(0x70b);
        let (mut same, mut refused) = (0, 0);
        for _ in 0..3000 {
            let n = rng.usize(1..8);
            let records = random_records(&mut rng, n);
            let mut body = aggregate_all(&records).data;
            body.truncate(body.len() - DIGEST_LEN);
            body.drain(..MAGIC.len());
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..body.len());
                match rng.u8(..4) {
                    0 => body.truncate(i.max(1)),
                    1 => body[i] = rng.u8(..),
                    2 => body.insert(i, rng.u8(..)),
                    _ => body[i] ^= 1 << rng.u8(..8),
                }
            }
            let data = frame_raw(&body);
            match deaggregate(&data, "") {
                Deaggregated::Aggregated(subs) => {
                    let message = pb::AggregatedRecord::decode(&body[..]).expect("read, so it decodes");
                    assert_eq!(read(&data).len(), message.records.len());
                    assert_eq!(subs.len(), message.records.len());
                    same += 1;
                }
                Deaggregated::Corrupt(_) => refused += 1,
                Deaggregated::Plain => unreachable!("framed with the magic"),
            }
        }
        assert!(same > 100 && refused > 100, "{same} read, {refused} refused");
    }

    /// Counts the bytes allocated on each thread, to measure the peak memory
    /// of a piece of code (the runtime crate's unit tests all run with it).
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
            static PEAK: Cell<isize> = const { Cell::new(0) };
        }

        fn add(delta: isize) {
            let _ = LIVE.try_with(|live| {
                let now = live.get() + delta;
                live.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }

        pub struct Counting;

        // SAFETY: every call goes to the system allocator unchanged; the
        // counters are plain thread-local cells that never allocate.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                let p = unsafe { System.alloc(layout) };
                if !p.is_null() {
                    add(layout.size() as isize);
                }
                p
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                let p = unsafe { System.alloc_zeroed(layout) };
                if !p.is_null() {
                    add(layout.size() as isize);
                }
                p
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                unsafe { System.dealloc(ptr, layout) };
                add(-(layout.size() as isize));
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                let p = unsafe { System.realloc(ptr, layout, new_size) };
                if !p.is_null() {
                    add(new_size as isize - layout.size() as isize);
                }
                p
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;

        /// Runs `f` and returns what it returns and the most bytes it held
        /// allocated at once on this thread (what it returns included).
        pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
            let start = LIVE.with(Cell::get);
            PEAK.with(|p| p.set(start));
            let out = f();
            let peak = PEAK.with(Cell::get) - start;
            (out, peak.max(0) as usize)
        }
    }
}
