//! Option values: what a spec may write, and the rules each value kind obeys.

use crate::catalog::Kind;

/// An option value as written, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
}

impl RawValue {
    /// The value as text, the way a string option sees it.
    pub fn text(&self) -> Option<String> {
        match self {
            RawValue::Str(s) => Some(s.clone()),
            RawValue::Int(i) => Some(i.to_string()),
            RawValue::Float(f) => Some(f.to_string()),
            RawValue::Bool(b) => Some(b.to_string()),
            RawValue::Null => None,
        }
    }

    /// `Some(NAME)` when the value is exactly `${NAME}`.
    pub fn env_ref(&self) -> Option<Result<&str, String>> {
        let RawValue::Str(s) = self else { return None };
        if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            if is_env_name(inner) {
                return Some(Ok(inner));
            }
            return Some(Err(format!(
                "`{inner}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
            )));
        }
        if s.contains("${") {
            return Some(Err("an `${ENV_VAR}` reference must be the whole value".to_string()));
        }
        None
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A validated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Double(f64),
    Millis(u64),
    Char(char),
}

impl Value {
    pub fn as_str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            _ => "",
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    pub message: String,
    pub help: Option<String>,
}

impl ValueError {
    fn new(message: impl Into<String>) -> Self {
        ValueError { message: message.into(), help: None }
    }
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Checks one value against its kind. `Kind::Timestamp` is only checked for
/// shape here; the pattern check is a cross-field rule.
pub fn check(kind: &Kind, raw: &RawValue) -> Result<Value, ValueError> {
    let Some(text) = raw.text() else {
        return Err(ValueError::new("the option has no value").help("remove the option to use its default"));
    };
    match *kind {
        Kind::Str => non_empty(text).map(Value::Str),
        Kind::AnyStr => Ok(Value::Str(text)),
        Kind::Int { min, max } | Kind::Long { min, max } => integer(raw, &text, min, max),
        Kind::Bool => boolean(raw, &text),
        Kind::Double { min, max } => double(raw, &text, min, max),
        Kind::Duration { min_ms, max_ms } => duration(&text, min_ms, max_ms),
        Kind::Enum(values) => one_of(text, values),
        Kind::StreamArn => parse_stream_arn(&text).map(|_| Value::Str(text)),
        Kind::StreamName => name(text, "stream name"),
        Kind::Region => check_region(&text).map(|_| Value::Str(text)),
        Kind::Endpoint => check_endpoint(&text).map(|_| Value::Str(text)),
        Kind::RoleArn => check_role_arn(&text).map(|_| Value::Str(text)),
        Kind::ConsumerArn => check_consumer_arn(&text).map(|_| Value::Str(text)),
        Kind::ConsumerName => name(text, "consumer name"),
        Kind::SessionName => session_name(text),
        Kind::RustPath => check_rust_path(&text).map(|_| Value::Str(text)),
        Kind::Path => non_empty(text).map(Value::Str),
        Kind::DatePattern => java_pattern_to_chrono(&text).map(|_| Value::Str(text)),
        Kind::Timestamp => non_empty(text).map(Value::Str),
        Kind::Char => parse_char(&text).map(Value::Char),
        Kind::Charset => charset(text),
        Kind::Number => number(raw, text),
        Kind::Partitioner => partitioner(text),
    }
}

fn integer(raw: &RawValue, text: &str, min: i64, max: i64) -> Result<Value, ValueError> {
    let n = match raw {
        RawValue::Int(i) => i64::try_from(*i).map_err(|_| ValueError::new(format!("`{i}` is out of range")))?,
        RawValue::Str(s) => s.trim().parse::<i64>().map_err(|_| ValueError::new(format!("expected an integer, found `{s}`")))?,
        RawValue::Float(f) => return Err(ValueError::new(format!("expected an integer, found `{f}`"))),
        _ => return Err(ValueError::new(format!("expected an integer, found `{text}`"))),
    };
    in_range(n, min, max)?;
    Ok(Value::Int(n))
}

fn boolean(raw: &RawValue, text: &str) -> Result<Value, ValueError> {
    match raw {
        RawValue::Bool(b) => Ok(Value::Bool(*b)),
        _ if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        _ if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        _ => Err(ValueError::new(format!("expected `true` or `false`, found `{text}`"))),
    }
}

fn double(raw: &RawValue, text: &str, min: f64, max: f64) -> Result<Value, ValueError> {
    let f = match raw {
        RawValue::Float(f) => *f,
        RawValue::Int(i) => *i as f64,
        _ => text.trim().parse::<f64>().map_err(|_| ValueError::new(format!("expected a number, found `{text}`")))?,
    };
    if !f.is_finite() || f < min || f > max {
        return Err(ValueError::new(format!("`{text}` is out of range: expected a number from {min} to {max}")));
    }
    Ok(Value::Double(f))
}

fn duration(text: &str, min_ms: u64, max_ms: u64) -> Result<Value, ValueError> {
    let ms = parse_duration(text)?;
    if ms < min_ms || ms > max_ms {
        return Err(ValueError::new(format!(
            "`{text}` is out of range: expected a duration from {} to {}",
            show_ms(min_ms),
            show_ms(max_ms)
        )));
    }
    Ok(Value::Millis(ms))
}

fn one_of(text: String, values: &[&str]) -> Result<Value, ValueError> {
    if values.contains(&text.as_str()) {
        return Ok(Value::Str(text));
    }
    if values == crate::catalog::FORMATS
        && let Some((_, reason)) = crate::catalog::REJECTED_FORMATS.iter().find(|(f, _)| *f == text)
    {
        return Err(ValueError::new(format!("format `{text}` is not supported: {reason}")));
    }
    let list = values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    let err = ValueError::new(format!("`{text}` is not one of {list}"));
    Err(match crate::suggest::closest(&text, values.iter().copied()) {
        Some(s) => err.help(format!("did you mean `{s}`?")),
        None => err,
    })
}

/// A stream or consumer name.
fn name(text: String, what: &str) -> Result<Value, ValueError> {
    if valid_name(&text, 128) {
        return Ok(Value::Str(text));
    }
    Err(ValueError::new(format!("`{text}` is not a valid {what}: 1 to 128 characters of letters, digits, `_`, `-` and `.`")))
}

fn session_name(text: String) -> Result<Value, ValueError> {
    let ok = (2..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        return Ok(Value::Str(text));
    }
    Err(ValueError::new(format!("`{text}` is not a valid role session name: 2 to 64 characters of letters, digits and `_+=,.@-`")))
}

fn charset(text: String) -> Result<Value, ValueError> {
    match text.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" | "US-ASCII" | "ASCII" | "ISO-8859-1" | "LATIN1" => Ok(Value::Str(text)),
        _ => Err(ValueError::new(format!("character set `{text}` is not supported"))
            .help("use `UTF-8`, `US-ASCII` or `ISO-8859-1`; other sets would need a transcoding table kinesis-tables does not ship")),
    }
}

