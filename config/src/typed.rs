//! Builds the typed [`TableConfig`] from checked options.

use std::borrow::Cow;
use std::time::Duration;

use crate::catalog::{self, keys};
use crate::model::*;
use crate::opts::Opts;
use crate::value::{self, Value};

fn s(v: String) -> Str {
    Cow::Owned(v)
}

fn backoff<S: Clone>(o: &Opts<'_, S>, prefix: &str) -> Backoff {
    Backoff {
        max_retries: o.int(&format!("{prefix}.maxretries")) as u32,
        base: Duration::from_millis(o.millis(&format!("{prefix}.backoff.base"))),
        max: Duration::from_millis(o.millis(&format!("{prefix}.backoff.max"))),
        exponent: o.double(&format!("{prefix}.backoff.expconst")),
    }
}

fn credentials<S: Clone>(o: &Opts<'_, S>, depth: usize) -> Credentials {
    let provider_key = if depth == 0 { keys::CRED_PROVIDER } else { keys::CRED_ROLE_PROVIDER };
    let provider_depth = depth.saturating_sub(1);
    let provider = match o.get_at(provider_key, provider_depth) {
        Some(Value::Str(p)) => p,
        _ => "AUTO".into(),
    };
    let text = |key: &str| -> Option<Str> {
        match o.entry_at(key, depth) {
            Some(e) => match &e.value {
                Some(Value::Str(v)) => Some(s(v.clone())),
                _ => e.input.value.text().map(s),
            },
            None => None,
        }
    };
    match provider.as_str() {
        "BASIC" => Credentials::Basic {
            access_key_id: Secret(text(keys::CRED_ACCESS_KEY).unwrap_or_default()),
            secret_key: Secret(text(keys::CRED_SECRET_KEY).unwrap_or_default()),
        },
        "ENV_VAR" => Credentials::EnvVar,
        "PROFILE" => Credentials::Profile { path: text(keys::CRED_PROFILE_PATH), name: text(keys::CRED_PROFILE_NAME) },
        "ASSUME_ROLE" => Credentials::AssumeRole {
            role_arn: text(keys::CRED_ROLE_ARN).unwrap_or_default(),
            session_name: text(keys::CRED_ROLE_SESSION).unwrap_or_default(),
            external_id: text(keys::CRED_ROLE_EXTERNAL_ID),
            sts_endpoint: text(keys::CRED_ROLE_STS_ENDPOINT),
            // Resolution happens once per table at build time or startup, so
            // leaking the nested provider is bounded.
            source: Box::leak(Box::new(credentials(o, depth + 1))),
        },
        "WEB_IDENTITY_TOKEN" => Credentials::WebIdentityToken {
            role_arn: text(keys::CRED_ROLE_ARN),
            session_name: text(keys::CRED_ROLE_SESSION),
            token_file: text(keys::CRED_WEB_IDENTITY_FILE),
        },
        "CUSTOM" => Credentials::Custom { type_path: text(keys::CRED_CUSTOM_CLASS).unwrap_or_default() },
        _ => Credentials::Auto,
    }
}

/// The `datagen` or `print` settings; datagen's per-column settings are
/// filled in by table checking, which knows the columns.
fn local<S: Clone>(o: &Opts<'_, S>) -> Option<LocalConfig> {
    match o.connector? {
        ConnectorKind::Datagen => Some(LocalConfig::Datagen(DatagenConfig {
            rows_per_second: o.int(keys::DG_ROWS_PER_SECOND) as u64,
            number_of_rows: match o.value(keys::DG_NUMBER_OF_ROWS) {
                Some(Value::Int(n)) => Some(*n as u64),
                _ => None,
            },
            fields: Cow::Owned(Vec::new()),
        })),
        ConnectorKind::Print => Some(LocalConfig::Print(PrintConfig {
            identifier: match o.value(keys::PRINT_IDENTIFIER) {
                Some(Value::Str(v)) => Some(s(v.clone())),
                _ => None,
            },
            standard_error: o.bool(keys::PRINT_STDERR),
        })),
        _ => None,
    }
}

pub(crate) fn build<S: Clone>(o: &Opts<'_, S>) -> TableConfig {
    TableConfig {
        connector: o.connector.unwrap_or(ConnectorKind::Kinesis),
        local: local(o),
        stream: stream(o),
        aws: aws(o),
        source: source(o),
        sink: sink(o),
        format: format(o),
    }
}

fn opt_str<S: Clone>(o: &Opts<'_, S>, key: &str) -> Option<Str> {
    match o.value(key) {
        Some(Value::Str(v)) => Some(s(v.clone())),
        _ => None,
    }
}

fn stream<S: Clone>(o: &Opts<'_, S>) -> StreamRef {
    if o.is_legacy() {
        return StreamRef::Name(s(o.str_or(keys::STREAM, "")));
    }
    let arn = o.str_or(keys::STREAM_ARN, "");
    match value::parse_stream_arn(&arn) {
        Ok(p) => StreamRef::Arn { arn: s(arn), region: s(p.region), account: s(p.account), name: s(p.name) },
        Err(_) => StreamRef::Arn { arn: s(arn), region: s(String::new()), account: s(String::new()), name: s(String::new()) },
    }
}

