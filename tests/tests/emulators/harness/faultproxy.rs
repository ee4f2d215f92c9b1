//! The fault proxy itself, against a tiny upstream started here and a real aws-sdk-kinesis client.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::timeout::TimeoutConfig;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kinesis_tables_tests::faultproxy::{FaultCounts, FaultProxy, Faults};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const STREAM_FRAMES: usize = 10;
const STREAM_FRAME_GAP: Duration = Duration::from_millis(200);

/// What the upstream received: one entry per request.
#[derive(Clone, Debug)]
struct Seen {
    operation: String,
    /// PutRecords: the decoded Data of each entry, in order.
    data: Vec<String>,
}

/// A tiny Kinesis "emulator": PutRecords succeeds for every entry (SequenceNumber = "seq-" + data),
/// ListStreams answers `{}`, SubscribeToShard streams `STREAM_FRAMES` frames `STREAM_FRAME_GAP` apart.
struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let mut connections = JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    let seen = Arc::clone(&seen);
                    connections.spawn(async move {
                        let service = service_fn(move |request| upstream_handle(Arc::clone(&seen), request));
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            }
        });
        Upstream { addr, seen, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_count(&self, operation: &str) -> usize {
        self.seen().iter().filter(|s| s.operation == operation).count()
    }
}

async fn upstream_handle(
    seen: Arc<Mutex<Vec<Seen>>>,
    request: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, BoxError>>, Infallible> {
    let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let operation = target.strip_prefix("Kinesis_20131202.").unwrap_or(&target).to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut data = Vec::new();
    let response = match operation.as_str() {
        "PutRecords" => {
            let records = json["Records"].as_array().cloned().unwrap_or_default();
            let mut out = Vec::new();
            for record in records {
                let decoded = BASE64.decode(record["Data"].as_str().unwrap_or_default()).unwrap_or_default();
                let text = String::from_utf8_lossy(&decoded).into_owned();
                out.push(json!({"ShardId": "shardId-000000000000", "SequenceNumber": format!("seq-{text}")}));
                data.push(text);
            }
            json_response(StatusCode::OK, json!({"FailedRecordCount": 0, "Records": out}))
        }
        "ListStreams" => json_response(StatusCode::OK, json!({})),
        "SubscribeToShard" => {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(async move {
                for i in 0..STREAM_FRAMES {
                    if i > 0 {
                        tokio::time::sleep(STREAM_FRAME_GAP).await;
                    }
                    if tx.send(Bytes::from(format!("event-{i};"))).await.is_err() {
                        return;
                    }
                }
            });
            let mut response = Response::new(ChannelBody(rx).boxed());
            response.headers_mut().insert("content-type", "application/vnd.amazon.eventstream".parse().unwrap());
            response
        }
        _ => json_response(StatusCode::BAD_REQUEST, json!({"__type": "UnknownOperationException", "message": target})),
    };
    seen.lock().unwrap().push(Seen { operation, data });
    Ok(response)
}

fn json_response(status: StatusCode, body: Value) -> Response<BoxBody<Bytes, BoxError>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    response
}

/// A chunked response body fed by a channel.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn sdk_client(proxy: &FaultProxy) -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "faultproxy-test"))
        .endpoint_url(proxy.endpoint())
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

async fn setup() -> (Upstream, FaultProxy, Client) {
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(&upstream.url()).await.expect("start proxy");
    let client = sdk_client(&proxy);
    (upstream, proxy, client)
}

fn entries(prefix: &str, n: usize) -> Vec<PutRecordsRequestEntry> {
    (0..n)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(format!("{prefix}-{i}")))
                .partition_key(format!("pk-{i}"))
                .build()
                .expect("entry")
        })
        .collect()
}

async fn put_records(
    client: &Client,
    prefix: &str,
    n: usize,
) -> Result<aws_sdk_kinesis::operation::put_records::PutRecordsOutput, SdkError<aws_sdk_kinesis::operation::put_records::PutRecordsError>> {
    client.put_records().stream_name("s").set_records(Some(entries(prefix, n))).send().await
}

