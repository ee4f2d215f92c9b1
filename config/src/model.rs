//! The validated, typed configuration of a table.
//!
//! Generated code holds one of these as a `const`; the runtime reads it
//! directly and never parses option strings, except for values given as
//! `${ENV_VAR}`, which it resolves at startup through the same rules.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

pub type Str = Cow<'static, str>;

/// A table's connector: the one type for it, in the catalogue (whose
/// applicability sets are built from [`ConnectorKind::bit`]), the checks, the
/// typed configuration and the generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    Kinesis,
    KinesisLegacy,
    Datagen,
    Print,
    Blackhole,
}

impl ConnectorKind {
    /// Every connector, in the order they are documented.
    pub const ALL: [ConnectorKind; 5] =
        [ConnectorKind::Kinesis, ConnectorKind::KinesisLegacy, ConnectorKind::Datagen, ConnectorKind::Print, ConnectorKind::Blackhole];

    /// The name a spec writes after `connector:`.
    pub fn name(self) -> &'static str {
        match self {
            ConnectorKind::Kinesis => "kinesis",
            ConnectorKind::KinesisLegacy => "kinesis-legacy",
            ConnectorKind::Datagen => "datagen",
            ConnectorKind::Print => "print",
            ConnectorKind::Blackhole => "blackhole",
        }
    }
    /// The connector a spec names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
    /// This connector's bit in a catalogue applicability set.
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }
    /// Whether the table is backed by a Kinesis stream.
    pub fn is_kinesis(self) -> bool {
        matches!(self, ConnectorKind::Kinesis | ConnectorKind::KinesisLegacy)
    }
    /// Whether the connector runs without AWS (`datagen`, `print`, `blackhole`).
    pub fn is_local(self) -> bool {
        !self.is_kinesis()
    }
    /// Whether a pipeline can read from a table of this connector.
    pub fn can_read(self) -> bool {
        !matches!(self, ConnectorKind::Print | ConnectorKind::Blackhole)
    }
    /// Whether a pipeline can write to a table of this connector.
    pub fn can_write(self) -> bool {
        !matches!(self, ConnectorKind::Datagen)
    }
}

/// The configuration of a table. For the connectors that run without AWS
/// (`datagen`, `print`, `blackhole`) the stream, AWS, source and sink parts
/// hold defaults that nothing reads, and [`TableConfig::local`] says what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    pub connector: ConnectorKind,
    /// The `datagen` or `print` settings; `None` for Kinesis tables and `blackhole`.
    pub local: Option<LocalConfig>,
    pub stream: StreamRef,
    pub aws: AwsConfig,
    pub source: SourceConfig,
    pub sink: SinkConfig,
    pub format: FormatConfig,
}

/// The stream: by ARN (`kinesis`) or by name (`kinesis-legacy`).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamRef {
    Arn { arn: Str, region: Str, account: Str, name: Str },
    Name(Str),
}

