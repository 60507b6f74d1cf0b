//! A local Discord emulator for tests: a REST endpoint and a gateway (websocket) endpoint on
//! 127.0.0.1, good enough to run the real serenity/poise client against.
//!
//! # Wiring a bot to it
//!
//! ```ignore
//! let emu = Emulator::start().await;
//! // Explicit: serenity rewrites `https://discord.com` to the proxy URL. The rate limiter must be
//! // disabled, otherwise serenity's rate limiter sends the requests to discord.com itself.
//! let http = serenity::HttpBuilder::new(FAKE_TOKEN)
//!     .proxy(emu.rest_url())
//!     .ratelimiter_disabled(true)
//!     .build(); // or: emu.http_builder().build()
//! let client = serenity::ClientBuilder::new_with_http(http, intents).framework(f).await?;
//! ```
//!
//! The client asks `GET /api/v10/gateway` while it is being built, so the emulator must be started
//! first. The gateway URL it returns points at the emulator's websocket listener.
//!
//! # Environment proxies
//!
//! reqwest (inside serenity) honours `HTTP_PROXY`/`ALL_PROXY` for plain-http URLs, including
//! 127.0.0.1, unless `NO_PROXY` covers it. [`Emulator::start`] therefore appends
//! `127.0.0.1,localhost` to `NO_PROXY`/`no_proxy` when such a proxy variable is set and loopback is
//! not already exempt. Build the bot's `Http` after `start()`.
//!
//! # Loud failures
//!
//! Serenity silently drops a gateway payload it cannot parse (it becomes an "unknown event"). The
//! emulator therefore parses every dispatch it sends with serenity's own types first and refuses
//! to send one that serenity would drop, returning the serde error instead. Every wait takes a
//! timeout; a timed-out wait says what it waited for and what the emulator saw meanwhile.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A token that passes serenity's format check (three non-empty dot-separated parts).
pub const FAKE_TOKEN: &str = "MTIzNDU2Nzg5.ZW11bGF0b3I.ZmFrZS10b2tlbg";
/// The guild used by [`Who::member`] and [`Who::moderator`].
pub const GUILD_ID: u64 = 1_100_000_000_000_000_001;
/// The guild text channel interactions come from.
pub const CHANNEL_ID: u64 = 1_100_000_000_000_000_002;
/// The DM channel used for interactions of [`Who::dm`].
pub const DM_CHANNEL_ID: u64 = 1_100_000_000_000_000_003;
/// The owner reported by `GET /oauth2/applications/@me`.
pub const APP_OWNER_ID: u64 = 1_100_000_000_000_000_004;

/// Permission bits (Discord's numbering).
pub const ADD_REACTIONS: u64 = 1 << 6;
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const MANAGE_GUILD: u64 = 1 << 5;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const MANAGE_MESSAGES: u64 = 1 << 13;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
/// What an ordinary member has in a plain text channel (sent as `member.permissions`).
pub const MEMBER_PERMISSIONS: u64 = VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS;
/// What the bot has in the channel (sent as `app_permissions`; poise's bot-permission checks read it).
pub const BOT_PERMISSIONS: u64 = MEMBER_PERMISSIONS;

/// Discord's flag for an ephemeral message (`data.flags`).
pub const EPHEMERAL: u64 = 1 << 6;

/// How long [`Emulator::dispatch_interaction`] waits for a connected, identified shard (e.g.
/// while the bot is resuming after [`Emulator::send_reconnect`]).
pub const DISPATCH_WAIT: Duration = Duration::from_secs(10);

const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A fresh, unique snowflake (increasing; its timestamp part is about "now").
pub fn next_snowflake() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let base = *BASE.get_or_init(|| {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64);
        now_ms.saturating_sub(DISCORD_EPOCH_MS).max(1) << 22
    });
    base + COUNTER.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Public data types
// ---------------------------------------------------------------------------------------------

/// One REST request the bot made, with the status the emulator answered.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The URL path, e.g. `/api/v10/interactions/1/tok/callback` (no query string).
    pub path: String,
    /// The JSON body; `Null` when empty. For multipart bodies this is `payload_json`, plus
    /// `"_emulator_files": [{"field","filename","size"}]` listing the uploaded files.
    pub body: Value,
    /// The HTTP status the emulator answered with.
    pub status: u16,
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

/// Who invokes an interaction.
#[derive(Clone, Debug)]
pub struct Who {
    pub user_id: u64,
    pub roles: Vec<u64>,
    /// Discord permission bitfield sent as `member.permissions` (e.g. [`MEMBER_PERMISSIONS`],
    /// `0`, or `MEMBER_PERMISSIONS | MANAGE_GUILD`). Ignored for DMs.
    pub permissions: u64,
    /// `None` = a DM with the bot (no `member`, no `guild_id`).
    pub guild_id: Option<u64>,
}

impl Who {
    /// An ordinary member of [`GUILD_ID`] without roles.
    pub fn member(user_id: u64) -> Who {
        Who {
            user_id,
            roles: Vec::new(),
            permissions: MEMBER_PERMISSIONS,
            guild_id: Some(GUILD_ID),
        }
    }

    /// A member of [`GUILD_ID`] with `role` and MANAGE_GUILD | MANAGE_MESSAGES on top of the
    /// ordinary member permissions.
    pub fn moderator(user_id: u64, role: u64) -> Who {
        Who {
            user_id,
            roles: vec![role],
            permissions: MEMBER_PERMISSIONS | MANAGE_GUILD | MANAGE_MESSAGES,
            guild_id: Some(GUILD_ID),
        }
    }

