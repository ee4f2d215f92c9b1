//! `kinesis-tables build` on templates/specs/orders.yaml, then the pipeline
//! binaries against both emulators: one maps columns by name, one runs a
//! transform from the file next to the spec. Also: spec errors in pipelines
//! fail the build with located diagnostics.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use kinesis_tables::sink::Sink;
use kinesis_tables::source::Source;
use kinesis_tables_tests::emulator::{Emulator, Kind};
use kinesis_tables_tests::generated::{BigOrders, Orders, OrdersArchive};
use kinesis_tables_tests::rt;

fn cli() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_kinesis-tables"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the spec's binaries once for all tests (dev profile: the test
/// build has compiled the dependencies already).
fn built() -> PathBuf {
    static OUT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    OUT.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("kt-build-{}", std::process::id()));
        let status = cli()
            .args(["build", "templates/specs/orders.yaml", "--profile", "dev", "--out"])
            .arg(&out)
            .current_dir(workspace())
            .status()
            .unwrap();
        assert!(status.success(), "kinesis-tables build failed: {status}");
        out
    })
    .clone()
}

fn order(i: i64) -> Orders {
    Orders {
        order_id: i,
        customer: format!("c{}", i % 4_999),
        amount: format!("{}.{:02}", (i * 131) % 2000, i % 100).parse().unwrap(),
        qty: (i % 9) as i32 + 1,
        placed_at: kinesis_tables::types::DateTime::from_timestamp_millis(1_760_000_000_000 + i).unwrap().naive_utc(),
        shard: String::new(),
    }
}

