//! Running a pipeline: records of one table read from Kinesis, transformed,
//! and written to another table's stream, at least once.
//!
//! A source batch is acknowledged (and so, within a commit interval,
//! checkpointed) only after the sink has acknowledged every record made from
//! it and from every earlier batch (a batch whose records the transform all
//! dropped is acknowledged as soon as every earlier record is). A crash
//! therefore repeats records, never skips them. SIGINT and SIGTERM stop
//! reading (also while `send` waits for room in the sink), wait for the sink
//! to acknowledge everything, commit the checkpoint and return `Ok`. The wait
//! is bounded by [`PipelineOptions::shutdown_timeout`]: past it, the run
//! commits what was acknowledged and fails with
//! [`PipelineError::ShutdownTimeout`], which counts the records not written.
//! A second SIGINT or SIGTERM exits the process at once (130 or 143),
//! committing nothing more.
//!
//! A record the sink refuses (it cannot be encoded, its key is too long)
//! fails the run with an error naming the source shard and sequence number,
//! or with [`OnDataLoss::Continue`] is skipped and counted.
//!
//! The parts: `args` (the command line and its environment variables),
//! `signals`, `metrics` (Prometheus and `--progress`) and `io` (the source
//! and sink traits and their Kinesis, datagen, print and blackhole implementations).

mod args;
mod feed;
pub mod health;
pub(crate) mod io;
mod metrics;
mod signals;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use args::LogFormat;

use self::io::{PipelineSink, PipelineSource};
use self::metrics::{Metrics, Progress};
use self::signals::{Signals, stopped};
use crate::Record;
use crate::config::ConnectorKind;
use crate::policy::OnDataLoss;
use crate::print::{Blackhole, PrintSink};
use crate::sink::{Sink, SinkError};
use crate::source::{Ack, SourceError, SourceStats};

/// How a pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Where the source's checkpoint lives (one file per pipeline).
    pub checkpoint_dir: PathBuf,
    /// Stop with success once every shard has been caught up, with no new
    /// records, for this long.
    pub stop_when_idle: Option<Duration>,
    /// The longest time between checkpoint writes.
    pub commit_interval: Duration,
    /// Print progress to stderr every this often (`None`: only logs).
    pub progress_every: Option<Duration>,
    /// Serve Prometheus metrics at `http://ADDR/metrics`, and `/healthz` and
    /// `/readyz` for orchestrators (`pipeline::health`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How long the drain after a stop (the sink writing out what it holds)
    /// may take. On expiry the run commits what was acknowledged, reports
    /// what was not written and fails.
    pub shutdown_timeout: Duration,
    /// What to do with data that cannot be delivered: positions that fell
    /// out of the stream's retention, and records the sink refuses.
    pub on_data_loss: OnDataLoss,
    /// How `--progress` reports (and [`main`] logs): text or JSON lines.
    pub log_format: LogFormat,
    /// Where the source's positions live: the file in `checkpoint_dir`
    /// (default) or a lease table shared by the pipeline's instances.
    pub checkpoint_store: crate::checkpoint::CheckpointStoreConfig,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            checkpoint_dir: PathBuf::from("checkpoints"),
            stop_when_idle: None,
            commit_interval: Duration::from_secs(1),
            progress_every: None,
            metrics_addr: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            on_data_loss: OnDataLoss::Fail,
            log_format: LogFormat::Text,
            checkpoint_store: Default::default(),
        }
    }
}

/// The default `--shutdown-timeout`: inside Kubernetes' default 30 s grace period.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(25);

