//! The decode path shared by the polling and the EFO reader: Kinesis
//! records become typed records with their metadata (KPL-aggregated ones
//! their sub-records), sent to the [`Source`](super::Source) in batches.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::counters::Counters;
use super::error::{Cause, SourceError};
use super::event::{Event, Origin, Origins};
use super::shards::Pos;
use crate::config::{FormatConfig, TableConfig};
use crate::kpl;
use crate::{DecodeErrorKind, Metadata, Record};

/// Most records in one batch: an aggregated record can hold many thousands
/// of sub-records, so one Kinesis read may become several batches, and a
/// checkpoint can then fall inside an aggregated record.
pub(crate) const MAX_BATCH_RECORDS: usize = 10_000;

/// Decodes a read's records (de-aggregating KPL records) and sends them to
/// the [`Source`](crate::source::Source) in batches of at most [`MAX_BATCH_RECORDS`]. `skip` drops
/// the sub-records already processed at a start inside an aggregated record.
/// Returns the bytes read, or `None` when the source is gone.
pub(crate) async fn deliver<R: Record>(
    tx: &mpsc::Sender<Event<R>>,
    cfg: &TableConfig,
    counters: &Counters,
    shard: &Arc<str>,
    raw: &[aws_sdk_kinesis::types::Record],
    millis_behind: Option<i64>,
    skip: &mut Option<(String, u64)>,
) -> Result<Option<usize>, SourceError> {
    let decoded = decode_records::<R>(cfg, counters, shard, raw, skip)?;
    if let (Some(ms), Ok(mut lag)) = (millis_behind, counters.lag.lock()) {
        lag.insert(shard.to_string(), ms);
    }
    counters.records.fetch_add(decoded.records.len() as u64, Ordering::Relaxed);
    counters.bytes.fetch_add(decoded.bytes as u64, Ordering::Relaxed);
    let now = chrono::Utc::now().timestamp_millis();
    let Some(last) = raw.last() else {
        if millis_behind == Some(0) && tx.send(Event::Tip { shard: shard.clone(), at_millis: now }).await.is_err() {
            return Ok(None);
        }
        return Ok(Some(decoded.bytes));
    };
    let Decoded { records, origins, bytes } = decoded;
    let arrival = |r: &aws_sdk_kinesis::types::Record| r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok());
    let pos_of = |o: Origin| {
        let r = &raw[o.raw as usize];
        Pos { sequence_number: r.sequence_number().to_owned(), sub: o.sub_position(), arrival_millis: arrival(r) }
    };
    // At the tip, everything that arrived before now has been read.
    let last_arrival = match (arrival(last), millis_behind) {
        (a, Some(0)) => Some(a.map_or(now, |a| a.max(now))),
        (a, _) => a,
    };
    // Every batch but the last ends at its last record's position; the last
    // one ends after the whole read (skipped records included).
    let sequence_numbers: Arc<[String]> = raw.iter().map(|r| r.sequence_number().to_owned()).collect();
    let mut ordered: Vec<(Vec<R>, Vec<Origin>, Option<Pos>)> = Vec::new();
    let (mut rest, mut rest_origins) = (records, origins);
    while rest.len() > MAX_BATCH_RECORDS {
        let tail = rest.split_off(MAX_BATCH_RECORDS);
        let tail_origins = rest_origins.split_off(MAX_BATCH_RECORDS);
        let end = pos_of(rest_origins[MAX_BATCH_RECORDS - 1]);
        ordered.push((rest, rest_origins, Some(end)));
        (rest, rest_origins) = (tail, tail_origins);
    }
    ordered.push((
        rest,
        rest_origins,
        Some(Pos { sequence_number: last.sequence_number().to_owned(), sub: None, arrival_millis: last_arrival }),
    ));
    for (records, of, last) in ordered {
        let origins = Origins { sequence_numbers: sequence_numbers.clone(), of };
        let event = Event::Batch { shard: shard.clone(), records, origins, last, millis_behind };
        if tx.send(event).await.is_err() {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

struct Decoded<R> {
    records: Vec<R>,
    origins: Vec<Origin>,
    bytes: usize,
}

/// Turns Kinesis records into typed records with their metadata. KPL
/// aggregated records become their sub-records (with their own partition
/// keys and sub-sequence numbers); a record with the KPL magic that fails
/// the KPL's checks is delivered whole, as the KPL defines, and counted.
/// Records that cannot be decoded are skipped and counted
/// (`ignore-parse-errors`) or stop the source ([`SourceError::BadRecord`]).
fn decode_records<R: Record>(
    cfg: &TableConfig,
    counters: &Counters,
    shard: &str,
    raw: &[aws_sdk_kinesis::types::Record],
    skip: &mut Option<(String, u64)>,
) -> Result<Decoded<R>, SourceError> {
    let mut out = Decoded { records: Vec::with_capacity(raw.len()), origins: Vec::with_capacity(raw.len()), bytes: 0 };
    let range = counters.ranges.lock().ok().and_then(|r| r.get(shard).copied());
    for (i, r) in raw.iter().enumerate() {
        let data = r.data().as_ref();
        out.bytes += data.len();
        let ts = r
            .approximate_arrival_timestamp()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
            .unwrap_or_default();
        let seq = r.sequence_number();
        // Sub-records already processed before a restart inside this record.
        let skip_through = match skip.take() {
            Some((s, n)) if s == seq => Some(n),
            _ => None,
        };
        match kpl::deaggregate(data, r.partition_key()) {
            kpl::Deaggregated::Aggregated(subs) => {
                counters.aggregated_records.fetch_add(1, Ordering::Relaxed);
                let count = subs.len() as u32;
                for (k, sub) in subs.iter().enumerate() {
                    if skip_through.is_some_and(|n| k as u64 <= n) {
                        continue;
                    }
                    counters.sub_records.fetch_add(1, Ordering::Relaxed);
                    if let (Some((lo, hi)), Some(h)) = (range, sub.effective_hash_key())
                        && !(lo..=hi).contains(&h)
                    {
                        out_of_range(counters, shard, seq, k);
                    }
                    let meta = Metadata {
                        timestamp: ts,
                        shard_id: shard,
                        sequence_number: seq,
                        partition_key: sub.partition_key,
                        sub_sequence_number: Some(k as u64),
                    };
                    if let Some(rec) = decode_one::<R>(cfg, counters, sub.data, &meta)? {
                        out.records.push(rec);
                        out.origins.push(Origin { raw: i as u32, sub: Some((k as u32, count)) });
                    }
                }
            }
            // A plain record at a position inside it (a KCL checkpoint
            // `(sequence number, 0)`) was processed whole.
            _ if skip_through.is_some() => continue,
            other => {
                if let kpl::Deaggregated::Corrupt(why) = &other {
                    counters.corrupt_aggregates.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        shard,
                        sequence_number = seq,
                        "a record with the KPL magic fails its checks ({why}); delivering it whole"
                    );
                }
                let meta = Metadata {
                    timestamp: ts,
                    shard_id: shard,
                    sequence_number: seq,
                    partition_key: r.partition_key(),
                    sub_sequence_number: None,
                };
                if let Some(rec) = decode_one::<R>(cfg, counters, data, &meta)? {
                    out.records.push(rec);
                    out.origins.push(Origin { raw: i as u32, sub: None });
                }
            }
        }
    }
    Ok(out)
}

/// Counts a sub-record whose hash key lies outside its shard's range (it is delivered).
fn out_of_range(counters: &Counters, shard: &str, sequence_number: &str, k: usize) {
    counters.out_of_range_sub_records.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        shard,
        sequence_number,
        sub_sequence_number = k,
        "a sub-record's hash key lies outside the shard's range; delivering it"
    );
}

