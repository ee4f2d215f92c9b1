//! Avro through pipeline processes (tests/src/bin/kt_avro_pipeline.rs),
//! configured only through the AWS environment: json records in `rt-json`
//! go to `rt-avro` as binary avro (KPL-aggregated) and come back into
//! `rt-json` as json. Every record arrives unchanged, in order per key.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtAvro, RtJson};
use kinesis_tables_tests::rt::{self, TestRecord};

async fn run(emu: &Emulator, direction: &str, dir: &std::path::Path) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_avro_pipeline"));
    cmd.arg(direction).arg(dir).arg("1500");
    rt::aws_env(&mut cmd, &emu.endpoint());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("the pipeline ends by idleness").unwrap();
    assert!(out.status.success(), "{direction}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn read_all<R: TestRecord>(emu: &Emulator, stream: &str, want: usize) -> Vec<R> {
    let cfg = rt::config_for::<R>(&emu.endpoint(), stream);
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<R>::builder().config(cfg).client(client).start().await.unwrap();
    rt::read_until(&mut source, want, Duration::from_secs(4)).await.unwrap()
}

fn to_avro(r: &RtJson) -> RtAvro {
    let r = r.clone();
    RtAvro { k: r.k, n: r.n, note: r.note, amount: r.amount, at: r.at, tags: r.tags, shard: String::new() }
}

async fn json_to_avro_and_back(kind: Kind) {
    let emu = Emulator::start(kind).await.unwrap();
    emu.create_stream("rt-json", 2).await.unwrap();
    emu.create_stream("rt-avro", 2).await.unwrap();
    let dir = std::env::temp_dir().join(format!("kt-avro-pipeline-{}-{}", kind.name(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let n = if kind == Kind::Ferrokinesis { 2_000 } else { 400 };
    let sent: Vec<RtJson> = rt::records(n, 50);
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "rt-json");
    let mut sink = Sink::<RtJson>::with_client(rt::clients(&cfg).await.0, &cfg);
    for r in &sent {
        sink.send(r).await.unwrap();
    }
    sink.close().await.unwrap();

    let report = run(&emu, "to-avro", &dir).await;
    assert!(report.contains(&format!("{n} in, {n} out, stopped by idle")), "{kind}: {report}");
    let avro: Vec<RtAvro> = read_all(&emu, "rt-avro", n).await;
    let want: Vec<RtAvro> = sent.iter().map(to_avro).collect();
    assert_eq!(rt::check_delivery(&want, &avro), Ok(0), "{kind}: the avro stream");

    let report = run(&emu, "back", &dir).await;
    assert!(report.contains(&format!("{n} in, {n} out, stopped by idle")), "{kind}: {report}");
    // rt-json now holds every record twice: the originals, then the copies
    // that went through avro, equal in value and in order per key.
    let all: Vec<RtJson> = read_all(&emu, "rt-json", n + 1).await;
    assert_eq!(rt::check_delivery(&sent, &all), Ok(n), "{kind}: each record once more");
    let mut per_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &all {
        let (k, i) = r.key_n();
        per_key.entry(k).or_default().push(i);
    }
    for (k, seq) in per_key {
        let m = seq.len() as i64 / 2;
        let expected: Vec<i64> = (0..m).chain(0..m).collect();
        assert_eq!(seq, expected, "{kind}: key {k}: the copies follow the originals in order");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

kinesis_tables_tests::on_each_emulator!(json_avro_json, json_to_avro_and_back);
