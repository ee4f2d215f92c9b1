//! How requests name the stream.
//!
//! With `stream.arn`, requests carry the ARN (AWS routes by it, and only the
//! ARN reaches a stream in another account). Kinesis refuses the name and the
//! ARN together, and some Kinesis-compatible servers (emulators) know streams
//! only by name: when a server answers that a stream name is required, the
//! table switches to the name for good and says so once.

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};

use crate::config::StreamRef;

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
            tracing::info!(stream = %self.name, "the server does not accept stream ARNs ({msg}); naming the stream by name");
        }
        wants_name
    }
}
