//! A pipeline's checkpoint store (`checkpoints:` in a pipeline's spec): the
//! local file store (the default, one instance) or a KCL-compatible lease
//! table in DynamoDB shared by every instance of the pipeline.
//!
//! The compiler checks the `checkpoints:` block and generated code holds the
//! result; values given as `${ENV_VAR}` are resolved at startup.

use std::time::Duration;

use crate::catalog::Kind;
use crate::diag::{Diag, Diags};
use crate::model::Str;
use crate::opts::OptionInput;
use crate::suggest;
use crate::value::{self, RawValue, Value, ValueError};

/// Where a pipeline keeps its positions.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CheckpointStoreConfig {
    /// One file per pipeline in `--checkpoint-dir`, locked by one process.
    #[default]
    File,
    /// A lease table in DynamoDB, in the KCL 2.x format.
    DynamoDb(LeaseTableConfig),
}

/// The lease table and the lease protocol's timings. Defaults are the KCL's.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseTableConfig {
    /// The DynamoDB table (the KCL's application name).
    pub table: Str,
    /// A lease whose counter has not moved for this long is expired
    /// (KCL `failoverTimeMillis`, default 10 s).
    pub failover: Duration,
    /// How often a worker renews its leases (default: failover / 3 − 25 ms,
    /// as the KCL derives it).
    pub renew_interval: Duration,
    /// How often a worker scans the table and takes leases (default:
    /// (failover + 25 ms) × 2, as the KCL derives it).
    pub take_interval: Duration,
    /// The most leases a worker steals from another per take (KCL
    /// `maxLeasesToStealAtOneTime`, default 1).
    pub max_leases_to_steal: u32,
    /// The most leases one worker holds (KCL `maxLeasesForWorker`; `None`: no limit).
    pub max_leases_per_worker: Option<u32>,
    /// Create the table (PAY_PER_REQUEST) when it does not exist (default true).
    pub create_table: bool,
    /// The longest time between checkpoint writes to the lease table
    /// (`None`: the pipeline's `--commit-interval`).
    pub commit_interval: Option<Duration>,
    /// The DynamoDB region (`None`: the AWS environment's).
    pub region: Option<Str>,
    /// The DynamoDB endpoint (`None`: the region's).
    pub endpoint: Option<Str>,
    /// This worker's id in `leaseOwner` (`None`: host name, process id and a
    /// random suffix, made at startup).
    pub worker_id: Option<Str>,
}

impl LeaseTableConfig {
    /// The KCL's default failover time.
    pub const DEFAULT_FAILOVER: Duration = Duration::from_secs(10);
    /// The KCL's `epsilonMillis`.
    pub const EPSILON: Duration = Duration::from_millis(25);

    /// A table with the KCL's default timings.
    pub fn with_defaults(table: impl Into<Str>) -> Self {
        Self::with_failover(table, Self::DEFAULT_FAILOVER)
    }

    /// A table with the renew and take intervals the KCL derives from `failover`.
    pub fn with_failover(table: impl Into<Str>, failover: Duration) -> Self {
        // In whole milliseconds, as the KCL computes them.
        let failover_ms = failover.as_millis() as u64;
        let epsilon_ms = Self::EPSILON.as_millis() as u64;
        LeaseTableConfig {
            table: table.into(),
            failover,
            renew_interval: Duration::from_millis((failover_ms / 3).saturating_sub(epsilon_ms)),
            take_interval: Duration::from_millis((failover_ms + epsilon_ms) * 2),
            max_leases_to_steal: 1,
            max_leases_per_worker: None,
            create_table: true,
            commit_interval: None,
            region: None,
            endpoint: None,
            worker_id: None,
        }
    }
}

/// The keys of a `checkpoints:` block, as a spec writes them.
pub const KEYS: &[&str] = &[
    "store",
    "table",
    "failover",
    "renew-interval",
    "take-interval",
    "max-leases-to-steal",
    "max-leases-per-worker",
    "create-table",
    "commit-interval",
    "region",
    "endpoint",
    "worker-id",
];

/// The keys whose value may be `${ENV_VAR}`, read at startup: names and
/// addresses that differ between deployments. Timings and limits are
/// literals, so that the compiler checks them against each other.
pub const ENV_KEYS: &[&str] = &["table", "region", "endpoint", "worker-id"];

/// The shortest failover time: a renewal is a DynamoDB round trip, and the
/// renew interval is a third of the failover time.
pub const MIN_FAILOVER: Duration = Duration::from_secs(1);

/// The longest duration any `checkpoints:` timing may have (one day).
const MAX_DURATION_MS: u64 = 86_400_000;

