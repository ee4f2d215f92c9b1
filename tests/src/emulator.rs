//! Local Kinesis emulators for tests: [kinesis-mock] (npm `kinesis-local`, run with
//! Node) and [ferrokinesis] (a Rust binary). `scripts/install-emulators.sh` installs
//! both into `<repo>/.emulators/`; `KT_KINESIS_MOCK_DIR` (the package folder holding
//! `main.js`) and `KT_FERROKINESIS_BIN` (the binary) point elsewhere.
//!
//! Every [`Emulator::start`] spawns a fresh process on its own free loopback port, so
//! tests can run in parallel, each against its own emulator. The process is killed
//! when the [`Emulator`] is dropped; its stdout and stderr go to a log file in a
//! temporary directory, whose tail is printed if the owning test panics.
//!
//! Where the emulators differ from AWS (observed with kinesis-mock 0.6.2 and
//! ferrokinesis 0.7.0), which the tests take care not to depend on:
//!
//! - kinesis-mock accepts PutRecords with more than 500 entries; reports a closed
//!   shard's EndingSequenceNumber as `9223372036854775807`; answers a garbage
//!   iterator with an empty HTTP 500; is slow (about 0.3 s per 200-record
//!   PutRecords on the 2-core CI machine); sends no SubscribeToShard
//!   `initial-response`; takes the account from the access key unless the request
//!   carries a stream ARN.
//! - ferrokinesis counts a partition key's length in bytes, not characters;
//!   truncates ApproximateArrivalTimestamp to whole seconds; starts AT_TIMESTAMP
//!   at TRIM_HORIZON when no record is at or after the timestamp; never returns
//!   ChildShards; knows streams only by name in ListShards and GetShardIterator
//!   (and refuses a name and an ARN together); binds 0.0.0.0, hence
//!   `tools/ferrokinesis-loopback`.
//!
//! Enhanced fan-out (both implement Register/Describe/List/DeregisterStreamConsumer and
//! SubscribeToShard over HTTP/1.1; consumer APIs take the stream ARN, also for streams
//! the data APIs know only by name):
//!
//! - both: a consumer is CREATING for about [`TRANSITION_MS`] (ferrokinesis ~500 ms) and
//!   DELETING for as long after DeregisterStreamConsumer; consumer ARNs end in the
//!   registration time in whole seconds, so a consumer registered again within the same
//!   second gets the same ARN; registering an existing name answers ResourceInUseException.
//! - kinesis-mock: sends no `initial-response` (the SDK's `send` then waits for the first
//!   event, about 1 s); one event per second with up to 10,000 records; ChildShards always
//!   empty and the continuation never null, so a closed shard's end is never announced
//!   (the reader confirms it with GetRecords); a subscription stays "active" for about
//!   3 s after the client disconnects, and a new one meanwhile gets a ResourceInUseException
//!   event (the SDK leaves its `code()` empty; the variant says what it is); registering a
//!   DELETING consumer's name answers ResourceInUseException; subscriptions end after 5 min.
//! - ferrokinesis: events every 200 ms; a closed shard's events carry ChildShards (with a
//!   non-null continuation) and the stream ends after the first event without records;
//!   the continuation is the last record's sequence number "plus one", not a record's;
//!   its request validation drops `StartingPosition.SequenceNumber` and `.Timestamp`, so
//!   AT/AFTER_SEQUENCE_NUMBER subscriptions replay the shard from its start and
//!   AT_TIMESTAMP starts at TRIM_HORIZON (the reader drops records at or before its
//!   AFTER_SEQUENCE_NUMBER position); allows a second concurrent subscription to the same
//!   shard; registering a DELETING consumer's name succeeds at once, so ListStreamConsumers
//!   briefly shows two consumers of that name.
//!
//! [kinesis-mock]: https://github.com/etspaceman/kinesis-mock
//! [ferrokinesis]: https://crates.io/crates/ferrokinesis

// The crate root allows clippy::all for the generated tables; lint this module.
#![warn(clippy::all)]

use std::fmt;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::timeout::TimeoutConfig;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::types::{StreamDescriptionSummary, StreamStatus};
use tokio::process::{Child, Command};

