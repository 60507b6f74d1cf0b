//! The record of what the emulator saw (REST requests, gateway payloads, heartbeats, replays,
//! problems), the change notification every record fires, the `wait_*` helpers built on it, and
//! the diagnostics a timed-out wait prints.

use std::time::Duration;

use serde_json::Value;

use super::{flags_of, gateway, snowflake_field, Emulator, Shared, State, EPHEMERAL};

/// One REST request the bot made, with the status the emulator answered.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The URL path, e.g. `/api/v10/interactions/1/tok/callback` (no query string).
    pub path: String,
    /// The JSON body; `Null` when empty. For multipart bodies this is `payload_json`.
    pub body: Value,
    /// The files a multipart body uploaded (`files[n]` parts), in order.
    pub files: Vec<super::multipart::Upload>,
    /// The HTTP status the emulator answered with.
    pub status: u16,
    /// The JSON body the emulator answered with (`Null` for 204).
    pub answer: Value,
    /// Whether the status was an injected failure ([`Emulator::fail_next`]) rather than the
    /// route's own answer.
    pub injected: bool,
}

/// One heartbeat (op 1) the bot sent.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    /// The gateway connection it came on (numbered from 1 in connection order).
    pub conn: u64,
    /// Its `d`: the last sequence number the bot had received (`None` for `null`).
    pub seq: Option<u64>,
    /// The last sequence number the emulator had sent on that connection, when the connection
    /// was identified or resumed (`None` before that: nothing to compare with).
    pub last_sent: Option<u64>,
    /// Whether the emulator accepted `seq` (equal to `last_sent`, or older only while the
    /// newer dispatch was still in flight). A rejected heartbeat is also in `problems()`.
    pub ok: bool,
}

/// One RESUME the emulator answered with RESUMED.
#[derive(Clone, Debug)]
pub struct Replay {
    pub session_id: String,
    /// The `seq` the bot sent in RESUME: the last dispatch it had received.
    pub resumed_from: u64,
    /// The dispatches replayed before RESUMED, as `(seq, t)`, in order.
    pub replayed: Vec<(u64, String)>,
}

/// The bot's answer to one interaction.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The accepted `POST .../callback` body: `{"type": 4|5|6|8, "data": {...}}`.
    pub callback: Value,
    /// After a deferral (type 5 or 6): the first `PATCH .../messages/@original` or followup
    /// `POST /webhooks/{app}/{token}` body. `None` otherwise.
    pub followup: Option<Value>,
}

impl Reply {
    /// The message data the user finally sees: the followup body after a deferral, otherwise
    /// `callback.data` (for type 8 that is `{"choices": [...]}`).
    pub fn message(&self) -> &Value {
        match &self.followup {
            Some(followup) => followup,
            None => &self.callback["data"],
        }
    }

    /// `message().content` as a string ("" when absent).
    pub fn content(&self) -> &str {
        self.message()["content"].as_str().unwrap_or("")
    }

    /// The callback type (4 message, 5 deferred message, 6 deferred update, 8 autocomplete).
    pub fn kind(&self) -> u64 {
        self.callback["type"].as_u64().unwrap_or(0)
    }

    /// Whether the ephemeral flag (64) is set in `callback.data.flags`. For a deferral this is
    /// what decides the visibility of the message that replaces the "thinking..." state.
    pub fn is_ephemeral(&self) -> bool {
        flags_of(&self.callback["data"]) & EPHEMERAL != 0
    }
}

/// Everything recorded so far, in arrival order.
#[derive(Default)]
pub(super) struct Record {
    pub(super) requests: Vec<Recorded>,
    pub(super) gateway_received: Vec<Value>,
    pub(super) identifies: Vec<Value>,
    pub(super) ready_sent: usize,
    pub(super) heartbeats: Vec<Heartbeat>,
    pub(super) replays: Vec<Replay>,
    /// Close codes the emulator sent, with the connection: `(conn, code)`.
    pub(super) closes: Vec<(u64, u16)>,
    pub(super) command_puts: Vec<(String, Value)>,
    pub(super) command_puts_taken: usize,
    /// Things that went wrong on the emulator side or that Discord would refuse or serenity
    /// would silently ignore.
    pub(super) problems: Vec<String>,
    /// How the REST traffic fared against Discord's contract.
    pub(super) contract: super::contract::ContractCounts,
}

impl Shared {
    /// Wakes every wait: something was recorded.
    pub(super) fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(super) fn problem(&self, text: String) {
        self.lock().rec.problems.push(text);
        self.changed();
    }
}

