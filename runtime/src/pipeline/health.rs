//! What an orchestrator probes, on the `--metrics-addr` address next to
//! `/metrics`: `/healthz` (the run loop is alive: it beat within the stale
//! time) and `/readyz` (started, not stopping, and the lease store holding or
//! waiting for leases without errors; with the file store, started).
//!
//! One small HTTP/1 server serves the three paths; `/metrics` is the
//! Prometheus recorder's rendering (its exporter's own listener serves only
//! metrics).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// How long the run loop may go without a beat before `/healthz` fails. The
/// loop beats at least every 250 ms while it runs; a send waiting for room in
/// the sink holds it, so this is generous.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30);

/// Why a lease store is not ready (`Err`), as its health view reports it.
pub type LeaseView = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The run's liveness and readiness, shared by the run loop and the server.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    origin: Instant,
    /// Milliseconds from `origin` to the last beat.
    beat_ms: AtomicU64,
    stale_after_ms: AtomicU64,
    started: AtomicBool,
    stopping: AtomicBool,
    leases: Mutex<Option<LeaseView>>,
}

/// An answer to a probe: its status and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub ok: bool,
    pub text: String,
}

impl Health {
    /// A run that has not started; `/healthz` fails once no beat came for `stale_after`.
    pub fn new(stale_after: Duration) -> Self {
        Health {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                beat_ms: AtomicU64::new(0),
                stale_after_ms: AtomicU64::new(u64::try_from(stale_after.as_millis()).unwrap_or(u64::MAX)),
                started: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                leases: Mutex::new(None),
            }),
        }
    }

    /// The run loop is alive (called on every turn of the loop).
    pub fn beat(&self) {
        let ms = u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.inner.beat_ms.store(ms, Ordering::Relaxed);
    }

    /// The source is open and the loop runs.
    pub fn started(&self) {
        self.beat();
        self.inner.started.store(true, Ordering::Relaxed);
    }

    /// The run stops (drains, commits, releases): no longer ready.
    pub fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }

    /// The lease store's view: `Err(why)` while it cannot hold leases.
    pub fn set_leases(&self, view: LeaseView) {
        if let Ok(mut slot) = self.inner.leases.lock() {
            *slot = Some(view);
        }
    }

    /// `/healthz`: the run loop beat within the stale time (before the
    /// start, the process is alive while it connects).
    pub fn liveness(&self) -> Probe {
        let now = u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let age = now.saturating_sub(self.inner.beat_ms.load(Ordering::Relaxed));
        let stale = self.inner.stale_after_ms.load(Ordering::Relaxed);
        if self.inner.started.load(Ordering::Relaxed) && age > stale {
            return Probe { ok: false, text: format!("the run loop has not turned for {age} ms (stale after {stale} ms)\n") };
        }
        Probe { ok: true, text: "ok\n".into() }
    }

    /// `/readyz`: started, not stopping, and the lease store without errors.
    pub fn readiness(&self) -> Probe {
        if !self.inner.started.load(Ordering::Relaxed) {
            return Probe { ok: false, text: "starting\n".into() };
        }
        if self.inner.stopping.load(Ordering::Relaxed) {
            return Probe { ok: false, text: "stopping\n".into() };
        }
        let view = self.inner.leases.lock().ok().and_then(|v| v.clone());
        match view.map(|v| v()) {
            Some(Err(why)) => Probe { ok: false, text: format!("lease store: {why}\n") },
            _ => Probe { ok: true, text: "ok\n".into() },
        }
    }
}

/// The readiness of pipeline `name`'s lease coordinator: not ready before
/// its first scan of the table, after a failure until the next good take
/// cycle, and for good once it refused the table or stopped. Holding no
/// lease (waiting for one) is ready.
pub(crate) fn lease_view(name: &str) -> LeaseView {
    let name = name.to_owned();
    Arc::new(move || {
        let all = crate::lease::health();
        let Some((_, h)) = all.iter().rev().find(|(n, _)| *n == name) else { return Err("no lease coordinator".into()) };
        lease_readiness(h)
    })
}