/// Why a pipeline stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineError {
    Source(SourceError),
    Sink(SinkError),
    /// The `datagen` source could not make rows.
    Generator(String),
    /// The metrics endpoint could not be started.
    Metrics(String),
    /// The pipeline's `checkpoints:` block could not be resolved at startup
    /// (an `${ENV}` value unset or invalid).
    Config(String),
    /// Another process of this pipeline holds its checkpoint lock.
    CheckpointLocked(String),
    /// The sink refused a record the transform made (with `--on-data-loss fail`):
    /// `origin` names the source record it came from, `reason` what is wrong with it.
    Refused {
        origin: String,
        reason: String,
    },
    /// The transform failed a record (with `--on-data-loss fail`): `origin`
    /// names the source record, `reason` the failure (for SQL, the
    /// expression and the value).
    TransformFailed {
        origin: String,
        reason: String,
    },
    /// The drain after a stop did not finish within `--shutdown-timeout`:
    /// what was acknowledged was committed, `unwritten` records were not written.
    ShutdownTimeout {
        timeout: Duration,
        unwritten: u64,
    },
}

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineError::Source(e) => write!(f, "{e}"),
            PipelineError::Sink(e) => write!(f, "{e}"),
            PipelineError::Generator(e) => write!(f, "datagen: {e}"),
            PipelineError::Metrics(e) => write!(f, "metrics endpoint: {e}"),
            PipelineError::Config(e) => write!(f, "configuration: {e}"),
            PipelineError::CheckpointLocked(e) => write!(f, "{e}"),
            PipelineError::Refused { origin, reason } => write!(
                f,
                "the sink refused a record made from {origin}: {reason} (`--on-data-loss continue` skips and counts such records)"
            ),
            PipelineError::TransformFailed { origin, reason } => write!(
                f,
                "the transform failed on the record at {origin}: {reason} (`--on-data-loss continue` skips and counts such records)"
            ),
            PipelineError::ShutdownTimeout { timeout, unwritten } => write!(
                f,
                "the drain did not finish within the shutdown timeout ({} s): {unwritten} record(s) were not written; \
                 the checkpoint holds only what was written, so a restart reads them again",
                timeout.as_secs_f64()
            ),
        }
    }
}

impl PipelineError {
    /// The process exit code: 2 when another process of the pipeline holds
    /// its checkpoint, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::CheckpointLocked(_) => 2,
            _ => 1,
        }
    }
}

impl std::error::Error for PipelineError {}

impl From<SourceError> for PipelineError {
    fn from(e: SourceError) -> Self {
        PipelineError::Source(e)
    }
}

impl From<SinkError> for PipelineError {
    fn from(e: SinkError) -> Self {
        PipelineError::Sink(e)
    }
}

/// What a finished run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineReport {
    pub records_in: u64,
    pub records_out: u64,
    /// Source records skipped under `--on-data-loss continue`: failed by the
    /// transform, or whose output the sink refused.
    pub records_skipped: u64,
    /// How long the run worked: its wall time, less the `--stop-when-idle`
    /// wait that ended it.
    pub seconds: f64,
    /// Why it ended: `signal`, `idle`, or `done` (a bounded source ended).
    pub stopped_by: &'static str,
}
/// How many source batches may wait for the sink before reading pauses.
const MAX_PENDING_BATCHES: usize = 64;

/// How many ready source batches are sent together, interleaved (`feed`).
const GATHER: usize = 8;

/// A pipeline's transform: a function from a source record to any number of
/// sink records (`Option<D>`, `Vec<D>`, any `IntoIterator<Item = D>`). A
/// transform made with [`fallible`] may also fail a record.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a transform from `{S}` to `{D}`",
    label = "the pipeline's transform has the wrong signature",
    note = "a transform is `fn({S}) -> T` where `T` is `Option<{D}>`, `Vec<{D}>` or another `IntoIterator<Item = {D}>`; \
            one that can fail a record is `pipeline::fallible(f)` with `fn({S}) -> Result<T, E>`"
)]
pub trait Transform<S, D> {
    type Out: IntoIterator<Item = D>;
    /// The sink records made from `record`, or why the record failed.
    fn apply(&mut self, record: S) -> Result<Self::Out, TransformError>;
}

impl<S, D, I, F> Transform<S, D> for F
where
    I: IntoIterator<Item = D>,
    F: FnMut(S) -> I,
{
    type Out = I;
    #[inline]
    fn apply(&mut self, record: S) -> Result<I, TransformError> {
        Ok(self(record))
    }
}

/// Why a transform failed a record (for a SQL transform: the expression's
/// text and the value, e.g. ``cannot cast 'abc' to INT: not an integer in
/// `CAST(amount AS INT)` ``). The run names the record's shard and sequence
/// number around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError(pub String);

impl std::fmt::Display for TransformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A transform that can fail a record: `f` returns `Err` for a record it
/// cannot transform (a bad `CAST`, a division by zero, an overflow). The run
/// then stops with an error naming the record's shard, sequence number
/// (and sub-sequence number) and `f`'s error, or with
/// `--on-data-loss continue` skips the record and counts it
/// (`kinesis_tables_data_loss_total{kind="transform_failed"}` and the final
/// report).
pub fn fallible<S, D, I, E, F>(f: F) -> impl Transform<S, D>
where
    I: IntoIterator<Item = D>,
    E: std::fmt::Display,
    F: FnMut(S) -> Result<I, E>,
{
    Fallible(f)
}

