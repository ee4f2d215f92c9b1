//! The EFO stream consumer's lifecycle.
//!
//! With `source.efo.lifecycle: JOB_MANAGED` (kinesis-legacy:
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

use std::sync::Arc;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::types::ConsumerStatus;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::{EfoConfig, EfoLifecycle, TableConfig};
use crate::retry::{self, Attempt, Class, Policy};
use crate::source::error::SourceError;

/// The stream consumer a source reads through.
#[derive(Debug)]
pub(crate) struct Efo {
    pub(super) consumer_arn: String,
    consumer_name: String,
    stream_arn: String,
    lifecycle: EfoLifecycle,
    /// One permit per open subscription (`efo.http_max_concurrency`).
    pub(super) permits: Arc<Semaphore>,
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

pub(super) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}
