//! A fault-injecting HTTP/1.1 proxy for the Kinesis JSON protocol (AWS JSON 1.1), as a test tool.
//!
//! The proxy listens on `127.0.0.1` between an `aws-sdk-kinesis` client and an upstream emulator
//! reached over plain `http://`. Each request is forwarded upstream unless a fault says otherwise:
//!
//! * `throttle`: answer `400 ProvisionedThroughputExceededException` without forwarding;
//! * `server_error`: answer `500 InternalFailure`, half of the time before forwarding and half of the
//!   time after (so the upstream may have done the work, as with the real service);
//! * `fail_entries` (PutRecords only): remove entries from the request before forwarding and put them
//!   back into the response, at their original index, as throttled entries;
//! * `delay`: hold the response (or the cut) for `delay_for`;
//! * `cut`: close the connection without a response, half of the time before forwarding and half of
//!   the time after. For `SubscribeToShard`, whose response is an event stream that is passed through
//!   without buffering, "after" means mid-stream, after a few frames were relayed.
//! * `stall` ([`StreamFaults`], `SubscribeToShard` only): relay a few frames of the event stream, then relay nothing more
//!   while keeping the connection open — a subscription that goes silent.
//!
//! It speaks DynamoDB's JSON protocol (AWS JSON 1.0) as well, so it can sit in front of dynalite: every
//! request is logged ([`FaultProxy::log`]: operation, arrival time, lease key, the attributes a write
//! sets — a checkpoint write, a take — and the answer), and [`FaultProxy::unreachable_for`] cuts every
//! request for a window. `throttle` and `server_error` answer DynamoDB's
//! `ProvisionedThroughputExceededException` and a 500 the same way.
//!
//! Emulators don't verify SigV4 signatures, so rewriting a request body is fine. The proxy never panics
//! on malformed input: upstream or protocol trouble is answered with `502` and a JSON message.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

mod requestlog;

pub use requestlog::LoggedRequest;
use requestlog::{RequestLog, Unreachable};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = BoxBody<Bytes, BoxError>;
type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

const TARGET_PREFIX: &str = "Kinesis_20131202.";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// Far above the Kinesis request limits (PutRecords: 5 MiB of data, base64 in JSON), so only garbage hits it.
const MAX_REQUEST_BODY: usize = 64 << 20;
const THROTTLED: &str = "ProvisionedThroughputExceededException";
const THROTTLED_MESSAGE: &str = "Rate exceeded for shard (injected by faultproxy)";

/// Faults to inject; probabilities are in `[0, 1]` (0 = never, 1 = always) and drawn independently per request.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Operations the faults apply to (e.g. `["PutRecords", "GetRecords"]`); empty = all operations.
    pub operations: Vec<String>,
    /// Answer `400 {"__type":"ProvisionedThroughputExceededException",...}` without forwarding.
    pub throttle: f64,
    /// Answer `500 {"__type":"InternalFailure",...}`: half before forwarding, half after (the write may have happened).
    pub server_error: f64,
    /// PutRecords only: per-entry probability that the entry is removed from the request before forwarding
    /// and re-inserted into the response at its original index as a `ProvisionedThroughputExceededException`
    /// entry (`FailedRecordCount` adjusted). When every entry is removed nothing is forwarded.
    pub fail_entries: f64,
    /// Probability of delaying the response (or the cut) by `delay_for`.
    pub delay: f64,
    pub delay_for: Duration,
    /// Close the connection without a response: half before forwarding, half after (the upstream did the
    /// work). For `SubscribeToShard`, "after" cuts the event stream after one to three relayed frames.
    pub cut: f64,
    /// Reseeds the proxy's random generator when the faults are set; `None` keeps the current generator.
    pub seed: Option<u64>,
    /// ListShards: leave these shards out of every response, as Kinesis does once a closed shard
    /// is past the stream's retention period (trimmed).
    pub hide_shards: Vec<String>,
    /// GetRecords: make every record look this much older (its `ApproximateArrivalTimestamp`
    /// moved back) and the reader at least this far behind (`MillisBehindLatest`), as for a
    /// consumer that was stopped that long.
    pub age_records: Option<Duration>,
}