impl Emulator {
    /// Waits until a shard identified and READY was sent. Returns the latest IDENTIFY payload
    /// (`d`), e.g. to check `shard: [id, total]` or `intents`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Value, String> {
        self.wait_until(
            timeout,
            || "a gateway IDENTIFY answered by READY".into(),
            |st| {
                (st.rec.ready_sent > 0)
                    .then(|| st.rec.identifies.last().cloned())
                    .flatten()
            },
        )
        .await
    }

    /// Waits for the next command registration (`PUT` global or guild commands, or a `POST` of a
    /// single command) not yet returned by an earlier call. Returns the request path and the
    /// commands the bot sent (for a single-command POST: an array of that one command).
    pub async fn wait_commands(&self, timeout: Duration) -> Result<(String, Value), String> {
        self.wait_until_mut(
            timeout,
            || "a command registration (PUT .../commands)".into(),
            |st| {
                let next = st.rec.command_puts.get(st.rec.command_puts_taken).cloned();
                if next.is_some() {
                    st.rec.command_puts_taken += 1;
                }
                next
            },
        )
        .await
    }

    /// Waits for the bot's answer to interaction `id`: the accepted callback and, if it was a
    /// deferral (type 5 or 6), the first PATCH @original or followup POST after it.
    /// Rejected callbacks (see [`Self::fail_next`]) are not answers.
    pub async fn wait_reply(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Reply, String> {
        if !self
            .shared
            .lock()
            .rest
            .interactions
            .contains_key(&interaction_id)
        {
            return Err(format!(
                "interaction {interaction_id} was never dispatched by this emulator"
            ));
        }
        let shared = std::sync::Arc::clone(&self.shared);
        let describe = move || describe_reply_wait(&shared.lock(), interaction_id);
        self.wait_until(timeout, describe, |st| {
            let rec = st.rest.interactions.get(&interaction_id)?;
            let callback = rec.callback.clone()?;
            let deferred = matches!(callback["type"].as_u64(), Some(5 | 6));
            let followup = if deferred {
                Some(rec.after_callback.first()?.clone())
            } else {
                None
            };
            Some(Reply { callback, followup })
        })
        .await
    }

    /// Every PATCH @original / followup body the bot sent for this interaction so far.
    pub fn followups(&self, interaction_id: u64) -> Vec<Value> {
        self.shared
            .lock()
            .rest
            .interactions
            .get(&interaction_id)
            .map(|r| r.after_callback.clone())
            .unwrap_or_default()
    }

    /// Waits for a recorded REST request matching `pred` (earlier ones count too) and returns
    /// the first match. `what` describes it for the timeout message.
    pub async fn wait_request(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Result<Recorded, String> {
        self.wait_until(
            timeout,
            || format!("a REST request: {what}"),
            |st| st.rec.requests.iter().find(|r| pred(r)).cloned(),
        )
        .await
    }

    /// Waits until `count` recorded heartbeats match `pred` (earlier ones count too) and returns
    /// them. `what` describes them for the timeout message.
    pub async fn wait_heartbeats(
        &self,
        what: &str,
        count: usize,
        timeout: Duration,
        pred: impl Fn(&Heartbeat) -> bool,
    ) -> Result<Vec<Heartbeat>, String> {
        self.wait_until(
            timeout,
            || format!("{count} heartbeat(s): {what}"),
            |st| {
                let found: Vec<Heartbeat> = st
                    .rec
                    .heartbeats
                    .iter()
                    .filter(|h| pred(h))
                    .cloned()
                    .collect();
                (found.len() >= count).then_some(found)
            },
        )
        .await
    }

    /// Waits until at least `count` RESUMEs were answered in total; returns the latest.
    pub async fn wait_resumes(&self, count: usize, timeout: Duration) -> Result<Replay, String> {
        self.wait_until(
            timeout,
            || format!("{count} gateway RESUME(s) in total"),
            |st| {
                (st.rec.replays.len() >= count)
                    .then(|| st.rec.replays.last().cloned())
                    .flatten()
            },
        )
        .await
    }

    /// Waits until at least `count` IDENTIFYs were answered with READY in total.
    pub async fn wait_identifies(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.wait_until(
            timeout,
            || format!("{count} gateway IDENTIFY(s) answered by READY"),
            |st| (st.rec.ready_sent >= count).then_some(()),
        )
        .await
    }

    /// Number of IDENTIFYs seen so far (answered or refused).
    pub fn identify_count(&self) -> usize {
        self.shared.lock().rec.identifies.len()
    }

    /// Number of successful RESUMEs (answered with RESUMED) so far.
    pub fn resume_count(&self) -> usize {
        self.shared.lock().rec.replays.len()
    }

    /// Every RESUME answered so far, with what was replayed.
    pub fn replays(&self) -> Vec<Replay> {
        self.shared.lock().rec.replays.clone()
    }

    /// Every heartbeat the bot sent so far, with the emulator's verdict.
    pub fn heartbeats(&self) -> Vec<Heartbeat> {
        self.shared.lock().rec.heartbeats.clone()
    }

    /// Every REST request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().rec.requests.clone()
    }

    /// Every payload the bot sent over the gateway (heartbeats included), in arrival order.
    pub fn gateway_payloads(&self) -> Vec<Value> {
        self.shared.lock().rec.gateway_received.clone()
    }

    /// Close codes the emulator sent, as `(connection, code)`, in order.
    pub fn closes_sent(&self) -> Vec<(u64, u16)> {
        self.shared.lock().rec.closes.clone()
    }

    /// What the emulator refused or noticed (a bad token, a stale heartbeat, an invalid command
    /// registration; an unknown route is not one). Empty in a healthy run.
    pub fn problems(&self) -> Vec<String> {
        self.shared.lock().rec.problems.clone()
    }

    pub(super) async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, String> {
        self.wait_until_mut(timeout, what, |st| check(st)).await
    }

    /// Re-checks `check` on every change until it returns `Some` or `timeout` passes. The
    /// timeout is only ever a failure, never the answer.
    pub(super) async fn wait_until_mut<T>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        mut check: impl FnMut(&mut State) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.changes.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(found) = check(&mut self.shared.lock()) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(format!("emulator stopped while waiting for {}", what())),
                Err(_) => {
                    return Err(format!(
                        "timed out after {timeout:?} waiting for {}\n{}",
                        what(),
                        self.diagnostics()
                    ))
                }
            }
        }
    }

    /// A summary of what the emulator has seen, for error messages.
    pub fn diagnostics(&self) -> String {
        let st = self.shared.lock();
        let mut out = format!(
            "emulator state: {}; IDENTIFY {} (READY sent {}), RESUME {}, heartbeats {}; {} REST request(s)",
            gateway::describe(&st.gw),
            st.rec.identifies.len(),
            st.rec.ready_sent,
            st.rec.replays.len(),
            st.rec.heartbeats.len(),
            st.rec.requests.len()
        );
        let skip = st.rec.requests.len().saturating_sub(8);
        for r in &st.rec.requests[skip..] {
            let injected = if r.injected { " (injected)" } else { "" };
            out.push_str(&format!(
                "\n  {} {} -> {}{injected}",
                r.method, r.path, r.status
            ));
        }
        for p in &st.rec.problems {
            out.push_str(&format!("\n  problem: {p}"));
        }
        out
    }
}