fn lease_readiness(h: &crate::lease::LeaseHealth) -> Result<(), String> {
    match (&h.last_error, h.fatal, h.started) {
        (Some(e), true, _) => Err(format!("stopped: {e}")),
        (None, true, _) => Err("stopped".into()),
        (Some(e), false, _) => Err(e.clone()),
        (None, false, false) => Err("waiting for the first scan of the lease table".into()),
        (None, false, true) => Ok(()),
    }
}

/// Serves `/metrics` (from `render`), `/healthz` and `/readyz` on `listener`
/// until the process ends.
pub fn serve(listener: tokio::net::TcpListener, render: Arc<dyn Fn() -> String + Send + Sync>, health: Health) {
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: try again shortly.
                    tracing::warn!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (render, health) = (render.clone(), health.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = answer(&req, render.as_ref(), &health);
                    async move { Ok::<_, Infallible>(answer) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

/// Binds `addr` for [`serve`].
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("{addr}: {e}"))
}

fn answer(req: &Request<Incoming>, render: &(dyn Fn() -> String + Send + Sync), health: &Health) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String, kind: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(kind));
        r
    };
    let plain = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into(), plain);
    }
    let probe = |p: Probe| text(if p.ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, p.text, plain);
    match req.uri().path() {
        "/metrics" => text(StatusCode::OK, render(), "text/plain; version=0.0.4"),
        "/healthz" => probe(health.liveness()),
        "/readyz" => probe(health.readiness()),
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n".into(), plain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        (status, body)
    }

    #[tokio::test]
    async fn each_endpoint_answers_and_changes_with_the_run() {
        let health = Health::new(Duration::from_secs(3600));
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, Arc::new(|| "kinesis_tables_records_in_total 7\n".to_string()), health.clone());

        assert_eq!(get(addr, "/metrics").await, (200, "kinesis_tables_records_in_total 7\n".into()));
        assert_eq!(get(addr, "/healthz").await.0, 200, "alive while it starts");
        assert_eq!(get(addr, "/readyz").await, (503, "starting\n".into()));
        assert_eq!(get(addr, "/other").await.0, 404);

        health.started();
        assert_eq!(get(addr, "/readyz").await, (200, "ok\n".into()));

        // The lease store reports an error: not ready; it recovers: ready.
        let failing = Arc::new(AtomicBool::new(true));
        let f = failing.clone();
        health.set_leases(Arc::new(move || if f.load(Ordering::Relaxed) { Err("DynamoDB unreachable".into()) } else { Ok(()) }));
        assert_eq!(get(addr, "/readyz").await, (503, "lease store: DynamoDB unreachable\n".into()));
        failing.store(false, Ordering::Relaxed);
        assert_eq!(get(addr, "/readyz").await.0, 200);

        // The loop stops turning: not alive once the beat is older than the stale time.
        assert_eq!(get(addr, "/healthz").await.0, 200);
        health.inner.beat_ms.store(0, Ordering::Relaxed);
        health.inner.stale_after_ms.store(0, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (status, body) = get(addr, "/healthz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("has not turned"), "{body}");
        health.inner.stale_after_ms.store(3_600_000, Ordering::Relaxed);
        health.beat();
        assert_eq!(get(addr, "/healthz").await.0, 200);

        health.stopping();
        assert_eq!(get(addr, "/readyz").await, (503, "stopping\n".into()));
    }

    #[test]
    fn lease_readiness_follows_the_coordinators_health() {
        use crate::lease::LeaseHealth;
        let h =
            |started, held, last_error: Option<&str>, fatal| LeaseHealth { started, held, last_error: last_error.map(Into::into), fatal };
        assert!(lease_readiness(&h(false, 0, None, false)).unwrap_err().contains("first scan"));
        assert_eq!(lease_readiness(&h(true, 0, None, false)), Ok(()), "waiting for leases is ready");
        assert_eq!(lease_readiness(&h(true, 4, None, false)), Ok(()));
        assert_eq!(lease_readiness(&h(true, 4, Some("DynamoDB unreachable"), false)), Err("DynamoDB unreachable".into()));
        assert!(lease_readiness(&h(true, 0, Some("foreign table"), true)).unwrap_err().starts_with("stopped"));
    }
}