/// Faults of SubscribeToShard event streams, set apart from [`Faults`] with [`FaultProxy::set_stream`];
/// drawn together with the current [`Faults`] (and its `operations` filter), for SubscribeToShard only.
#[derive(Clone, Debug, Default)]
pub struct StreamFaults {
    /// After one to three relayed frames (or `stream_for`), stop relaying the event stream but keep the
    /// connection open (until the client gives up). A request that is cut does not also stall.
    pub stall: f64,
    /// When set, a mid-stream cut or stall comes once the event stream has been relayed this long (at
    /// the first frame after it) instead of after one to three frames, so that events reach the client.
    pub stream_for: Option<Duration>,
}

/// What the proxy saw and injected since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests seen per operation (the `X-Amz-Target` suffix; `"(none)"` without the header), faulted or not.
    pub requests: BTreeMap<String, u64>,
    pub throttled: u64,
    pub server_errors: u64,
    /// PutRecords entries answered as failed (only counted when that response reached the client).
    pub failed_entries: u64,
    pub delayed: u64,
    pub cut: u64,
    /// Event streams that went silent (`stall`).
    pub stalled: u64,
}

/// The running proxy. It stops (listener and open connections) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1` (an ephemeral port) in front of `upstream` (`"http://127.0.0.1:PORT"`).
    pub async fn start(upstream: &str) -> io::Result<FaultProxy> {
        let upstream = parse_upstream(upstream)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(20)).build(connector);
        let shared = Arc::new(Shared {
            upstream,
            client,
            faults: Mutex::new(Faults::default()),
            stream_faults: Mutex::new(StreamFaults::default()),
            rng: Mutex::new(fastrand::Rng::new()),
            counts: Mutex::new(FaultCounts::default()),
            log: Mutex::new(RequestLog::default()),
            unreachable: Mutex::new(Unreachable::default()),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy { addr, shared, task })
    }

    /// `"http://127.0.0.1:PORT"`, for the SDK's `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the faults; takes effect for requests that arrive from now on.
    pub fn set(&self, faults: Faults) {
        if let Some(seed) = faults.seed {
            *lock(&self.shared.rng) = fastrand::Rng::with_seed(seed);
        }
        *lock(&self.shared.faults) = faults;
    }

    /// Replaces the event-stream faults; takes effect for requests that arrive from now on.
    pub fn set_stream(&self, faults: StreamFaults) {
        *lock(&self.shared.stream_faults) = faults;
    }

    /// The counters so far.
    pub fn counts(&self) -> FaultCounts {
        lock(&self.shared.counts).clone()
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).entries.clone()
    }

    /// Keeps the data of every PutRecords entry in the log from now on
    /// (up to two million entries; [`FaultProxy::records_not_logged`] counts the rest).
    pub fn log_records(&self, keep: bool) {
        lock(&self.shared.log).keep_records = keep;
    }

    /// PutRecords entries not kept in the log (beyond its limit, or not base64).
    pub fn records_not_logged(&self) -> u64 {
        lock(&self.shared.log).dropped_records
    }

    /// Cuts every request (before forwarding it) for `window` from now: the upstream is unreachable.
    pub fn unreachable_for(&self, window: Duration) {
        lock(&self.shared.unreachable).set(window);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy").field("addr", &self.addr).field("upstream", &self.shared.upstream).finish_non_exhaustive()
    }
}

struct Shared {
    /// `http://host:port`, without a trailing slash.
    upstream: String,
    client: UpstreamClient,
    faults: Mutex<Faults>,
    stream_faults: Mutex<StreamFaults>,
    rng: Mutex<fastrand::Rng>,
    counts: Mutex<FaultCounts>,
    log: Mutex<RequestLog>,
    unreachable: Mutex<Unreachable>,
}

impl Shared {
    fn count(&self, f: impl FnOnce(&mut FaultCounts)) {
        f(&mut lock(&self.counts));
    }
}

