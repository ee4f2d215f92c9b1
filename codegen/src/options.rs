//! Per-option validation and resolution of a table's options into the typed
//! [`TableConfig`]. Cross-field rules live in [`crate::rules`].

use std::borrow::Cow;
use std::time::Duration;

use crate::catalog::{self, Connectors, DATAGEN, KINESIS, Kind, LEGACY, LOCAL, OptionDef, PRINT, Reader, keys};
use crate::diag::{Diag, Diags};
use crate::model::*;
use crate::value::{self, RawValue, Value};

/// One option as written in a spec or a derive attribute.
#[derive(Debug, Clone)]
pub struct OptionInput<S> {
    pub key: String,
    pub key_span: S,
    pub value: RawValue,
    pub value_span: S,
    /// The value was substituted from an `${ENV_VAR}` at startup.
    pub from_env: bool,
}

/// A recognised option with its checked value.
#[derive(Debug)]
pub struct Entry<'a, S> {
    pub input: &'a OptionInput<S>,
    /// The key with nested-provider prefixes removed.
    pub base: String,
    /// Credential-provider nesting depth (0 for every other option).
    pub depth: usize,
    pub def: &'static OptionDef,
    /// `None` when the value is an `${ENV}` reference or failed its check.
    pub value: Option<Value>,
    pub env: Option<String>,
}

/// The options of one table, after per-key checks.
pub struct Opts<'a, S> {
    pub connector: Option<Connectors>,
    /// Every key as written, valid or not (so a bad value is not also reported as missing).
    pub written: Vec<String>,
    pub entries: Vec<Entry<'a, S>>,
    pub whole: S,
    pub partitioned_by: Option<S>,
}

impl<'a, S: Clone> Opts<'a, S> {
    pub fn entry(&self, key: &str) -> Option<&Entry<'a, S>> {
        self.entry_at(key, 0)
    }
    pub fn entry_at(&self, key: &str, depth: usize) -> Option<&Entry<'a, S>> {
        self.entries.iter().find(|e| e.base == key && e.depth == depth)
    }
    /// The checked value of a key, if it is set literally and valid.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.entry(key).and_then(|e| e.value.as_ref())
    }
    pub fn is_set(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }
    /// Whether the key was written, even with a value that failed its check.
    pub fn is_written(&self, key: &str) -> bool {
        self.written.iter().any(|k| k == key)
    }
    /// The value, or the catalogue default when the key is unset.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.get_at(key, 0)
    }
    pub fn get_at(&self, key: &str, depth: usize) -> Option<Value> {
        match self.entry_at(key, depth) {
            Some(e) => e.value.clone(),
            None => default_of(key),
        }
    }
    pub fn str_or(&self, key: &str, fallback: &str) -> String {
        match self.get(key) {
            Some(Value::Str(s)) => s,
            _ => fallback.to_string(),
        }
    }
    pub fn int(&self, key: &str) -> i64 {
        match self.get(key) {
            Some(Value::Int(i)) => i,
            _ => default_of(key).and_then(|v| if let Value::Int(i) = v { Some(i) } else { None }).unwrap_or(1),
        }
    }
    pub fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true)))
    }
    pub fn millis(&self, key: &str) -> u64 {
        match self.get(key) {
            Some(Value::Millis(m)) => m,
            Some(Value::Int(i)) => i.max(0) as u64,
            _ => match default_of(key) {
                Some(Value::Millis(m)) => m,
                Some(Value::Int(i)) => i.max(0) as u64,
                _ => 1,
            },
        }
    }
    pub fn double(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Value::Double(d)) => d,
            _ => 1.5,
        }
    }
    pub fn is_legacy(&self) -> bool {
        self.connector == Some(LEGACY)
    }
    /// Whether the table runs without AWS (`datagen`, `print`, `blackhole`).
    pub fn is_local(&self) -> bool {
        self.connector.is_some_and(|c| c & LOCAL != 0)
    }
    /// Picks the `kinesis` or `kinesis-legacy` spelling of a key.
    pub fn pick<'k>(&self, kinesis: &'k str, legacy: &'k str) -> &'k str {
        if self.is_legacy() { legacy } else { kinesis }
    }
    /// Whether a value depends on the environment (so rules cannot judge it now).
    pub fn is_env(&self, key: &str) -> bool {
        self.entry(key).is_some_and(|e| e.env.is_some())
    }
}