async fn run_pipeline(emu: &Emulator, bin: &Path, dir: &Path) -> String {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(["--checkpoint-dir"]).arg(dir).args(["--stop-when-idle", "2s"]);
    rt::aws_env(&mut cmd, &emu.endpoint());
    let out = cmd.stdin(Stdio::null()).output().await.unwrap();
    assert!(out.status.success(), "{} failed: {}\n{}", bin.display(), out.status, String::from_utf8_lossy(&out.stderr));
    // The report is on stderr (stdout belongs to a `print` sink).
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn read_all<R: kinesis_tables::Record + Clone>(emu: &Emulator, stream: &str) -> Vec<R> {
    let cfg = rt::config_for::<R>(&emu.endpoint(), stream);
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<R>::builder().config(cfg).client(client).start().await.unwrap();
    let mut got = Vec::new();
    while let Ok(Ok(batch)) = tokio::time::timeout(Duration::from_secs(4), source.next()).await {
        got.extend(batch.records.iter().cloned());
        source.ack(batch.ack);
    }
    got
}

async fn end_to_end(kind: Kind, n: i64) {
    let out = built();
    let emu = Emulator::start(kind).await.unwrap();
    for s in ["orders", "orders-archive", "big-orders"] {
        emu.create_stream(s, 2).await.unwrap();
    }
    let cfg = rt::config_for::<Orders>(&emu.endpoint(), "orders");
    let (client, _) = rt::clients(&cfg).await;
    let sent: Vec<Orders> = (0..n).map(order).collect();
    let mut sink = Sink::<Orders>::with_client(client, &cfg);
    for o in &sent {
        sink.send(o).await.unwrap();
    }
    sink.close().await.unwrap();

    let dir = std::env::temp_dir().join(format!("kt-build-cp-{}-{}", kind.name(), fastrand::u64(..)));
    let report = run_pipeline(&emu, &out.join("archive_orders"), &dir).await;
    assert!(report.contains(&format!("{n} in, {n} out in ")) && report.contains("stopped by idle"), "{kind}: {report}");
    let report = run_pipeline(&emu, &out.join("big_orders"), &dir).await;
    assert!(report.contains(&format!("{n} in,")), "{kind}: {report}");

    // By name: every order, per-customer order kept, columns widened.
    let archived: Vec<OrdersArchive> = read_all(&emu, "orders-archive").await;
    assert_eq!(archived.len(), sent.len(), "{kind}");
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for a in &archived {
        let o = &sent[a.order_id as usize];
        assert_eq!((&a.customer, a.amount.as_ref(), a.qty, a.placed_at), (&o.customer, Some(&o.amount), o.qty as i64, o.placed_at));
        assert!(last.insert(a.customer.clone(), a.order_id).is_none_or(|prev| prev < a.order_id), "{kind}: order broken");
    }
    // Transform: exactly the big ones.
    let big: Vec<BigOrders> = read_all(&emu, "big-orders").await;
    let want: HashSet<i64> =
        sent.iter().filter(|o| o.amount >= "1000".parse::<kinesis_tables::types::Decimal>().unwrap()).map(|o| o.order_id).collect();
    let got: HashSet<i64> = big.iter().map(|b| b.order_id).collect();
    assert_eq!(got, want, "{kind}");
    assert!(!want.is_empty() && want.len() < sent.len());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_pipelines_on_ferrokinesis() {
    end_to_end(Kind::Ferrokinesis, 100_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_pipelines_on_kinesis_mock() {
    end_to_end(Kind::KinesisMock, 2_000).await;
}

/// README command 1's flow as a test: datagen into a stream, stream to
/// stream, stream to print; and datagen to blackhole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_print_and_blackhole_pipelines() {
    let out = built();
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    for s in ["orders", "orders-archive"] {
        emu.create_stream(s, 2).await.unwrap();
    }
    let dir = std::env::temp_dir().join(format!("kt-build-local-{}", fastrand::u64(..)));
    // The bounded datagen source ends the run by itself.
    let report = run_pipeline(&emu, &out.join("feed_orders"), &dir).await;
    assert!(report.contains("50000 in, 50000 out in ") && report.contains("stopped by done"), "{report}");
    let fed: Vec<Orders> = read_all(&emu, "orders").await;
    let mut ids: Vec<i64> = fed.iter().map(|o| o.order_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=50_000).collect::<Vec<_>>(), "datagen's sequence, each once");
    let report = run_pipeline(&emu, &out.join("archive_orders"), &dir).await;
    assert!(report.contains("50000 in, 50000 out in "), "{report}");

    // print: one line per record, `archive> ` then the record in csv.
    let mut cmd = tokio::process::Command::new(out.join("show_archive"));
    cmd.args(["--checkpoint-dir"]).arg(&dir).args(["--stop-when-idle", "2s"]);
    rt::aws_env(&mut cmd, &emu.endpoint());
    let shown = cmd.stdin(Stdio::null()).output().await.unwrap();
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let text = String::from_utf8(shown.stdout).unwrap();
    let by_id: BTreeMap<i64, &Orders> = fed.iter().map(|o| (o.order_id, o)).collect();
    let mut printed = HashSet::new();
    for line in text.lines() {
        let csv = line.strip_prefix("archive> ").unwrap_or_else(|| panic!("no identifier: {line}"));
        let row = <kinesis_tables_tests::generated::Console as kinesis_tables::Record>::decode(csv.as_bytes()).unwrap();
        let o = by_id[&row.order_id];
        assert_eq!((&row.customer, row.amount.as_ref(), row.qty), (&o.customer, Some(&o.amount), o.qty as i64), "{line}");
        assert!(printed.insert(row.order_id), "printed twice: {line}");
    }
    assert_eq!(printed.len(), 50_000);

    let report = run_pipeline(&emu, &out.join("generate_only"), &dir).await;
    assert!(report.contains("50000 in, 50000 out in ") && report.contains("stopped by done"), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pipeline_errors_fail_the_build_with_locations() {
    let dir = std::env::temp_dir().join(format!("kt-build-bad-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = std::fs::read_to_string(workspace().join("templates/specs/orders.yaml")).unwrap();
    let bad = spec
        .replace("    to: orders_archive", "    to: order_archive")
        .replace("      qty: BIGINT NOT NULL\n      placed_at: TIMESTAMP(3) NOT NULL\n    partitioned_by: [customer]\n    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/orders-archive", "      qty: TINYINT NOT NULL\n      placed_at: TIMESTAMP(3) NOT NULL\n    partitioned_by: [customer]\n    with:\n      connector: kinesis\n      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/orders-archive");
    let path = dir.join("orders.yaml");
    std::fs::write(&path, &bad).unwrap();
    let out = cli().args(["build"]).arg(&path).arg("--out").arg(dir.join("out")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no table `order_archive`") && err.contains("did you mean `orders_archive`?"), "{err}");
    assert!(err.contains("orders.yaml:"), "located: {err}");
    assert!(!dir.join("out/archive_orders").exists());
}

#[test]
fn new_scaffolds_a_crate_that_builds_and_rustc_checks_the_transform() {
    let dir = std::env::temp_dir().join(format!("kt-new-{}", fastrand::u64(..)));
    let krate = dir.join("clicks-pipeline");
    let out = cli().arg("new").arg(&krate).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The same target directory as the tests: dependencies are built already.
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"));
    let cargo_build = || {
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--quiet", "--target-dir"])
            .arg(&target)
            .current_dir(&krate)
            .output()
            .unwrap()
    };
    let built = cargo_build();
    assert!(built.status.success(), "the scaffold must compile:\n{}", String::from_utf8_lossy(&built.stderr));
    assert!(target.join("debug/clicks-pipeline").is_file());

    // A transform with the wrong signature is a compile error naming it.
    let path = krate.join("src/transforms.rs");
    let code = std::fs::read_to_string(&path).unwrap().replace("-> Option<EventsOut>", "-> Option<Events>");
    std::fs::write(&path, code).unwrap();
    let broken = cargo_build();
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("{enrich}") && err.contains("Transform<"), "{err}");
    assert!(cli().arg("new").arg(&krate).output().unwrap().status.code() == Some(2), "an existing directory is refused");
    let _ = std::fs::remove_dir_all(dir);
}

async fn scrape(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return String::new() };
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_and_sigterm() {
    let out = built();
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    for s in ["orders", "orders-archive"] {
        emu.create_stream(s, 2).await.unwrap();
    }
    let cfg = rt::config_for::<Orders>(&emu.endpoint(), "orders");
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<Orders>::with_client(client, &cfg);
    for i in 0..1_000 {
        sink.send(&order(i)).await.unwrap();
    }
    sink.close().await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!("kt-metrics-{}", fastrand::u64(..)));
    let mut cmd = tokio::process::Command::new(out.join("archive_orders"));
    rt::aws_env(&mut cmd, &emu.endpoint());
    let child = cmd
        .args(["--checkpoint-dir"])
        .arg(&dir)
        .args(["--metrics-addr", &addr])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(&addr).await;
        if text.contains("kinesis_tables_records_out_total{pipeline=\"archive_orders\"} 1000") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for metric in [
        "kinesis_tables_records_out_total{pipeline=\"archive_orders\"} 1000",
        "kinesis_tables_records_in_total{pipeline=\"archive_orders\"} 1000",
        "kinesis_tables_lag_ms{pipeline=\"archive_orders\",shard=\"shardId-000000000000\"}",
        "kinesis_tables_errors_total{pipeline=\"archive_orders\",kind=\"source_throttled\"} 0",
        "kinesis_tables_checkpoint_age_seconds",
        "kinesis_tables_source_batch_records",
        "kinesis_tables_bytes_out_total",
    ] {
        assert!(text.contains(metric), "missing {metric} in:\n{text}");
    }
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let done = child.wait_with_output().await.unwrap();
    assert!(done.status.success(), "{}", done.status);
    let report = String::from_utf8_lossy(&done.stderr);
    assert!(report.contains("1000 in, 1000 out in ") && report.contains("stopped by signal"), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}
