//! JSON_VALUE(json_string, path [RETURNING type] [{NULL | ERROR | DEFAULT
//! value} ON EMPTY] [{NULL | ERROR | DEFAULT value} ON ERROR]) on STRING.
//! Empty: the path finds nothing or a JSON null (in `lax` mode, the
//! default). Error: malformed JSON, a non-scalar (object or array), a value
//! that does not convert to the RETURNING type, or a missing step in
//! `strict` mode. Flink's defaults are NULL ON EMPTY and NULL ON ERROR.

use bigdecimal::BigDecimal;
use serde_json::Value;

use crate::error::SqlError;

/// A compiled JSON path: `$` followed by `.name`, `['name']`/`["name"]`
/// and `[index]` steps, optionally after the mode `lax` or `strict` (with
/// NULL ON ERROR both give NULL where a step is missing). Wildcards and
/// filters select many values and are refused: JSON_VALUE returns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
    /// `strict`: a missing step is an error rather than empty.
    strict: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Compiles `path`; the compiler calls this at build time for a
    /// literal path.
    pub fn new(path: &str) -> Result<JsonPath, SqlError> {
        let fail = |why: &str| SqlError::invalid_pattern("JSON path", path, why);
        let t = path.trim();
        let strict = t.starts_with("strict ");
        let t = t.strip_prefix("lax ").or_else(|| t.strip_prefix("strict ")).unwrap_or(t).trim_start();
        let mut rest = t.strip_prefix('$').ok_or_else(|| fail("it must start with '$'"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix(".[") {
                // `$.['a.b']`, as Flink's examples write it.
                rest = &rest[1..];
                let _ = after;
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(fail("a '.' must be followed by a member name"));
                }
                if name == "*" {
                    return Err(fail("wildcards select many values; JSON_VALUE returns one"));
                }
                steps.push(Step::Key(name.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| fail("a '[' is not closed"))?;
                let inside = after[..end].trim();
                steps.push(bracket(inside).map_err(&fail)?);
                rest = &after[end + 1..];
            } else {
                return Err(fail("expected '.name' or '[…]' after a step"));
            }
        }
        Ok(JsonPath { steps, strict })
    }

    /// The value at the path in `doc`, if there is one.
    fn find<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(doc, |v, step| match step {
            Step::Key(k) => v.get(k.as_str()),
            Step::Index(i) => v.get(*i),
        })
    }
}

fn bracket(inside: &str) -> Result<Step, &'static str> {
    let quoted =
        inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
    if let Some(name) = quoted {
        return Ok(Step::Key(name.to_string()));
    }
    if inside == "*" {
        return Err("wildcards select many values; JSON_VALUE returns one");
    }
    if !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit()) {
        return inside.parse().map(Step::Index).map_err(|_| "the array index is too large");
    }
    Err("a '[…]' step must hold an array index or a quoted member name")
}

