//! A source process for the restart test: reads table `rt_json` from a stream
//! with a file checkpoint, appends every record it is given to a file, then
//! acknowledges the batch. Exits 0 after `idle` with nothing new.
//!
//! `kt_reader ENDPOINT STREAM CHECKPOINT_DIR OUT_FILE COMMIT_INTERVAL_MS IDLE_MS`

use std::io::Write;
use std::time::Duration;

use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::source::Source;
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, stream, dir, out, commit_ms, idle_ms] = &args[..] else {
        eprintln!("usage: kt_reader ENDPOINT STREAM CHECKPOINT_DIR OUT_FILE COMMIT_INTERVAL_MS IDLE_MS");
        std::process::exit(2);
    };
    let mut cfg = rt::config_for::<RtJson>(endpoint, stream);
    // Small batches, so that a kill lands mid-stream.
    cfg.source.polling.max_records = 50;
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder()
        .config(cfg)
        .client(client)
        .checkpoints(FileCheckpointStore::new(dir, "restart"))
        .commit_interval(Duration::from_millis(commit_ms.parse().expect("commit interval")))
        .start()
        .await
        .expect("source starts");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(out).expect("output file");
    let idle = Duration::from_millis(idle_ms.parse().expect("idle"));
    loop {
        let batch = match tokio::time::timeout(idle, source.next()).await {
            Err(_) => break,
            Ok(b) => b.expect("source fails"),
        };
        let mut lines = String::new();
        for r in &batch.records {
            lines.push_str(&format!("{} {} {} {}\n", r.k, r.n, r.shard, r.seqno));
        }
        // The kernel keeps what was written even if this process is killed.
        file.write_all(lines.as_bytes()).expect("write");
        source.ack(batch.ack);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    source.close().await.expect("final checkpoint");
}