fn number(raw: &RawValue, text: String) -> Result<Value, ValueError> {
    match raw {
        RawValue::Int(_) => Ok(Value::Str(text)),
        RawValue::Float(f) if f.is_finite() => Ok(Value::Str(text)),
        _ if text.trim().parse::<i64>().is_ok() || text.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
            Ok(Value::Str(text.trim().to_string()))
        }
        _ => Err(ValueError::new(format!("expected a number, found `{text}`"))),
    }
}

fn partitioner(text: String) -> Result<Value, ValueError> {
    match text.as_str() {
        "random" | "fixed" => Ok(Value::Str(text)),
        other if other.contains("::") || other.chars().next().is_some_and(|c| c.is_ascii_uppercase()) => {
            check_rust_path(other).map(|_| Value::Str(text))
        }
        other => {
            let err = ValueError::new(format!("`{other}` is not a partitioner: expected `random`, `fixed` or a Rust type path"));
            Err(match crate::suggest::closest(other, ["random", "fixed"]) {
                Some(s) => err.help(format!("did you mean `{s}`?")),
                None => err,
            })
        }
    }
}

fn non_empty(text: String) -> Result<String, ValueError> {
    if text.trim().is_empty() { Err(ValueError::new("the value is empty")) } else { Ok(text) }
}

fn in_range(n: i64, min: i64, max: i64) -> Result<(), ValueError> {
    if n < min || n > max {
        let expect = if max == i32::MAX as i64 || max == i64::MAX {
            if min > 0 { format!("expected a positive integer (at least {min})") } else { format!("expected an integer of at least {min}") }
        } else {
            format!("expected an integer from {min} to {max}")
        };
        return Err(ValueError::new(format!("`{n}` is out of range: {expect}")));
    }
    Ok(())
}