/// The catalogue default of a key, checked.
pub fn default_of(key: &str) -> Option<Value> {
    let def = catalog::find(key)?;
    let d = def.default?;
    value::check(&def.kind, &RawValue::Str(d.to_string())).ok()
}

/// What resolution produces for code generation.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: TableConfig,
    /// `(key, value as written)` for every option, `${ENV}` references included,
    /// so the runtime can re-resolve when any value comes from the environment.
    pub raw: Vec<(String, String)>,
    /// `(key, variable)` for every `${ENV}` value.
    pub env_refs: Vec<(String, String)>,
}

/// Validates a table's options and resolves them. Every problem goes to `diags`.
pub fn resolve<S: Clone>(inputs: &[OptionInput<S>], whole: &S, partitioned_by: Option<S>, diags: &mut Diags<S>) -> Option<Resolved> {
    let connector = find_connector(inputs, whole, diags);
    let format = inputs.iter().find(|o| o.key == keys::FORMAT).and_then(|o| o.value.text());
    let reader_key = match connector {
        Some(LEGACY) => keys::L_PUBLISHER,
        _ => keys::SRC_READER_TYPE,
    };
    let reader = inputs.iter().find(|o| o.key == reader_key).and_then(|o| o.value.text());
    let reader = match reader.as_deref() {
        Some("EFO") => Some(Reader::Efo),
        Some("POLLING") | None => Some(Reader::Polling),
        _ => None,
    };

    let mut entries = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for input in inputs {
        if seen.contains(&input.key.as_str()) {
            diags.push(Diag::error(input.key_span.clone(), format!("option `{}` is given twice", input.key)).label("duplicate option"));
            continue;
        }
        seen.push(&input.key);
        if let Some(e) = check_entry(input, connector, format.as_deref(), reader, diags) {
            entries.push(e);
        }
    }
    let written = inputs.iter().map(|i| i.key.clone()).collect();
    let opts = Opts { connector, written, entries, whole: whole.clone(), partitioned_by };
    connector?;
    crate::rules::check(&opts, diags);
    if diags.has_errors() {
        return None;
    }
    let config = build(&opts);
    let raw = inputs.iter().map(|i| (i.key.clone(), i.value.text().unwrap_or_default())).collect();
    let env_refs = opts.entries.iter().filter_map(|e| e.env.clone().map(|v| (e.input.key.clone(), v))).collect();
    Some(Resolved { config, raw, env_refs })
}

/// The checked datagen options of one column, `fields.<column>.*`.
pub fn datagen_entries<'e, 'a, S>(opts: &'e [Entry<'a, S>], column: &str) -> impl Iterator<Item = &'e Entry<'a, S>> {
    opts.iter().filter(move |e| catalog::datagen_field_key(&e.input.key).is_some_and(|(_, c)| c == column))
}

fn find_connector<S: Clone>(inputs: &[OptionInput<S>], whole: &S, diags: &mut Diags<S>) -> Option<Connectors> {
    let Some(input) = inputs.iter().find(|o| o.key == keys::CONNECTOR) else {
        diags.push(
            Diag::error(whole.clone(), "missing required option `connector`")
                .label("this table has no `connector`")
                .help("add `connector: kinesis` (or `kinesis-legacy`)"),
        );
        return None;
    };
    let text = input.value.text().unwrap_or_default();
    for (bit, name) in catalog::CONNECTOR_NAMES {
        if *name == text {
            return Some(*bit);
        }
    }
    let names = catalog::CONNECTOR_NAMES.iter().map(|(_, n)| *n);
    let d = Diag::error(input.value_span.clone(), format!("unknown connector `{text}`"))
        .label("not a connector")
        .note("kinesis-tables supports `kinesis` and `kinesis-legacy` (streams), and `datagen`, `print` and `blackhole` (no AWS)");
    diags.push(match crate::suggest::closest(&text, names) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d,
    });
    None
}

fn connector_name(c: Connectors) -> &'static str {
    catalog::connector_name(c)
}