/// Region every emulator is started with and every client is configured for.
pub const REGION: &str = "us-east-1";
/// Account the emulators put into ARNs. kinesis-mock also picks the account from the
/// access key id, so the test credentials use this as their access key.
pub const ACCOUNT_ID: &str = "000000000000";
/// How long the emulators keep a stream CREATING / UPDATING / DELETING (ms). Not zero,
/// so that code under test sees the transitional states as it would on AWS.
pub const TRANSITION_MS: u64 = 200;

/// How long [`Emulator::start`] waits for the process to answer ListStreams.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the helpers wait for a stream to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(30);
const INSTALL_HINT: &str = "run scripts/install-emulators.sh";

/// The emulators the tests know how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// kinesis-mock (Scala.js), npm package `kinesis-local` 0.6.2, run with `node main.js`.
    KinesisMock,
    /// ferrokinesis 0.7.0 from crates.io.
    Ferrokinesis,
}

impl Kind {
    /// Every kind, for tests that run against each emulator.
    pub const ALL: [Kind; 2] = [Kind::KinesisMock, Kind::Ferrokinesis];

    /// A short name for messages and stream names: `kinesis-mock`, `ferrokinesis`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::KinesisMock => "kinesis-mock",
            Kind::Ferrokinesis => "ferrokinesis",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The workspace root (the folder holding `scripts/` and `.emulators/`).
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or(root)
}

/// The kinesis-mock package folder (holds `main.js` and `server.json`):
/// `$KT_KINESIS_MOCK_DIR`, else `<root>/.emulators/npm/node_modules/kinesis-local`.
pub fn kinesis_mock_dir() -> PathBuf {
    match std::env::var_os("KT_KINESIS_MOCK_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".emulators/npm/node_modules/kinesis-local"),
    }
}

/// The ferrokinesis binary: `$KT_FERROKINESIS_BIN`, else
/// `<root>/.emulators/ferrokinesis/bin/ferrokinesis-loopback` (ferrokinesis bound to
/// 127.0.0.1; see `tools/ferrokinesis-loopback`).
pub fn ferrokinesis_bin() -> PathBuf {
    match std::env::var_os("KT_FERROKINESIS_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => workspace_root().join(".emulators/ferrokinesis/bin/ferrokinesis-loopback"),
    }
}

/// One shard as ListShards reports it, with the hash range parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub shard_id: String,
    pub parent_shard_id: Option<String>,
    pub adjacent_parent_shard_id: Option<String>,
    pub starting_hash_key: u128,
    pub ending_hash_key: u128,
    pub starting_sequence_number: String,
    /// Set once the shard is closed (split or merged away).
    pub ending_sequence_number: Option<String>,
}

impl ShardInfo {
    /// Whether the shard still accepts records (has no ending sequence number).
    pub fn is_open(&self) -> bool {
        self.ending_sequence_number.is_none()
    }
}

/// One EFO consumer as ListStreamConsumers reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerInfo {
    pub name: String,
    pub arn: String,
    /// `CREATING`, `ACTIVE` or `DELETING`.
    pub status: String,
}

/// Options of [`Emulator::start_with`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Shard iterator lifetime (ferrokinesis only; AWS: 300 s).
    pub iterator_ttl_seconds: Option<u64>,
}

/// A running emulator process. Killed on drop.
pub struct Emulator {
    kind: Kind,
    port: u16,
    tls_port: Option<u16>,
    client: Client,
    dir: PathBuf,
    log_path: PathBuf,
    child: Child,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator").field("kind", &self.kind).field("port", &self.port).field("log", &self.log_path).finish()
    }
}

impl Emulator {
    /// Starts a fresh emulator of `kind` on a free loopback port and waits (up to 60 s)
    /// until it answers ListStreams. The error says what failed and ends with the tail
    /// of the emulator's log.
    pub async fn start(kind: Kind) -> Result<Emulator, String> {
        Self::start_with(kind, &StartOptions::default()).await
    }

