//! One lease row in the KCL 2.x format (`DynamoDBLeaseSerializer`), and how
//! its checkpoint maps to the source's [`ShardPosition`].
//!
//! Only the attributes below are read; writes are `UpdateItem`s that name
//! the attributes they change, so whatever else a row holds (the KCL 3.x
//! `throughputKBps`, `checkpointOwner`, GSI keys, ...) is kept as it is.
//! Our own attributes, which the KCL ignores, start with [`EXT_PREFIX`].

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::LeaseError;
use crate::checkpoint::ShardPosition;

pub const LEASE_KEY: &str = "leaseKey";
pub const LEASE_OWNER: &str = "leaseOwner";
pub const LEASE_COUNTER: &str = "leaseCounter";
pub const CHECKPOINT: &str = "checkpoint";
pub const CHECKPOINT_SUB: &str = "checkpointSubSequenceNumber";
pub const OWNER_SWITCHES: &str = "ownerSwitchesSinceCheckpoint";
pub const PARENT_SHARD_ID: &str = "parentShardId";
pub const CHILD_SHARD_IDS: &str = "childShardIds";
pub const STARTING_HASH_KEY: &str = "startingHashKey";
pub const ENDING_HASH_KEY: &str = "endingHashKey";
pub const PENDING_CHECKPOINT: &str = "pendingCheckpoint";
pub const PENDING_CHECKPOINT_SUB: &str = "pendingCheckpointSubSequenceNumber";
pub const PENDING_CHECKPOINT_STATE: &str = "pendingCheckpointState";
/// KCL 3.5: rows that are not leases carry another `entityType`.
pub const ENTITY_TYPE: &str = "entityType";

/// The prefix of our attributes (the KCL reads none of them).
pub const EXT_PREFIX: &str = "kinesisTables_";
/// The stream the lease belongs to (its ARN or name).
pub const EXT_STREAM: &str = "kinesisTables_stream";
/// When the stream was created, epoch milliseconds.
pub const EXT_STREAM_CREATED: &str = "kinesisTables_streamCreatedMillis";
/// `LATEST` pinned at the very first start, epoch milliseconds.
pub const EXT_PINNED_START: &str = "kinesisTables_pinnedStartMillis";
/// The arrival time of the checkpointed record (or later), epoch milliseconds.
pub const EXT_ARRIVAL: &str = "kinesisTables_arrivalMillis";
/// A copy of `checkpoint` when it names a whole record (no sub-record
/// inside it is pending): see [`Lease::position`].
pub const EXT_WHOLE_RECORD: &str = "kinesisTables_wholeRecord";

/// The KCL's checkpoint sentinels (`SentinelCheckpoint`).
pub const TRIM_HORIZON: &str = "TRIM_HORIZON";
pub const LATEST: &str = "LATEST";
pub const AT_TIMESTAMP: &str = "AT_TIMESTAMP";
pub const SHARD_END: &str = "SHARD_END";

/// Our attributes of a lease row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ext {
    pub stream: Option<String>,
    pub stream_created_millis: Option<i64>,
    pub pinned_start_millis: Option<i64>,
    pub arrival_millis: Option<i64>,
    pub whole_record: Option<String>,
}

/// A lease as read from its row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lease {
    /// The shard id (`leaseKey`).
    pub key: String,
    pub owner: Option<String>,
    pub counter: u64,
    /// The raw `checkpoint`: a sequence number or a sentinel.
    pub checkpoint: Option<String>,
    pub sub_sequence: u64,
    pub owner_switches: u64,
    pub parents: BTreeSet<String>,
    pub children: BTreeSet<String>,
    pub starting_hash_key: Option<String>,
    pub ending_hash_key: Option<String>,
    pub ext: Ext,
}

impl Lease {
    /// A new, unowned lease of `shard` at `checkpoint` (a sentinel).
    pub fn new(shard: &str, checkpoint: &str) -> Self {
        Lease { key: shard.to_owned(), checkpoint: Some(checkpoint.to_owned()), ..Lease::default() }
    }