/// Locks, ignoring poisoning (a panic elsewhere must not turn into a panic here).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn parse_upstream(upstream: &str) -> io::Result<String> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("faultproxy upstream {upstream:?}: {why}"));
    let uri: Uri = upstream.parse().map_err(|e| invalid(&format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid("only http:// upstreams are supported"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(invalid("a path or query is not supported"));
    }
    Ok(format!("http://{authority}"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            // E.g. too many open files: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Serves one client connection; a handler cuts it by notifying `cut`, which drops the connection
/// (and so closes the socket) without writing a response.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let cut = Arc::new(Notify::new());
    let service = {
        let cut = Arc::clone(&cut);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let cut = Arc::clone(&cut);
            async move { Ok::<_, Infallible>(handle(shared, cut, request).await) }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = cut.notified() => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum When {
    Before,
    After,
}

/// The faults drawn for one request.
#[derive(Default, Debug)]
struct Plan {
    delay: Option<Duration>,
    cut: Option<When>,
    throttle: bool,
    server_error: Option<When>,
    fail_entries: f64,
    /// SubscribeToShard: data frames relayed before a mid-stream cut or stall.
    frames_before_cut: u32,
    stall: bool,
    stream_for: Option<Duration>,
}

fn draw_plan(shared: &Shared, operation: &str) -> Plan {
    let faults = lock(&shared.faults).clone();
    let stream_faults = lock(&shared.stream_faults).clone();
    if !faults.operations.is_empty() && !faults.operations.iter().any(|o| o == operation) {
        return Plan::default();
    }
    let mut rng = lock(&shared.rng);
    let mut chance = |p: f64| p > 0.0 && rng.f64() < p;
    let delay = chance(faults.delay).then_some(faults.delay_for);
    let cut = chance(faults.cut);
    let throttle = chance(faults.throttle);
    let server_error = chance(faults.server_error);
    let stall = !cut && operation == "SubscribeToShard" && chance(stream_faults.stall);
    let mut when = || if rng.bool() { When::Before } else { When::After };
    let cut = cut.then(&mut when);
    let server_error = server_error.then(&mut when);
    let frames_before_cut = rng.u32(1..=3);
    Plan {
        delay,
        cut,
        throttle,
        server_error,
        fail_entries: faults.fail_entries,
        frames_before_cut,
        stall,
        stream_for: stream_faults.stream_for,
    }
}

/// What to do once the upstream part is settled.
enum Outcome {
    Respond(Response<ProxyBody>),
    Cut,
}

async fn handle(shared: Arc<Shared>, cut: Arc<Notify>, request: Request<Incoming>) -> Response<ProxyBody> {
    let operation = operation(request.headers());
    shared.count(|c| *c.requests.entry(operation.clone()).or_default() += 1);
    let plan = draw_plan(&shared, &operation);
    let mut logged = None;
    let outcome = decide(&shared, &cut, &operation, &plan, request, &mut logged).await;
    let status = match &outcome {
        Outcome::Respond(response) => Some(response.status().as_u16()),
        Outcome::Cut => None,
    };
    lock(&shared.log).answered(logged, status);
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
        shared.count(|c| c.delayed += 1);
    }
    match outcome {
        Outcome::Respond(response) => response,
        Outcome::Cut => {
            shared.count(|c| c.cut += 1);
            cut.notify_one();
            std::future::pending().await
        }
    }
}

async fn decide(
    shared: &Arc<Shared>,
    cut: &Arc<Notify>,
    operation: &str,
    plan: &Plan,
    request: Request<Incoming>,
    logged: &mut Option<usize>,
) -> Outcome {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Outcome::Respond(bad_gateway(&format!("reading the request body: {e}"))),
    };
    *logged = Some(lock(&shared.log).push(operation, &body));
    if plan.cut == Some(When::Before) || lock(&shared.unreachable).active() {
        return Outcome::Cut;
    }
    if plan.throttle {
        shared.count(|c| c.throttled += 1);
        return Outcome::Respond(error_response(StatusCode::BAD_REQUEST, THROTTLED, THROTTLED_MESSAGE));
    }
    if plan.server_error == Some(When::Before) {
        shared.count(|c| c.server_errors += 1);
        return Outcome::Respond(internal_failure());
    }

    if operation == "SubscribeToShard" {
        return subscribe_to_shard(shared, cut, plan, &parts, body).await;
    }

    // PutRecords entry failures: remove the chosen entries before forwarding.
    let removal =
        if operation == "PutRecords" && plan.fail_entries > 0.0 { remove_entries(shared, plan.fail_entries, &body) } else { None };
    let upstream = match &removal {
        Some(Removal { forward: None, .. }) => Upstreamed::NotForwarded,
        Some(Removal { forward: Some(forward), .. }) => forward_buffered(shared, &parts, forward.clone()).await,
        None => forward_buffered(shared, &parts, body).await,
    };
    let (status, headers, response_body) = match upstream {
        Upstreamed::Response(status, headers, body) => (status, headers, body),
        // Every entry was removed: answer as if the upstream accepted nothing; they are all merged back below.
        Upstreamed::NotForwarded => (StatusCode::OK, json_headers(), Bytes::new()),
        Upstreamed::Failed(message) => return Outcome::Respond(bad_gateway(&message)),
    };

    if plan.cut == Some(When::After) {
        return Outcome::Cut;
    }
    if plan.server_error == Some(When::After) {
        shared.count(|c| c.server_errors += 1);
        return Outcome::Respond(internal_failure());
    }

    let mut failed = 0;
    let response_body = match &removal {
        Some(removal) if status == StatusCode::OK => match reinsert_failed(&response_body, removal) {
            Ok(merged) => {
                failed = removal.removed.len() as u64;
                merged
            }
            Err(message) => return Outcome::Respond(bad_gateway(&message)),
        },
        _ => response_body,
    };
    if failed > 0 {
        shared.count(|c| c.failed_entries += failed);
    }
    let response_body = if status == StatusCode::OK {
        let faults = lock(&shared.faults).clone();
        match rewrite(operation, &faults, &response_body) {
            Ok(Some(rewritten)) => rewritten,
            Ok(None) => response_body,
            Err(message) => return Outcome::Respond(bad_gateway(&message)),
        }
    } else {
        response_body
    };
    Outcome::Respond(buffered_response(status, headers, response_body))
}

/// The response rewrites of [`Faults::hide_shards`] and [`Faults::age_records`];
/// `None` when nothing applies.
fn rewrite(operation: &str, faults: &Faults, body: &[u8]) -> Result<Option<Bytes>, String> {
    let applies = match operation {
        "ListShards" => !faults.hide_shards.is_empty(),
        "GetRecords" => faults.age_records.is_some(),
        _ => false,
    };
    if !applies {
        return Ok(None);
    }
    let mut response: Value = serde_json::from_slice(body).map_err(|e| format!("the upstream {operation} response is not JSON: {e}"))?;
    let Some(object) = response.as_object_mut() else { return Err(format!("the upstream {operation} response is not an object")) };
    if operation == "ListShards" {
        if let Some(Value::Array(shards)) = object.get_mut("Shards") {
            shards.retain(|s| !faults.hide_shards.iter().any(|h| s.get("ShardId").and_then(Value::as_str) == Some(h.as_str())));
        }
    } else if let Some(age) = faults.age_records {
        let age_secs = age.as_secs_f64();
        if let Some(Value::Array(records)) = object.get_mut("Records") {
            for r in records.iter_mut() {
                if let Some(t) = r.get("ApproximateArrivalTimestamp").and_then(Value::as_f64) {
                    r["ApproximateArrivalTimestamp"] = json!(t - age_secs);
                }
            }
        }
        let behind = object.get("MillisBehindLatest").and_then(Value::as_u64).unwrap_or(0).max(age.as_millis() as u64);
        object.insert("MillisBehindLatest".into(), json!(behind));
    }
    serde_json::to_vec(&response).map(|v| Some(Bytes::from(v))).map_err(|e| format!("serializing the {operation} response: {e}"))
}

/// The result of forwarding a buffered request.
enum Upstreamed {
    Response(StatusCode, HeaderMap, Bytes),
    /// Every PutRecords entry was removed.
    NotForwarded,
    Failed(String),
}

async fn forward_buffered(shared: &Shared, parts: &http::request::Parts, body: Bytes) -> Upstreamed {
    let request = upstream_request(shared, parts, body);
    let response = match shared.client.request(request).await {
        Ok(response) => response,
        Err(e) => return Upstreamed::Failed(format!("forwarding to {}: {}", shared.upstream, error_chain(&e))),
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => Upstreamed::Response(parts.status, parts.headers, collected.to_bytes()),
        Err(e) => Upstreamed::Failed(format!("reading the response of {}: {}", shared.upstream, error_chain(&e))),
    }
}

async fn subscribe_to_shard(shared: &Arc<Shared>, cut: &Arc<Notify>, plan: &Plan, parts: &http::request::Parts, body: Bytes) -> Outcome {
    let request = upstream_request(shared, parts, body);
    let response = match shared.client.request(request).await {
        Ok(response) => response,
        Err(e) => return Outcome::Respond(bad_gateway(&format!("forwarding to {}: {}", shared.upstream, error_chain(&e)))),
    };
    if plan.server_error == Some(When::After) {
        shared.count(|c| c.server_errors += 1);
        return Outcome::Respond(internal_failure());
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = if plan.cut == Some(When::After) || plan.stall {
        CutMidStream {
            inner: body,
            frames_left: if plan.stream_for.is_some() { u32::MAX } else { plan.frames_before_cut },
            until: plan.stream_for.map(|d| tokio::time::Instant::now() + d),
            cut: Arc::clone(cut),
            shared: Arc::clone(shared),
            done: false,
            stall: plan.stall,
        }
        .boxed()
    } else {
        body.map_err(BoxError::from).boxed()
    };
    Outcome::Respond(Response::from_parts(parts, body))
}

fn upstream_request(shared: &Shared, parts: &http::request::Parts, body: Bytes) -> Request<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("{}{}", shared.upstream, path);
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    // The client's Host names the proxy; let hyper set the upstream's. The body was read whole.
    headers.remove(header::HOST);
    headers.remove(header::EXPECT);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = parts.method.clone();
    // `shared.upstream` was validated and the path comes from a parsed URI, so this parses; fall back to it anyway.
    *request.uri_mut() = uri.parse().unwrap_or_else(|_| Uri::from_static("/"));
    *request.headers_mut() = headers;
    request
}

/// PutRecords entries chosen to fail.
struct Removal {
    /// The rewritten request, or `None` when every entry was removed.
    forward: Option<Bytes>,
    /// `removed[i]`: original indices, ascending.
    removed: Vec<usize>,
    total: usize,
}

/// Draws the entries to fail; `None` when none is chosen or the body is not a PutRecords request we understand
/// (then it is forwarded unchanged and the upstream judges it).
fn remove_entries(shared: &Shared, p: f64, body: &[u8]) -> Option<Removal> {
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(body) else { return None };
    let Some(Value::Array(records)) = request.get_mut("Records") else { return None };
    let total = records.len();
    let mask: Vec<bool> = {
        let mut rng = lock(&shared.rng);
        (0..total).map(|_| rng.f64() < p).collect()
    };
    let removed: Vec<usize> = mask.iter().enumerate().filter_map(|(i, &fail)| fail.then_some(i)).collect();
    if removed.is_empty() {
        return None;
    }
    if removed.len() == total {
        return Some(Removal { forward: None, removed, total });
    }
    let kept: Vec<Value> = std::mem::take(records).into_iter().zip(&mask).filter_map(|(record, &fail)| (!fail).then_some(record)).collect();
    *records = kept;
    let forward = serde_json::to_vec(&request).ok()?;
    Some(Removal { forward: Some(Bytes::from(forward)), removed, total })
}

/// Puts the removed entries back into a PutRecords response (an empty success when nothing was forwarded).
fn reinsert_failed(body: &[u8], removal: &Removal) -> Result<Bytes, String> {
    let mut response = if removal.forward.is_none() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("the upstream PutRecords response is not a JSON object".into()),
            Err(e) => return Err(format!("the upstream PutRecords response is not JSON: {e}")),
        }
    };
    let upstream_records = match response.remove("Records") {
        Some(Value::Array(records)) => records,
        None if removal.forward.is_none() => Vec::new(),
        _ => return Err("the upstream PutRecords response has no Records array".into()),
    };
    let kept = removal.total - removal.removed.len();
    if upstream_records.len() != kept {
        return Err(format!("the upstream PutRecords response has {} records for {kept} forwarded entries", upstream_records.len()));
    }
    let upstream_failed = match response.get("FailedRecordCount") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or("the upstream FailedRecordCount is not a count")?,
    };
    let mut upstream_records = upstream_records.into_iter();
    let mut removed = removal.removed.iter().peekable();
    let mut records = Vec::with_capacity(removal.total);
    for i in 0..removal.total {
        if removed.next_if(|&&r| r == i).is_some() {
            records.push(json!({"ErrorCode": THROTTLED, "ErrorMessage": THROTTLED_MESSAGE}));
        } else if let Some(record) = upstream_records.next() {
            records.push(record);
        }
    }
    response.insert("FailedRecordCount".into(), Value::from(upstream_failed + removal.removed.len() as u64));
    response.insert("Records".into(), Value::Array(records));
    serde_json::to_vec(&Value::Object(response)).map(Bytes::from).map_err(|e| format!("serializing the PutRecords response: {e}"))
}

