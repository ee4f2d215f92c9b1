//! The polling reader of one shard: GetShardIterator, then GetRecords every
//! `source.polling.interval`, handing each read to the shared decode path.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::get_records::GetRecordsOutput;
use aws_sdk_kinesis::types::ShardIteratorType;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::counters::Counters;
use super::decode::deliver;
use super::error::SourceError;
use super::event::Event;
use super::start::Start;
use crate::Record;
use crate::config::TableConfig;
use crate::retry::{self, Attempt, Class, Policy, Stop};
use crate::stream::Target;

/// The polling reader of one shard (the EFO reader wraps one, for its
/// client, configuration and channel).
pub(crate) struct ShardReader<R> {
    pub(crate) client: Client,
    pub(crate) cfg: Arc<TableConfig>,
    pub(crate) target: Arc<Target>,
    pub(crate) shard: Arc<str>,
    pub(crate) tx: mpsc::Sender<Event<R>>,
    pub(crate) counters: Arc<Counters>,
    /// Asked before every read: a fenced lease is not read.
    pub(crate) assigner: Arc<dyn super::discovery::ShardAssigner>,
    pub(crate) _r: std::marker::PhantomData<fn() -> R>,
}

/// How often a fenced reader looks whether its shard may be read again.
const FENCE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// The per-shard read limit that adaptive reads stay under.
const SHARD_READ_BYTES_PER_SEC: f64 = 2.0 * 1024.0 * 1024.0;

/// What one GetRecords call (with its retries) gave.
enum Read {
    /// The records, and when the call that returned them started.
    Records(GetRecordsOutput, Instant),
    /// The iterator expired: get a new one.
    Expired,
}

impl<R: Record> ShardReader<R> {
    pub(crate) async fn run(self, start: Start) {
        if let Err(e) = self.read(start).await {
            let _ = self.tx.send(Event::Failed(e)).await;
        }
    }

    async fn read(&self, start: Start) -> Result<(), SourceError> {
        let polling = &self.cfg.source.polling;
        let mut last_read: Option<String> = match &start {
            Start::After(s) => Some(s.clone()),
            _ => None,
        };
        // Started inside an aggregated record: its processed sub-records are skipped.
        let mut skip = start.skip();
        // When the first iterator is LATEST, remember when it was taken: if it
        // expires before anything was read, reading resumes from that time
        // rather than from a new LATEST that would skip what arrived since.
        let taken_at = chrono::Utc::now().timestamp_millis();
        let mut iterator = self.iterator(&start).await?;
        if self.tx.send(Event::Positioned { shard: self.shard.clone() }).await.is_err() {
            return Ok(());
        }
        let mut limit = polling.max_records;
        loop {
            self.wait_usable().await;
            let (out, call_started) = match self.get_records(&iterator, limit).await? {
                Read::Records(out, started) => (out, started),
                Read::Expired => {
                    self.counters.expired_iterators.fetch_add(1, Ordering::Relaxed);
                    let from = match (&last_read, &start) {
                        (Some(s), _) => Start::After(s.clone()),
                        (None, Start::Latest) => Start::AtTimestamp(taken_at),
                        (None, other) => other.clone(),
                    };
                    iterator = self.iterator(&from).await?;
                    continue;
                }
            };
            let n_in = out.records().len();
            let Some(bytes) =
                deliver(&self.tx, &self.cfg, &self.counters, &self.shard, out.records(), out.millis_behind_latest(), &mut skip).await?
            else {
                return Ok(());
            };
            if let Some(r) = out.records().last() {
                last_read = Some(r.sequence_number().to_owned());
            }
            match out.next_shard_iterator() {
                Some(next) if !next.is_empty() => iterator = next.to_owned(),
                _ => {
                    let _ = self.tx.send(Event::End { shard: self.shard.clone() }).await;
                    return Ok(());
                }
            }
            if polling.adaptive_reads && n_in > 0 {
                // Stay under 2 MiB/s per shard at this call rate.
                let avg = (bytes as f64 / n_in as f64).max(1.0);
                let per_call = SHARD_READ_BYTES_PER_SEC * polling.interval.as_secs_f64().max(0.001);
                limit = ((per_call / avg) as u32).clamp(1, polling.max_records.max(1));
            }
            // The interval runs from the start of one call to the start of
            // the next, so time spent in the call counts towards it.
            tokio::time::sleep_until(call_started + polling.interval).await;
        }
    }

