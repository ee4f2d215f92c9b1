//! An HTTP/1.1 proxy in front of an emulator that enforces the Kinesis write
//! limits per shard, as AWS does for a provisioned stream: **1,000 records
//! and 1 MiB (data plus partition key) per second per shard**. An entry of a
//! PutRecords request over its shard's limit is answered with
//! `ProvisionedThroughputExceededException` in its place in the response
//! (the request as a whole succeeds); the other entries are forwarded.
//!
//! The proxy knows each entry's destination shard the way Kinesis does: the
//! entry's explicit hash key, or the MD5 of its partition key, looked up in
//! the open shards' hash key ranges, which it reads from the upstream with
//! ListShards (once per stream, and again when asked with
//! [`LimitProxy::forget_layouts`]). Each shard has two token buckets (records
//! and bytes) that refill continuously at the limit and hold at most one
//! second's worth, so a shard takes a one-second burst and then its rate.
//!
//! Every other call (and PutRecord) is forwarded unchanged. The proxy never
//! panics on malformed input: what it cannot parse is forwarded as it is, and
//! upstream trouble is answered with `502`.

// The crate root allows clippy::all for the generated tables; lint this module.
#![warn(clippy::all)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kinesis_tables::kpl;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

type UpstreamClient = Client<HttpConnector, Full<Bytes>>;
/// A stream's open shards: `(starting hash key, ending hash key, shard id)`, sorted.
type Layout = Arc<Vec<(u128, u128, String)>>;

const TARGET_PREFIX: &str = "Kinesis_20131202.";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
const MAX_REQUEST_BODY: usize = 64 << 20;
const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// The per-shard write limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub records_per_sec: f64,
    pub bytes_per_sec: f64,
}

impl Default for Limits {
    /// AWS's: 1,000 records and 1 MiB per second per shard.
    fn default() -> Self {
        Limits { records_per_sec: 1_000.0, bytes_per_sec: 1_048_576.0 }
    }
}

/// What the proxy let through and refused, per shard (by shard id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardCounts {
    pub accepted_records: u64,
    /// Data plus partition key of the accepted records.
    pub accepted_bytes: u64,
    pub throttled_records: u64,
}

