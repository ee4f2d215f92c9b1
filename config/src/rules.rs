//! Cross-field rules: combinations of options that are each valid alone but
//! not together. Every rule reports into the same collector; a rule whose
//! inputs come from `${ENV}` is left to startup, when the same rules run again.

use crate::catalog::{keys, limits};
use crate::diag::{Diag, Diags};
use crate::model::ConnectorKind;
use crate::opts::Opts;
use crate::value::{self, Value};

pub(crate) fn check<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    if o.is_local() {
        // Nothing Kinesis-related applies; per-option checks already ran,
        // and datagen's per-column rules need the columns (see `table`).
        if let Some(span) = &o.partitioned_by {
            diags.push(
                Diag::error(
                    span.clone(),
                    format!("`partitioned_by` has no effect on `connector: {}`", o.connector.map_or("kinesis", ConnectorKind::name)),
                )
                .label("no partition keys here")
                .note("`partitioned_by` chooses the Kinesis partition key of records a table writes")
                .help("remove it"),
            );
        }
        if o.connector == Some(ConnectorKind::Print) {
            for key in [keys::JSON_FAIL_ON_MISSING, keys::JSON_IGNORE_PARSE_ERRORS, keys::CSV_IGNORE_PARSE_ERRORS, keys::CSV_ALLOW_COMMENTS]
            {
                if let Some(e) = o.entry(key) {
                    diags.push(
                        Diag::error(e.input.key_span.clone(), format!("`{key}` has no effect on `connector: print`"))
                            .label("a reading option")
                            .note("it changes how records are read; print only writes")
                            .help("remove it"),
                    );
                }
            }
        }
        formats(o, diags);
        return;
    }
    required(o, diags);
    stream_and_region(o, diags);
    start_position(o, diags);
    efo(o, diags);
    credentials(o, 0, diags);
    partitioning(o, diags);
    sink_limits(o, diags);
    aggregation(o, diags);
    backoffs(o, diags);
    formats(o, diags);
    if let Some(e) = o.entry(keys::AWS_TRUST_ALL)
        && e.value == Some(Value::Bool(true))
    {
        diags.push(
            Diag::warning(e.input.value_span.clone(), "`aws.trust.all.certificates` accepts any TLS certificate")
                .label("TLS verification off")
                .note("use this against local emulators only; the program logs a warning at every start"),
        );
    }
}

fn key_span<S: Clone>(o: &Opts<'_, S>, key: &str) -> S {
    o.entry(key).map(|e| e.input.key_span.clone()).unwrap_or_else(|| o.whole.clone())
}

fn value_span<S: Clone>(o: &Opts<'_, S>, key: &str) -> S {
    o.entry(key).map(|e| e.input.value_span.clone()).unwrap_or_else(|| o.whole.clone())
}

fn required<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    for def in crate::catalog::OPTIONS.iter().filter(|d| o.connector.is_some_and(|c| d.required_for_connector(c))) {
        if !o.is_written(def.key) {
            let example = match def.key {
                keys::STREAM_ARN => "stream.arn: arn:aws:kinesis:us-east-1:012345678901:stream/my-stream",
                keys::STREAM => "stream: my-stream",
                keys::FORMAT => "format: json",
                _ => def.key,
            };
            diags.push(
                Diag::error(o.whole.clone(), format!("missing required option `{}`", def.key))
                    .label(format!("`{}` is not set", def.key))
                    .help(format!("add `{example}`")),
            );
        }
    }
    if o.is_legacy() {
        if !o.is_written(keys::AWS_REGION) && !o.is_written(keys::AWS_ENDPOINT) {
            diags.push(
                Diag::error(o.whole.clone(), "`kinesis-legacy` needs `aws.region` or `aws.endpoint`")
                    .label("neither is set")
                    .help("add `aws.region: us-east-1`, for example"),
            );
        }
    } else if !o.is_written(keys::AWS_REGION) {
        diags.push(
            Diag::error(o.whole.clone(), "missing required option `aws.region`")
                .label("`aws.region` is not set")
                .help("add `aws.region: us-east-1`, for example"),
        );
    }
}