impl StreamRef {
    pub fn name(&self) -> &str {
        match self {
            StreamRef::Arn { name, .. } => name,
            StreamRef::Name(name) => name,
        }
    }
    pub fn arn(&self) -> Option<&str> {
        match self {
            StreamRef::Arn { arn, .. } => Some(arn),
            StreamRef::Name(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AwsConfig {
    /// `None` leaves the region to the AWS environment (`AWS_REGION`, profiles).
    pub region: Option<Str>,
    /// `None` leaves the endpoint to the AWS environment (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<Str>,
    pub trust_all_certificates: bool,
    pub credentials: Credentials,
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Str);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// The default AWS provider chain.
    Auto,
    /// Static keys, read from the environment at startup.
    Basic {
        access_key_id: Secret,
        secret_key: Secret,
    },
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    EnvVar,
    Profile {
        path: Option<Str>,
        name: Option<Str>,
    },
    AssumeRole {
        role_arn: Str,
        session_name: Str,
        external_id: Option<Str>,
        sts_endpoint: Option<Str>,
        source: &'static Credentials,
    },
    WebIdentityToken {
        role_arn: Option<Str>,
        session_name: Option<Str>,
        token_file: Option<Str>,
    },
    /// A user type; generated code wires it in.
    Custom {
        type_path: Str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartPosition {
    Latest,
    TrimHorizon,
    /// Milliseconds since the Unix epoch.
    AtTimestamp {
        epoch_millis: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderType {
    Polling,
    Efo,
}

/// Exponential backoff: `min(max, base * exp^attempt)`, at most `max_retries` retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub max_retries: u32,
    pub base: Duration,
    pub max: Duration,
    pub exponent: f64,
}

impl Backoff {
    pub const fn new(max_retries: u32, base_ms: u64, max_ms: u64, exponent: f64) -> Self {
        Backoff { max_retries, base: Duration::from_millis(base_ms), max: Duration::from_millis(max_ms), exponent }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub start: StartPosition,
    pub shard_discovery_interval: Duration,
    pub reader: ReaderType,
    pub polling: PollingConfig,
    pub efo: EfoConfig,
    pub list_shards_retry: Backoff,
    pub describe_stream_retry: Backoff,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollingConfig {
    pub max_records: u32,
    pub interval: Duration,
    pub adaptive_reads: bool,
    pub get_records_retry: Backoff,
    pub get_iterator_retry: Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EfoLifecycle {
    /// Register at startup (reusing an existing consumer of the same name), deregister on a clean stop.
    JobManaged,
    /// The consumer must already exist.
    SelfManaged,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EfoConfig {
    pub consumer_name: Option<Str>,
    pub consumer_arn: Option<Str>,
    pub lifecycle: EfoLifecycle,
    pub subscription_timeout: Duration,
    pub register_timeout: Duration,
    pub deregister_timeout: Duration,
    pub describe_retry: Backoff,
    pub register_retry: Backoff,
    pub deregister_retry: Backoff,
    pub subscribe_retry: Backoff,
    pub http_max_concurrency: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Partitioner {
    /// A random key per record.
    Random,
    /// One key per sink instance.
    Fixed,
    /// The `partitioned_by` columns joined by the delimiter.
    Fields { delimiter: Str },
    /// A user type; generated code wires it in.
    Custom { type_path: Str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpProtocol {
    Http1_1,
    Http2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    pub partitioner: Partitioner,
    pub batch_max_size: u32,
    pub max_inflight: u32,
    pub max_buffered: u32,
    pub flush_buffer_size: u64,
    pub flush_buffer_timeout: Duration,
    pub fail_on_error: bool,
    pub http_max_concurrency: u32,
    pub http_read_timeout: Duration,
    pub http_protocol: HttpProtocol,
    pub aggregation: AggregationConfig,
}

/// KPL aggregation on the sink (`sink.aggregation.*`): user records bound
/// for the same shard are packed into one Kinesis record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregationConfig {
    pub enabled: bool,
    /// Bytes of one aggregated record's data (magic, protobuf message, MD5).
    pub max_size: u32,
    /// User records in one aggregated record.
    pub max_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FormatConfig {
    Json(JsonOptions),
    Csv(CsvOptions),
    Raw(RawOptions),
    Avro(AvroOptions),
}

impl FormatConfig {
    pub fn name(&self) -> &'static str {
        match self {
            FormatConfig::Json(_) => "json",
            FormatConfig::Csv(_) => "csv",
            FormatConfig::Raw(_) => "raw",
            FormatConfig::Avro(_) => "avro",
        }
    }
    /// Whether records that fail to decode are skipped (and counted) rather than fatal.
    pub fn ignore_parse_errors(&self) -> bool {
        match self {
            FormatConfig::Json(j) => j.ignore_parse_errors,
            FormatConfig::Csv(c) => c.ignore_parse_errors,
            FormatConfig::Raw(_) | FormatConfig::Avro(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStandard {
    Sql,
    Iso8601,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonOptions {
    pub fail_on_missing_field: bool,
    pub ignore_parse_errors: bool,
    pub timestamp_standard: TimestampStandard,
    pub decimal_as_plain_number: bool,
    pub ignore_null_fields: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    pub field_delimiter: char,
    /// `None` when quoting is disabled.
    pub quote_character: Option<char>,
    pub allow_comments: bool,
    pub ignore_parse_errors: bool,
    pub array_element_delimiter: Str,
    pub escape_character: Option<char>,
    pub null_literal: Option<Str>,
    pub decimal_scientific: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    UsAscii,
    Iso8859_1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endianness {
    Big,
    Little,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawOptions {
    pub charset: Charset,
    pub endianness: Endianness,
}

/// `avro.encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvroEncoding {
    Binary,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AvroOptions {
    pub encoding: AvroEncoding,
    /// `avro.timestamp_mapping.legacy`.
    pub legacy_timestamp_mapping: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LocalConfig {
    Datagen(DatagenConfig),
    Print(PrintConfig),
}

/// Flink's `datagen`: rows generated at a steady rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DatagenConfig {
    pub rows_per_second: u64,
    /// `None`: unbounded (unless a sequence column ends the source).
    pub number_of_rows: Option<u64>,
    /// One entry per physical column, in column order.
    pub fields: Cow<'static, [FieldGen]>,
}

impl DatagenConfig {
    /// How many rows the source produces before it ends: `number-of-rows`
    /// and the shortest sequence, whichever is smaller.
    pub fn total_rows(&self) -> Option<u64> {
        let seq = self
            .fields
            .iter()
            .filter_map(|f| match f.kind {
                GenKind::Sequence { start, end } => Some((end as i128 - start as i128 + 1).clamp(0, u64::MAX as i128) as u64),
                GenKind::Random { .. } => None,
            })
            .min();
        match (self.number_of_rows, seq) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How one column is generated.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldGen {
    pub column: Str,
    pub kind: GenKind,
    /// Share of nulls, 0 to 1 (always 0 for NOT NULL columns).
    pub null_rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GenKind {
    Random {
        min: Option<GenNum>,
        max: Option<GenNum>,
        /// Strings and bytes: their length; arrays and maps: their element count.
        length: Option<u32>,
        var_len: bool,
        /// Timestamps and dates lie up to this far before now.
        max_past: Duration,
    },
    /// `start`, `start + 1`, … `end`, one per row.
    Sequence { start: i64, end: i64 },
}

/// A numeric bound, kept exact for integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GenNum {
    Int(i64),
    Float(f64),
}

impl GenNum {
    pub fn as_f64(self) -> f64 {
        match self {
            GenNum::Int(i) => i as f64,
            GenNum::Float(f) => f,
        }
    }
}

/// Flink's `print`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintConfig {
    /// Printed before each row, followed by `> `.
    pub identifier: Option<Str>,
    pub standard_error: bool,
}
