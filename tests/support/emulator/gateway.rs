//! The gateway websocket: HELLO with a short heartbeat interval, IDENTIFY (token checked) and
//! READY, heartbeats checked against the last dispatched sequence and acked, RESUME that replays
//! every dispatch the bot missed, and the dispatches tests send, routed by shard.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::recorder::{Heartbeat, Replay};
use super::{
    bot_user_json, contract, next_snowflake, snowflake_field, Emulator, Shared, State,
    DISPATCH_WAIT,
};

pub(super) enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

pub(super) struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    session: Option<String>,
    /// Accepts dispatches: identified or resumed, and not told to go away.
    live: bool,
    /// The sequence the bot had when this connection was identified (0) or resumed (its RESUME
    /// `seq`); `None` before either, when there is nothing to check heartbeats against.
    baseline: Option<u64>,
    /// `(seq, when)` of every dispatch sent on this connection.
    delivered: Vec<(u64, Instant)>,
}

pub(super) struct Session {
    shard: [u32; 2],
    /// The last sequence number used.
    seq: u64,
    /// Every dispatch of the session as `(seq, t, frame)`, kept for replay on RESUME.
    sent: Vec<(u64, String, String)>,
    /// The live connection carrying the session, if any.
    conn: Option<u64>,
    /// Creation order: dispatches go to the newest session of a shard.
    order: u64,
}

pub(super) struct GatewayState {
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    sessions: HashMap<String, Session>,
    next_session: u64,
    pub(super) ready_guilds: Vec<u64>,
    pub(super) shard_count: u32,
    /// While set, RESUMEs wait here unanswered, as `(conn, d)`: see [`Emulator::hold_resumes`].
    held_resumes: Option<Vec<(u64, Value)>>,
}

impl Default for GatewayState {
    fn default() -> GatewayState {
        GatewayState {
            conns: HashMap::new(),
            next_conn: 0,
            sessions: HashMap::new(),
            next_session: 0,
            ready_guilds: Vec::new(),
            shard_count: 1,
            held_resumes: None,
        }
    }
}

/// One line for diagnostics: connections, sessions, and dispatches waiting for a RESUME.
pub(super) fn describe(gw: &GatewayState) -> String {
    let live = gw.conns.values().filter(|c| c.live).count();
    let detached: Vec<String> = gw
        .sessions
        .iter()
        .filter(|(_, s)| s.conn.is_none())
        .map(|(id, s)| format!("{id} (shard {:?}, last seq {})", s.shard, s.seq))
        .collect();
    format!(
        "{} gateway connection(s), {live} live; {} session(s), waiting for RESUME: [{}]",
        gw.conns.len(),
        gw.sessions.len(),
        detached.join(", ")
    )
}

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    super::accept_loop(listener, shared, stop, "gateway", connection).await;
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            shared.problem(format!("websocket handshake failed: {e}"));
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = register(&shared, tx);
    let interval = shared.settings.heartbeat_interval.as_millis() as u64;
    let hello = json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": interval } });
    let mut closing = ws.send(WsMessage::Text(hello.to_string())).await.is_err();
    let limit = shared.settings.heartbeat_interval.mul_f64(1.5) + shared.settings.zombie_slack;
    let mut deadline = tokio::time::Instant::now() + limit;
    while !closing {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if handle_text(&shared, conn_id, &text) {
                        deadline = tokio::time::Instant::now() + limit;
                    }
                }
                Some(Ok(WsMessage::Binary(bytes))) => shared.problem(format!(
                    "the bot sent a binary gateway frame of {} bytes; the emulator expects JSON text",
                    bytes.len()
                )),
                // Keep reading after a close so tungstenite can flush its close reply (serenity's
                // shutdown waits for it).
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    closing = ws.send(WsMessage::Text(text)).await.is_err();
                }
                Some(Outgoing::Close(code, reason)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = ws.send(WsMessage::Close(Some(frame))).await;
                    closing = true;
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => {
                close_zombie(&shared, conn_id, limit);
                // The close is queued; do not fire again while it is being sent.
                deadline += Duration::from_secs(3600);
            }
            _ = stop.changed() => break,
        }
    }
    unregister(&shared, conn_id);
    // After a close we sent: drain briefly so the peer sees an orderly close, then drop.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