    /// Reads a row; `Ok(None)` for a row of another entity type (KCL 3.5),
    /// which is left alone.
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Option<Lease>, LeaseError> {
        let key = match item.get(LEASE_KEY) {
            Some(AttributeValue::S(k)) => k.clone(),
            _ => return Err(LeaseError::unreadable("?", "it has no string `leaseKey`")),
        };
        if let Some(t) = item.get(ENTITY_TYPE)
            && !matches!(t, AttributeValue::S(s) if s.eq_ignore_ascii_case("lease"))
        {
            return Ok(None);
        }
        let s = |name: &str| -> Result<Option<String>, LeaseError> {
            match item.get(name) {
                None | Some(AttributeValue::Null(_)) => Ok(None),
                Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
                Some(_) => Err(LeaseError::unreadable(&key, format!("`{name}` is not a string"))),
            }
        };
        let n = |name: &str| -> Result<Option<i128>, LeaseError> {
            match item.get(name) {
                None | Some(AttributeValue::Null(_)) => Ok(None),
                Some(AttributeValue::N(v)) => v
                    .parse::<i128>()
                    .map(Some)
                    .map_err(|_| LeaseError::unreadable(&key, format!("`{name}` is not an integer: `{}`", truncated(v)))),
                Some(_) => Err(LeaseError::unreadable(&key, format!("`{name}` is not a number"))),
            }
        };
        let u = |name: &str| -> Result<Option<u64>, LeaseError> {
            n(name)?
                .map(|v| u64::try_from(v).map_err(|_| LeaseError::unreadable(&key, format!("`{name}` is out of range: {v}"))))
                .transpose()
        };
        let i = |name: &str| -> Result<Option<i64>, LeaseError> {
            n(name)?
                .map(|v| i64::try_from(v).map_err(|_| LeaseError::unreadable(&key, format!("`{name}` is out of range: {v}"))))
                .transpose()
        };
        let ss = |name: &str| -> Result<BTreeSet<String>, LeaseError> {
            match item.get(name) {
                None | Some(AttributeValue::Null(_)) => Ok(BTreeSet::new()),
                Some(AttributeValue::Ss(v)) => Ok(v.iter().cloned().collect()),
                Some(_) => Err(LeaseError::unreadable(&key, format!("`{name}` is not a string set"))),
            }
        };
        let counter = u(LEASE_COUNTER)?.ok_or_else(|| LeaseError::unreadable(&key, "it has no `leaseCounter`"))?;
        Ok(Some(Lease {
            owner: s(LEASE_OWNER)?,
            counter,
            checkpoint: s(CHECKPOINT)?,
            sub_sequence: u(CHECKPOINT_SUB)?.unwrap_or(0),
            owner_switches: u(OWNER_SWITCHES)?.unwrap_or(0),
            parents: ss(PARENT_SHARD_ID)?,
            children: ss(CHILD_SHARD_IDS)?,
            starting_hash_key: s(STARTING_HASH_KEY)?,
            ending_hash_key: s(ENDING_HASH_KEY)?,
            ext: Ext {
                stream: s(EXT_STREAM)?,
                stream_created_millis: i(EXT_STREAM_CREATED)?,
                pinned_start_millis: i(EXT_PINNED_START)?,
                arrival_millis: i(EXT_ARRIVAL)?,
                whole_record: s(EXT_WHOLE_RECORD)?,
            },
            key,
        }))
    }

