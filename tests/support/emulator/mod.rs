//! A local Discord emulator for tests: a REST endpoint and a gateway (websocket) endpoint on
//! 127.0.0.1, strict enough to hold the real serenity/poise client to Discord's protocol.
//!
//! # Layout
//!
//! - `mod.rs` (this file): the [`Emulator`] handle, its [`Settings`], constants, and the payload
//!   builders tests use to make interactions.
//! - `gateway.rs`: the websocket (HELLO, IDENTIFY, RESUME with replay, heartbeats, dispatches).
//! - `rest.rs`: HTTP routing and the route handlers.
//! - `multipart.rs`: file uploads (`payload_json` + `files[n]`) and Discord's rules for them.
//! - `faults.rs`: failures a test injects into REST answers (500s, 429s with Discord's headers).
//! - `contract.rs`: what the bot sends is checked against what Discord accepts.
//! - `recorder.rs`: the record of everything seen, change notifications, waits, diagnostics.
//! - `tls.rs`: the HTTPS door, for a bot whose serenity rate limiter is on (see there).
//!
//! # Wiring a bot to it
//!
//! ```ignore
//! let emu = Emulator::start().await;
//! // serenity rewrites `https://discord.com` to the proxy URL. The rate limiter must be
//! // disabled: serenity's rate limiter builds its requests without the proxy (see `faults.rs`).
//! let http = serenity::HttpBuilder::new(FAKE_TOKEN)
//!     .proxy(emu.rest_url())
//!     .ratelimiter_disabled(true)
//!     .build(); // or: emu.http_builder().build()
//! let client = serenity::ClientBuilder::new_with_http(http, intents).framework(f).await?;
//! ```
//!
//! A bot in its production configuration (rate limiter on, no proxy) reaches the emulator as
//! `https://discord.com` through the HTTPS door instead: [`Emulator::ratelimited_http`] in
//! process, or `HTTPS_PROXY` = [`Emulator::https_proxy_url`] and `SSL_CERT_FILE` = a file holding
//! [`TEST_CA_PEM`] for a child process.
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
//! to send one that serenity would drop, returning the serde error instead. What the bot does
//! wrong (a bad token, a heartbeat with a stale sequence, an invalid command registration) is
//! answered as Discord would and listed in [`Emulator::problems`]. Every wait takes a timeout; a
//! timed-out wait says what it waited for and what the emulator saw meanwhile.

#![allow(dead_code)]

mod contract;
mod faults;
mod gateway;
mod interactions;
mod multipart;
pub mod openapi;
mod recorder;
mod rest;
mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

// Each test binary uses a different part of the API.
#[allow(unused_imports)]
pub use faults::{Failure, RouteKind};
pub use interactions::*;
#[allow(unused_imports)]
pub use multipart::Upload;
#[allow(unused_imports)]
pub use recorder::{Heartbeat, Recorded, Replay, Reply};
#[allow(unused_imports)]
pub use tls::TEST_CA_PEM;

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

/// How long [`Emulator::dispatch_interaction`] waits for a shard session to exist (e.g. while
/// the bot identifies again after an invalid session).
pub const DISPATCH_WAIT: Duration = Duration::from_secs(10);

/// The default HELLO heartbeat interval. Discord sends about 41 s, which means a test never sees
/// a heartbeat; a second makes serenity heartbeat (and be checked) in every test.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A fresh, unique snowflake (increasing; its timestamp part is about "now").
pub fn next_snowflake() -> u64 {
    // As Discord's: the creation time in the top bits (the bot times its first response from
    // an interaction's id), strictly increasing so ids stay unique within a millisecond.
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64);
    let from_clock = now_ms.saturating_sub(DISCORD_EPOCH_MS).max(1) << 22;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = from_clock.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// How an emulator behaves where Discord's behaviour has a knob.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The bot token it accepts: IDENTIFY/RESUME `token` (with or without the `Bot ` prefix) and
    /// the REST `Authorization: Bot <token>` header.
    pub token: String,
    /// HELLO's `heartbeat_interval`.
    pub heartbeat_interval: Duration,
    /// Added to 1.5 heartbeat intervals before a connection that stopped heartbeating is closed
    /// as a zombie (4009, and a problem). Generous by default, so a bot slowed down by a loaded
    /// machine is not cut off, while one that stopped heartbeating still fails its test.
    pub zombie_slack: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            token: FAKE_TOKEN.to_string(),
            heartbeat_interval: HEARTBEAT_INTERVAL,
            zombie_slack: Duration::from_secs(5),
        }
    }
}

/// Everything the emulator knows, behind one lock: each room keeps its own part.
struct State {
    rec: recorder::Record,
    gw: gateway::GatewayState,
    rest: rest::RestState,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped on every change of `state`; waits subscribe to it.
    changes: watch::Sender<u64>,
    settings: Settings,
    app_id: u64,
    bot_user_id: u64,
    ws_url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts connections on `listener` until the emulator stops, serving each on its own task
/// with `serve`; `what` names the listener in a failed accept's problem.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    what: &'static str,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, Arc<Shared>, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut stop_accept = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, Arc::clone(&shared), stop.clone()));
                }
                Err(e) => shared.problem(format!("{what} accept failed: {e}")),
            },
            _ = stop_accept.changed() => return,
        }
    }
}