fn stream_and_region<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    let (Some(Value::Str(arn)), Some(Value::Str(region))) = (o.value(keys::STREAM_ARN), o.value(keys::AWS_REGION)) else { return };
    if let Ok(parsed) = value::parse_stream_arn(arn)
        && &parsed.region != region
    {
        diags.push(
            Diag::error(
                value_span(o, keys::AWS_REGION),
                format!("`aws.region` is `{region}`, but the stream ARN is in `{}`", parsed.region),
            )
            .label("region differs from the stream's")
            .note("the source and the sink must talk to the region the stream lives in")
            .help(format!("set `aws.region: {}`", parsed.region)),
        );
    }
}

fn start_position<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    let pos_key = o.pick(keys::SRC_INIT_POSITION, keys::L_INITPOS);
    let ts_key = o.pick(keys::SRC_INIT_TIMESTAMP, keys::L_INITPOS_TS);
    let fmt_key = o.pick(keys::SRC_INIT_TIMESTAMP_FORMAT, keys::L_INITPOS_TS_FORMAT);
    if o.is_env(pos_key) {
        return;
    }
    let at_ts = o.get(pos_key) == Some(Value::Str("AT_TIMESTAMP".into()));
    if at_ts {
        if !o.is_written(ts_key) {
            diags.push(
                Diag::error(value_span(o, pos_key), format!("`{pos_key}: AT_TIMESTAMP` needs `{ts_key}`"))
                    .label("no start time given")
                    .help(format!("add `{ts_key}: \"2024-01-31T12:00:00.000+00:00\"` (or epoch seconds)")),
            );
        } else if let (Some(Value::Str(ts)), false) = (o.value(ts_key), o.is_env(fmt_key)) {
            let pattern = match o.get(fmt_key) {
                Some(Value::Str(p)) => p,
                _ => return,
            };
            if let Err(e) = value::parse_start_timestamp(ts, &pattern) {
                diags.push(Diag::error(value_span(o, ts_key), e.message).label("cannot parse this start time").help_opt(e.help));
            }
        }
    } else {
        for k in [ts_key, fmt_key] {
            if o.is_set(k) {
                diags.push(
                    Diag::error(key_span(o, k), format!("`{k}` has no effect unless `{pos_key}` is `AT_TIMESTAMP`"))
                        .label("ignored option")
                        .help(format!("remove it, or set `{pos_key}: AT_TIMESTAMP`")),
                );
            }
        }
    }
}

fn efo<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    let reader_key = o.pick(keys::SRC_READER_TYPE, keys::L_PUBLISHER);
    if o.get(reader_key) != Some(Value::Str("EFO".into())) {
        return;
    }
    let name_key = o.pick(keys::SRC_EFO_CONSUMER, keys::L_EFO_CONSUMER);
    if !o.is_written(name_key) {
        diags.push(
            Diag::error(value_span(o, reader_key), format!("the EFO reader needs a consumer name in `{name_key}`"))
                .label("EFO without a consumer")
                .help(format!("add `{name_key}: my-app` (the name is registered with Kinesis)")),
        );
    }
    if o.is_legacy() && !o.is_env(keys::L_EFO_REGISTRATION) {
        let none = o.get(keys::L_EFO_REGISTRATION) == Some(Value::Str("NONE".into()));
        if o.is_set(keys::L_EFO_CONSUMER_ARN) && !none {
            diags.push(
                Diag::error(
                    key_span(o, keys::L_EFO_CONSUMER_ARN),
                    "`scan.stream.efo.consumerarn` is only used with `scan.stream.efo.registration: NONE`",
                )
                .label("ignored option")
                .help("remove it, or set `scan.stream.efo.registration: NONE`"),
            );
        }
    }
    if !o.is_legacy()
        && !o.is_env(keys::SRC_EFO_DESCRIBE_MIN)
        && !o.is_env(keys::SRC_EFO_DESCRIBE_MAX)
        && o.millis(keys::SRC_EFO_DESCRIBE_MIN) > o.millis(keys::SRC_EFO_DESCRIBE_MAX)
    {
        diags.push(
            Diag::error(value_span(o, keys::SRC_EFO_DESCRIBE_MIN), "the backoff's minimum delay is above its maximum")
                .label("greater than `source.efo.describe.retry-strategy.delay.max`"),
        );
    }
}

