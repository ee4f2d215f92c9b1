//! `kinesis_tables::kpl` against the official Python library `aws-kinesis-agg`
//! (PyPI), both ways: Python aggregates and Rust de-aggregates, Rust
//! aggregates and Python de-aggregates.
//!
//! The library is installed by [`python_agg`] with
//! `python3 -m pip install --target <target>/tmp/python-aws-kinesis-agg aws-kinesis-agg==1.2.3 six`
//! unless `KT_PYTHON_AGG` names an existing install (a `pip install --target`
//! folder, or a virtualenv). The Python side is `tests/python/kpl_interop.py`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kinesis_tables::kpl::{self, AddOutcome, Aggregator, Deaggregated, Flushed, SubRecord};
use serde_json::{Value, json};

/// What the test installs. `six` is imported by aws-kinesis-agg 1.2.3 but not
/// declared as a dependency.
const PIP_PACKAGES: &[&str] = &["aws-kinesis-agg==1.2.3", "six"];

/// A Python that can import `aws_kinesis_agg`.
struct PythonAgg {
    python: PathBuf,
    /// A `pip install --target` folder to put on `PYTHONPATH`.
    path: Option<PathBuf>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/kpl_interop.py")
}

impl PythonAgg {
    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(script()).arg(subcommand);
        if let Some(path) = &self.path {
            cmd.env("PYTHONPATH", path);
        }
        cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs a subcommand of the script with a JSON request; panics with the
    /// script's output when it fails.
    fn run(&self, subcommand: &str, request: &Value) -> Value {
        let mut child = self
            .command(subcommand)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(request.to_string().as_bytes()).expect("write request");
        drop(stdin);
        let out = child.wait_with_output().expect("wait for python");
        assert!(out.status.success(), "kpl_interop.py {subcommand} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON from kpl_interop.py {subcommand}: {e}"))
    }

    /// The installed version, or why the library cannot be imported.
    fn check(&self) -> Result<String, String> {
        let out = self.command("check").stdin(Stdio::null()).output().map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        Ok(v["version"].as_str().unwrap_or("?").to_owned())
    }
}

/// The Python library, installed once per target dir (all setup is here).
///
/// With `KT_PYTHON_AGG` set, that install is used as it is: a folder made by
/// `pip install --target`, or a virtualenv (a folder with `bin/python`).
/// Otherwise the packages are installed with pip into
/// `CARGO_TARGET_TMPDIR/python-aws-kinesis-agg` (kept, and reused when it
/// still imports). A failed installation fails the test.
fn python_agg() -> &'static PythonAgg {
    static AGG: OnceLock<PythonAgg> = OnceLock::new();
    AGG.get_or_init(|| {
        if let Some(dir) = std::env::var_os("KT_PYTHON_AGG") {
            let dir = PathBuf::from(dir);
            let venv_python = dir.join("bin/python");
            let agg = if venv_python.exists() {
                PythonAgg { python: venv_python, path: None }
            } else {
                PythonAgg { python: "python3".into(), path: Some(dir.clone()) }
            };
            if let Err(e) = agg.check() {
                panic!("KT_PYTHON_AGG={} has no usable aws-kinesis-agg install:\n{e}", dir.display());
            }
            return agg;
        }

        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-aws-kinesis-agg");
        let agg = PythonAgg { python: "python3".into(), path: Some(dir.clone()) };
        if agg.check().is_ok() {
            return agg;
        }
        // Install next to the final folder, then move it in place, so that a
        // concurrent test run never sees a half-made install.
        let staging = dir.with_extension(format!("staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--target"])
            .arg(&staging)
            .args(PIP_PACKAGES);
        let shown = format!("python3 -m pip install --target {} {}", staging.display(), PIP_PACKAGES.join(" "));
        let out = pip.output().unwrap_or_else(|e| panic!("cannot run `{shown}` (is python3 with pip installed?): {e}"));
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(
            out.status.success(),
            "installing the Python library aws-kinesis-agg failed ({}):\n`{shown}`\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if std::fs::rename(&staging, &dir).is_err() {
            // An older, broken install, or one made meanwhile by another run.
            if agg.check().is_ok() {
                let _ = std::fs::remove_dir_all(&staging);
                return agg;
            }
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&staging, &dir).unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", staging.display(), dir.display()));
        }
        if let Err(e) = agg.check() {
            panic!("aws-kinesis-agg was installed into {} but does not import:\n{e}", dir.display());
        }
        agg
    })
}

