//! A pipeline binary for the end-to-end tests, with the real command line
//! (`kinesis_tables::pipeline::main`: `--stop-when-idle`, `--shutdown-timeout`,
//! `--on-data-loss`, ...): table `rt_small_batches` (stream `rt-json`, read
//! 20 records at a time) → a filtering transform → a sink chosen by the
//! environment. Endpoint and credentials come from the AWS environment.
//!
//! - `KT_SINK`: `csv` (table `rt_csv`, stream `rt-csv`; the default),
//!   `csv-tight` (`rt_csv_tight`: the same stream, room for 10 records),
//!   `print` (`rt_print`, stdout) or `blackhole` (`rt_discard`).
//! - `KT_KEEP_EVERY=N`: keep the records whose `n` is a multiple of N
//!   (0 keeps nothing; default 1, everything).
//! - `KT_REFUSE=KEY/N`: the record with that key and `n` gets a key longer
//!   than `VARCHAR(16)`, which the sink refuses.

use std::process::ExitCode;

use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables_tests::generated::{RtCsv, RtCsvTight, RtDiscard, RtPrint, RtSmallBatches};

#[derive(Clone)]
struct Filter {
    keep_every: i64,
    refuse: Option<(String, i64)>,
}

impl Filter {
    /// The record's key, or `None` to drop it.
    fn key(&self, r: &RtSmallBatches) -> Option<String> {
        if self.keep_every == 0 || r.n % self.keep_every != 0 {
            return None;
        }
        if self.refuse.as_ref().is_some_and(|(k, n)| *k == r.k && *n == r.n) {
            return Some(format!("{}-far-too-long-for-varchar-16", r.k));
        }
        Some(r.k.clone())
    }
}

fn main() -> ExitCode {
    let keep_every = std::env::var("KT_KEEP_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let refuse = std::env::var("KT_REFUSE").ok().and_then(|v| {
        let (k, n) = v.split_once('/')?;
        Some((k.to_owned(), n.parse().ok()?))
    });
    let f = Filter { keep_every, refuse };
    match std::env::var("KT_SINK").as_deref().unwrap_or("csv") {
        "csv" => pipeline::main("filter", move |o: PipelineOptions| {
            Box::pin(async move {
                pipeline::run::<RtSmallBatches, RtCsv, _>("filter", &o, move |r: RtSmallBatches| {
                    f.key(&r).map(|k| RtCsv { k, n: r.n, note: r.note, ok: Some(r.n % 2 == 0), shard: String::new() })
                })
                .await
            })
        }),
        "csv-tight" => pipeline::main("filter", move |o: PipelineOptions| {
            Box::pin(async move {
                pipeline::run::<RtSmallBatches, RtCsvTight, _>("filter", &o, move |r: RtSmallBatches| {
                    f.key(&r).map(|k| RtCsvTight { k, n: r.n, note: r.note, ok: Some(r.n % 2 == 0) })
                })
                .await
            })
        }),
        "print" => pipeline::main("filter", move |o: PipelineOptions| {
            Box::pin(async move {
                pipeline::run::<RtSmallBatches, RtPrint, _>("filter", &o, move |r: RtSmallBatches| f.key(&r).map(|k| RtPrint { k, n: r.n }))
                    .await
            })
        }),
        "blackhole" => pipeline::main("filter", move |o: PipelineOptions| {
            Box::pin(async move {
                pipeline::run::<RtSmallBatches, RtDiscard, _>("filter", &o, move |r: RtSmallBatches| {
                    f.key(&r).map(|k| RtDiscard { k, n: r.n })
                })
                .await
            })
        }),
        other => {
            eprintln!("KT_SINK: `{other}` is not csv, csv-tight, print or blackhole");
            ExitCode::from(2)
        }
    }
}
