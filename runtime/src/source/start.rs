//! Start positions: where a shard's reader starts, and whether a
//! checkpointed position is still inside the stream's retention period.
//! Pure functions of the checkpoint, the configuration and the clock.

use crate::checkpoint::ShardPosition;
use crate::config::StartPosition;

/// Where a shard reader starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    Latest,
    TrimHorizon,
    AtTimestamp(i64),
    After(String),
    /// At this (aggregated) record, whose sub-records up to `after_sub` were
    /// processed: read from it and skip those.
    Inside {
        sequence_number: String,
        after_sub: u64,
    },
}

impl Start {
    /// The sub-records to skip at the start: `(sequence number, through sub-record)`.
    pub(crate) fn skip(&self) -> Option<(String, u64)> {
        match self {
            Start::Inside { sequence_number, after_sub } => Some((sequence_number.clone(), *after_sub)),
            _ => None,
        }
    }
}

/// What decides where a shard without a finished mark starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StartInputs<'a> {
    /// The shard's committed position.
    pub(crate) committed: Option<&'a ShardPosition>,
    /// Discovered after this run's first listing.
    pub(crate) late: bool,
    /// A parent had a position when this run started (read by an earlier run).
    pub(crate) parent_resumed: bool,
    pub(crate) configured: &'a StartPosition,
    /// LATEST pinned at the very first start.
    pub(crate) pinned_start_millis: Option<i64>,
    /// This is the very first start of the source.
    pub(crate) first_start: bool,
}

/// Where a shard without a finished mark starts: after its committed
/// position; at TRIM_HORIZON for a shard discovered later or the child of a
/// parent read by an earlier run (the child continues its data — a parent
/// finished in this run does not count: a closed parent read from LATEST
/// must not send its children back to TRIM_HORIZON); else at the configured
/// position, LATEST becoming the pinned time after the first start.
pub(crate) fn start_of(i: StartInputs<'_>) -> Start {
    match i.committed {
        Some(ShardPosition::After { sequence_number, sub_sequence_number: None, .. }) => {
            return Start::After(sequence_number.clone());
        }
        Some(ShardPosition::After { sequence_number, sub_sequence_number: Some(sub), .. }) => {
            return Start::Inside { sequence_number: sequence_number.clone(), after_sub: *sub };
        }
        _ => {}
    }
    if i.late || i.parent_resumed {
        return Start::TrimHorizon;
    }
    match i.configured {
        StartPosition::TrimHorizon => Start::TrimHorizon,
        StartPosition::AtTimestamp { epoch_millis } => Start::AtTimestamp(*epoch_millis),
        StartPosition::Latest => match i.pinned_start_millis {
            Some(pin) if !i.first_start => Start::AtTimestamp(pin),
            _ => Start::Latest,
        },
    }
}

/// A committed position that may have fallen out of retention: its records
/// after it may have been trimmed unread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired {
    /// The position, for messages.
    pub(crate) position: String,
    pub(crate) reason: String,
}

/// Whether a shard resuming from `committed` at `now_millis` may have lost
/// records: the position's arrival time is older than the retention period.
pub(crate) fn expired(committed: Option<&ShardPosition>, retention_millis: Option<i64>, now_millis: i64) -> Option<Expired> {
    let (Some(retention), Some(ShardPosition::After { sequence_number, sub_sequence_number, arrival_millis: Some(arrival) })) =
        (retention_millis, committed)
    else {
        return None;
    };
    if *arrival >= now_millis.saturating_sub(retention) {
        return None;
    }
    let reason = format!(
        "the shard was last known read up to {} and the stream keeps records for {} h: \
         records that arrived after that and before {} may have been trimmed unread",
        millis_text(*arrival),
        retention / 3_600_000,
        millis_text(now_millis.saturating_sub(retention))
    );
    Some(Expired { position: position_text(sequence_number, *sub_sequence_number), reason })
}

/// A checkpoint position for messages: the sequence number, and the
/// sub-record inside a KPL-aggregated record.
pub(crate) fn position_text(sequence_number: &str, sub: Option<u64>) -> String {
    match sub {
        Some(k) => format!("{sequence_number} (sub-record {k})"),
        None => sequence_number.to_owned(),
    }
}

/// Epoch milliseconds as RFC 3339 text, for messages.
pub(crate) fn millis_text(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("{ms} ms after the epoch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(configured: &StartPosition) -> StartInputs<'_> {
        StartInputs { committed: None, late: false, parent_resumed: false, configured, pinned_start_millis: None, first_start: true }
    }

    #[test]
    fn a_committed_position_wins() {
        let at = ShardPosition::After { sequence_number: "9".into(), sub_sequence_number: None, arrival_millis: None };
        let inside = ShardPosition::After { sequence_number: "9".into(), sub_sequence_number: Some(2), arrival_millis: None };
        let latest = StartPosition::Latest;
        assert_eq!(start_of(StartInputs { committed: Some(&at), late: true, ..inputs(&latest) }), Start::After("9".into()));
        let s = start_of(StartInputs { committed: Some(&inside), ..inputs(&latest) });
        assert_eq!(s, Start::Inside { sequence_number: "9".into(), after_sub: 2 });
        assert_eq!(s.skip(), Some(("9".into(), 2)));
    }

    #[test]
    fn late_shards_and_children_of_resumed_parents_start_at_trim_horizon() {
        let latest = StartPosition::Latest;
        assert_eq!(start_of(StartInputs { late: true, ..inputs(&latest) }), Start::TrimHorizon);
        assert_eq!(start_of(StartInputs { parent_resumed: true, ..inputs(&latest) }), Start::TrimHorizon);
    }

    #[test]
    fn latest_is_pinned_after_the_first_start() {
        let latest = StartPosition::Latest;
        assert_eq!(start_of(StartInputs { pinned_start_millis: Some(5), ..inputs(&latest) }), Start::Latest);
        let again = StartInputs { pinned_start_millis: Some(5), first_start: false, ..inputs(&latest) };
        assert_eq!(start_of(again), Start::AtTimestamp(5));
        let ts = StartPosition::AtTimestamp { epoch_millis: 7 };
        assert_eq!(start_of(inputs(&ts)), Start::AtTimestamp(7));
        assert_eq!(start_of(inputs(&StartPosition::TrimHorizon)), Start::TrimHorizon);
    }

    #[test]
    fn a_position_older_than_the_retention_period_is_expired() {
        let hour = 3_600_000;
        let p = ShardPosition::After { sequence_number: "1".into(), sub_sequence_number: Some(4), arrival_millis: Some(10 * hour) };
        assert_eq!(expired(Some(&p), Some(24 * hour), 30 * hour), None);
        let e = expired(Some(&p), Some(24 * hour), 40 * hour).unwrap();
        assert_eq!(e.position, "1 (sub-record 4)");
        assert!(e.reason.contains("24 h"), "{}", e.reason);
        assert_eq!(expired(Some(&p), None, 40 * hour), None, "no retention known");
        assert_eq!(expired(Some(&ShardPosition::Finished), Some(1), i64::MAX), None);
        assert_eq!(expired(Some(&p), Some(i64::MAX), i64::MIN), None, "no overflow");
    }
}