fn check_entry<'a, S: Clone>(
    input: &'a OptionInput<S>,
    connector: Option<Connectors>,
    format: Option<&str>,
    reader: Option<Reader>,
    diags: &mut Diags<S>,
) -> Option<Entry<'a, S>> {
    let key = input.key.as_str();
    let conn = connector.unwrap_or(catalog::BOTH);
    if let Some(suffix) = key.strip_prefix(keys::SINK_PRODUCER_PREFIX) {
        let d = Diag::error(input.key_span.clone(), format!("`{key}` is a deprecated KPL producer option and is not supported"))
            .label("deprecated option")
            .note("the KPL-era `sink.producer.*` options were replaced by the `sink.*` options");
        diags.push(match catalog::producer_replacement(suffix) {
            Some(r) => d.help(format!("use `{r}` instead")),
            None => d.help("remove it; run `kinesis-tables options` for the sink options"),
        });
        return None;
    }
    let (base, depth) = match catalog::datagen_field_key(key) {
        Some((template, _)) => (template, 0),
        None => catalog::normalize_key(key),
    };
    let def = catalog::find(&base).filter(|d| depth == 0 || (d.section == catalog::Section::Auth && base != keys::CRED_PROVIDER));
    let Some(def) = def else {
        unknown_key(input, conn, diags);
        return None;
    };
    if depth > 4 {
        diags.push(Diag::error(input.key_span.clone(), "credential providers nest at most 4 deep").label("nested too deep"));
        return None;
    }
    if !def.applies_to(conn) && (conn & LOCAL != 0 || def.connectors & catalog::BOTH == 0) {
        let owners: Vec<String> =
            catalog::CONNECTOR_NAMES.iter().filter(|(b, _)| def.connectors & b != 0).map(|(_, n)| format!("`{n}`")).collect();
        let what = match conn {
            DATAGEN => "datagen generates typed rows itself: it has no stream, no AWS settings and no format",
            PRINT => "print writes rows to the terminal: it has no stream and no AWS settings",
            catalog::BLACKHOLE => "blackhole discards rows: it takes no options",
            _ => "this option belongs to a connector that runs without AWS",
        };
        diags.push(
            Diag::error(input.key_span.clone(), format!("`{key}` is not an option of `connector: {}`", connector_name(conn)))
                .label(format!("an option of {}", owners.join(", ")))
                .note(what)
                .help("remove it; run `kinesis-tables options` to list each connector's options"),
        );
        return None;
    }
    if !def.applies_to(conn) {
        let other = if conn == KINESIS { "kinesis-legacy" } else { "kinesis" };
        let d = Diag::error(
            input.key_span.clone(),
            format!("`{key}` is a `{other}` option, but this table uses `connector: {}`", connector_name(conn)),
        )
        .label(format!("belongs to `{other}`"));
        diags.push(match def.equivalent {
            Some(eq) => d.help(format!("with `{}` write `{eq}`", connector_name(conn))),
            None => d.help(format!("`{}` has no equivalent; remove it", connector_name(conn))),
        });
        return None;
    }
    if let Some(reason) = def.rejected {
        diags.push(
            Diag::error(input.key_span.clone(), format!("`{key}` is not supported: {reason}"))
                .label("cannot take effect")
                .help("remove it"),
        );
        return None;
    }
    if let (Some(fmt), Some(own)) = (format, def.section.format())
        && fmt != own
        && catalog::FORMATS.contains(&fmt)
    {
        diags.push(
            Diag::error(input.key_span.clone(), format!("`{key}` is a `{own}` format option, but this table's format is `{fmt}`"))
                .label(format!("only applies to format `{own}`"))
                .help("remove it, or change `format`"),
        );
        return None;
    }
    if let Some(r) = reader {
        let (need, have) = match (def.reader, r) {
            (Reader::Efo, Reader::Polling) => ("EFO", "POLLING"),
            (Reader::Polling, Reader::Efo) => ("POLLING", "EFO"),
            _ => ("", ""),
        };
        if !need.is_empty() {
            let reader_key = if conn == LEGACY { keys::L_PUBLISHER } else { keys::SRC_READER_TYPE };
            diags.push(
                Diag::error(input.key_span.clone(), format!("`{key}` only applies to the {need} reader, but this table reads with {have}"))
                    .label(format!("{need}-only option"))
                    .help(format!("remove it, or set `{reader_key}: {need}`")),
            );
            return None;
        }
    }
    // The value.
    if conn & LOCAL != 0 && input.value.env_ref().is_some() {
        diags.push(
            Diag::error(input.value_span.clone(), format!("`connector: {}` takes its options from the spec only", connector_name(conn)))
                .label("environment reference")
                .help("write the value itself"),
        );
        return None;
    }
    match input.value.env_ref() {
        Some(Ok(var)) => {
            return Some(Entry { input, base, depth, def, value: None, env: Some(var.to_string()) });
        }
        Some(Err(msg)) => {
            diags.push(Diag::error(input.value_span.clone(), msg).label("bad environment reference"));
            return None;
        }
        None => {}
    }
    if def.secret && !input.from_env {
        diags.push(
            Diag::error(input.value_span.clone(), format!("`{key}` is a secret and must not be written in the spec"))
                .label("literal secret")
                .note("a literal would be compiled into the binary, where anyone with `strings` can read it")
                .help("write an environment reference such as `${AWS_SECRET_ACCESS_KEY}`; it is read when the program starts"),
        );
        return None;
    }
    if !input.from_env
        && let Some(t) = input.value.text()
        && looks_like_access_key(&t)
    {
        diags.push(
            Diag::error(input.value_span.clone(), "this value looks like an AWS access key ID")
                .label("credential in the spec")
                .help("give credentials through the AWS provider chain or `${ENV_VAR}` references"),
        );
        return None;
    }
    match value::check(&def.kind, &input.value) {
        Ok(v) => Some(Entry { input, base, depth, def, value: Some(v), env: None }),
        Err(e) => {
            diags.push(
                Diag::error(input.value_span.clone(), format!("invalid value for `{key}`: {}", e.message))
                    .label(kind_label(&def.kind))
                    .help_opt(e.help),
            );
            None
        }
    }
}

