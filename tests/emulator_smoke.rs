//! Proves the local Discord emulator works with the real serenity/poise client: a tiny poise bot
//! connects, registers its commands, answers slash commands (plain, deferred, autocomplete),
//! survives a gateway RECONNECT and a 4000 close by resuming, and survives a failed callback.
//! And that the emulator is strict where Discord is: wrong tokens are refused on the gateway
//! (4004) and on REST (401), an unknown session cannot be resumed, and a 429 looks like Discord's.

#[path = "support/emulator/mod.rs"]
mod emulator;

use std::time::Duration;

use emulator::{
    autocomplete, focused_opt, interaction_id, slash_command, string_opt, Emulator, RouteKind, Who,
};
use futures_util::{SinkExt, StreamExt};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Ctx<'a> = poise::Context<'a, (), Error>;

const WAIT: Duration = Duration::from_secs(5);

/// `/slow` waits for this after deferring, so the test decides when the answer comes: only after
/// it has seen the deferral arrive on its own.
static SLOW_GATE: Notify = Notify::const_new();

/// Repeats the text
#[poise::command(slash_command)]
async fn echo(ctx: Ctx<'_>, #[description = "Text to repeat"] text: String) -> Result<(), Error> {
    ctx.say(text).await?;
    Ok(())
}

/// Thinks first, then answers privately
#[poise::command(slash_command)]
async fn slow(ctx: Ctx<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    SLOW_GATE.notified().await;
    ctx.say("done thinking").await?;
    Ok(())
}

