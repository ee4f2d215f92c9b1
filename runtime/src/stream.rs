//! How requests name the stream.
//!
//! With `stream.arn`, requests carry the ARN (AWS routes by it, and only the
//! ARN reaches a stream in another account). Kinesis refuses the name and the
//! ARN together, and some Kinesis-compatible servers (emulators) know streams
//! only by name: when a server answers that a stream name is required, the
//! table switches to the name for good and says so once.

use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::config::StreamRef;
use crate::retry::{self, Attempt, Class, GaveUp, Stop};

#[derive(Debug)]
pub(crate) struct Target {
    arn: Option<String>,
    name: String,
    by_name: AtomicBool,
}

impl Target {
    pub(crate) fn new(stream: &StreamRef) -> Target {
        match stream {
            StreamRef::Arn { arn, name, .. } => {
                Target { arn: Some(arn.to_string()), name: name.to_string(), by_name: AtomicBool::new(false) }
            }
            StreamRef::Name(n) => Target { arn: None, name: n.to_string(), by_name: AtomicBool::new(true) },
        }
    }

    /// The ARN when requests should name the stream by ARN.
    pub(crate) fn arn(&self) -> Option<&str> {
        if self.by_name.load(Ordering::Relaxed) { None } else { self.arn.as_deref() }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The ARN, or the name for name-only streams: what identifies the checkpoint.
    pub(crate) fn id(&self) -> &str {
        self.arn.as_deref().unwrap_or(&self.name)
    }

    /// Whether `e`, the answer to a request that named the stream by ARN
    /// (`sent_with_arn`), says the server wants a stream name; if so, later
    /// requests use the name. Requests already in flight by ARN get the same
    /// answer and are simply resent.
    pub(crate) fn refused_arn<E: ProvideErrorMetadata, R>(&self, e: &SdkError<E, R>, sent_with_arn: bool) -> bool {
        if !sent_with_arn || self.arn.is_none() {
            return false;
        }
        let SdkError::ServiceError(se) = e else { return false };
        let code = se.err().code().unwrap_or("");
        let msg = se.err().message().unwrap_or("");
        let wants_name = matches!(code, "InvalidArgumentException" | "ValidationException")
            && (msg.contains("StreamName") || msg.contains("streamName"));
        if wants_name && !self.by_name.swap(true, Ordering::Relaxed) {
            tracing::debug!(stream = %self.name, "the server does not accept stream ARNs ({msg}); naming the stream by name");
        }
        wants_name
    }
}

impl Target {
    /// Names the stream on a request: by ARN (`by_arn`) while the server
    /// accepts ARNs, else by name. Returns the request and whether it
    /// named the stream by ARN, for [`Target::attempt`]. The one place that
    /// decides how a request names the stream.
    pub(crate) fn named<B>(&self, req: B, by_arn: impl FnOnce(B, &str) -> B, by_name: impl FnOnce(B, &str) -> B) -> (B, bool) {
        match self.arn() {
            Some(arn) => (by_arn(req, arn), true),
            None => (by_name(req, self.name()), false),
        }
    }

    /// Names the stream by ARN while the server accepts ARNs, else not at
    /// all (GetRecords: the iterator names the shard).
    pub(crate) fn name_by_arn_only<B>(&self, req: B, by_arn: impl FnOnce(B, &str) -> B) -> (B, bool) {
        self.named(req, by_arn, |req, _| req)
    }

    /// The outcome of a request sent with [`Target::named`], for
    /// [`retry::run`]: an answer that refuses the ARN is sent again by name,
    /// any other error is classified.
    pub(crate) fn attempt<T, E>(&self, result: Result<T, SdkError<E, HttpResponse>>, by_arn: bool) -> Attempt<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match result {
            Ok(t) => Attempt::Done(t),
            Err(e) if self.refused_arn(&e, by_arn) => Attempt::Resend(e),
            Err(e) => Attempt::Failed(retry::classify(&e), e),
        }
    }
}