/// A running proxy; stops when dropped.
pub struct LimitProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for LimitProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LimitProxy {
    /// Starts a proxy on `127.0.0.1` in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, limits: Limits) -> io::Result<LimitProxy> {
        let uri: Uri = upstream.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{upstream}: {e}")))?;
        let authority = match (uri.scheme_str(), uri.authority()) {
            (Some("http"), Some(a)) => a.to_string(),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{upstream}: only http://host:port upstreams"))),
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(20)).build(connector);
        let shared = Arc::new(Shared {
            upstream: format!("http://{authority}"),
            client,
            limits,
            layouts: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(LimitProxy { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counts so far, by shard id.
    pub fn counts(&self) -> HashMap<String, ShardCounts> {
        lock(&self.shared.counts).clone()
    }

    /// Reads the shard layouts again at the next PutRecords (after a resharding).
    pub fn forget_layouts(&self) {
        lock(&self.shared.layouts).clear();
    }
}

struct Bucket {
    records: f64,
    bytes: f64,
    at: Instant,
}

struct Shared {
    upstream: String,
    client: UpstreamClient,
    limits: Limits,
    /// Per stream name: the open shards' (start, end, id), sorted by start.
    layouts: Mutex<HashMap<String, Layout>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    counts: Mutex<HashMap<String, ShardCounts>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("")
        .to_owned();
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", &format!("reading the request: {e}")),
    };
    if operation == "PutRecords"
        && let Some(response) = put_records(shared, &parts, &body).await
    {
        return response;
    }
    match forward(shared, &parts, body).await {
        Ok((status, headers, body)) => respond(status, headers, body),
        Err(e) => error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", &e),
    }
}

/// Applies the limits to a PutRecords request; `None` forwards it unchanged
/// (a body it does not understand: the upstream judges it).
async fn put_records(shared: &Shared, parts: &http::request::Parts, body: &[u8]) -> Option<Response<Full<Bytes>>> {
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(body) else { return None };
    let stream = match (request.get("StreamName").and_then(Value::as_str), request.get("StreamARN").and_then(Value::as_str)) {
        (Some(name), _) => name.to_owned(),
        (None, Some(arn)) => arn.rsplit_once("stream/").map(|(_, n)| n.to_owned())?,
        _ => return None,
    };
    let layout = match layout(shared, parts, &stream).await {
        Ok(l) => l,
        Err(e) => return Some(error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", &e)),
    };
    let Some(Value::Array(records)) = request.get_mut("Records") else { return None };
    // Each entry's shard and cost, then the decision under one lock.
    let mut admitted = Vec::with_capacity(records.len());
    {
        let now = Instant::now();
        let mut buckets = lock(&shared.buckets);
        let mut counts = lock(&shared.counts);
        for r in records.iter() {
            let key = r.get("PartitionKey").and_then(Value::as_str).unwrap_or("");
            let hash = match r.get("ExplicitHashKey").and_then(Value::as_str) {
                Some(ehk) => kpl::parse_hash_key(ehk),
                None => Some(kpl::hash_key(key)),
            };
            let data = r.get("Data").and_then(Value::as_str).unwrap_or("");
            let cost = (B64.decode(data).map_or(data.len(), |d| d.len()) + key.len()) as f64;
            let shard = hash.and_then(|h| {
                let i = layout.partition_point(|s| s.0 <= h).checked_sub(1)?;
                (h <= layout[i].1).then(|| layout[i].2.clone())
            });
            // An entry on no known shard is forwarded: the upstream judges it.
            let Some(shard) = shard else {
                admitted.push(true);
                continue;
            };
            let b = buckets.entry(shard.clone()).or_insert(Bucket {
                records: shared.limits.records_per_sec,
                bytes: shared.limits.bytes_per_sec,
                at: now,
            });
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.at = now;
            b.records = (b.records + elapsed * shared.limits.records_per_sec).min(shared.limits.records_per_sec);
            b.bytes = (b.bytes + elapsed * shared.limits.bytes_per_sec).min(shared.limits.bytes_per_sec);
            let c = counts.entry(shard).or_default();
            if b.records >= 1.0 && b.bytes >= cost {
                b.records -= 1.0;
                b.bytes -= cost;
                c.accepted_records += 1;
                c.accepted_bytes += cost as u64;
                admitted.push(true);
            } else {
                c.throttled_records += 1;
                admitted.push(false);
            }
        }
    }
    let total = records.len();
    let refused = admitted.iter().filter(|a| !**a).count();
    if refused == 0 {
        return None;
    }
    let mut upstream_records = Vec::new();
    let mut upstream_failed = 0;
    let mut response_headers = None;
    if refused < total {
        let kept: Vec<Value> = std::mem::take(records).into_iter().zip(&admitted).filter_map(|(r, a)| a.then_some(r)).collect();
        *records = kept;
        let forward_body = serde_json::to_vec(&request).ok()?;
        let (status, headers, body) = match forward(shared, parts, Bytes::from(forward_body)).await {
            Ok(r) => r,
            Err(e) => return Some(error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", &e)),
        };
        if status != StatusCode::OK {
            return Some(respond(status, headers, body));
        }
        let Ok(Value::Object(mut response)) = serde_json::from_slice::<Value>(&body) else {
            return Some(error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", "the upstream PutRecords response is not a JSON object"));
        };
        upstream_failed = response.get("FailedRecordCount").and_then(Value::as_u64).unwrap_or(0);
        match response.remove("Records") {
            Some(Value::Array(r)) if r.len() == total - refused => upstream_records = r,
            _ => return Some(error(StatusCode::BAD_GATEWAY, "LimitProxyBadGateway", "the upstream PutRecords response does not match")),
        }
        response_headers = Some(headers);
    }
    let mut upstream_records = upstream_records.into_iter();
    let merged: Vec<Value> = admitted
        .iter()
        .map(|a| match a {
            true => upstream_records.next().unwrap_or(Value::Null),
            false => json!({"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded for shard (limitproxy)"}),
        })
        .collect();
    let mut out = Map::new();
    out.insert("FailedRecordCount".into(), Value::from(upstream_failed + refused as u64));
    out.insert("Records".into(), Value::Array(merged));
    let body = serde_json::to_vec(&Value::Object(out)).unwrap_or_default();
    let mut headers = response_headers.unwrap_or_default();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    Some(respond(StatusCode::OK, headers, Bytes::from(body)))
}

/// The open shards of `stream`, read with ListShards from the upstream once
/// (with the headers of the client's request: emulators want an
/// Authorization header but do not check its signature).
async fn layout(shared: &Shared, parts: &http::request::Parts, stream: &str) -> Result<Layout, String> {
    if let Some(l) = lock(&shared.layouts).get(stream) {
        return Ok(l.clone());
    }
    let mut open = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let body = match &token {
            Some(t) => json!({ "NextToken": t }),
            None => json!({ "StreamName": stream }),
        };
        let mut list = parts.clone();
        list.headers.insert("x-amz-target", HeaderValue::from_static("Kinesis_20131202.ListShards"));
        let (status, _, bytes) = forward(shared, &list, Bytes::from(body.to_string())).await.map_err(|e| format!("ListShards: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!("ListShards answered {status}: {}", String::from_utf8_lossy(&bytes)));
        }
        let page: Value = serde_json::from_slice(&bytes).map_err(|e| format!("ListShards: {e}"))?;
        for s in page["Shards"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if s["SequenceNumberRange"].get("EndingSequenceNumber").is_some_and(|e| !e.is_null()) {
                continue;
            }
            let key = |k: &str| s["HashKeyRange"][k].as_str().and_then(|v| v.parse::<u128>().ok());
            if let (Some(start), Some(end), Some(id)) = (key("StartingHashKey"), key("EndingHashKey"), s["ShardId"].as_str()) {
                open.push((start, end, id.to_owned()));
            }
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    open.sort();
    let open = Arc::new(open);
    lock(&shared.layouts).insert(stream.to_owned(), open.clone());
    Ok(open)
}

async fn forward(shared: &Shared, parts: &http::request::Parts, body: Bytes) -> Result<(StatusCode, http::HeaderMap, Bytes), String> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    headers.remove(header::EXPECT);
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = format!("{}{path}", shared.upstream).parse().map_err(|e| format!("bad path {path}: {e}"))?;
    *request.headers_mut() = headers;
    let response = shared.client.request(request).await.map_err(|e| format!("forwarding to {}: {e}", shared.upstream))?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| format!("reading the upstream response: {e}"))?.to_bytes();
    Ok((parts.status, parts.headers, body))
}

fn respond(status: StatusCode, mut headers: http::HeaderMap, body: Bytes) -> Response<Full<Bytes>> {
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&json!({"__type": kind, "message": message})).unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    respond(status, headers, Bytes::from(body))
}
