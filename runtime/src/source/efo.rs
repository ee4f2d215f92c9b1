//! Enhanced fan-out (EFO): the stream consumer's lifecycle and the
//! SubscribeToShard reader of one shard.
//!
//! **Consumer.** With `source.efo.lifecycle: JOB_MANAGED` (kinesis-legacy:
//! `scan.stream.efo.registration: LAZY` or `EAGER`) the source registers the
//! consumer named in the spec at startup. A consumer of that name that
//! already exists — left by a crash, or by another instance — is reused, so a
//! restart never creates a second one; one that is still being deleted (a
//! clean stop just before) is waited for and registered again. The source
//! waits until the consumer is ACTIVE (`source.efo.describe.*` backoff,
//! within the registration timeout). [`Source::close`](crate::source::Source::close)
//! deregisters it and waits, up to the deregistration timeout, until it is
//! gone; a source dropped without `close` (or a killed process) leaves it
//! registered. With `SELF_MANAGED` (legacy `NONE`) the consumer must exist —
//! by name, or by `scan.stream.efo.consumerarn` — and is never registered or
//! deregistered; a missing one fails the start with a message naming it.
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

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{ConsumerStatus, ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::decode::deliver;
use super::error::{Cause, SourceError};
use super::event::Event;
use super::polling::ShardReader;
use super::start::Start;
use crate::Record;
use crate::config::{EfoConfig, EfoLifecycle, TableConfig};
use crate::retry::{self, Attempt, Class, Policy};

/// Shards known to be closed: some listed shard names them as its parent.
pub(crate) type ClosedShards = Arc<Mutex<HashSet<String>>>;

/// The stream consumer a source reads through.
#[derive(Debug)]
pub(crate) struct Efo {
    consumer_arn: String,
    consumer_name: String,
    stream_arn: String,
    lifecycle: EfoLifecycle,
    /// One permit per open subscription (`efo.http_max_concurrency`).
    permits: Arc<Semaphore>,
}

/// A consumer as DescribeStreamConsumer reports it.
struct Described {
    arn: String,
    name: String,
    stream_arn: String,
    status: ConsumerStatus,
}

enum ConsumerRef<'a> {
    Name(&'a str),
    Arn(&'a str),
}

impl Efo {
    /// Finds, or registers, the consumer and waits until it is ACTIVE.
    pub(crate) async fn setup(
        client: &Client,
        cfg: &TableConfig,
        table: &str,
        stream_arn: String,
        stream: &str,
    ) -> Result<Efo, SourceError> {
        let efo = &cfg.source.efo;
        let permits = Arc::new(Semaphore::new((efo.http_max_concurrency as usize).clamp(1, Semaphore::MAX_PERMITS)));
        let deadline = Instant::now() + efo.register_timeout;
        let d = match efo.lifecycle {
            EfoLifecycle::SelfManaged => {
                let by = match (&efo.consumer_arn, &efo.consumer_name) {
                    (Some(arn), _) => ConsumerRef::Arn(arn),
                    (None, Some(name)) => ConsumerRef::Name(name),
                    (None, None) => {
                        return Err(SourceError::Setup(
                            format!(
                                "table `{table}` reads stream `{stream}` through EFO but names no consumer \
                             (source.efo.consumer.name, or scan.stream.efo.consumerarn)"
                            )
                            .into(),
                        ));
                    }
                };
                self_managed(client, efo, &stream_arn, stream, by, deadline).await?
            }
            EfoLifecycle::JobManaged => {
                let Some(name) = efo.consumer_name.as_deref() else {
                    return Err(SourceError::Setup(
                        format!("table `{table}` reads stream `{stream}` through EFO but names no consumer (source.efo.consumer.name)")
                            .into(),
                    ));
                };
                job_managed(client, efo, &stream_arn, stream, name, deadline).await?
            }
        };
        tracing::info!(table, stream, consumer = %d.name, consumer_arn = %d.arn, "reading through EFO consumer");
        Ok(Efo { consumer_arn: d.arn, consumer_name: d.name, stream_arn, lifecycle: efo.lifecycle, permits })
    }

    /// On a clean stop: deregisters a JOB_MANAGED consumer and waits (up to
    /// the deregistration timeout) until it is gone.
    pub(crate) async fn release(&self, client: &Client, cfg: &TableConfig) -> Result<(), SourceError> {
        if self.lifecycle != EfoLifecycle::JobManaged {
            return Ok(());
        }
        let efo = &cfg.source.efo;
        let deadline = Instant::now() + efo.deregister_timeout;
        if self.deregister(client, efo, deadline).await? {
            self.wait_until_gone(client, efo, deadline).await?;
        }
        Ok(())
    }

    /// DeregisterStreamConsumer, retried (ResourceInUseException too) up to
    /// the deadline. Whether there was a consumer to deregister.
    async fn deregister(&self, client: &Client, efo: &EfoConfig, deadline: Instant) -> Result<bool, SourceError> {
        let policy = Policy::new(&efo.deregister_retry).deadline(deadline);
        let result = retry::run(&policy, |_| async move {
            match client.deregister_stream_consumer().consumer_arn(&self.consumer_arn).send().await {
                Ok(_) => Attempt::Done(true),
                Err(e) if code(&e) == Some("ResourceNotFoundException") => Attempt::Done(false),
                Err(e) if code(&e) == Some("ResourceInUseException") => Attempt::Failed(Class::Transient, e),
                Err(e) => Attempt::Failed(retry::classify(&e), e),
            }
        })
        .await;
        result.map_err(|gave_up| {
            let what = format!("EFO consumer `{}` of stream `{}`", self.consumer_name, self.stream_arn);
            SourceError::kinesis(format!("cannot deregister {what}: {}", retry::describe(&gave_up.error)), gave_up.error)
        })
    }

    /// Waits until the consumer is gone, so that a start right after this
    /// finds no half-deleted consumer of its name. At the deadline a consumer
    /// still there is left to Kinesis (warned about); a failed check is an error.
    async fn wait_until_gone(&self, client: &Client, efo: &EfoConfig, deadline: Instant) -> Result<(), SourceError> {
        let policy = Policy::new(&efo.deregister_retry).unlimited().max_exponent(8).deadline(deadline);
        let by = ConsumerRef::Arn(&self.consumer_arn);
        let result = retry::run(&policy, |_| async {
            match describe(client, efo, &self.stream_arn, &by).await {
                Ok(None) => Attempt::Done(()),
                Ok(Some(d)) => Attempt::Failed(Class::Transient, Ok(d)),
                Err(e) => Attempt::Failed(Class::Transient, Err(e)),
            }
        })
        .await;
        match result {
            Ok(()) => {
                tracing::info!(consumer = %self.consumer_name, "EFO consumer deregistered");
                Ok(())
            }
            Err(retry::GaveUp { error: Ok(d), .. }) => {
                tracing::warn!(
                    consumer = %self.consumer_name,
                    "the EFO consumer is still {} after {:?} (source.efo.deregister.timeout); Kinesis finishes deleting it on its own",
                    d.status.as_str(),
                    efo.deregister_timeout
                );
                Ok(())
            }
            Err(retry::GaveUp { error: Err(e), .. }) => Err(e),
        }
    }
}

/// SELF_MANAGED: the consumer must exist; waits while it is CREATING.
async fn self_managed(
    client: &Client,
    efo: &EfoConfig,
    stream_arn: &str,
    stream: &str,
    by: ConsumerRef<'_>,
    deadline: Instant,
) -> Result<Described, SourceError> {
    let named = match &by {
        ConsumerRef::Name(n) => format!("EFO consumer `{n}`"),
        ConsumerRef::Arn(a) => format!("EFO consumer `{a}`"),
    };
    let fail = |e| Attempt::Done(Err(e));
    let policy = Policy::new(&efo.describe_retry).deadline(deadline);
    let result = retry::run(&policy, |_| async {
        let d = match describe(client, efo, stream_arn, &by).await {
            Err(e) => return fail(e),
            Ok(None) => {
                return fail(SourceError::Setup(
                    format!(
                        "{named} of stream `{stream}` does not exist; with source.efo.lifecycle SELF_MANAGED \
                         (scan.stream.efo.registration NONE) it must be registered beforehand (RegisterStreamConsumer), \
                         or let the source manage it with JOB_MANAGED"
                    )
                    .into(),
                ));
            }
            Ok(Some(d)) => d,
        };
        if d.stream_arn != stream_arn && !d.stream_arn.is_empty() {
            return fail(SourceError::Setup(format!("{named} belongs to stream `{}`, not `{stream_arn}`", d.stream_arn).into()));
        }
        match d.status {
            ConsumerStatus::Active => Attempt::Done(Ok(d)),
            ConsumerStatus::Deleting => fail(SourceError::Setup(format!("{named} of stream `{stream}` is being deleted").into())),
            _ => Attempt::Failed(Class::Transient, d.status),
        }
    })
    .await;
    result.unwrap_or_else(|gave_up| {
        Err(SourceError::Setup(
            format!("{named} of stream `{stream}` is still {} (not ACTIVE) after {} checks", gave_up.error.as_str(), gave_up.attempts - 1)
                .into(),
        ))
    })
}

/// JOB_MANAGED: registers the consumer, or reuses the one of that name, and
/// waits until it is ACTIVE; registers it again if it is deleted meanwhile.
async fn job_managed(
    client: &Client,
    efo: &EfoConfig,
    stream_arn: &str,
    stream: &str,
    name: &str,
    deadline: Instant,
) -> Result<Described, SourceError> {
    let timed_out = |state: &str| {
        SourceError::Setup(
            format!(
                "EFO consumer `{name}` of stream `{stream}` is still {state} after {:?} (the registration timeout)",
                efo.register_timeout
            )
            .into(),
        )
    };
    // Rounds of register-or-reuse, until the deadline.
    let policy = Policy::new(&efo.describe_retry).unlimited().deadline(deadline);
    let result = retry::run(&policy, |_| async {
        let arn = match register(client, efo, stream_arn, name).await {
            Err(e) => return Attempt::Done(Err(e)),
            Ok(Some(arn)) => {
                tracing::info!(consumer = name, stream, "registered EFO consumer");
                arn
            }
            // It exists: reuse it, unless it is on its way out.
            Ok(None) => match describe(client, efo, stream_arn, &ConsumerRef::Name(name)).await {
                Err(e) => return Attempt::Done(Err(e)),
                Ok(Some(d)) if d.status == ConsumerStatus::Deleting => {
                    tracing::info!(consumer = name, stream, "the EFO consumer is being deleted; registering it again once it is gone");
                    return Attempt::Failed(Class::Transient, "DELETING");
                }
                Ok(Some(d)) => {
                    tracing::info!(consumer = name, stream, "reusing the existing EFO consumer");
                    d.arn
                }
                // Gone between the two calls: register again.
                Ok(None) => return Attempt::Failed(Class::Transient, "not ACTIVE"),
            },
        };
        match until_active(client, efo, stream_arn, &arn, deadline).await {
            Ok(Activation::Active(d)) => Attempt::Done(Ok(d)),
            // Deleted meanwhile (another instance stopped): register again.
            Ok(Activation::Gone) => Attempt::Failed(Class::Transient, "not ACTIVE"),
            Ok(Activation::Stuck(status)) => Attempt::Done(Err(timed_out(status.as_str()))),
            Err(e) => Attempt::Done(Err(e)),
        }
    })
    .await;
    result.unwrap_or_else(|gave_up| Err(timed_out(gave_up.error)))
}

/// How waiting for a consumer to become ACTIVE ended.
enum Activation {
    Active(Described),
    /// Deleted meanwhile.
    Gone,
    /// Still in this state once the deadline or the retries ran out.
    Stuck(ConsumerStatus),
}

/// Waits until consumer `arn` is ACTIVE (`source.efo.describe.*` backoff, up to the deadline).
async fn until_active(client: &Client, efo: &EfoConfig, stream_arn: &str, arn: &str, deadline: Instant) -> Result<Activation, SourceError> {
    let policy = Policy::new(&efo.describe_retry).deadline(deadline);
    let result = retry::run(&policy, |_| async {
        match describe(client, efo, stream_arn, &ConsumerRef::Arn(arn)).await {
            Err(e) => Attempt::Done(Err(e)),
            Ok(Some(d)) if d.status == ConsumerStatus::Active => Attempt::Done(Ok(Activation::Active(d))),
            Ok(Some(d)) if d.status == ConsumerStatus::Deleting => Attempt::Done(Ok(Activation::Gone)),
            Ok(None) => Attempt::Done(Ok(Activation::Gone)),
            Ok(Some(d)) => Attempt::Failed(Class::Transient, d.status),
        }
    })
    .await;
    result.unwrap_or_else(|gave_up| Ok(Activation::Stuck(gave_up.error)))
}

/// RegisterStreamConsumer: the new consumer's ARN, or `None` when one of that
/// name exists already.
async fn register(client: &Client, efo: &EfoConfig, stream_arn: &str, name: &str) -> Result<Option<String>, SourceError> {
    let result = retry::run(&Policy::new(&efo.register_retry), |_| async {
        match client.register_stream_consumer().stream_arn(stream_arn).consumer_name(name).send().await {
            Ok(out) => Attempt::Done(Some(out.consumer().map(|c| c.consumer_arn().to_owned()))),
            Err(e) if code(&e) == Some("ResourceInUseException") => Attempt::Done(None),
            Err(e) => Attempt::Failed(retry::classify(&e), e),
        }
    })
    .await;
    match result {
        Ok(Some(Some(arn))) => Ok(Some(arn)),
        Ok(Some(None)) => Err(SourceError::Kinesis(format!("RegisterStreamConsumer `{name}` returned no consumer").into())),
        Ok(None) => Ok(None),
        Err(gave_up) => {
            let message = format!("cannot register EFO consumer `{name}` of stream `{stream_arn}`: {}", retry::describe(&gave_up.error));
            Err(SourceError::setup(message, gave_up.error))
        }
    }
}

/// DescribeStreamConsumer; `None` when there is no such consumer.
async fn describe(client: &Client, efo: &EfoConfig, stream_arn: &str, by: &ConsumerRef<'_>) -> Result<Option<Described>, SourceError> {
    let result = retry::run(&Policy::new(&efo.describe_retry), |_| async {
        let req = client.describe_stream_consumer();
        let req = match by {
            ConsumerRef::Name(n) => req.stream_arn(stream_arn).consumer_name(*n),
            ConsumerRef::Arn(a) => req.consumer_arn(*a),
        };
        match req.send().await {
            Ok(out) => Attempt::Done(out.consumer_description().map(|d| Described {
                arn: d.consumer_arn().to_owned(),
                name: d.consumer_name().to_owned(),
                stream_arn: d.stream_arn().to_owned(),
                status: d.consumer_status().clone(),
            })),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Attempt::Done(None),
            Err(e) => Attempt::Failed(retry::classify(&e), e),
        }
    })
    .await;
    result.map_err(|gave_up| {
        let message = format!("DescribeStreamConsumer failed: {}", retry::describe(&gave_up.error));
        SourceError::kinesis(message, gave_up.error)
    })
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

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
            let ev = match tokio::time::timeout(timeout, out.event_stream.recv()).await {
                Err(_) => {
                    r.counters.subscription_timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(shard = &*r.shard, "no SubscribeToShard event within {timeout:?}; subscribing again");
                    let why = format!("no event within {timeout:?} (source.efo.subscription.timeout)");
                    return Ok(if events > 0 { Outcome::Renew(why) } else { Outcome::Retry(why) });
                }
                Ok(Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(ev)))) => ev,
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => {
                    let why = "the event stream ended".to_owned();
                    return Ok(if events > 0 { Outcome::Renew(why) } else { Outcome::Retry(why) });
                }
                Ok(Err(e)) => {
                    let (class, why) = stream_error(&e);
                    match class {
                        Class::Fatal => {
                            return Err(SourceError::Kinesis(format!("SubscribeToShard on shard {} failed: {why}", r.shard).into()));
                        }
                        Class::Throttled => r.counters.throttled.fetch_add(1, Ordering::Relaxed),
                        _ => r.counters.transient_errors.fetch_add(1, Ordering::Relaxed),
                    };
                    return Ok(if events > 0 { Outcome::Renew(why) } else { Outcome::Retry(why) });
                }
            };
            if events == 0 {
                r.counters.subscriptions.fetch_add(1, Ordering::Relaxed);
                if !*positioned {
                    *positioned = true;
                    if r.tx.send(Event::Positioned { shard: r.shard.clone() }).await.is_err() {
                        return Ok(Outcome::Gone);
                    }
                }
            }
            events += 1;
            pos.seen_event = true;
            let records = ev.records();
            let stale = match &floor {
                Some((f, true)) => records.iter().take_while(|r| !is_after(r.sequence_number(), f)).count(),
                Some((f, false)) => records.iter().take_while(|r| is_after(f, r.sequence_number())).count(),
                None => 0,
            };
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
            // AWS ends a shard with a null continuation (and its children);
            // ferrokinesis keeps the continuation but sends the children once
            // every record was delivered.
            if continuation.is_empty() || (!ev.child_shards().is_empty() && records.is_empty()) {
                return Ok(Outcome::Ended);
            }
            if records.is_empty() && self.known_closed() && pos.checked_end.is_none_or(|t| t.elapsed() >= END_CHECK_INTERVAL) {
                pos.checked_end = Some(Instant::now());
                if self.drained(&pos.from).await {
                    return Ok(Outcome::Ended);
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