/// Checks a `checkpoints:` block (`whole`: where to point errors about the
/// block as a whole) and resolves it; every problem goes to `diags`, all at
/// once. `None` when there is an error. Values given as `${ENV_VAR}` are not
/// known yet: the table keeps the reference as its text and
/// [`resolve_at_startup`] checks the value by the same rules.
pub fn resolve<S: Clone>(inputs: &[OptionInput<S>], whole: &S, diags: &mut Diags<S>) -> Option<CheckpointStoreConfig> {
    let before = diags.error_count();
    let mut store: Option<(&str, &OptionInput<S>)> = None;
    for i in inputs {
        if !KEYS.contains(&i.key.as_str()) {
            let d = Diag::error(i.key_span.clone(), format!("unknown checkpoints key `{}`", i.key)).label("unknown key");
            diags.push(match suggest::closest(&i.key, KEYS.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("expected one of: {}", KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))),
            });
        } else if i.key == "store" {
            match value::check(&Kind::Enum(&["file", "dynamodb"]), &i.value) {
                Ok(v) if v.as_str() == "file" => store = Some(("file", i)),
                Ok(_) => store = Some(("dynamodb", i)),
                Err(e) => push(diags, i.value_span.clone(), "store", e, "not a checkpoint store"),
            }
        }
    }
    let lease = matches!(store, Some(("dynamodb", _)));
    if !lease {
        file_store_keys(inputs, store.is_some(), diags);
        return (diags.error_count() == before).then_some(CheckpointStoreConfig::File);
    }
    let config = lease_table(inputs, whole, diags);
    (diags.error_count() == before).then_some(CheckpointStoreConfig::DynamoDb(config?))
}

/// With `store: file` (or no `store`), every other key is an error: it would have no effect.
fn file_store_keys<S: Clone>(inputs: &[OptionInput<S>], store_written: bool, diags: &mut Diags<S>) {
    for i in inputs.iter().filter(|i| i.key != "store" && KEYS.contains(&i.key.as_str())) {
        let why = if store_written { "with `store: file`" } else { "without `store: dynamodb` (the default store is `file`)" };
        diags.push(
            Diag::error(i.key_span.clone(), format!("`{}` has no effect {why}", i.key))
                .label("no effect")
                .help("set `store: dynamodb` to use a lease table, or remove the key"),
        );
    }
}

fn push<S>(diags: &mut Diags<S>, span: S, key: &str, e: ValueError, label: &str) {
    diags.push(Diag::error(span, format!("checkpoints `{key}`: {}", e.message)).label(label.to_string()).help_opt(e.help));
}

/// One checked value of a lease table's key.
enum Checked {
    Text(Str),
    Millis(u64),
    Int(u32),
    Bool(bool),
}

/// Checks one key's value; `None` when it is refused (reported).
fn value_of<S: Clone>(i: &OptionInput<S>, diags: &mut Diags<S>) -> Option<Checked> {
    let key = i.key.as_str();
    if !i.from_env {
        match i.value.env_ref() {
            Some(Err(msg)) => {
                diags.push(Diag::error(i.value_span.clone(), format!("checkpoints `{key}`: {msg}")).label("bad `${ENV}` reference"));
                return None;
            }
            Some(Ok(_)) if ENV_KEYS.contains(&key) => return i.value.text().map(|t| Checked::Text(t.into())),
            Some(Ok(var)) => {
                diags.push(
                    Diag::error(i.value_span.clone(), format!("checkpoints `{key}` cannot be read from the environment (`${{{var}}}`)"))
                        .label("not from the environment")
                        .help(format!(
                            "write the value itself: the compiler checks the timings and limits against each other; \
                             `${{ENV}}` is allowed for {}",
                            ENV_KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                        )),
                );
                return None;
            }
            None => {}
        }
    }
    let duration = Kind::Duration { min_ms: 1, max_ms: MAX_DURATION_MS };
    let checked = match key {
        "table" => check_table_name(&i.value).map(|t| Checked::Text(t.into())),
        "failover" | "renew-interval" | "take-interval" | "commit-interval" => value::check(&duration, &i.value).map(|v| match v {
            Value::Millis(ms) => Checked::Millis(ms),
            _ => Checked::Millis(0),
        }),
        "max-leases-to-steal" | "max-leases-per-worker" => {
            let min = if key == "max-leases-per-worker" { 1 } else { 0 };
            value::check(&Kind::Int { min, max: 100_000 }, &i.value).map(|v| match v {
                Value::Int(n) => Checked::Int(u32::try_from(n).unwrap_or(0)),
                _ => Checked::Int(0),
            })
        }
        "create-table" => value::check(&Kind::Bool, &i.value).map(|v| Checked::Bool(v == Value::Bool(true))),
        "region" => value::check(&Kind::Region, &i.value).map(|v| Checked::Text(v.as_str().to_owned().into())),
        "endpoint" => value::check(&Kind::Endpoint, &i.value).map(|v| Checked::Text(v.as_str().to_owned().into())),
        "worker-id" => check_worker_id(&i.value).map(|t| Checked::Text(t.into())),
        _ => return None,
    };
    match checked {
        Ok(c) => Some(c),
        Err(e) => {
            push(diags, i.value_span.clone(), key, e, "invalid value");
            None
        }
    }
}