    /// A user talking to the bot in a DM.
    pub fn dm(user_id: u64) -> Who {
        Who {
            user_id,
            roles: Vec::new(),
            permissions: 0,
            guild_id: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Interaction payload builders
// ---------------------------------------------------------------------------------------------

/// A chat-input (slash) command interaction, type 2. `options` is an array of
/// `{"name", "type", "value"}` (see [`string_opt`]); `Null` means no options.
///
/// `data.id` is a placeholder; [`Emulator::dispatch_interaction`] replaces it with the id the
/// emulator gave that command name when the bot registered it.
pub fn slash_command(app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    interaction_payload(2, app_id, name, options, who)
}

/// An autocomplete interaction, type 4. One option must carry `"focused": true` and a string
/// `value` (the partial input; see [`focused_opt`]). The bot answers with a type 8 callback whose
/// `data.choices` is the list of suggestions.
pub fn autocomplete(app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    interaction_payload(4, app_id, name, options, who)
}

/// `{"name": name, "type": 3, "value": value}`.
pub fn string_opt(name: &str, value: &str) -> Value {
    json!({ "name": name, "type": 3, "value": value })
}

/// `{"name": name, "type": 4, "value": value}`.
pub fn integer_opt(name: &str, value: i64) -> Value {
    json!({ "name": name, "type": 4, "value": value })
}

/// The focused string option of an autocomplete interaction.
pub fn focused_opt(name: &str, partial: &str) -> Value {
    json!({ "name": name, "type": 3, "value": partial, "focused": true })
}

/// The interaction id of a payload made by [`slash_command`] / [`autocomplete`].
pub fn interaction_id(payload: &Value) -> u64 {
    snowflake_field(&payload["id"]).unwrap_or_else(|| {
        panic!("interaction payload has no snowflake `id` (string or integer): {payload}")
    })
}

fn interaction_payload(kind: u8, app_id: u64, name: &str, options: Value, who: &Who) -> Value {
    let id = next_snowflake();
    let options = if options.is_null() {
        json!([])
    } else {
        options
    };
    let user = user_json(who.user_id, &format!("user{}", who.user_id), false);
    let mut payload = json!({
        "id": id.to_string(),
        "application_id": app_id.to_string(),
        "type": kind,
        "token": format!("emu-interaction-token-{id}"),
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 26_214_400,
        "app_permissions": BOT_PERMISSIONS.to_string(),
        "data": {
            "id": next_snowflake().to_string(),
            "name": name,
            "type": 1,
            "options": options,
        },
    });
    match who.guild_id {
        Some(guild_id) => {
            payload["guild_id"] = json!(guild_id.to_string());
            payload["guild_locale"] = json!("en-US");
            payload["channel_id"] = json!(CHANNEL_ID.to_string());
            payload["channel"] = json!({
                "id": CHANNEL_ID.to_string(),
                "type": 0,
                "name": "career-help",
                "guild_id": guild_id.to_string(),
                "permissions": who.permissions.to_string(),
            });
            payload["member"] = json!({
                "user": user,
                "nick": null,
                "avatar": null,
                "roles": who.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "premium_since": null,
                "deaf": false,
                "mute": false,
                "flags": 0,
                "pending": false,
                "permissions": who.permissions.to_string(),
            });
            payload["authorizing_integration_owners"] = json!({ "0": guild_id.to_string() });
            payload["context"] = json!(0);
        }
        None => {
            payload["channel_id"] = json!(DM_CHANNEL_ID.to_string());
            payload["channel"] = json!({ "id": DM_CHANNEL_ID.to_string(), "type": 1 });
            payload["user"] = user;
            payload["authorizing_integration_owners"] = json!({ "0": "0" });
            payload["context"] = json!(1);
        }
    }
    payload
}

fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

enum Outgoing {
    Text(String),
    Close(u16),
}

struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    session: Option<String>,
    /// Accepts dispatches: identified or resumed, and not told to go away.
    live: bool,
}

struct Session {
    seq: u64,
    shard: [u32; 2],
}

#[derive(Default)]
struct InteractionRecord {
    token: String,
    /// Short human description of what was dispatched, for error messages.
    summary: String,
    callback: Option<Value>,
    /// Statuses of callbacks that were not accepted (failures injected or protocol errors).
    rejected_callbacks: Vec<(u16, Value)>,
    /// PATCH @original / followup bodies, in arrival order.
    after_callback: Vec<Value>,
    /// The message Discord would now show as the original response.
    original: Option<Value>,
}

struct State {
    requests: Vec<Recorded>,
    gateway_received: Vec<Value>,
    identifies: Vec<Value>,
    ready_sent: usize,
    resumes: usize,
    command_puts: Vec<(String, Value)>,
    command_puts_taken: usize,
    /// (guild or None for global, name) -> command as echoed.
    commands: HashMap<(Option<u64>, String), Value>,
    interactions: HashMap<u64, InteractionRecord>,
    token_to_interaction: HashMap<String, u64>,
    fail_callbacks: Option<(u16, usize)>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    sessions: HashMap<String, Session>,
    ready_guilds: Vec<u64>,
    shard_count: u32,
    /// Things that went wrong on the emulator side or that serenity would silently ignore.
    problems: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    changes: watch::Sender<u64>,
    app_id: u64,
    bot_user_id: u64,
    ws_url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn problem(&self, text: String) {
        self.lock().problems.push(text);
        self.changed();
    }
}

struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------

/// A running emulator. Cheap to clone; the listeners stop when the last clone is dropped (and,
/// at the latest, with the test's runtime).
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    _stop: Arc<StopOnDrop>,
}

impl Emulator {
    /// Binds REST and gateway listeners on 127.0.0.1:0 and serves them on the current runtime.
    pub async fn start() -> Emulator {
        keep_loopback_off_env_proxies();

        let rest = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("emulator: binding the REST listener on 127.0.0.1:0 should succeed");
        let gateway = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("emulator: binding the gateway listener on 127.0.0.1:0 should succeed");
        let rest_addr = rest
            .local_addr()
            .expect("emulator: a bound REST listener should have a local address");
        let gateway_addr = gateway
            .local_addr()
            .expect("emulator: a bound gateway listener should have a local address");

        let (changes, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requests: Vec::new(),
                gateway_received: Vec::new(),
                identifies: Vec::new(),
                ready_sent: 0,
                resumes: 0,
                command_puts: Vec::new(),
                command_puts_taken: 0,
                commands: HashMap::new(),
                interactions: HashMap::new(),
                token_to_interaction: HashMap::new(),
                fail_callbacks: None,
                conns: HashMap::new(),
                next_conn: 1,
                sessions: HashMap::new(),
                ready_guilds: Vec::new(),
                shard_count: 1,
                problems: Vec::new(),
            }),
            changes,
            app_id: next_snowflake(),
            bot_user_id: next_snowflake(),
            ws_url: format!("ws://{gateway_addr}"),
        });

        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(serve_rest(rest, Arc::clone(&shared), stop_rx.clone()));
        tokio::spawn(serve_gateway(gateway, Arc::clone(&shared), stop_rx));

        Emulator {
            shared,
            rest_addr,
            _stop: Arc::new(StopOnDrop(stop_tx)),
        }
    }

    /// `http://127.0.0.1:PORT`, what `HttpBuilder::proxy` takes.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// `ws://127.0.0.1:PORT`, what `GET /gateway` and READY's `resume_gateway_url` report.
    pub fn gateway_url(&self) -> String {
        self.shared.ws_url.clone()
    }

    /// `HttpBuilder::new(FAKE_TOKEN).proxy(self.rest_url()).ratelimiter_disabled(true)`.
    pub fn http_builder(&self) -> serenity::HttpBuilder {
        serenity::HttpBuilder::new(FAKE_TOKEN)
            .proxy(self.rest_url())
            .ratelimiter_disabled(true)
    }

    /// READY's `application.id`, also the `{app}` in commands and webhook URLs.
    pub fn application_id(&self) -> u64 {
        self.shared.app_id
    }

    /// READY's `user.id`, the author of every message the bot sends.
    pub fn bot_user_id(&self) -> u64 {
        self.shared.bot_user_id
    }

    /// Guilds READY lists (as unavailable guilds). Default: none. Affects later IDENTIFYs only.
    pub fn set_ready_guilds(&self, guild_ids: Vec<u64>) {
        self.shared.lock().ready_guilds = guild_ids;
    }

    /// The `shards` value of `GET /gateway/bot` (used by `start_autosharded`). Default 1.
    pub fn set_shard_count(&self, shards: u32) {
        self.shared.lock().shard_count = shards.max(1);
    }

    /// Waits until a shard identified and READY was sent. Returns the latest IDENTIFY payload
    /// (`d`), e.g. to check `shard: [id, total]` or `intents`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Value, String> {
        self.wait_until(
            timeout,
            || "a gateway IDENTIFY answered by READY".into(),
            |st| {
                (st.ready_sent > 0)
                    .then(|| st.identifies.last().cloned())
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
                let next = st.command_puts.get(st.command_puts_taken).cloned();
                if next.is_some() {
                    st.command_puts_taken += 1;
                }
                next
            },
        )
        .await
    }

    /// The command id the emulator assigned to `name` (guild-specific registration first, then
    /// global), if the bot registered it.
    pub fn command_id(&self, name: &str, guild_id: Option<u64>) -> Option<u64> {
        let st = self.shared.lock();
        registered_command(&st, name, guild_id).and_then(|c| snowflake_field(&c["id"]))
    }

    /// Sends an INTERACTION_CREATE dispatch to the shard that owns the interaction's guild
    /// (`(guild_id >> 22) % shard_total`; shard 0 for DMs). With one shard that is "the" shard.
    ///
    /// If the command name was registered, `data.id` (and for guild commands `data.guild_id`) is
    /// set to what the emulator echoed. The payload is first parsed with serenity's own
    /// `Interaction` type: a payload serenity would silently drop is refused with the parse error.
    /// Waits up to [`DISPATCH_WAIT`] for a live shard (e.g. while the bot resumes).
    pub async fn dispatch_interaction(&self, interaction: Value) -> Result<(), String> {
        let mut interaction = interaction;
        let id = snowflake_field(&interaction["id"])
            .ok_or_else(|| format!("interaction payload has no snowflake `id`: {interaction}"))?;
        let token = interaction["token"]
            .as_str()
            .ok_or_else(|| format!("interaction payload has no string `token`: {interaction}"))?
            .to_string();
        let guild_id = snowflake_field(&interaction["guild_id"]);
        {
            let st = self.shared.lock();
            let name = interaction["data"]["name"].as_str().unwrap_or_default();
            if let Some(cmd) = registered_command(&st, name, guild_id) {
                interaction["data"]["id"] = cmd["id"].clone();
                if let Some(g) = cmd.get("guild_id") {
                    interaction["data"]["guild_id"] = g.clone();
                }
            }
        }
        if let Err(e) = serde_json::from_value::<serenity::Interaction>(interaction.clone()) {
            return Err(format!(
                "serenity cannot parse this interaction and would drop it silently: {e}\npayload: {interaction}"
            ));
        }
        let summary = summarize_interaction(&interaction);
        let what = format!("INTERACTION_CREATE {summary} (id {id})");
        let frame = json!({ "t": "INTERACTION_CREATE", "d": interaction });
        let mut registered = false;
        self.wait_until_mut(
            DISPATCH_WAIT,
            || {
                format!(
                    "a live gateway connection ({}) to deliver {what}",
                    shard_text(guild_id)
                )
            },
            |st| {
                if !registered {
                    st.interactions.insert(
                        id,
                        InteractionRecord {
                            token: token.clone(),
                            summary: summary.clone(),
                            ..InteractionRecord::default()
                        },
                    );
                    st.token_to_interaction.insert(token.clone(), id);
                    registered = true;
                }
                send_dispatch_locked(st, guild_id, &frame)
            },
        )
        .await
    }

    /// Sends any dispatch (`t`, `d`), e.g. `GUILD_CREATE`, to the shard owning `d.guild_id`
    /// (shard 0 without one). Refused if serenity would parse it as an unknown event.
    pub async fn dispatch_event(&self, t: &str, d: Value) -> Result<(), String> {
        let frame = json!({ "t": t, "d": d });
        check_dispatch(&frame)?;
        let guild_id = snowflake_field(&frame["d"]["guild_id"]);
        self.wait_until_mut(
            DISPATCH_WAIT,
            || {
                format!(
                    "a live gateway connection ({}) to deliver {t}",
                    shard_text(guild_id)
                )
            },
            |st| send_dispatch_locked(st, guild_id, &frame),
        )
        .await
    }

    /// Waits for the bot's answer to interaction `id`: the accepted callback and, if it was a
    /// deferral (type 5 or 6), the first PATCH @original or followup POST after it.
    /// Rejected callbacks (see [`Self::fail_next_callbacks`]) are not answers.
    pub async fn wait_reply(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Reply, String> {
        let summary = {
            let st = self.shared.lock();
            match st.interactions.get(&interaction_id) {
                Some(rec) => rec.summary.clone(),
                None => {
                    return Err(format!(
                        "interaction {interaction_id} was never dispatched by this emulator"
                    ))
                }
            }
        };
        let shared = Arc::clone(&self.shared);
        let describe = move || {
            let st = shared.lock();
            let mut text = format!("the reply to interaction {interaction_id} ({summary})");
            if let Some(rec) = st.interactions.get(&interaction_id) {
                match &rec.callback {
                    Some(cb) => text.push_str(&format!(
                        "; the callback arrived ({cb}) but no PATCH @original / followup after it"
                    )),
                    None => text.push_str("; no callback arrived"),
                }
                for (status, body) in &rec.rejected_callbacks {
                    text.push_str(&format!("; a callback was rejected with {status}: {body}"));
                }
            }
            text
        };
        self.wait_until(timeout, describe, |st| {
            let rec = st.interactions.get(&interaction_id)?;
            let callback = rec.callback.clone()?;
            let deferred = matches!(callback["type"].as_u64(), Some(5 | 6));
            if !deferred {
                return Some(Reply {
                    callback,
                    followup: None,
                });
            }
            let followup = rec.after_callback.first()?.clone();
            Some(Reply {
                callback,
                followup: Some(followup),
            })
        })
        .await
    }

    /// Every PATCH @original / followup body the bot sent for this interaction so far.
    pub fn followups(&self, interaction_id: u64) -> Vec<Value> {
        self.shared
            .lock()
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
            |st| st.requests.iter().find(|r| pred(r)).cloned(),
        )
        .await
    }

    /// Sends op 7 RECONNECT to every live connection; the bot should reconnect and RESUME.
    /// Those connections get no further dispatches. See [`Self::wait_resumes`].
    pub async fn send_reconnect(&self) {
        let frame = json!({ "op": 7, "d": null, "s": null, "t": null }).to_string();
        let mut st = self.shared.lock();
        for conn in st.conns.values_mut().filter(|c| c.live) {
            conn.live = false;
            // A send error means the connection task already ended.
            let _ = conn.tx.send(Outgoing::Text(frame.clone()));
        }
    }

    /// Closes every gateway connection with `code`. With 4000 (or most 4xxx codes) serenity
    /// resumes; with 4007/4009 it re-identifies (after ~5 s); 4004/4010-4014 are fatal.
    pub async fn close_gateway(&self, code: u16) {
        let mut st = self.shared.lock();
        for conn in st.conns.values_mut() {
            conn.live = false;
            let _ = conn.tx.send(Outgoing::Close(code));
        }
    }

    /// Sends op 9 INVALID SESSION (`d` = `resumable`) to every live connection.
    pub async fn invalidate_sessions(&self, resumable: bool) {
        let frame = json!({ "op": 9, "d": resumable, "s": null, "t": null }).to_string();
        let mut st = self.shared.lock();
        for conn in st.conns.values_mut().filter(|c| c.live) {
            conn.live = false;
            let _ = conn.tx.send(Outgoing::Text(frame.clone()));
        }
    }

    /// Number of IDENTIFYs seen so far.
    pub fn identify_count(&self) -> usize {
        self.shared.lock().identifies.len()
    }

    /// Number of successful RESUMEs (answered with RESUMED) so far.
    pub fn resume_count(&self) -> usize {
        self.shared.lock().resumes
    }

    /// Waits until at least `count` RESUMEs were answered in total.
    pub async fn wait_resumes(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.wait_until(
            timeout,
            || format!("{count} gateway RESUME(s) in total"),
            |st| (st.resumes >= count).then_some(()),
        )
        .await
    }

    /// Waits until at least `count` IDENTIFYs were answered with READY in total.
    pub async fn wait_identifies(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.wait_until(
            timeout,
            || format!("{count} gateway IDENTIFY(s) answered by READY"),
            |st| (st.ready_sent >= count).then_some(()),
        )
        .await
    }

    /// Makes the next `n` interaction callbacks answer with `status` (e.g. 500) instead of 204.
    pub fn fail_next_callbacks(&self, status: u16, n: usize) {
        self.shared.lock().fail_callbacks = (n > 0).then_some((status, n));
    }

    /// Every REST request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Every payload the bot sent over the gateway (heartbeats included), in arrival order.
    pub fn gateway_payloads(&self) -> Vec<Value> {
        self.shared.lock().gateway_received.clone()
    }

    /// Problems the emulator noticed (e.g. an invalid command registration, an unknown route is
    /// not one). Empty in a healthy run.
    pub fn problems(&self) -> Vec<String> {
        self.shared.lock().problems.clone()
    }

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, String> {
        self.wait_until_mut(timeout, what, |st| check(st)).await
    }

    async fn wait_until_mut<T>(
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
        let live = st.conns.values().filter(|c| c.live).count();
        let mut out = format!(
            "emulator state: {} gateway connection(s), {live} live; IDENTIFY {} (READY sent {}), RESUME {}; {} REST request(s)",
            st.conns.len(),
            st.identifies.len(),
            st.ready_sent,
            st.resumes,
            st.requests.len()
        );
        let skip = st.requests.len().saturating_sub(8);
        for r in &st.requests[skip..] {
            out.push_str(&format!("\n  {} {} -> {}", r.method, r.path, r.status));
        }
        for p in &st.problems {
            out.push_str(&format!("\n  problem: {p}"));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

async fn serve_gateway(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let mut stop_accept = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(gateway_connection(stream, Arc::clone(&shared), stop.clone()));
                }
                Err(e) => shared.problem(format!("gateway accept failed: {e}")),
            },
            _ = stop_accept.changed() => return,
        }
    }
}

