//! The operators' port: `/metrics` (Prometheus text), `/healthz` (the process answers) and
//! `/readyz` (every shard of this process is connected to the gateway and a knowledge base is
//! served; 503 with the reason otherwise), on the address `metrics_addr` names.
//!
//! It is bound when the bot is built (after the knowledge base and the model are loaded),
//! before the gateway connects, so an orchestrator sees "alive, not ready" while the shards
//! connect rather than a refused connection. On a first start the model download comes
//! before that: give liveness probes a start-up allowance (docs/OPERATIONS.md).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use poise::serenity_prelude as serenity;
use tokio::net::TcpListener;

use super::metrics::Metrics;
use super::state::Served;

/// What the endpoints look at.
pub struct Probe {
    pub served: Arc<Served>,
    pub metrics: Arc<Metrics>,
    pub shards: Arc<serenity::ShardManager>,
    pub cache: Arc<serenity::Cache>,
}

impl Probe {
    /// `Ok` when ready, else why not.
    pub async fn readiness(&self) -> Result<String, String> {
        let runners = self.shards.runners.lock().await;
        if runners.is_empty() {
            return Err("gateway: no shard has started yet".into());
        }
        let waiting = runners
            .values()
            .filter(|r| r.stage != serenity::ConnectionStage::Connected)
            .count();
        if waiting > 0 {
            return Err(format!(
                "gateway: {waiting} of {} shards not connected",
                runners.len()
            ));
        }
        let generation = self.served.current();
        Ok(format!(
            "ready: {} shards connected, knowledge generation {} ({})",
            runners.len(),
            generation.number,
            generation.content_hash()
        ))
    }
}

/// Binds the operators' port.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves the endpoints until the task is dropped.
pub async fn serve(listener: TcpListener, probe: Arc<Probe>) {
    loop {
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
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let probe = Arc::clone(&probe);
                async move { Ok::<_, Infallible>(answer(&probe, &req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
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
        return text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "GET only\n".into());
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
