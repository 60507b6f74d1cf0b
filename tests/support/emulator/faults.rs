//! Failures a test injects into the REST side: the next N requests on a route answer with a
//! status (e.g. 500) or a 429 carrying Discord's rate-limit body and headers.
//!
//! Who retries a 429: with its rate limiter on, serenity waits `Retry-After` and retries by
//! itself. But it then builds every request with no proxy (`Ratelimiter::perform` calls
//! `Request::build(.., None)` in serenity 0.12.5's `http/ratelimiting.rs`), so only a bot
//! reaching the emulator as `https://discord.com` through the HTTPS door (`tls.rs`) sees that.
//! Behind `HttpBuilder::proxy` the rate limiter must be off, and `Http::request` turns a 429 into
//! an `UnsuccessfulRequest` error at once, without retrying.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::rest::Answer;
use super::{Emulator, State};

/// Which route an injected failure applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// `POST /interactions/{id}/{token}/callback`.
    Callback,
    /// `POST /webhooks/{app}/{token}` (a followup message).
    Followup,
    /// `PATCH /webhooks/{app}/{token}/messages/@original`.
    EditOriginal,
    /// Any request.
    Any,
}

/// What an injected failure answers.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// This status with a `{"code": 0, "message"}` body.
    Status(u16),
    /// 429 with Discord's body and headers (`Retry-After`, `X-RateLimit-*`).
    RateLimited { retry_after: f64, global: bool },
}

pub(super) struct Injection {
    route: RouteKind,
    failure: Failure,
    left: usize,
}

impl Emulator {
    /// Makes the next `times` requests on `route` fail with `failure` instead of their answer.
    /// Later calls queue behind earlier ones.
    pub fn fail_next(&self, route: RouteKind, failure: Failure, times: usize) {
        if times > 0 {
            let injection = Injection {
                route,
                failure,
                left: times,
            };
            self.shared.lock().rest.injections.push(injection);
        }
    }

    /// Makes the next `n` interaction callbacks answer with `status` (e.g. 500) instead of 204.
    pub fn fail_next_callbacks(&self, status: u16, n: usize) {
        self.fail_next(RouteKind::Callback, Failure::Status(status), n);
    }

    /// Makes the next `times` requests on `route` answer 429, as Discord does when a bucket is
    /// exhausted: `retry_after` seconds in the body, `Retry-After` and `X-RateLimit-*` headers.
    pub fn rate_limit_next(&self, route: RouteKind, retry_after: f64, times: usize) {
        let failure = Failure::RateLimited {
            retry_after,
            global: false,
        };
        self.fail_next(route, failure, times);
    }
}

fn route_kind(method: &str, segs: &[&str]) -> Option<RouteKind> {
    match (method, segs) {
        ("POST", ["interactions", _, _, "callback"]) => Some(RouteKind::Callback),
        ("POST", ["webhooks", _, _]) => Some(RouteKind::Followup),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => Some(RouteKind::EditOriginal),
        _ => None,
    }
}

pub(super) fn injected(
    st: &mut State,
    method: &str,
    segs: &[&str],
    body: &Value,
) -> Option<Answer> {
    let kind = route_kind(method, segs);
    let index = st
        .rest
        .injections
        .iter()
        .position(|i| i.route == RouteKind::Any || Some(i.route) == kind)?;
    let injection = &mut st.rest.injections[index];
    let failure = injection.failure;
    injection.left -= 1;
    if injection.left == 0 {
        st.rest.injections.remove(index);
    }
    let mut answer = match failure {
        Failure::Status(status) => Answer::error(
            status,
            0,
            &format!("emulated failure ({status}) injected by the test"),
        ),
        Failure::RateLimited {
            retry_after,
            global,
        } => rate_limited(retry_after, global),
    };
    answer.injected = true;
    if let (Some(RouteKind::Callback), Some(id)) = (kind, segs.get(1)) {
        let id = id.parse::<u64>().unwrap_or(0);
        if let Some(rec) = st.rest.interactions.get_mut(&id) {
            rec.rejected_callbacks.push((answer.status, body.clone()));
        }
    }
    Some(answer)
}

/// A 429 as Discord sends it: the body serenity's error type reads, and the headers its rate
/// limiter reads (`retry-after`, `x-ratelimit-global`, `-limit`, `-remaining`, `-reset`,
/// `-reset-after`). Discord's `Retry-After` header is whole seconds, the body's is precise.
fn rate_limited(retry_after: f64, global: bool) -> Answer {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let body = json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": global });
    let mut headers = vec![
        ("retry-after", format!("{}", retry_after.ceil() as u64)),
        ("x-ratelimit-limit", "5".to_string()),
        ("x-ratelimit-remaining", "0".to_string()),
        ("x-ratelimit-reset", format!("{:.3}", now + retry_after)),
        ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
        ("x-ratelimit-bucket", "emulator-bucket".to_string()),
        (
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.to_string(),
        ),
    ];
    if global {
        headers.push(("x-ratelimit-global", "true".to_string()));
    }
    Answer {
        status: 429,
        body,
        headers,
        injected: false,
    }
}