/// What a wait for the reply to `id` saw, for its timeout message.
pub(super) fn describe_reply_wait(st: &State, id: u64) -> String {
    let Some(rec) = st.rest.interactions.get(&id) else {
        return format!("the reply to interaction {id}");
    };
    let mut text = format!("the reply to interaction {id} ({})", rec.summary);
    match &rec.callback {
        Some(cb) => text.push_str(&format!(
            "; the callback arrived ({cb}) but no PATCH @original / followup after it"
        )),
        None => text.push_str("; no callback arrived"),
    }
    for (status, body) in &rec.rejected_callbacks {
        text.push_str(&format!("; a callback was rejected with {status}: {body}"));
    }
    text
}

pub(super) fn summarize_interaction(payload: &Value) -> String {
    let kind = match payload["type"].as_u64() {
        Some(2) => "",
        Some(4) => "autocomplete ",
        _ => "interaction ",
    };
    let name = payload["data"]["name"].as_str().unwrap_or("?");
    let options: Vec<String> = payload["data"]["options"]
        .as_array()
        .map(|opts| {
            opts.iter()
                .map(|o| format!("{}:{}", o["name"].as_str().unwrap_or("?"), o["value"]))
                .collect()
        })
        .unwrap_or_default();
    let who = snowflake_field(&payload["member"]["user"]["id"])
        .or_else(|| snowflake_field(&payload["user"]["id"]))
        .unwrap_or(0);
    format!("{kind}/{name} {} by user {who}", options.join(" "))
}
