//! The operators' port: `/metrics` (Prometheus text), `/healthz` (the process answers) and
//! `/readyz` (every shard of this process is connected to the gateway and a knowledge base is
//! served; 503 with the reason otherwise), on the address `metrics_addr` names.
//!
//! It is bound when the bot is built (after the knowledge base and the model are loaded),
//! before the gateway connects, so an orchestrator sees "alive, not ready" while the shards
//! connect rather than a refused connection. On a first start the model download comes
//! before that: give liveness probes a start-up allowance (docs/OPERATIONS.md).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use poise::serenity_prelude as serenity;
use tokio::net::TcpListener;

use super::metrics::Metrics;
use super::state::Served;

/// How many shards this process must have connected to be ready: the configured range's
/// size, or, autosharded, the total Discord's READY reports (0 until the first READY).
#[derive(Debug, Default)]
pub struct ExpectedShards(AtomicU32);

impl ExpectedShards {
    pub fn new(count: u32) -> ExpectedShards {
        ExpectedShards(AtomicU32::new(count))
    }

    pub fn set(&self, count: u32) {
        self.0.store(count, Ordering::SeqCst);
    }

    pub fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the endpoints look at.
pub struct Probe {
    pub served: Arc<Served>,
    pub metrics: Arc<Metrics>,
    pub shards: Arc<serenity::ShardManager>,
    pub expected: Arc<ExpectedShards>,
    pub cache: Arc<serenity::Cache>,
}

impl Probe {
    /// `Ok` when ready, else why not. serenity starts a process's shards one after another
    /// (seconds apart) and lists each only once started, so counting the connected ones
    /// against the expected number is what tells "all up" from "the first one is up".
    pub async fn readiness(&self) -> Result<String, String> {
        let expected = self.expected.get();
        let (connected, listed) = {
            let runners = self.shards.runners.lock().await;
            let connected = runners
                .values()
                .filter(|r| r.stage == serenity::ConnectionStage::Connected)
                .count() as u32;
            (connected, runners.len() as u32)
        };
        if expected == 0 {
            return Err(format!(
                "gateway: waiting for Discord's READY ({listed} shards started)"
            ));
        }
        if connected < expected {
            return Err(format!(
                "gateway: {connected} of {expected} shards connected"
            ));
        }
        let generation = self.served.current();
        Ok(format!(
            "ready: {connected} of {expected} shards connected, knowledge generation {} ({})",
            generation.number,
            generation.content_hash()
        ))
    }
}

/// How long a client may take to send a request's headers; idle keep-alive connections are
/// closed after it too, so a forgotten scraper does not hold the process's state.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the endpoints until the task is dropped; the connections it accepted are owned by
/// it and end with it.
pub async fn serve(listener: TcpListener, probe: Arc<Probe>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow with every scrape.
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: try again rather than stop serving.
                tracing::warn!(error = %e, "metrics port: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let probe = Arc::clone(&probe);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let probe = Arc::clone(&probe);
                async move { Ok::<_, Infallible>(answer(&probe, &req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics port: connection ended");
            }
        });
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

const PLAIN: &str = "text/plain; charset=utf-8";

async fn answer(probe: &Probe, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut refused = text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "GET only\n".into());
        refused.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return refused;
    }
    match req.uri().path() {
        "/metrics" => {
            probe.metrics.observe_served(&probe.served);
            probe.metrics.observe_guilds(&probe.cache);
            text(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                probe.metrics.render(),
            )
        }
        "/healthz" => text(StatusCode::OK, PLAIN, "ok\n".into()),
        "/readyz" => match probe.readiness().await {
            Ok(why) => text(StatusCode::OK, PLAIN, why + "\n"),
            Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, why + "\n"),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            PLAIN,
            "not found: try /metrics, /healthz or /readyz\n".into(),
        ),
    }
}
