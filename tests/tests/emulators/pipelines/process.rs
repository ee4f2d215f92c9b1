//! A pipeline process (tests/src/bin/kt_pipeline.rs: `rt_json` → `rt_csv`)
//! against both emulators, configured only through the AWS environment:
//! a full run, SIGTERM mid-run, and kill -9 at several points.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{RtCsv, RtJson, RtPrint};
use kinesis_tables_tests::rt::{self, TestRecord};

struct Setup {
    emu: Emulator,
    dir: std::path::PathBuf,
}

async fn setup(kind: Kind) -> Setup {
    let emu = Emulator::start(kind).await.unwrap();
    // The stream names the spec gives the two tables.
    emu.create_stream("rt-json", 4).await.unwrap();
    emu.create_stream("rt-csv", 4).await.unwrap();
    let dir = std::env::temp_dir().join(format!("kt-pipeline-{}-{}", kind.name(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    Setup { emu, dir }
}

impl Setup {
    fn pipeline(&self, idle_ms: Option<u64>) -> tokio::process::Child {
        self.pipeline_at(&self.emu.endpoint(), idle_ms)
    }

    fn pipeline_at(&self, endpoint: &str, idle_ms: Option<u64>) -> tokio::process::Child {
        self.command(endpoint, idle_ms).spawn().unwrap()
    }

    fn command(&self, endpoint: &str, idle_ms: Option<u64>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_pipeline"));
        cmd.arg(&self.dir);
        if let Some(ms) = idle_ms {
            cmd.arg(ms.to_string());
        }
        // Only the standard AWS environment points the binary at the emulator.
        rt::aws_env(&mut cmd, endpoint);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).kill_on_drop(true);
        cmd
    }

    async fn write(&self, records: &[RtJson]) {
        let cfg = rt::config_for::<RtJson>(&self.emu.endpoint(), "rt-json");
        let (client, _) = rt::clients(&cfg).await;
        let mut sink = Sink::<RtJson>::with_client(client, &cfg);
        for r in records {
            sink.send(r).await.unwrap();
        }
        sink.close().await.unwrap();
    }

    /// Everything in the output stream, in order, as (key, n).
    async fn output(&self, want: usize) -> Vec<(String, i64)> {
        let cfg = rt::config_for::<RtCsv>(&self.emu.endpoint(), "rt-csv");
        let (_, client) = rt::clients(&cfg).await;
        let mut source = Source::<RtCsv>::builder().config(cfg).client(client).start().await.unwrap();
        let got = rt::read_until(&mut source, want + 1, Duration::from_secs(4)).await.unwrap();
        got.iter().map(|r| r.key_n()).collect()
    }
}

/// kinesis-mock (Node.js) takes about 0.3 s per 200-record PutRecords on
/// this machine, so it gets fewer records than ferrokinesis.
fn count(kind: Kind) -> usize {
    match kind {
        Kind::KinesisMock => 8_000,
        Kind::Ferrokinesis => 20_000,
    }
}

fn check(kind: Kind, sent: &[RtJson], out: &[(String, i64)]) -> usize {
    let (distinct, dups) = rt::check_order(out).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let want: HashSet<(String, i64)> = sent.iter().map(|r| r.key_n()).collect();
    let got: HashSet<(String, i64)> = out.iter().cloned().collect();
    assert!(got.is_subset(&want), "{kind}: records that were never sent arrived");
    assert_eq!(distinct, sent.len(), "{kind}: {} of {} records arrived", distinct, sent.len());
    dups
}

async fn full_run(kind: Kind) {
    let s = setup(kind).await;
    // 100,000 records from stream A to stream B on ferrokinesis. kinesis-mock
    // takes 18 minutes only to accept 100,000 records on the 2-core CI machine
    // (measured: 1,068 s), so it runs the same test with fewer.
    let n = if kind == Kind::Ferrokinesis { 100_000 } else { count(kind) };
    let sent: Vec<RtJson> = rt::records(n, 1_000);
    let t = std::time::Instant::now();
    s.write(&sent).await;
    eprintln!("{kind}: wrote {} records in {:?}", sent.len(), t.elapsed());
    let t = std::time::Instant::now();
    let out = s.pipeline(Some(2_000)).wait_with_output().await.unwrap();
    eprintln!("{kind}: pipeline ran {:?}", t.elapsed());
    assert!(out.status.success(), "{kind}: {}", out.status);
    let report = String::from_utf8_lossy(&out.stdout);
    let n = sent.len();
    assert!(report.contains(&format!("{n} in, {n} out, stopped by idle")), "{kind}: {report}");
    let dups = check(kind, &sent, &s.output(sent.len()).await);
    assert_eq!(dups, 0, "{kind}: a clean run writes each record once");
}

async fn sigterm(kind: Kind) {
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(count(kind), 200);
    let (a, b) = (sent.len() / 2, sent.len() * 3 / 4);
    s.write(&sent[..a]).await;
    let child = s.pipeline(None);
    let pid = child.id().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.write(&sent[a..b]).await;
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{kind}: SIGTERM must end the pipeline cleanly: {}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped by signal"));
    // The rest after a restart: nothing lost, and a clean stop repeats nothing.
    s.write(&sent[b..]).await;
    let out = s.pipeline(Some(2_000)).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{kind}: {}", out.status);
    let dups = check(kind, &sent, &s.output(sent.len()).await);
    assert_eq!(dups, 0, "{kind}: duplicates after a SIGTERM stop");
}

async fn crashes(kind: Kind) {
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(count(kind), 200);
    s.write(&sent).await;
    let kills = if kind == Kind::Ferrokinesis { 10 } else { 5 };
    for i in 0..kills {
        let mut child = s.pipeline(None);
        tokio::time::sleep(Duration::from_millis(300 + fastrand::u64(0..900))).await;
        child.kill().await.unwrap(); // SIGKILL
        eprintln!("{kind}: kill -9 #{}", i + 1);
    }
    let out = s.pipeline(Some(2_000)).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{kind}: {}", out.status);
    let dups = check(kind, &sent, &s.output(sent.len() * 2).await);
    eprintln!("{kind}: {kills} kill -9s, {} records, {dups} duplicates in the output", sent.len());
}

/// A second process of the pipeline on the same checkpoint directory (a
/// rolling deploy) exits 2 naming the lock file and its holder, and the
/// first runs on undisturbed: every record once.
async fn second_instance(kind: Kind) {
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(1_000, 100);
    s.write(&sent).await;
    let mut first = s.pipeline(None);
    let pid = first.id().unwrap();
    // The lock file names its holder once the first holds the lock.
    let lock_file = s.dir.join("json_to_csv.lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let holder = loop {
        let text = std::fs::read_to_string(&lock_file).unwrap_or_default();
        if text.contains(&format!("pid={pid} ")) {
            break text.trim().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "{kind}: the first pipeline never took its lock: {text:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(holder.starts_with("host=") && holder.contains(" started="), "{kind}: {holder}");
    let second = s.command(&s.emu.endpoint(), Some(1_000)).stderr(Stdio::piped()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{kind}: {stderr}");
    assert!(stderr.contains(&lock_file.display().to_string()), "{kind}: the lock file is not named: {stderr}");
    assert!(stderr.contains(&holder), "{kind}: the holder `{holder}` is not named: {stderr}");
    assert!(second.stdout.is_empty(), "{kind}: the second pipeline ran");
    // The first is untouched: it delivers everything, then stops cleanly.
    assert!(first.try_wait().unwrap().is_none(), "{kind}: the first pipeline stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = s.output(sent.len()).await;
        let distinct: HashSet<_> = out.iter().collect();
        if distinct.len() >= sent.len() || std::time::Instant::now() > deadline {
            assert_eq!(check(kind, &sent, &out), 0, "{kind}: duplicates");
            break;
        }
    }
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let out = first.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{kind}: {}", out.status);
    let n = sent.len();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains(&format!("{n} in, {n} out, stopped by signal")), "{kind}: {report}");
}

kinesis_tables_tests::on_each_emulator!(
    /// On both emulators, though the refused process stops before any request
    /// (the lock comes first), because the first process's run is emulator work.
    a_second_instance_on_one_checkpoint_exits_2,
    second_instance
);

kinesis_tables_tests::on_each_emulator!(full_run, full_run);

kinesis_tables_tests::on_each_emulator!(sigterm, sigterm);

kinesis_tables_tests::on_each_emulator!(crashes, crashes);

/// `--stop-when-idle` means caught up, not merely quiet: with every
/// GetRecords answered only after 2.5 s, a 1 s idle limit must still wait for
/// the first reads (it used to stop with nothing read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_read_is_not_idleness() {
    let s = setup(Kind::Ferrokinesis).await;
    let sent: Vec<RtJson> = rt::records(500, 50);
    s.write(&sent).await;
    let proxy = kinesis_tables_tests::faultproxy::FaultProxy::start(&s.emu.endpoint()).await.unwrap();
    proxy.set(kinesis_tables_tests::faultproxy::Faults {
        operations: vec!["GetRecords".into()],
        delay: 1.0,
        delay_for: Duration::from_millis(2_500),
        ..Default::default()
    });
    let out = s.pipeline_at(&proxy.endpoint(), Some(1_000)).wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", out.status);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("500 in, 500 out, stopped by idle"), "{report}");
    assert!(proxy.counts().delayed > 0);
    assert_eq!(check(Kind::Ferrokinesis, &sent, &s.output(sent.len()).await), 0);
}

// ---- The pipeline command line (tests/src/bin/kt_filter.rs): filtering
// transforms, the shutdown deadline, and records the sink refuses.

/// What a `kt_filter` run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Setup {
    /// Starts `kt_filter` with `args`, writing into `sink` (`csv`, `print`,
    /// `blackhole`) the records whose `n` is a multiple of `keep_every`.
    fn filter(&self, endpoint: &str, sink: &str, keep_every: i64, env: &[(&str, &str)], args: &[&str]) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kt_filter"));
        cmd.args(args);
        rt::aws_env(&mut cmd, endpoint);
        cmd.env("KT_SINK", sink).env("KT_KEEP_EVERY", keep_every.to_string()).env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        cmd.spawn().unwrap()
    }

    /// Runs `kt_filter` to its end; fails the test if it has not ended within `limit`.
    async fn filter_run(&self, sink: &str, keep_every: i64, checkpoints: &str, extra: &[&str], limit: Duration) -> Run {
        let dir = self.dir.join(checkpoints);
        let mut args = vec!["--checkpoint-dir", dir.to_str().unwrap(), "--stop-when-idle", "2s", "--progress"];
        args.extend_from_slice(extra);
        let child = self.filter(&self.emu.endpoint(), sink, keep_every, &[], &args);
        finish(child, limit).await
    }
}

async fn finish(mut child: tokio::process::Child, limit: Duration) -> Run {
    use tokio::io::AsyncReadExt;
    let t = std::time::Instant::now();
    let read = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text).await;
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = tokio::time::timeout(limit, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
        let err = stderr.await.unwrap();
        panic!("the pipeline had not ended after {limit:?}; its stderr:\n{err}");
    }
    Run { code: status.unwrap().unwrap().code(), stdout: stdout.await.unwrap(), stderr: stderr.await.unwrap(), took: t.elapsed() }
}

