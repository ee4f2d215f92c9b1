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

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::Record;
use crate::checkpoint::FileCheckpointStore;
use crate::config::ConnectorKind;
use crate::datagen::Datagen;
use crate::policy::OnDataLoss;
use crate::print::{Blackhole, PrintSink};
use crate::sink::{Sink, SinkError, SinkStats};
use crate::source::{Ack, Batch, Source, SourceError, SourceStats};

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
    /// Serve Prometheus metrics at `http://ADDR/metrics`.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How long the drain after a stop (the sink writing out what it holds)
    /// may take. On expiry the run commits what was acknowledged, reports
    /// what was not written and fails.
    pub shutdown_timeout: Duration,
    /// What to do with data that cannot be delivered: positions that fell
    /// out of the stream's retention, and records the sink refuses.
    pub on_data_loss: OnDataLoss,
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
    /// Another process of this pipeline holds its checkpoint lock.
    CheckpointLocked(String),
    /// The sink refused a record the transform made (with `--on-data-loss fail`):
    /// `origin` names the source record it came from, `reason` what is wrong with it.
    Refused {
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
            PipelineError::CheckpointLocked(e) => write!(f, "{e}"),
            PipelineError::Refused { origin, reason } => write!(
                f,
                "the sink refused a record made from {origin}: {reason} (`--on-data-loss continue` skips and counts such records)"
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
    /// How long the run worked: its wall time, less the `--stop-when-idle`
    /// wait that ended it.
    pub seconds: f64,
    /// Why it ended: `signal`, `idle`, or `done` (a bounded source ended).
    pub stopped_by: &'static str,
}

/// How long a gauge series lives without being set (see `run`).
const GAUGE_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many source batches may wait for the sink before reading pauses.
const MAX_PENDING_BATCHES: usize = 64;

/// A pipeline's transform: a function from a source record to any number of
/// sink records (`Option<D>`, `Vec<D>`, any `IntoIterator<Item = D>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a transform from `{S}` to `{D}`",
    label = "the pipeline's transform has the wrong signature",
    note = "a transform is `fn({S}) -> T` where `T` is `Option<{D}>`, `Vec<{D}>` or another `IntoIterator<Item = {D}>`"
)]
pub trait Transform<S, D> {
    type Out: IntoIterator<Item = D>;
    fn apply(&mut self, record: S) -> Self::Out;
}

impl<S, D, I, F> Transform<S, D> for F
where
    I: IntoIterator<Item = D>,
    F: FnMut(S) -> I,
{
    type Out = I;
    fn apply(&mut self, record: S) -> I {
        self(record)
    }
}

/// Checks a transform's signature where a pipeline names it, so that a wrong
/// one is one error that names the function.
/// Returns an opaque transform, so a wrong signature is reported here only.
pub fn transform<S, D, T: Transform<S, D>>(t: T) -> impl Transform<S, D> {
    t
}