async fn gateway_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            shared.problem(format!("websocket handshake failed: {e}"));
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut st = shared.lock();
        let id = st.next_conn;
        st.next_conn += 1;
        st.conns.insert(
            id,
            Conn {
                tx,
                session: None,
                live: false,
            },
        );
        id
    };
    shared.changed();

    let hello = json!({
        "op": 10, "s": null, "t": null,
        "d": { "heartbeat_interval": HEARTBEAT_INTERVAL_MS },
    });
    let mut closing = ws.send(WsMessage::Text(hello.to_string())).await.is_err();
    while !closing {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => handle_gateway_text(&shared, conn_id, &text),
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
                Some(Outgoing::Close(code)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
                    let _ = ws.send(WsMessage::Close(Some(frame))).await;
                    closing = true;
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    shared.lock().conns.remove(&conn_id);
    shared.changed();
    // After a close we sent: drain briefly so the peer sees an orderly close, then drop.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

fn handle_gateway_text(shared: &Shared, conn_id: u64, text: &str) {
    let payload: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            shared.problem(format!(
                "the bot sent a non-JSON gateway frame ({e}): {text}"
            ));
            return;
        }
    };
    let mut st = shared.lock();
    st.gateway_received.push(payload.clone());
    match payload["op"].as_u64() {
        Some(1) => send_to_conn(
            &st,
            conn_id,
            &json!({ "op": 11, "d": null, "s": null, "t": null }),
        ),
        Some(2) => identify(&mut st, shared, conn_id, &payload["d"]),
        Some(6) => resume(&mut st, conn_id, &payload["d"]),
        _ => {}
    }
    drop(st);
    shared.changed();
}

