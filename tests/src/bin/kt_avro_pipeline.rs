//! Avro pipeline processes for the end-to-end test: `to-avro` runs
//! `rt_json` (stream `rt-json`) → `rt_avro` (stream `rt-avro`, binary avro,
//! KPL-aggregated), `back` runs `rt_avro` → `rt_json`. Endpoint and
//! credentials from the AWS environment.
//!
//! `kt_avro_pipeline to-avro|back CHECKPOINT_DIR STOP_WHEN_IDLE_MS`

use std::time::Duration;

use kinesis_tables::pipeline::{self, PipelineOptions, PipelineReport};
use kinesis_tables_tests::generated::{RtAvro, RtJson};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(direction), Some(dir), Some(idle)) = (args.first(), args.get(1), args.get(2).and_then(|ms| ms.parse().ok())) else {
        eprintln!("usage: kt_avro_pipeline to-avro|back CHECKPOINT_DIR STOP_WHEN_IDLE_MS");
        std::process::exit(2);
    };
    let options = PipelineOptions {
        checkpoint_dir: dir.into(),
        stop_when_idle: Some(Duration::from_millis(idle)),
        commit_interval: Duration::from_millis(500),
        progress_every: None,
        metrics_addr: None,
        ..PipelineOptions::default()
    };
    let result: Result<PipelineReport, _> = match direction.as_str() {
        "to-avro" => {
            pipeline::run::<RtJson, RtAvro, _>("json_to_avro", &options, |r: RtJson| {
                Some(RtAvro { k: r.k, n: r.n, note: r.note, amount: r.amount, at: r.at, tags: r.tags, shard: String::new() })
            })
            .await
        }
        "back" => {
            pipeline::run::<RtAvro, RtJson, _>("avro_to_json", &options, |r: RtAvro| {
                Some(RtJson {
                    k: r.k,
                    n: r.n,
                    note: r.note,
                    amount: r.amount,
                    at: r.at,
                    tags: r.tags,
                    arrival: Default::default(),
                    shard: String::new(),
                    seqno: String::new(),
                })
            })
            .await
        }
        other => {
            eprintln!("unknown direction `{other}`: to-avro or back");
            std::process::exit(2);
        }
    };
    match result {
        Ok(report) => println!("{} in, {} out, stopped by {}", report.records_in, report.records_out, report.stopped_by),
        Err(e) => {
            eprintln!("pipeline failed: {e}");
            std::process::exit(e.exit_code().into());
        }
    }
}
