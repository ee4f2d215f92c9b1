//! Enhanced fan-out (EFO): the SubscribeToShard reader of one shard, and
//! (in `consumer`) the stream consumer's lifecycle.
//!
//! **Subscriptions.** A shard's reader subscribes from the same start position
//! the polling reader would use (checkpoint, configured position, or
//! TRIM_HORIZON for children) and hands every event's records to the source
//! through the same decoding function as polling. When a subscription ends
//! (AWS ends them after 5 minutes; emulators sooner; a cut connection; no
//! event within `source.efo.subscription.timeout`) it subscribes again
//! AFTER_SEQUENCE_NUMBER the last continuation sequence number, so nothing is
//! skipped or repeated. ResourceInUseException (the previous subscription not
//! yet released, the consumer not yet ACTIVE), throttling and transient errors
//! are retried with the `efo.subscribe_retry` backoff; the source fails only
//! when that many attempts in a row fail. A shard ends at an event without a
//! continuation sequence number, or one with child shards and no records; for
//! servers that announce neither (kinesis-mock), a shard known to be closed is
//! confirmed read to its end with one GetRecords call when an event comes
//! back empty. At most `efo.http_max_concurrency` subscriptions are open at
//! once (each holds one HTTP stream); shards beyond that wait their turn.
//!
//! Records at or before the sequence number a subscription starts after are
//! dropped: AWS never sends them, but ferrokinesis 0.7.0 ignores
//! `StartingPosition.SequenceNumber` and replays the shard from its start.
//!
//! The SDK's `send` waits for the first message of the event stream (the
//! `initial-response` that AWS sends; servers that send none, such as
//! kinesis-mock, deliver their first event instead, which the SDK keeps for
//! `recv`), so `send` is bounded by the subscription timeout too.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use tokio::time::Instant;

mod consumer;

pub(crate) use consumer::Efo;
use consumer::code;

use crate::Record;
use crate::retry::{self, Class, Policy};
use crate::source::decode::deliver;
use crate::source::error::{Cause, SourceError};
use crate::source::event::Event;
use crate::source::polling::ShardReader;
use crate::source::start::Start;

/// Shards known to be closed: some listed shard names them as its parent.
pub(crate) type ClosedShards = Arc<Mutex<HashSet<String>>>;

/// How one subscription ended.
enum Outcome {
    /// The shard was read to its end.
    Ended,
    /// The source is gone.
    Gone,
    /// The subscription delivered events and then ended: subscribe again now.
    Renew(String),
    /// Subscribing failed, or the subscription ended before its first event:
    /// back off and try again (counted against `efo.subscribe_retry`).
    Retry(String),
}

/// What the reader knows about its position.
struct Position {
    from: Start,
    /// Some event arrived (the position is then a sequence number).
    seen_event: bool,
    /// When the shard was last confirmed not to be drained (closed-shard check).
    checked_end: Option<Instant>,
}

/// The EFO reader of one shard: an alternative to the polling
/// [`ShardReader`] (whose client, configuration and channel it uses), sending
/// the same events.
pub(crate) struct EfoShardReader<R> {
    pub(crate) polling: ShardReader<R>,
    pub(crate) efo: Arc<Efo>,
    pub(crate) closed: ClosedShards,
}

/// How often at most a closed shard's end is checked with GetRecords.
const END_CHECK_INTERVAL: Duration = Duration::from_secs(2);

impl<R: Record> EfoShardReader<R> {
    pub(crate) async fn run(self, start: Start) {
        if let Err(e) = self.read(start).await {
            let _ = self.polling.tx.send(Event::Failed(e)).await;
        }
    }