fn identify(st: &mut State, shared: &Shared, conn_id: u64, d: &Value) {
    st.identifies.push(d.clone());
    let shard = match d["shard"].as_array().map(Vec::as_slice) {
        Some([id, total]) => [
            id.as_u64().unwrap_or(0) as u32,
            total.as_u64().unwrap_or(1).max(1) as u32,
        ],
        _ => [0, 1],
    };
    let session_id = format!("emu-session-{}", next_snowflake());
    st.sessions
        .insert(session_id.clone(), Session { seq: 0, shard });
    if let Some(conn) = st.conns.get_mut(&conn_id) {
        conn.session = Some(session_id.clone());
        conn.live = true;
    }
    let guilds: Vec<Value> = st
        .ready_guilds
        .iter()
        .filter(|g| shard_of(Some(**g), shard[1]) == shard[0])
        .map(|g| json!({ "id": g.to_string(), "unavailable": true }))
        .collect();
    let mut user = user_json(shared.bot_user_id, "careerbot-emulated", true);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["flags"] = json!(0);
    let frame = json!({
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
    });
    match check_dispatch(&frame) {
        Ok(()) => {
            send_on_session(st, conn_id, &session_id, &frame);
            st.ready_sent += 1;
        }
        Err(e) => st
            .problems
            .push(format!("emulator bug, READY not sent: {e}")),
    }
}

