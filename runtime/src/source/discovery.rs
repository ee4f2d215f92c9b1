//! Discovery: the stream's summary at startup (DescribeStreamSummary), the
//! shard listing (ListShards) every `source.shard.discovery.interval`, and
//! the assigner that picks which listed shards this source reads.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::StreamStatus;
use tokio::sync::{Notify, mpsc};

use super::error::SourceError;
use super::event::Event;
use super::shards::ShardInfo;
use crate::checkpoint::{BoxFuture, ShardPosition};
use crate::config::Backoff;
use crate::retry::{self, Attempt, Class, Policy};
use crate::stream::Target;

/// Picks the shards a source reads from a listing: [`AllShards`] reads every
/// shard; a lease table ([`crate::lease::LeaseAssigner`]) answers with the
/// shards whose leases this worker holds and may use. A listed shard that is
/// no longer assigned stops at once (its reader, pending batches and
/// position are dropped).
///
/// The bookkeeping treats a shard that is not assigned like one that is not
/// listed: a child whose parent is read elsewhere is not held back for it.
/// An assigner that splits a stream between workers must therefore assign a
/// child only once every parent is finished (the KCL's rule: a child lease
/// is taken once its parents' leases are at SHARD_END or gone).
pub(crate) trait ShardAssigner: Send + Sync + 'static {
    /// The ids of the listed shards to read. Called after every listing.
    fn assign<'a>(&'a self, listed: &'a [ShardInfo]) -> BoxFuture<'a, Result<HashSet<String>, SourceError>>;

    /// The committed position of a shard just assigned, when the assigner
    /// knows it better than the source (a lease taken from another worker:
    /// its row). `None`: the source's own checkpoint applies.
    fn position(&self, _shard: &str) -> Option<Option<ShardPosition>> {
        None
    }

    /// Where a shard just assigned without a position starts: `Some(true)`
    /// at TRIM_HORIZON, `Some(false)` at the configured start (a lease's
    /// start sentinel), `None` by the source's own rules.
    fn start_at_trim_horizon(&self, _shard: &str) -> Option<bool> {
        None
    }

    /// Resolves when the assignment may have changed (a lease taken or
    /// lost): the source lists and asks again at once. Never, by default.
    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::pending())
    }

    /// Whether the shard may be read now. A reader asks before every read,
    /// so a lease whose fence deadline passed stops being read at once,
    /// even while the assignment itself cannot be refreshed (its table
    /// unreachable). Always, by default.
    fn usable(&self, _shard: &str) -> bool {
        true
    }

    /// Whether no other reader of the stream is left, so that a clean stop
    /// may deregister a JOB_MANAGED EFO consumer they share. Yes, by default.
    fn last_reader(&self) -> BoxFuture<'_, bool> {
        Box::pin(std::future::ready(true))
    }
}

/// Reads every listed shard.
#[derive(Debug, Default)]
pub(crate) struct AllShards;

impl ShardAssigner for AllShards {
    fn assign<'a>(&'a self, listed: &'a [ShardInfo]) -> BoxFuture<'a, Result<HashSet<String>, SourceError>> {
        let all = listed.iter().map(|s| s.id.clone()).collect();
        Box::pin(async move { Ok(all) })
    }
}

/// What DescribeStreamSummary told the source at startup.
#[derive(Debug)]
pub(crate) struct Described {
    /// The stream's ARN as the server reports it.
    pub(crate) arn: Option<String>,
    pub(crate) created_millis: Option<i64>,
    pub(crate) retention_hours: Option<i32>,
}

/// Why one DescribeStreamSummary attempt did not return a usable summary.
enum NotYet {
    Call(Box<aws_sdk_kinesis::error::SdkError<aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError>>),
    /// The stream is in this state, not ACTIVE.
    Status(StreamStatus),
}