    async fn read(&self, start: Start) -> Result<(), SourceError> {
        let r = &self.polling;
        let b = &r.cfg.source.efo.subscribe_retry;
        // As with polling: if LATEST never delivered an event, resume from when it was taken.
        let taken_at = chrono::Utc::now().timestamp_millis();
        let mut pos = Position { from: start, seen_event: false, checked_end: None };
        let mut retrier = retry::retrier(Policy::new(b));
        let mut positioned = false;
        loop {
            let outcome = {
                let Ok(_permit) = self.efo.permits.acquire().await else { return Ok(()) };
                self.subscribe_once(&mut pos, &mut positioned).await?
            };
            match outcome {
                Outcome::Ended => {
                    let _ = r.tx.send(Event::End { shard: r.shard.clone() }).await;
                    return Ok(());
                }
                Outcome::Gone => return Ok(()),
                Outcome::Renew(why) => {
                    tracing::debug!(shard = &*r.shard, "subscription ended ({why}); subscribing again");
                    r.counters.resubscriptions.fetch_add(1, Ordering::Relaxed);
                    retrier.reset();
                }
                Outcome::Retry(why) => {
                    let attempt = retrier.attempt();
                    if attempt < b.max_retries {
                        tracing::debug!(shard = &*r.shard, attempt, "SubscribeToShard failed ({why}); retrying");
                    }
                    if !pos.seen_event && matches!(pos.from, Start::Latest) {
                        pos.from = Start::AtTimestamp(taken_at);
                    }
                    retrier.failed(Class::Transient, why).await.map_err(|gave_up| {
                        SourceError::Kinesis(
                            format!(
                                "SubscribeToShard on shard {} failed {} times in a row (efo subscribe retries = {}): {}",
                                r.shard, gave_up.attempts, b.max_retries, gave_up.error
                            )
                            .into(),
                        )
                    })?;
                }
            }
        }
    }