    /// The row of a new lease, for a conditional PutItem.
    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::new();
        item.insert(LEASE_KEY.to_owned(), AttributeValue::S(self.key.clone()));
        item.insert(LEASE_COUNTER.to_owned(), num(self.counter));
        item.insert(OWNER_SWITCHES.to_owned(), num(self.owner_switches));
        item.insert(CHECKPOINT_SUB.to_owned(), num(self.sub_sequence));
        let mut put_s = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                item.insert(name.to_owned(), AttributeValue::S(v.clone()));
            }
        };
        put_s(LEASE_OWNER, &self.owner);
        put_s(CHECKPOINT, &self.checkpoint);
        put_s(STARTING_HASH_KEY, &self.starting_hash_key);
        put_s(ENDING_HASH_KEY, &self.ending_hash_key);
        put_s(EXT_STREAM, &self.ext.stream);
        put_s(EXT_WHOLE_RECORD, &self.ext.whole_record);
        for (name, v) in [(PARENT_SHARD_ID, &self.parents), (CHILD_SHARD_IDS, &self.children)] {
            if !v.is_empty() {
                item.insert(name.to_owned(), AttributeValue::Ss(v.iter().cloned().collect()));
            }
        }
        for (name, v) in [
            (EXT_STREAM_CREATED, self.ext.stream_created_millis),
            (EXT_PINNED_START, self.ext.pinned_start_millis),
            (EXT_ARRIVAL, self.ext.arrival_millis),
        ] {
            if let Some(v) = v {
                item.insert(name.to_owned(), AttributeValue::N(v.to_string()));
            }
        }
        item
    }

    /// Whether the lease is at `SHARD_END`.
    pub fn is_shard_end(&self) -> bool {
        self.checkpoint.as_deref() == Some(SHARD_END)
    }

    /// Whether the checkpoint is a start sentinel (or missing): nothing of
    /// the shard was checkpointed yet.
    pub fn at_start(&self) -> bool {
        matches!(self.checkpoint.as_deref(), None | Some(TRIM_HORIZON | LATEST | AT_TIMESTAMP))
    }

    /// The checkpoint as the source's position: `SHARD_END` is finished; a
    /// start sentinel is no position (the source's start rules apply); a
    /// sequence number is the KCL's extended sequence number
    /// `(checkpoint, checkpointSubSequenceNumber)`, "sub-records up to and
    /// including this one are processed" — unless we wrote it for a whole
    /// record ([`EXT_WHOLE_RECORD`] equals `checkpoint`).
    pub fn position(&self) -> Option<ShardPosition> {
        let cp = self.checkpoint.as_deref()?;
        match cp {
            SHARD_END => Some(ShardPosition::Finished),
            TRIM_HORIZON | LATEST | AT_TIMESTAMP => None,
            seq => {
                let whole = self.ext.whole_record.as_deref() == Some(seq);
                Some(ShardPosition::After {
                    sequence_number: seq.to_owned(),
                    sub_sequence_number: if whole { None } else { Some(self.sub_sequence) },
                    arrival_millis: self.ext.arrival_millis,
                })
            }
        }
    }

    /// The hash-key range as numbers, when the row has one.
    pub fn hash_range(&self) -> Option<Result<(u128, u128), String>> {
        let (lo, hi) = (self.starting_hash_key.as_deref()?, self.ending_hash_key.as_deref()?);
        let parse = |s: &str| s.parse::<u128>().map_err(|_| format!("hash key `{}` is not a number", truncated(s)));
        Some(parse(lo).and_then(|lo| Ok((lo, parse(hi)?))))
    }
}

/// What a checkpoint write puts into the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointValue {
    pub checkpoint: String,
    pub sub_sequence: u64,
    /// The checkpoint names a whole record (writes [`EXT_WHOLE_RECORD`]).
    pub whole_record: bool,
    pub arrival_millis: Option<i64>,
}

impl CheckpointValue {
    /// The row value of a source position: `Finished` is `SHARD_END`;
    /// `After { seq, sub: Some(k) }` is `(seq, k)`; `After { seq, None }` (the
    /// whole record) is `(seq, 0)`, marked whole for us.
    pub fn of(p: &ShardPosition) -> Self {
        match p {
            ShardPosition::Finished => {
                CheckpointValue { checkpoint: SHARD_END.to_owned(), sub_sequence: 0, whole_record: false, arrival_millis: None }
            }
            ShardPosition::After { sequence_number, sub_sequence_number, arrival_millis } => CheckpointValue {
                checkpoint: sequence_number.clone(),
                sub_sequence: sub_sequence_number.unwrap_or(0),
                whole_record: sub_sequence_number.is_none(),
                arrival_millis: *arrival_millis,
            },
        }
    }
}

