//! Measurements, not tests (ignored; `scripts/bench-leases.sh` runs them):
//!
//! - `throughput`: the built binary copying a backlog of `KT_BENCH_RECORDS`
//!   (default 30,000) records from 12 shards, on the lease store (one
//!   instance, a fresh table) against the file store (a fresh directory),
//!   3 runs each alternating which goes first; the medians of the binary's
//!   own records/s (its summary line: time to the last acknowledged record)
//!   and their ratio.
//! - `requests_per_lease`: 3 instances balanced on 12 leases; DynamoDB
//!   requests per lease per minute over a steady window, from the fault
//!   proxies' logs, idle and under load, by operation.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kinesis_tables::sink::Sink;
use kinesis_tables_tests::emulator::Kind;
use kinesis_tables_tests::faultproxy::FaultProxy;
use kinesis_tables_tests::generated::LeaseIn;
use kinesis_tables_tests::rt;

use super::cluster::{Cluster, SHARDS, balanced};
use super::traffic::Producer;

const RUNS: usize = 3;
const WINDOW: Duration = Duration::from_secs(30);

/// One run of the binary over the backlog; its records/s.
async fn run(c: &Cluster, store: &str, dynamo: &FaultProxy, n: usize) -> f64 {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_lease"));
    rt::aws_env(&mut cmd, &c.emu.endpoint());
    let dir = std::env::temp_dir().join(format!("kt-bench-leases-{:016x}", fastrand::u64(..)));
    cmd.env("KT_LEASE_STORE", store)
        .env("KT_LEASE_TABLE", format!("bench-{:08x}", fastrand::u32(..)))
        .env("KT_LEASE_ENDPOINT", dynamo.endpoint())
        .env("KT_WORKER_ID", "bench")
        .args(["--checkpoint-dir", &dir.to_string_lossy(), "--stop-when-idle", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = cmd.output().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{store}: {text}");
    let line = text.lines().rev().find(|l| l.contains(" out in ")).unwrap_or_else(|| panic!("{store}: no summary: {text}"));
    assert!(line.contains(&format!("{n} in, ")), "{store}: {line}");
    // `NAME: IN in, OUT out in SECONDS s (RATE records/s), stopped by idle`
    let rate = line.split('(').nth(1).and_then(|r| r.split(' ').next()).and_then(|r| r.parse().ok());
    rate.unwrap_or_else(|| panic!("{store}: no rate in {line}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/bench-leases.sh"]
async fn throughput() {
    let n: usize = std::env::var("KT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let c = Cluster::start(Kind::Ferrokinesis, SHARDS).await;
    let cfg = rt::config_for::<LeaseIn>(&c.emu.endpoint(), "lease-in");
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<LeaseIn>::with_client(client, &cfg);
    for i in 0..n {
        let r = LeaseIn { k: format!("key-{}", i % 1000), n: (i / 1000) as i64, src_shard: String::new(), src_seq: String::new() };
        sink.send(&r).await.unwrap();
    }
    sink.close().await.unwrap();
    let dynamo = FaultProxy::start(&c.dynamo.endpoint()).await.unwrap();
    let (mut file, mut lease) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let order = if i % 2 == 0 { ["file", "lease"] } else { ["lease", "file"] };
        for store in order {
            let rate = run(&c, store, &dynamo, n).await;
            eprintln!("run {}: {store} store: {rate:.0} records/s", i + 1);
            if store == "file" { &mut file } else { &mut lease }.push(rate);
        }
    }
    let (f, l) = (median(file), median(lease));
    eprintln!("{n} records, 12 shards, medians of {RUNS}: file store {f:.0} records/s, lease store {l:.0} records/s, ratio {:.3}", l / f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/bench-leases.sh"]
async fn requests_per_lease() {
    let mut c = Cluster::start(Kind::Ferrokinesis, SHARDS).await;
    let mut inst = Vec::new();
    for _ in 0..3 {
        inst.push(c.spawn().await);
    }
    let ok = c.wait_owners(Duration::from_secs(30), |o| balanced(o, &["w1", "w2", "w3"])).await;
    assert!(ok.is_some(), "not balanced");
    // Settle: the last steals' losers learn of them at their next renewal.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for load in [false, true] {
        let producer = if load { Some(Producer::start(&c.emu.endpoint(), 200, 400).await) } else { None };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        tokio::time::sleep(WINDOW).await;
        let end = Instant::now();
        let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
        for i in &inst {
            for r in i.lease_requests().iter().filter(|r| r.at >= t && r.at < end) {
                *by_op.entry(r.operation.clone()).or_default() += 1;
            }
        }
        let minutes = (end - t).as_secs_f64() / 60.0;
        let total: usize = by_op.values().sum();
        let per = |n: usize| n as f64 / SHARDS as f64 / minutes;
        let detail: Vec<String> = by_op.iter().map(|(op, n)| format!("{op} {:.1}", per(*n))).collect();
        eprintln!(
            "{}: {:.1} DynamoDB requests per lease per minute ({}), 3 workers, 12 leases, failover 3 s, renew 975 ms, take 1 s",
            if load { "under load (400 records/s)" } else { "idle" },
            per(total),
            detail.join(", ")
        );
        if let Some(p) = producer {
            p.stop().await;
        }
    }
    drop(inst);
}
