//! Running a pipeline: records of one table read from Kinesis, transformed,
//! and written to another table's stream, at least once.
//!
//! A source batch is acknowledged (and so, within a commit interval,
//! checkpointed) only after the sink has acknowledged every record made from
//! it and from every earlier batch. A crash therefore repeats records, never
//! skips them. SIGINT and SIGTERM stop reading, wait for the sink to
//! acknowledge everything, commit the checkpoint and return `Ok`.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::Record;
use crate::checkpoint::FileCheckpointStore;
use crate::config::ConnectorKind;
use crate::datagen::Datagen;
use crate::print::{Blackhole, PrintSink};
use crate::sink::{Sink, SinkError, SinkStats};
use crate::source::{Ack, Source, SourceError, SourceStats};

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
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            checkpoint_dir: PathBuf::from("checkpoints"),
            stop_when_idle: None,
            commit_interval: Duration::from_secs(1),
            progress_every: None,
            metrics_addr: None,
        }
    }
}

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
}

impl std::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineError::Source(e) => write!(f, "{e}"),
            PipelineError::Sink(e) => write!(f, "{e}"),
            PipelineError::Generator(e) => write!(f, "datagen: {e}"),
            PipelineError::Metrics(e) => write!(f, "metrics endpoint: {e}"),
            PipelineError::CheckpointLocked(e) => write!(f, "{e}"),
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
            .install()
            .map_err(|e| PipelineError::Metrics(format!("{addr}: {e}")))?;
    }
    let mut metrics = Metrics::new(name);
    let mut source = Input::<S>::start(name, options).await?;
    let mut sink = Output::<D>::connect().await?;
    let mut acks = sink.acknowledgements();
    let mut pending: VecDeque<(u64, Option<Ack>)> = VecDeque::new();
    let mut stop = stop_signal();
    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut records_in = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_progress = (Instant::now(), 0u64);
    let mut outs: Vec<D> = Vec::new();
    let stopped_by = loop {
        tokio::select! {
            batch = source.next(), if pending.len() < MAX_PENDING_BATCHES => {
                let Some((records, ack)) = batch? else { break "done" };
                records_in += records.len() as u64;
                metrics.batch(records.len());
                last_record = Instant::now();
                for record in records {
                    outs.extend(transform.apply(record));
                }
                for out in outs.drain(..) {
                    sink.send(&out).await?;
                }
                sink.end_batch()?;
                pending.push_back((sink.accepted(), ack));
            }
            changed = acks.changed() => {
                if changed.is_err() {
                    // The sink's worker is gone: flush reports why.
                    sink.flush().await?;
                }
                let through = *acks.borrow_and_update();
                while pending.front().is_some_and(|(ticket, _)| *ticket <= through) {
                    if let Some((_, Some(ack))) = pending.pop_front() {
                        source.ack(ack);
                    }
                }
            }
            _ = &mut stop => break "signal",
            _ = tick.tick() => {
                sink.check()?;
                metrics.update(records_in, source.stats(), &source.lag(), sink.stats());
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
    // Drain: everything sent is acknowledged before the final checkpoint.
    sink.flush().await?;
    for (_, ack) in pending.drain(..) {
        if let Some(ack) = ack {
            source.ack(ack);
        }
    }
    let stats = sink.close().await?;
    source.close().await?;
    metrics.update(records_in, SourceStats::default(), &BTreeMap::new(), stats);
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
                    .start()
                    .await?,
            )),
        })
    }

    /// The next batch and what acknowledges it; `None` once a bounded source is done.
    async fn next(&mut self) -> Result<Option<(Vec<S>, Option<Ack>)>, PipelineError> {
        match self {
            Input::Kinesis(s) => {
                let b = s.next().await?;
                Ok(Some((b.records, Some(b.ack))))
            }
            Input::Datagen(d) => Ok(d.next().await.map_err(|e| PipelineError::Generator(e.0))?.map(|rows| (rows, None))),
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

/// Resolves on SIGINT or SIGTERM.
fn stop_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}

/// A pipeline binary's `main`: parses the command line, sets up logging,
/// runs the pipeline and turns the outcome into the exit code (0 success,
/// 1 failure, 2 usage or the checkpoint locked by another process).
///
/// `PIPELINE [--checkpoint-dir DIR] [--stop-when-idle DURATION] [--progress]`
pub fn main<F>(name: &str, run: F) -> std::process::ExitCode
where
    F: FnOnce(PipelineOptions) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<PipelineReport, PipelineError>> + Send>>,
{
    use std::io::IsTerminal;
    use std::process::ExitCode;
    let usage = format!(
        "usage: {name} [--checkpoint-dir DIR] [--stop-when-idle DURATION] [--metrics-addr ADDR] [--progress]\n\n\
         Runs pipeline `{name}` until SIGINT or SIGTERM (then drains, commits and exits 0).\n\
         The endpoint, region and credentials come from the spec and the standard AWS\n\
         environment (AWS_ENDPOINT_URL, AWS_REGION, the credentials chain). RUST_LOG sets logging.\n\n\
         --checkpoint-dir DIR       where checkpoints live (default: checkpoints)\n\
         --stop-when-idle DURATION  exit 0 once caught up with no records for DURATION (5s, 500ms, 2m)\n\
         --metrics-addr ADDR        serve Prometheus metrics at http://ADDR/metrics\n\
         --progress                 print progress to stderr (the default on a terminal)"
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
            "--stop-when-idle" => match value(&mut args).as_deref().map(parse_duration) {
                Some(Ok(d)) => options.stop_when_idle = Some(d),
                Some(Err(e)) => {
                    eprintln!("--stop-when-idle: {e}\n\n{usage}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("--stop-when-idle needs a duration\n\n{usage}");
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

/// `5s`, `500ms`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration such as 5s, 500ms or 2m"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit `{other}` in `{text}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
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

    fn update(&mut self, records_in: u64, si: SourceStats, lag: &BTreeMap<String, i64>, so: SinkStats) {
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
