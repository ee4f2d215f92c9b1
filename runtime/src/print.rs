//! Flink's `print` and `blackhole` sinks, for running pipelines without AWS.
//!
//! `print` writes each row in the table's format (json unless the spec says
//! otherwise; avro rows in Avro's JSON encoding), one per line, after `print-identifier> ` when one is set.
//! `blackhole` discards rows. Both acknowledge a row once it is written out
//! (for `print`: flushed to the file descriptor), so a pipeline's
//! checkpoints follow them exactly as they follow a Kinesis sink.

use std::io::Write;
use std::marker::PhantomData;

use tokio::sync::watch;

use crate::Record;
use crate::config::LocalConfig;
use crate::sink::{SinkError, SinkStats};

enum Target {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    Stderr(std::io::BufWriter<std::io::Stderr>),
}

impl Target {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Target::Stdout(w) => w,
            Target::Stderr(w) => w,
        }
    }
}

/// Writes rows to standard output or standard error.
pub struct PrintSink<R: Record> {
    prefix: Vec<u8>,
    out: Target,
    stats: SinkStats,
    /// Rows buffered but not yet flushed.
    buffered: u64,
    buffered_bytes: u64,
    acked: watch::Sender<u64>,
    failed: Option<SinkError>,
    _record: PhantomData<fn(&R)>,
}

impl<R: Record> PrintSink<R> {
    /// A print sink for table `R`, which must use `connector: print`.
    pub fn new() -> Result<Self, SinkError> {
        let cfg = R::config().map_err(|e| SinkError::Failed { reason: e.to_string(), given_up: 0 })?;
        let Some(LocalConfig::Print(p)) = &cfg.local else {
            return Err(SinkError::Failed { reason: format!("table `{}` does not use `connector: print`", R::TABLE_NAME), given_up: 0 });
        };
        let prefix = match &p.identifier {
            Some(id) => format!("{id}> ").into_bytes(),
            None => Vec::new(),
        };
        let out = if p.standard_error {
            Target::Stderr(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()))
        } else {
            Target::Stdout(std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()))
        };
        Ok(PrintSink {
            prefix,
            out,
            stats: SinkStats::default(),
            buffered: 0,
            buffered_bytes: 0,
            acked: watch::channel(0).0,
            failed: None,
            _record: PhantomData,
        })
    }

    /// Writes one row (into the buffer; [`PrintSink::flush`] pushes it out).
    pub fn send(&mut self, record: &R) -> Result<(), SinkError> {
        self.check()?;
        let data = match record.encode_text() {
            Ok(d) => d,
            Err(e) => {
                self.stats.refused += 1;
                return Err(e.into());
            }
        };
        let w = self.out.writer();
        let written = w.write_all(&self.prefix).and_then(|_| w.write_all(&data)).and_then(|_| w.write_all(b"\n"));
        if let Err(e) = written {
            return Err(self.fail(e));
        }
        self.stats.accepted += 1;
        self.buffered += 1;
        self.buffered_bytes += data.len() as u64;
        Ok(())
    }

    fn fail(&mut self, e: std::io::Error) -> SinkError {
        let err = SinkError::Failed { reason: format!("cannot print: {e}"), given_up: self.buffered };
        self.stats.given_up += self.buffered;
        self.buffered = 0;
        self.failed = Some(err.clone());
        err
    }

    /// Flushes what was written; the rows count as acknowledged. Publishes
    /// the acknowledged count even when nothing was buffered, so that a
    /// caller waiting for a notification after a batch with no rows is told.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.check()?;
        if self.buffered == 0 {
            self.acked.send_replace(self.stats.acknowledged);
            return Ok(());
        }
        if let Err(e) = self.out.writer().flush() {
            return Err(self.fail(e));
        }
        self.stats.acknowledged += self.buffered;
        self.stats.acknowledged_bytes += self.buffered_bytes;
        self.stats.requests += 1;
        self.buffered = 0;
        self.buffered_bytes = 0;
        self.acked.send_replace(self.stats.acknowledged);
        Ok(())
    }

    pub fn check(&self) -> Result<(), SinkError> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn accepted(&self) -> u64 {
        self.stats.accepted
    }

    pub fn acknowledgements(&self) -> watch::Receiver<u64> {
        self.acked.subscribe()
    }

    pub fn stats(&self) -> SinkStats {
        self.stats
    }
}

/// Discards rows; every row is acknowledged at once.
pub struct Blackhole<R: Record> {
    stats: SinkStats,
    acked: watch::Sender<u64>,
    _record: PhantomData<fn(&R)>,
}

impl<R: Record> Default for Blackhole<R> {
    fn default() -> Self {
        Blackhole { stats: SinkStats::default(), acked: watch::channel(0).0, _record: PhantomData }
    }
}

impl<R: Record> Blackhole<R> {
    pub fn send(&mut self, _record: &R) {
        self.stats.accepted += 1;
        self.stats.acknowledged += 1;
    }

    /// Publishes the acknowledgements of the rows discarded so far.
    pub fn flush(&mut self) {
        self.acked.send_replace(self.stats.acknowledged);
    }

    pub fn accepted(&self) -> u64 {
        self.stats.accepted
    }

    pub fn acknowledgements(&self) -> watch::Receiver<u64> {
        self.acked.subscribe()
    }

    pub fn stats(&self) -> SinkStats {
        self.stats
    }
}