fn resume(st: &mut State, conn_id: u64, d: &Value) {
    let session_id = d["session_id"].as_str().unwrap_or_default().to_string();
    if !st.sessions.contains_key(&session_id) {
        // Unknown session: not resumable, the bot must identify again.
        send_to_conn(
            st,
            conn_id,
            &json!({ "op": 9, "d": false, "s": null, "t": null }),
        );
        return;
    }
    if let Some(conn) = st.conns.get_mut(&conn_id) {
        conn.session = Some(session_id.clone());
        conn.live = true;
    }
    send_on_session(
        st,
        conn_id,
        &session_id,
        &json!({ "t": "RESUMED", "d": {} }),
    );
    st.resumes += 1;
}

fn send_to_conn(st: &State, conn_id: u64, frame: &Value) {
    if let Some(conn) = st.conns.get(&conn_id) {
        let _ = conn.tx.send(Outgoing::Text(frame.to_string()));
    }
}

/// Stamps `op`/`s` on a `{t, d}` frame using the session's sequence and queues it on `conn_id`.
fn send_on_session(st: &mut State, conn_id: u64, session_id: &str, frame: &Value) {
    let Some(session) = st.sessions.get_mut(session_id) else {
        return;
    };
    session.seq += 1;
    let mut frame = frame.clone();
    frame["op"] = json!(0);
    frame["s"] = json!(session.seq);
    send_to_conn(st, conn_id, &frame);
}

