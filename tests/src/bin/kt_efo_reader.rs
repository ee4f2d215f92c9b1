//! An EFO source process for the consumer-lifecycle test: reads table
//! `rt_efo` (JOB_MANAGED consumer `kt-efo-reader`) from a stream with a file
//! checkpoint, appends every record to a file, acknowledges, and after `idle`
//! with nothing new, once every shard is caught up, stops cleanly (`Source::close`, which deregisters the
//! consumer). Exits 0 on a clean stop, 1 when the source fails.
//!
//! `kt_efo_reader ENDPOINT STREAM CHECKPOINT_DIR OUT_FILE IDLE_MS`

use std::io::Write;
use std::time::Duration;

use kinesis_tables::checkpoint::FileCheckpointStore;
use kinesis_tables::source::Source;
use kinesis_tables_tests::generated::RtEfo;
use kinesis_tables_tests::rt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, stream, dir, out, idle_ms] = &args[..] else {
        eprintln!("usage: kt_efo_reader ENDPOINT STREAM CHECKPOINT_DIR OUT_FILE IDLE_MS");
        std::process::exit(2);
    };
    let cfg = rt::config_for::<RtEfo>(endpoint, stream);
    let (_, client) = rt::clients(&cfg).await;
    let started = Source::<RtEfo>::builder()
        .config(cfg)
        .client(client)
        .checkpoints(FileCheckpointStore::new(dir, "efo"))
        .commit_interval(Duration::from_millis(200))
        .start()
        .await;
    let mut source = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kt_efo_reader: {e}");
            std::process::exit(1);
        }
    };
    let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(out) else {
        eprintln!("kt_efo_reader: cannot open {out}");
        std::process::exit(1);
    };
    let idle = Duration::from_millis(idle_ms.parse().unwrap_or(3000));
    loop {
        let batch = match tokio::time::timeout(idle, source.next()).await {
            // Quiet for `idle` and caught up: every shard's subscription has
            // reported zero lag (a restart may wait seconds for an emulator to
            // release the killed run's subscriptions before anything flows).
            Err(_) if caught_up(&source) => break,
            Err(_) => continue,
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                eprintln!("kt_efo_reader: {e}");
                std::process::exit(1);
            }
        };
        let mut lines = String::new();
        for r in &batch.records {
            lines.push_str(&format!("{} {} {} {}\n", r.k, r.n, r.shard, r.seqno));
        }
        if file.write_all(lines.as_bytes()).is_err() {
            eprintln!("kt_efo_reader: cannot write {out}");
            std::process::exit(1);
        }
        source.ack(batch.ack);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match source.close().await {
        Ok(stats) => eprintln!("kt_efo_reader: stopped cleanly: {stats:?}"),
        Err(e) => {
            eprintln!("kt_efo_reader: close failed: {e}");
            std::process::exit(1);
        }
    }
}

fn caught_up(source: &Source<RtEfo>) -> bool {
    let (status, lag) = (source.shard_status(), source.lag());
    !status.is_empty()
        && status.iter().all(|(id, st)| match *st {
            "reading" => lag.get(id) == Some(&0),
            "starting" => false,
            _ => true,
        })
}