/// A name DynamoDB accepts for a table: 3 to 255 characters of `a-z`, `A-Z`, `0-9`, `_`, `-` and `.`.
pub fn check_table_name(raw: &RawValue) -> Result<String, ValueError> {
    let text = raw.text().unwrap_or_default();
    let bad = text.chars().find(|c| !(c.is_ascii_alphanumeric() || "_-.".contains(*c)));
    let help = "DynamoDB table names are 3 to 255 characters of letters, digits, `_`, `-` and `.`";
    if let Some(c) = bad {
        return Err(ValueError {
            message: format!("`{text}` is not a DynamoDB table name: `{}` is not allowed", c.escape_debug()),
            help: Some(help.into()),
        });
    }
    if !(3..=255).contains(&text.len()) {
        return Err(ValueError {
            message: format!("`{text}` is not a DynamoDB table name: it has {} characters", text.len()),
            help: Some(help.into()),
        });
    }
    Ok(text)
}

/// A worker id (`leaseOwner`): 1 to 256 printable characters.
fn check_worker_id(raw: &RawValue) -> Result<String, ValueError> {
    let text = raw.text().unwrap_or_default();
    if text.is_empty() || text.len() > 256 || text.chars().any(char::is_control) {
        return Err(ValueError {
            message: format!("`{}` is not a worker id", text.escape_debug()),
            help: Some("a worker id is 1 to 256 printable characters, unique among the pipeline's instances".into()),
        });
    }
    Ok(text)
}

/// Reads the keys of `store: dynamodb` into a table configuration and checks the timings against each other.
fn lease_table<S: Clone>(inputs: &[OptionInput<S>], whole: &S, diags: &mut Diags<S>) -> Option<LeaseTableConfig> {
    let mut values: Vec<(&OptionInput<S>, Checked)> = Vec::new();
    let mut table_written = false;
    for i in inputs.iter().filter(|i| i.key != "store" && KEYS.contains(&i.key.as_str())) {
        table_written |= i.key == "table";
        if let Some(v) = value_of(i, diags) {
            values.push((i, v));
        }
    }
    if !table_written {
        diags.push(
            Diag::error(whole.clone(), "`store: dynamodb` needs a `table`")
                .label("no lease table")
                .help("add `table: <name>`: the lease table (the KCL's application name), shared by every instance of the pipeline"),
        );
    }
    let find = |key: &str| values.iter().find(|(i, _)| i.key == key);
    let millis = |key: &str| match find(key) {
        Some((i, Checked::Millis(ms))) => Some((Duration::from_millis(*ms), i.key_span.clone())),
        _ => None,
    };
    let failover = millis("failover");
    let mut c = LeaseTableConfig::with_failover("", failover.as_ref().map_or(LeaseTableConfig::DEFAULT_FAILOVER, |f| f.0));
    let renew = millis("renew-interval");
    let take = millis("take-interval");
    c.renew_interval = renew.as_ref().map_or(c.renew_interval, |r| r.0);
    c.take_interval = take.as_ref().map_or(c.take_interval, |t| t.0);
    c.commit_interval = millis("commit-interval").map(|d| d.0);
    for (i, v) in &values {
        match (i.key.as_str(), v) {
            ("table", Checked::Text(t)) => c.table = t.clone(),
            ("region", Checked::Text(t)) => c.region = Some(t.clone()),
            ("endpoint", Checked::Text(t)) => c.endpoint = Some(t.clone()),
            ("worker-id", Checked::Text(t)) => c.worker_id = Some(t.clone()),
            ("max-leases-to-steal", Checked::Int(n)) => c.max_leases_to_steal = *n,
            ("max-leases-per-worker", Checked::Int(n)) => c.max_leases_per_worker = Some(*n),
            ("create-table", Checked::Bool(b)) => c.create_table = *b,
            _ => {}
        }
    }
    timings(&c, failover.map(|f| f.1), renew.map(|r| r.1), take.map(|t| t.1), whole, diags);
    Some(c)
}