fn register(shared: &Shared, tx: mpsc::UnboundedSender<Outgoing>) -> u64 {
    let mut st = shared.lock();
    st.gw.next_conn += 1;
    let id = st.gw.next_conn;
    let conn = Conn {
        tx,
        session: None,
        live: false,
        baseline: None,
        delivered: Vec::new(),
    };
    st.gw.conns.insert(id, conn);
    drop(st);
    shared.changed();
    id
}

fn unregister(shared: &Shared, conn_id: u64) {
    let mut st = shared.lock();
    st.gw.conns.remove(&conn_id);
    for session in st.gw.sessions.values_mut() {
        if session.conn == Some(conn_id) {
            session.conn = None;
        }
    }
    drop(st);
    shared.changed();
}

/// Discord closes a connection that stopped heartbeating; so does the emulator, loudly.
fn close_zombie(shared: &Shared, conn_id: u64, limit: Duration) {
    let mut st = shared.lock();
    st.rec.problems.push(format!(
        "gateway connection {conn_id} sent no heartbeat for {limit:?}: closed as a zombie (4009)"
    ));
    close_conn(&mut st, conn_id, 4009, "Session timed out");
    drop(st);
    shared.changed();
}

/// Handles one text frame from the bot; returns whether it was a heartbeat.
fn handle_text(shared: &Shared, conn_id: u64, text: &str) -> bool {
    let payload: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            shared.problem(format!(
                "the bot sent a non-JSON gateway frame ({e}): {text}"
            ));
            return false;
        }
    };
    let mut st = shared.lock();
    st.rec.gateway_received.push(payload.clone());
    let identified = st
        .gw
        .conns
        .get(&conn_id)
        .is_some_and(|c| c.session.is_some());
    match payload["op"].as_u64() {
        Some(1) => heartbeat(&mut st, conn_id, &payload["d"]),
        Some(2) => identify(&mut st, shared, conn_id, &payload["d"]),
        Some(6) => resume(&mut st, shared, conn_id, &payload["d"]),
        Some(3 | 4 | 8) if !identified => {
            refuse(&mut st, conn_id, 4003, "Not authenticated", &payload)
        }
        Some(3 | 4 | 8 | 31) => {}
        _ => refuse(&mut st, conn_id, 4001, "Unknown opcode", &payload),
    }
    drop(st);
    shared.changed();
    payload["op"] == 1
}

/// Closes the connection as Discord would for a protocol error, and records it as a problem.
fn refuse(st: &mut State, conn_id: u64, code: u16, reason: &'static str, payload: &Value) {
    st.rec.problems.push(format!(
        "gateway connection {conn_id} closed with {code} ({reason}) after: {payload}"
    ));
    close_conn(st, conn_id, code, reason);
}

fn close_conn(st: &mut State, conn_id: u64, code: u16, reason: &'static str) {
    let Some(conn) = st.gw.conns.get_mut(&conn_id) else {
        return;
    };
    conn.live = false;
    let _ = conn.tx.send(Outgoing::Close(code, reason));
    let session_id = conn.session.clone();
    st.rec.closes.push((conn_id, code));
    let Some(session_id) = session_id else {
        return;
    };
    // Discord forgets the session on these codes; the bot has to identify again.
    if matches!(code, 4004 | 4007 | 4009 | 4010..=4014) {
        st.gw.sessions.remove(&session_id);
    } else if let Some(session) = st.gw.sessions.get_mut(&session_id) {
        if session.conn == Some(conn_id) {
            session.conn = None;
        }
    }
}

fn heartbeat(st: &mut State, conn_id: u64, d: &Value) {
    let Some(conn) = st.gw.conns.get(&conn_id) else {
        return;
    };
    let claimed = d.as_u64();
    let last_sent = conn
        .baseline
        .map(|b| conn.delivered.last().map_or(b, |(seq, _)| *seq));
    let verdict = match conn.baseline {
        Some(baseline) => contract::check_heartbeat(
            claimed.unwrap_or(0),
            baseline,
            &conn.delivered,
            Instant::now(),
        ),
        None => Ok(()),
    };
    let _ = conn.tx.send(Outgoing::Text(
        json!({ "op": 11, "d": null, "s": null, "t": null }).to_string(),
    ));
    if let Err(e) = &verdict {
        st.rec
            .problems
            .push(format!("gateway connection {conn_id}: {e}"));
    }
    st.rec.heartbeats.push(Heartbeat {
        conn: conn_id,
        seq: claimed,
        last_sent,
        ok: verdict.is_ok(),
    });
}