/// Runs `from` → `transform` → `to` until a signal or idleness stops it, or
/// a bounded source (`datagen` with `number-of-rows`) is done.
pub async fn run<S, D, T>(name: &str, options: &PipelineOptions, mut transform: T) -> Result<PipelineReport, PipelineError>
where
    S: Record,
    D: Record,
    T: Transform<S, D>,
{
    if let Some(addr) = options.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            // The metrics facade cannot remove a series: a gauge not set for
            // this long is dropped. The run sets its gauges every 250 ms, so
            // this removes the lag of a shard that finished (or was closed).
            .idle_timeout(metrics_util::MetricKindMask::GAUGE, Some(GAUGE_IDLE_TIMEOUT))
            .install()
            .map_err(|e| PipelineError::Metrics(format!("{addr}: {e}")))?;
    }
    let mut metrics = Metrics::new(name);
    let mut source = Input::<S>::start(name, options).await?;
    let mut sink = Output::<D>::connect().await?;
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
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_progress = (Instant::now(), 0u64);
    let mut outs: Vec<(usize, D)> = Vec::new();
    // When a stop signal was seen: the drain (and the rest of a batch being
    // sent when it came) must end within the shutdown timeout from then.
    let mut signalled_at: Option<tokio::time::Instant> = None;
    let stopped_by = loop {
        tokio::select! {
            batch = source.next(), if pending.len() < MAX_PENDING_BATCHES => {
                let Some(mut batch) = batch? else { break "done" };
                let records = std::mem::take(&mut batch.records);
                records_in += records.len() as u64;
                metrics.batch(records.len());
                last_record = Instant::now();
                for (i, record) in records.into_iter().enumerate() {
                    outs.extend(transform.apply(record).into_iter().map(|out| (i, out)));
                }
                let mut interrupted = false;
                for (i, out) in outs.drain(..) {
                    // `send` waits while the sink is full: a signal must still
                    // be seen. It does not abandon the batch at once (a healthy
                    // sink finishes it, so a clean stop repeats nothing); the
                    // rest of the batch is sent within the shutdown timeout.
                    // `send` is cancel-safe: it only waits before accepting.
                    if signalled_at.is_none() {
                        tokio::select! {
                            sent = sink.send(&out) => {
                                if let Err(e) = sent {
                                    refused(e, i, &batch, options, name, &mut refused_skipped)?;
                                }
                                continue;
                            }
                            _ = stopped(&mut stop) => signalled_at = Some(tokio::time::Instant::now()),
                        }
                    }
                    let deadline = signalled_at.unwrap_or_else(tokio::time::Instant::now) + options.shutdown_timeout;
                    let Ok(sent) = tokio::time::timeout_at(deadline, sink.send(&out)).await else {
                        interrupted = true;
                        break;
                    };
                    if let Err(e) = sent {
                        refused(e, i, &batch, options, name, &mut refused_skipped)?;
                    }
                }
                if interrupted {
                    // Part of the batch was not sent within the shutdown
                    // timeout: it is not acknowledged, so a restart reads it again.
                    outs.clear();
                    break "signal";
                }
                sink.end_batch()?;
                pending.push_back((sink.accepted(), batch.ack));
                // A batch that sent nothing (a filtering transform) may be
                // covered already: no new acknowledgement will announce it.
                let through = *acks.borrow();
                release(&mut pending, through, &mut source);
                if signalled_at.is_some() {
                    break "signal";
                }
            }
            changed = acks.changed() => {
                if changed.is_err() {
                    // The sink's worker is gone: flush reports why.
                    sink.flush().await?;
                }
                let through = *acks.borrow_and_update();
                release(&mut pending, through, &mut source);
            }
            _ = stopped(&mut stop) => {
                signalled_at = Some(tokio::time::Instant::now());
                break "signal";
            }
            _ = tick.tick() => {
                sink.check()?;
                let through = *acks.borrow();
                release(&mut pending, through, &mut source);
                metrics.update(records_in, source.stats(), &source.lag(), sink.stats(), refused_skipped);
                if let Some(idle) = options.stop_when_idle
                    && last_record.elapsed() >= idle
                    && pending.is_empty()
                    && source.caught_up()
                {
                    break "idle";
                }
                if let Some(every) = options.progress_every
                    && last_progress.0.elapsed() >= every
                {
                    let out = sink.stats().acknowledged;
                    let rate = (out - last_progress.1) as f64 / last_progress.0.elapsed().as_secs_f64();
                    // On a terminal the line rewrites itself; elsewhere one line per report.
                    let end = if std::io::IsTerminal::is_terminal(&std::io::stderr()) { "\r" } else { "\n" };
                    let lag = source.lag().values().max().copied().unwrap_or(0);
                    eprint!("{}{name}: {records_in} in, {out} out, {rate:.0} records/s, max lag {lag} ms   {}", if end == "\r" { "\r" } else { "" }, if end == "\n" { "\n" } else { "" });
                    last_progress = (Instant::now(), out);
                }
            }
        }
    };
    // Drain: everything sent is acknowledged before the final checkpoint,
    // within the shutdown timeout.
    let deadline = signalled_at.unwrap_or_else(tokio::time::Instant::now) + options.shutdown_timeout;
    if let Ok(flushed) = tokio::time::timeout_at(deadline, sink.flush()).await {
        flushed?;
    } else {
        // Commit what was acknowledged, nothing more, and say what was not written.
        let through = *acks.borrow();
        release(&mut pending, through, &mut source);
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
    tracing::info!(
        pipeline = name,
        records_in,
        records_out = stats.acknowledged,
        seconds = started.elapsed().as_secs_f64(),
        "stopped by {stopped_by}"
    );
    // Stopped by idleness, the last `idle` of the run was waiting: leave it out.
    let active = match (stopped_by, options.stop_when_idle) {
        ("idle", Some(idle)) => started.elapsed().saturating_sub(idle),
        _ => started.elapsed(),
    };
    Ok(PipelineReport { records_in, records_out: stats.acknowledged, seconds: active.as_secs_f64(), stopped_by })
}