fn sub(pk: &str, ehk: Option<&str>, data: &[u8]) -> SubRecord {
    SubRecord { partition_key: pk.to_owned(), explicit_hash_key: ehk.map(str::to_owned), data: data.to_vec() }
}

/// User records with several partition keys (repeated and distinct, non-ASCII,
/// the 256-character maximum), some explicit hash keys, binary and empty data.
fn known_records() -> Vec<SubRecord> {
    let all_bytes: Vec<u8> = (0..=255).collect();
    let long_key = "k".repeat(256);
    let mut records = vec![
        sub("user-1", None, b"{\"id\":1}"),
        sub("user-2", Some("0"), b""),
        sub("user-1", Some("170141183460469231731687303715884105728"), &all_bytes),
        sub("user-3", None, b""),
        sub("ключ-é", Some("340282366920938463463374607431768211455"), "données ✓".as_bytes()),
        sub(&long_key, None, &[0xF3, 0x89, 0x9A, 0xC2, 0, 1, 2]),
        sub("user-2", Some("0"), &[0; 1000]),
        sub("user-1", None, &[0xff; 3000]),
        sub("user-4", Some("12345678901234567890"), b"x"),
    ];
    for i in 0..40 {
        let ehk = (i % 3 == 0).then(|| (i * 1_000_003).to_string());
        let data: Vec<u8> = (0..i * 7).map(|j| (j * 31 + i) as u8).collect();
        records.push(sub(&format!("user-{}", i % 7), ehk.as_deref(), &data));
    }
    records
}

fn record_json(r: &SubRecord) -> Value {
    json!({ "partition_key": r.partition_key, "explicit_hash_key": r.explicit_hash_key, "data": B64.encode(&r.data) })
}