/// Which providers use which credential options.
fn used_by(key: &str) -> &'static [&'static str] {
    match key {
        keys::CRED_ACCESS_KEY | keys::CRED_SECRET_KEY => &["BASIC"],
        keys::CRED_PROFILE_PATH | keys::CRED_PROFILE_NAME => &["PROFILE"],
        keys::CRED_ROLE_ARN | keys::CRED_ROLE_SESSION => &["ASSUME_ROLE", "WEB_IDENTITY_TOKEN"],
        keys::CRED_ROLE_EXTERNAL_ID | keys::CRED_ROLE_STS_ENDPOINT | keys::CRED_ROLE_PROVIDER => &["ASSUME_ROLE"],
        keys::CRED_WEB_IDENTITY_FILE => &["WEB_IDENTITY_TOKEN"],
        keys::CRED_CUSTOM_CLASS => &["CUSTOM"],
        _ => &[],
    }
}

fn needs(provider: &str) -> &'static [&'static str] {
    match provider {
        "BASIC" => &[keys::CRED_ACCESS_KEY, keys::CRED_SECRET_KEY],
        "ASSUME_ROLE" => &[keys::CRED_ROLE_ARN, keys::CRED_ROLE_SESSION],
        "CUSTOM" => &[keys::CRED_CUSTOM_CLASS],
        _ => &[],
    }
}

fn nested(key: &str, depth: usize) -> String {
    let tail = key.strip_prefix("aws.credentials.").unwrap_or(key);
    format!("aws.credentials.{}{tail}", "role.provider.".repeat(depth))
}

fn credentials<S: Clone>(o: &Opts<'_, S>, depth: usize, diags: &mut Diags<S>) {
    let (provider_key, provider_depth) = if depth == 0 { (keys::CRED_PROVIDER, 0) } else { (keys::CRED_ROLE_PROVIDER, depth - 1) };
    let entry = o.entry_at(provider_key, provider_depth);
    if entry.is_some_and(|e| e.env.is_some()) {
        return;
    }
    let provider = match entry.map(|e| e.value.clone()) {
        Some(Some(Value::Str(p))) => p,
        Some(_) => return,
        None => "AUTO".to_string(),
    };
    let provider_span = entry.map(|e| e.input.value_span.clone()).unwrap_or_else(|| o.whole.clone());
    let written_provider_key = nested(provider_key, provider_depth);
    if provider == "SYS_PROP" {
        diags.push(
            Diag::error(provider_span.clone(), "credentials provider `SYS_PROP` is not supported")
                .label("Java system properties")
                .note("SYS_PROP reads Java system properties, and a kinesis-tables program has no JVM")
                .help("use `ENV_VAR` (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or `AUTO`"),
        );
        return;
    }
    for need in needs(&provider) {
        if !o.is_written(&nested(need, depth)) {
            diags.push(
                Diag::error(provider_span.clone(), format!("credentials provider `{provider}` needs `{}`", nested(need, depth)))
                    .label(format!("`{}` is not set", nested(need, depth)))
                    .help(if *need == keys::CRED_CUSTOM_CLASS {
                        format!(
                            "add `{}: my_crate::MyProvider`, a type implementing `kinesis_tables::CustomCredentials`",
                            nested(need, depth)
                        )
                    } else if *need == keys::CRED_ACCESS_KEY || *need == keys::CRED_SECRET_KEY {
                        format!("add `{}: ${{ENV_VAR}}`", nested(need, depth))
                    } else {
                        format!("add `{}`", nested(need, depth))
                    }),
            );
        }
    }
    for e in o.entries.iter().filter(|e| e.depth == depth && e.def.section == crate::catalog::Section::Auth) {
        let users = used_by(&e.base);
        if users.is_empty() || users.contains(&provider.as_str()) {
            continue;
        }
        diags.push(
            Diag::error(
                e.input.key_span.clone(),
                format!(
                    "`{}` is only used by the {} credentials provider, but `{written_provider_key}` is `{provider}`",
                    e.input.key,
                    users.join(" or ")
                ),
            )
            .label("ignored option")
            .help(format!("remove it, or set `{written_provider_key}: {}`", users[0])),
        );
    }
    // Options nested below a provider that is not ASSUME_ROLE.
    if provider != "ASSUME_ROLE" {
        if let Some(e) = o.entries.iter().find(|e| e.depth > depth) {
            diags.push(
                Diag::error(
                    e.input.key_span.clone(),
                    format!("`{}` configures a role's source provider, but `{written_provider_key}` is `{provider}`", e.input.key),
                )
                .label("ignored option")
                .help(format!("remove it, or set `{written_provider_key}: ASSUME_ROLE`")),
            );
        }
        return;
    }
    credentials(o, depth + 1, diags);
}