/// The lease protocol's timings fit together: a lease is renewed at least
/// three times within the failover time, and others look for expired leases
/// no more often than it is renewed.
fn timings<S: Clone>(c: &LeaseTableConfig, failover: Option<S>, renew: Option<S>, take: Option<S>, whole: &S, diags: &mut Diags<S>) {
    let show = |d: Duration| value::show_ms(d.as_millis() as u64);
    if c.failover < MIN_FAILOVER {
        diags.push(
            Diag::error(failover.clone().unwrap_or_else(|| whole.clone()), format!("a failover time of {} is too short", show(c.failover)))
                .label("too short")
                .help(format!(
                    "use at least {}: a renewal is a DynamoDB round trip, renewed every third of the failover time",
                    show(MIN_FAILOVER)
                )),
        );
        return;
    }
    let at = renew.clone().or_else(|| failover.clone()).unwrap_or_else(|| whole.clone());
    if c.renew_interval >= c.failover {
        diags.push(
            Diag::error(
                at,
                format!("the renew interval ({}) is not shorter than the failover time ({})", show(c.renew_interval), show(c.failover)),
            )
            .label("leases would expire between renewals")
            .help("renew at most every third of the failover time (the default is failover / 3 - 25 ms)"),
        );
    } else if c.failover < c.renew_interval * 3 {
        diags.push(
            Diag::error(
                failover.clone().or(renew).unwrap_or_else(|| whole.clone()),
                format!("the failover time ({}) is shorter than three renew intervals (3 × {})", show(c.failover), show(c.renew_interval)),
            )
            .label("one slow renewal would lose the lease")
            .help(format!("use a failover time of at least {}, or a shorter `renew-interval`", show(c.renew_interval * 3))),
        );
    }
    if c.take_interval < c.renew_interval {
        diags.push(
            Diag::error(
                take.unwrap_or_else(|| whole.clone()),
                format!("the take interval ({}) is shorter than the renew interval ({})", show(c.take_interval), show(c.renew_interval)),
            )
            .label("scans more often than leases are renewed")
            .help("each take scans the whole table: take at most as often as leases are renewed (the default is 2 × (failover + 25 ms))"),
        );
    }
}