fn b64_field(v: &Value, field: &str) -> Vec<u8> {
    B64.decode(v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))).expect("base64")
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Aggregates with the Python library; returns (partition key, explicit hash
/// key, data, user record count) of each aggregated record.
fn python_aggregate(records: &[SubRecord], max_size: Option<usize>) -> Vec<(String, Option<String>, Vec<u8>, usize)> {
    let response =
        python_agg().run("aggregate", &json!({ "max_size": max_size, "records": records.iter().map(record_json).collect::<Vec<_>>() }));
    response["aggregates"]
        .as_array()
        .expect("aggregates")
        .iter()
        .map(|a| {
            let pk = a["partition_key"].as_str().expect("partition_key").to_owned();
            (pk, opt_str(&a["explicit_hash_key"]), b64_field(a, "data"), a["records"].as_u64().expect("records") as usize)
        })
        .collect()
}

#[test]
fn python_aggregates_rust_deaggregates() {
    let records = known_records();
    for max_size in [None, Some(4096), Some(3500)] {
        let aggregates = python_aggregate(&records, max_size);
        if max_size.is_some() {
            assert!(aggregates.len() > 2, "max_size {max_size:?} should split the records: {} aggregates", aggregates.len());
        }
        let mut got = Vec::new();
        for (i, (pk, ehk, data, count)) in aggregates.iter().enumerate() {
            assert!(data.len() <= max_size.unwrap_or(1 << 20));
            let Deaggregated::Aggregated(subs) = kpl::deaggregate(data, pk) else {
                panic!("max_size {max_size:?}, aggregate {i}: not de-aggregated: {:?}", kpl::deaggregate(data, pk));
            };
            assert_eq!(subs.len(), *count);
            // The aggregated record goes under its first user record's keys.
            assert_eq!((pk, ehk), (&subs[0].partition_key, &subs[0].explicit_hash_key), "max_size {max_size:?}, aggregate {i}");
            got.extend(subs);
        }
        assert_eq!(got.len(), records.len(), "max_size {max_size:?}");
        for (i, (g, r)) in got.iter().zip(&records).enumerate() {
            let brief = |s: &SubRecord| format!("({:?}, {:?}, {} bytes)", s.partition_key, s.explicit_hash_key, s.data.len());
            assert!(g == r, "max_size {max_size:?}, user record {i}: read {}, expected {}", brief(g), brief(r));
        }
    }

    // When everything fits in one record, the Rust aggregator writes the very
    // same bytes as the Python library.
    let [(pk, ehk, data, _)] = &python_aggregate(&records, None)[..] else { panic!("one aggregate expected") };
    let mut agg = Aggregator::new(1 << 20, usize::MAX);
    for r in &records {
        assert_eq!(agg.add(&r.partition_key, r.explicit_hash_key.as_deref(), &r.data), AddOutcome::Added);
    }
    let ours = agg.finish().expect("not empty");
    assert_eq!((&ours.partition_key, &ours.explicit_hash_key), (pk, ehk));
    assert!(ours.data == *data, "Rust and Python encode the same records differently");
}

/// A Kinesis record as read, and the user records a reader must deliver for
/// it (known from how it was made, not from reading it).
struct Outer {
    partition_key: String,
    data: Vec<u8>,
    aggregated: bool,
    expected: Vec<SubRecord>,
}

impl Outer {
    /// A record delivered as it is.
    fn plain(partition_key: &str, data: Vec<u8>) -> Outer {
        Outer { partition_key: partition_key.to_owned(), expected: vec![sub(partition_key, None, &data)], data, aggregated: false }
    }
}

#[test]
fn rust_aggregates_python_deaggregates() {
    let records = known_records();
    let mut outers = Vec::new();
    // Aggregates in which every record, no record, or some records have an
    // explicit hash key, split by size and by count.
    let batches: [(Vec<SubRecord>, usize, usize); 4] = [
        (records.clone(), 3500, 1000),
        (records.clone(), 1 << 20, 6),
        (records.iter().filter(|r| r.explicit_hash_key.is_some()).cloned().collect(), 1200, 1000),
        (records.iter().filter(|r| r.explicit_hash_key.is_none()).cloned().collect(), 3100, 1000),
    ];
    for (batch, max_bytes, max_records) in &batches {
        let mut agg = Aggregator::new(*max_bytes, *max_records);
        let mut finished = Vec::new();
        for r in batch {
            let (pk, ehk) = (r.partition_key.as_str(), r.explicit_hash_key.as_deref());
            match agg.add(pk, ehk, &r.data) {
                AddOutcome::Added => {}
                AddOutcome::Full => {
                    finished.extend(agg.finish());
                    assert_eq!(agg.add(pk, ehk, &r.data), AddOutcome::Added);
                }
                AddOutcome::TooLarge { size } => panic!("{size} bytes"),
            }
        }
        finished.extend(agg.finish());
        assert!(finished.len() > 2, "the batch should be split: {} records", finished.len());
        let mut rest = &batch[..];
        for out in finished {
            assert!(out.data.len() <= *max_bytes && out.record_count <= *max_records);
            let (these, after) = rest.split_at(out.record_count);
            rest = after;
            outers.push(Outer { partition_key: out.partition_key, data: out.data, aggregated: true, expected: these.to_vec() });
        }
        assert!(rest.is_empty());
    }

    // A lone record sent plain, plain records, and records that start with
    // the magic but are not valid aggregated records: all delivered as they are.
    let mut agg = Aggregator::new(1 << 20, 10);
    assert_eq!(agg.add("lone", Some("77"), b"lone data"), AddOutcome::Added);
    let Some(Flushed::Single(lone)) = agg.finish_or_single() else { panic!("a lone record is sent plain") };
    assert_eq!(lone, sub("lone", Some("77"), b"lone data"));
    outers.push(Outer::plain(&lone.partition_key, lone.data));

    let valid = {
        let mut agg = Aggregator::new(1 << 20, 10);
        assert_eq!(agg.add("a", None, b"payload"), AddOutcome::Added);
        agg.finish().expect("not empty").data
    };
    let mut bad_digest = valid.clone();
    *bad_digest.last_mut().expect("not empty") ^= 0x55;
    outers.push(Outer::plain("plain", b"{\"not\":\"aggregated\"}".to_vec()));
    outers.push(Outer::plain("empty", Vec::new()));
    outers.push(Outer::plain("magic-only", kpl::MAGIC.to_vec()));
    outers.push(Outer::plain("too-short", [&kpl::MAGIC[..], &[0; 16]].concat()));
    outers.push(Outer::plain("bad-digest", bad_digest));
    outers.push(Outer::plain("truncated", valid[..valid.len() - 1].to_vec()));

    // Rust's own reading, by the KPL rule.
    for outer in &outers {
        let delivered = match kpl::deaggregate(&outer.data, &outer.partition_key) {
            Deaggregated::Aggregated(subs) => subs,
            Deaggregated::Plain | Deaggregated::Corrupt(_) => vec![sub(&outer.partition_key, None, &outer.data)],
        };
        assert!(delivered == outer.expected, "Rust reads outer record {:?} wrong", outer.partition_key);
    }

    // Python's reading.
    let request = json!({ "records": outers.iter().map(|o| json!({ "partition_key": o.partition_key, "data": B64.encode(&o.data) })).collect::<Vec<_>>() });
    let response = python_agg().run("deaggregate", &request);
    let py = response["records"].as_array().expect("records");
    let raw = response["raw"].as_array().expect("raw");
    assert_eq!(raw.len(), outers.len());
    let total: usize = outers.iter().map(|o| o.expected.len()).sum();
    assert_eq!(py.len(), total, "Python delivered {} records, expected {total}", py.len());

    let mut py_iter = py.iter();
    for (outer, raw) in outers.iter().zip(raw) {
        assert_eq!(raw.is_array(), outer.aggregated, "Python's view of whether {:?} is aggregated", outer.partition_key);
        // aws-kinesis-agg 1.2.3 gives a user record without an explicit hash
        // key index the table's first entry (the field reads as 0) when the
        // table is not empty; the raw protobuf view shows the index is absent.
        let first_ehk = outer.expected.iter().find_map(|s| s.explicit_hash_key.clone());
        for (i, s) in outer.expected.iter().enumerate() {
            let p = py_iter.next().expect("as many records");
            let context = format!("outer record {:?}, user record {i}", outer.partition_key);
            assert_eq!(p["partition_key"].as_str(), Some(s.partition_key.as_str()), "{context}");
            assert!(b64_field(p, "data") == s.data, "{context}: data differs");
            assert_eq!(p["aggregated"].as_bool(), Some(outer.aggregated), "{context}");
            if outer.aggregated {
                assert_eq!(p["sub_sequence_number"].as_u64(), Some(i as u64), "{context}");
                let index = &raw[i]["explicit_hash_key_index"];
                assert_eq!(index.is_null(), s.explicit_hash_key.is_none(), "{context}: explicit hash key index present?");
                let quirk = s.explicit_hash_key.clone().or_else(|| first_ehk.clone());
                assert_eq!(opt_str(&p["explicit_hash_key"]), quirk, "{context}");
            } else {
                assert_eq!(opt_str(&p["explicit_hash_key"]), None, "{context}");
            }
        }
    }
    assert!(py_iter.next().is_none());
}