/// How long a mid-stream cut waits for the frames relayed before it to be written to the client.
const CUT_FLUSH_DELAY: Duration = Duration::from_millis(100);

/// Relays an event stream and cuts the connection after `frames_left` data frames (or at the stream's end);
/// with `stall`, stops relaying there instead and keeps the connection open.
struct CutMidStream {
    inner: Incoming,
    frames_left: u32,
    /// With `stream_for`: relay until then, then cut (or stall) at the next frame.
    until: Option<tokio::time::Instant>,
    cut: Arc<Notify>,
    shared: Arc<Shared>,
    done: bool,
    stall: bool,
}

impl CutMidStream {
    fn trigger(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if !self.done {
            self.done = true;
            if self.stall {
                self.shared.count(|c| c.stalled += 1);
            } else {
                self.shared.count(|c| c.cut += 1);
                // Dropping the connection at once would discard relayed frames still in its write buffer:
                // let them reach the client first, so the cut really comes mid-stream.
                let cut = Arc::clone(&self.cut);
                tokio::spawn(async move {
                    tokio::time::sleep(CUT_FLUSH_DELAY).await;
                    cut.notify_one();
                });
            }
        }
        // The connection task drops the connection (and this body) on the notification; a stalled
        // stream stays pending until the client closes the connection.
        Poll::Pending
    }
}

