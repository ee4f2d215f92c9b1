//! Why a source stopped: [`SourceError`], whose variant is the kind of
//! failure and whose [`Cause`] keeps the underlying error as `source()`.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::checkpoint::CheckpointError;

/// Why the source stopped.
///
/// The variant says what failed ([`SourceError::kind`]); the message reads as
/// before, and [`Error::source`] gives the underlying error (the AWS SDK's,
/// the checkpoint store's, the decoder's) for callers that match on it.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceError {
    /// The configuration or the connection could not be set up.
    Setup(Cause),
    /// A record could not be decoded and the format's `ignore-parse-errors` is off.
    BadRecord { shard_id: String, sequence_number: String, error: Cause },
    /// A Kinesis call failed and retrying could not fix it.
    Kinesis(Cause),
    /// The checkpoint could not be read or written.
    Checkpoint(Cause),
    /// A checkpointed position fell out of the stream's retention: records
    /// after it may be gone unread (`--on-data-loss continue` goes on).
    DataLoss { shard_id: String, position: String, reason: String },
}

/// What kind of failure a [`SourceError`] is, for matching without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceErrorKind {
    Setup,
    BadRecord,
    Kinesis,
    Checkpoint,
    DataLoss,
}

impl SourceError {
    /// What kind of failure this is.
    pub fn kind(&self) -> SourceErrorKind {
        match self {
            SourceError::Setup(_) => SourceErrorKind::Setup,
            SourceError::BadRecord { .. } => SourceErrorKind::BadRecord,
            SourceError::Kinesis(_) => SourceErrorKind::Kinesis,
            SourceError::Checkpoint(_) => SourceErrorKind::Checkpoint,
            SourceError::DataLoss { .. } => SourceErrorKind::DataLoss,
        }
    }

    /// A setup failure caused by `source`.
    pub(crate) fn setup(message: String, source: impl Error + Send + Sync + 'static) -> Self {
        SourceError::Setup(Cause::with_source(message, source))
    }

    /// A failed Kinesis call, caused by `source`.
    pub(crate) fn kinesis(message: String, source: impl Error + Send + Sync + 'static) -> Self {
        SourceError::Kinesis(Cause::with_source(message, source))
    }

    /// A checkpoint store's failure, with its message.
    pub(crate) fn checkpoint(e: CheckpointError) -> Self {
        SourceError::Checkpoint(Cause::with_source(e.to_string(), e))
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Setup(m) => write!(f, "source setup failed: {m}"),
            SourceError::BadRecord { shard_id, sequence_number, error } => {
                write!(f, "record {sequence_number} of shard {shard_id} cannot be decoded: {error}")
            }
            SourceError::Kinesis(m) => write!(f, "Kinesis error: {m}"),
            SourceError::Checkpoint(m) => write!(f, "checkpoint error: {m}"),
            SourceError::DataLoss { shard_id, position, reason } => write!(
                f,
                "data loss on shard {shard_id} after position {position}: {reason}; \
                 to accept the loss and go on, restart with --on-data-loss continue"
            ),
        }
    }
}

impl Error for SourceError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SourceError::Setup(c) | SourceError::Kinesis(c) | SourceError::Checkpoint(c) => c.source(),
            SourceError::BadRecord { error, .. } => error.source(),
            SourceError::DataLoss { .. } => None,
        }
    }
}

/// The message of a [`SourceError`] and the error that caused it, if any.
/// It reads (and dereferences) as its message; two causes are equal when
/// their messages are.
#[derive(Clone)]
pub struct Cause {
    message: String,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl Cause {
    /// A message without an underlying error.
    pub fn new(message: impl Into<String>) -> Self {
        Cause { message: message.into(), source: None }
    }

    /// A message and the error that caused it.
    pub fn with_source(message: impl Into<String>, source: impl Error + Send + Sync + 'static) -> Self {
        Cause { message: message.into(), source: Some(Arc::new(source)) }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error.
    pub fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

impl std::ops::Deref for Cause {
    type Target = str;
    fn deref(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{:?} (caused by {s:?})", self.message),
            None => write!(f, "{:?}", self.message),
        }
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Cause::new(message)
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        Cause::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointErrorKind;

    #[test]
    fn a_checkpoint_failure_keeps_its_message_and_its_cause() {
        let e = SourceError::checkpoint(CheckpointError::other("no space left on device"));
        assert_eq!(e.kind(), SourceErrorKind::Checkpoint);
        assert_eq!(e.to_string(), "checkpoint error: no space left on device");
        let cause = e.source().and_then(|s| s.downcast_ref::<CheckpointError>()).expect("the store's error");
        assert_eq!(cause.kind(), CheckpointErrorKind::Other);
        assert!(matches!(&e, SourceError::Checkpoint(m) if m.contains("no space")), "reads as its message");
    }

    #[test]
    fn messages_read_as_before() {
        assert_eq!(SourceError::Setup("x".into()).to_string(), "source setup failed: x");
        assert_eq!(SourceError::Kinesis("y".into()).to_string(), "Kinesis error: y");
        assert!(SourceError::Kinesis("y".into()).source().is_none());
        assert_eq!(SourceError::Kinesis("y".into()), SourceError::Kinesis(Cause::with_source("y", std::fmt::Error)));
    }
}