fn identify(st: &mut State, shared: &Shared, conn_id: u64, d: &Value) {
    st.rec.identifies.push(d.clone());
    if st
        .gw
        .conns
        .get(&conn_id)
        .is_some_and(|c| c.session.is_some())
    {
        return refuse(st, conn_id, 4005, "Already authenticated", d);
    }
    if let Err(e) = contract::check_gateway_token(&d["token"], &shared.settings.token) {
        st.rec.problems.push(format!("IDENTIFY refused: {e}"));
        return close_conn(st, conn_id, 4004, "Authentication failed");
    }
    let shard = match d["shard"].as_array().map(Vec::as_slice) {
        Some([id, total]) => [
            id.as_u64().unwrap_or(u64::MAX) as u32,
            total.as_u64().unwrap_or(0) as u32,
        ],
        None => [0, 1],
        Some(_) => [u32::MAX, 0],
    };
    if shard[1] == 0 || shard[0] >= shard[1] {
        return refuse(st, conn_id, 4010, "Invalid shard", d);
    }
    st.gw.next_session += 1;
    let session_id = format!("emu-session-{}", next_snowflake());
    let session = Session {
        shard,
        seq: 0,
        sent: Vec::new(),
        conn: Some(conn_id),
        order: st.gw.next_session,
    };
    st.gw.sessions.insert(session_id.clone(), session);
    if let Some(conn) = st.gw.conns.get_mut(&conn_id) {
        conn.session = Some(session_id.clone());
        conn.live = true;
        conn.baseline = Some(0);
    }
    let frame = ready_frame(st, shared, &session_id, shard);
    match contract::check_dispatch(&frame) {
        Ok(()) => {
            send_on_session(st, &session_id, &frame);
            st.rec.ready_sent += 1;
        }
        Err(e) => st
            .rec
            .problems
            .push(format!("emulator bug, READY not sent: {e}")),
    }
}

fn ready_frame(st: &State, shared: &Shared, session_id: &str, shard: [u32; 2]) -> Value {
    let guilds: Vec<Value> = st
        .gw
        .ready_guilds
        .iter()
        .filter(|g| shard_of(Some(**g), shard[1]) == shard[0])
        .map(|g| json!({ "id": g.to_string(), "unavailable": true }))
        .collect();
    let mut user = bot_user_json(shared);
    user["flags"] = json!(0);
    json!({
        "t": "READY",
        "d": {
            "v": 10,
            "user": user,
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": shared.ws_url,
            "shard": shard,
            "application": { "id": shared.app_id.to_string(), "flags": 0 },
            "private_channels": [],
            "relationships": [],
        },
    })
}

/// RESUME: the token and session must be right and `seq` no newer than what was sent; then every
/// dispatch after `seq` is replayed in order, and RESUMED ends the replay (as Discord does).
fn resume(st: &mut State, shared: &Shared, conn_id: u64, d: &Value) {
    if let Some(held) = &mut st.gw.held_resumes {
        held.push((conn_id, d.clone()));
        return;
    }
    if let Err(e) = contract::check_gateway_token(&d["token"], &shared.settings.token) {
        st.rec.problems.push(format!("RESUME refused: {e}"));
        return close_conn(st, conn_id, 4004, "Authentication failed");
    }
    let session_id = d["session_id"].as_str().unwrap_or_default().to_string();
    let invalid = json!({ "op": 9, "d": false, "s": null, "t": null }).to_string();
    let (Some(seq), Some(session)) = (d["seq"].as_u64(), st.gw.sessions.get_mut(&session_id))
    else {
        // Unknown (or forgotten) session: not resumable, the bot must identify again.
        return send_to_conn(st, conn_id, &invalid);
    };
    if seq > session.seq {
        let text = format!(
            "RESUME of {session_id} claims seq {seq}, but the session only reached {}",
            session.seq
        );
        st.rec.problems.push(text);
        return send_to_conn(st, conn_id, &invalid);
    }
    let previous = session.conn.replace(conn_id);
    let missed: Vec<(u64, String, String)> = session
        .sent
        .iter()
        .filter(|(s, _, _)| *s > seq)
        .cloned()
        .collect();
    if let Some(old) = previous.and_then(|c| st.gw.conns.get_mut(&c)) {
        old.live = false;
    }
    let Some(conn) = st.gw.conns.get_mut(&conn_id) else {
        return;
    };
    conn.session = Some(session_id.clone());
    conn.live = true;
    conn.baseline = Some(seq);
    for (s, _, frame) in &missed {
        let _ = conn.tx.send(Outgoing::Text(frame.clone()));
        conn.delivered.push((*s, Instant::now()));
    }
    send_on_session(st, &session_id, &json!({ "t": "RESUMED", "d": {} }));
    st.rec.replays.push(Replay {
        session_id,
        resumed_from: seq,
        replayed: missed.into_iter().map(|(s, t, _)| (s, t)).collect(),
    });
}