/// Sends a `{t, d}` dispatch on a live connection of the shard owning `guild_id`; `None` when
/// there is none (yet).
fn send_dispatch_locked(st: &mut State, guild_id: Option<u64>, frame: &Value) -> Option<()> {
    let (conn_id, session_id) = st
        .conns
        .iter()
        .filter(|(_, c)| c.live)
        .filter_map(|(id, c)| {
            let session = c.session.as_ref()?;
            let s = st.sessions.get(session)?;
            (shard_of(guild_id, s.shard[1]) == s.shard[0]).then(|| (*id, session.clone()))
        })
        .max_by_key(|(id, _)| *id)?;
    send_on_session(st, conn_id, &session_id, frame);
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

/// Parses a `{t, d}` frame as serenity's gateway reader would and refuses what it would drop.
fn check_dispatch(frame: &Value) -> Result<(), String> {
    let mut full = frame.clone();
    full["op"] = json!(0);
    full["s"] = json!(1);
    let t = frame["t"].as_str().unwrap_or_default();
    match serde_json::from_value::<serenity::GatewayEvent>(full) {
        Ok(serenity::GatewayEvent::Dispatch(_, serenity::Event::Unknown(_))) => {
            let precise = match t {
                "INTERACTION_CREATE" => {
                    serde_json::from_value::<serenity::Interaction>(frame["d"].clone()).err()
                }
                "READY" => serde_json::from_value::<serenity::Ready>(frame["d"].clone()).err(),
                "MESSAGE_CREATE" => {
                    serde_json::from_value::<serenity::Message>(frame["d"].clone()).err()
                }
                _ => None,
            };
            Err(match precise {
                Some(e) => format!("serenity would drop this {t} dispatch as an unknown event: {e}\npayload: {frame}"),
                None => format!("serenity would drop this {t} dispatch as an unknown event (unknown name, or a field is missing/mistyped)\npayload: {frame}"),
            })
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "serenity cannot parse this {t} dispatch: {e}\npayload: {frame}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

async fn serve_rest(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let mut stop_accept = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    let mut stop = stop.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            let shared = Arc::clone(&shared);
                            async move { Ok::<_, Infallible>(handle_rest(&shared, req).await) }
                        });
                        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            _ = stop.changed() => {}
                        }
                    });
                }
                Err(e) => shared.problem(format!("REST accept failed: {e}")),
            },
            _ = stop_accept.changed() => return,
        }
    }
}

