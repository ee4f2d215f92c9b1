//! The option catalogue: every connector and format option kinesis-tables
//! knows, with its type, default, applicability and documentation.
//!
//! This table is the single source of truth. Validation, `kinesis-tables
//! options`, `templates/reference.yaml` and the README's option list are all
//! derived from it.

use crate::model::ConnectorKind;

/// Option names, as constants, so that rules and resolution never spell a key twice.
pub mod keys {
    pub const CONNECTOR: &str = "connector";
    pub const FORMAT: &str = "format";
    pub const STREAM_ARN: &str = "stream.arn";
    pub const STREAM: &str = "stream";
    pub const AWS_REGION: &str = "aws.region";
    pub const AWS_ENDPOINT: &str = "aws.endpoint";
    pub const AWS_TRUST_ALL: &str = "aws.trust.all.certificates";

    pub const CRED_PROVIDER: &str = "aws.credentials.provider";
    pub const CRED_ACCESS_KEY: &str = "aws.credentials.basic.accesskeyid";
    pub const CRED_SECRET_KEY: &str = "aws.credentials.basic.secretkey";
    pub const CRED_PROFILE_PATH: &str = "aws.credentials.profile.path";
    pub const CRED_PROFILE_NAME: &str = "aws.credentials.profile.name";
    pub const CRED_ROLE_ARN: &str = "aws.credentials.role.arn";
    pub const CRED_ROLE_SESSION: &str = "aws.credentials.role.sessionName";
    pub const CRED_ROLE_EXTERNAL_ID: &str = "aws.credentials.role.externalId";
    pub const CRED_ROLE_STS_ENDPOINT: &str = "aws.credentials.role.stsEndpoint";
    pub const CRED_ROLE_PROVIDER: &str = "aws.credentials.role.provider";
    pub const CRED_WEB_IDENTITY_FILE: &str = "aws.credentials.webIdentityToken.file";
    pub const CRED_CUSTOM_CLASS: &str = "aws.credentials.custom.class";

    pub const SRC_INIT_POSITION: &str = "source.init.position";
    pub const SRC_INIT_TIMESTAMP: &str = "source.init.timestamp";
    pub const SRC_INIT_TIMESTAMP_FORMAT: &str = "source.init.timestamp.format";
    pub const SRC_DISCOVERY_INTERVAL: &str = "source.shard.discovery.interval";
    pub const SRC_READER_TYPE: &str = "source.reader.type";
    pub const SRC_MAX_RECORDS: &str = "source.shard.get-records.max-record-count";
    pub const SRC_EFO_CONSUMER: &str = "source.efo.consumer.name";
    pub const SRC_EFO_LIFECYCLE: &str = "source.efo.lifecycle";
    pub const SRC_EFO_SUB_TIMEOUT: &str = "source.efo.subscription.timeout";
    pub const SRC_EFO_DEREG_TIMEOUT: &str = "source.efo.deregister.timeout";
    pub const SRC_EFO_DESCRIBE_ATTEMPTS: &str = "source.efo.describe.retry-strategy.attempts.max";
    pub const SRC_EFO_DESCRIBE_MIN: &str = "source.efo.describe.retry-strategy.delay.min";
    pub const SRC_EFO_DESCRIBE_MAX: &str = "source.efo.describe.retry-strategy.delay.max";

    pub const SINK_PARTITIONER: &str = "sink.partitioner";
    pub const SINK_DELIMITER: &str = "sink.partitioner-field-delimiter";
    pub const SINK_PRODUCER_PREFIX: &str = "sink.producer.";
    pub const SINK_HTTP_CONCURRENCY: &str = "sink.http-client.max-concurrency";
    pub const SINK_HTTP_READ_TIMEOUT: &str = "sink.http-client.read-timeout";
    pub const SINK_HTTP_PROTOCOL: &str = "sink.http-client.protocol.version";
    pub const SINK_BATCH_MAX_SIZE: &str = "sink.batch.max-size";
    pub const SINK_MAX_INFLIGHT: &str = "sink.requests.max-inflight";
    pub const SINK_MAX_BUFFERED: &str = "sink.requests.max-buffered";
    pub const SINK_FLUSH_SIZE: &str = "sink.flush-buffer.size";
    pub const SINK_FLUSH_TIMEOUT: &str = "sink.flush-buffer.timeout";
    pub const SINK_FAIL_ON_ERROR: &str = "sink.fail-on-error";
    pub const SINK_AGG_ENABLED: &str = "sink.aggregation.enabled";
    pub const SINK_AGG_MAX_SIZE: &str = "sink.aggregation.max-size";
    pub const SINK_AGG_MAX_COUNT: &str = "sink.aggregation.max-count";