/// Acknowledges, in order, the pending source batches whose records the sink
/// has all acknowledged (`through`: the sink's count of leading acknowledged
/// records; a batch's ticket is the sink's accepted count after it).
fn release<S: Record>(pending: &mut VecDeque<(u64, Option<Ack>)>, through: u64, source: &mut Input<S>) {
    while pending.front().is_some_and(|(ticket, _)| *ticket <= through) {
        if let Some((_, Some(ack))) = pending.pop_front() {
            source.ack(ack);
        }
    }
}

/// A sink error for output `i` of a source batch: a refused record fails the
/// run naming where it came from, or (`--on-data-loss continue`) is skipped
/// and counted; any other error fails the run.
fn refused<S>(
    e: SinkError,
    i: usize,
    batch: &Pulled<S>,
    options: &PipelineOptions,
    name: &str,
    refused_skipped: &mut u64,
) -> Result<(), PipelineError> {
    match e {
        SinkError::Record(reason) => {
            let origin = batch.origin_text(i);
            match options.on_data_loss {
                OnDataLoss::Fail => Err(PipelineError::Refused { origin, reason }),
                OnDataLoss::Continue => {
                    *refused_skipped += 1;
                    tracing::error!(pipeline = name, "skipping a record made from {origin} that the sink refused: {reason}");
                    Ok(())
                }
            }
        }
        e => Err(e.into()),
    }
}

/// One batch from a pipeline's source: its records, what acknowledges it,
/// and (from Kinesis) where each record came from.
struct Pulled<S> {
    records: Vec<S>,
    ack: Option<Ack>,
    /// The source batch, its records taken: for [`Batch::origin`].
    from: Option<Batch<S>>,
}

impl<S> Pulled<S> {
    /// Names where record `i` came from, for an error message.
    fn origin_text(&self, i: usize) -> String {
        match &self.from {
            Some(b) => match b.origin(i) {
                Some(o) => match o.sub_sequence_number {
                    Some(sub) => {
                        format!("shard {}, sequence number {}, sub-sequence number {sub}", b.shard_id, o.sequence_number)
                    }
                    None => format!("shard {}, sequence number {}", b.shard_id, o.sequence_number),
                },
                None => format!("shard {}, record {i} of a batch", b.shard_id),
            },
            None => format!("generated row {i} of a batch"),
        }
    }
}

/// A pipeline's source: a Kinesis stream or generated rows.
enum Input<S: Record> {
    Kinesis(Box<Source<S>>),
    Datagen(Datagen<S>),
}

impl<S: Record> Input<S> {
    async fn start(name: &str, options: &PipelineOptions) -> Result<Self, PipelineError> {
        let cfg = S::config().map_err(|e| PipelineError::Source(SourceError::Setup(e.to_string())))?;
        Ok(match cfg.connector {
            ConnectorKind::Datagen => Input::Datagen(Datagen::start().map_err(|e| PipelineError::Generator(e.0))?),
            _ => Input::Kinesis(Box::new(
                Source::<S>::builder()
                    .checkpoints(FileCheckpointStore::open(&options.checkpoint_dir, name).map_err(|e| match e.is_locked() {
                        true => PipelineError::CheckpointLocked(e.to_string()),
                        false => PipelineError::Source(SourceError::Checkpoint(e.to_string())),
                    })?)
                    .commit_interval(options.commit_interval)
                    .on_data_loss(options.on_data_loss)
                    .start()
                    .await?,
            )),
        })
    }

    /// The next batch and what acknowledges it; `None` once a bounded source is done.
    async fn next(&mut self) -> Result<Option<Pulled<S>>, PipelineError> {
        match self {
            Input::Kinesis(s) => {
                let mut b = s.next().await?;
                let records = std::mem::take(&mut b.records);
                Ok(Some(Pulled { records, ack: Some(b.ack.clone()), from: Some(b) }))
            }
            Input::Datagen(d) => {
                Ok(d.next().await.map_err(|e| PipelineError::Generator(e.0))?.map(|records| Pulled { records, ack: None, from: None }))
            }
        }
    }

    fn ack(&mut self, ack: Ack) {
        if let Input::Kinesis(s) = self {
            s.ack(ack);
        }
    }

    fn lag(&self) -> BTreeMap<String, i64> {
        match self {
            Input::Kinesis(s) => s.lag(),
            Input::Datagen(_) => BTreeMap::new(),
        }
    }

