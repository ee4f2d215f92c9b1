//! The option table: every option of the catalogue, in the order they are
//! documented (static data; the types and lookups are in `catalog`).

use super::*;
use Section::*;

const WATERMARKS: &str = "kinesis-tables has no event-time watermarks, so this option could not take effect";

/// Every option, in the order they are documented.
pub static OPTIONS: &[OptionDef] = &[
    // ---- common
    opt(
        keys::CONNECTOR,
        ALL,
        Common,
        Kind::Enum(&["kinesis", "kinesis-legacy", "datagen", "print", "blackhole"]),
        None,
        "The connector: `kinesis` or `kinesis-legacy` for a stream; `datagen`, `print` or `blackhole` to run without AWS.",
    )
    .required(),
    opt(keys::STREAM_ARN, KINESIS, Common, Kind::StreamArn, None, "ARN of the Kinesis data stream backing this table.")
        .required()
        .eq(keys::STREAM),
    opt(keys::STREAM, LEGACY, Common, Kind::StreamName, None, "Name of the Kinesis data stream backing this table.")
        .required()
        .eq(keys::STREAM_ARN),
    opt(
        keys::FORMAT,
        ENCODED,
        Common,
        Kind::Enum(FORMATS),
        None,
        "The record format: `json`, `csv`, `raw` or `avro` (`print` writes json unless told otherwise).",
    )
    .required_for(BOTH),
    opt(
        keys::AWS_REGION,
        BOTH,
        Common,
        Kind::Region,
        None,
        "The AWS region of the stream. Required for `kinesis`; for `kinesis-legacy` this or `aws.endpoint` is required.",
    ),
    opt(
        keys::AWS_ENDPOINT,
        BOTH,
        Common,
        Kind::Endpoint,
        None,
        "The Kinesis endpoint URL. Derived from the region when unset; `AWS_ENDPOINT_URL` also applies.",
    ),
    opt(
        keys::AWS_TRUST_ALL,
        BOTH,
        Common,
        Kind::Bool,
        Some("false"),
        "Accept any TLS certificate. For tests only: a warning is logged at every start.",
    ),
    // ---- authentication
    opt(
        keys::CRED_PROVIDER,
        BOTH,
        Auth,
        Kind::Enum(CREDENTIAL_PROVIDERS),
        Some("AUTO"),
        "Where credentials come from. AUTO uses the default AWS provider chain.",
    ),
    opt(keys::CRED_ACCESS_KEY, BOTH, Auth, Kind::Str, None, "Access key ID for BASIC. Must be an `${ENV_VAR}` reference.").secret(),
    opt(keys::CRED_SECRET_KEY, BOTH, Auth, Kind::Str, None, "Secret access key for BASIC. Must be an `${ENV_VAR}` reference.").secret(),
    opt(keys::CRED_PROFILE_PATH, BOTH, Auth, Kind::Path, None, "Credentials file for PROFILE (default: the AWS default location)."),
    opt(keys::CRED_PROFILE_NAME, BOTH, Auth, Kind::Str, None, "Profile name for PROFILE (default: `default` or `AWS_PROFILE`)."),
    opt(keys::CRED_ROLE_ARN, BOTH, Auth, Kind::RoleArn, None, "Role to assume for ASSUME_ROLE and WEB_IDENTITY_TOKEN."),
    opt(keys::CRED_ROLE_SESSION, BOTH, Auth, Kind::SessionName, None, "Role session name for ASSUME_ROLE and WEB_IDENTITY_TOKEN."),
    opt(keys::CRED_ROLE_EXTERNAL_ID, BOTH, Auth, Kind::Str, None, "External ID for ASSUME_ROLE."),
    opt(
        keys::CRED_ROLE_STS_ENDPOINT,
        BOTH,
        Auth,
        Kind::Endpoint,
        None,
        "STS endpoint for ASSUME_ROLE (derived from the region when unset).",
    ),
    opt(
        keys::CRED_ROLE_PROVIDER,
        BOTH,
        Auth,
        Kind::Enum(CREDENTIAL_PROVIDERS),
        Some("AUTO"),
        "Provider of the credentials used to assume the role. Its own options take the prefix `aws.credentials.role.provider.`, so roles nest.",
    ),
    opt(
        keys::CRED_WEB_IDENTITY_FILE,
        BOTH,
        Auth,
        Kind::Path,
        None,
        "Web identity token file for WEB_IDENTITY_TOKEN (default: `AWS_WEB_IDENTITY_TOKEN_FILE`).",
    ),
    opt(
        keys::CRED_CUSTOM_CLASS,
        BOTH,
        Auth,
        Kind::RustPath,
        None,
        "For CUSTOM: a Rust type implementing `kinesis_tables::CustomCredentials`; rustc checks it.",
    ),
    // ---- source (kinesis)
    opt(
        keys::SRC_INIT_POSITION,
        KINESIS,
        Source,
        Kind::Enum(START_POSITIONS),
        Some("LATEST"),
        "Where a reader starts when it has no checkpoint.",
    )
    .eq(keys::L_INITPOS),
    opt(
        keys::SRC_INIT_TIMESTAMP,
        KINESIS,
        Source,
        Kind::Timestamp,
        None,
        "Start time for AT_TIMESTAMP: in `source.init.timestamp.format`, or epoch seconds.",
    )
    .eq(keys::L_INITPOS_TS),
    opt(
        keys::SRC_INIT_TIMESTAMP_FORMAT,
        KINESIS,
        Source,
        Kind::DatePattern,
        Some("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
        "Java date pattern of `source.init.timestamp`.",
    )
    .eq(keys::L_INITPOS_TS_FORMAT),
    opt(
        keys::SRC_DISCOVERY_INTERVAL,
        KINESIS,
        Source,
        Kind::Duration { min_ms: 1, max_ms: DAY_MS },
        Some("10 s"),
        "Interval between shard discoveries.",
    )
    .eq(keys::L_DISCOVERY_INTERVAL),
    opt(
        keys::SRC_READER_TYPE,
        KINESIS,
        Source,
        Kind::Enum(&["POLLING", "EFO"]),
        Some("POLLING"),
        "The reader: POLLING (GetRecords) or EFO (enhanced fan-out).",
    )
    .eq(keys::L_PUBLISHER),
    opt(
        keys::SRC_MAX_RECORDS,
        KINESIS,
        Source,
        Kind::Int { min: 1, max: limits::GET_RECORDS_MAX_RECORDS },
        Some("10000"),
        "Records asked for per GetRecords call (Kinesis allows at most 10000).",
    )
    .polling()
    .eq(keys::L_GETRECORDS_MAX),
    opt(keys::SRC_EFO_CONSUMER, KINESIS, Source, Kind::ConsumerName, None, "Name of the EFO consumer. Required with EFO.")
        .efo()
        .eq(keys::L_EFO_CONSUMER),
    opt(
        keys::SRC_EFO_LIFECYCLE,
        KINESIS,
        Source,
        Kind::Enum(&["JOB_MANAGED", "SELF_MANAGED"]),
        Some("JOB_MANAGED"),
        "JOB_MANAGED registers and deregisters the consumer; SELF_MANAGED expects it to exist.",
    )
    .efo()
    .eq(keys::L_EFO_REGISTRATION),
    opt(
        keys::SRC_EFO_SUB_TIMEOUT,
        KINESIS,
        Source,
        Kind::Duration { min_ms: 1, max_ms: HOUR_MS },
        Some("60 s"),
        "Timeout for a SubscribeToShard call to start delivering.",
    )
    .efo(),
    opt(
        keys::SRC_EFO_DEREG_TIMEOUT,
        KINESIS,
        Source,
        Kind::Duration { min_ms: 1, max_ms: HOUR_MS },
        Some("10 s"),
        "How long a clean stop waits for consumer deregistration.",
    )
    .efo(),
    opt(
        keys::SRC_EFO_DESCRIBE_ATTEMPTS,
        KINESIS,
        Source,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("100"),
        "Attempts of DescribeStreamConsumer while waiting for the consumer.",
    )
    .efo(),
    opt(
        keys::SRC_EFO_DESCRIBE_MIN,
        KINESIS,
        Source,
        Kind::Duration { min_ms: 1, max_ms: HOUR_MS },
        Some("2 s"),
        "Base delay of the DescribeStreamConsumer backoff.",
    )
    .efo(),
    opt(
        keys::SRC_EFO_DESCRIBE_MAX,
        KINESIS,
        Source,
        Kind::Duration { min_ms: 1, max_ms: HOUR_MS },
        Some("60 s"),
        "Maximum delay of the DescribeStreamConsumer backoff.",
    )
    .efo(),
    // ---- source (kinesis-legacy)
    opt(keys::L_INITPOS, LEGACY, Source, Kind::Enum(START_POSITIONS), Some("LATEST"), "Where a reader starts when it has no checkpoint.")
        .eq(keys::SRC_INIT_POSITION),
    opt(
        keys::L_INITPOS_TS,
        LEGACY,
        Source,
        Kind::Timestamp,
        None,
        "Start time for AT_TIMESTAMP: in `scan.stream.initpos-timestamp-format`, or epoch seconds.",
    )
    .eq(keys::SRC_INIT_TIMESTAMP),
    opt(
        keys::L_INITPOS_TS_FORMAT,
        LEGACY,
        Source,
        Kind::DatePattern,
        Some("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
        "Java date pattern of `scan.stream.initpos-timestamp`.",
    )
    .eq(keys::SRC_INIT_TIMESTAMP_FORMAT),
    opt(keys::L_PUBLISHER, LEGACY, Source, Kind::Enum(&["POLLING", "EFO"]), Some("POLLING"), "The reader: POLLING or EFO.")
        .eq(keys::SRC_READER_TYPE),
    opt(keys::L_EFO_CONSUMER, LEGACY, Source, Kind::ConsumerName, None, "Name of the EFO consumer. Required with EFO.")
        .efo()
        .eq(keys::SRC_EFO_CONSUMER),
    opt(
        keys::L_EFO_REGISTRATION,
        LEGACY,
        Source,
        Kind::Enum(&["LAZY", "EAGER", "NONE"]),
        Some("LAZY"),
        "LAZY and EAGER register the consumer at startup; NONE expects it to exist.",
    )
    .efo()
    .eq(keys::SRC_EFO_LIFECYCLE),
    opt(keys::L_EFO_CONSUMER_ARN, LEGACY, Source, Kind::ConsumerArn, None, "ARN of an existing consumer, used with registration NONE.")
        .efo(),
    opt(
        keys::L_EFO_CONCURRENCY,
        LEGACY,
        Source,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("10000"),
        "Concurrent requests of the EFO client.",
    )
    .efo(),
    opt(keys::L_SHARD_ASSIGNER, LEGACY, Source, Kind::Enum(&["default", "uniform"]), Some("default"), "Shard-to-subtask assignment.")
        .rejected("a kinesis-tables reader owns every shard of its stream, so there are no subtasks to assign shards to"),
    opt(
        "scan.stream.describe.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("50"),
        "Retries of DescribeStreamSummary on recoverable errors.",
    ),
    opt(
        "scan.stream.describe.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("2000"),
        "Base backoff (ms) between DescribeStreamSummary attempts.",
    ),
    opt(
        "scan.stream.describe.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("5000"),
        "Maximum backoff (ms) between DescribeStreamSummary attempts.",
    ),
    opt(
        "scan.stream.describe.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the DescribeStreamSummary backoff.",
    ),
    opt(
        "scan.list.shards.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("10"),
        "Retries of ListShards on recoverable errors.",
    ),
    opt(
        "scan.list.shards.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("1000"),
        "Base backoff (ms) between ListShards attempts.",
    ),
    opt(
        "scan.list.shards.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("5000"),
        "Maximum backoff (ms) between ListShards attempts.",
    ),
    opt(
        "scan.list.shards.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the ListShards backoff.",
    ),
    opt(
        "scan.stream.describestreamconsumer.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("50"),
        "Retries of DescribeStreamConsumer.",
    )
    .efo(),
    opt(
        "scan.stream.describestreamconsumer.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("2000"),
        "Base backoff (ms) between DescribeStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.describestreamconsumer.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("5000"),
        "Maximum backoff (ms) between DescribeStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.describestreamconsumer.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the DescribeStreamConsumer backoff.",
    )
    .efo(),
    opt(
        "scan.stream.registerstreamconsumer.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("10"),
        "Retries of RegisterStreamConsumer.",
    )
    .efo(),
    opt(
        keys::L_REGISTER_TIMEOUT,
        LEGACY,
        Source,
        Kind::Int { min: 1, max: 86_400 },
        Some("60"),
        "Seconds to wait for a registered consumer to become ACTIVE.",
    )
    .efo(),
    opt(
        "scan.stream.registerstreamconsumer.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("500"),
        "Base backoff (ms) between RegisterStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.registerstreamconsumer.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("2000"),
        "Maximum backoff (ms) between RegisterStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.registerstreamconsumer.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the RegisterStreamConsumer backoff.",
    )
    .efo(),
    opt(
        "scan.stream.deregisterstreamconsumer.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("10"),
        "Retries of DeregisterStreamConsumer.",
    )
    .efo(),
    opt(
        keys::L_DEREGISTER_TIMEOUT,
        LEGACY,
        Source,
        Kind::Int { min: 1, max: 86_400 },
        Some("60"),
        "Seconds to wait for a consumer to be deregistered.",
    )
    .efo(),
    opt(
        "scan.stream.deregisterstreamconsumer.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("500"),
        "Base backoff (ms) between DeregisterStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.deregisterstreamconsumer.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("2000"),
        "Maximum backoff (ms) between DeregisterStreamConsumer attempts.",
    )
    .efo(),
    opt(
        "scan.stream.deregisterstreamconsumer.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the DeregisterStreamConsumer backoff.",
    )
    .efo(),
    opt(
        "scan.shard.subscribetoshard.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("10"),
        "Retries of SubscribeToShard on recoverable errors.",
    )
    .efo(),
    opt(
        "scan.shard.subscribetoshard.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("1000"),
        "Base backoff (ms) between SubscribeToShard attempts.",
    )
    .efo(),
    opt(
        "scan.shard.subscribetoshard.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("2000"),
        "Maximum backoff (ms) between SubscribeToShard attempts.",
    )
    .efo(),
    opt(
        "scan.shard.subscribetoshard.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the SubscribeToShard backoff.",
    )
    .efo(),
    opt(
        keys::L_GETRECORDS_MAX,
        LEGACY,
        Source,
        Kind::Int { min: 1, max: limits::GET_RECORDS_MAX_RECORDS },
        Some("10000"),
        "Records asked for per GetRecords call (Kinesis allows at most 10000).",
    )
    .polling()
    .eq(keys::SRC_MAX_RECORDS),
    opt(
        "scan.shard.getrecords.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("3"),
        "Retries of GetRecords on recoverable errors.",
    )
    .polling(),
    opt(
        "scan.shard.getrecords.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("300"),
        "Base backoff (ms) after a throttled GetRecords.",
    )
    .polling(),
    opt(
        "scan.shard.getrecords.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("1000"),
        "Maximum backoff (ms) after a throttled GetRecords.",
    )
    .polling(),
    opt(
        "scan.shard.getrecords.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the GetRecords backoff.",
    )
    .polling(),
    opt(
        keys::L_GETRECORDS_INTERVAL,
        LEGACY,
        Source,
        Kind::Long { min: 1, max: limits::ITERATOR_LIFETIME_MS - 1 },
        Some("200"),
        "Milliseconds between GetRecords calls on a shard (below the 5-minute iterator lifetime).",
    )
    .polling(),
    opt(
        "scan.shard.getiterator.maxretries",
        LEGACY,
        Source,
        Kind::Int { min: 0, max: MAX_I32 },
        Some("3"),
        "Retries of GetShardIterator when throttled.",
    )
    .polling(),
    opt(
        "scan.shard.getiterator.backoff.base",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("300"),
        "Base backoff (ms) after a throttled GetShardIterator.",
    )
    .polling(),
    opt(
        "scan.shard.getiterator.backoff.max",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: 3_600_000 },
        Some("1000"),
        "Maximum backoff (ms) after a throttled GetShardIterator.",
    )
    .polling(),
    opt(
        "scan.shard.getiterator.backoff.expconst",
        LEGACY,
        Source,
        Kind::Double { min: 1.0, max: 100.0 },
        Some("1.5"),
        "Exponent base of the GetShardIterator backoff.",
    )
    .polling(),
    opt(
        keys::L_DISCOVERY_INTERVAL,
        LEGACY,
        Source,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("10000"),
        "Milliseconds between shard discoveries.",
    )
    .eq(keys::SRC_DISCOVERY_INTERVAL),
    opt(
        keys::L_ADAPTIVE_READS,
        LEGACY,
        Source,
        Kind::Bool,
        Some("false"),
        "Adapt the GetRecords record count to the 2 MiB/s per-shard read limit.",
    )
    .polling(),
    opt(
        "scan.shard.idle.interval",
        LEGACY,
        Source,
        Kind::Long { min: -1, max: i64::MAX },
        Some("-1"),
        "Idle-shard interval for watermarks.",
    )
    .rejected(WATERMARKS),
    opt("shard.consumer.error.recoverable[0].exception", LEGACY, Source, Kind::Str, None, "Java exception class to retry indefinitely.")
        .rejected("it names Java exception classes; kinesis-tables retries every recoverable AWS error kind itself"),
    opt(
        "scan.watermark.sync.interval",
        LEGACY,
        Source,
        Kind::Long { min: 1, max: i64::MAX },
        Some("30000"),
        "Interval of shared watermark synchronisation.",
    )
    .rejected(WATERMARKS),
    opt("scan.watermark.lookahead.millis", LEGACY, Source, Kind::Long { min: 0, max: i64::MAX }, Some("0"), "Watermark look-ahead.")
        .rejected(WATERMARKS),
    opt(
        "scan.watermark.sync.queue.capacity",
        LEGACY,
        Source,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("100"),
        "Records buffered during watermark alignment.",
    )
    .rejected(WATERMARKS),
    // ---- sink (both)
    opt(
        keys::SINK_PARTITIONER,
        BOTH,
        Sink,
        Kind::Partitioner,
        None,
        "`random`, `fixed` (one key per sink instance) or a Rust type implementing `kinesis_tables::Partitioner`. Default: `random`, or the `partitioned_by` columns.",
    ),
    opt(
        keys::SINK_DELIMITER,
        BOTH,
        Sink,
        Kind::AnyStr,
        Some(DEFAULT_PARTITION_DELIMITER),
        "Delimiter between `partitioned_by` values in the partition key (may be empty).",
    ),
    opt(
        keys::SINK_HTTP_CONCURRENCY,
        BOTH,
        Sink,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("10000"),
        "Concurrent HTTP requests of the sink's client.",
    ),
    opt(
        keys::SINK_HTTP_READ_TIMEOUT,
        BOTH,
        Sink,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("360000"),
        "Milliseconds a sink request may take before it is failed and retried.",
    ),
    opt(keys::SINK_HTTP_PROTOCOL, BOTH, Sink, Kind::Enum(&["HTTP1_1", "HTTP2"]), Some("HTTP2"), "HTTP version of the sink's client."),
    opt(
        keys::SINK_BATCH_MAX_SIZE,
        BOTH,
        Sink,
        Kind::Int { min: 1, max: limits::PUT_RECORDS_MAX_RECORDS },
        Some("500"),
        "Records per PutRecords request (Kinesis allows at most 500).",
    ),
    opt(
        keys::SINK_MAX_INFLIGHT,
        BOTH,
        Sink,
        Kind::Int { min: 1, max: MAX_I32 },
        Some("16"),
        "PutRecords requests in flight before writes wait.",
    ),
    opt(keys::SINK_MAX_BUFFERED, BOTH, Sink, Kind::Int { min: 1, max: MAX_I32 }, Some("10000"), "Records buffered before writes wait."),
    opt(
        keys::SINK_FLUSH_SIZE,
        BOTH,
        Sink,
        Kind::Long { min: 1, max: limits::PUT_RECORDS_MAX_BYTES },
        Some("5242880"),
        "Buffered bytes that trigger a flush (a PutRecords request holds at most 5 MiB).",
    ),
    opt(
        keys::SINK_FLUSH_TIMEOUT,
        BOTH,
        Sink,
        Kind::Long { min: 1, max: 86_400_000 },
        Some("5000"),
        "Milliseconds a record may wait in the buffer before a flush.",
    ),
    opt(keys::SINK_FAIL_ON_ERROR, BOTH, Sink, Kind::Bool, Some("false"), "Fail on the first failed request instead of retrying it."),
    opt(
        keys::SINK_AGG_ENABLED,
        BOTH,
        Sink,
        Kind::Bool,
        Some("false"),
        "Pack records bound for the same shard into KPL aggregated records (read back by any KPL-aware reader, kinesis-tables' source included).",
    ),
    opt(
        keys::SINK_AGG_MAX_SIZE,
        BOTH,
        Sink,
        Kind::Int { min: limits::AGGREGATED_RECORD_MIN_BYTES, max: limits::AGGREGATED_RECORD_MAX_BYTES },
        Some("51200"),
        "Bytes of one aggregated record, as the KPL's default (at most 1 MiB minus 1,024 bytes for the partition key); a larger record is sent alone.",
    ),
    opt(
        keys::SINK_AGG_MAX_COUNT,
        BOTH,
        Sink,
        Kind::Int { min: 1, max: limits::AGGREGATED_RECORD_MAX_COUNT },
        Some("1000"),
        "User records in one aggregated record (at most 10000, what one GetRecords returns). A failed aggregated record is resent whole.",
    ),
    // ---- formats
    opt(
        keys::JSON_FAIL_ON_MISSING,
        ENCODED,
        Json,
        Kind::Bool,
        Some("false"),
        "A missing field is an error (otherwise a nullable column reads as null).",
    ),
    opt(
        keys::JSON_IGNORE_PARSE_ERRORS,
        ENCODED,
        Json,
        Kind::Bool,
        Some("false"),
        "Skip and count records that fail to parse instead of stopping.",
    ),
    opt(
        keys::JSON_TIMESTAMP_STANDARD,
        ENCODED,
        Json,
        Kind::Enum(&["SQL", "ISO-8601"]),
        Some("SQL"),
        "Timestamp text: SQL (`2024-01-02 03:04:05.678`) or ISO-8601 (`2024-01-02T03:04:05.678`).",
    ),
    opt("json.map-null-key.mode", ENCODED, Json, Kind::Enum(&["FAIL", "DROP", "LITERAL"]), Some("FAIL"), "Handling of null map keys.")
        .rejected("map keys are never null in kinesis-tables (MAP keys are NOT NULL), so there is nothing for it to do"),
    opt("json.map-null-key.literal", ENCODED, Json, Kind::AnyStr, Some("null"), "Literal for null map keys.")
        .rejected("map keys are never null in kinesis-tables (MAP keys are NOT NULL), so there is nothing for it to do"),
    opt(keys::JSON_DECIMAL_PLAIN, ENCODED, Json, Kind::Bool, Some("false"), "Write DECIMAL values without exponent notation."),
    opt(keys::JSON_IGNORE_NULLS, ENCODED, Json, Kind::Bool, Some("false"), "Leave null fields out of written records."),
    opt(keys::CSV_FIELD_DELIMITER, ENCODED, Csv, Kind::Char, Some(","), "Field delimiter (one character; `\\t` for tab)."),
    opt(
        keys::CSV_DISABLE_QUOTE,
        ENCODED,
        Csv,
        Kind::Bool,
        Some("false"),
        "Never quote fields. Values that would need quoting are then an error.",
    ),
    opt(keys::CSV_QUOTE, ENCODED, Csv, Kind::Char, Some("\""), "Quote character."),
    opt(keys::CSV_ALLOW_COMMENTS, ENCODED, Csv, Kind::Bool, Some("false"), "Records starting with `#` are comments: skipped and counted."),
    opt(
        keys::CSV_IGNORE_PARSE_ERRORS,
        ENCODED,
        Csv,
        Kind::Bool,
        Some("false"),
        "Skip and count records that fail to parse instead of stopping.",
    ),
    opt(keys::CSV_ARRAY_DELIMITER, ENCODED, Csv, Kind::Str, Some(";"), "Delimiter between ARRAY elements."),
    opt(keys::CSV_ESCAPE, ENCODED, Csv, Kind::Char, None, "Escape character (none by default)."),
    opt(keys::CSV_NULL_LITERAL, ENCODED, Csv, Kind::AnyStr, None, "Text read and written for null (default: an empty unquoted field)."),
    opt(keys::CSV_DECIMAL_SCIENTIFIC, ENCODED, Csv, Kind::Bool, Some("true"), "Write DECIMAL values in scientific notation where shorter."),
    opt(keys::RAW_CHARSET, ENCODED, Raw, Kind::Charset, Some("UTF-8"), "Character set of a string column: UTF-8, US-ASCII or ISO-8859-1."),
    opt(
        keys::RAW_ENDIANNESS,
        ENCODED,
        Raw,
        Kind::Enum(&["big-endian", "little-endian"]),
        Some("big-endian"),
        "Byte order of a numeric column.",
    ),
    opt(
        keys::AVRO_ENCODING,
        ENCODED,
        Avro,
        Kind::Enum(&["binary", "json"]),
        Some("binary"),
        "How each datum is written: Avro `binary`, or Avro's `json` encoding (unions as `{\"type\": value}`, bytes as ISO-8859-1 strings).",
    ),
    opt(
        keys::AVRO_TIMESTAMP_LEGACY,
        ENCODED,
        Avro,
        Kind::Bool,
        Some("true"),
        "Flink's legacy timestamp mapping: TIMESTAMP(p ≤ 3) is `timestamp-millis` and TIMESTAMP_LTZ is refused; `false` maps TIMESTAMP to `local-timestamp-*` and TIMESTAMP_LTZ to `timestamp-*` (p ≤ 9).",
    ),
    opt(
        "avro.codec",
        ENCODED,
        Avro,
        Kind::Enum(&["null", "deflate", "snappy", "bzip2", "xz", "zstandard"]),
        None,
        "Compression codec of Avro files.",
    )
    .rejected("it compresses Avro container files (the filesystem connector); a stream record is one datum without a container"),
    // ---- datagen
    opt(keys::DG_ROWS_PER_SECOND, DATAGEN, Datagen, Kind::Long { min: 1, max: i64::MAX }, Some("10000"), "Rows generated per second."),
    opt(
        keys::DG_NUMBER_OF_ROWS,
        DATAGEN,
        Datagen,
        Kind::Long { min: 0, max: i64::MAX },
        None,
        "Rows to generate before the source ends (unbounded when unset; a `sequence` column also ends it).",
    ),
    opt(keys::DG_PARALLELISM, DATAGEN, Datagen, Kind::Int { min: 1, max: MAX_I32 }, None, "Parallel source instances.")
        .rejected(PARALLELISM),
    opt(
        keys::DG_KIND,
        DATAGEN,
        Datagen,
        Kind::Enum(&["random", "sequence"]),
        Some("random"),
        "How column `#` is generated: `random` values or a `sequence` from `start` to `end`.",
    ),
    opt(keys::DG_MIN, DATAGEN, Datagen, Kind::Number, None, "Smallest random value of numeric column `#` (default: the type's smallest)."),
    opt(keys::DG_MAX, DATAGEN, Datagen, Kind::Number, None, "Largest random value of numeric column `#` (default: the type's largest)."),
    opt(
        keys::DG_MAX_PAST,
        DATAGEN,
        Datagen,
        Kind::Duration { min_ms: 0, max_ms: 100 * 365 * DAY_MS },
        Some("0"),
        "Random timestamps and dates of column `#` lie up to this far before now.",
    ),
    opt(
        keys::DG_LENGTH,
        DATAGEN,
        Datagen,
        Kind::Int { min: 0, max: 1024 * 1024 },
        None,
        "Length of random strings and bytes (default 100, capped by the type) or ARRAY elements (default 3) of column `#`.",
    ),
    opt(
        keys::DG_VAR_LEN,
        DATAGEN,
        Datagen,
        Kind::Bool,
        Some("false"),
        "Random strings and bytes of column `#` get a random length up to `length`.",
    ),
    opt(keys::DG_START, DATAGEN, Datagen, Kind::Long { min: i64::MIN, max: i64::MAX }, None, "First value of sequence column `#`."),
    opt(
        keys::DG_END,
        DATAGEN,
        Datagen,
        Kind::Long { min: i64::MIN, max: i64::MAX },
        None,
        "Last value of sequence column `#`; the source ends after it.",
    ),
    opt(
        keys::DG_NULL_RATE,
        DATAGEN,
        Datagen,
        Kind::Double { min: 0.0, max: 1.0 },
        Some("0"),
        "Share of nulls in nullable column `#` (0 to 1).",
    ),
    // ---- print
    opt(keys::PRINT_IDENTIFIER, PRINT, Print, Kind::Str, None, "Text printed before every row, followed by `> `."),
    opt(keys::PRINT_STDERR, PRINT, Print, Kind::Bool, Some("false"), "Print to standard error instead of standard output."),
    opt(keys::SINK_PARALLELISM, PRINT | BLACKHOLE, Print, Kind::Int { min: 1, max: MAX_I32 }, None, "Parallel sink instances.")
        .rejected(PARALLELISM),
];

const PARALLELISM: &str =
    "a pipeline binary runs one source and one sink; run more binaries, over different streams or shards, to scale out";