/// The transform [`fallible`] makes.
struct Fallible<F>(F);

impl<S, D, I, E, F> Transform<S, D> for Fallible<F>
where
    I: IntoIterator<Item = D>,
    E: std::fmt::Display,
    F: FnMut(S) -> Result<I, E>,
{
    type Out = I;
    #[inline]
    fn apply(&mut self, record: S) -> Result<I, TransformError> {
        (self.0)(record).map_err(|e| TransformError(e.to_string()))
    }
}

/// Checks a transform's signature where a pipeline names it, so that a wrong
/// one is one error that names the function.
/// Returns an opaque transform, so a wrong signature is reported here only.
pub fn transform<S, D, T: Transform<S, D>>(t: T) -> impl Transform<S, D> {
    t
}

impl PipelineReport {
    /// Records out per second of [`PipelineReport::seconds`].
    pub fn rate(&self) -> f64 {
        self.records_out as f64 / self.seconds.max(1e-3)
    }

    /// The one line that reports a finished run, as [`main`] prints it:
    /// `NAME: IN in, OUT out in SECONDS s (RATE records/s), stopped by WHY`.
    /// With records skipped: `…, SKIPPED skipped, stopped by WHY`.
    pub fn summary(&self, name: &str) -> String {
        let skipped = if self.records_skipped > 0 { format!(", {} skipped", self.records_skipped) } else { String::new() };
        format!(
            "{name}: {} in, {} out in {:.2} s ({:.0} records/s){skipped}, stopped by {}",
            self.records_in,
            self.records_out,
            self.seconds,
            self.rate(),
            self.stopped_by
        )
    }
}

/// Runs `from` → `transform` → `to` until a signal or idleness stops it, or
/// a bounded source (`datagen` with `number-of-rows`) is done.
pub async fn run<S, D, T>(name: &str, options: &PipelineOptions, transform: T) -> Result<PipelineReport, PipelineError>
where
    S: Record,
    D: Record + Sync,
    T: Transform<S, D>,
{
    let health = health::Health::new(health::DEFAULT_STALE_AFTER);
    if let Some(addr) = options.metrics_addr {
        metrics::install_exporter(addr, health.clone()).await?;
    }
    let source = io::start_source::<S>(name, options).await?;
    if let crate::checkpoint::CheckpointStoreConfig::DynamoDb(_) = options.checkpoint_store {
        health.set_leases(health::lease_view(name));
    }
    let cfg = D::config().map_err(|e| PipelineError::Sink(SinkError::Failed { reason: e.to_string(), given_up: 0 }))?;
    let health = &health;
    match cfg.connector {
        ConnectorKind::Print => drive(name, options, transform, source, PrintSink::<D>::new()?, health).await,
        ConnectorKind::Blackhole => drive(name, options, transform, source, Blackhole::<D>::default(), health).await,
        _ => {
            let mut sink = Sink::<D>::connect().await?;
            if let Some(fence) = source.origin_fence() {
                PipelineSink::fence_origins(&mut sink, fence);
            }
            drive(name, options, transform, source, sink, health).await
        }
    }
}