pub(crate) fn num(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// At most 64 characters of untrusted text, for messages.
pub(crate) fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    /// A row as the KCL 2.x writes it, plus 3.x attributes.
    fn kcl_row(checkpoint: &str, sub: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (LEASE_KEY.into(), s("shardId-000000000001")),
            (LEASE_OWNER.into(), s("kcl-worker-1")),
            (LEASE_COUNTER.into(), num(41)),
            (CHECKPOINT.into(), s(checkpoint)),
            (CHECKPOINT_SUB.into(), AttributeValue::N(sub.into())),
            (OWNER_SWITCHES.into(), num(2)),
            (PARENT_SHARD_ID.into(), AttributeValue::Ss(vec!["shardId-000000000000".into()])),
            (STARTING_HASH_KEY.into(), s("0")),
            (ENDING_HASH_KEY.into(), s("170141183460469231731687303715884105727")),
            ("throughputKBps".into(), num(12)),
            ("checkpointOwner".into(), s("kcl-worker-1")),
        ])
    }

    #[test]
    fn a_kcl_row_reads_with_its_extended_sequence_number() {
        let lease = Lease::from_item(&kcl_row("4955", "3")).unwrap().unwrap();
        assert_eq!(lease.owner.as_deref(), Some("kcl-worker-1"));
        assert_eq!(lease.counter, 41);
        assert_eq!(lease.parents.iter().collect::<Vec<_>>(), ["shardId-000000000000"]);
        assert_eq!(lease.hash_range(), Some(Ok((0, i128::MAX as u128))));
        let p = lease.position().unwrap();
        assert_eq!(p, ShardPosition::After { sequence_number: "4955".into(), sub_sequence_number: Some(3), arrival_millis: None });
        // A KCL checkpoint of a plain record is (seq, 0): sub-record 0 of it is done, which skips the record.
        let plain = Lease::from_item(&kcl_row("4955", "0")).unwrap().unwrap();
        assert_eq!(
            plain.position(),
            Some(ShardPosition::After { sequence_number: "4955".into(), sub_sequence_number: Some(0), arrival_millis: None })
        );
        assert_eq!(Lease::from_item(&kcl_row(SHARD_END, "0")).unwrap().unwrap().position(), Some(ShardPosition::Finished));
        for sentinel in [TRIM_HORIZON, LATEST, AT_TIMESTAMP] {
            let l = Lease::from_item(&kcl_row(sentinel, "0")).unwrap().unwrap();
            assert_eq!(l.position(), None);
            assert!(l.at_start());
        }
    }

    #[test]
    fn positions_round_trip_through_the_row() {
        for p in [
            ShardPosition::After { sequence_number: "7".into(), sub_sequence_number: None, arrival_millis: Some(5) },
            ShardPosition::After { sequence_number: "7".into(), sub_sequence_number: Some(0), arrival_millis: Some(5) },
            ShardPosition::After { sequence_number: "7".into(), sub_sequence_number: Some(9), arrival_millis: None },
            ShardPosition::Finished,
        ] {
            let v = CheckpointValue::of(&p);
            let mut lease = Lease::new("shardId-0", TRIM_HORIZON);
            lease.checkpoint = Some(v.checkpoint.clone());
            lease.sub_sequence = v.sub_sequence;
            lease.ext.whole_record = v.whole_record.then(|| v.checkpoint.clone());
            lease.ext.arrival_millis = v.arrival_millis;
            let back = Lease::from_item(&lease.to_item()).unwrap().unwrap();
            assert_eq!(back, lease);
            assert_eq!(back.position(), Some(p));
        }
    }

    #[test]
    fn bad_rows_are_errors_and_other_entities_are_skipped() {
        let mut row = kcl_row("1", "0");
        row.insert(LEASE_COUNTER.into(), AttributeValue::N("x".into()));
        assert!(Lease::from_item(&row).unwrap_err().message().contains("leaseCounter"));
        row.insert(LEASE_COUNTER.into(), AttributeValue::N("-1".into()));
        assert!(Lease::from_item(&row).unwrap_err().message().contains("out of range"));
        row.remove(LEASE_COUNTER);
        assert!(Lease::from_item(&row).is_err());
        row.remove(LEASE_KEY);
        assert!(Lease::from_item(&row).is_err());
        let mut other = kcl_row("1", "0");
        other.insert(ENTITY_TYPE.into(), s("WORKER_METRICS"));
        assert_eq!(Lease::from_item(&other).unwrap(), None);
        other.insert(ENTITY_TYPE.into(), s("LEASE"));
        assert!(Lease::from_item(&other).unwrap().is_some());
    }
}