    /// Whether every shard's reader has read to the tip (a GetRecords reported
    /// no lag) — not merely that no records came: a shard whose first read is
    /// still under way is not caught up.
    fn caught_up(&self) -> bool {
        match self {
            Input::Kinesis(s) => {
                let (status, lag) = (s.shard_status(), s.lag());
                !status.is_empty()
                    && status.iter().all(|(id, st)| match *st {
                        "reading" => lag.get(id) == Some(&0),
                        "starting" => false,
                        _ => true,
                    })
            }
            Input::Datagen(_) => true,
        }
    }

    fn stats(&self) -> SourceStats {
        match self {
            Input::Kinesis(s) => s.stats(),
            Input::Datagen(d) => SourceStats { records: d.produced(), ..SourceStats::default() },
        }
    }

    async fn close(self) -> Result<(), PipelineError> {
        if let Input::Kinesis(s) = self {
            s.close().await?;
        }
        Ok(())
    }
}

/// A pipeline's sink: a Kinesis stream, the terminal, or nothing.
enum Output<D: Record> {
    Kinesis(Sink<D>),
    Print(PrintSink<D>),
    Blackhole(Blackhole<D>),
}

impl<D: Record> Output<D> {
    async fn connect() -> Result<Self, PipelineError> {
        let cfg = D::config().map_err(|e| PipelineError::Sink(SinkError::Failed { reason: e.to_string(), given_up: 0 }))?;
        Ok(match cfg.connector {
            ConnectorKind::Print => Output::Print(PrintSink::new()?),
            ConnectorKind::Blackhole => Output::Blackhole(Blackhole::default()),
            _ => Output::Kinesis(Sink::connect().await?),
        })
    }

    async fn send(&mut self, record: &D) -> Result<(), SinkError> {
        match self {
            Output::Kinesis(s) => s.send(record).await,
            Output::Print(p) => p.send(record),
            Output::Blackhole(b) => {
                b.send(record);
                Ok(())
            }
        }
    }

    /// After each source batch: the local sinks write out and acknowledge.
    fn end_batch(&mut self) -> Result<(), SinkError> {
        match self {
            Output::Kinesis(_) => Ok(()),
            Output::Print(p) => p.flush(),
            Output::Blackhole(b) => {
                b.flush();
                Ok(())
            }
        }
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        match self {
            Output::Kinesis(s) => s.flush().await,
            _ => self.end_batch(),
        }
    }

    /// Stops at once, abandoning what is not yet written.
    fn abort(self) -> SinkStats {
        match self {
            Output::Kinesis(s) => s.abort(),
            other => other.stats(),
        }
    }

    async fn close(self) -> Result<SinkStats, SinkError> {
        match self {
            Output::Kinesis(s) => s.close().await,
            mut other => {
                other.end_batch()?;
                Ok(other.stats())
            }
        }
    }

    fn check(&self) -> Result<(), SinkError> {
        match self {
            Output::Kinesis(s) => s.check(),
            Output::Print(p) => p.check(),
            Output::Blackhole(_) => Ok(()),
        }
    }

    fn accepted(&self) -> u64 {
        match self {
            Output::Kinesis(s) => s.accepted(),
            Output::Print(p) => p.accepted(),
            Output::Blackhole(b) => b.accepted(),
        }
    }

    fn acknowledgements(&self) -> tokio::sync::watch::Receiver<u64> {
        match self {
            Output::Kinesis(s) => s.acknowledgements(),
            Output::Print(p) => p.acknowledgements(),
            Output::Blackhole(b) => b.acknowledgements(),
        }
    }

    fn stats(&self) -> SinkStats {
        match self {
            Output::Kinesis(s) => s.stats(),
            Output::Print(p) => p.stats(),
            Output::Blackhole(b) => b.stats(),
        }
    }
}