async fn topics(_ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let choices = ["resume", "interview", "salary"]
        .into_iter()
        .filter(|t| t.starts_with(partial))
        .map(|t| serenity::AutocompleteChoice::new(t, t))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Picks a topic
#[poise::command(slash_command)]
async fn pick(
    ctx: Ctx<'_>,
    #[description = "Topic"]
    #[autocomplete = "topics"]
    topic: String,
) -> Result<(), Error> {
    ctx.say(format!("picked {topic}")).await?;
    Ok(())
}

struct Bot {
    shard_manager: std::sync::Arc<serenity::ShardManager>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

impl Bot {
    async fn start(emu: &Emulator) -> Bot {
        // Spelled out rather than `emu.http_builder()` to show what the bot's own tests need.
        let http = serenity::HttpBuilder::new(emulator::FAKE_TOKEN)
            .proxy(emu.rest_url())
            .ratelimiter_disabled(true)
            .build();
        Bot::start_with(http).await
    }

    async fn start_with(http: serenity::Http) -> Bot {
        let framework = poise::Framework::builder()
            .options(poise::FrameworkOptions {
                commands: vec![echo(), slow(), pick()],
                initialize_owners: false,
                ..Default::default()
            })
            .setup(|ctx, _ready, framework| {
                Box::pin(async move {
                    poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                    Ok(())
                })
            })
            // FrameworkBuilder::build() overwrites FrameworkOptions::initialize_owners with this.
            .initialize_owners(false)
            .build();
        let mut client = serenity::ClientBuilder::new_with_http(
            http,
            serenity::GatewayIntents::non_privileged(),
        )
        .framework(framework)
        .await
        .expect("building the serenity client against the emulator should succeed");
        let shard_manager = client.shard_manager.clone();
        let task = tokio::spawn(async move { client.start().await });
        Bot {
            shard_manager,
            task,
        }
    }

    async fn stop(self) {
        let shutdown = tokio::time::timeout(WAIT, self.shard_manager.shutdown_all()).await;
        self.task.abort();
        assert!(
            shutdown.is_ok(),
            "shard_manager.shutdown_all() did not finish within {WAIT:?}"
        );
    }
}

async fn ask(emu: &Emulator, payload: Value) -> emulator::Reply {
    let id = interaction_id(&payload);
    let shown = payload["data"].to_string();
    emu.dispatch_interaction(payload)
        .await
        .unwrap_or_else(|e| panic!("dispatching {shown}: {e}"));
    emu.wait_reply(id, WAIT)
        .await
        .unwrap_or_else(|e| panic!("waiting for the reply to {shown}: {e}"))
}

async fn echo_roundtrip(emu: &Emulator, who: &Who, text: &str) {
    let reply = ask(
        emu,
        slash_command(
            emu.application_id(),
            "echo",
            json!([string_opt("text", text)]),
            who,
        ),
    )
    .await;
    assert_eq!(
        reply.kind(),
        4,
        "echo should answer directly: {:?}",
        reply.callback
    );
    assert_eq!(reply.content(), text);
    assert!(!reply.is_ephemeral());
}

/// A deferral (type 5, ephemeral) followed by the real message (followup POST in poise). The
/// command holds its answer until the test has seen the deferral, with nothing after it.
async fn deferred_then_answered(emu: &Emulator, who: &Who) {
    let payload = slash_command(emu.application_id(), "slow", json!([]), who);
    let slow_id = interaction_id(&payload);
    emu.dispatch_interaction(payload)
        .await
        .expect("dispatch slow");
    let deferral = emu
        .wait_request("the deferral of /slow", WAIT, |r| {
            r.path.contains(&format!("/interactions/{slow_id}/")) && r.body["type"] == 5
        })
        .await
        .expect("/slow defers first");
    assert_eq!(deferral.status, 204);
    assert!(
        emu.followups(slow_id).is_empty(),
        "nothing after the deferral yet"
    );
    SLOW_GATE.notify_one();
    let reply = emu
        .wait_reply(slow_id, WAIT)
        .await
        .expect("the answer after the deferral");
    assert_eq!(reply.kind(), 5, "slow should defer: {:?}", reply.callback);
    assert!(
        reply.is_ephemeral(),
        "defer_ephemeral sets flags 64: {:?}",
        reply.callback
    );
    assert_eq!(reply.content(), "done thinking");
}

/// A failed callback: the bot's reply gets a 500. poise's default on_error then tries to show
/// the error with a second (ephemeral) callback, which the emulator accepts.
async fn survives_a_failed_callback(emu: &Emulator, who: &Who) {
    emu.fail_next_callbacks(500, 1);
    let payload = slash_command(
        emu.application_id(),
        "echo",
        json!([string_opt("text", "x")]),
        who,
    );
    let failed_id = interaction_id(&payload);
    emu.dispatch_interaction(payload)
        .await
        .expect("dispatch echo");
    let rejected = emu
        .wait_request("the failed callback (status 500)", WAIT, |r| {
            r.status == 500
                && r.injected
                && r.path.contains(&failed_id.to_string())
                && r.path.ends_with("/callback")
        })
        .await
        .expect("the bot should have tried to answer");
    assert_eq!(rejected.body["data"]["content"], json!("x"));
    let error_reply = emu
        .wait_reply(failed_id, WAIT)
        .await
        .expect("poise's on_error reply");
    assert!(error_reply.is_ephemeral(), "{:?}", error_reply.callback);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poise_bot_runs_against_the_emulator() {
    let emu = Emulator::start().await;
    let bot = Bot::start(&emu).await;
    let who = Who::member(4242);

    // Connect: IDENTIFY carries the shard and the token; READY answered.
    let identify = emu.wait_ready(WAIT).await.expect("bot should identify");
    assert_eq!(identify["shard"], json!([0, 1]), "IDENTIFY: {identify}");
    // serenity prefixes "Bot " to the token, in IDENTIFY as in the Authorization header.
    assert_eq!(
        identify["token"],
        json!(format!("Bot {}", emulator::FAKE_TOKEN))
    );
    assert!(
        emu.requests().iter().any(|r| r.path == "/api/v10/gateway"),
        "the gateway URL should have been fetched from the emulator: {:?}",
        emu.requests()
    );

    // Registration: poise's register_globally PUTs all three commands.
    let (path, commands) = emu
        .wait_commands(WAIT)
        .await
        .expect("bot should register commands");
    assert_eq!(
        path,
        format!("/api/v10/applications/{}/commands", emu.application_id())
    );
    let mut names: Vec<&str> = commands
        .as_array()
        .expect("commands PUT body should be an array")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["echo", "pick", "slow"]);
    assert!(emu.command_id("echo", None).is_some());

    // A direct answer (callback type 4).
    echo_roundtrip(&emu, &who, "hello emulator").await;

    deferred_then_answered(&emu, &who).await;

    // Autocomplete: callback type 8 with choices.
    let reply = ask(
        &emu,
        autocomplete(
            emu.application_id(),
            "pick",
            json!([focused_opt("topic", "in")]),
            &who,
        ),
    )
    .await;
    assert_eq!(reply.kind(), 8, "autocomplete answer: {:?}", reply.callback);
    assert_eq!(reply.message()["choices"][0]["name"], json!("interview"));

    // DMs work too (user instead of member, no guild).
    echo_roundtrip(&emu, &Who::dm(4343), "in a dm").await;

    // op 7 RECONNECT: serenity resumes on a new connection and keeps answering.
    let identifies = emu.identify_count();
    emu.send_reconnect().await;
    emu.wait_resumes(1, WAIT)
        .await
        .expect("bot should resume after op 7");
    echo_roundtrip(&emu, &who, "after reconnect").await;

    // Close 4000: resume again.
    emu.close_gateway(4000).await;
    emu.wait_resumes(2, WAIT)
        .await
        .expect("bot should resume after close 4000");
    echo_roundtrip(&emu, &who, "after close").await;
    assert_eq!(
        emu.identify_count(),
        identifies,
        "resumes must not re-identify"
    );

    survives_a_failed_callback(&emu, &who).await;
    echo_roundtrip(&emu, &who, "still alive").await;

    assert!(
        emu.problems().is_empty(),
        "emulator problems: {:?}",
        emu.problems()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_refuses_payloads_serenity_would_drop() {
    let emu = Emulator::start().await;
    let mut payload = slash_command(emu.application_id(), "echo", json!([]), &Who::member(1));
    payload
        .as_object_mut()
        .expect("slash_command builds an object")
        .remove("locale");
    let err = emu
        .dispatch_interaction(payload)
        .await
        .expect_err("a payload without `locale` should be refused");
    assert!(
        err.contains("locale"),
        "error should name the missing field: {err}"
    );

    // The REST side answers serenity's own calls in shapes serenity parses.
    let http = emu.http_builder().build();
    let info = http
        .get_current_application_info()
        .await
        .expect("GET /oauth2/applications/@me should parse");
    assert_eq!(info.id.get(), emu.application_id());
    let me = http
        .get_current_user()
        .await
        .expect("GET /users/@me should parse");
    assert_eq!(me.id.get(), emu.bot_user_id());
    let gateway = http
        .get_bot_gateway()
        .await
        .expect("GET /gateway/bot should parse");
    assert_eq!(gateway.url, emu.gateway_url());

    // Without a bot, waits time out and say what they waited for.
    let err = emu
        .wait_ready(Duration::from_millis(100))
        .await
        .expect_err("nobody connected");
    assert!(err.contains("IDENTIFY"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_reidentifies_after_a_non_resumable_invalid_session() {
    let emu = Emulator::start().await;
    let bot = Bot::start(&emu).await;
    let who = Who::member(4444);
    emu.wait_ready(WAIT).await.expect("bot should identify");
    emu.wait_commands(WAIT)
        .await
        .expect("bot should register commands");
    echo_roundtrip(&emu, &who, "before").await;

    // op 9 with d=false: serenity restarts the shard, which its shard queuer does no sooner than
    // 5 s after the previous shard start, so allow more than WAIT here.
    let started = std::time::Instant::now();
    emu.invalidate_sessions(false).await;
    emu.wait_identifies(2, Duration::from_secs(10))
        .await
        .expect("bot should identify again after op 9 (false)");
    let took = started.elapsed();
    assert_eq!(emu.resume_count(), 0);
    echo_roundtrip(&emu, &who, "after re-identify").await;
    assert!(took < Duration::from_secs(8), "re-identify took {took:?}");
    eprintln!("re-identify after op 9 took {took:?}");

    assert!(
        emu.problems().is_empty(),
        "emulator problems: {:?}",
        emu.problems()
    );
    bot.stop().await;
}

/// A connection that identifies and then never heartbeats is closed as a zombie (4009) once
/// 1.5 intervals and the slack have passed, and the emulator reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_stops_heartbeating_is_closed() {
    let emu = Emulator::start_with(emulator::Settings {
        heartbeat_interval: Duration::from_millis(200),
        zombie_slack: Duration::from_millis(100),
        ..emulator::Settings::default()
    })
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(emu.gateway_url())
        .await
        .expect("the gateway accepts a websocket");
    assert_eq!(next_json(&mut ws).await["d"]["heartbeat_interval"], 200);
    let identify = json!({ "op": 2, "d": {
        "token": emulator::FAKE_TOKEN, "intents": 1, "shard": [0, 1],
        "properties": { "os": "linux", "browser": "test", "device": "test" },
    }});
    ws.send(WsMessage::Text(identify.to_string()))
        .await
        .expect("send IDENTIFY");
    assert_eq!(next_json(&mut ws).await["t"], "READY");
    // No heartbeat from here on: the next frame is the emulator closing the connection.
    assert_eq!(close_code(&mut ws).await, 4009);
    let problems = emu.problems();
    assert!(
        problems.len() == 1 && problems[0].contains("no heartbeat"),
        "{problems:#?}"
    );
}

/// Opens a raw websocket to the emulator's gateway and reads HELLO.
async fn raw_gateway(
    emu: &Emulator,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(emu.gateway_url())
        .await
        .expect("the gateway accepts a websocket");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["op"], 10, "{hello}");
    assert_eq!(
        hello["d"]["heartbeat_interval"], 1000,
        "a test-sized interval: {hello}"
    );
    ws
}

async fn next_message<S>(ws: &mut S) -> WsMessage
where
    S: StreamExt<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a gateway message within the timeout")
        .expect("the connection is open")
        .expect("a readable message")
}

async fn next_json<S>(ws: &mut S) -> Value
where
    S: StreamExt<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    match next_message(ws).await {
        WsMessage::Text(text) => serde_json::from_str(&text).expect("JSON text"),
        other => panic!("expected a JSON text frame, got {other:?}"),
    }
}

/// The close code of the next frame, which must be a close.
async fn close_code<S>(ws: &mut S) -> u16
where
    S: StreamExt<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    match next_message(ws).await {
        WsMessage::Close(Some(frame)) => frame.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_are_refused_on_the_gateway_and_on_rest() {
    let emu = Emulator::start().await;

    // IDENTIFY with another token: closed with 4004 "Authentication failed".
    let mut ws = raw_gateway(&emu).await;
    let identify = json!({ "op": 2, "d": {
        "token": "Bot d3Jvbmc.dG9rZW4.aGVyZQ", "intents": 1, "shard": [0, 1],
        "properties": { "os": "linux", "browser": "test", "device": "test" },
    }});
    ws.send(WsMessage::Text(identify.to_string()))
        .await
        .expect("send IDENTIFY");
    // The frame after HELLO is the close: no READY came first.
    assert_eq!(close_code(&mut ws).await, 4004);
    assert_eq!(emu.identify_count(), 1);
    assert_eq!(emu.closes_sent(), [(1, 4004)]);

    // RESUME with another token: 4004 too. With the right token but a session the emulator
    // never made: op 9, not resumable.
    let mut ws = raw_gateway(&emu).await;
    let resume = |token: &str| {
        json!({ "op": 6, "d": { "token": token, "session_id": "made-up", "seq": 3 } }).to_string()
    };
    ws.send(WsMessage::Text(resume("Bot d3Jvbmc.dG9rZW4.aGVyZQ")))
        .await
        .expect("send RESUME");
    assert_eq!(close_code(&mut ws).await, 4004);
    let mut ws = raw_gateway(&emu).await;
    ws.send(WsMessage::Text(resume(emulator::FAKE_TOKEN)))
        .await
        .expect("send RESUME");
    let invalid = next_json(&mut ws).await;
    assert_eq!(
        (invalid["op"].clone(), invalid["d"].clone()),
        (json!(9), json!(false))
    );

    // REST with another token: 401 with Discord's body. The right one passes.
    let wrong = serenity::HttpBuilder::new("d3Jvbmc.dG9rZW4.aGVyZQ")
        .proxy(emu.rest_url())
        .ratelimiter_disabled(true)
        .build();
    match wrong.get_current_user().await {
        Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(e))) => {
            assert_eq!(e.status_code.as_u16(), 401);
            assert_eq!(e.error.message, "401: Unauthorized");
            assert_eq!(e.error.code, 0);
        }
        other => panic!("a wrong token must get 401, got {other:?}"),
    }
    let me = emu.http_builder().build().get_current_user().await;
    assert!(me.is_ok(), "the right token passes: {me:?}");

    let problems = emu.problems();
    assert_eq!(problems.len(), 3, "each refusal is reported: {problems:#?}");
    assert!(problems[0].contains("IDENTIFY refused"), "{problems:#?}");
    assert!(problems[1].contains("RESUME refused"), "{problems:#?}");
    assert!(problems[2].contains("401"), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_answered_as_discord_does() {
    let emu = Emulator::start().await;
    emu.rate_limit_next(RouteKind::Callback, 0.25, 1);
    let url = format!("{}/api/v10/interactions/1/tok/callback", emu.rest_url());
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let post = || {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"type":4,"data":{"content":"hi"}}"#)
            .send()
    };
    let limited = post().await.expect("the emulator answers");
    assert_eq!(limited.status().as_u16(), 429);
    let header = |name: &str| {
        limited
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // What serenity's rate limiter reads (serenity 0.12 `http/ratelimiting.rs`).
    assert_eq!(
        header("retry-after").as_deref(),
        Some("1"),
        "whole seconds, rounded up"
    );
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(header("x-ratelimit-reset-after").as_deref(), Some("0.250"));
    assert!(header("x-ratelimit-limit").is_some() && header("x-ratelimit-reset").is_some());
    assert!(header("x-ratelimit-bucket").is_some());
    assert_eq!(header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(
        header("x-ratelimit-global"),
        None,
        "only a global limit says so"
    );
    let body: Value = serde_json::from_str(&limited.text().await.expect("body")).expect("JSON");
    assert_eq!(
        body,
        json!({ "message": "You are being rate limited.", "retry_after": 0.25, "global": false })
    );
    // Once only: the next call reaches the route (an unknown interaction here).
    let next = post().await.expect("the emulator answers");
    assert_eq!(next.status().as_u16(), 404);
    let recorded: Vec<(u16, bool)> = emu
        .requests()
        .iter()
        .map(|r| (r.status, r.injected))
        .collect();
    assert_eq!(recorded, [(429, true), (404, false)]);
}

/// serenity as bots run it in production, rate limiter on and no proxy, reaching the emulator
/// as `https://discord.com` through its HTTPS door: a 429 on the callback is waited out (the
/// `Retry-After` second) and retried by serenity itself, and the user gets the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenitys_rate_limiter_retries_a_429_through_the_https_door() {
    let emu = Emulator::start().await;
    let bot = Bot::start_with(emu.ratelimited_http()).await;
    emu.wait_ready(WAIT).await.expect("bot should identify");
    emu.wait_commands(WAIT)
        .await
        .expect("bot should register commands over HTTPS");
    let who = Who::member(4545);
    echo_roundtrip(&emu, &who, "over https").await;

    emu.rate_limit_next(RouteKind::Callback, 0.25, 1);
    let payload = slash_command(
        emu.application_id(),
        "echo",
        json!([string_opt("text", "after a 429")]),
        &who,
    );
    let id = interaction_id(&payload);
    let reply = ask(&emu, payload).await;
    assert_eq!(reply.content(), "after a 429", "{:?}", reply.callback);
    let callbacks: Vec<(u16, bool)> = emu
        .requests()
        .iter()
        .filter(|r| r.path.contains(&format!("/interactions/{id}/")))
        .map(|r| (r.status, r.injected))
        .collect();
    assert_eq!(
        callbacks,
        [(429, true), (204, false)],
        "429, then serenity's retry"
    );
    assert!(
        emu.problems().is_empty(),
        "emulator problems: {:?}",
        emu.problems()
    );
    bot.stop().await;
}