/// The run loop, generic over the sink (called once per record), with the
/// source behind a box (called once per batch).
async fn drive<S, D, T, O>(
    name: &str,
    options: &PipelineOptions,
    mut transform: T,
    mut source: Box<dyn PipelineSource<S>>,
    mut sink: O,
    health: &health::Health,
) -> Result<PipelineReport, PipelineError>
where
    S: Record,
    D: Record,
    T: Transform<S, D>,
    O: PipelineSink<D>,
{
    let mut metrics = Metrics::new(name);
    let mut acks = sink.acknowledgements();
    let mut pending: VecDeque<(u64, Option<Ack>)> = VecDeque::new();
    // Listens for SIGINT/SIGTERM for the whole run: the first stops it, a
    // second one exits the process at once.
    let signals = Signals::install();
    let mut stop = signals.stopped.clone();
    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut records_in = 0u64;
    let mut refused_skipped = 0u64;
    let mut failed_skipped = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut progress = options.progress_every.map(|every| Progress::new(every, options.log_format, started));
    // Shards whose batches came in earlier groups (see `feed`).
    let mut seen = std::collections::HashSet::new();
    // When a stop signal was seen: the drain (and the rest of a batch being
    // sent when it came) must end within the shutdown timeout from then.
    let mut signalled_at: Option<tokio::time::Instant> = None;
    health.started();
    let stopped_by = loop {
        health.beat();
        tokio::select! {
            batch = source.next(), if pending.len() < MAX_PENDING_BATCHES => {
                let Some(first) = batch? else { break "done" };
                // Generated rows have no shards to mix: one batch at a time.
                let max = if first.shard().is_some() { GATHER.min(MAX_PENDING_BATCHES - pending.len()) } else { 1 };
                let (group, done) = feed::gather(source.as_mut(), first, max)?;
                last_record = Instant::now();
                let mut run = feed::Feeding {
                    sink: &mut sink,
                    options,
                    name,
                    stop: &mut stop,
                    signalled_at: &mut signalled_at,
                    refused_skipped: &mut refused_skipped,
                    failed_skipped: &mut failed_skipped,
                    pending: &mut pending,
                };
                let interrupted = run.send_group(group, &mut transform, &mut seen, &metrics, &mut records_in).await?;
                if interrupted {
                    // Part of a batch was not sent within the shutdown
                    // timeout: it is not acknowledged, so a restart reads it again.
                    break "signal";
                }
                // A batch that sent nothing (a filtering transform) may be
                // covered already: no new acknowledgement will announce it.
                let through = *acks.borrow();
                release(&mut pending, through, source.as_mut());
                if signalled_at.is_some() {
                    break "signal";
                }
                if done {
                    break "done";
                }
            }
            changed = acks.changed() => {
                if changed.is_err() {
                    // The sink's worker is gone: flush reports why.
                    sink.flush().await?;
                }
                let through = *acks.borrow_and_update();
                release(&mut pending, through, source.as_mut());
            }
            _ = stopped(&mut stop) => {
                signalled_at = Some(tokio::time::Instant::now());
                break "signal";
            }
            _ = tick.tick() => {
                sink.check()?;
                let through = *acks.borrow();
                release(&mut pending, through, source.as_mut());
                let lag = source.lag();
                metrics.update(records_in, source.stats(), &lag, sink.stats(), refused_skipped);
                metrics.transform_failed(failed_skipped);
                if let Some(idle) = options.stop_when_idle
                    && last_record.elapsed() >= idle
                    && pending.is_empty()
                    && source.caught_up()
                {
                    break "idle";
                }
                if let Some(p) = &mut progress {
                    let max_lag = lag.values().max().copied().unwrap_or(0);
                    if let Some(line) = p.due(name, records_in, sink.stats().acknowledged, max_lag, Instant::now()) {
                        p.print(&line);
                    }
                }
            }
        }
    };
    health.stopping();
    if let Some(p) = &mut progress {
        p.finish();
    }
    // Drain: everything sent is acknowledged before the final checkpoint,
    // within the shutdown timeout.
    let deadline = signalled_at.unwrap_or_else(tokio::time::Instant::now) + options.shutdown_timeout;
    if let Ok(flushed) = tokio::time::timeout_at(deadline, sink.flush()).await {
        flushed?;
    } else {
        // Commit what was acknowledged, nothing more, and say what was not written.
        let through = *acks.borrow();
        release(&mut pending, through, source.as_mut());
        let stats = sink.abort();
        let unwritten = stats.accepted.saturating_sub(stats.acknowledged + stats.given_up);
        tracing::error!(
            pipeline = name,
            unwritten,
            "the drain did not finish within {:?}; committing what was acknowledged",
            options.shutdown_timeout
        );
        source.close().await?;
        return Err(PipelineError::ShutdownTimeout { timeout: options.shutdown_timeout, unwritten });
    }
    for (_, ack) in pending.drain(..) {
        if let Some(ack) = ack {
            source.ack(ack);
        }
    }
    let stats = sink.close().await?;
    source.close().await?;
    drop(signals);
    metrics.update(records_in, SourceStats::default(), &BTreeMap::new(), stats, refused_skipped);
    metrics.transform_failed(failed_skipped);
    let report = PipelineReport {
        records_in,
        records_out: stats.acknowledged,
        records_skipped: refused_skipped + failed_skipped,
        seconds: active_seconds(started.elapsed(), stopped_by, options.stop_when_idle),
        stopped_by,
    };
    // The one report of the run is `main`'s summary line (or the caller's):
    // here only at debug level, with the same numbers.
    tracing::debug!(
        pipeline = name,
        records_in = report.records_in,
        records_out = report.records_out,
        seconds = report.seconds,
        "stopped by {stopped_by}"
    );
    Ok(report)
}