pub fn show_ms(ms: u64) -> String {
    if ms >= 3_600_000 && ms.is_multiple_of(3_600_000) {
        format!("{} h", ms / 3_600_000)
    } else if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// What a number without a unit means to [`parse_duration_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNumber {
    /// Milliseconds, as Flink's duration options mean (specs).
    Millis,
    /// Not a duration: a unit is mandatory (the command line, where `5` could
    /// mean seconds as easily as milliseconds).
    Refused,
}

/// Parses Flink duration syntax into whole milliseconds (a bare number is
/// milliseconds, as in Flink's options).
pub fn parse_duration(text: &str) -> Result<u64, ValueError> {
    parse_duration_with(text, BareNumber::Millis)
}

/// Parses a duration into whole milliseconds: a whole number and a unit
/// (`ns`, `us`, `ms`, `s`, `min`/`m`, `h`, `d` and their long names). One
/// parser for specs and for pipeline command lines; `bare` says what a number
/// without a unit means. Too long a duration is an error, never an overflow.
pub fn parse_duration_with(text: &str, bare: BareNumber) -> Result<u64, ValueError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let too_long = || ValueError::new(format!("`{text}` is too long a duration"));
    let bad = || {
        ValueError::new(format!("`{text}` is not a duration"))
            .help("write a number and a unit, such as `10 s`, `250 ms`, `2 min` or `1 h` (a bare number is milliseconds)")
    };
    if num.is_empty() {
        return Err(bad());
    }
    let n: u128 = num.parse().map_err(|_| if num.len() > 30 { too_long() } else { bad() })?;
    let unit = unit.trim();
    if unit.is_empty() && bare == BareNumber::Refused {
        return Err(ValueError::new(format!("`{text}` has no unit"))
            .help(format!("add one, such as `{num}s` or `{num}ms` (units: ms, s, m or min, h, d)")));
    }
    let nanos_per: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "d" | "day" | "days" => 86_400_000_000_000,
        _ => return Err(bad()),
    };
    let nanos = n.checked_mul(nanos_per).ok_or_else(too_long)?;
    if nanos % 1_000_000 != 0 {
        return Err(ValueError::new(format!("`{text}` is not a whole number of milliseconds")));
    }
    u64::try_from(nanos / 1_000_000).map_err(|_| too_long())
}

fn parse_char(text: &str) -> Result<char, ValueError> {
    if text == "\\t" {
        return Ok('\t');
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(ValueError::new(format!("expected exactly one character, found `{text}`")).help("use `\\t` for a tab")),
    }
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// AWS regions kinesis-tables knows. A region outside this list is rejected,
/// so that `us-fake-1` or `eu-west1` fail at build time.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// The partition a region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn check_region(text: &str) -> Result<(), ValueError> {
    if REGIONS.contains(&text) {
        return Ok(());
    }
    let err = ValueError::new(format!("`{text}` is not an AWS region"));
    Err(match crate::suggest::closest(text, REGIONS.iter().copied()) {
        Some(s) => err.help(format!("did you mean `{s}`?")),
        None => err.help("regions look like `us-east-1`; run `kinesis-tables options` for the list"),
    })
}

fn check_endpoint(text: &str) -> Result<(), ValueError> {
    let url = url::Url::parse(text).map_err(|e| {
        ValueError::new(format!("`{text}` is not a URL: {e}"))
            .help("write it like `https://kinesis.us-east-1.amazonaws.com` or `http://127.0.0.1:4567`")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ValueError::new(format!("endpoint scheme `{}` is not `http` or `https`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ValueError::new(format!("endpoint `{text}` has no host")));
    }
    Ok(())
}

/// The parts of a stream ARN.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

pub fn parse_stream_arn(text: &str) -> Result<StreamArn, ValueError> {
    let shape = "a stream ARN looks like `arn:aws:kinesis:us-east-1:012345678901:stream/my-stream`";
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(ValueError::new(format!("`{text}` is not an ARN")).help(shape));
    }
    let (partition, service, region, account, resource) = (parts[1], parts[2], parts[3], parts[4], parts[5]);
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(ValueError::new(format!("unknown ARN partition `{partition}`")).help("use `aws`, `aws-cn` or `aws-us-gov`"));
    }
    if service != "kinesis" {
        return Err(ValueError::new(format!("the ARN is for service `{service}`, not `kinesis`")).help(shape));
    }
    check_region(region).map_err(|e| ValueError { message: format!("in the stream ARN: {}", e.message), help: e.help })?;
    if partition_of(region) != partition {
        return Err(ValueError::new(format!("region `{region}` is not in partition `{partition}`"))
            .help(format!("use `arn:{}:kinesis:{region}:…`", partition_of(region))));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValueError::new(format!("`{account}` is not an AWS account ID (12 digits)")).help(shape));
    }
    let Some(name) = resource.strip_prefix("stream/") else {
        return Err(ValueError::new(format!("the ARN resource `{resource}` is not `stream/<name>`")).help(shape));
    };
    if !valid_name(name, 128) {
        return Err(ValueError::new(format!(
            "`{name}` is not a valid stream name: 1 to 128 characters of letters, digits, `_`, `-` and `.`"
        )));
    }
    Ok(StreamArn { partition: partition.into(), region: region.into(), account: account.into(), name: name.into() })
}