fn looks_like_access_key(t: &str) -> bool {
    t.len() == 20 && (t.starts_with("AKIA") || t.starts_with("ASIA")) && t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn kind_label(kind: &Kind) -> String {
    match kind {
        Kind::Int { .. } => "expected an integer".into(),
        Kind::Long { .. } => "expected an integer".into(),
        Kind::Bool => "expected a boolean".into(),
        Kind::Double { .. } => "expected a number".into(),
        Kind::Duration { .. } => "expected a duration".into(),
        Kind::Enum(_) => "not an allowed value".into(),
        _ => "invalid value".into(),
    }
}

fn unknown_key<S: Clone>(input: &OptionInput<S>, conn: Connectors, diags: &mut Diags<S>) {
    let key = input.key.as_str();
    let candidates = catalog::OPTIONS.iter().filter(|o| o.applies_to(conn) && o.rejected.is_none()).map(|o| o.key);
    let d = Diag::error(input.key_span.clone(), format!("unknown option `{key}`")).label("unknown option");
    let d = match crate::suggest::closest(key, candidates) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => {
            // Perhaps an option of the other connector, misspelt.
            let any = catalog::OPTIONS.iter().map(|o| o.key);
            match crate::suggest::closest(key, any) {
                Some(s) => d.help(format!("`{s}` is the closest option, but it does not apply to `connector: {}`", connector_name(conn))),
                None => d.help("run `kinesis-tables options` to list every option"),
            }
        }
    };
    diags.push(d);
}

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
        DATAGEN => Some(LocalConfig::Datagen(DatagenConfig {
            rows_per_second: o.int(keys::DG_ROWS_PER_SECOND) as u64,
            number_of_rows: match o.value(keys::DG_NUMBER_OF_ROWS) {
                Some(Value::Int(n)) => Some(*n as u64),
                _ => None,
            },
            fields: Cow::Owned(Vec::new()),
        })),
        PRINT => Some(LocalConfig::Print(PrintConfig {
            identifier: match o.value(keys::PRINT_IDENTIFIER) {
                Some(Value::Str(v)) => Some(s(v.clone())),
                _ => None,
            },
            standard_error: o.bool(keys::PRINT_STDERR),
        })),
        _ => None,
    }
}

