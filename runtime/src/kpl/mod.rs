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

mod aggregate;
mod deaggregate;

use md5::{Digest, Md5};

pub use aggregate::*;
pub use deaggregate::*;

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
pub(crate) mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct AggregatedRecord {
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
    pub(crate) struct Shape {
        #[prost(message, repeated, tag = "3")]
        pub records: Vec<Skip>,
    }

    /// A message read for its framing only.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub(crate) struct Skip {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Tag {
        /// `required`.
        #[prost(string, optional, tag = "1")]
        pub key: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub value: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Record {
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

#[cfg(test)]
mod tests;
