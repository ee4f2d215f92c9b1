//! A pipeline process for the end-to-end tests: table `rt_json` (stream
//! `rt-json`) → `rt_csv` (stream `rt-csv`), endpoint and credentials from
//! the AWS environment.
//!
//! `kt_pipeline CHECKPOINT_DIR [STOP_WHEN_IDLE_MS]`

use std::time::Duration;

use kinesis_tables::pipeline::{self, PipelineOptions};
use kinesis_tables_tests::generated::{RtCsv, RtJson};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: kt_pipeline CHECKPOINT_DIR [STOP_WHEN_IDLE_MS]");
        std::process::exit(2);
    };
    let options = PipelineOptions {
        checkpoint_dir: dir.into(),
        stop_when_idle: args.get(1).and_then(|ms| ms.parse().ok()).map(Duration::from_millis),
        commit_interval: Duration::from_millis(500),
        progress_every: None,
        metrics_addr: None,
        ..PipelineOptions::default()
    };
    let result = pipeline::run::<RtJson, RtCsv, _>("json_to_csv", &options, |r: RtJson| {
        Some(RtCsv { k: r.k, n: r.n, note: r.note, ok: Some(r.n % 2 == 0), shard: String::new() })
    })
    .await;
    match result {
        Ok(report) => println!("{} in, {} out, stopped by {}", report.records_in, report.records_out, report.stopped_by),
        Err(e) => {
            eprintln!("pipeline failed: {e}");
            std::process::exit(e.exit_code().into());
        }
    }
}