/// The scalar at `path` in `json` as text (a string's contents, a
/// number's or boolean's JSON text); None for NULL ON EMPTY / ON ERROR.
fn scalar_text(json: &str, path: &JsonPath) -> Option<String> {
    let doc: Value = serde_json::from_str(json).ok()?;
    match path.find(&doc)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// What a JSON_VALUE does ON EMPTY or ON ERROR; a DEFAULT is the value's text, converted as a JSON scalar would be
/// (the compiler checks at build time that it converts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonBehavior {
    /// NULL (Flink's default).
    Null,
    /// ERROR: the record fails.
    Error,
    /// DEFAULT value.
    Default(&'static str),
}

/// What a path finds in a document.
enum Found {
    Value(String),
    Empty,
    Error(&'static str),
}

fn lookup(json: &str, path: &JsonPath) -> Found {
    let Ok(doc) = serde_json::from_str::<Value>(json) else { return Found::Error("the text is not JSON") };
    match path.find(&doc) {
        None if path.strict => Found::Error("the strict path finds nothing"),
        None | Some(Value::Null) => Found::Empty,
        Some(Value::String(s)) => Found::Value(s.clone()),
        Some(Value::Number(n)) => Found::Value(n.to_string()),
        Some(Value::Bool(b)) => Found::Value(b.to_string()),
        Some(Value::Array(_) | Value::Object(_)) => Found::Error("the path finds an array or object, not a scalar"),
    }
}

/// JSON_VALUE with RETURNING, ON EMPTY and ON ERROR: `convert` turns the
/// scalar's text into the RETURNING type (None when it does not convert,
/// an error). ERROR fails with the path and why.
pub fn json_value_with<T>(
    json: &str,
    path: &JsonPath,
    convert: impl Fn(&str) -> Option<T>,
    on_empty: JsonBehavior,
    on_error: JsonBehavior,
) -> Result<Option<T>, SqlError> {
    let why = match lookup(json, path) {
        Found::Value(text) => match convert(&text) {
            Some(v) => return Ok(Some(v)),
            None => "the value does not convert to the RETURNING type",
        },
        Found::Empty => {
            return behave(on_empty, &convert, || {
                SqlError::invalid_argument("JSON_VALUE", format_args!("ERROR ON EMPTY: nothing at {}", path_text(path)))
            });
        }
        Found::Error(why) => why,
    };
    behave(on_error, &convert, || SqlError::invalid_argument("JSON_VALUE", format_args!("ERROR ON ERROR at {}: {why}", path_text(path))))
}

fn behave<T>(b: JsonBehavior, convert: &impl Fn(&str) -> Option<T>, error: impl FnOnce() -> SqlError) -> Result<Option<T>, SqlError> {
    match b {
        JsonBehavior::Null => Ok(None),
        JsonBehavior::Error => Err(error()),
        JsonBehavior::Default(text) => convert(text).map(Some).ok_or_else(|| {
            SqlError::invalid_argument("JSON_VALUE", format_args!("the DEFAULT {text:?} does not convert to the RETURNING type"))
        }),
    }
}

fn path_text(path: &JsonPath) -> String {
    let mut out = String::from("$");
    for s in &path.steps {
        match s {
            Step::Key(k) => out.push_str(&format!("[{k:?}]")),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The conversion of a JSON scalar's text to a DECIMAL(precision, scale), for [`json_value_with`].
pub fn decimal_converter(precision: u32, scale: i32) -> impl Fn(&str) -> Option<BigDecimal> {
    move |t| crate::decimal::from_str(t, precision, scale).ok()
}

/// JSON_VALUE(json, path) (RETURNING STRING, the default). Flink:
/// `JSON_VALUE('{"a": true}', '$.a')` is `'true'`.
pub fn json_value(json: &str, path: &JsonPath) -> Option<String> {
    scalar_text(json, path)
}

/// A RETURNING type of JSON_VALUE: the scalar's text converted as `CAST`
/// would convert it, NULL when it does not.
pub trait JsonReturning: Sized {
    /// The value of `text`, if it converts.
    fn from_json_text(text: &str) -> Option<Self>;
}

impl JsonReturning for String {
    fn from_json_text(text: &str) -> Option<String> {
        Some(text.to_string())
    }
}

impl JsonReturning for bool {
    fn from_json_text(text: &str) -> Option<bool> {
        crate::cast::str_to_bool(text).ok()
    }
}

impl JsonReturning for f64 {
    fn from_json_text(text: &str) -> Option<f64> {
        crate::cast::str_to_f64(text).ok()
    }
}

impl JsonReturning for f32 {
    fn from_json_text(text: &str) -> Option<f32> {
        crate::cast::str_to_f32(text).ok()
    }
}

macro_rules! returning_int {
    ($($t:ty),*) => {$(
        impl JsonReturning for $t {
            fn from_json_text(text: &str) -> Option<$t> {
                crate::cast::str_to_int::<$t>(text).ok()
            }
        }
    )*};
}
returning_int!(i8, i16, i32, i64);

/// JSON_VALUE(json, path RETURNING type) for STRING, BOOLEAN, the integer
/// types, FLOAT and DOUBLE. Flink:
/// `JSON_VALUE('{"a.b": [0.998,0.996]}','$.["a.b"][1]' RETURNING DOUBLE)` is 0.996.
pub fn json_value_as<T: JsonReturning>(json: &str, path: &JsonPath) -> Option<T> {
    T::from_json_text(&scalar_text(json, path)?)
}

/// JSON_VALUE(json, path RETURNING DECIMAL(precision, scale)); NULL when
/// the value is not a number or does not fit.
pub fn json_value_decimal(json: &str, path: &JsonPath, precision: u32, scale: i32) -> Option<BigDecimal> {
    crate::decimal::from_str(&scalar_text(json, path)?, precision, scale).ok()
}

/// Fails with why `path` is not a JSON path (for the compiler's messages).
pub fn check_path(path: &str) -> Result<(), SqlError> {
    JsonPath::new(path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> JsonPath {
        JsonPath::new(p).unwrap()
    }

    #[test]
    fn values_at_paths() {
        // Flink: JSON_VALUE('{"a": true}', '$.a') returns 'true'.
        assert_eq!(json_value(r#"{"a": true}"#, &path("$.a")).as_deref(), Some("true"));
        // Flink: JSON_VALUE('{"a.b": [0.998,0.996]}','$.["a.b"][1]' RETURNING DOUBLE) returns 0.996.
        assert_eq!(json_value_as::<f64>(r#"{"a.b": [0.998,0.996]}"#, &path(r#"$.["a.b"][1]"#)), Some(0.996));
        assert_eq!(json_value(r#"{"a": {"b": "x"}}"#, &path("$.a.b")).as_deref(), Some("x"));
        assert_eq!(json_value(r#"{"a": [1, 2]}"#, &path("$.a[1]")).as_deref(), Some("2"));
        assert_eq!(json_value(r#"{"a": 1}"#, &path("lax $['a']")).as_deref(), Some("1"));
        assert_eq!(json_value_as::<i32>(r#"{"a": "12"}"#, &path("$.a")), Some(12));
        assert_eq!(json_value_as::<bool>(r#"{"a": true}"#, &path("$.a")), Some(true));
        let d = json_value_decimal(r#"{"a": 12.345}"#, &path("$.a"), 5, 2).unwrap();
        assert_eq!(crate::decimal::to_str(&d), "12.35");
    }

    #[test]
    fn on_empty_and_on_error_follow_flink() {
        use JsonBehavior::*;
        let text = |t: &str| Some(t.to_string());
        // Flink's docs: JSON_VALUE('{}', 'lax $.undefined' DEFAULT 'default' ON EMPTY) is 'default'.
        assert_eq!(json_value_with("{}", &path("lax $.undefined"), text, Default("default"), Null).unwrap().as_deref(), Some("default"));
        // JSON_VALUE('{}', 'strict $.undefined' DEFAULT 'default' ON ERROR) is 'default'; ON EMPTY does not apply.
        assert_eq!(
            json_value_with("{}", &path("strict $.undefined"), text, Default("x"), Default("default")).unwrap().as_deref(),
            Some("default")
        );
        assert_eq!(json_value_with("{}", &path("strict $.undefined"), text, Default("x"), Null).unwrap(), None);
        // RETURNING INT: a value that does not convert is an error; ERROR ON ERROR fails naming the path.
        let int = <i32 as JsonReturning>::from_json_text;
        assert_eq!(json_value_with(r#"{"a": "7"}"#, &path("$.a"), int, Null, Null).unwrap(), Some(7));
        assert_eq!(json_value_with(r#"{"a": "x"}"#, &path("$.a"), int, Default("1"), Default("-1")).unwrap(), Some(-1));
        let e = json_value_with(r#"{"a": "x"}"#, &path("$.a"), int, Null, Error).unwrap_err();
        assert!(e.to_string().contains("ERROR ON ERROR at $[\"a\"]"), "{e}");
        let e = json_value_with(r#"{"b": 1}"#, &path("$.a"), int, Error, Null).unwrap_err();
        assert!(e.to_string().contains("ERROR ON EMPTY"), "{e}");
        assert_eq!(json_value_with(r#"{"a": null}"#, &path("$.a"), int, Default("0"), Error).unwrap(), Some(0), "a JSON null is empty");
        assert_eq!(json_value_with("nope", &path("$.a"), int, Error, Default("5")).unwrap(), Some(5), "malformed JSON is an error");
        let d = json_value_with(r#"{"p": 1.005}"#, &path("$.p"), decimal_converter(5, 2), Null, Error).unwrap().unwrap();
        assert_eq!(crate::decimal::to_str(&d), "1.01");
    }

    #[test]
    fn null_on_empty_and_on_error() {
        // Flink: JSON_VALUE('{"a": true}', '$.b') (NULL ON EMPTY).
        assert_eq!(json_value(r#"{"a": true}"#, &path("$.b")), None);
        assert_eq!(json_value(r#"{"a": null}"#, &path("$.a")), None);
        assert_eq!(json_value(r#"{"a": [1]}"#, &path("$.a")), None);
        assert_eq!(json_value(r#"{"a": {}}"#, &path("$.a")), None);
        assert_eq!(json_value("not json", &path("$.a")), None);
        assert_eq!(json_value_as::<i32>(r#"{"a": "x"}"#, &path("$.a")), None);
        assert_eq!(json_value_as::<i8>(r#"{"a": 300}"#, &path("$.a")), None);
        assert_eq!(json_value_decimal(r#"{"a": 1234}"#, &path("$.a"), 3, 0), None);
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(json_value(&deep, &path("$[0]")), None);
    }

    #[test]
    fn malformed_paths_fail() {
        for bad in ["a.b", "$.", "$[*]", "$.*", "$[x]", "$[0", "$a"] {
            assert_eq!(JsonPath::new(bad).unwrap_err().kind(), crate::SqlErrorKind::InvalidPattern, "{bad}");
        }
        assert!(check_path("$.a[0].b").is_ok());
    }
}