    pub const L_INITPOS: &str = "scan.stream.initpos";
    pub const L_INITPOS_TS: &str = "scan.stream.initpos-timestamp";
    pub const L_INITPOS_TS_FORMAT: &str = "scan.stream.initpos-timestamp-format";
    pub const L_PUBLISHER: &str = "scan.stream.recordpublisher";
    pub const L_EFO_CONSUMER: &str = "scan.stream.efo.consumername";
    pub const L_EFO_REGISTRATION: &str = "scan.stream.efo.registration";
    pub const L_EFO_CONSUMER_ARN: &str = "scan.stream.efo.consumerarn";
    pub const L_EFO_CONCURRENCY: &str = "scan.stream.efo.http-client.max-concurrency";
    pub const L_SHARD_ASSIGNER: &str = "scan.shard-assigner";
    pub const L_GETRECORDS_MAX: &str = "scan.shard.getrecords.maxrecordcount";
    pub const L_GETRECORDS_INTERVAL: &str = "scan.shard.getrecords.intervalmillis";
    pub const L_DISCOVERY_INTERVAL: &str = "scan.shard.discovery.intervalmillis";
    pub const L_ADAPTIVE_READS: &str = "scan.shard.adaptivereads";
    pub const L_REGISTER_TIMEOUT: &str = "scan.stream.registerstreamconsumer.timeout";
    pub const L_DEREGISTER_TIMEOUT: &str = "scan.stream.deregisterstreamconsumer.timeout";

    pub const JSON_FAIL_ON_MISSING: &str = "json.fail-on-missing-field";
    pub const JSON_IGNORE_PARSE_ERRORS: &str = "json.ignore-parse-errors";
    pub const JSON_TIMESTAMP_STANDARD: &str = "json.timestamp-format.standard";
    pub const JSON_DECIMAL_PLAIN: &str = "json.encode.decimal-as-plain-number";
    pub const JSON_IGNORE_NULLS: &str = "json.encode.ignore-null-fields";
    pub const CSV_FIELD_DELIMITER: &str = "csv.field-delimiter";
    pub const CSV_DISABLE_QUOTE: &str = "csv.disable-quote-character";
    pub const CSV_QUOTE: &str = "csv.quote-character";
    pub const CSV_ALLOW_COMMENTS: &str = "csv.allow-comments";
    pub const CSV_IGNORE_PARSE_ERRORS: &str = "csv.ignore-parse-errors";
    pub const CSV_ARRAY_DELIMITER: &str = "csv.array-element-delimiter";
    pub const CSV_ESCAPE: &str = "csv.escape-character";
    pub const CSV_NULL_LITERAL: &str = "csv.null-literal";
    pub const CSV_DECIMAL_SCIENTIFIC: &str = "csv.write-bigdecimal-in-scientific-notation";
    pub const RAW_CHARSET: &str = "raw.charset";
    pub const RAW_ENDIANNESS: &str = "raw.endianness";
    pub const AVRO_ENCODING: &str = "avro.encoding";
    pub const AVRO_TIMESTAMP_LEGACY: &str = "avro.timestamp_mapping.legacy";

