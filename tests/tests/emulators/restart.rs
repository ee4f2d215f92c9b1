//! Kill -9 a source process mid-stream and restart it: nothing is lost, and
//! the only records delivered twice are those after the last committed
//! checkpoint (at most one commit interval's worth).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use kinesis_tables::checkpoint::{Checkpoint, ShardPosition};
use kinesis_tables::sink::Sink;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::RtJson;
use kinesis_tables_tests::rt;

const RECORDS: usize = 10_000;
const COMMIT_MS: u64 = 500;

/// Sequence numbers are decimal strings of up to 128 digits: compare by length, then text.
fn seq(s: &str) -> (usize, String) {
    assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()), "sequence number {s:?} is not a number");
    (s.len(), s.to_owned())
}

struct Line {
    id: (String, i64),
    shard: String,
    seq: (usize, String),
}

fn lines(path: &std::path::Path) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Line { id: (f[0].to_owned(), f[1].parse().unwrap()), shard: f[2].to_owned(), seq: seq(f[3]) }
        })
        .collect()
}

async fn restart(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("restart", 4).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "restart");
    let sent: Vec<RtJson> = rt::records(RECORDS, 80);
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    for r in &sent {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();

    let dir = std::env::temp_dir().join(format!("kt-restart-{}-{}", kind.name(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let out1 = dir.join("run1.txt");
    let out2 = dir.join("run2.txt");
    let spawn = |out: &std::path::Path, idle_ms: u64| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_reader"))
            .args([&emu.endpoint(), "restart", dir.to_str().unwrap(), out.to_str().unwrap(), &COMMIT_MS.to_string(), &idle_ms.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };

    // Run 1: kill -9 once a third of the records are through.
    let mut child = spawn(&out1, 60_000);
    let mut waited = 0;
    while lines(&out1).len() < RECORDS / 3 {
        assert!(waited < 600, "{kind}: the reader made no progress");
        assert!(child.try_wait().unwrap().is_none(), "{kind}: the reader exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    child.kill().await.unwrap(); // SIGKILL
    let run1 = lines(&out1);
    let cp: Checkpoint = serde_json::from_slice(&std::fs::read(dir.join("restart.checkpoint.json")).unwrap()).unwrap();
    let committed: HashMap<String, (usize, String)> = cp
        .shards
        .iter()
        .filter_map(|(s, p)| match p {
            ShardPosition::After { sequence_number, .. } => Some((s.clone(), seq(sequence_number))),
            ShardPosition::Finished => None,
        })
        .collect();
    assert!(!committed.is_empty(), "{kind}: no checkpoint was committed before the kill");
    assert!(run1.len() < RECORDS, "{kind}: the kill came too late to be mid-stream");

    // Run 2: resumes and exits once idle.
    let status = spawn(&out2, 3_000).wait().await.unwrap();
    assert!(status.success(), "{kind}: the restarted reader failed: {status}");
    let run2 = lines(&out2);

    // Nothing lost, and the order per key holds across the restart
    // (first deliveries, in run order).
    let all: Vec<(String, i64)> = run1.iter().chain(&run2).map(|l| l.id.clone()).collect();
    let (distinct, dups) = rt::check_order(&all).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(distinct, RECORDS, "{kind}: records lost");

    // Exactly the records after each shard's committed position were delivered again.
    let uncommitted: HashSet<(String, i64)> =
        run1.iter().filter(|l| committed.get(&l.shard).is_none_or(|c| &l.seq > c)).map(|l| l.id.clone()).collect();
    let first_ids: HashSet<(String, i64)> = run1.iter().map(|l| l.id.clone()).collect();
    let redelivered: HashSet<(String, i64)> = run2.iter().map(|l| l.id.clone()).filter(|id| first_ids.contains(id)).collect();
    assert_eq!(redelivered, uncommitted, "{kind}: re-delivered records are not exactly those after the checkpoint");
    let mut per_shard: BTreeMap<&str, usize> = BTreeMap::new();
    for l in run1.iter().filter(|l| uncommitted.contains(&l.id)) {
        *per_shard.entry(&l.shard).or_default() += 1;
    }
    eprintln!(
        "{kind}: run 1 delivered {} records before kill -9, {} of them after the last checkpoint ({per_shard:?}); \
         run 2 delivered {}, duplicates {dups} (commit interval {COMMIT_MS} ms)",
        run1.len(),
        uncommitted.len(),
        run2.len()
    );
    assert_eq!(dups, uncommitted.len());
    let _ = std::fs::remove_dir_all(dir);
}

kinesis_tables_tests::on_each_emulator!(restart, restart);
