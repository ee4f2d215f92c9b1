//! kinesis-tables: typed Kinesis tables compiled from declarative specs.
//!
//! Generated code (from `kinesis_tables_codegen::compile` in a build script,
//! or from `#[derive(kinesis_tables::Table)]`) implements [`Record`] for each
//! table: typed encode/decode in the table's format, the partition key, and
//! the validated configuration as a constant.

pub mod checkpoint;
pub mod codec;
pub mod connect;
pub mod datagen;
pub use source::efo;
pub mod kpl;
pub mod lease;
pub mod pipeline;
pub mod policy;
pub mod print;
mod retry;
pub mod sink;
pub mod source;
mod stream;

/// The AWS crates the runtime is built on, for users who need their types
/// (custom credentials providers, a hand-built client).
pub mod aws {
    pub use aws_config;
    pub use aws_credential_types;
    pub use aws_sdk_kinesis;
}

use std::borrow::Cow;

pub use kinesis_tables_macros::Table;

/// The typed configuration of a table (re-exported from the shared config
/// crate, so that `${ENV}` values are checked at startup by the very same
/// rules as the compiler's).
pub use kinesis_tables_config::model as config;

/// Kinesis API limits.
pub use kinesis_tables_config::catalog::limits as config_limits;

pub use codec::{DataType, DecodeError, DecodeErrorKind, EncodeError};
pub use config::TableConfig;

/// Run-time support of compiled SQL transforms (functions, casts, checked arithmetic).
pub use kinesis_tables_sql as sql;

/// The Rust types that SQL types map to.
pub mod types {
    /// DECIMAL(p, s). Arbitrary precision, so DECIMAL(38, s) is exact.
    pub use bigdecimal::BigDecimal as Decimal;
    pub use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
}

/// Kinesis metadata of a record that was read.
#[derive(Debug, Clone, Copy)]
pub struct Metadata<'a> {
    pub timestamp: types::DateTime<types::Utc>,
    pub shard_id: &'a str,
    pub sequence_number: &'a str,
    /// The record's partition key (a sub-record's own key when de-aggregated).
    pub partition_key: &'a str,
    /// The index of a sub-record within its KPL-aggregated record; `None`
    /// for a plain record.
    pub sub_sequence_number: Option<u64>,
}

/// A table's record type.
pub trait Record: Sized + Send + 'static {
    /// The table name as written in the spec.
    const TABLE_NAME: &'static str;
    /// `json`, `csv`, `raw` or `avro`.
    const FORMAT: &'static str;

    /// The validated configuration. When any option is an `${ENV_VAR}`
    /// reference, the environment is read and checked now.
    fn config() -> Result<Cow<'static, TableConfig>, ConfigError>;

    /// Encodes the record's physical columns in the table's format.
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;

    /// The record as `print` shows it: its encoding, except for `avro`,
    /// whose rows print in Avro's JSON encoding (binary on a terminal helps
    /// nobody). Generated code overrides this for avro tables.
    fn encode_text(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode()
    }

    /// Decodes a record; metadata columns hold placeholders until
    /// [`Record::set_metadata`] fills them.
    fn decode(data: &[u8]) -> Result<Self, DecodeError>;

    /// The partition key from `partitioned_by`, or `None` when the table has
    /// none (the sink's partitioner then chooses).
    fn partition_key(&self) -> Result<Option<String>, EncodeError>;

    /// Fills the metadata columns of a record read from Kinesis.
    fn set_metadata(&mut self, meta: &Metadata<'_>);

    /// The provider of a `CUSTOM` credentials type named in the options.
    /// Generated code overrides this when the spec names one.
    fn custom_credentials() -> Option<aws_credential_types::provider::SharedCredentialsProvider> {
        None
    }

    /// A generated row, for tables with `connector: datagen` (generated code
    /// overrides this for them; every other table has no generator).
    fn generate(_g: &mut datagen::Generator) -> Option<Self> {
        None
    }

    /// The custom partitioner named by `sink.partitioner`, when there is one.
    /// Generated code overrides this when the spec names one.
    fn custom_partitioner() -> Option<Box<dyn Partitioner<Self>>> {
        None
    }
}

/// Configuration that failed its checks at startup.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub table: &'static str,
    pub errors: Vec<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "table `{}` has invalid configuration:", self.table)?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Resolves a table's configuration, reading `${ENV}` references when there are any.
pub fn resolve_config(
    table: &'static str,
    compiled: &'static TableConfig,
    raw: &'static [(&'static str, &'static str)],
    has_env: bool,
    partitioned: bool,
) -> Result<Cow<'static, TableConfig>, ConfigError> {
    if !has_env {
        return Ok(Cow::Borrowed(compiled));
    }
    kinesis_tables_config::resolve_at_startup(raw, partitioned, |v| std::env::var(v).ok())
        .map(Cow::Owned)
        .map_err(|errors| ConfigError { table, errors })
}

/// A credentials source named by `aws.credentials.custom.class`: any
/// [`ProvideCredentials`](aws_credential_types::provider::ProvideCredentials)
/// that can be created when the program starts.
pub trait CustomCredentials: aws_credential_types::provider::ProvideCredentials + Sized + 'static {
    /// Creates the provider when the program starts.
    fn create() -> Self;
}

/// A partitioner named by `sink.partitioner`.
pub trait Partitioner<R>: Send + Sync + 'static {
    fn create() -> Self
    where
        Self: Sized;
    /// The partition key of a record: 1 to 256 characters.
    fn partition_key(&self, record: &R) -> String;
}

/// Items generated code uses; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use aws_credential_types::provider::SharedCredentialsProvider;
    pub use serde;
    pub use serde_json;
    pub use std::borrow::Cow;
    pub use std::collections::BTreeMap;
    pub use std::time::Duration;

    pub fn custom_credentials<T: crate::CustomCredentials>() -> aws_credential_types::provider::SharedCredentialsProvider {
        aws_credential_types::provider::SharedCredentialsProvider::new(T::create())
    }
}