    async fn subscribe_once(&self, pos: &mut Position, positioned: &mut bool) -> Result<Outcome, SourceError> {
        let r = &self.polling;
        let timeout = r.cfg.source.efo.subscription_timeout;
        let request = r
            .client
            .subscribe_to_shard()
            .consumer_arn(&self.efo.consumer_arn)
            .shard_id(&*r.shard)
            .starting_position(starting_position(&pos.from)?);
        let mut out = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => {
                r.counters.subscription_timeouts.fetch_add(1, Ordering::Relaxed);
                return Ok(Outcome::Retry(format!("no answer within {timeout:?} (source.efo.subscription.timeout)")));
            }
            Ok(Err(e)) => return self.subscribe_error(&e),
            Ok(Ok(out)) => out,
        };
        // Records at or before an AFTER_SEQUENCE_NUMBER start are never
        // delivered: AWS does not send them, and a server that ignores the
        // starting sequence number (ferrokinesis 0.7.0 restarts at the
        // shard's start) must not cause duplicates.
        // (sequence number, whether records AT it are dropped too)
        let mut floor = match &pos.from {
            Start::After(s) => Some((s.clone(), true)),
            Start::Inside { sequence_number, .. } => Some((sequence_number.clone(), false)),
            _ => None,
        };
        // Started inside an aggregated record: its processed sub-records are skipped.
        let mut skip = pos.from.skip();
        let mut repeated = 0usize;
        let mut events = 0u64;
        loop {
            let ev = match self.next_event(&mut out, events).await? {
                Ok(ev) => ev,
                Err(outcome) => return Ok(outcome),
            };
            if events == 0 {
                r.counters.subscriptions.fetch_add(1, Ordering::Relaxed);
                // The first event of the reader: it is positioned.
                if !std::mem::replace(positioned, true) && r.tx.send(Event::Positioned { shard: r.shard.clone() }).await.is_err() {
                    return Ok(Outcome::Gone);
                }
            }
            events += 1;
            pos.seen_event = true;
            let records = ev.records();
            let stale = stale_records(records, floor.as_ref());
            let fresh = &records[stale..];
            if stale > 0 && repeated == 0 {
                tracing::warn!(
                    shard = &*r.shard,
                    "the server sent records at or before the requested AFTER_SEQUENCE_NUMBER position; skipping them"
                );
            }
            repeated += stale;
            if !fresh.is_empty() {
                floor = None;
            }
            // A fenced lease: nothing more is delivered until it is usable
            // again or the source revokes the shard (aborting this reader).
            r.wait_usable().await;
            if deliver(&r.tx, &r.cfg, &r.counters, &r.shard, fresh, Some(ev.millis_behind_latest()), &mut skip).await?.is_none() {
                return Ok(Outcome::Gone);
            }
            let continuation = ev.continuation_sequence_number();
            let next = if continuation.is_empty() { fresh.last().map(|l| l.sequence_number()) } else { Some(continuation) };
            // The position only moves forward.
            if let Some(next) = next
                && floor.as_ref().is_none_or(|(f, _)| is_after(next, f))
            {
                pos.from = Start::After(next.to_owned());
            }
            if self.at_end(&ev, pos).await {
                return Ok(Outcome::Ended);
            }
        }
    }

    /// Whether the shard was read to its end with this event. AWS ends a
    /// shard with a null continuation (and its children); ferrokinesis keeps
    /// the continuation but sends the children once every record was
    /// delivered; kinesis-mock announces neither, so a shard known to be
    /// closed is checked with GetRecords when an event comes back empty.
    async fn at_end(&self, ev: &SubscribeToShardEvent, pos: &mut Position) -> bool {
        let empty = ev.records().is_empty();
        if ev.continuation_sequence_number().is_empty() || (!ev.child_shards().is_empty() && empty) {
            return true;
        }
        if empty && self.known_closed() && pos.checked_end.is_none_or(|t| t.elapsed() >= END_CHECK_INTERVAL) {
            pos.checked_end = Some(Instant::now());
            return self.drained(&pos.from).await;
        }
        false
    }

    /// The next event of a subscription (other messages are skipped), or
    /// how the subscription ended: renewed once it delivered `events`,
    /// retried (with backoff) before that.
    async fn next_event(
        &self,
        out: &mut SubscribeToShardOutput,
        events: u64,
    ) -> Result<Result<SubscribeToShardEvent, Outcome>, SourceError> {
        let r = &self.polling;
        let timeout = r.cfg.source.efo.subscription_timeout;
        let ended = |why: String| Ok(Err(if events > 0 { Outcome::Renew(why) } else { Outcome::Retry(why) }));
        loop {
            match tokio::time::timeout(timeout, out.event_stream.recv()).await {
                Err(_) => {
                    r.counters.subscription_timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(shard = &*r.shard, "no SubscribeToShard event within {timeout:?}; subscribing again");
                    return ended(format!("no event within {timeout:?} (source.efo.subscription.timeout)"));
                }
                Ok(Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(ev)))) => return Ok(Ok(ev)),
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => return ended("the event stream ended".to_owned()),
                Ok(Err(e)) => {
                    let (class, why) = stream_error(&e);
                    match class {
                        Class::Fatal => {
                            return Err(SourceError::Kinesis(format!("SubscribeToShard on shard {} failed: {why}", r.shard).into()));
                        }
                        Class::Throttled => r.counters.throttled.fetch_add(1, Ordering::Relaxed),
                        _ => r.counters.transient_errors.fetch_add(1, Ordering::Relaxed),
                    };
                    return ended(why);
                }
            }
        }
    }

    fn subscribe_error(
        &self,
        e: &SdkError<aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardError, HttpResponse>,
    ) -> Result<Outcome, SourceError> {
        let r = &self.polling;
        let why = retry::describe(e);
        if code(e) == Some("ResourceInUseException") {
            return Ok(Outcome::Retry(why));
        }
        match retry::classify(e) {
            Class::Throttled => {
                r.counters.throttled.fetch_add(1, Ordering::Relaxed);
                Ok(Outcome::Retry(why))
            }
            Class::Transient => {
                r.counters.transient_errors.fetch_add(1, Ordering::Relaxed);
                Ok(Outcome::Retry(why))
            }
            Class::Fatal | Class::ExpiredIterator | Class::Retarget => {
                Err(SourceError::Kinesis(format!("SubscribeToShard on shard {} failed: {why}", r.shard).into()))
            }
        }
    }

    fn known_closed(&self) -> bool {
        self.closed.lock().is_ok_and(|c| c.contains(&*self.polling.shard))
    }

    /// Whether a closed shard has nothing left after `from` (GetRecords
    /// returns no records and no next iterator). Errors count as "not known
    /// to be drained": the subscription goes on and the check is repeated.
    async fn drained(&self, from: &Start) -> bool {
        let r = &self.polling;
        let Ok(iterator) = r.iterator(from).await else { return false };
        r.counters.get_records_calls.fetch_add(1, Ordering::Relaxed);
        let req = r.client.get_records().shard_iterator(iterator).limit(1);
        let (req, by_arn) = r.target.name_by_arn_only(req, |req, arn| req.stream_arn(arn));
        match req.send().await {
            Ok(out) => out.records().is_empty() && out.next_shard_iterator().is_none_or(str::is_empty),
            Err(e) => {
                let _ = r.target.refused_arn(&e, by_arn);
                false
            }
        }
    }
}