fn aws<S: Clone>(o: &Opts<'_, S>) -> AwsConfig {
    AwsConfig {
        region: opt_str(o, keys::AWS_REGION),
        endpoint: opt_str(o, keys::AWS_ENDPOINT),
        trust_all_certificates: o.bool(keys::AWS_TRUST_ALL),
        credentials: credentials(o, 0),
    }
}

fn start<S: Clone>(o: &Opts<'_, S>) -> StartPosition {
    match o.str_or(o.pick(keys::SRC_INIT_POSITION, keys::L_INITPOS), "LATEST").as_str() {
        "TRIM_HORIZON" => StartPosition::TrimHorizon,
        "AT_TIMESTAMP" => {
            let ts = o.str_or(o.pick(keys::SRC_INIT_TIMESTAMP, keys::L_INITPOS_TS), "0");
            let pattern = o.str_or(o.pick(keys::SRC_INIT_TIMESTAMP_FORMAT, keys::L_INITPOS_TS_FORMAT), "");
            StartPosition::AtTimestamp { epoch_millis: value::parse_start_timestamp(&ts, &pattern).unwrap_or(0) }
        }
        _ => StartPosition::Latest,
    }
}

fn source<S: Clone>(o: &Opts<'_, S>) -> SourceConfig {
    let reader = match o.str_or(o.pick(keys::SRC_READER_TYPE, keys::L_PUBLISHER), "POLLING").as_str() {
        "EFO" => ReaderType::Efo,
        _ => ReaderType::Polling,
    };
    let polling = PollingConfig {
        max_records: o.int(o.pick(keys::SRC_MAX_RECORDS, keys::L_GETRECORDS_MAX)) as u32,
        interval: Duration::from_millis(o.millis(keys::L_GETRECORDS_INTERVAL)),
        adaptive_reads: o.bool(keys::L_ADAPTIVE_READS),
        get_records_retry: backoff(o, "scan.shard.getrecords"),
        get_iterator_retry: backoff(o, "scan.shard.getiterator"),
    };
    let efo = if o.is_legacy() { efo_legacy(o) } else { efo(o) };
    let discovery = if o.is_legacy() { o.millis(keys::L_DISCOVERY_INTERVAL) } else { o.millis(keys::SRC_DISCOVERY_INTERVAL) };
    SourceConfig {
        start: start(o),
        shard_discovery_interval: Duration::from_millis(discovery),
        reader,
        polling,
        efo,
        list_shards_retry: backoff(o, "scan.list.shards"),
        describe_stream_retry: backoff(o, "scan.stream.describe"),
    }
}

fn efo_legacy<S: Clone>(o: &Opts<'_, S>) -> EfoConfig {
    EfoConfig {
        consumer_name: opt_str(o, keys::L_EFO_CONSUMER),
        consumer_arn: opt_str(o, keys::L_EFO_CONSUMER_ARN),
        lifecycle: if o.str_or(keys::L_EFO_REGISTRATION, "LAZY") == "NONE" { EfoLifecycle::SelfManaged } else { EfoLifecycle::JobManaged },
        subscription_timeout: Duration::from_secs(60),
        register_timeout: Duration::from_secs(o.int(keys::L_REGISTER_TIMEOUT) as u64),
        deregister_timeout: Duration::from_secs(o.int(keys::L_DEREGISTER_TIMEOUT) as u64),
        describe_retry: backoff(o, "scan.stream.describestreamconsumer"),
        register_retry: backoff(o, "scan.stream.registerstreamconsumer"),
        deregister_retry: backoff(o, "scan.stream.deregisterstreamconsumer"),
        subscribe_retry: backoff(o, "scan.shard.subscribetoshard"),
        http_max_concurrency: o.int(keys::L_EFO_CONCURRENCY) as u32,
    }
}

fn efo<S: Clone>(o: &Opts<'_, S>) -> EfoConfig {
    let describe = Backoff {
        max_retries: (o.int(keys::SRC_EFO_DESCRIBE_ATTEMPTS) as u32).saturating_sub(1),
        base: Duration::from_millis(o.millis(keys::SRC_EFO_DESCRIBE_MIN)),
        max: Duration::from_millis(o.millis(keys::SRC_EFO_DESCRIBE_MAX)),
        exponent: 2.0,
    };
    EfoConfig {
        consumer_name: opt_str(o, keys::SRC_EFO_CONSUMER),
        consumer_arn: None,
        lifecycle: if o.str_or(keys::SRC_EFO_LIFECYCLE, "JOB_MANAGED") == "SELF_MANAGED" {
            EfoLifecycle::SelfManaged
        } else {
            EfoLifecycle::JobManaged
        },
        subscription_timeout: Duration::from_millis(o.millis(keys::SRC_EFO_SUB_TIMEOUT)),
        register_timeout: Duration::from_millis(o.millis(keys::SRC_EFO_DESCRIBE_MAX)) * describe.max_retries.max(1),
        deregister_timeout: Duration::from_millis(o.millis(keys::SRC_EFO_DEREG_TIMEOUT)),
        describe_retry: describe,
        register_retry: Backoff::new(10, 500, 2000, 1.5),
        deregister_retry: Backoff::new(10, 500, 2000, 1.5),
        subscribe_retry: Backoff::new(10, 1000, 2000, 1.5),
        http_max_concurrency: 10_000,
    }
}

