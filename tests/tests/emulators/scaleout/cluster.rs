//! The parts of a scale-out test: a Kinesis emulator with the source stream
//! `lease-in` and the sink stream `lease-out`, dynalite, and N processes of
//! the built binary `kt_lease` (`lease_copy` of tests/specs/lease.yaml), each
//! behind its own fault proxies (one in front of Kinesis, one in front of
//! DynamoDB), so each process's requests are logged apart and faults hit one
//! process only. Every process is killed when its [`Instance`] is dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kinesis_tables_tests::dynalite::Dynalite;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::faultproxy::{FaultProxy, LoggedRequest};
use kinesis_tables_tests::rt;
use tokio::process::{Child, Command};

/// Shards of the source stream.
pub const SHARDS: i32 = 12;
/// The spec's timings (tests/specs/lease.yaml).
pub const FAILOVER: Duration = Duration::from_secs(3);
pub const TAKE: Duration = Duration::from_secs(1);
/// The spec's renew interval: failover / 3 - 25 ms, as the KCL derives it.
pub const RENEW: Duration = Duration::from_millis(975);

/// The emulators and the lease table of one test.
pub struct Cluster {
    pub emu: Emulator,
    pub dynamo: Dynalite,
    pub table: String,
    dir: PathBuf,
    started: usize,
}

/// One process of the pipeline.
pub struct Instance {
    /// Its worker id (`leaseOwner`).
    pub name: String,
    pub pid: u32,
    child: Child,
    /// In front of Kinesis: its reads and PutRecords.
    pub kinesis: FaultProxy,
    /// In front of DynamoDB: its lease-table requests.
    pub dynamo: FaultProxy,
    pub metrics: SocketAddr,
    pub log: PathBuf,
}

/// A lease row, as a test reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub owner: Option<String>,
    pub counter: u64,
    pub checkpoint: Option<String>,
}

impl Cluster {
    /// An emulator of `kind` with both streams (`shards` source shards, 4 sink shards) and dynalite.
    pub async fn start(kind: Kind, shards: i32) -> Cluster {
        let (emu, dynamo) = tokio::join!(Emulator::start(kind), Dynalite::start());
        let (emu, dynamo) = (emu.unwrap(), dynamo.unwrap());
        emu.create_stream("lease-in", shards).await.unwrap();
        emu.create_stream("lease-out", 4).await.unwrap();
        let dir = std::env::temp_dir().join(format!("kt-scaleout-{}-{:016x}", kind.name(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        Cluster { emu, dynamo, table: format!("lease-copy-{:08x}", fastrand::u32(..)), dir, started: 0 }
    }

    /// Starts one more process (`w1`, `w2`, …).
    pub async fn spawn(&mut self) -> Instance {
        self.started += 1;
        let name = format!("w{}", self.started);
        let kinesis = FaultProxy::start(&self.emu.endpoint()).await.unwrap();
        let dynamo = FaultProxy::start(&self.dynamo.endpoint()).await.unwrap();
        kinesis.log_records(true);
        let metrics = free_addr();
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kt_lease"));
        rt::aws_env(&mut cmd, &kinesis.endpoint());
        cmd.env("KT_LEASE_TABLE", &self.table)
            .env("KT_LEASE_ENDPOINT", dynamo.endpoint())
            .env("KT_WORKER_ID", &name)
            .env("RUST_LOG", std::env::var("KT_SCALEOUT_LOG").unwrap_or_else(|_| "info".into()))
            .env_remove("KT_PROGRESS")
            .args(["--checkpoint-dir", &self.dir.join(&name).to_string_lossy()])
            .args(["--metrics-addr", &metrics.to_string()])
            .args(["--shutdown-timeout", "10s"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .kill_on_drop(true);
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        Instance { name, pid, child, kinesis, dynamo, metrics, log }
    }

    /// Every lease row (by key), read straight from dynalite.
    pub async fn rows(&self) -> BTreeMap<String, Row> {
        let client = self.dynamo.client();
        let mut out = BTreeMap::new();
        let mut start = None;
        loop {
            let page = match client.scan().table_name(&self.table).consistent_read(true).set_exclusive_start_key(start).send().await {
                Ok(page) => page,
                // Not created yet.
                Err(e) if format!("{e:?}").contains("ResourceNotFound") => return out,
                Err(e) => panic!("scan {}: {e:?}", self.table),
            };
            for item in page.items() {
                let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
                let Some(key) = s("leaseKey") else { continue };
                out.insert(
                    key.clone(),
                    Row { key, owner: s("leaseOwner"), counter: n("leaseCounter").unwrap_or(0), checkpoint: s("checkpoint") },
                );
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return out,
            }
        }
    }

    /// Leases per owner (`None`: unowned), from one scan.
    pub async fn owners(&self) -> BTreeMap<Option<String>, usize> {
        let mut by = BTreeMap::new();
        for row in self.rows().await.values().filter(|r| r.checkpoint.as_deref() != Some("SHARD_END")) {
            *by.entry(row.owner.clone()).or_default() += 1;
        }
        by
    }

    /// Polls the table until `done` holds for the owners of the open leases,
    /// or `within` passes; returns when it held (from now) or `None`.
    pub async fn wait_owners(&self, within: Duration, done: impl Fn(&BTreeMap<Option<String>, usize>) -> bool) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if done(&self.owners().await) {
                return Some(t.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::env::var_os("KT_KEEP_EMULATOR_LOGS").is_none() && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The open leases are balanced among `workers`: each holds within one of the others, none unowned.
pub fn balanced(owners: &BTreeMap<Option<String>, usize>, workers: &[&str]) -> bool {
    if owners.contains_key(&None) || owners.keys().flatten().any(|o| !workers.contains(&o.as_str())) {
        return false;
    }
    let counts: Vec<usize> = workers.iter().map(|w| owners.get(&Some(w.to_string())).copied().unwrap_or(0)).collect();
    let (min, max) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
    min > 0 && max - min <= 1
}

impl Instance {
    /// Sends a signal (`libc::SIGKILL`, `SIGTERM`, `SIGSTOP`, `SIGCONT`) to the process.
    pub fn signal(&self, sig: &str) {
        let status = std::process::Command::new("kill").args([&format!("-{sig}"), &self.pid.to_string()]).status().unwrap();
        assert!(status.success(), "kill -{sig} {}", self.pid);
    }

    /// Waits for the process to exit (up to `within`); its exit code, `None` if it did not exit.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait()).await.ok().and_then(Result::ok)
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        format!("--- {} ---\n{}", self.name, all[all.len().saturating_sub(lines)..].join("\n"))
    }

    /// Its DynamoDB requests so far.
    pub fn lease_requests(&self) -> Vec<LoggedRequest> {
        self.dynamo.log()
    }

    /// `GET path` on its metrics address: (status, body); status 0 when it does not answer.
    pub async fn probe(&self, path: &str) -> (u16, String) {
        http_get(self.metrics, path).await.unwrap_or((0, String::new()))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(40));
        }
    }
}

/// A minimal HTTP/1.1 GET (the probes answer small bodies and close).
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1)?.parse().ok()?;
        Some((status, text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt).await.ok().flatten()
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    l.local_addr().unwrap()
}