    pub const DG_ROWS_PER_SECOND: &str = "rows-per-second";
    pub const DG_NUMBER_OF_ROWS: &str = "number-of-rows";
    pub const DG_PARALLELISM: &str = "scan.parallelism";
    /// Per-column datagen options are written `fields.<column>.<property>`;
    /// the catalogue lists them with `#` for the column.
    pub const DG_FIELDS_PREFIX: &str = "fields.";
    pub const DG_KIND: &str = "fields.#.kind";
    pub const DG_MIN: &str = "fields.#.min";
    pub const DG_MAX: &str = "fields.#.max";
    pub const DG_MAX_PAST: &str = "fields.#.max-past";
    pub const DG_LENGTH: &str = "fields.#.length";
    pub const DG_VAR_LEN: &str = "fields.#.var-len";
    pub const DG_START: &str = "fields.#.start";
    pub const DG_END: &str = "fields.#.end";
    pub const DG_NULL_RATE: &str = "fields.#.null-rate";
    pub const PRINT_IDENTIFIER: &str = "print-identifier";
    pub const PRINT_STDERR: &str = "standard-error";
    pub const SINK_PARALLELISM: &str = "sink.parallelism";
}

/// Which connectors an option belongs to: a set of [`ConnectorKind::bit`]s.
pub type Connectors = u8;
pub const KINESIS: Connectors = ConnectorKind::Kinesis.bit();
pub const LEGACY: Connectors = ConnectorKind::KinesisLegacy.bit();
pub const BOTH: Connectors = KINESIS | LEGACY;
/// Generates rows (Flink's `datagen`): a source only.
pub const DATAGEN: Connectors = ConnectorKind::Datagen.bit();
/// Writes rows to standard output (Flink's `print`): a sink only.
pub const PRINT: Connectors = ConnectorKind::Print.bit();
/// Discards rows (Flink's `blackhole`): a sink only.
pub const BLACKHOLE: Connectors = ConnectorKind::Blackhole.bit();
/// The connectors that read or write encoded records, so take format options.
pub const ENCODED: Connectors = KINESIS | LEGACY | PRINT;
/// The connectors that run without AWS.
pub const LOCAL: Connectors = DATAGEN | PRINT | BLACKHOLE;
pub const ALL: Connectors = BOTH | LOCAL;

/// The names of the connectors in a set, in documentation order.
pub fn connector_names(set: Connectors) -> impl Iterator<Item = &'static str> {
    ConnectorKind::ALL.into_iter().filter(move |c| set & c.bit() != 0).map(ConnectorKind::name)
}

/// The value type of an option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Any non-empty string.
    Str,
    /// Any string, the empty one included.
    AnyStr,
    /// A 32-bit integer (Flink `Integer`) within bounds.
    Int { min: i64, max: i64 },
    /// A 64-bit integer (Flink `Long`) within bounds.
    Long { min: i64, max: i64 },
    /// `true` or `false`.
    Bool,
    /// A floating point number within bounds.
    Double { min: f64, max: f64 },
    /// Flink duration syntax (`10 s`, `250 ms`, `1 min`; a bare number is milliseconds).
    Duration { min_ms: u64, max_ms: u64 },
    /// One of a fixed set of values, written exactly.
    Enum(&'static [&'static str]),
    /// `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
    StreamArn,
    /// A Kinesis stream name.
    StreamName,
    /// A known AWS region.
    Region,
    /// An `http://` or `https://` URL.
    Endpoint,
    /// An IAM role ARN.
    RoleArn,
    /// An EFO consumer ARN.
    ConsumerArn,
    /// An EFO consumer name.
    ConsumerName,
    /// An STS role session name.
    SessionName,
    /// A Rust type path such as `my_crate::auth::Provider`.
    RustPath,
    /// A file system path.
    Path,
    /// A Java `DateTimeFormatter` pattern.
    DatePattern,
    /// A timestamp, checked against the pattern option beside it.
    Timestamp,
    /// One character (`\t` is accepted for a tab).
    Char,
    /// A character set name.
    Charset,
    /// Partitioner: `random`, `fixed` or a Rust type path.
    Partitioner,
    /// A number (integer or decimal), checked against its column's type later.
    Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Common,
    Auth,
    Source,
    Sink,
    Json,
    Csv,
    Raw,
    Avro,
    Datagen,
    Print,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Common => "Common options",
            Section::Auth => "Authentication options",
            Section::Source => "Source options",
            Section::Sink => "Sink options",
            Section::Json => "Format options: json",
            Section::Csv => "Format options: csv",
            Section::Raw => "Format options: raw",
            Section::Avro => "Format options: avro",
            Section::Datagen => "Connector datagen",
            Section::Print => "Connector print",
        }
    }
    /// The format a format option belongs to.
    pub fn format(self) -> Option<&'static str> {
        match self {
            Section::Json => Some("json"),
            Section::Csv => Some("csv"),
            Section::Raw => Some("raw"),
            Section::Avro => Some("avro"),
            _ => None,
        }
    }
}

