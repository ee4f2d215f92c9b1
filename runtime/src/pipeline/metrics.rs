//! What a run tells about itself while it runs: Prometheus metrics and the
//! `--progress` line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{LogFormat, PipelineError};
use crate::sink::SinkStats;
use crate::source::SourceStats;

/// How long a gauge series lives without being set.
const GAUGE_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves Prometheus metrics at `http://ADDR/metrics`, and `/healthz` and
/// `/readyz` from `health`, for the rest of the process.
pub(super) async fn install_exporter(addr: std::net::SocketAddr, health: super::health::Health) -> Result<(), PipelineError> {
    let listener = super::health::bind(addr).await.map_err(PipelineError::Metrics)?;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        // The metrics facade cannot remove a series: a gauge not set for
        // this long is dropped. The run sets its gauges every 250 ms, so
        // this removes the lag of a shard that finished (or was closed).
        .idle_timeout(metrics_util::MetricKindMask::GAUGE, Some(GAUGE_IDLE_TIMEOUT))
        .install_recorder()
        .map_err(|e| PipelineError::Metrics(format!("{addr}: {e}")))?;
    // Without the exporter's listener, upkeep (the idle timeout, histogram
    // buckets) is the installer's to run.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    super::health::serve(listener, std::sync::Arc::new(move || handle.render()), health);
    Ok(())
}

/// The pipeline's Prometheus metrics (a no-op unless `--metrics-addr` installed
/// the exporter). Counters mirror the sink's and source's own counters.
pub(super) struct Metrics {
    labels: Vec<metrics::Label>,
    last_commits: u64,
    last_commit_at: Instant,
}

impl Metrics {
    pub(super) fn new(name: &str) -> Self {
        Metrics { labels: vec![metrics::Label::new("pipeline", name.to_owned())], last_commits: 0, last_commit_at: Instant::now() }
    }

    pub(super) fn batch(&self, records: usize) {
        metrics::histogram!("kinesis_tables_source_batch_records", self.labels.clone()).record(records as f64);
    }

    pub(super) fn update(&mut self, records_in: u64, si: SourceStats, lag: &BTreeMap<String, i64>, so: SinkStats, refused_skipped: u64) {
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

    /// Source records the transform failed, skipped under `--on-data-loss continue`.
    pub(super) fn transform_failed(&self, skipped: u64) {
        metrics::counter!("kinesis_tables_data_loss_total", Self::with(&self.labels, "kind", "transform_failed")).absolute(skipped);
    }

    fn with(l: &[metrics::Label], k: &'static str, v: &str) -> Vec<metrics::Label> {
        let mut v2 = l.to_vec();
        v2.push(metrics::Label::new(k, v.to_owned()));
        v2
    }
}

/// The `--progress` report: every `every`, the counts so far and the rate of
/// records out over the last interval; an interval in which no record came
/// in or went out reads `idle N s` rather than `0 records/s`. The run's
/// average is the final summary's.
pub(super) struct Progress {
    every: Duration,
    format: LogFormat,
    /// On a terminal the line rewrites itself.
    terminal: bool,
    last_at: Instant,
    last_in: u64,
    last_out: u64,
    /// When a record last came in or went out.
    moved_at: Instant,
    /// A line was printed that does not end with a newline.
    open_line: bool,
}

impl Progress {
    pub(super) fn new(every: Duration, format: LogFormat, now: Instant) -> Self {
        Progress {
            every,
            format,
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            last_at: now,
            last_in: 0,
            last_out: 0,
            moved_at: now,
            open_line: false,
        }
    }

    /// The report's text if one is due at `now`.
    pub(super) fn due(&mut self, name: &str, records_in: u64, records_out: u64, max_lag_ms: i64, now: Instant) -> Option<String> {
        let interval = now.saturating_duration_since(self.last_at);
        if interval < self.every {
            return None;
        }
        let moved = records_in != self.last_in || records_out != self.last_out;
        if moved {
            self.moved_at = now;
        }
        let rate = if moved {
            let r = (records_out - self.last_out.min(records_out)) as f64 / interval.as_secs_f64().max(1e-3);
            format!("{r:.0} records/s")
        } else {
            format!("idle {} s", now.saturating_duration_since(self.moved_at).as_secs())
        };
        (self.last_at, self.last_in, self.last_out) = (now, records_in, records_out);
        Some(format!("{name}: {records_in} in, {records_out} out, {rate}, max lag {max_lag_ms} ms"))
    }

    /// Prints a report made by [`Progress::due`].
    pub(super) fn print(&mut self, line: &str) {
        match self.format {
            LogFormat::Json => tracing::info!(progress = line),
            LogFormat::Text if self.terminal => {
                eprint!("\r{line}   ");
                self.open_line = true;
            }
            LogFormat::Text => eprintln!("{line}"),
        }
    }

    /// Ends a line left open on the terminal, so what follows starts on its own.
    pub(super) fn finish(&mut self) {
        if std::mem::take(&mut self.open_line) {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_rate_is_over_the_last_interval_and_idle_is_not_a_rate() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut p = Progress::new(s, LogFormat::Text, t0);
        assert_eq!(p.due("p", 10, 10, 0, t0 + s / 2), None, "not due before the interval");
        // 1,000 records out in the first second, 3,000 in the second.
        assert_eq!(p.due("p", 1_000, 1_000, 5, t0 + s).as_deref(), Some("p: 1000 in, 1000 out, 1000 records/s, max lag 5 ms"));
        assert_eq!(p.due("p", 4_000, 4_000, 0, t0 + 2 * s).as_deref(), Some("p: 4000 in, 4000 out, 3000 records/s, max lag 0 ms"));
        // The last records went out: the next reports say how long it has
        // been idle, not `0 records/s`.
        let line = p.due("p", 4_000, 4_000, 0, t0 + 3 * s).unwrap();
        assert!(!line.contains("0 records/s"), "{line}");
        assert_eq!(line, "p: 4000 in, 4000 out, idle 1 s, max lag 0 ms");
        assert_eq!(p.due("p", 4_000, 4_000, 0, t0 + 4 * s).as_deref(), Some("p: 4000 in, 4000 out, idle 2 s, max lag 0 ms"));
        // Records in but none out (a filtering transform) is a rate of 0, not idleness.
        assert_eq!(p.due("p", 5_000, 4_000, 0, t0 + 5 * s).as_deref(), Some("p: 5000 in, 4000 out, 0 records/s, max lag 0 ms"));
    }
}
