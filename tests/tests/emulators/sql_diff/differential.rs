//! The differential test: a few hundred generated expressions
//! (`scripts/sql_diff.py generate`, one SQL pipeline each in
//! tests/specs/sql_diff.yaml, compiled by tests/build.rs) evaluated over
//! random rows by the compiled `transform_<name>` functions and by DuckDB
//! (`scripts/sql_diff.py eval`), row by row: both fail, or both give the
//! same value (doubles within 1e-9 relative).
//!
//! Where Flink's semantics (the reference) and DuckDB's differ, the
//! generator writes the DuckDB form to Flink's semantics or leaves the
//! construct out; the list is `KNOWN_DIFFERENCES` in scripts/sql_diff.py:
//! integer `/` (DuckDB `//`) and division by zero (DuckDB NULL, here an
//! error), CAST(DOUBLE AS INT) (DuckDB rounds), CAST(BOOLEAN AS STRING)
//! (`TRUE` vs `true`), CONCAT with NULL (DuckDB skips it), REGEXP_EXTRACT
//! without a match and SPLIT_INDEX past the end (DuckDB ''), REGEXP_REPLACE
//! (DuckDB replaces once and writes groups `\1`), DATE_FORMAT patterns,
//! TIMESTAMPADD/TIMESTAMPDIFF spelling, FLOOR(… TO WEEK) (Sunday vs
//! Monday), and, left out: logarithms and roots of values <= 0,
//! CAST(DOUBLE AS STRING), INITCAP, SUBSTRING from 0 or before the start,
//! LIKE escapes, fractional strings cast to integers, JSON_VALUE, DECIMAL
//! division, ROUND on DOUBLE ties.
//!
//! Needs Python's DuckDB: `KT_PYTHON_DUCKDB` (a `pip install --target`
//! folder; `scripts/install-emulators.sh` makes `.emulators/python-duckdb`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kinesis_tables::Record;
use kinesis_tables::sql::RecordError;
use kinesis_tables::types::{NaiveDate, NaiveDateTime};
use kinesis_tables_tests::generated::SdIn;
use serde_json::Value;

/// Compiler bugs the test found, by the Flink text of the expression: their
/// differences are printed, not failed, until the bug is fixed — and a
/// listed expression that agrees fails the test, so the entry is removed.
const KNOWN_BUGS: &[(&str, &str)] = &[];

/// What a compiled expression gave for one row.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A value (NULL is `Value::Null`) in the evaluator's canonical form.
    Value(Value),
    /// The record failed.
    Failed(RecordError),
    /// The transform dropped the record (no WHERE here: never expected).
    Dropped,
}

/// A sink value in the evaluator's canonical JSON form.
pub(crate) trait Canonical {
    fn canonical(self) -> Value;
}

impl Canonical for i64 {
    fn canonical(self) -> Value {
        Value::from(self)
    }
}

impl Canonical for bool {
    fn canonical(self) -> Value {
        Value::from(self)
    }
}

impl Canonical for String {
    fn canonical(self) -> Value {
        Value::from(self)
    }
}

impl Canonical for f64 {
    fn canonical(self) -> Value {
        match self {
            v if v.is_nan() => Value::from("NaN"),
            v if v == f64::INFINITY => Value::from("Infinity"),
            v if v == f64::NEG_INFINITY => Value::from("-Infinity"),
            v => Value::from(v),
        }
    }
}

impl Canonical for NaiveDate {
    fn canonical(self) -> Value {
        Value::from(self.format("%Y-%m-%d").to_string())
    }
}