    /// Waits while the shard may not be read (its lease fenced). The source
    /// revokes a lost shard and aborts this reader; a lease renewed in time
    /// again resumes where it stopped, nothing skipped.
    pub(crate) async fn wait_usable(&self) {
        while !self.assigner.usable(&self.shard) {
            tokio::time::sleep(FENCE_POLL).await;
        }
    }

    /// One GetRecords call, with the `scan.shard.getrecords.*` retries of
    /// throttling and transient errors (each counted).
    async fn get_records(&self, iterator: &str, limit: u32) -> Result<Read, SourceError> {
        let b = &self.cfg.source.polling.get_records_retry;
        let result = retry::run(&Policy::new(b), |_| async move {
            self.counters.get_records_calls.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let req = self.client.get_records().shard_iterator(iterator).limit(limit as i32);
            let (req, by_arn) = self.target.name_by_arn_only(req, |r, arn| r.stream_arn(arn));
            match self.target.attempt(req.send().await, by_arn) {
                Attempt::Done(out) => Attempt::Done(Read::Records(out, started)),
                Attempt::Failed(Class::ExpiredIterator, _) => Attempt::Done(Read::Expired),
                Attempt::Failed(class, e) => {
                    match class {
                        Class::Throttled => self.counters.throttled.fetch_add(1, Ordering::Relaxed),
                        Class::Transient => self.counters.transient_errors.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                    Attempt::Failed(class, e)
                }
                Attempt::Resend(e) => Attempt::Resend(e),
            }
        })
        .await;
        result.map_err(|gave_up| {
            let why = retry::describe(&gave_up.error);
            let message = match gave_up.stop {
                Stop::Exhausted => format!(
                    "GetRecords on shard {} failed {} times in a row (scan.shard.getrecords.maxretries = {}): {why}",
                    self.shard, gave_up.attempts, b.max_retries
                ),
                Stop::Fatal | Stop::Deadline => format!("GetRecords on shard {} failed: {why}", self.shard),
            };
            SourceError::kinesis(message, gave_up.error)
        })
    }

    /// A shard iterator at `start` (GetShardIterator, with the
    /// `scan.shard.getiterator.*` retries of throttling and transient errors).
    pub(crate) async fn iterator(&self, start: &Start) -> Result<String, SourceError> {
        let b = &self.cfg.source.polling.get_iterator_retry;
        let result = retry::run(&Policy::new(b), |_| async move {
            let req = self.client.get_shard_iterator().shard_id(&*self.shard);
            let (req, by_arn) = self.target.named(req, |r, arn| r.stream_arn(arn), |r, name| r.stream_name(name));
            let req = match start {
                Start::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
                Start::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
                Start::AtTimestamp(ms) => {
                    req.shard_iterator_type(ShardIteratorType::AtTimestamp).timestamp(aws_smithy_types::DateTime::from_millis(*ms))
                }
                Start::After(seq) => req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(seq),
                Start::Inside { sequence_number, .. } => {
                    req.shard_iterator_type(ShardIteratorType::AtSequenceNumber).starting_sequence_number(sequence_number)
                }
            };
            self.target.attempt(req.send().await, by_arn)
        })
        .await;
        let out = result.map_err(|gave_up| {
            let message = format!("GetShardIterator on shard {} failed: {}", self.shard, retry::describe(&gave_up.error));
            SourceError::kinesis(message, gave_up.error)
        })?;
        match out.shard_iterator() {
            Some(it) => Ok(it.to_owned()),
            None => Err(SourceError::Kinesis(format!("GetShardIterator on shard {} returned no iterator", self.shard).into())),
        }
    }
}