fn partitioning<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    match (&o.partitioned_by, o.entry(keys::SINK_PARTITIONER)) {
        (Some(_), Some(e)) => {
            diags.push(
                Diag::error(e.input.key_span.clone(), "`sink.partitioner` cannot be combined with `partitioned_by`")
                    .label("conflicts with `partitioned_by`")
                    .note("a table with `partitioned_by` always uses those columns as the partition key")
                    .help("remove one of the two"),
            );
        }
        (None, _) => {
            if let Some(e) = o.entry(keys::SINK_DELIMITER) {
                diags.push(
                    Diag::error(e.input.key_span.clone(), "`sink.partitioner-field-delimiter` has no effect without `partitioned_by`")
                        .label("ignored option")
                        .help("remove it, or add `partitioned_by: [column, …]`"),
                );
            }
        }
        _ => {}
    }
    if let Some(Value::Str(d)) = o.value(keys::SINK_DELIMITER)
        && d.chars().count() >= limits::PARTITION_KEY_MAX_CHARS
    {
        diags.push(
            Diag::error(value_span(o, keys::SINK_DELIMITER), "the delimiter alone is as long as a partition key may be (256 characters)")
                .label("too long"),
        );
    }
}

fn sink_limits<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    if let (Some(Value::Int(buffered)), Some(Value::Int(batch))) = (o.get(keys::SINK_MAX_BUFFERED), o.get(keys::SINK_BATCH_MAX_SIZE))
        && buffered < batch
        && !o.is_env(keys::SINK_MAX_BUFFERED)
        && !o.is_env(keys::SINK_BATCH_MAX_SIZE)
    {
        let at = if o.is_set(keys::SINK_MAX_BUFFERED) { keys::SINK_MAX_BUFFERED } else { keys::SINK_BATCH_MAX_SIZE };
        diags.push(
            Diag::error(value_span(o, at), format!("`sink.requests.max-buffered` ({buffered}) is below `sink.batch.max-size` ({batch})"))
                .label("a batch could never fill")
                .help("make `sink.requests.max-buffered` at least the batch size"),
        );
    }
}

/// `sink.aggregation.*`: the limits only mean something with aggregation on,
/// and an aggregated record must be able to fill before the sink sends it.
fn aggregation<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    if o.is_env(keys::SINK_AGG_ENABLED) {
        return;
    }
    if !o.bool(keys::SINK_AGG_ENABLED) {
        // Writing the default changes nothing (the reference spec lists every
        // option with its default, ready to uncomment): only other values.
        for key in [keys::SINK_AGG_MAX_SIZE, keys::SINK_AGG_MAX_COUNT] {
            if o.is_set(key) && !o.is_env(key) && o.value(key).cloned() != crate::opts::default_of(key) {
                diags.push(
                    Diag::error(key_span(o, key), format!("`{key}` has no effect unless `sink.aggregation.enabled` is true"))
                        .label("ignored option")
                        .help("remove it, or set `sink.aggregation.enabled: true`"),
                );
            }
        }
        return;
    }
    // Each limit against the sink setting that caps it: (limit, cap, what the cap bounds).
    let pairs = [
        (keys::SINK_AGG_MAX_SIZE, keys::SINK_FLUSH_SIZE, "the sink sends what it holds once `sink.flush-buffer.size` bytes are buffered"),
        (keys::SINK_AGG_MAX_COUNT, keys::SINK_MAX_BUFFERED, "the sink holds at most `sink.requests.max-buffered` records"),
    ];
    for (limit, cap, why) in pairs {
        if o.is_env(limit) || o.is_env(cap) {
            continue;
        }
        let (Some(Value::Int(l)), Some(Value::Int(c))) = (o.get(limit), o.get(cap)) else { continue };
        if l <= c {
            continue;
        }
        let (at, message) = if o.is_set(limit) || !o.is_set(cap) {
            (limit, format!("`{limit}` ({l}) is above `{cap}` ({c})"))
        } else {
            (cap, format!("`{cap}` ({c}) is below the default of `{limit}` ({l})"))
        };
        diags.push(
            Diag::error(value_span(o, at), message)
                .label("an aggregated record could never fill")
                .note(why)
                .help(format!("make `{limit}` at most {c}, or raise `{cap}` to at least {l}")),
        );
    }
}