impl Body for CutMidStream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done || this.frames_left == 0 {
            return this.trigger();
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_data() {
                    this.frames_left = this.frames_left.saturating_sub(1);
                }
                if this.until.is_some_and(|t| tokio::time::Instant::now() >= t) {
                    this.frames_left = 0;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(_)) | None) => this.trigger(),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The operation named by `X-Amz-Target` (`Kinesis_20131202.PutRecords` → `PutRecords`).
fn operation(headers: &HeaderMap) -> String {
    match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(target) => target.strip_prefix(TARGET_PREFIX).or_else(|| target.rsplit('.').next()).unwrap_or(target).to_owned(),
        None => "(none)".to_owned(),
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn buffered_response(status: StatusCode, mut headers: HeaderMap, body: Bytes) -> Response<ProxyBody> {
    strip_hop_by_hop(&mut headers);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    headers.insert("x-amzn-requestid", HeaderValue::from_str(&request_id()).unwrap_or(HeaderValue::from_static("faultproxy")));
    headers
}

fn error_response(status: StatusCode, kind: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::to_vec(&json!({"__type": kind, "message": message})).unwrap_or_default();
    buffered_response(status, json_headers(), Bytes::from(body))
}

fn internal_failure() -> Response<ProxyBody> {
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", "Internal service failure (injected by faultproxy)")
}

fn bad_gateway(message: &str) -> Response<ProxyBody> {
    error_response(StatusCode::BAD_GATEWAY, "FaultProxyBadGateway", &format!("faultproxy: {message}"))
}

fn full(body: Bytes) -> ProxyBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}

fn request_id() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    message
}