fn send_to_conn(st: &State, conn_id: u64, text: &str) {
    if let Some(conn) = st.gw.conns.get(&conn_id) {
        // A send error means the connection task already ended.
        let _ = conn.tx.send(Outgoing::Text(text.to_string()));
    }
}

/// Stamps `op`/`s` on a `{t, d}` frame with the session's next sequence, keeps it for replay, and
/// sends it if the session has a live connection. Returns whether it was sent now.
fn send_on_session(st: &mut State, session_id: &str, frame: &Value) -> bool {
    let Some(session) = st.gw.sessions.get_mut(session_id) else {
        return false;
    };
    session.seq += 1;
    let seq = session.seq;
    let mut frame = frame.clone();
    frame["op"] = json!(0);
    frame["s"] = json!(seq);
    let t = frame["t"].as_str().unwrap_or_default().to_string();
    let text = frame.to_string();
    session.sent.push((seq, t, text.clone()));
    let conn = session.conn.and_then(|c| st.gw.conns.get_mut(&c));
    match conn {
        Some(conn) if conn.live => {
            let _ = conn.tx.send(Outgoing::Text(text));
            conn.delivered.push((seq, Instant::now()));
            true
        }
        _ => false,
    }
}

/// Dispatches a `{t, d}` frame on the newest session of the shard owning `guild_id`: sent now if
/// it has a live connection, else kept for the RESUME replay. `None` while no such session exists.
fn dispatch_locked(st: &mut State, guild_id: Option<u64>, frame: &Value) -> Option<()> {
    let session_id = st
        .gw
        .sessions
        .iter()
        .filter(|(_, s)| shard_of(guild_id, s.shard[1]) == s.shard[0])
        .max_by_key(|(_, s)| s.order)
        .map(|(id, _)| id.clone())?;
    send_on_session(st, &session_id, frame);
    Some(())
}

/// Discord's routing: `(guild_id >> 22) % total`, DMs on shard 0.
fn shard_of(guild_id: Option<u64>, total: u32) -> u32 {
    guild_id.map_or(0, |g| ((g >> 22) % u64::from(total.max(1))) as u32)
}

fn shard_text(guild_id: Option<u64>) -> String {
    match guild_id {
        Some(g) => format!("the shard owning guild {g}"),
        None => "shard 0, for a DM".to_string(),
    }
}

impl Emulator {
    /// Sends an INTERACTION_CREATE dispatch to the session of the shard that owns the
    /// interaction's guild (`(guild_id >> 22) % shard_total`; shard 0 for DMs).
    ///
    /// If the command name was registered, `data.id` (and for guild commands `data.guild_id`) is
    /// set to what the emulator echoed. The payload is first parsed with serenity's own
    /// `Interaction` type: a payload serenity would silently drop is refused with the parse error.
    /// While the session's connection is down (after a close or op 7), the dispatch is kept and
    /// replayed when the bot RESUMEs, as Discord does. Waits up to [`DISPATCH_WAIT`] for a
    /// session to exist (e.g. while the bot identifies again).
    pub async fn dispatch_interaction(&self, interaction: Value) -> Result<(), String> {
        let (interaction, summary) = super::rest::register_interaction(&self.shared, interaction)?;
        let guild_id = snowflake_field(&interaction["guild_id"]);
        let what = format!("INTERACTION_CREATE {summary} (id {})", interaction["id"]);
        let frame = json!({ "t": "INTERACTION_CREATE", "d": interaction });
        self.wait_until_mut(
            DISPATCH_WAIT,
            || {
                format!(
                    "a gateway session ({}) to deliver {what}",
                    shard_text(guild_id)
                )
            },
            |st| dispatch_locked(st, guild_id, &frame),
        )
        .await
    }