    /// [`Emulator::start`] with options.
    pub async fn start_with(kind: Kind, options: &StartOptions) -> Result<Emulator, String> {
        let dir = std::env::temp_dir().join(format!("kt-emulator-{}-{}-{:016x}", kind.name(), std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{kind}: cannot create {}: {e}", dir.display()))?;
        // A port picked free can be taken again before the emulator binds it; a
        // process that exits during startup is retried on new ports.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(kind, &dir, options).await {
                Ok(emulator) => return Ok(emulator),
                Err(StartError::Fatal(e)) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
                Err(StartError::Exited(e)) => last_error = e,
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error)
    }

    async fn try_start(kind: Kind, dir: &Path, options: &StartOptions) -> Result<Emulator, StartError> {
        let [port, tls_port] = free_ports().map_err(|e| StartError::Fatal(format!("{kind}: no free loopback port: {e}")))?;
        let log_path = dir.join(format!("{}-{port}.log", kind.name()));
        let log = File::create(&log_path).map_err(|e| StartError::Fatal(format!("{kind}: cannot create {}: {e}", log_path.display())))?;
        let log_err = log.try_clone().map_err(|e| StartError::Fatal(format!("{kind}: {e}")))?;

        let mut command = match kind {
            Kind::KinesisMock => kinesis_mock_command(dir, port, tls_port)?,
            Kind::Ferrokinesis => ferrokinesis_command(port, options)?,
        };
        command.stdin(Stdio::null()).stdout(Stdio::from(log)).stderr(Stdio::from(log_err)).kill_on_drop(true);
        let child = command.spawn().map_err(|e| StartError::Fatal(format!("{kind}: cannot spawn {command:?}: {e} ({INSTALL_HINT})")))?;

        let endpoint = format!("http://127.0.0.1:{port}");
        let tls_port = (kind == Kind::KinesisMock).then_some(tls_port);
        let mut emulator = Emulator { kind, port, tls_port, client: client_for(&endpoint, false), dir: dir.to_path_buf(), log_path, child };
        let probe = client_for(&endpoint, true);
        let started = Instant::now();
        let mut last_error;
        loop {
            if let Ok(Some(status)) = emulator.child.try_wait() {
                let message = format!("{kind} exited during startup ({status})\n{}", emulator.log_tail(40));
                // Not removing the directory here: the next attempt reuses it.
                emulator.dir = PathBuf::new();
                return Err(StartError::Exited(message));
            }
            match tokio::time::timeout(Duration::from_secs(2), probe.list_streams().send()).await {
                Ok(Ok(_)) => return Ok(emulator),
                Ok(Err(e)) => last_error = DisplayErrorContext(&e).to_string(),
                Err(_) => last_error = "ListStreams timed out after 2 s".into(),
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(StartError::Fatal(format!(
                    "{kind} did not answer ListStreams on {endpoint} within {START_TIMEOUT:?}: {last_error}\n{}",
                    emulator.log_tail(40)
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:PORT` with a self-signed certificate (kinesis-mock only).
    pub fn tls_endpoint(&self) -> Option<String> {
        self.tls_port.map(|p| format!("https://127.0.0.1:{p}"))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client for this emulator: region us-east-1, static test credentials (access
    /// key [`ACCOUNT_ID`]), plain-HTTP connector, standard retries, 30 s attempt timeout.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The file holding the emulator's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the emulator's log, with a header naming the file.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("--- last {} lines of {} ---\n{tail}", lines.min(all.len()), self.log_path.display())
    }

    /// The ARN of stream `name` (from DescribeStreamSummary).
    pub async fn stream_arn(&self, name: &str) -> Result<String, String> {
        Ok(self.summary(name).await?.stream_arn().to_string())
    }

    async fn summary(&self, name: &str) -> Result<StreamDescriptionSummary, String> {
        let out = self.client.describe_stream_summary().stream_name(name).send();
        let out = out.await.map_err(|e| self.sdk_error("DescribeStreamSummary", &e))?;
        out.stream_description_summary.ok_or_else(|| self.err("DescribeStreamSummary without a summary"))
    }

    /// Creates a provisioned stream with `shards` shards, waits until it is ACTIVE and
    /// returns its ARN.
    pub async fn create_stream(&self, name: &str, shards: i32) -> Result<String, String> {
        self.client.create_stream().stream_name(name).shard_count(shards).send().await.map_err(|e| self.sdk_error("CreateStream", &e))?;
        self.wait_active(name).await?;
        self.stream_arn(name).await
    }

    /// Polls DescribeStreamSummary until the stream is ACTIVE (up to 30 s).
    pub async fn wait_active(&self, name: &str) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let status = self.summary(name).await?.stream_status;
            if status == StreamStatus::Active {
                return Ok(());
            }
            if started.elapsed() > ACTIVE_TIMEOUT {
                return Err(self.err(&format!("stream {name} not ACTIVE after {ACTIVE_TIMEOUT:?} (status {status})")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// All shards of the stream, open and closed, in the order ListShards returns them
    /// (following NextToken).
    pub async fn list_shards(&self, name: &str) -> Result<Vec<ShardInfo>, String> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = match next_token.take() {
                Some(token) => self.client.list_shards().next_token(token),
                None => self.client.list_shards().stream_name(name),
            };
            let out = request.send().await.map_err(|e| self.sdk_error("ListShards", &e))?;
            for shard in out.shards() {
                shards.push(self.shard_info(shard)?);
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(shards),
            }
        }
    }

    /// Only the open shards (no ending sequence number) of [`Self::list_shards`].
    pub async fn open_shards(&self, name: &str) -> Result<Vec<ShardInfo>, String> {
        Ok(self.list_shards(name).await?.into_iter().filter(ShardInfo::is_open).collect())
    }

    /// Splits `shard_id` at the midpoint of its hash range, waits until the stream is
    /// ACTIVE again and returns the two children (lower half first).
    pub async fn split_shard(&self, name: &str, shard_id: &str) -> Result<[ShardInfo; 2], String> {
        let shard = self.find_shard(name, shard_id).await?;
        if !shard.is_open() {
            return Err(self.err(&format!("cannot split {shard_id}: it is closed")));
        }
        let mid = shard.starting_hash_key + (shard.ending_hash_key - shard.starting_hash_key) / 2 + 1;
        self.client
            .split_shard()
            .stream_name(name)
            .shard_to_split(shard_id)
            .new_starting_hash_key(mid.to_string())
            .send()
            .await
            .map_err(|e| self.sdk_error("SplitShard", &e))?;
        self.wait_active(name).await?;
        let mut children: Vec<ShardInfo> =
            self.list_shards(name).await?.into_iter().filter(|s| s.parent_shard_id.as_deref() == Some(shard_id)).collect();
        children.sort_by_key(|s| s.starting_hash_key);
        <[ShardInfo; 2]>::try_from(children).map_err(|c| self.err(&format!("split of {shard_id} left {} children: {c:?}", c.len())))
    }

    /// Merges two adjacent open shards, waits until the stream is ACTIVE again and
    /// returns the child.
    pub async fn merge_shards(&self, name: &str, shard_id: &str, adjacent_shard_id: &str) -> Result<ShardInfo, String> {
        self.client
            .merge_shards()
            .stream_name(name)
            .shard_to_merge(shard_id)
            .adjacent_shard_to_merge(adjacent_shard_id)
            .send()
            .await
            .map_err(|e| self.sdk_error("MergeShards", &e))?;
        self.wait_active(name).await?;
        let children: Vec<ShardInfo> =
            self.list_shards(name).await?.into_iter().filter(|s| s.parent_shard_id.as_deref() == Some(shard_id)).collect();
        match <[ShardInfo; 1]>::try_from(children) {
            Ok([child]) => Ok(child),
            Err(c) => Err(self.err(&format!("merge of {shard_id} + {adjacent_shard_id} left {} children: {c:?}", c.len()))),
        }
    }

    /// The stream's EFO consumers (ListStreamConsumers, following NextToken), in any status.
    pub async fn list_consumers(&self, stream: &str) -> Result<Vec<ConsumerInfo>, String> {
        let stream_arn = self.stream_arn(stream).await?;
        let mut consumers = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let mut request = self.client.list_stream_consumers().stream_arn(&stream_arn);
            if let Some(token) = next_token.take() {
                request = request.next_token(token);
            }
            let out = request.send().await.map_err(|e| self.sdk_error("ListStreamConsumers", &e))?;
            for c in out.consumers() {
                consumers.push(ConsumerInfo {
                    name: c.consumer_name().to_string(),
                    arn: c.consumer_arn().to_string(),
                    status: c.consumer_status().as_str().to_string(),
                });
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(consumers),
            }
        }
    }

    /// Registers EFO consumer `name` on the stream, waits until it is ACTIVE (up to 30 s)
    /// and returns its ARN.
    pub async fn register_consumer(&self, stream: &str, name: &str) -> Result<String, String> {
        let stream_arn = self.stream_arn(stream).await?;
        let out = self.client.register_stream_consumer().stream_arn(&stream_arn).consumer_name(name).send().await;
        let out = out.map_err(|e| self.sdk_error("RegisterStreamConsumer", &e))?;
        let arn =
            out.consumer().map(|c| c.consumer_arn().to_string()).ok_or_else(|| self.err("RegisterStreamConsumer without a consumer"))?;
        let started = Instant::now();
        loop {
            let out = self.client.describe_stream_consumer().consumer_arn(&arn).send().await;
            let out = out.map_err(|e| self.sdk_error("DescribeStreamConsumer", &e))?;
            let status = out.consumer_description().map(|d| d.consumer_status().as_str().to_string()).unwrap_or_default();
            if status == "ACTIVE" {
                return Ok(arn);
            }
            if started.elapsed() > ACTIVE_TIMEOUT {
                return Err(self.err(&format!("consumer {name} not ACTIVE after {ACTIVE_TIMEOUT:?} (status {status})")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls ListStreamConsumers until `done` holds for the list (up to `timeout`);
    /// returns the last list.
    pub async fn wait_consumers(
        &self,
        stream: &str,
        timeout: Duration,
        done: impl Fn(&[ConsumerInfo]) -> bool,
    ) -> Result<Vec<ConsumerInfo>, String> {
        let started = Instant::now();
        loop {
            let list = self.list_consumers(stream).await?;
            if done(&list) || started.elapsed() > timeout {
                return Ok(list);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn find_shard(&self, name: &str, shard_id: &str) -> Result<ShardInfo, String> {
        self.list_shards(name)
            .await?
            .into_iter()
            .find(|s| s.shard_id == shard_id)
            .ok_or_else(|| self.err(&format!("stream {name} has no shard {shard_id}")))
    }

    fn shard_info(&self, shard: &aws_sdk_kinesis::types::Shard) -> Result<ShardInfo, String> {
        let range = shard.hash_key_range().ok_or_else(|| self.err(&format!("shard {} without a hash key range", shard.shard_id())))?;
        let key = |s: &str| s.parse::<u128>().map_err(|e| self.err(&format!("shard {}: bad hash key {s:?}: {e}", shard.shard_id())));
        let sequence = shard.sequence_number_range();
        Ok(ShardInfo {
            shard_id: shard.shard_id().to_string(),
            parent_shard_id: shard.parent_shard_id().map(str::to_string),
            adjacent_parent_shard_id: shard.adjacent_parent_shard_id().map(str::to_string),
            starting_hash_key: key(range.starting_hash_key())?,
            ending_hash_key: key(range.ending_hash_key())?,
            starting_sequence_number: sequence.map(|s| s.starting_sequence_number().to_string()).unwrap_or_default(),
            ending_sequence_number: sequence.and_then(|s| s.ending_sequence_number()).map(str::to_string),
        })
    }

    fn err(&self, message: &str) -> String {
        format!("{} on {}: {message}", self.kind, self.endpoint())
    }

    fn sdk_error<E: std::error::Error>(&self, operation: &str, error: &E) -> String {
        self.err(&format!("{operation} failed: {}", DisplayErrorContext(error)))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // kill_on_drop also kills it, but only after the runtime reaps; kill now so
        // the port is released before the next test binds.
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("{} ({}) log:\n{}", self.kind, self.endpoint(), self.log_tail(60));
        }
        if !self.dir.as_os_str().is_empty() && std::env::var_os("KT_KEEP_EMULATOR_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

enum StartError {
    /// The process exited while starting (e.g. its port was taken): worth a retry.
    Exited(String),
    /// Retrying would not help (missing binary, timeout).
    Fatal(String),
}

/// Builds a client for `endpoint`. `probe` clients make a single attempt with short
/// timeouts (used while waiting for the emulator to come up).
fn client_for(endpoint: &str, probe: bool) -> Client {
    let timeouts = if probe {
        TimeoutConfig::builder().connect_timeout(Duration::from_secs(1)).operation_attempt_timeout(Duration::from_secs(2)).build()
    } else {
        TimeoutConfig::builder().connect_timeout(Duration::from_secs(2)).operation_attempt_timeout(Duration::from_secs(30)).build()
    };
    let retry = if probe { RetryConfig::disabled() } else { RetryConfig::standard() };
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCOUNT_ID, "test-secret-key", None, None, "kinesis-tables-tests"))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .timeout_config(timeouts)
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// Two distinct ports that were free on 127.0.0.1 a moment ago (kinesis-mock needs a
/// second one for its TLS listener).
fn free_ports() -> std::io::Result<[u16; 2]> {
    let a = TcpListener::bind(("127.0.0.1", 0))?;
    let b = TcpListener::bind(("127.0.0.1", 0))?;
    Ok([a.local_addr()?.port(), b.local_addr()?.port()])
}

/// A command with a clean environment (only PATH and HOME are kept; NO_COLOR set for
/// plain logs), so an AWS_REGION
/// or FERROKINESIS_* in the caller's environment cannot change the emulator.
fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for key in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command.env("AWS_REGION", REGION).env("AWS_ACCOUNT_ID", ACCOUNT_ID).env("NO_COLOR", "1");
    command
}

/// Node preloaded script: kinesis-mock listens on 0.0.0.0 with no setting to change
/// it, so this rewrites the host of every `net.Server#listen` to 127.0.0.1.
const NODE_LOOPBACK_ONLY: &str = r#"'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    args[0] = Object.assign({}, first, { host: '127.0.0.1' });
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string' || args[1] === undefined || args[1] === null) args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
"#;

fn kinesis_mock_command(dir: &Path, port: u16, tls_port: u16) -> Result<Command, StartError> {
    let package = kinesis_mock_dir();
    let main = package.join("main.js");
    if !main.is_file() {
        return Err(StartError::Fatal(format!(
            "kinesis-mock: {} not found ({INSTALL_HINT}, or set KT_KINESIS_MOCK_DIR to the kinesis-local package folder)",
            main.display()
        )));
    }
    let preload = dir.join("loopback-only.cjs");
    std::fs::write(&preload, NODE_LOOPBACK_ONLY)
        .map_err(|e| StartError::Fatal(format!("kinesis-mock: cannot write {}: {e}", preload.display())))?;
    let transition = format!("{TRANSITION_MS}ms");
    let mut command = clean_command("node");
    // main.js resolves its TLS certificate (server.json) against the working directory.
    command.current_dir(&package).arg("--require").arg(&preload).arg("main.js");
    command
        .env("KINESIS_MOCK_PLAIN_PORT", port.to_string())
        .env("KINESIS_MOCK_TLS_PORT", tls_port.to_string())
        .env("LOG_LEVEL", std::env::var("KT_EMULATOR_LOG_LEVEL").unwrap_or_else(|_| "INFO".into()))
        .env("SHOULD_PERSIST_DATA", "false")
        .env("SHARD_LIMIT", "50");
    for setting in [
        "CREATE_STREAM_DURATION",
        "DELETE_STREAM_DURATION",
        "MERGE_SHARDS_DURATION",
        "SPLIT_SHARD_DURATION",
        "UPDATE_SHARD_COUNT_DURATION",
        "UPDATE_STREAM_MODE_DURATION",
        "REGISTER_STREAM_CONSUMER_DURATION",
        "DEREGISTER_STREAM_CONSUMER_DURATION",
        "START_STREAM_ENCRYPTION_DURATION",
        "STOP_STREAM_ENCRYPTION_DURATION",
    ] {
        command.env(setting, &transition);
    }
    Ok(command)
}

fn ferrokinesis_command(port: u16, options: &StartOptions) -> Result<Command, StartError> {
    let bin = ferrokinesis_bin();
    if !bin.is_file() {
        return Err(StartError::Fatal(format!(
            "ferrokinesis: {} not found ({INSTALL_HINT}, or set KT_FERROKINESIS_BIN to the binary)",
            bin.display()
        )));
    }
    let transition = TRANSITION_MS.to_string();
    let mut command = clean_command(&bin);
    command
        .arg("serve")
        .args(["--port", &port.to_string()])
        .args(["--account-id", ACCOUNT_ID, "--region", REGION])
        .args(["--create-stream-ms", &transition, "--delete-stream-ms", &transition, "--update-stream-ms", &transition])
        .args(["--shard-limit", "50"])
        .args(["--iterator-ttl-seconds", &options.iterator_ttl_seconds.unwrap_or(300).to_string()])
        .args(["--log-level", &std::env::var("KT_EMULATOR_LOG_LEVEL").unwrap_or_else(|_| "info".into()).to_lowercase()]);
    Ok(command)
}