/// Resolves a pipeline's `checkpoints:` block at startup, after substituting
/// `${ENV_VAR}` values from `lookup`: `raw` is the block as the compiler
/// checked it (key and text of each value). Runs exactly the compiler's rules
/// on the substituted values.
pub fn resolve_at_startup(raw: &[(&str, &str)], lookup: impl Fn(&str) -> Option<String>) -> Result<CheckpointStoreConfig, Vec<String>> {
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for (key, text) in raw {
        let value = RawValue::Str(text.to_string());
        let input = |value, from_env| OptionInput { key: key.to_string(), key_span: (), value, value_span: (), from_env };
        match value.env_ref() {
            Some(Ok(var)) => match lookup(var) {
                Some(v) => inputs.push(input(RawValue::Str(v), true)),
                None => errors.push(format!("checkpoints `{key}` reads environment variable `{var}`, which is not set")),
            },
            _ => inputs.push(input(value, false)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut diags = Diags::default();
    let resolved = resolve(&inputs, &(), &mut diags);
    let errs: Vec<String> = diags.items.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    match resolved {
        Some(r) if errs.is_empty() => Ok(r),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_kcls() {
        let c = LeaseTableConfig::with_defaults("app");
        assert_eq!(c.renew_interval, Duration::from_millis(3_308));
        assert_eq!(c.take_interval, Duration::from_millis(20_050));
        assert_eq!(c.max_leases_to_steal, 1);
    }

    fn block(pairs: &[(&str, &str)]) -> Result<CheckpointStoreConfig, Vec<String>> {
        resolve_at_startup(pairs, |v| (v == "KT_TABLE").then(|| "orders-app".to_string()))
    }

    #[test]
    fn a_lease_table_takes_the_kcl_timings_from_its_failover() {
        let c = block(&[("store", "dynamodb"), ("table", "app"), ("failover", "3 s")]).unwrap();
        let CheckpointStoreConfig::DynamoDb(c) = c else { panic!("{c:?}") };
        assert_eq!(c, LeaseTableConfig::with_failover("app", Duration::from_secs(3)));
        let c = block(&[
            ("store", "dynamodb"),
            ("table", "${KT_TABLE}"),
            ("renew-interval", "500 ms"),
            ("take-interval", "2 s"),
            ("max-leases-to-steal", "2"),
            ("max-leases-per-worker", "6"),
            ("create-table", "false"),
            ("commit-interval", "250"),
            ("region", "eu-west-1"),
            ("endpoint", "http://127.0.0.1:4567"),
            ("worker-id", "w1"),
        ])
        .unwrap();
        let CheckpointStoreConfig::DynamoDb(c) = c else { panic!("{c:?}") };
        assert_eq!(c.table, "orders-app");
        assert_eq!((c.renew_interval, c.take_interval), (Duration::from_millis(500), Duration::from_secs(2)));
        assert_eq!((c.max_leases_to_steal, c.max_leases_per_worker, c.create_table), (2, Some(6), false));
        assert_eq!(c.commit_interval, Some(Duration::from_millis(250)));
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4567"));
        assert_eq!(block(&[]), Ok(CheckpointStoreConfig::File));
        assert_eq!(block(&[("store", "file")]), Ok(CheckpointStoreConfig::File));
    }

    #[test]
    fn timings_that_cannot_work_are_refused() {
        let err = |pairs: &[(&str, &str)]| block(pairs).unwrap_err().join("\n");
        let base = [("store", "dynamodb"), ("table", "app")];
        let with = |extra: &[(&'static str, &'static str)]| [&base[..], extra].concat();
        assert!(err(&with(&[("failover", "3 s"), ("renew-interval", "1500 ms")])).contains("shorter than three renew intervals"));
        assert!(err(&with(&[("failover", "3 s"), ("renew-interval", "3 s")])).contains("not shorter than the failover"));
        assert!(err(&with(&[("renew-interval", "2 s"), ("take-interval", "1 s")])).contains("take interval (1 s) is shorter"));
        assert!(err(&with(&[("failover", "500 ms")])).contains("too short"));
        assert!(err(&with(&[("failover", "0 s")])).contains("failover"));
        // Exactly three renew intervals is enough.
        assert!(block(&with(&[("failover", "3 s"), ("renew-interval", "1 s")])).is_ok());
    }

    #[test]
    fn table_names_follow_dynamodb_and_env_values_are_checked_at_startup() {
        for bad in ["ab", "orders app", "orders/app", &"x".repeat(256)] {
            let e = block(&[("store", "dynamodb"), ("table", bad)]).unwrap_err();
            assert!(e[0].contains("not a DynamoDB table name"), "{bad}: {e:?}");
        }
        assert!(block(&[("store", "dynamodb"), ("table", "a.b-c_D9")]).is_ok());
        let e = block(&[("store", "dynamodb"), ("table", "${KT_MISSING}")]).unwrap_err();
        assert_eq!(e, vec!["checkpoints `table` reads environment variable `KT_MISSING`, which is not set".to_string()]);
        // The value from the environment obeys the same rules.
        let e = resolve_at_startup(&[("store", "dynamodb"), ("table", "${T}")], |_| Some("no spaces".into())).unwrap_err();
        assert!(e[0].contains("not a DynamoDB table name"), "{e:?}");
        // A value from the environment that looks like a reference is a value.
        let e = resolve_at_startup(&[("store", "dynamodb"), ("table", "${T}")], |_| Some("${U}".into())).unwrap_err();
        assert!(e[0].contains("`$` is not allowed"), "{e:?}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = block(&[("store", "file"), ("table", "app"), ("falover", "3 s"), ("take-interval", "1 s")]).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("unknown checkpoints key `falover`") && e[0].contains("did you mean `failover`"), "{e:?}");
        assert!(e[1].contains("`table` has no effect with `store: file`"), "{e:?}");
        // As the compiler sees it: `${ENV}` is not looked up.
        let inputs: Vec<OptionInput<()>> = [("store", "dynamodb"), ("failover", "${F}"), ("endpoint", "${bad name}"), ("table", "${T}")]
            .iter()
            .map(|(k, v)| OptionInput {
                key: k.to_string(),
                key_span: (),
                value: RawValue::Str(v.to_string()),
                value_span: (),
                from_env: false,
            })
            .collect();
        let mut diags = Diags::default();
        assert_eq!(resolve(&inputs, &(), &mut diags), None);
        let e: Vec<String> = diags.items.iter().map(|d| d.to_string()).collect();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e.iter().any(|m| m.contains("`failover` cannot be read from the environment")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("not an environment variable name")), "{e:?}");
        let e = block(&[("store", "dynamodb")]).unwrap_err();
        assert!(e[0].contains("needs a `table`"), "{e:?}");
    }
}