fn check_role_arn(text: &str) -> Result<(), ValueError> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|r| !r.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ValueError::new(format!("`{text}` is not an IAM role ARN"))
            .help("a role ARN looks like `arn:aws:iam::012345678901:role/my-role`"))
    }
}

fn check_consumer_arn(text: &str) -> Result<(), ValueError> {
    let shape = "a consumer ARN looks like `arn:aws:kinesis:us-east-1:012345678901:stream/my-stream/consumer/my-consumer:1700000000`";
    let Some(idx) = text.find("/consumer/") else {
        return Err(ValueError::new(format!("`{text}` is not a consumer ARN")).help(shape));
    };
    parse_stream_arn(&text[..idx])
        .map_err(|e| ValueError { message: format!("in the consumer ARN: {}", e.message), help: Some(shape.into()) })?;
    let rest = &text[idx + "/consumer/".len()..];
    match rest.rsplit_once(':') {
        Some((name, ts)) if valid_name(name, 128) && !ts.is_empty() && ts.chars().all(|c| c.is_ascii_digit()) => Ok(()),
        _ => Err(ValueError::new(format!("`{text}` is not a consumer ARN")).help(shape)),
    }
}

/// Checks a Rust type path such as `my_crate::auth::Provider`.
pub fn check_rust_path(text: &str) -> Result<(), ValueError> {
    let body = text.strip_prefix("::").unwrap_or(text);
    let ok = !body.is_empty()
        && body.split("::").all(|seg| {
            let seg = seg.strip_prefix("r#").unwrap_or(seg);
            let mut c = seg.chars();
            matches!(c.next(), Some(f) if f.is_alphabetic() || f == '_') && c.all(|x| x.is_alphanumeric() || x == '_') && seg != "_"
        });
    if ok {
        Ok(())
    } else {
        Err(ValueError::new(format!("`{text}` is not a Rust type path"))
            .help("name a Rust type, such as `my_crate::auth::MyProvider` (Java class names do not apply)"))
    }
}