fn backoffs<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    if !o.is_legacy() {
        return;
    }
    for prefix in [
        "scan.stream.describe",
        "scan.list.shards",
        "scan.stream.describestreamconsumer",
        "scan.stream.registerstreamconsumer",
        "scan.stream.deregisterstreamconsumer",
        "scan.shard.subscribetoshard",
        "scan.shard.getrecords",
        "scan.shard.getiterator",
    ] {
        let base = format!("{prefix}.backoff.base");
        let max = format!("{prefix}.backoff.max");
        if o.is_env(&base) || o.is_env(&max) || !(o.is_set(&base) || o.is_set(&max)) {
            continue;
        }
        let (b, m) = (o.millis(&base), o.millis(&max));
        if b > m {
            let at = if o.is_set(&base) { base.as_str() } else { max.as_str() };
            diags.push(
                Diag::error(value_span(o, at), format!("backoff base ({b} ms) is above the backoff maximum ({m} ms)"))
                    .label(format!("`{base}` > `{max}`"))
                    .help("the base delay must not exceed the maximum delay"),
            );
        }
    }
}

fn formats<S: Clone>(o: &Opts<'_, S>, diags: &mut Diags<S>) {
    if o.get(keys::JSON_FAIL_ON_MISSING) == Some(Value::Bool(true)) && o.get(keys::JSON_IGNORE_PARSE_ERRORS) == Some(Value::Bool(true)) {
        diags.push(
            Diag::error(
                key_span(o, keys::JSON_IGNORE_PARSE_ERRORS),
                "`json.fail-on-missing-field` and `json.ignore-parse-errors` cannot both be true",
            )
            .label("contradicts `json.fail-on-missing-field`")
            .help("choose whether a missing field fails the read or skips the record"),
        );
    }
    if o.get(keys::CSV_DISABLE_QUOTE) == Some(Value::Bool(true)) && o.is_set(keys::CSV_QUOTE) {
        diags.push(
            Diag::error(key_span(o, keys::CSV_QUOTE), "`csv.quote-character` has no effect when `csv.disable-quote-character` is true")
                .label("ignored option")
                .help("remove one of the two"),
        );
    }
    // The generated avro codec and schema are fixed when the spec compiles.
    for key in [keys::AVRO_ENCODING, keys::AVRO_TIMESTAMP_LEGACY] {
        if o.is_env(key) {
            diags.push(
                Diag::error(value_span(o, key), format!("`{key}` cannot come from the environment"))
                    .label("environment reference")
                    .note("it decides the generated codec and the Avro schema, which are fixed when the spec compiles")
                    .help("write the value itself"),
            );
        }
    }
    let ch = |k: &str| match o.get(k) {
        Some(Value::Char(c)) => Some(c),
        _ => None,
    };
    if let Some(delim) = ch(keys::CSV_FIELD_DELIMITER).filter(|_| o.get(keys::FORMAT) == Some(Value::Str("csv".into()))) {
        for other in [keys::CSV_QUOTE, keys::CSV_ESCAPE] {
            if o.is_set(other) && ch(other) == Some(delim) {
                diags.push(
                    Diag::error(value_span(o, other), format!("`{other}` is the same character as `csv.field-delimiter`"))
                        .label("ambiguous")
                        .help("choose different characters"),
                );
            }
        }
        for key in [keys::CSV_ARRAY_DELIMITER, keys::CSV_NULL_LITERAL] {
            if let Some(Value::Str(text)) = o.get(key)
                && text.contains(delim)
            {
                let message = if o.is_set(key) {
                    format!("`{key}` contains the field delimiter")
                } else {
                    format!("the default of `{key}` (`{text}`) contains the field delimiter")
                };
                diags.push(
                    Diag::error(value_span(o, key), message).label("ambiguous").help(format!("set `{key}` to a text without `{delim}`")),
                );
            }
        }
    }
}