/// Which source reader an option configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Any,
    Polling,
    Efo,
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    pub key: &'static str,
    pub connectors: Connectors,
    pub kind: Kind,
    /// The default, as written in a spec. `None` means no default.
    pub default: Option<&'static str>,
    /// The connectors this option is required for.
    pub required: Connectors,
    pub section: Section,
    pub reader: Reader,
    /// Must be given as `${ENV_VAR}`, never as a literal.
    pub secret: bool,
    /// The key with the same meaning under the other connector.
    pub equivalent: Option<&'static str>,
    /// Recognised, but cannot take effect in kinesis-tables: setting it is an error with this reason.
    pub rejected: Option<&'static str>,
    pub doc: &'static str,
}

impl OptionDef {
    /// Whether the option belongs to any connector of `set`.
    pub fn applies_to(&self, set: Connectors) -> bool {
        self.connectors & set != 0
    }
    /// Whether the option is required for `connector`.
    pub fn required_for_connector(&self, connector: ConnectorKind) -> bool {
        self.required & connector.bit() != 0
    }
}

const fn opt(
    key: &'static str,
    connectors: Connectors,
    section: Section,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> OptionDef {
    OptionDef {
        key,
        connectors,
        kind,
        default,
        required: 0,
        section,
        reader: Reader::Any,
        secret: false,
        equivalent: None,
        rejected: None,
        doc,
    }
}

impl OptionDef {
    const fn required(mut self) -> Self {
        self.required = self.connectors;
        self
    }
    const fn required_for(mut self, connectors: Connectors) -> Self {
        self.required = connectors;
        self
    }
    const fn polling(mut self) -> Self {
        self.reader = Reader::Polling;
        self
    }
    const fn efo(mut self) -> Self {
        self.reader = Reader::Efo;
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    const fn eq(mut self, other: &'static str) -> Self {
        self.equivalent = Some(other);
        self
    }
    const fn rejected(mut self, reason: &'static str) -> Self {
        self.rejected = Some(reason);
        self
    }
}

const MAX_I32: i64 = i32::MAX as i64;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Kinesis API limits that options are checked against.
pub mod limits {
    /// Records in one PutRecords request.
    pub const PUT_RECORDS_MAX_RECORDS: i64 = 500;
    /// Bytes in one PutRecords request.
    pub const PUT_RECORDS_MAX_BYTES: i64 = 5 * 1024 * 1024;
    /// Bytes in one record (data plus partition key).
    pub const RECORD_MAX_BYTES: usize = 1024 * 1024;
    /// Records one GetRecords call may return.
    pub const GET_RECORDS_MAX_RECORDS: i64 = 10_000;
    /// Unicode characters in a partition key.
    pub const PARTITION_KEY_MAX_CHARS: usize = 256;
    /// A shard iterator expires after five minutes.
    pub const ITERATOR_LIFETIME_MS: i64 = 300_000;
    /// Bytes a partition key can take: 256 characters of up to 4 bytes in UTF-8.
    pub const PARTITION_KEY_MAX_BYTES: i64 = 4 * PARTITION_KEY_MAX_CHARS as i64;
    /// The largest KPL aggregated record the sink builds (its data): Kinesis
    /// counts the partition key too against the 1 MiB record limit, and the
    /// aggregated record is put under one of its user records' keys, which
    /// may take up to 1,024 bytes.
    pub const AGGREGATED_RECORD_MAX_BYTES: i64 = RECORD_MAX_BYTES as i64 - PARTITION_KEY_MAX_BYTES;
    /// The smallest `sink.aggregation.max-size`: below 1 KiB most records
    /// would not fit and would be sent unaggregated anyway.
    pub const AGGREGATED_RECORD_MIN_BYTES: i64 = 1024;
    /// The most user records in one aggregated record: as many as one
    /// GetRecords call may return, so that a reader sized for a full
    /// GetRecords of plain records also holds one aggregated record.
    pub const AGGREGATED_RECORD_MAX_COUNT: i64 = GET_RECORDS_MAX_RECORDS;
}

pub const CREDENTIAL_PROVIDERS: &[&str] =
    &["AUTO", "BASIC", "ENV_VAR", "SYS_PROP", "PROFILE", "ASSUME_ROLE", "WEB_IDENTITY_TOKEN", "CUSTOM"];
pub const START_POSITIONS: &[&str] = &["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"];
pub const FORMATS: &[&str] = &["json", "csv", "raw", "avro"];
/// Flink formats kinesis-tables recognises but does not offer, with the reason.
pub const REJECTED_FORMATS: &[(&str, &str)] = &[
    (
        "avro-confluent",
        "it frames records for a Confluent schema registry, and kinesis-tables has no registry to write schemas to or test against; use `avro`",
    ),
    ("aws-glue-schema-registry", "it frames records for the AWS Glue schema registry, which kinesis-tables does not support; use `avro`"),
    ("avro-glue", "it frames records for the AWS Glue schema registry, which kinesis-tables does not support; use `avro`"),
];
/// The Kinesis metadata keys a `METADATA FROM` column may read.
pub const METADATA_KEYS: &[&str] = &[META_TIMESTAMP, META_SHARD_ID, META_SEQUENCE_NUMBER, META_PARTITION_KEY, META_SUB_SEQUENCE_NUMBER];
pub const META_TIMESTAMP: &str = "timestamp";
pub const META_SHARD_ID: &str = "shard-id";
pub const META_SEQUENCE_NUMBER: &str = "sequence-number";
pub const META_PARTITION_KEY: &str = "partition-key";
pub const META_SUB_SEQUENCE_NUMBER: &str = "sub-sequence-number";
/// The default of `sink.partitioner-field-delimiter`: joins the `partitioned_by` columns.
pub const DEFAULT_PARTITION_DELIMITER: &str = "|";

pub use options::OPTIONS;

mod options;

/// Looks an option up by its exact key.
pub fn find(key: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.key == key)
}

/// Splits a per-column datagen key `fields.<column>.<property>` into its
/// catalogue key (`fields.#.<property>`) and the column name.
pub fn datagen_field_key(key: &str) -> Option<(String, &str)> {
    let rest = key.strip_prefix(keys::DG_FIELDS_PREFIX)?;
    let (column, property) = rest.rsplit_once('.')?;
    if column.is_empty() {
        return None;
    }
    Some((format!("{}#.{property}", keys::DG_FIELDS_PREFIX), column))
}

/// Prefix of nested credential providers: `aws.credentials.role.provider.<rest>`.
pub const NESTED_PROVIDER_PREFIX: &str = "aws.credentials.role.provider.";

/// Normalises a nested credentials key to its base key and nesting depth.
/// `aws.credentials.role.provider.basic.secretkey` is `aws.credentials.basic.secretkey` at depth 1.
pub fn normalize_key(key: &str) -> (String, usize) {
    let mut depth = 0;
    let mut rest = key.to_string();
    while let Some(tail) = rest.strip_prefix(NESTED_PROVIDER_PREFIX) {
        rest = format!("aws.credentials.{tail}");
        depth += 1;
    }
    (rest, depth)
}

/// Legacy `sink.producer.*` options and what replaces them.
pub fn producer_replacement(suffix: &str) -> Option<&'static str> {
    Some(match suffix {
        "collection-max-count" => keys::SINK_BATCH_MAX_SIZE,
        "collection-max-size" => keys::SINK_FLUSH_SIZE,
        "aggregation-enabled" => keys::SINK_AGG_ENABLED,
        "aggregation-max-count" => keys::SINK_AGG_MAX_COUNT,
        "aggregation-max-size" => keys::SINK_AGG_MAX_SIZE,
        "record-max-buffered-time" => keys::SINK_FLUSH_TIMEOUT,
        "max-connections" => keys::SINK_HTTP_CONCURRENCY,
        "request-timeout" => keys::SINK_HTTP_READ_TIMEOUT,
        "fail-on-error" => keys::SINK_FAIL_ON_ERROR,
        _ => return None,
    })
}
