//! Python's `fastavro` (PyPI), driven through `tests/python/avro_interop.py`,
//! for the avro interop tests (`tests/tests/emulators/codec/avro_interop.rs`).
//!
//! `KT_PYTHON_FASTAVRO` names the install: a `pip install --target` folder
//! or a virtualenv; unset, `.emulators/python-fastavro` (what
//! `scripts/install-emulators.sh` makes) is used. Missing or unusable, the
//! tests fail and say how to install it.

// The crate root allows clippy::all for the generated tables; lint this module.
#![warn(clippy::all)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// A Python that can import `fastavro`.
pub struct PythonAvro {
    python: PathBuf,
    path: Option<PathBuf>,
}

impl PythonAvro {
    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/avro_interop.py")).arg(subcommand);
        if let Some(path) = &self.path {
            cmd.env("PYTHONPATH", path);
        }
        cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs a subcommand with a JSON request; panics with the script's
    /// output when it fails.
    pub fn run(&self, subcommand: &str, request: &Value) -> Value {
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
        assert!(out.status.success(), "avro_interop.py {subcommand} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON from avro_interop.py {subcommand}: {e}"))
    }

    fn check(&self) -> Result<String, String> {
        let out = self.command("check").stdin(Stdio::null()).output().map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        Ok(v["version"].as_str().unwrap_or("?").to_owned())
    }
}

/// The fastavro install named by `KT_PYTHON_FASTAVRO`; panics with how to
/// install it when it is missing.
pub fn python_avro() -> &'static PythonAvro {
    static PY: OnceLock<PythonAvro> = OnceLock::new();
    PY.get_or_init(|| {
        let how = "run `bash scripts/install-emulators.sh` and `source` the environment it prints (KT_PYTHON_FASTAVRO=<repo>/.emulators/python-fastavro), or point KT_PYTHON_FASTAVRO at a `pip install --target` folder or a virtualenv with fastavro";
        let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.emulators/python-fastavro");
        let dir = match std::env::var_os("KT_PYTHON_FASTAVRO") {
            Some(dir) => PathBuf::from(dir),
            None if installed.is_dir() => installed,
            None => panic!("the fastavro interop tests need Python's fastavro: KT_PYTHON_FASTAVRO is not set and {} does not exist; {how}", installed.display()),
        };
        let venv_python = dir.join("bin/python");
        let py = if venv_python.exists() {
            PythonAvro { python: venv_python, path: None }
        } else {
            PythonAvro { python: "python3".into(), path: Some(dir.clone()) }
        };
        if let Err(e) = py.check() {
            panic!("KT_PYTHON_FASTAVRO={} has no usable fastavro:\n{e}\n{how}", dir.display());
        }
        py
    })
}