#[tokio::test]
async fn passes_through_without_faults() {
    let (upstream, proxy, client) = setup().await;
    let out = put_records(&client, "ok", 3).await.expect("put_records through the proxy");
    assert_eq!(out.failed_record_count(), Some(0));
    let sequence_numbers: Vec<_> = out.records().iter().map(|r| r.sequence_number().unwrap_or_default()).collect();
    assert_eq!(sequence_numbers, ["seq-ok-0", "seq-ok-1", "seq-ok-2"]);
    client.list_streams().send().await.expect("list_streams through the proxy");
    client.list_streams().send().await.expect("list_streams through the proxy");

    let counts = proxy.counts();
    assert_eq!(counts.requests.get("PutRecords"), Some(&1));
    assert_eq!(counts.requests.get("ListStreams"), Some(&2));
    assert_eq!(FaultCounts { requests: Default::default(), ..counts }, FaultCounts::default(), "no fault injected");
    assert_eq!(upstream.seen_count("PutRecords"), 1);
    assert_eq!(upstream.seen()[0].data, ["ok-0", "ok-1", "ok-2"]);
}

#[tokio::test]
async fn throttle_answers_provisioned_throughput_exceeded_without_forwarding() {
    let (upstream, proxy, client) = setup().await;
    proxy.set(Faults { operations: vec!["PutRecords".into()], throttle: 1.0, seed: Some(1), ..Faults::default() });

    for _ in 0..3 {
        let err = put_records(&client, "t", 2).await.expect_err("throttled");
        let service_error = err.as_service_error().unwrap_or_else(|| panic!("expected a service error, got {err:?}"));
        assert!(service_error.is_provisioned_throughput_exceeded_exception(), "{service_error:?}");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
    // Not in `operations`: untouched.
    client.list_streams().send().await.expect("ListStreams is not faulted");

    assert_eq!(proxy.counts().throttled, 3);
    assert_eq!(upstream.seen_count("PutRecords"), 0, "throttled requests must not be forwarded");
    assert_eq!(upstream.seen_count("ListStreams"), 1);

    // Faults can be turned off at runtime.
    proxy.set(Faults::default());
    put_records(&client, "t", 2).await.expect("no faults any more");
    assert_eq!(upstream.seen_count("PutRecords"), 1);
}

#[tokio::test]
async fn server_error_answers_500_before_or_after_forwarding() {
    let (upstream, proxy, client) = setup().await;
    proxy.set(Faults { server_error: 1.0, seed: Some(7), ..Faults::default() });

    const CALLS: usize = 24;
    for _ in 0..CALLS {
        let err = put_records(&client, "e", 1).await.expect_err("500");
        assert!(matches!(err, SdkError::ServiceError(_)), "expected a service error, got {err:?}");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
        assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InternalFailure"));
    }
    assert_eq!(proxy.counts().server_errors, CALLS as u64);
    let forwarded = upstream.seen_count("PutRecords");
    assert!(0 < forwarded && forwarded < CALLS, "about half must be forwarded first, got {forwarded}/{CALLS}");
}

#[tokio::test]
async fn fail_entries_removes_entries_and_reinserts_them_as_failures() {
    let (upstream, proxy, client) = setup().await;
    proxy.set(Faults { operations: vec!["PutRecords".into()], fail_entries: 0.5, seed: Some(42), ..Faults::default() });

    const N: usize = 500;
    let out = put_records(&client, "r", N).await.expect("put_records with failed entries");
    let records = out.records();
    assert_eq!(records.len(), N);
    let failed: Vec<usize> = records.iter().enumerate().filter(|(_, r)| r.error_code().is_some()).map(|(i, _)| i).collect();
    let failed_count = out.failed_record_count().expect("FailedRecordCount") as usize;
    assert_eq!(failed_count, failed.len());
    assert_eq!(proxy.counts().failed_entries, failed.len() as u64);
    assert!(N / 4 < failed.len() && failed.len() < 3 * N / 4, "p = 0.5, got {} of {N}", failed.len());

    for (i, record) in records.iter().enumerate() {
        match record.error_code() {
            Some(code) => {
                assert_eq!(code, "ProvisionedThroughputExceededException");
                assert!(record.error_message().is_some());
                assert!(record.sequence_number().is_none());
            }
            // The upstream's answer for entry i landed at index i.
            None => assert_eq!(record.sequence_number(), Some(format!("seq-r-{i}").as_str())),
        }
    }

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let expected: Vec<String> = (0..N).filter(|i| !failed.contains(i)).map(|i| format!("r-{i}")).collect();
    assert_eq!(seen[0].data, expected, "the upstream must see exactly the non-failed entries, in order");
}

#[tokio::test]
async fn fail_entries_all_removed_is_not_forwarded() {
    let (upstream, proxy, client) = setup().await;
    proxy.set(Faults { fail_entries: 1.0, ..Faults::default() });

    let out = put_records(&client, "all", 10).await.expect("put_records with every entry failed");
    assert_eq!(out.failed_record_count(), Some(10));
    assert!(out.records().iter().all(|r| r.error_code() == Some("ProvisionedThroughputExceededException")));
    assert_eq!(proxy.counts().failed_entries, 10);
    assert_eq!(upstream.seen_count("PutRecords"), 0);

    // fail_entries only touches PutRecords.
    client.list_streams().send().await.expect("ListStreams is not faulted");
}

#[tokio::test]
async fn delay_holds_the_response() {
    let (upstream, proxy, client) = setup().await;
    let delay_for = Duration::from_secs(1);
    proxy.set(Faults { operations: vec!["ListStreams".into()], delay: 1.0, delay_for, ..Faults::default() });

    let started = Instant::now();
    client.list_streams().send().await.expect("delayed, not failed");
    let elapsed = started.elapsed();
    assert!(elapsed >= delay_for, "took {elapsed:?}, expected at least {delay_for:?}");
    assert!(elapsed < delay_for + Duration::from_secs(10), "took {elapsed:?}");

    // Other operations are not delayed.
    let started = Instant::now();
    put_records(&client, "d", 1).await.expect("put_records");
    assert!(started.elapsed() < delay_for, "PutRecords was delayed: {:?}", started.elapsed());

    assert_eq!(proxy.counts().delayed, 1);
    assert_eq!(upstream.seen_count("ListStreams"), 1);
}

#[tokio::test]
async fn cut_closes_the_connection_before_or_after_forwarding() {
    let (upstream, proxy, client) = setup().await;
    proxy.set(Faults { operations: vec!["PutRecords".into()], cut: 1.0, seed: Some(3), ..Faults::default() });

    const CALLS: usize = 24;
    for _ in 0..CALLS {
        let err = put_records(&client, "c", 1).await.expect_err("cut");
        assert!(matches!(err, SdkError::DispatchFailure(_)), "expected a dispatch failure, got {err:?}");
        assert!(err.raw_response().is_none());
    }
    assert_eq!(proxy.counts().cut, CALLS as u64);
    let forwarded = upstream.seen_count("PutRecords");
    assert!(0 < forwarded && forwarded < CALLS, "about half must be forwarded first, got {forwarded}/{CALLS}");

    // The proxy still serves other operations (new connections) after the cuts.
    client.list_streams().send().await.expect("ListStreams is not faulted");
}

fn raw_client() -> HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>> {
    HyperClient::builder(TokioExecutor::new()).build_http()
}

fn subscribe_request(proxy: &FaultProxy) -> Request<Full<Bytes>> {
    Request::post(proxy.endpoint())
        .header("x-amz-target", "Kinesis_20131202.SubscribeToShard")
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from_static(
            br#"{"ConsumerARN":"arn","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}"#,
        )))
        .unwrap()
}