/// Translates a Java `DateTimeFormatter` pattern into a chrono format string.
pub fn java_pattern_to_chrono(pattern: &str) -> Result<String, ValueError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // quoted literal; '' is a single quote
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\'' {
                push_literal(&mut out, chars[j]);
                j += 1;
            }
            if j == chars.len() {
                return Err(ValueError::new(format!("unterminated quote in date pattern `{pattern}`")));
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 4) => "%Y",
            ('y' | 'u', 2) => "%y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', 4) => "%B",
            ('d', 1 | 2) => "%d",
            ('D', 1..=3) => "%j",
            ('H', 1 | 2) => "%H",
            ('h', 1 | 2) => "%I",
            ('m', 1 | 2) => "%M",
            ('s', 1 | 2) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', 1) => "%p",
            ('E', 1..=3) => "%a",
            ('E', 4) => "%A",
            ('X', 3) | ('x', 3) | ('Z', 5) => "%:z",
            ('X', 1 | 2) | ('x', 1 | 2) | ('Z', 1..=3) => "%z",
            _ => {
                return Err(ValueError::new(format!("date pattern `{pattern}`: `{}` is not supported", c.to_string().repeat(n)))
                    .help("supported letters: yyyy yy MM MMM dd HH hh mm ss SSS SSSSSS SSSSSSSSS a E XXX XX Z and quoted literals"));
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Parses an AT_TIMESTAMP start time with a Java pattern, or as epoch seconds.
/// Returns milliseconds since the epoch. Times without a zone are UTC.
pub fn parse_start_timestamp(text: &str, pattern: &str) -> Result<i64, ValueError> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') && t.chars().filter(|&c| c == '.').count() <= 1 {
        let secs: f64 = t.parse().map_err(|_| ValueError::new(format!("`{text}` is not epoch seconds")))?;
        return Ok((secs * 1000.0).round() as i64);
    }
    let fmt = java_pattern_to_chrono(pattern)?;
    if let Ok(dt) = DateTime::parse_from_str(t, &fmt) {
        return Ok(dt.timestamp_millis());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(t, &fmt) {
        return Ok(dt.and_utc().timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, &fmt) {
        return Ok(d.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp_millis()).unwrap_or_default());
    }
    Err(ValueError::new(format!("`{text}` does not match the date pattern `{pattern}` and is not epoch seconds"))
        .help("write it in the pattern (for the default: `2024-01-31T12:00:00.000+00:00`) or as epoch seconds such as `1706702400`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10 s").unwrap(), 10_000);
        assert_eq!(parse_duration("250ms").unwrap(), 250);
        assert_eq!(parse_duration("2 min").unwrap(), 120_000);
        assert_eq!(parse_duration("1500").unwrap(), 1500);
        assert!(parse_duration("ten s").is_err());
        assert!(parse_duration("10 fortnights").is_err());
        assert!(parse_duration("1500 us").is_err());
    }

    #[test]
    fn duration_overflow_is_an_error_and_the_command_line_needs_a_unit() {
        // Spec and command line share the parser: overflow is an error, never a panic.
        for bare in [BareNumber::Millis, BareNumber::Refused] {
            for text in ["99999999999999999999999h", "18446744073709551616ms", "999999999999999999999999999999999999999999 s"] {
                let e = parse_duration_with(text, bare).unwrap_err();
                assert!(e.message.contains("too long"), "{text}: {}", e.message);
            }
            assert_eq!(parse_duration_with("5s", bare).unwrap(), 5_000);
            assert_eq!(parse_duration_with("500ms", bare).unwrap(), 500);
            assert_eq!(parse_duration_with("2m", bare).unwrap(), 120_000);
            assert_eq!(parse_duration_with("1h", bare).unwrap(), 3_600_000);
        }
        // A bare number: milliseconds in a spec (Flink), a usage error on the command line.
        assert_eq!(parse_duration_with("1500", BareNumber::Millis).unwrap(), 1500);
        let e = parse_duration_with("5", BareNumber::Refused).unwrap_err();
        assert!(e.message.contains("no unit") && e.help.as_deref().is_some_and(|h| h.contains("5s")), "{e:?}");
    }

    #[test]
    fn arns() {
        let a = parse_stream_arn("arn:aws:kinesis:us-east-1:012345678901:stream/user-behavior").unwrap();
        assert_eq!((a.region.as_str(), a.name.as_str()), ("us-east-1", "user-behavior"));
        assert!(parse_stream_arn("arn:aws:kinesis:us-fake-1:012345678901:stream/x").is_err());
        assert!(parse_stream_arn("arn:aws:s3:us-east-1:012345678901:stream/x").is_err());
        assert!(parse_stream_arn("arn:aws:kinesis:us-east-1:12345:stream/x").is_err());
        assert!(parse_stream_arn("arn:aws-cn:kinesis:us-east-1:012345678901:stream/x").is_err());
    }

    #[test]
    fn timestamps() {
        let p = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
        assert_eq!(parse_start_timestamp("2024-01-31T12:00:00.000+00:00", p).unwrap(), 1_706_702_400_000);
        assert_eq!(parse_start_timestamp("1706702400", p).unwrap(), 1_706_702_400_000);
        assert_eq!(parse_start_timestamp("2024-01-31 12:00:00", "yyyy-MM-dd HH:mm:ss").unwrap(), 1_706_702_400_000);
        assert!(parse_start_timestamp("31/01/2024", p).is_err());
        assert!(java_pattern_to_chrono("yyyy-MM-dd QQ").is_err());
    }

    #[test]
    fn env_refs() {
        assert_eq!(RawValue::Str("${AWS_SECRET}".into()).env_ref(), Some(Ok("AWS_SECRET")));
        assert!(matches!(RawValue::Str("${1X}".into()).env_ref(), Some(Err(_))));
        assert!(matches!(RawValue::Str("a${X}".into()).env_ref(), Some(Err(_))));
        assert_eq!(RawValue::Str("plain".into()).env_ref(), None);
    }
}