/// How long a run worked: its wall time, less the `--stop-when-idle` wait
/// that ended it (the last `idle` of a run stopped by idleness was waiting).
fn active_seconds(elapsed: Duration, stopped_by: &str, stop_when_idle: Option<Duration>) -> f64 {
    match (stopped_by, stop_when_idle) {
        ("idle", Some(idle)) => elapsed.saturating_sub(idle),
        _ => elapsed,
    }
    .as_secs_f64()
}

/// Acknowledges, in order, the pending source batches whose records the sink
/// has all acknowledged (`through`: the sink's count of leading acknowledged
/// records; a batch's ticket is the sink's accepted count after it).
fn release<S>(pending: &mut VecDeque<(u64, Option<Ack>)>, through: u64, source: &mut dyn PipelineSource<S>) {
    while pending.front().is_some_and(|(ticket, _)| *ticket <= through) {
        if let Some((_, Some(ack))) = pending.pop_front() {
            source.ack(ack);
        }
    }
}

/// A pipeline binary's `main`: parses the command line (and the `KT_…`
/// environment variables), sets up logging, runs the pipeline and turns the
/// outcome into the exit code (0 success, 1 failure, 2 usage or the
/// checkpoint locked by another process). A finished run is reported by one
/// line on stderr ([`PipelineReport::summary`]; with `--log-format json`, one
/// JSON event with the same numbers).
///
/// `PIPELINE [--checkpoint-dir DIR] [--stop-when-idle DURATION] [--shutdown-timeout DURATION]
/// [--on-data-loss fail|continue] [--metrics-addr ADDR] [--progress] [--log-format text|json]`
pub fn main<F>(name: &str, run: F) -> std::process::ExitCode
where
    F: FnOnce(PipelineOptions) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<PipelineReport, PipelineError>> + Send>>,
{
    use std::io::IsTerminal;
    use std::process::ExitCode;
    let cli = match args::parse(name, std::env::args_os(), |var| std::env::var_os(var)) {
        Ok(cli) => cli,
        Err(e) => {
            // Help goes to stdout (exit 0), a usage error to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut options = cli.options;
    if cli.progress.unwrap_or_else(|| std::io::stderr().is_terminal()) {
        options.progress_every = Some(Duration::from_secs(1));
    }
    let json = options.log_format == LogFormat::Json;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { logs.json().try_init() } else { logs.try_init() };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        // stderr: stdout belongs to a `print` sink.
        Ok(report) if json => {
            tracing::info!(
                pipeline = name,
                records_in = report.records_in,
                records_out = report.records_out,
                seconds = report.seconds,
                records_per_second = report.rate(),
                stopped_by = report.stopped_by,
                "{}",
                report.summary(name)
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            eprintln!("{}", report.summary(name));
            ExitCode::SUCCESS
        }
        Err(e) if json => {
            tracing::error!(pipeline = name, exit_code = e.exit_code(), "{name}: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// A pipeline's checkpoint store from its spec's `checkpoints:` block (key
/// and value text, as the compiler checked them), with `${ENV}` values read
/// from the environment now and checked by the compiler's rules. Generated
/// `run_<name>` functions call it.
pub fn checkpoint_store(raw: &[(&str, &str)]) -> Result<crate::checkpoint::CheckpointStoreConfig, PipelineError> {
    kinesis_tables_config::checkpoints::resolve_at_startup(raw, |var| std::env::var(var).ok())
        .map_err(|errors| PipelineError::Config(errors.join("; ")))
}

/// A command-line duration: `5s`, `500ms`, `2m`, `1h`. The unit is
/// mandatory; the parser is the one specs use
/// ([`kinesis_tables_config::value::parse_duration_with`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    use kinesis_tables_config::value::{BareNumber, parse_duration_with};
    match parse_duration_with(text, BareNumber::Refused) {
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(e) => Err(match e.help {
            Some(help) => format!("{}: {help}", e.message),
            None => e.message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_durations_need_a_unit_and_never_overflow() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        // Used to panic in Duration::from_secs_f64.
        let e = parse_duration("99999999999999999999999h").unwrap_err();
        assert!(e.contains("too long"), "{e}");
        // Used to mean seconds, where a spec's bare number means milliseconds.
        let e = parse_duration("5").unwrap_err();
        assert!(e.contains("no unit") && e.contains("5s"), "{e}");
        assert!(parse_duration("five s").is_err());
    }

    #[test]
    fn the_default_shutdown_timeout_fits_kubernetes_grace_period() {
        let o = PipelineOptions::default();
        assert_eq!(o.shutdown_timeout, Duration::from_secs(25));
        assert_eq!(o.on_data_loss, OnDataLoss::Fail);
    }
}