/// Whether sequence number `a` comes after `b` (both decimal strings of up
/// to 128 digits). Numbers that cannot be compared count as "after", so
/// nothing is ever dropped on a guess.
fn is_after(a: &str, b: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return true;
    }
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

/// How many records at the start of an event lie at or before the floor:
/// `(sequence number, whether records AT it are stale too)`.
fn stale_records(records: &[aws_sdk_kinesis::types::Record], floor: Option<&(String, bool)>) -> usize {
    match floor {
        Some((f, true)) => records.iter().take_while(|r| !is_after(r.sequence_number(), f)).count(),
        Some((f, false)) => records.iter().take_while(|r| is_after(f, r.sequence_number())).count(),
        None => 0,
    }
}

fn starting_position(from: &Start) -> Result<StartingPosition, SourceError> {
    let b = StartingPosition::builder();
    let b = match from {
        Start::Latest => b.r#type(ShardIteratorType::Latest),
        Start::TrimHorizon => b.r#type(ShardIteratorType::TrimHorizon),
        Start::AtTimestamp(ms) => b.r#type(ShardIteratorType::AtTimestamp).timestamp(aws_smithy_types::DateTime::from_millis(*ms)),
        Start::After(seq) => b.r#type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
        Start::Inside { sequence_number, .. } => b.r#type(ShardIteratorType::AtSequenceNumber).sequence_number(sequence_number),
    };
    b.build().map_err(|e| SourceError::Kinesis(Cause::with_source(format!("bad SubscribeToShard starting position: {e}"), e)))
}

/// Classifies an error of the event stream: exceptions the server sends
/// inside the stream, or a broken connection.
fn stream_error<R: std::fmt::Debug>(e: &SdkError<SubscribeToShardEventStreamError, R>) -> (Class, String) {
    use SubscribeToShardEventStreamError as E;
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            // Exceptions in an event stream carry their type as the variant;
            // the SDK leaves `code()` empty for them.
            let name = match err {
                E::ResourceInUseException(_) => "ResourceInUseException",
                E::ResourceNotFoundException(_) => "ResourceNotFoundException",
                E::InternalFailureException(_) => "InternalFailureException",
                E::KmsThrottlingException(_) => "KMSThrottlingException",
                E::KmsDisabledException(_) => "KMSDisabledException",
                E::KmsInvalidStateException(_) => "KMSInvalidStateException",
                E::KmsAccessDeniedException(_) => "KMSAccessDeniedException",
                E::KmsNotFoundException(_) => "KMSNotFoundException",
                E::KmsOptInRequired(_) => "KMSOptInRequired",
                _ => err.code().unwrap_or("an unknown error"),
            };
            let why = format!("{name}: {}", err.message().unwrap_or(""));
            let class = match err {
                E::ResourceNotFoundException(_)
                | E::KmsDisabledException(_)
                | E::KmsInvalidStateException(_)
                | E::KmsAccessDeniedException(_)
                | E::KmsNotFoundException(_)
                | E::KmsOptInRequired(_) => Class::Fatal,
                _ if retry::is_throttling_code(name) => Class::Throttled,
                _ => Class::Transient,
            };
            (class, why)
        }
        other => (Class::Transient, retry::describe(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_after;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(is_after(
            "49680573478001686899061902611172888415315561838725300226",
            "49680573478001686899061902611171679489495947209550594050"
        ));
        assert!(!is_after(
            "49680573478001686899061902611171679489495947209550594050",
            "49680573478001686899061902611171679489495947209550594050"
        ));
        assert!(is_after("100", "99"));
        assert!(!is_after("099", "99"));
        assert!(!is_after("5", "10"));
        // Not numbers: never dropped.
        assert!(is_after("abc", "10"));
        assert!(is_after("", "10"));
    }
}