/// Decodes one (sub-)record; `None` when it was skipped.
fn decode_one<R: Record>(cfg: &TableConfig, counters: &Counters, data: &[u8], meta: &Metadata<'_>) -> Result<Option<R>, SourceError> {
    match R::decode(data) {
        Ok(mut rec) => {
            rec.set_metadata(meta);
            Ok(Some(rec))
        }
        Err(e) if e.kind == DecodeErrorKind::Comment => {
            counters.skipped_comments.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
        Err(e) => {
            let at = match meta.sub_sequence_number {
                Some(k) => format!("{} (sub-record {k})", meta.sequence_number),
                None => meta.sequence_number.to_owned(),
            };
            if cfg.format.ignore_parse_errors() {
                counters.skipped_bad_records.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    table = R::TABLE_NAME,
                    shard = meta.shard_id,
                    sequence_number = at,
                    "skipping a record that cannot be decoded: {e}"
                );
                Ok(None)
            } else {
                Err(SourceError::BadRecord {
                    shard_id: meta.shard_id.to_owned(),
                    sequence_number: at,
                    error: Cause::with_source(format!("{e}{}", format_hint(&cfg.format)), e),
                })
            }
        }
    }
}

fn format_hint(f: &FormatConfig) -> &'static str {
    match f {
        FormatConfig::Json(_) => " (set json.ignore-parse-errors to skip and count such records)",
        FormatConfig::Csv(_) => " (set csv.ignore-parse-errors to skip and count such records)",
        FormatConfig::Raw(_) | FormatConfig::Avro(_) => "",
    }
}
