//! The options of one table after per-key checks: what cross-field rules and
//! resolution read. Kept apart from the checks so that rules, checks and
//! resolution each depend on it and not on one another.

use crate::catalog::{self, OptionDef};
use crate::model::ConnectorKind;
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
    pub connector: Option<ConnectorKind>,
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
        self.connector == Some(ConnectorKind::KinesisLegacy)
    }
    /// Whether the table runs without AWS (`datagen`, `print`, `blackhole`).
    pub fn is_local(&self) -> bool {
        self.connector.is_some_and(ConnectorKind::is_local)
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