async fn handle_rest(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            shared.problem(format!("reading the body of {method} {path} failed: {e}"));
            Bytes::new()
        }
    };
    let body = parse_body(&content_type, &bytes);

    let (status, answer) = {
        let mut st = shared.lock();
        let (status, answer) = route(&mut st, shared, &method, &path, &body);
        st.requests.push(Recorded {
            method,
            path,
            body,
            status,
        });
        (status, answer)
    };
    shared.changed();

    let mut response = match answer {
        Some(json) => {
            let mut r = Response::new(Full::new(Bytes::from(json.to_string())));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        None => Response::new(Full::new(Bytes::new())),
    };
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn parse_body(content_type: &str, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if content_type.starts_with("multipart/form-data") {
        if let Some(v) = parse_multipart(content_type, bytes) {
            return v;
        }
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Extracts `payload_json` and lists the file parts of a multipart body.
fn parse_multipart(content_type: &str, bytes: &[u8]) -> Option<Value> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let text = String::from_utf8_lossy(bytes);
    let mut payload = json!({});
    let mut files = Vec::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((headers, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let quoted = |key: &str| {
            let start = headers.find(&format!("{key}=\""))? + key.len() + 2;
            let end = headers[start..].find('"')? + start;
            Some(headers[start..end].to_string())
        };
        match (quoted("name"), quoted("filename")) {
            (Some(name), None) if name == "payload_json" => {
                payload = serde_json::from_str(content).ok()?;
            }
            (name, Some(filename)) => files.push(json!({
                "field": name,
                "filename": filename,
                "size": content.len(),
            })),
            _ => {}
        }
    }
    if !files.is_empty() {
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("_emulator_files".into(), Value::Array(files));
        }
    }
    Some(payload)
}

fn error_json(code: u64, message: &str) -> Option<Value> {
    Some(json!({ "code": code, "message": message }))
}

fn route(
    st: &mut State,
    shared: &Shared,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, Option<Value>) {
    // Accept any API version prefix: /api/v10/..., /api/v9/..., /api/...
    let rest = path.strip_prefix("/api").unwrap_or(path);
    let rest = match rest.strip_prefix("/v") {
        Some(after) => after.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let app = shared.app_id.to_string();

    match (method, segs.as_slice()) {
        ("GET", ["gateway"]) => (200, Some(json!({ "url": shared.ws_url }))),
        ("GET", ["gateway", "bot"]) => (
            200,
            Some(json!({
                "url": shared.ws_url,
                "shards": st.shard_count,
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1,
                },
            })),
        ),
        ("GET", ["users", "@me"]) => {
            let mut user = user_json(shared.bot_user_id, "careerbot-emulated", true);
            user["verified"] = json!(true);
            user["mfa_enabled"] = json!(false);
            (200, Some(user))
        }
        ("GET", ["oauth2", "applications", "@me"]) => (
            200,
            Some(json!({
                "id": app,
                "name": "careerbot-emulated",
                "icon": null,
                "description": "",
                "bot_public": true,
                "bot_require_code_grant": false,
                "owner": user_json(APP_OWNER_ID, "owner", false),
                "verify_key": "0000",
                "team": null,
                "flags": 0,
            })),
        ),
        (m, ["applications", a, "commands"]) if *a == app => {
            commands_route(st, shared, m, path, None, body)
        }
        (m, ["applications", a, "guilds", g, "commands"]) if *a == app => match g.parse::<u64>() {
            Ok(g) => commands_route(st, shared, m, path, Some(g), body),
            Err(_) => (404, error_json(10004, "Unknown Guild")),
        },
        ("POST", ["interactions", id, token, "callback"]) => {
            callback_route(st, shared, id, token, body)
        }
        ("POST", ["webhooks", a, token]) if *a == app => followup_route(st, shared, token, body),
        (m, ["webhooks", a, token, "messages", which]) if *a == app => {
            webhook_message_route(st, shared, m, token, which, body)
        }
        _ => (404, error_json(0, "Unknown")),
    }
}

fn commands_route(
    st: &mut State,
    shared: &Shared,
    method: &str,
    path: &str,
    guild: Option<u64>,
    body: &Value,
) -> (u16, Option<Value>) {
    match method {
        "GET" => {
            let list: Vec<Value> = st
                .commands
                .iter()
                .filter(|((g, _), _)| *g == guild)
                .map(|(_, c)| c.clone())
                .collect();
            (200, Some(Value::Array(list)))
        }
        "PUT" | "POST" => {
            let sent: Vec<Value> = match (method, body) {
                ("PUT", Value::Array(list)) => list.clone(),
                ("POST", Value::Object(_)) => vec![body.clone()],
                _ => {
                    st.problems.push(format!(
                        "{method} {path}: body is not a command list/object: {body}"
                    ));
                    return (400, error_json(50035, "Invalid Form Body"));
                }
            };
            if let Err(e) = validate_commands(&sent) {
                st.problems.push(format!(
                    "{method} {path}: Discord would reject this registration: {e}"
                ));
                return (400, error_json(50035, &format!("Invalid Form Body: {e}")));
            }
            if method == "PUT" {
                st.commands.retain(|(g, _), _| *g != guild);
            }
            let echoed: Vec<Value> = sent
                .iter()
                .map(|cmd| echo_command(st, shared, guild, cmd))
                .collect();
            if let Err(e) =
                serde_json::from_value::<Vec<serenity::Command>>(Value::Array(echoed.clone()))
            {
                st.problems.push(format!(
                    "emulator bug: echoed commands do not parse in serenity: {e}"
                ));
            }
            st.command_puts.push((path.to_string(), Value::Array(sent)));
            if method == "PUT" {
                (200, Some(Value::Array(echoed)))
            } else {
                let one = echoed.into_iter().next().unwrap_or(Value::Null);
                (201, Some(one))
            }
        }
        _ => (404, error_json(0, "Unknown")),
    }
}

fn echo_command(st: &mut State, shared: &Shared, guild: Option<u64>, cmd: &Value) -> Value {
    let name = cmd["name"].as_str().unwrap_or_default().to_string();
    let key = (guild, name);
    let id = st
        .commands
        .get(&key)
        .and_then(|c| snowflake_field(&c["id"]))
        .unwrap_or_else(next_snowflake);
    let mut echoed = cmd.clone();
    if let Some(obj) = echoed.as_object_mut() {
        obj.insert("id".into(), json!(id.to_string()));
        obj.insert("application_id".into(), json!(shared.app_id.to_string()));
        obj.insert("version".into(), json!(next_snowflake().to_string()));
        obj.entry("type").or_insert(json!(1));
        obj.entry("description").or_insert(json!(""));
        obj.entry("default_member_permissions")
            .or_insert(Value::Null);
        obj.entry("nsfw").or_insert(json!(false));
        if let Some(g) = guild {
            obj.insert("guild_id".into(), json!(g.to_string()));
        }
    }
    st.commands.insert(key, echoed.clone());
    echoed
}

/// The checks Discord applies to a registration that a bot can realistically get wrong.
fn validate_commands(commands: &[Value]) -> Result<(), String> {
    if commands.len() > 100 {
        return Err(format!("{} commands, at most 100 allowed", commands.len()));
    }
    let mut names = std::collections::HashSet::new();
    for cmd in commands {
        let name = cmd["name"].as_str().ok_or("a command has no name")?;
        let kind = cmd["type"].as_u64().unwrap_or(1);
        if !names.insert((kind, name.to_string())) {
            return Err(format!("command name `{name}` registered twice"));
        }
        if kind == 1 {
            check_name(name, "command")?;
            check_description(&cmd["description"], name)?;
            check_options(&cmd["options"], name, 0)?;
        }
    }
    Ok(())
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    let len = name.chars().count();
    let ok_chars = name
        .chars()
        .all(|c| (c.is_alphanumeric() || c == '-' || c == '_') && !c.is_uppercase());
    if !(1..=32).contains(&len) || !ok_chars {
        return Err(format!(
            "{what} name `{name}` must be 1-32 lowercase letters, digits, `-` or `_`"
        ));
    }
    Ok(())
}

fn check_description(description: &Value, owner: &str) -> Result<(), String> {
    let len = description.as_str().map_or(0, |d| d.chars().count());
    if !(1..=100).contains(&len) {
        return Err(format!(
            "description of `{owner}` must be 1-100 characters, is {len}"
        ));
    }
    Ok(())
}

fn check_options(options: &Value, owner: &str, depth: usize) -> Result<(), String> {
    let Some(options) = options.as_array() else {
        return Ok(());
    };
    if options.len() > 25 {
        return Err(format!(
            "`{owner}` has {} options, at most 25 allowed",
            options.len()
        ));
    }
    let mut seen_optional = false;
    for opt in options {
        let name = opt["name"]
            .as_str()
            .ok_or_else(|| format!("an option of `{owner}` has no name"))?;
        check_name(name, "option")?;
        check_description(&opt["description"], name)?;
        let kind = opt["type"].as_u64().unwrap_or(0);
        if matches!(kind, 1 | 2) {
            if depth >= 2 {
                return Err(format!("`{name}`: subcommands nested too deep"));
            }
            check_options(&opt["options"], name, depth + 1)?;
            continue;
        }
        let required = opt["required"].as_bool().unwrap_or(false);
        if required && seen_optional {
            return Err(format!(
                "required option `{name}` of `{owner}` follows an optional one"
            ));
        }
        seen_optional |= !required;
        let choices = opt["choices"].as_array().map_or(0, Vec::len);
        if choices > 25 {
            return Err(format!(
                "option `{name}` has {choices} choices, at most 25 allowed"
            ));
        }
        if choices > 0 && opt["autocomplete"].as_bool().unwrap_or(false) {
            return Err(format!("option `{name}` has both choices and autocomplete"));
        }
    }
    Ok(())
}

fn callback_route(
    st: &mut State,
    shared: &Shared,
    id: &str,
    token: &str,
    body: &Value,
) -> (u16, Option<Value>) {
    let id = id.parse::<u64>().unwrap_or(0);
    if let Some((status, left)) = st.fail_callbacks {
        st.fail_callbacks = (left > 1).then_some((status, left - 1));
        let answer = json!({ "code": 0, "message": format!("emulated failure ({status}) from fail_next_callbacks") });
        if let Some(rec) = st.interactions.get_mut(&id) {
            rec.rejected_callbacks.push((status, body.clone()));
        }
        return (status, Some(answer));
    }
    let Some(rec) = st.interactions.get_mut(&id) else {
        return (404, error_json(10062, "Unknown interaction"));
    };
    if rec.token != token {
        rec.rejected_callbacks.push((401, body.clone()));
        return (401, error_json(50027, "Invalid Webhook Token"));
    }
    if rec.callback.is_some() {
        rec.rejected_callbacks.push((400, body.clone()));
        return (
            400,
            error_json(40060, "Interaction has already been acknowledged."),
        );
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    if !matches!(kind, 1 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 12) {
        rec.rejected_callbacks.push((400, body.clone()));
        return (
            400,
            error_json(
                50035,
                "Invalid Form Body: unknown interaction callback type",
            ),
        );
    }
    rec.callback = Some(body.clone());
    rec.original = match kind {
        4 => Some(message_json(shared, &body["data"], None)),
        // "The application is thinking..." placeholder (flag 128 = LOADING).
        5 => {
            let flags = flags_of(&body["data"]) | 128;
            Some(message_json(
                shared,
                &json!({ "content": "", "flags": flags }),
                None,
            ))
        }
        // Component updates: the message the component sits on (unknown here; a blank stand-in).
        6 => Some(message_json(shared, &json!({}), None)),
        7 => Some(message_json(shared, &body["data"], None)),
        _ => None,
    };
    (204, None)
}

fn followup_route(
    st: &mut State,
    shared: &Shared,
    token: &str,
    body: &Value,
) -> (u16, Option<Value>) {
    let Some(rec) = interaction_by_token(st, token) else {
        return (404, error_json(10015, "Unknown Webhook"));
    };
    if rec.callback.is_none() {
        return (404, error_json(10015, "Unknown Webhook"));
    }
    rec.after_callback.push(body.clone());
    (200, Some(message_json(shared, body, None)))
}

fn webhook_message_route(
    st: &mut State,
    shared: &Shared,
    method: &str,
    token: &str,
    which: &str,
    body: &Value,
) -> (u16, Option<Value>) {
    let Some(rec) = interaction_by_token(st, token) else {
        return (404, error_json(10015, "Unknown Webhook"));
    };
    let original = which == "@original";
    match (method, original) {
        ("GET", true) => match &rec.original {
            Some(message) => (200, Some(message.clone())),
            None => (404, error_json(10008, "Unknown Message")),
        },
        ("PATCH", true) => {
            let Some(previous) = rec.original.clone() else {
                return (404, error_json(10008, "Unknown Message"));
            };
            rec.after_callback.push(body.clone());
            let mut merged = previous;
            if let (Some(dst), Some(src)) = (merged.as_object_mut(), body.as_object()) {
                for (k, v) in src {
                    dst.insert(k.clone(), v.clone());
                }
            }
            // The edit ends the "thinking..." state.
            merged["flags"] = json!(flags_of(&merged) & !128);
            let message = message_json(shared, &merged, snowflake_field(&merged["id"]));
            rec.original = Some(message.clone());
            (200, Some(message))
        }
        ("DELETE", _) => (204, None),
        ("PATCH", false) => {
            rec.after_callback.push(body.clone());
            (200, Some(message_json(shared, body, which.parse().ok())))
        }
        ("GET", false) => (
            200,
            Some(message_json(shared, &json!({}), which.parse().ok())),
        ),
        _ => (404, error_json(0, "Unknown")),
    }
}

fn interaction_by_token<'a>(st: &'a mut State, token: &str) -> Option<&'a mut InteractionRecord> {
    let id = *st.token_to_interaction.get(token)?;
    st.interactions.get_mut(&id)
}

/// A Message object for what the bot sent (`content`, `embeds`, `flags`, `components` echoed when
/// serenity can parse them back).
fn message_json(shared: &Shared, sent: &Value, id: Option<u64>) -> Value {
    let mut message = json!({
        "id": id.unwrap_or_else(next_snowflake).to_string(),
        "channel_id": CHANNEL_ID.to_string(),
        "author": user_json(shared.bot_user_id, "careerbot-emulated", true),
        "content": sent["content"].as_str().unwrap_or_default(),
        "timestamp": serenity::Timestamp::now().to_string(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 20,
        "flags": flags_of(sent),
        "application_id": shared.app_id.to_string(),
        "webhook_id": shared.app_id.to_string(),
        "components": [],
    });
    for key in ["embeds", "components"] {
        if let Some(v @ Value::Array(_)) = sent.get(key) {
            let mut candidate = message.clone();
            candidate[key] = v.clone();
            if serde_json::from_value::<serenity::Message>(candidate).is_ok() {
                message[key] = v.clone();
            }
        }
    }
    message
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn flags_of(data: &Value) -> u64 {
    match &data["flags"] {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn snowflake_field(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn registered_command<'a>(st: &'a State, name: &str, guild: Option<u64>) -> Option<&'a Value> {
    guild
        .and_then(|g| st.commands.get(&(Some(g), name.to_string())))
        .or_else(|| st.commands.get(&(None, name.to_string())))
}

fn summarize_interaction(payload: &Value) -> String {
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

/// reqwest honours HTTP_PROXY/ALL_PROXY for plain-http URLs, loopback included, unless NO_PROXY
/// exempts it. Make sure the bot's REST calls to 127.0.0.1 reach the emulator.
fn keep_loopback_off_env_proxies() {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if !["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|k| set(k))
    {
        return;
    }
    let current = ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default();
    let covered = current
        .split(',')
        .map(str::trim)
        .any(|e| e == "*" || e == "127.0.0.1" || e == "127.0.0.0/8");
    if covered {
        return;
    }
    let updated = if current.is_empty() {
        "127.0.0.1,localhost".to_string()
    } else {
        format!("{current},127.0.0.1,localhost")
    };
    // Edition 2021: set_var is a safe fn. It runs before the bot's reqwest client is built.
    std::env::set_var("NO_PROXY", &updated);
    std::env::set_var("no_proxy", &updated);
}