fn build<S: Clone>(o: &Opts<'_, S>) -> TableConfig {
    let legacy = o.is_legacy();
    let stream = if legacy {
        StreamRef::Name(s(o.str_or(keys::STREAM, "")))
    } else {
        let arn = o.str_or(keys::STREAM_ARN, "");
        match value::parse_stream_arn(&arn) {
            Ok(p) => StreamRef::Arn { arn: s(arn), region: s(p.region), account: s(p.account), name: s(p.name) },
            Err(_) => StreamRef::Arn { arn: s(arn), region: s(String::new()), account: s(String::new()), name: s(String::new()) },
        }
    };
    let opt_str = |key: &str| match o.value(key) {
        Some(Value::Str(v)) => Some(s(v.clone())),
        _ => None,
    };
    let aws = AwsConfig {
        region: opt_str(keys::AWS_REGION),
        endpoint: opt_str(keys::AWS_ENDPOINT),
        trust_all_certificates: o.bool(keys::AWS_TRUST_ALL),
        credentials: credentials(o, 0),
    };
    let start = match o.str_or(o.pick(keys::SRC_INIT_POSITION, keys::L_INITPOS), "LATEST").as_str() {
        "TRIM_HORIZON" => StartPosition::TrimHorizon,
        "AT_TIMESTAMP" => {
            let ts = o.str_or(o.pick(keys::SRC_INIT_TIMESTAMP, keys::L_INITPOS_TS), "0");
            let pattern = o.str_or(o.pick(keys::SRC_INIT_TIMESTAMP_FORMAT, keys::L_INITPOS_TS_FORMAT), "");
            StartPosition::AtTimestamp { epoch_millis: value::parse_start_timestamp(&ts, &pattern).unwrap_or(0) }
        }
        _ => StartPosition::Latest,
    };
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
    let efo = if legacy {
        EfoConfig {
            consumer_name: opt_str(keys::L_EFO_CONSUMER),
            consumer_arn: opt_str(keys::L_EFO_CONSUMER_ARN),
            lifecycle: if o.str_or(keys::L_EFO_REGISTRATION, "LAZY") == "NONE" {
                EfoLifecycle::SelfManaged
            } else {
                EfoLifecycle::JobManaged
            },
            subscription_timeout: Duration::from_secs(60),
            register_timeout: Duration::from_secs(o.int(keys::L_REGISTER_TIMEOUT) as u64),
            deregister_timeout: Duration::from_secs(o.int(keys::L_DEREGISTER_TIMEOUT) as u64),
            describe_retry: backoff(o, "scan.stream.describestreamconsumer"),
            register_retry: backoff(o, "scan.stream.registerstreamconsumer"),
            deregister_retry: backoff(o, "scan.stream.deregisterstreamconsumer"),
            subscribe_retry: backoff(o, "scan.shard.subscribetoshard"),
            http_max_concurrency: o.int(keys::L_EFO_CONCURRENCY) as u32,
        }
    } else {
        let describe = Backoff {
            max_retries: (o.int(keys::SRC_EFO_DESCRIBE_ATTEMPTS) as u32).saturating_sub(1),
            base: Duration::from_millis(o.millis(keys::SRC_EFO_DESCRIBE_MIN)),
            max: Duration::from_millis(o.millis(keys::SRC_EFO_DESCRIBE_MAX)),
            exponent: 2.0,
        };
        EfoConfig {
            consumer_name: opt_str(keys::SRC_EFO_CONSUMER),
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
    };
    let discovery = if legacy { o.millis(keys::L_DISCOVERY_INTERVAL) } else { o.millis(keys::SRC_DISCOVERY_INTERVAL) };
    let source = SourceConfig {
        start,
        shard_discovery_interval: Duration::from_millis(discovery),
        reader,
        polling,
        efo,
        list_shards_retry: backoff(o, "scan.list.shards"),
        describe_stream_retry: backoff(o, "scan.stream.describe"),
    };
    let partitioner = if o.partitioned_by.is_some() {
        Partitioner::Fields { delimiter: s(o.str_or(keys::SINK_DELIMITER, "|")) }
    } else {
        match o.str_or(keys::SINK_PARTITIONER, "random").as_str() {
            "random" => Partitioner::Random,
            "fixed" => Partitioner::Fixed,
            path => Partitioner::Custom { type_path: s(path.to_string()) },
        }
    };
    let sink = SinkConfig {
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
    };
    let format = match o.str_or(keys::FORMAT, "json").as_str() {
        "csv" => {
            let ch = |key: &str| match o.get(key) {
                Some(Value::Char(c)) => Some(c),
                _ => None,
            };
            FormatConfig::Csv(CsvOptions {
                field_delimiter: ch(keys::CSV_FIELD_DELIMITER).unwrap_or(','),
                quote_character: if o.bool(keys::CSV_DISABLE_QUOTE) { None } else { Some(ch(keys::CSV_QUOTE).unwrap_or('"')) },
                allow_comments: o.bool(keys::CSV_ALLOW_COMMENTS),
                ignore_parse_errors: o.bool(keys::CSV_IGNORE_PARSE_ERRORS),
                array_element_delimiter: s(o.str_or(keys::CSV_ARRAY_DELIMITER, ";")),
                escape_character: ch(keys::CSV_ESCAPE),
                null_literal: opt_str(keys::CSV_NULL_LITERAL),
                decimal_scientific: o.bool(keys::CSV_DECIMAL_SCIENTIFIC),
            })
        }
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
    };
    let connector = match o.connector {
        Some(LEGACY) => ConnectorKind::KinesisLegacy,
        Some(DATAGEN) => ConnectorKind::Datagen,
        Some(PRINT) => ConnectorKind::Print,
        Some(catalog::BLACKHOLE) => ConnectorKind::Blackhole,
        _ => ConnectorKind::Kinesis,
    };
    TableConfig { connector, local: local(o), stream, aws, source, sink, format }
}

/// Resolves a table's options at startup, after substituting `${ENV}`
/// references from `lookup`. Runs exactly the rules the compiler ran.
pub fn resolve_at_startup(
    raw: &[(&str, &str)],
    partitioned: bool,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<TableConfig, Vec<String>> {
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for (key, text) in raw {
        let value = RawValue::Str(text.to_string());
        match value.env_ref() {
            Some(Ok(var)) => match lookup(var) {
                Some(v) => {
                    inputs.push(OptionInput { key: key.to_string(), key_span: (), value: RawValue::Str(v), value_span: (), from_env: true })
                }
                None => errors.push(format!("option `{key}` reads environment variable `{var}`, which is not set")),
            },
            _ => inputs.push(OptionInput { key: key.to_string(), key_span: (), value, value_span: (), from_env: false }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut diags = Diags::default();
    let resolved = resolve(&inputs, &(), partitioned.then_some(()), &mut diags);
    let errs: Vec<String> = diags.items.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    match resolved {
        Some(r) if errs.is_empty() => Ok(r.config),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid() {
        for o in catalog::OPTIONS {
            if let Some(d) = o.default {
                assert!(value::check(&o.kind, &RawValue::Str(d.into())).is_ok(), "default of {} does not parse: {d}", o.key);
            }
        }
    }

    #[test]
    fn equivalents_point_both_ways() {
        for o in catalog::OPTIONS {
            if let Some(eq) = o.equivalent {
                let other = catalog::find(eq).unwrap_or_else(|| panic!("{} names missing {eq}", o.key));
                assert_eq!(other.equivalent, Some(o.key), "{eq} does not point back to {}", o.key);
                assert_eq!(o.connectors & other.connectors, 0);
            }
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> Result<TableConfig, Vec<String>> {
        resolve_at_startup(pairs, false, |v| (v == "SECRET").then(|| "s3cr3t".to_string()))
    }

    #[test]
    fn resolves_env_at_startup() {
        let cfg = opts(&[
            ("connector", "kinesis"),
            ("stream.arn", "arn:aws:kinesis:us-east-1:012345678901:stream/s"),
            ("aws.region", "us-east-1"),
            ("format", "json"),
            ("aws.credentials.provider", "BASIC"),
            ("aws.credentials.basic.accesskeyid", "${SECRET}"),
            ("aws.credentials.basic.secretkey", "${SECRET}"),
        ])
        .unwrap();
        assert!(matches!(cfg.aws.credentials, Credentials::Basic { ref secret_key, .. } if secret_key.0 == "s3cr3t"));
        let err = opts(&[("connector", "kinesis"), ("aws.credentials.basic.secretkey", "${MISSING}")]).unwrap_err();
        assert!(err[0].contains("MISSING"), "{err:?}");
    }
}