fn kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// A transform that keeps about one record in a thousand (and one that keeps
/// nothing) makes long runs of source batches with no output. Each must still
/// be acknowledged: the pipeline used to stop reading after 64 of them in a
/// row, and `--stop-when-idle` never fired. Into a Kinesis stream, `print`
/// and `blackhole`, each run ends by idleness and writes exactly the kept records.
async fn filtering(kind: Kind) {
    let s = setup(kind).await;
    // kinesis-mock writes about 8,000 records in 20 s on the CI machine, so
    // it gets fewer; both are read 20 records per GetRecords (rt_small_batches).
    let n = if kind == Kind::Ferrokinesis { 20_000 } else { 6_000 };
    let sent: Vec<RtJson> = rt::records(n, 6);
    s.write(&sent).await;
    let kept: Vec<&RtJson> = sent.iter().filter(|r| r.n % 1000 == 0).collect();
    let limit = Duration::from_secs(if kind == Kind::Ferrokinesis { 90 } else { 150 });
    let report = |kept: usize| format!("filter: {n} in, {kept} out in ");

    let run = s.filter_run("csv", 1000, "csv", &[], limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    assert!(run.stderr.contains(&report(kept.len())) && run.stderr.contains("stopped by idle"), "{kind}: {}", run.stderr);
    let want: Vec<(String, i64)> = kept.iter().map(|r| r.key_n()).collect();
    let mut out = s.output(want.len()).await;
    assert_eq!(rt::check_order(&out), Ok((want.len(), 0)), "{kind}: the kept records, each once");
    out.sort();
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(out, sorted, "{kind}");

    // Keeping nothing: every batch is output-less.
    let run = s.filter_run("csv", 0, "nothing", &[], limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    assert!(run.stderr.contains(&report(0)) && run.stderr.contains("stopped by idle"), "{kind}: {}", run.stderr);

    // Into `print`: stdout holds exactly the kept records.
    let run = s.filter_run("print", 1000, "print", &[], limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    assert!(run.stderr.contains(&report(kept.len())), "{kind}: {}", run.stderr);
    let mut printed: Vec<&str> = run.stdout.lines().collect();
    printed.sort();
    let mut expected: Vec<String> = kept
        .iter()
        .map(|r| String::from_utf8(kinesis_tables::Record::encode(&RtPrint { k: r.k.clone(), n: r.n }).unwrap()).unwrap())
        .collect();
    expected.sort();
    assert_eq!(printed, expected, "{kind}: print's output");

    // `blackhole` acknowledged at once already; it still does.
    let run = s.filter_run("blackhole", 1000, "blackhole", &[], limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    assert!(run.stderr.contains(&report(kept.len())) && run.stderr.contains("stopped by idle"), "{kind}: {}", run.stderr);
}

kinesis_tables_tests::on_each_emulator!(filtering_transform_ends_by_idleness, filtering);

/// SIGTERM while every PutRecords is throttled (the fault proxy) and the sink
/// retries without limit (`rt_csv` has `sink.fail-on-error` false): the drain
/// gives up after `--shutdown-timeout`, commits only what was acknowledged,
/// says how many records were not written and exits 1. A second SIGTERM
/// exits at once. A restart without faults then delivers every record.
async fn shutdown_deadline(kind: Kind) {
    use kinesis_tables_tests::faultproxy::{FaultProxy, Faults};
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(if kind == Kind::Ferrokinesis { 2_000 } else { 1_000 }, 10);
    s.write(&sent).await;
    let proxy = FaultProxy::start(&s.emu.endpoint()).await.unwrap();
    proxy.set(Faults { operations: vec!["PutRecords".into()], throttle: 1.0, ..Default::default() });
    let dir = s.dir.join("csv");
    let dir = dir.to_str().unwrap();
    let proxy = &proxy;
    let throttled_after = |before: u64| async move {
        for _ in 0..300 {
            if proxy.counts().throttled > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the pipeline never tried to write");
    };

    // One SIGTERM: the drain ends at the deadline.
    let child = s.filter(&proxy.endpoint(), "csv", 1, &[], &["--checkpoint-dir", dir, "--shutdown-timeout", "3s"]);
    let pid = child.id().unwrap();
    throttled_after(0).await;
    kill(pid, "-TERM");
    let run = finish(child, Duration::from_secs(30)).await;
    assert_eq!(run.code, Some(1), "{kind}: {}", run.stderr);
    assert!(run.took < Duration::from_secs(3 + 10), "{kind}: took {:?}", run.took);
    let unwritten: u64 = run
        .stderr
        .split(" record(s) were not written")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{kind}: no count of unwritten records: {}", run.stderr));
    assert!(unwritten > 0, "{kind}: {}", run.stderr);

    // A sink with room for 10 records: the SIGTERM arrives while `send`
    // waits for room, and must still be seen.
    let before = proxy.counts().throttled;
    let child = s.filter(&proxy.endpoint(), "csv-tight", 1, &[], &["--checkpoint-dir", dir, "--shutdown-timeout", "2s"]);
    let pid = child.id().unwrap();
    throttled_after(before).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(pid, "-TERM");
    let run = finish(child, Duration::from_secs(30)).await;
    assert_eq!(run.code, Some(1), "{kind}: {}", run.stderr);
    assert!(run.took < Duration::from_secs(2 + 10), "{kind}: took {:?}", run.took);
    assert!(run.stderr.contains("10 record(s) were not written"), "{kind}: {}", run.stderr);

    // Two SIGTERMs: the second exits at once (143), whatever the deadline.
    let before = proxy.counts().throttled;
    let child = s.filter(&proxy.endpoint(), "csv", 1, &[], &["--checkpoint-dir", dir, "--shutdown-timeout", "10m"]);
    let pid = child.id().unwrap();
    throttled_after(before).await;
    kill(pid, "-TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(pid, "-TERM");
    let run = finish(child, Duration::from_secs(20)).await;
    assert_eq!(run.code, Some(143), "{kind}: {}", run.stderr);

    // Nothing was written, nor committed past what was: a clean run delivers all.
    let run = s.filter_run("csv", 1, "csv", &[], Duration::from_secs(120)).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    let dups = check(kind, &sent, &s.output(sent.len()).await);
    assert_eq!(dups, 0, "{kind}: nothing was written before the restart");
}

kinesis_tables_tests::on_each_emulator!(shutdown_deadline, shutdown_deadline);

/// A record the sink refuses after the transform (a key longer than the
/// table's VARCHAR(16)): with `--on-data-loss fail` (the default) the run
/// stops with an error naming the source shard and sequence number; with
/// `continue` it skips the record, counts it in
/// `kinesis_tables_data_loss_total{kind="sink_refused"}` and writes the rest.
async fn refused_record(kind: Kind) {
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(600, 6);
    s.write(&sent).await;
    let bad = ("key-3".to_owned(), 42);
    let refuse = [("KT_REFUSE", "key-3/42")];
    let dir = s.dir.join("fail");
    let args = ["--checkpoint-dir", dir.to_str().unwrap(), "--stop-when-idle", "2s"];
    let run = finish(s.filter(&s.emu.endpoint(), "csv", 1, &refuse, &args), Duration::from_secs(60)).await;
    assert_eq!(run.code, Some(1), "{kind}: {}", run.stderr);
    let line = run.stderr.lines().find(|l| l.contains("refused a record")).unwrap_or_else(|| panic!("{kind}: {}", run.stderr));
    assert!(line.contains("shard shardId-") && line.contains("sequence number "), "{kind}: {line}");
    assert!(line.contains("VARCHAR(16)") || line.contains("16"), "{kind}: the problem is named: {line}");
    assert!(!line.contains("far-too-long-for-varchar-16"), "{kind}: the record itself is not printed: {line}");

    // `continue`, restarting from the failed run's checkpoint: the record is
    // skipped and counted, the rest written (the failed run may have written
    // some records of batches it had not committed: those repeat).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let args = ["--checkpoint-dir", dir.to_str().unwrap(), "--stop-when-idle", "3s", "--on-data-loss", "continue", "--metrics-addr", &addr];
    let child = s.filter(&s.emu.endpoint(), "csv", 1, &refuse, &args);
    let mut counted = false;
    for _ in 0..300 {
        if let Ok(body) = scrape(&addr).await
            && body.lines().any(|l| l.starts_with("kinesis_tables_data_loss_total") && l.contains("sink_refused") && l.ends_with(" 1"))
        {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = finish(child, Duration::from_secs(60)).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    assert!(counted, "{kind}: the refused record was not counted in kinesis_tables_data_loss_total");
    assert!(run.stderr.contains("stopped by idle"), "{kind}: {}", run.stderr);
    let want: Vec<RtJson> = sent.iter().filter(|r| r.key_n() != bad).cloned().collect();
    check(kind, &want, &s.output(want.len() * 2).await);
}

/// The metrics endpoint's text, by plain HTTP/1.0.
async fn scrape(addr: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr).await?;
    c.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").await?;
    let mut body = String::new();
    c.read_to_string(&mut body).await?;
    Ok(body)
}

kinesis_tables_tests::on_each_emulator!(refused_record, refused_record);

/// `rt_raw` (which names the custom partitioner `crate::KeyBeforeColon`) as a
/// hand-written Record that does not supply it.
struct NoPartitioner(kinesis_tables_tests::generated::RtRaw);

impl kinesis_tables::Record for NoPartitioner {
    const TABLE_NAME: &'static str = "rt_raw";
    const FORMAT: &'static str = "raw";
    fn config() -> Result<std::borrow::Cow<'static, kinesis_tables::TableConfig>, kinesis_tables::ConfigError> {
        kinesis_tables_tests::generated::RtRaw::config()
    }
    fn encode(&self) -> Result<Vec<u8>, kinesis_tables::EncodeError> {
        self.0.encode()
    }
    fn decode(data: &[u8]) -> Result<Self, kinesis_tables::DecodeError> {
        kinesis_tables_tests::generated::RtRaw::decode(data).map(NoPartitioner)
    }
    fn partition_key(&self) -> Result<Option<String>, kinesis_tables::EncodeError> {
        self.0.partition_key()
    }
    fn set_metadata(&mut self, meta: &kinesis_tables::Metadata<'_>) {
        self.0.set_metadata(meta)
    }
}

/// A table that names a custom partitioner its Record type does not supply
/// fails at start (it used to write with random keys, which breaks the order
/// per key): `connect` returns the error, and a sink made by `with_client`
/// refuses every record with it. No emulator: nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_custom_partitioner_fails_at_start() {
    use kinesis_tables::Record;
    let cfg = rt::config_for::<NoPartitioner>("http://127.0.0.1:9", "rt-raw");
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<NoPartitioner>::with_client(client, &cfg);
    let named = |e: &kinesis_tables::sink::SinkError| {
        let text = e.to_string();
        assert!(text.contains("KeyBeforeColon") && text.contains("custom partitioner"), "{text}");
    };
    named(&sink.check().unwrap_err());
    let record = NoPartitioner(kinesis_tables_tests::generated::RtRaw::make("k", 1));
    let err = sink.send(&record).await.unwrap_err();
    assert!(matches!(err, kinesis_tables::sink::SinkError::Failed { .. }), "{err:?}");
    named(&err);
    named(&sink.close().await.unwrap_err());
    // `connect` (the table's own options: no network is needed to fail).
    named(&Sink::<NoPartitioner>::connect().await.unwrap_err());
    assert!(NoPartitioner::custom_partitioner().is_none());
}

/// Waits until the metrics endpoint's text satisfies `ok`; returns the last text.
async fn scrape_until(addr: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> Result<String, String> {
    let t = std::time::Instant::now();
    let mut last = String::new();
    while t.elapsed() < limit {
        if let Ok(body) = scrape(addr).await {
            if ok(&body) {
                return Ok(body);
            }
            last = body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

fn lag_series(body: &str, shard: &str) -> bool {
    let label = format!("shard=\"{shard}\"");
    body.lines().any(|l| l.starts_with("kinesis_tables_lag_ms{") && l.contains(&label))
}

/// A shard that finished (here: split, and read to its end) leaves the
/// per-shard lag gauge: its `kinesis_tables_lag_ms{shard}` series goes, its
/// children's appear. It used to keep its last value for the whole run.
async fn lag_of_a_finished_shard(kind: Kind) {
    let s = setup(kind).await;
    let sent: Vec<RtJson> = rt::records(400, 8);
    s.write(&sent[..200]).await;
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let dir = s.dir.join("lag");
    let child = s.filter(&s.emu.endpoint(), "csv", 1, &[], &["--checkpoint-dir", dir.to_str().unwrap(), "--metrics-addr", &addr]);
    let parent = "shardId-000000000000";
    let limit = Duration::from_secs(60);
    if let Err(last) = scrape_until(&addr, limit, |b| lag_series(b, parent)).await {
        panic!("{kind}: no lag series for {parent}:\n{last}");
    }
    let [a, b] = s.emu.split_shard("rt-json", parent).await.unwrap();
    s.write(&sent[200..]).await;
    let gone =
        scrape_until(&addr, limit, |body| !lag_series(body, parent) && lag_series(body, &a.shard_id) && lag_series(body, &b.shard_id))
            .await;
    kill(child.id().unwrap(), "-TERM");
    let run = finish(child, Duration::from_secs(40)).await;
    if let Err(last) = gone {
        panic!("{kind}: the finished shard's lag series stayed (or its children's never came):\n{last}");
    }
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
}

kinesis_tables_tests::on_each_emulator!(lag_of_a_finished_shard, lag_of_a_finished_shard);

/// What a newcomer sees at the end of a run, its options from the
/// environment (`KT_…`; the flag wins): one report (the log's `stopped by
/// idle … seconds=3.5` and the summary's `in 0.50 s` used to be two that
/// disagreed), progress lines that do not read `0 records/s` once the last
/// records are out, and with `KT_LOG_FORMAT=json` nothing but JSON lines.
async fn final_report(kind: Kind) {
    let s = setup(kind).await;
    let n = 300;
    s.write(&rt::records(n, 6)).await;
    let dir = s.dir.join("report");
    let limit = Duration::from_secs(90);
    let env = [("RUST_LOG", "info"), ("KT_CHECKPOINT_DIR", dir.to_str().unwrap()), ("KT_STOP_WHEN_IDLE", "1h"), ("KT_PROGRESS", "1")];
    let run = finish(s.filter(&s.emu.endpoint(), "blackhole", 1, &env, &["--stop-when-idle", "3s"]), limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    let reports: Vec<&str> = run.stderr.lines().filter(|l| l.contains("stopped by")).collect();
    assert_eq!(reports.len(), 1, "{kind}: one final report:\n{}", run.stderr);
    assert!(
        reports[0].starts_with(&format!("filter: {n} in, {n} out in ")) && reports[0].ends_with("stopped by idle"),
        "{kind}: {}",
        reports[0]
    );
    let done = format!("filter: {n} in, {n} out, ");
    let after: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with(&done)).collect();
    assert!(!after.is_empty(), "{kind}: no progress line once every record was out:\n{}", run.stderr);
    assert!(after.iter().skip(1).all(|l| l.contains(", idle ")), "{kind}: {after:?}");
    assert!(after.iter().all(|l| !l.contains(", 0 records/s")), "{kind}: {after:?}");
    assert!(std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()), "{kind}: KT_CHECKPOINT_DIR was not used");

    // JSON logs, from the checkpoint just written: nothing new, ends idle.
    let env = [("RUST_LOG", "info"), ("KT_CHECKPOINT_DIR", dir.to_str().unwrap()), ("KT_PROGRESS", "1"), ("KT_LOG_FORMAT", "json")];
    let run = finish(s.filter(&s.emu.endpoint(), "blackhole", 1, &env, &["--stop-when-idle", "1s"]), limit).await;
    assert_eq!(run.code, Some(0), "{kind}: {}", run.stderr);
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{kind}: not a JSON line ({e}): {l}\n{}", run.stderr)))
        .collect();
    let ends: Vec<&serde_json::Value> = events.iter().filter(|e| e["fields"]["stopped_by"] == "idle").collect();
    assert_eq!(ends.len(), 1, "{kind}: {}", run.stderr);
    assert_eq!(ends[0]["fields"]["records_in"], 0, "{kind}: {}", run.stderr);
}

kinesis_tables_tests::on_each_emulator!(final_report, final_report);
