//! The official Python library `aws-kinesis-agg` (PyPI), driven through
//! `tests/python/kpl_interop.py`, for the tests that check KPL aggregated
//! records against it (`tests/tests/emulators/kpl/interop.rs`,
//! `tests/tests/emulators/kpl/sink.rs`).
//!
//! [`python_agg`] installs it with
//! `python3 -m pip install --target <target>/tmp/python-aws-kinesis-agg aws-kinesis-agg==1.2.3 six`
//! unless `KT_PYTHON_AGG` names an existing install (a `pip install --target`
//! folder, or a virtualenv).

// The crate root allows clippy::all for the generated tables; lint this module.
#![warn(clippy::all)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// What the test installs. `six` is imported by aws-kinesis-agg 1.2.3 but not
/// declared as a dependency.
const PIP_PACKAGES: &[&str] = &["aws-kinesis-agg==1.2.3", "six"];

/// A Python that can import `aws_kinesis_agg`.
pub struct PythonAgg {
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
        assert!(out.status.success(), "kpl_interop.py {subcommand} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON from kpl_interop.py {subcommand}: {e}"))
    }

    /// The installed version, or why the library cannot be imported.
    pub fn check(&self) -> Result<String, String> {
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
/// `<target_tmpdir>/python-aws-kinesis-agg` (pass the test's `CARGO_TARGET_TMPDIR`) (kept, and reused when it
/// still imports). A failed installation fails the test. The first call
/// decides the folder for the whole process.
pub fn python_agg(target_tmpdir: &Path) -> &'static PythonAgg {
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

        let dir = target_tmpdir.join("python-aws-kinesis-agg");
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