/// One shard as ListShards describes it.
#[derive(Debug, Clone)]
pub(crate) struct ListedShard {
    pub(crate) id: String,
    /// Parent and adjacent parent (a merge), when it has them.
    pub(crate) parents: Vec<String>,
    /// The hash-key range; `None` if the server gave none that parses.
    pub(crate) range: Option<(u128, u128)>,
    /// Not closed by a split or merge (no ending sequence number).
    pub(crate) open: bool,
}

/// Lists every shard of the stream, page by page, naming the stream by ARN
/// with the fallback of [`Target::refused_arn`]. On a failed call `retry` gets
/// the error's class, its description and the attempt number (from 0, per
/// page), and answers how long to wait before trying again, or why to give up.
pub(crate) async fn list_shards(
    client: &Client,
    target: &Target,
    mut retry: impl FnMut(Class, String, u32) -> Result<Duration, String>,
) -> Result<Vec<ListedShard>, String> {
    let mut gave_up = None;
    let decide = |class, e: &ListShardsSdkError, attempt| {
        retry(class, retry::describe(e), attempt).map_err(|why| {
            gave_up = Some(why);
            Stop::Fatal
        })
    };
    let listed = list_shards_with(client, target, decide).await;
    listed.map_err(|e| gave_up.take().unwrap_or_else(|| retry::describe(&e.error)))
}

type ListShardsSdkError = SdkError<aws_sdk_kinesis::operation::list_shards::ListShardsError, HttpResponse>;

/// [`list_shards`] with the retry decision of [`retry::run_with`].
pub(crate) async fn list_shards_with(
    client: &Client,
    target: &Target,
    mut decide: impl FnMut(Class, &ListShardsSdkError, u32) -> Result<Duration, Stop>,
) -> Result<Vec<ListedShard>, GaveUp<ListShardsSdkError>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = retry::run_with(&mut decide, |_| {
            let req = client.list_shards();
            let (req, by_arn) = match &token {
                Some(t) => (req.next_token(t), false),
                None => target.named(req, |r, arn| r.stream_arn(arn), |r, name| r.stream_name(name)),
            };
            async move { target.attempt(req.send().await, by_arn) }
        })
        .await?;
        for s in page.shards() {
            let range = s.hash_key_range().and_then(|r| Some((r.starting_hash_key().parse().ok()?, r.ending_hash_key().parse().ok()?)));
            out.push(ListedShard {
                id: s.shard_id().to_owned(),
                parents: s.parent_shard_id().into_iter().chain(s.adjacent_parent_shard_id()).map(str::to_owned).collect(),
                range,
                open: s.sequence_number_range().is_none_or(|r| r.ending_sequence_number().is_none()),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_kinesis::error::ErrorMetadata;
    use aws_sdk_kinesis::operation::list_shards::ListShardsError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// Collects what is logged at INFO and above.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An emulator that knows streams only by name refuses the ARN on every
    /// start: the table switches to the name, and a newcomer's INFO log does
    /// not hear about it (it is a debug message).
    #[test]
    fn a_refused_arn_switches_to_the_name_below_info() {
        let target = Target::new(&StreamRef::Arn {
            arn: "arn:aws:kinesis:us-east-1:000000000000:stream/orders".into(),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            name: "orders".into(),
        });
        let refusal =
            ListShardsError::generic(ErrorMetadata::builder().code("InvalidArgumentException").message("StreamName is required").build());
        let e = SdkError::service_error(refusal, Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()));
        let info = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer({
                let info = info.clone();
                move || info.clone()
            })
            .finish();
        let refused = tracing::subscriber::with_default(subscriber, || target.refused_arn(&e, true));
        assert!(refused);
        assert_eq!(target.arn(), None, "later requests name the stream");
        assert_eq!(target.name(), "orders");
        let logged = String::from_utf8(info.0.lock().unwrap().clone()).unwrap();
        assert!(logged.is_empty(), "logged at INFO or above: {logged}");
    }
}
