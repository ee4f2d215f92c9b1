//! Errors of the lease table and the coordinator.

use std::fmt;

/// What kind of failure a [`LeaseError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseErrorKind {
    /// A DynamoDB request failed (after its retries).
    DynamoDb,
    /// A row of the table cannot be read as a lease.
    Unreadable,
    /// The table belongs to something else: a KCL multi-stream table, or
    /// leases of shards this stream does not have.
    Foreign,
    /// The table is missing (and may not be created), or never became ACTIVE.
    Table,
    /// The coordinator has stopped.
    Stopped,
}

impl LeaseErrorKind {
    /// A short name, for the `kind` label of `kinesis_tables_dynamodb_errors_total` and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseErrorKind::DynamoDb => "dynamodb",
            LeaseErrorKind::Unreadable => "unreadable",
            LeaseErrorKind::Foreign => "foreign",
            LeaseErrorKind::Table => "table",
            LeaseErrorKind::Stopped => "stopped",
        }
    }
}

/// A lease-table failure: its kind, a message, and the underlying error.
#[derive(Debug, Clone)]
pub struct LeaseError {
    kind: LeaseErrorKind,
    message: String,
}

impl LeaseError {
    pub fn new(kind: LeaseErrorKind, message: impl Into<String>) -> Self {
        LeaseError { kind, message: message.into() }
    }
    pub fn kind(&self) -> LeaseErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn unreadable(key: &str, what: impl fmt::Display) -> Self {
        Self::new(LeaseErrorKind::Unreadable, format!("lease row `{key}` cannot be read: {what}"))
    }
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LeaseError {}
