//! dynalite, a DynamoDB emulator on Node (npm `dynalite` 4.0.0), for the
//! lease-table tests. `scripts/install-emulators.sh` installs it into
//! `<repo>/.emulators/npm-dynalite/node_modules/dynalite`; `KT_DYNALITE_DIR`
//! points elsewhere. Every [`Dynalite::start`] runs a fresh, in-memory
//! process on its own free loopback port, killed on drop; its output goes to
//! a log file whose tail [`Dynalite::log_tail`] gives.
//!
//! What dynalite 4.0.0 supports of what the lease table uses, as
//! `lease::dynalite_supports_every_expression_the_lease_table_uses` checks:
//! ConditionExpression with `attribute_not_exists`, `=`, `<>`, `AND`;
//! UpdateExpression `SET` (also `a + :n`), `REMOVE`, `ADD` on numbers;
//! string sets; conditional DeleteItem; consistent, paginated Scan
//! (`Limit`/`ExclusiveStartKey`); CreateTable with PAY_PER_REQUEST
//! (CREATING, then ACTIVE). It has no transactions (the lease table uses none).

#![warn(clippy::all)]

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use tokio::process::{Child, Command};

use crate::emulator::{REGION, workspace_root};

/// The dynalite package folder (holds `cli.js`): `$KT_DYNALITE_DIR`, else
/// `<root>/.emulators/npm-dynalite/node_modules/dynalite`.
pub fn dynalite_dir() -> PathBuf {
    match std::env::var_os("KT_DYNALITE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".emulators/npm-dynalite/node_modules/dynalite"),
    }
}

/// A running dynalite. Killed on drop.
pub struct Dynalite {
    port: u16,
    log_path: PathBuf,
    dir: PathBuf,
    _child: Child,
}

impl std::fmt::Debug for Dynalite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dynalite").field("port", &self.port).finish()
    }
}

impl Dynalite {
    /// Starts dynalite on a free loopback port and waits (up to 60 s) until it answers ListTables.
    pub async fn start() -> Result<Dynalite, String> {
        let dir = std::env::temp_dir().join(format!("kt-dynalite-{}-{:016x}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("dynalite: cannot create {}: {e}", dir.display()))?;
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("dynalite: no free loopback port: {e}"))?
            .port();
        let log_path = dir.join("dynalite.log");
        let log = File::create(&log_path).map_err(|e| format!("dynalite: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("dynalite: {e}"))?;
        let cli = dynalite_dir().join("cli.js");
        if !cli.exists() {
            return Err(format!("dynalite is not installed at {} (run scripts/install-emulators.sh)", cli.display()));
        }
        let mut command = Command::new("node");
        command.env_clear();
        for key in ["PATH", "HOME"] {
            if let Some(v) = std::env::var_os(key) {
                command.env(key, v);
            }
        }
        command
            .arg(&cli)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| format!("dynalite: cannot spawn node {}: {e}", cli.display()))?;
        let d = Dynalite { port, log_path, dir, _child: child };
        let started = Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_secs(2), d.client().list_tables().send()).await {
                Ok(Ok(_)) => return Ok(d),
                Ok(Err(_)) | Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => return Err(format!("dynalite did not answer on port {port}\n{}", d.log_tail(20))),
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client: region us-east-1, static test credentials, plain HTTP, no retries.
    pub fn client(&self) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("test-access-key", "test-secret-key", None, None, "kinesis-tables-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// The last `lines` lines of dynalite's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        format!("--- dynalite log ---\n{}", all[all.len().saturating_sub(lines)..].join("\n"))
    }
}

impl Drop for Dynalite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