/// Stops the listeners and reports the contract counts when the last handle goes.
struct StopOnDrop(watch::Sender<bool>, Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
        let counts = self.1.lock().rec.contract.clone();
        counts.append_to_record();
    }
}

/// A running emulator. Cheap to clone; the listeners stop when the last clone is dropped (and,
/// at the latest, with the test's runtime).
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    https_proxy_addr: SocketAddr,
    _stop: Arc<StopOnDrop>,
}

impl Emulator {
    /// [`Self::start_with`] the default [`Settings`].
    pub async fn start() -> Emulator {
        Emulator::start_with(Settings::default()).await
    }

    /// Binds REST and gateway listeners on 127.0.0.1:0 and serves them on the current runtime.
    pub async fn start_with(settings: Settings) -> Emulator {
        keep_loopback_off_env_proxies();
        let bind = |what: &'static str| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| {
                panic!("emulator: binding the {what} listener on 127.0.0.1:0 failed: {e}")
            });
            let addr = listener.local_addr().unwrap_or_else(|e| {
                panic!("emulator: the bound {what} listener has no local address: {e}")
            });
            (listener, addr)
        };
        let (rest, rest_addr) = bind("REST").await;
        let (gateway, gateway_addr) = bind("gateway").await;
        let (https_proxy, https_proxy_addr) = bind("HTTPS door").await;
        let (changes, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                rec: recorder::Record::default(),
                gw: gateway::GatewayState::default(),
                rest: rest::RestState::default(),
            }),
            changes,
            settings,
            app_id: next_snowflake(),
            bot_user_id: next_snowflake(),
            ws_url: format!("ws://{gateway_addr}"),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(rest::serve(rest, Arc::clone(&shared), stop_rx.clone()));
        tokio::spawn(tls::serve(
            https_proxy,
            Arc::clone(&shared),
            stop_rx.clone(),
        ));
        tokio::spawn(gateway::serve(gateway, Arc::clone(&shared), stop_rx));
        let stop = Arc::new(StopOnDrop(stop_tx, Arc::clone(&shared)));
        Emulator {
            shared,
            rest_addr,
            https_proxy_addr,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT`, what `HttpBuilder::proxy` takes.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// `http://127.0.0.1:PORT`: an HTTPS proxy (CONNECT) through which `https://discord.com`
    /// reaches this emulator, for clients that trust [`TEST_CA_PEM`]. See `tls.rs`.
    pub fn https_proxy_url(&self) -> String {
        format!("http://{}", self.https_proxy_addr)
    }

    /// serenity's `Http` as a bot builds it without a proxy, rate limiter on, reaching this
    /// emulator through [`Self::https_proxy_url`] with the test CA as its only trusted root.
    pub fn ratelimited_http(&self) -> serenity::Http {
        let proxy = reqwest::Proxy::https(self.https_proxy_url())
            .unwrap_or_else(|e| panic!("emulator: the HTTPS door URL does not parse: {e}"));
        let ca = reqwest::Certificate::from_pem(TEST_CA_PEM.as_bytes())
            .unwrap_or_else(|e| panic!("emulator: the test CA does not parse: {e}"));
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .proxy(proxy)
            .build()
            .unwrap_or_else(|e| panic!("emulator: building the HTTPS client failed: {e}"));
        serenity::HttpBuilder::new(&self.shared.settings.token)
            .client(client)
            .build()
    }

    /// `ws://127.0.0.1:PORT`, what `GET /gateway` and READY's `resume_gateway_url` report.
    pub fn gateway_url(&self) -> String {
        self.shared.ws_url.clone()
    }

    /// `HttpBuilder::new(token).proxy(self.rest_url()).ratelimiter_disabled(true)` with the
    /// token the emulator accepts.
    pub fn http_builder(&self) -> serenity::HttpBuilder {
        serenity::HttpBuilder::new(&self.shared.settings.token)
            .proxy(self.rest_url())
            .ratelimiter_disabled(true)
    }

    /// The settings this emulator runs with.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
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
        self.shared.lock().gw.ready_guilds = guild_ids;
    }

    /// A click on button `custom_id` of the message the bot answered interaction
    /// `interaction_id` with, as Discord shows it now (a deferred answer's final edit
    /// included). Refused when there is no such message or no such button on it.
    pub fn click_on(
        &self,
        interaction_id: u64,
        custom_id: &str,
        who: &Who,
    ) -> Result<Value, String> {
        let message = self
            .shared
            .lock()
            .rest
            .interactions
            .get(&interaction_id)
            .and_then(|rec| rec.original.clone())
            .ok_or_else(|| format!("interaction {interaction_id} has no message to click on"))?;
        button_click(self.application_id(), &message, custom_id, who)
    }

    /// The `shards` value of `GET /gateway/bot` (used by `start_autosharded`). Default 1.
    pub fn set_shard_count(&self, shards: u32) {
        self.shared.lock().gw.shard_count = shards.max(1);
    }
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
        "flags": 0,
        "primary_guild": null,
    })
}

/// The bot's own user, as READY and `GET /users/@me` show it.
fn bot_user_json(shared: &Shared) -> Value {
    let mut user = user_json(shared.bot_user_id, "careerbot-emulated", true);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["locale"] = json!("en-US");
    user
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