fn sink<S: Clone>(o: &Opts<'_, S>) -> SinkConfig {
    let partitioner = if o.partitioned_by.is_some() {
        Partitioner::Fields { delimiter: s(o.str_or(keys::SINK_DELIMITER, catalog::DEFAULT_PARTITION_DELIMITER)) }
    } else {
        match o.str_or(keys::SINK_PARTITIONER, "random").as_str() {
            "random" => Partitioner::Random,
            "fixed" => Partitioner::Fixed,
            path => Partitioner::Custom { type_path: s(path.to_string()) },
        }
    };
    SinkConfig {
        partitioner,
        batch_max_size: o.int(keys::SINK_BATCH_MAX_SIZE) as u32,
        max_inflight: o.int(keys::SINK_MAX_INFLIGHT) as u32,
        max_buffered: o.int(keys::SINK_MAX_BUFFERED) as u32,
        flush_buffer_size: o.int(keys::SINK_FLUSH_SIZE) as u64,
        flush_buffer_timeout: Duration::from_millis(o.int(keys::SINK_FLUSH_TIMEOUT) as u64),
        fail_on_error: o.bool(keys::SINK_FAIL_ON_ERROR),
        http_max_concurrency: o.int(keys::SINK_HTTP_CONCURRENCY) as u32,
        http_read_timeout: Duration::from_millis(o.int(keys::SINK_HTTP_READ_TIMEOUT) as u64),
        http_protocol: if o.str_or(keys::SINK_HTTP_PROTOCOL, "HTTP2") == "HTTP1_1" { HttpProtocol::Http1_1 } else { HttpProtocol::Http2 },
        aggregation: AggregationConfig {
            enabled: o.bool(keys::SINK_AGG_ENABLED),
            max_size: o.int(keys::SINK_AGG_MAX_SIZE) as u32,
            max_count: o.int(keys::SINK_AGG_MAX_COUNT) as u32,
        },
    }
}

fn format<S: Clone>(o: &Opts<'_, S>) -> FormatConfig {
    match o.str_or(keys::FORMAT, "json").as_str() {
        "csv" => FormatConfig::Csv(csv(o)),
        "avro" => FormatConfig::Avro(AvroOptions {
            encoding: if o.str_or(keys::AVRO_ENCODING, "binary") == "json" { AvroEncoding::Json } else { AvroEncoding::Binary },
            legacy_timestamp_mapping: o.bool(keys::AVRO_TIMESTAMP_LEGACY),
        }),
        "raw" => FormatConfig::Raw(RawOptions {
            charset: match o.str_or(keys::RAW_CHARSET, "UTF-8").to_ascii_uppercase().as_str() {
                "US-ASCII" | "ASCII" => Charset::UsAscii,
                "ISO-8859-1" | "LATIN1" => Charset::Iso8859_1,
                _ => Charset::Utf8,
            },
            endianness: if o.str_or(keys::RAW_ENDIANNESS, "big-endian") == "little-endian" { Endianness::Little } else { Endianness::Big },
        }),
        _ => FormatConfig::Json(JsonOptions {
            fail_on_missing_field: o.bool(keys::JSON_FAIL_ON_MISSING),
            ignore_parse_errors: o.bool(keys::JSON_IGNORE_PARSE_ERRORS),
            timestamp_standard: if o.str_or(keys::JSON_TIMESTAMP_STANDARD, "SQL") == "ISO-8601" {
                TimestampStandard::Iso8601
            } else {
                TimestampStandard::Sql
            },
            decimal_as_plain_number: o.bool(keys::JSON_DECIMAL_PLAIN),
            ignore_null_fields: o.bool(keys::JSON_IGNORE_NULLS),
        }),
    }
}

fn csv<S: Clone>(o: &Opts<'_, S>) -> CsvOptions {
    let ch = |key: &str| match o.get(key) {
        Some(Value::Char(c)) => Some(c),
        _ => None,
    };
    CsvOptions {
        field_delimiter: ch(keys::CSV_FIELD_DELIMITER).unwrap_or(','),
        quote_character: if o.bool(keys::CSV_DISABLE_QUOTE) { None } else { Some(ch(keys::CSV_QUOTE).unwrap_or('"')) },
        allow_comments: o.bool(keys::CSV_ALLOW_COMMENTS),
        ignore_parse_errors: o.bool(keys::CSV_IGNORE_PARSE_ERRORS),
        array_element_delimiter: s(o.str_or(keys::CSV_ARRAY_DELIMITER, ";")),
        escape_character: ch(keys::CSV_ESCAPE),
        null_literal: opt_str(o, keys::CSV_NULL_LITERAL),
        decimal_scientific: o.bool(keys::CSV_DECIMAL_SCIENTIFIC),
    }
}
