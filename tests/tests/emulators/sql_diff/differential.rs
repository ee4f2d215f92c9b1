//! The differential test: a few hundred generated expressions
//! (`scripts/sql_diff.py generate`, one SQL pipeline each in
//! tests/specs/sql_diff.yaml, compiled by tests/build.rs) evaluated over
//! random rows by the compiled `transform_<name>` functions and by DuckDB
//! (`scripts/sql_diff.py eval`), row by row: both fail, or both give the
//! same value (doubles within 1e-9 relative). Expressions share pipelines
//! (six each: every pipeline is one more instantiation of the run loop in
//! the tests crate); a row fails the compiled pipeline exactly when DuckDB
//! fails one of its expressions on that row.
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
use kinesis_tables::types::{NaiveDate, NaiveDateTime};
use kinesis_tables_tests::generated::SdIn;
use serde_json::Value;

/// Compiler bugs the test found, by the Flink text of the expression: their
/// differences are printed, not failed, until the bug is fixed — and a
/// listed expression that agrees fails the test, so the entry is removed.
const KNOWN_BUGS: &[(&str, &str)] = &[];

/// A sink value in the evaluator's canonical JSON form.
pub(crate) trait Canonical {
    fn canonical(self) -> Value;
}

/// `v` (a nullable sink column) in the evaluator's canonical form.
pub(crate) fn canonical<V: Canonical>(v: Option<V>) -> Value {
    v.map_or(Value::Null, Canonical::canonical)
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

/// Whether a compiled value and DuckDB's agree.
fn agree(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => close(a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN)),
        },
        (a, b) => a == b,
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn is_error(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.contains_key("err"))
}

/// What the comparison counted.
#[derive(Default)]
struct Tally {
    values: usize,
    nulls: usize,
    failing_rows: usize,
    mismatches: Vec<String>,
    known: std::collections::BTreeSet<String>,
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
    let pipelines = cases["pipelines"].as_array().expect("pipelines");
    let mut t = Tally::default();
    for (p, pipeline) in pipelines.iter().enumerate() {
        let members: Vec<usize> =
            pipeline["cases"].as_array().expect("members").iter().filter_map(|c| c.as_u64()).map(|c| c as usize).collect();
        for (n, row) in rows.iter().enumerate() {
            let failing: Vec<&str> =
                members.iter().filter(|&&c| is_error(&results[c][n])).map(|&c| list[c]["flink"].as_str().unwrap_or("?")).collect();
            let at = |what: String| format!("{} row {n}: {what}\n  row: {}", pipeline["name"].as_str().unwrap_or("?"), cases["rows"][n]);
            match super::cases::eval(p, row.clone()) {
                // A failing expression fails the record: DuckDB failed one of the group's.
                Err(_) if !failing.is_empty() => t.failing_rows += 1,
                Err(e) => t.mismatches.push(at(format!("compiled failed ({e}); DuckDB failed none of the expressions"))),
                Ok(_) if !failing.is_empty() => t.mismatches.push(at(format!("compiled did not fail; DuckDB failed {failing:?}"))),
                Ok(None) => t.mismatches.push(at("compiled dropped the record (there is no WHERE)".into())),
                Ok(Some(got)) => {
                    for (ours, &c) in got.iter().zip(&members) {
                        let (text, want) = (list[c]["flink"].as_str().unwrap_or("?"), &results[c][n]);
                        if agree(ours, want) {
                            if ours.is_null() { t.nulls += 1 } else { t.values += 1 }
                        } else if let Some((_, why)) = KNOWN_BUGS.iter().find(|(b, _)| *b == text) {
                            eprintln!("sql_diff: known bug in {text} row {n}: {why}: compiled {ours}, duckdb {want}");
                            t.known.insert(text.to_string());
                        } else {
                            let form = list[c]["duckdb"].as_str().unwrap_or("?");
                            t.mismatches.push(at(format!("{text}\n  compiled: {ours}\n  duckdb:   {want}\n  (duckdb form: {form})")));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "sql_diff: {} expressions in {} pipelines × {} rows against DuckDB {}: {} values and {} NULLs agree, {} rows fail on both; {} differ",
        list.len(),
        pipelines.len(),
        rows.len(),
        theirs["duckdb"],
        t.values,
        t.nulls,
        t.failing_rows,
        t.mismatches.len()
    );
    let shown: Vec<String> = t.mismatches.iter().take(40).cloned().collect();
    assert!(t.mismatches.is_empty(), "{} results differ from DuckDB's:\n{}", t.mismatches.len(), shown.join("\n"));
    for (text, _) in KNOWN_BUGS {
        assert!(t.known.contains(*text), "{text} now agrees with DuckDB (or left the corpus): remove it from KNOWN_BUGS");
    }
    // The corpus exercises all three outcomes.
    assert!(
        t.values > 1000 && t.nulls > 100 && t.failing_rows > 20,
        "{} values, {} NULLs, {} failing rows",
        t.values,
        t.nulls,
        t.failing_rows
    );
}