impl Canonical for NaiveDateTime {
    fn canonical(self) -> Value {
        Value::from(self.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }
}

impl Outcome {
    /// The outcome of a transform whose sink record's value is `get(record)`.
    pub(crate) fn of<O, V: Canonical>(r: Result<Option<O>, RecordError>, get: impl FnOnce(O) -> Option<V>) -> Outcome {
        match r {
            Ok(Some(o)) => Outcome::Value(get(o).map_or(Value::Null, Canonical::canonical)),
            Ok(None) => Outcome::Dropped,
            Err(e) => Outcome::Failed(e),
        }
    }
}

fn cases() -> Value {
    serde_json::from_str(include_str!("cases.json")).expect("cases.json")
}

/// DuckDB's results for every case and row, from `scripts/sql_diff.py eval`.
fn duckdb(cases: &Value) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let how = "run `bash scripts/install-emulators.sh` (it installs .emulators/python-duckdb) or point KT_PYTHON_DUCKDB at a `pip install --target` folder with duckdb";
    let dir = match std::env::var_os("KT_PYTHON_DUCKDB") {
        Some(d) => PathBuf::from(d),
        None => root.join(".emulators/python-duckdb"),
    };
    assert!(dir.is_dir(), "the SQL differential test needs Python's duckdb: {} does not exist; {how}", dir.display());
    let mut child = Command::new("python3")
        .arg(root.join("scripts/sql_diff.py"))
        .arg("eval")
        .env("PYTHONPATH", &dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    child.stdin.take().expect("stdin").write_all(cases.to_string().as_bytes()).expect("write cases");
    let out = child.wait_with_output().expect("wait for python3");
    assert!(out.status.success(), "sql_diff.py eval failed ({}): {}\n{how}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from sql_diff.py eval")
}

/// Whether the compiled outcome and DuckDB's agree.
fn agree(ours: &Outcome, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Outcome::Failed(_), Value::Object(o)) => o.contains_key("err"),
        (Outcome::Value(Value::Number(a)), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => close(a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN)),
        },
        (Outcome::Value(a), b) => a == b,
        (Outcome::Dropped, _) => false,
        _ => false,
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Value(v) => v.to_string(),
        Outcome::Failed(e) => format!("error: {e}"),
        Outcome::Dropped => "dropped".into(),
    }
}

#[test]
fn compiled_expressions_agree_with_duckdb() {
    let cases = cases();
    let theirs = duckdb(&cases);
    let rows: Vec<SdIn> = cases["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| SdIn::decode(r.to_string().as_bytes()).unwrap_or_else(|e| panic!("row {r}: {e}")))
        .collect();
    let list = cases["cases"].as_array().expect("cases");
    let results = theirs["results"].as_array().expect("results");
    assert_eq!(results.len(), list.len());
    let (mut values, mut nulls, mut errors, mut mismatches) = (0, 0, 0, Vec::new());
    let mut known = std::collections::BTreeSet::new();
    for (k, case) in list.iter().enumerate() {
        for (n, row) in rows.iter().enumerate() {
            let ours = super::cases::eval(k, row.clone());
            let want = &results[k][n];
            if agree(&ours, want) {
                match ours {
                    Outcome::Failed(_) => errors += 1,
                    Outcome::Value(Value::Null) => nulls += 1,
                    _ => values += 1,
                }
            } else if let Some((_, why)) = KNOWN_BUGS.iter().find(|(text, _)| case["flink"] == *text) {
                eprintln!("sql_diff: known bug in {} row {n}: {why}: compiled {}, duckdb {want}", case["flink"], show(&ours));
                known.insert(case["flink"].as_str().unwrap_or("?").to_string());
            } else {
                mismatches.push(format!(
                    "{} row {n}: {}\n  compiled: {}\n  duckdb:   {}\n  (duckdb form: {})\n  row: {}",
                    case["name"].as_str().unwrap_or("?"),
                    case["flink"].as_str().unwrap_or("?"),
                    show(&ours),
                    want,
                    case["duckdb"].as_str().unwrap_or("?"),
                    cases["rows"][n]
                ));
            }
        }
    }
    eprintln!(
        "sql_diff: {} expressions × {} rows against DuckDB {}: {values} values, {nulls} NULLs, {errors} failures agree; {} differ",
        list.len(),
        rows.len(),
        theirs["duckdb"],
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} results differ from DuckDB's:\n{}",
        mismatches.len(),
        mismatches.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
    for (text, _) in KNOWN_BUGS {
        assert!(known.contains(*text), "{text} now agrees with DuckDB (or left the corpus): remove it from KNOWN_BUGS");
    }
    // The corpus exercises all three outcomes.
    assert!(values > 1000 && nulls > 100 && errors > 50, "{values} values, {nulls} NULLs, {errors} failures");
}
