//! The runtime's handling of bad input and bad conditions, against real
//! emulators: missing streams, undecodable records, refused records,
//! fail-on-error, backpressure, timeouts, expired iterators, credentials and
//! TLS trust.

use std::time::Duration;

use kinesis_tables::aws::aws_sdk_kinesis::primitives::Blob;
use kinesis_tables::config::{Credentials, FormatConfig, Secret};
use kinesis_tables::connect::{self, HttpSettings};
use kinesis_tables::sink::{Sink, SinkError};
use kinesis_tables::source::{Source, SourceError};
use kinesis_tables_tests::emulator::{Emulator, Kind, StartOptions};
use kinesis_tables_tests::faultproxy::{FaultProxy, Faults};
use kinesis_tables_tests::generated::{RtCsv, RtJson, RtRaw};
use kinesis_tables_tests::rt::{self, TestRecord};

fn some_json(n: usize) -> Vec<RtJson> {
    rt::records(n, 10)
}

async fn write<R: TestRecord>(cfg: &kinesis_tables::TableConfig, records: &[R]) {
    let (client, _) = rt::clients(cfg).await;
    let mut sink = Sink::<R>::with_client(client, cfg);
    for r in records {
        sink.send(r).await.unwrap();
    }
    assert_eq!(sink.close().await.unwrap().acknowledged, records.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_fails_clearly_and_counts_what_was_given_up() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "no-such-stream");
    let (sink_client, source_client) = rt::clients(&cfg).await;
    let err = Source::<RtJson>::builder().config(cfg.clone()).client(source_client).start().await.unwrap_err();
    assert!(matches!(&err, SourceError::Setup(m) if m.contains("ResourceNotFoundException")), "{err}");

    let mut sink = Sink::<RtJson>::with_client(sink_client, &cfg);
    for r in &some_json(20) {
        // Either accepted, or refused because the sink has already failed.
        if let Err(e) = sink.send(r).await {
            assert!(matches!(e, SinkError::Failed { .. }), "{e}");
        }
    }
    let err = sink.flush().await.unwrap_err();
    match &err {
        SinkError::Failed { reason, given_up } => {
            assert!(reason.contains("ResourceNotFoundException"), "{reason}");
            assert_eq!(*given_up, sink.stats().accepted, "every accepted record is counted as given up");
            assert!(*given_up > 0);
        }
        other => panic!("{other}"),
    }
    assert!(matches!(sink.send(&some_json(1)[0]).await, Err(SinkError::Failed { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_stop_the_source_or_are_skipped_and_counted() {
    let emu = Emulator::start(Kind::KinesisMock).await.unwrap();
    emu.create_stream("bad", 1).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "bad");
    let good = some_json(30);
    write(&cfg, &good[..10]).await;
    let bad = emu.client().put_record().stream_name("bad").partition_key("x").data(Blob::new(&b"{not json"[..])).send().await.unwrap();
    write(&cfg, &good[10..]).await;

    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(client.clone()).start().await.unwrap();
    let err = rt::read_until(&mut source, good.len(), Duration::from_secs(5)).await.unwrap_err();
    assert!(err.contains(bad.sequence_number()) && err.contains(bad.shard_id()), "the error names shard and sequence number: {err}");
    assert!(err.contains("json.ignore-parse-errors"), "the error says how to skip: {err}");

    let mut skipping = cfg.clone();
    if let FormatConfig::Json(j) = &mut skipping.format {
        j.ignore_parse_errors = true;
    }
    let mut source = Source::<RtJson>::builder().config(skipping).client(client).start().await.unwrap();
    let got = rt::read_until(&mut source, good.len() + 1, Duration::from_secs(3)).await.unwrap();
    assert_eq!(rt::check_delivery(&good, &got).unwrap(), 0);
    assert_eq!(source.stats().skipped_bad_records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_and_oversized_records_are_refused_one_by_one() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("refuse", 2).await.unwrap();
    let cfg = rt::config_for::<RtRaw>(&emu.endpoint(), "refuse");
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtRaw>::with_client(client, &cfg);
    let long_key = RtRaw { line: format!("{}:1", "k".repeat(257)) };
    let empty_key = RtRaw { line: ":2".into() };
    let huge = RtRaw { line: format!("big:{}", "x".repeat(1024 * 1024)) };
    let max_key = RtRaw { line: format!("{}:3", "k".repeat(256)) };
    for (r, what) in [(&long_key, "257 characters"), (&empty_key, "empty"), (&huge, "1048576")] {
        match sink.send(r).await {
            Err(SinkError::Record(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("expected a refusal mentioning {what}, got {other:?}"),
        }
    }
    // 256 characters is allowed.
    sink.send(&max_key).await.unwrap();
    let ok: Vec<RtRaw> = rt::records(50, 5);
    for r in &ok {
        sink.send(r).await.unwrap();
    }
    let stats = sink.close().await.unwrap();
    assert_eq!((stats.refused, stats.acknowledged), (3, 51), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_error_fails_the_sink_on_the_first_failed_entry() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("strict", 2).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults { operations: vec!["PutRecords".into()], fail_entries: 0.5, seed: Some(1), ..Faults::default() });
    let mut cfg = rt::config_for::<RtJson>(&proxy.endpoint(), "strict");
    cfg.sink.fail_on_error = true;
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    let mut failed_at_send = false;
    for r in &some_json(200) {
        if sink.send(r).await.is_err() {
            failed_at_send = true;
            break;
        }
    }
    let err = sink.flush().await.unwrap_err();
    let SinkError::Failed { reason, given_up } = &err else { panic!("{err}") };
    assert!(reason.contains("ProvisionedThroughputExceededException"), "{reason}");
    let stats = sink.stats();
    assert!(*given_up > 0 && stats.acknowledged + given_up == stats.accepted, "{err} / {stats:?} (failed at send: {failed_at_send})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_buffered_bounds_the_records_held() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("slow", 1).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults { operations: vec!["PutRecords".into()], delay: 1.0, delay_for: Duration::from_millis(100), ..Faults::default() });
    let mut cfg = rt::config_for::<RtJson>(&proxy.endpoint(), "slow");
    cfg.sink.max_buffered = 25;
    cfg.sink.max_inflight = 2;
    cfg.sink.batch_max_size = 10;
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    let records = rt::records::<RtJson>(300, 300);
    let mut max_held = 0;
    for r in &records {
        sink.send(r).await.unwrap();
        let s = sink.stats();
        max_held = max_held.max(s.accepted - s.acknowledged);
    }
    assert!(max_held <= 25, "held {max_held} records with max-buffered 25");
    assert!(max_held >= 20, "the slow server should have filled the buffer (held {max_held})");
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, 300);
    assert!(stats.requests >= 30, "batches of at most 10: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out_and_the_sink_retries() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("hung", 1).await.unwrap();
    let proxy = FaultProxy::start(&emu.endpoint()).await.unwrap();
    proxy.set(Faults { operations: vec!["PutRecords".into()], delay: 1.0, delay_for: Duration::from_secs(3), ..Faults::default() });
    let mut cfg = rt::config_for::<RtJson>(&proxy.endpoint(), "hung");
    cfg.sink.http_read_timeout = Duration::from_millis(300);
    let (client, _) = rt::clients(&cfg).await;
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    let records = some_json(20);
    for r in &records {
        sink.send(r).await.unwrap();
    }
    // Let a few attempts time out, then let the server answer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.stats().acknowledged, 0);
    assert!(sink.stats().failed_requests >= 1, "{:?}", sink.stats());
    proxy.set(Faults::default());
    let stats = sink.close().await.unwrap();
    assert_eq!(stats.acknowledged, 20, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_iterators_resume_after_the_last_record_read() {
    let emu = Emulator::start_with(Kind::Ferrokinesis, &StartOptions { iterator_ttl_seconds: Some(1) }).await.unwrap();
    emu.create_stream("expire", 1).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "expire");
    let sent = some_json(2000);
    write(&cfg, &sent).await;
    cfg.source.polling.max_records = 50;
    cfg.source.polling.interval = Duration::from_millis(10);
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder().config(cfg).client(client).start().await.unwrap();
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let batch = tokio::time::timeout(Duration::from_secs(10), source.next()).await.expect("records keep coming").unwrap();
        if got.is_empty() {
            // A slow consumer: the reader waits on a full queue past the iterator's lifetime.
            tokio::time::sleep(Duration::from_millis(2500)).await;
        }
        for mut r in batch.records {
            r.take_metadata().unwrap();
            got.push(r);
        }
        source.ack(batch.ack);
    }
    assert_eq!(rt::check_delivery(&sent, &got).unwrap(), 0);
    assert!(source.stats().expired_iterators >= 1, "{:?}", source.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_the_options_are_the_ones_used() {
    // kinesis-mock keeps streams per account, and takes the account from the
    // access key (for streams named by name; an ARN carries its own account).
    let emu = Emulator::start(Kind::KinesisMock).await.unwrap();
    emu.create_stream("creds", 1).await.unwrap();
    let base = rt::config_for::<RtCsv>(&emu.endpoint(), "creds");
    let start = |cfg: kinesis_tables::TableConfig, custom| async move {
        let client = connect::kinesis_client(&cfg, HttpSettings::source(&cfg), custom).await.map_err(|e| e.to_string())?;
        Source::<RtCsv>::builder().config(cfg).client(client).start().await.map(|_| ()).map_err(|e| e.to_string())
    };

    let mut other = base.clone();
    other.aws.credentials = Credentials::Basic { access_key_id: Secret("111111111111".into()), secret_key: Secret("s".into()) };
    let err = start(other, None).await.unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "another account's keys must not see the stream: {err}");

    let dir = std::env::temp_dir().join(format!("kt-creds-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(&file, "[default]\naws_access_key_id = 111111111111\naws_secret_access_key = a\n\n[test]\naws_access_key_id = 000000000000\naws_secret_access_key = b\n").unwrap();
    let mut profile = base.clone();
    profile.aws.credentials = Credentials::Profile { path: Some(file.to_str().unwrap().to_owned().into()), name: Some("test".into()) };
    start(profile.clone(), None).await.expect("the named profile's keys are used");
    profile.aws.credentials = Credentials::Profile { path: Some(file.to_str().unwrap().to_owned().into()), name: Some("default".into()) };
    assert!(start(profile, None).await.unwrap_err().contains("ResourceNotFoundException"));

    let mut custom = base.clone();
    custom.aws.credentials = Credentials::Custom { type_path: "Test".into() };
    let provider = kinesis_tables::aws::aws_credential_types::provider::SharedCredentialsProvider::new(
        kinesis_tables::aws::aws_credential_types::Credentials::new("000000000000", "c", None, None, "test"),
    );
    start(custom.clone(), Some(provider)).await.expect("the custom provider's keys are used");
    assert!(start(custom, None).await.unwrap_err().contains("no provider"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificates_are_refused_unless_trust_all_is_set() {
    let emu = Emulator::start(Kind::KinesisMock).await.unwrap();
    emu.create_stream("tls", 1).await.unwrap();
    let tls = emu.tls_endpoint().unwrap();
    let mut cfg = rt::config_for::<RtJson>(&tls, "tls");
    let (_, client) = rt::clients(&cfg).await;
    let err = Source::<RtJson>::builder().config(cfg.clone()).client(client).start().await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "a self-signed certificate is refused by default: {err}");

    cfg.aws.trust_all_certificates = true;
    for protocol in [kinesis_tables::config::HttpProtocol::Http1_1, kinesis_tables::config::HttpProtocol::Http2] {
        cfg.sink.http_protocol = protocol;
        let (sink_client, source_client) = rt::clients(&cfg).await;
        let records = some_json(10);
        let mut sink = Sink::<RtJson>::with_client(sink_client, &cfg);
        for r in &records {
            sink.send(r).await.unwrap();
        }
        assert_eq!(sink.close().await.unwrap().acknowledged, 10, "{protocol:?}");
        let mut source = Source::<RtJson>::builder().config(cfg.clone()).client(source_client).start().await.unwrap();
        let got = rt::read_until(&mut source, 10, Duration::from_secs(5)).await.unwrap();
        assert!(got.len() >= 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_and_random_partitioners() {
    use kinesis_tables::config::Partitioner;
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    for (name, partitioner) in [("fixed", Partitioner::Fixed), ("random", Partitioner::Random)] {
        emu.create_stream(name, 4).await.unwrap();
        let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), name);
        cfg.sink.partitioner = partitioner;
        let sent = some_json(400);
        write(&cfg, &sent).await;
        let (_, client) = rt::clients(&cfg).await;
        let mut source = Source::<RtJson>::builder().config(cfg).client(client).start().await.unwrap();
        let mut shards = std::collections::BTreeMap::<String, usize>::new();
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let batch = tokio::time::timeout(Duration::from_secs(5), source.next()).await.unwrap().unwrap();
            for mut r in batch.records {
                *shards.entry(r.shard.clone()).or_default() += 1;
                r.take_metadata().unwrap();
                got.push(r);
            }
            source.ack(batch.ack);
        }
        if name == "fixed" {
            // One key: the whole sink's output is in order.
            assert_eq!(rt::check_delivery(&sent, &got).unwrap(), 0);
        } else {
            // Random keys carry no order; the same records must arrive.
            let ids = |v: &[RtJson]| {
                let mut ids: Vec<_> = v.iter().map(|r| r.key_n()).collect();
                ids.sort();
                ids
            };
            assert_eq!(ids(&sent), ids(&got));
        }
        if name == "fixed" {
            assert_eq!(shards.len(), 1, "one key per sink instance lands on one shard: {shards:?}");
        } else {
            assert_eq!(shards.len(), 4, "random keys spread over every shard: {shards:?}");
        }
    }
}

/// Loads nothing and fails every write, like a full disk.
struct FullDisk;

impl kinesis_tables::checkpoint::CheckpointStore for FullDisk {
    fn load(
        &self,
    ) -> kinesis_tables::checkpoint::BoxFuture<
        '_,
        Result<Option<kinesis_tables::checkpoint::Checkpoint>, kinesis_tables::checkpoint::CheckpointError>,
    > {
        Box::pin(async { Ok(None) })
    }
    fn save(
        &self,
        _: kinesis_tables::checkpoint::Checkpoint,
    ) -> kinesis_tables::checkpoint::BoxFuture<'_, Result<(), kinesis_tables::checkpoint::CheckpointError>> {
        Box::pin(async { Err(kinesis_tables::checkpoint::CheckpointError::other("no space left on device")) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_that_cannot_be_written_stops_the_source() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("cp", 1).await.unwrap();
    let cfg = rt::config_for::<RtJson>(&emu.endpoint(), "cp");
    write(&cfg, &some_json(50)).await;
    let (_, client) = rt::clients(&cfg).await;
    let mut source = Source::<RtJson>::builder()
        .config(cfg)
        .client(client)
        .checkpoints(FullDisk)
        .commit_interval(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let batch = source.next().await.unwrap();
    source.ack(batch.ack);
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), source.next()).await.expect("the failure surfaces") {
            Ok(b) => source.ack(b.ack),
            Err(e) => break e,
        }
    };
    assert!(matches!(&err, SourceError::Checkpoint(m) if m.contains("no space left")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_that_cannot_load_fail_the_sink_instead_of_retrying_forever() {
    let emu = Emulator::start(Kind::Ferrokinesis).await.unwrap();
    emu.create_stream("nocreds", 1).await.unwrap();
    let mut cfg = rt::config_for::<RtJson>(&emu.endpoint(), "nocreds");
    cfg.aws.credentials = Credentials::WebIdentityToken {
        role_arn: Some("arn:aws:iam::000000000000:role/reader".into()),
        session_name: Some("s".into()),
        token_file: Some("/nonexistent/kinesis-tables/token".into()),
    };
    let client = connect::kinesis_client(&cfg, HttpSettings::sink(&cfg), None).await.unwrap();
    let mut sink = Sink::<RtJson>::with_client(client, &cfg);
    for r in &some_json(5) {
        let _ = sink.send(r).await;
    }
    let err = tokio::time::timeout(Duration::from_secs(20), sink.flush()).await.expect("fails instead of retrying forever").unwrap_err();
    assert!(matches!(&err, SinkError::Failed { given_up: 5, .. }), "{err}");
}