#[tokio::test]
async fn subscribe_to_shard_is_streamed_not_buffered() {
    let (_upstream, proxy, _client) = setup().await;
    let started = Instant::now();
    let response = raw_client().request(subscribe_request(&proxy)).await.expect("SubscribeToShard through the proxy");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first =
        tokio::time::timeout(Duration::from_secs(10), body.frame()).await.expect("first frame").expect("a frame").expect("ok frame");
    assert_eq!(first.into_data().ok().as_deref(), Some(&b"event-0;"[..]));
    let whole_stream = STREAM_FRAME_GAP * (STREAM_FRAMES as u32 - 1);
    assert!(started.elapsed() < whole_stream / 2, "the first frame arrived after {:?}: buffered?", started.elapsed());

    let rest = tokio::time::timeout(Duration::from_secs(20), body.collect()).await.expect("stream ends").expect("stream ok").to_bytes();
    let expected: String = (1..STREAM_FRAMES).map(|i| format!("event-{i};")).collect();
    assert_eq!(rest, expected.as_bytes());
}

#[tokio::test]
async fn cut_on_subscribe_to_shard_cuts_mid_stream() {
    let (upstream, proxy, _client) = setup().await;
    proxy.set(Faults { operations: vec!["SubscribeToShard".into()], cut: 1.0, seed: Some(11), ..Faults::default() });
    let client = raw_client();

    const CALLS: usize = 12;
    let (mut before, mut mid_stream) = (0, 0);
    for _ in 0..CALLS {
        let response =
            match tokio::time::timeout(Duration::from_secs(10), client.request(subscribe_request(&proxy))).await.expect("no hang") {
                Err(_) => {
                    before += 1;
                    continue;
                }
                Ok(response) => response,
            };
        let mut received = Vec::new();
        let mut body = response.into_body();
        let error = loop {
            match tokio::time::timeout(Duration::from_secs(10), body.frame()).await.expect("no hang") {
                Some(Ok(frame)) => received.extend_from_slice(frame.data_ref().map(|d| &d[..]).unwrap_or_default()),
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        assert!(error.is_some(), "a cut stream must end in an error, received {:?}", String::from_utf8_lossy(&received));
        let frames = received.iter().filter(|&&b| b == b';').count();
        assert!((1..=3).contains(&frames), "cut after 1 to 3 frames, got {frames}");
        mid_stream += 1;
    }
    assert!(before > 0 && mid_stream > 0, "both kinds of cut, got {before} before and {mid_stream} mid-stream");
    assert_eq!(proxy.counts().cut, CALLS as u64);
    assert_eq!(upstream.seen_count("SubscribeToShard"), mid_stream);
}

#[tokio::test]
async fn upstream_trouble_is_a_502_not_a_panic() {
    // An upstream that is not listening.
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let proxy = FaultProxy::start(&dead).await.expect("start proxy");
    let response = raw_client().request(subscribe_request(&proxy)).await.expect("a response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let client = sdk_client(&proxy);
    let err = client.list_streams().send().await.expect_err("502");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(502));

    // Malformed PutRecords bodies are forwarded unchanged (the upstream judges them), even with fail_entries.
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(&upstream.url()).await.expect("start proxy");
    proxy.set(Faults { fail_entries: 1.0, ..Faults::default() });
    for body in [&b"not json"[..], br#"{"Records": 3}"#, br#"[1,2]"#, b""] {
        let request = Request::post(proxy.endpoint())
            .header("x-amz-target", "Kinesis_20131202.PutRecords")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        let response = raw_client().request(request).await.expect("a response");
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(upstream.seen_count("PutRecords"), 4);
    assert_eq!(proxy.counts().failed_entries, 0);

    assert!(FaultProxy::start("https://127.0.0.1:1").await.is_err());
    assert!(FaultProxy::start("not a url").await.is_err());
}