    /// Sends any dispatch (`t`, `d`), e.g. `GUILD_CREATE`, to the shard owning `d.guild_id`
    /// (shard 0 without one). Refused if serenity would parse it as an unknown event.
    pub async fn dispatch_event(&self, t: &str, d: Value) -> Result<(), String> {
        let frame = json!({ "t": t, "d": d });
        contract::check_dispatch(&frame)?;
        let guild_id = snowflake_field(&frame["d"]["guild_id"]);
        self.wait_until_mut(
            DISPATCH_WAIT,
            || {
                format!(
                    "a gateway session ({}) to deliver {t}",
                    shard_text(guild_id)
                )
            },
            |st| dispatch_locked(st, guild_id, &frame),
        )
        .await
    }

    /// Sends op 7 RECONNECT to every live connection; the bot should reconnect and RESUME.
    /// Dispatches sent meanwhile are replayed then. See [`Self::wait_resumes`].
    pub async fn send_reconnect(&self) {
        let frame = json!({ "op": 7, "d": null, "s": null, "t": null }).to_string();
        self.detach_live(&frame, false);
    }

    /// Closes every gateway connection with `code`. With 4000 (or most 4xxx codes) serenity
    /// resumes and gets what it missed replayed; with 4007/4009 the session is forgotten and it
    /// re-identifies (after ~5 s); 4004/4010-4014 are fatal.
    pub async fn close_gateway(&self, code: u16) {
        let mut st = self.shared.lock();
        let ids: Vec<u64> = st.gw.conns.keys().copied().collect();
        for id in ids {
            close_conn(&mut st, id, code, "closed by the emulator");
        }
        drop(st);
        self.shared.changed();
    }

    /// Sends op 9 INVALID SESSION (`d` = `resumable`) to every live connection. Not resumable:
    /// the sessions are forgotten, and dispatches wait for the next IDENTIFY.
    pub async fn invalidate_sessions(&self, resumable: bool) {
        let frame = json!({ "op": 9, "d": resumable, "s": null, "t": null }).to_string();
        self.detach_live(&frame, !resumable);
    }

    /// While `hold` is true, RESUMEs are received but not answered; setting it back to false
    /// answers the held ones in arrival order. Lets a test put dispatches into the gap between a
    /// dropped connection and the RESUME for certain, however fast the bot reconnects.
    pub fn hold_resumes(&self, hold: bool) {
        let mut st = self.shared.lock();
        let held = if hold {
            st.gw.held_resumes.get_or_insert_with(Vec::new);
            Vec::new()
        } else {
            st.gw.held_resumes.take().unwrap_or_default()
        };
        for (conn_id, d) in held {
            resume(&mut st, &self.shared, conn_id, &d);
        }
        drop(st);
        self.shared.changed();
    }

    /// Waits until `count` RESUMEs are being held (see [`Self::hold_resumes`]).
    pub async fn wait_held_resumes(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.wait_until(
            timeout,
            || format!("{count} held RESUME(s)"),
            |st| {
                let held = st.gw.held_resumes.as_ref().map_or(0, Vec::len);
                (held >= count).then_some(())
            },
        )
        .await
    }

    fn detach_live(&self, frame: &str, forget: bool) {
        let mut st = self.shared.lock();
        let State { gw, .. } = &mut *st;
        for (id, conn) in gw.conns.iter_mut().filter(|(_, c)| c.live) {
            conn.live = false;
            let _ = conn.tx.send(Outgoing::Text(frame.to_string()));
            for session in gw.sessions.values_mut() {
                if session.conn == Some(*id) {
                    session.conn = None;
                }
            }
            if forget {
                if let Some(s) = &conn.session {
                    gw.sessions.remove(s);
                }
            }
        }
        drop(st);
        self.shared.changed();
    }
}