/// Resolves once the run was asked to stop.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The sender lives as long as the run: an error cannot mean "stop".
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// SIGINT and SIGTERM for the length of a run: the first sets `stopped`
/// (the run drains and commits); a second exits the process at once, with
/// 130 (SIGINT) or 143 (SIGTERM), committing nothing more.
struct Signals {
    stopped: tokio::sync::watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    fn install() -> Signals {
        let (tx, stopped) = tokio::sync::watch::channel(false);
        // Registered now, not when the task first runs, so no signal is missed.
        #[cfg(unix)]
        let streams = {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => None,
            }
        };
        let task = tokio::spawn(async move {
            #[cfg(unix)]
            let mut streams = streams;
            let mut next = async || -> (&'static str, i32) {
                #[cfg(unix)]
                if let Some((int, term)) = &mut streams {
                    return tokio::select! {
                        _ = int.recv() => ("SIGINT", 130),
                        _ = term.recv() => ("SIGTERM", 143),
                    };
                }
                let _ = tokio::signal::ctrl_c().await;
                ("SIGINT", 130)
            };
            let (first, _) = next().await;
            tracing::info!("{first}: stopping (a second SIGINT or SIGTERM exits at once)");
            tx.send_replace(true);
            let (second, code) = next().await;
            eprintln!("{second} while stopping: exiting at once without committing anything more");
            std::process::exit(code);
        });
        Signals { stopped, task }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A pipeline binary's `main`: parses the command line, sets up logging,
/// runs the pipeline and turns the outcome into the exit code (0 success,
/// 1 failure, 2 usage or the checkpoint locked by another process).
///
/// `PIPELINE [--checkpoint-dir DIR] [--stop-when-idle DURATION] [--shutdown-timeout DURATION]
/// [--on-data-loss fail|continue] [--metrics-addr ADDR] [--progress]`
pub fn main<F>(name: &str, run: F) -> std::process::ExitCode
where
    F: FnOnce(PipelineOptions) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<PipelineReport, PipelineError>> + Send>>,
{
    use std::io::IsTerminal;
    use std::process::ExitCode;
    let usage = format!(
        "usage: {name} [--checkpoint-dir DIR] [--stop-when-idle DURATION] [--shutdown-timeout DURATION]\n\
         \x20      [--on-data-loss fail|continue] [--metrics-addr ADDR] [--progress]\n\n\
         Runs pipeline `{name}` until SIGINT or SIGTERM (then drains, commits and exits 0;\n\
         a second SIGINT or SIGTERM exits at once, committing nothing more).\n\
         The endpoint, region and credentials come from the spec and the standard AWS\n\
         environment (AWS_ENDPOINT_URL, AWS_REGION, the credentials chain). RUST_LOG sets logging.\n\n\
         --checkpoint-dir DIR          where checkpoints live (default: checkpoints)\n\
         --stop-when-idle DURATION     exit 0 once caught up with no records for DURATION (5s, 500ms, 2m)\n\
         --shutdown-timeout DURATION   after a stop, wait at most DURATION (default 25s) for the sink to\n\
         \x20                             write what it holds; then commit what was written, report what was\n\
         \x20                             not, and exit 1\n\
         --on-data-loss fail|continue  a position past the stream's retention, or a record the sink\n\
         \x20                             refuses: stop with an error naming it (fail, the default), or skip\n\
         \x20                             it, count it in kinesis_tables_data_loss_total and go on\n\
         --metrics-addr ADDR           serve Prometheus metrics at http://ADDR/metrics\n\
         --progress                    print progress to stderr (the default on a terminal)"
    );
    let mut options = PipelineOptions::default();
    let mut args = std::env::args().skip(1);
    let mut progress = std::io::stderr().is_terminal();
    while let Some(a) = args.next() {
        let value = |args: &mut std::iter::Skip<std::env::Args>| args.next();
        match a.as_str() {
            "--checkpoint-dir" => match value(&mut args) {
                Some(v) => options.checkpoint_dir = v.into(),
                None => {
                    eprintln!("--checkpoint-dir needs a directory\n\n{usage}");
                    return ExitCode::from(2);
                }
            },
            "--stop-when-idle" | "--shutdown-timeout" => match value(&mut args).as_deref().map(parse_duration) {
                Some(Ok(d)) if a == "--stop-when-idle" => options.stop_when_idle = Some(d),
                Some(Ok(d)) => options.shutdown_timeout = d,
                Some(Err(e)) => {
                    eprintln!("{a}: {e}\n\n{usage}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("{a} needs a duration such as 5s\n\n{usage}");
                    return ExitCode::from(2);
                }
            },
            "--on-data-loss" => match value(&mut args).map(|v| v.parse::<OnDataLoss>()) {
                Some(Ok(p)) => options.on_data_loss = p,
                Some(Err(e)) => {
                    eprintln!("--on-data-loss: {e}\n\n{usage}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("--on-data-loss needs `fail` or `continue`\n\n{usage}");
                    return ExitCode::from(2);
                }
            },
            "--progress" => progress = true,
            "--metrics-addr" => match value(&mut args).map(|v| v.parse::<std::net::SocketAddr>().map_err(|e| format!("`{v}`: {e}"))) {
                Some(Ok(a)) => options.metrics_addr = Some(a),
                Some(Err(e)) => {
                    eprintln!("--metrics-addr: {e}\n\n{usage}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("--metrics-addr needs an address such as 127.0.0.1:9100\n\n{usage}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{usage}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument `{other}`\n\n{usage}");
                return ExitCode::from(2);
            }
        }
    }
    if progress {
        options.progress_every = Some(Duration::from_secs(1));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(report) => {
            // stderr: stdout belongs to a `print` sink.
            let secs = report.seconds.max(1e-3);
            eprintln!(
                "{name}: {} in, {} out in {secs:.2} s ({:.0} records/s), stopped by {}",
                report.records_in,
                report.records_out,
                report.records_out as f64 / secs,
                report.stopped_by
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// A command-line duration: `5s`, `500ms`, `2m`, `1h`. The unit is
/// mandatory; the parser is the one specs use
/// ([`kinesis_tables_codegen::value::parse_duration_with`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    use kinesis_tables_codegen::value::{BareNumber, parse_duration_with};
    match parse_duration_with(text, BareNumber::Refused) {
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(e) => Err(match e.help {
            Some(help) => format!("{}: {help}", e.message),
            None => e.message,
        }),
    }
}

/// The pipeline's Prometheus metrics (a no-op unless `--metrics-addr` installed
/// the exporter). Counters mirror the sink's and source's own counters.
struct Metrics {
    labels: Vec<metrics::Label>,
    last_commits: u64,
    last_commit_at: Instant,
}

impl Metrics {
    fn new(name: &str) -> Self {
        Metrics { labels: vec![metrics::Label::new("pipeline", name.to_owned())], last_commits: 0, last_commit_at: Instant::now() }
    }

    fn batch(&self, records: usize) {
        metrics::histogram!("kinesis_tables_source_batch_records", self.labels.clone()).record(records as f64);
    }

    fn update(&mut self, records_in: u64, si: SourceStats, lag: &BTreeMap<String, i64>, so: SinkStats, refused_skipped: u64) {
        let l = &self.labels;
        metrics::counter!("kinesis_tables_records_in_total", l.clone()).absolute(records_in);
        metrics::counter!("kinesis_tables_records_out_total", l.clone()).absolute(so.acknowledged);
        metrics::counter!("kinesis_tables_bytes_in_total", l.clone()).absolute(si.bytes);
        metrics::counter!("kinesis_tables_bytes_out_total", l.clone()).absolute(so.acknowledged_bytes);
        metrics::counter!("kinesis_tables_sink_requests_total", l.clone()).absolute(so.requests);
        metrics::counter!("kinesis_tables_retries_total", Self::with(l, "side", "sink")).absolute(so.retried_records);
        metrics::counter!("kinesis_tables_retries_total", Self::with(l, "side", "source")).absolute(si.throttled + si.transient_errors);
        for (kind, n) in [
            ("sink_failed_request", so.failed_requests),
            ("sink_refused_record", so.refused),
            ("sink_given_up", so.given_up),
            ("source_throttled", si.throttled),
            ("source_transient", si.transient_errors),
            ("source_expired_iterator", si.expired_iterators),
            ("source_skipped_bad_record", si.skipped_bad_records),
        ] {
            metrics::counter!("kinesis_tables_errors_total", Self::with(l, "kind", kind)).absolute(n);
        }
        // Data given up on under `--on-data-loss continue`.
        metrics::counter!("kinesis_tables_data_loss_total", Self::with(l, "kind", "retention")).absolute(si.data_loss);
        metrics::counter!("kinesis_tables_data_loss_total", Self::with(l, "kind", "sink_refused")).absolute(refused_skipped);
        if so.requests > 0 {
            metrics::gauge!("kinesis_tables_sink_batch_records_avg", l.clone()).set(so.acknowledged as f64 / so.requests as f64);
        }
        for (shard, ms) in lag {
            metrics::gauge!("kinesis_tables_lag_ms", Self::with(l, "shard", shard)).set(*ms as f64);
        }
        if si.checkpoints_written != self.last_commits {
            self.last_commits = si.checkpoints_written;
            self.last_commit_at = Instant::now();
        }
        metrics::gauge!("kinesis_tables_checkpoint_age_seconds", l.clone()).set(self.last_commit_at.elapsed().as_secs_f64());
    }

    fn with(l: &[metrics::Label], k: &'static str, v: &str) -> Vec<metrics::Label> {
        let mut v2 = l.to_vec();
        v2.push(metrics::Label::new(k, v.to_owned()));
        v2
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