/// Checks at startup that the stream exists and is readable
/// (DescribeStreamSummary, with the `scan.stream.describe.*` backoff; a
/// CREATING stream is waited for as long). Returns what the source needs of
/// the summary.
pub(crate) async fn describe_stream(client: &Client, target: &Target, b: &Backoff) -> Result<Described, SourceError> {
    let described = retry::run(&Policy::new(b).retrying(Class::is_not_fatal), |_| async move {
        let (req, by_arn) = target.named(client.describe_stream_summary(), |r, arn| r.stream_arn(arn), |r, n| r.stream_name(n));
        let out = match target.attempt(req.send().await, by_arn) {
            Attempt::Done(out) => out,
            Attempt::Failed(class, e) => return Attempt::Failed(class, NotYet::Call(Box::new(e))),
            Attempt::Resend(e) => return Attempt::Resend(NotYet::Call(Box::new(e))),
        };
        let summary = out.stream_description_summary();
        let described = Described {
            arn: summary.map(|d| d.stream_arn().to_owned()).filter(|a| !a.is_empty()),
            created_millis: summary.and_then(|d| d.stream_creation_timestamp().to_millis().ok()),
            retention_hours: summary.map(|d| d.retention_period_hours()).filter(|h| *h > 0),
        };
        match summary.map(|d| d.stream_status().clone()) {
            Some(StreamStatus::Active | StreamStatus::Updating) | None => Attempt::Done(described),
            Some(StreamStatus::Creating) => Attempt::Failed(Class::Transient, NotYet::Status(StreamStatus::Creating)),
            Some(other) => Attempt::Failed(Class::Fatal, NotYet::Status(other)),
        }
    })
    .await;
    described.map_err(|gave_up| match gave_up.error {
        NotYet::Status(status) => SourceError::Setup(format!("stream `{}` is {}, not ACTIVE", target.name(), status.as_str()).into()),
        NotYet::Call(e) => {
            let message = format!("stream `{}`: {}", target.id(), retry::describe(&e));
            SourceError::setup(message, *e)
        }
    })
}

/// Lists the stream's shards (`scan.shard.list.*` backoff: anything but a
/// fatal error is retried).
pub(crate) async fn list_shards(client: &Client, target: &Target, b: &Backoff) -> Result<Vec<ShardInfo>, SourceError> {
    let policy = Policy::new(b).retrying(Class::is_not_fatal);
    let decide = |class, _: &_, attempt| policy.decide(class, attempt);
    let listed = crate::stream::list_shards_with(client, target, decide).await.map_err(|gave_up| {
        let message = format!("ListShards failed: {}", retry::describe(&gave_up.error));
        SourceError::kinesis(message, gave_up.error)
    })?;
    Ok(listed.into_iter().map(|s| ShardInfo { id: s.id, parents: s.parents, range: s.range }).collect())
}

/// What the discovery task needs.
pub(crate) struct Discovery {
    pub(crate) client: Client,
    pub(crate) target: Arc<Target>,
    pub(crate) interval: Duration,
    pub(crate) retry: Backoff,
    pub(crate) assigner: Arc<dyn ShardAssigner>,
    /// Woken when a shard ends: its children are looked for at once.
    pub(crate) early: Arc<Notify>,
}

impl Discovery {
    /// Lists the shards, asks the assigner which to read and tells the
    /// source, every interval (or sooner when woken) until the source is
    /// gone or a listing fails.
    pub(crate) async fn run<R>(self, tx: mpsc::Sender<Event<R>>) {
        loop {
            let event = match self.list().await {
                Ok((shards, assigned)) => Event::Listed { shards, assigned },
                Err(e) => Event::Failed(e),
            };
            let failed = matches!(event, Event::Failed(_));
            if tx.send(event).await.is_err() || failed {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.early.notified() => {}
                _ = self.assigner.changed() => {}
            }
        }
    }

    async fn list(&self) -> Result<(Vec<ShardInfo>, HashSet<String>), SourceError> {
        let shards = list_shards(&self.client, &self.target, &self.retry).await?;
        let assigned = self.assigner.assign(&shards).await?;
        Ok((shards, assigned))
    }
}
