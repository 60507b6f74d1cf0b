//! The harness the bot tests share: a real `careerbot::bot::Bot` (serenity + poise) on its
//! own local Discord emulator, serving a private copy of the shipped knowledge base, and the
//! small helpers the tests read replies with.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use careerbot::bot::{Bot, Config, Served};
use careerbot::search::SemanticModel;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};

use super::emulator::{
    interaction_id, slash_command, string_opt, Emulator, Recorded, Reply, Who, FAKE_TOKEN,
};

pub const T: Duration = Duration::from_secs(10);
pub const MOD_ROLE: u64 = 4_242;

pub fn bool_opt(name: &str, value: bool) -> Value {
    json!({ "name": name, "type": 5, "value": value })
}

/// A private copy of the shipped knowledge base, so tests can edit and break it.
pub fn knowledge_copy(test: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let dir = std::env::temp_dir().join(format!("careerbot-bot-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp knowledge dir");
    for entry in std::fs::read_dir(&src).expect("read shipped knowledge") {
        let path = entry.expect("dir entry").path();
        if path.is_file() {
            let name = path.file_name().expect("file name");
            std::fs::copy(&path, dir.join(name)).expect("copy knowledge file");
        }
    }
    dir
}

/// A built bot that has not connected yet.
pub struct Unstarted {
    pub emu: Emulator,
    /// The test's own SQLite feedback file (unless the test chose a database).
    pub database: PathBuf,
    pub served: Arc<Served>,
    pub bot: Bot,
    pub dir: PathBuf,
}

impl Unstarted {
    /// Connects the bot and waits for READY and its command registration.
    pub async fn start(self) -> Harness {
        let Unstarted {
            emu,
            database,
            served,
            bot,
            dir,
        } = self;
        let shards = bot.shard_manager();
        let recorder = bot.recorder();
        let metrics_addr = bot.metrics_addr();
        let task = tokio::spawn(async move {
            if let Err(e) = bot.start().await {
                eprintln!("bot stopped with error: {e}");
            }
        });
        emu.wait_ready(T)
            .await
            .unwrap_or_else(|e| panic!("READY: {e}\n{}", emu.diagnostics()));
        let commands = emu
            .wait_commands(T)
            .await
            .unwrap_or_else(|e| panic!("command registration: {e}\n{}", emu.diagnostics()));
        Harness {
            emu,
            database,
            recorder,
            served,
            shards,
            task,
            dir,
            commands,
            metrics_addr,
        }
    }
}

pub struct Harness {
    pub emu: Emulator,
    pub database: PathBuf,
    /// The bot's feedback recorder (`flush` waits for its records to be written).
    pub recorder: Option<careerbot::feedback::Recorder>,
    pub served: Arc<Served>,
    pub shards: Arc<serenity::ShardManager>,
    pub task: tokio::task::JoinHandle<()>,
    pub dir: PathBuf,
    /// The commands the bot registered (the PUT body) and where.
    pub commands: (String, Value),
    /// Where the bot serves `/metrics`, `/healthz` and `/readyz` (with `metrics_addr` set).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// The real model, loaded once for the whole test binary (fetched if missing; never skipped).
pub fn model() -> Arc<SemanticModel> {
    static MODEL: std::sync::OnceLock<Arc<SemanticModel>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(SemanticModel::load(None).expect("the model loads or is fetched")))
        .clone()
}

impl Harness {
    pub async fn start(
        test: &str,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        Harness::start_with(test, None, tweak, edit_kb).await
    }

    /// A bot serving the hybrid engine, as `careerbot serve` does by default.
    pub async fn start_hybrid(test: &str, tweak: impl FnOnce(&mut Config)) -> Harness {
        let model = tokio::task::spawn_blocking(model)
            .await
            .expect("model task");
        Harness::start_with(test, Some(model), tweak, |_| {}).await
    }

    pub async fn start_with(
        test: &str,
        model: Option<Arc<SemanticModel>>,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        Harness::start_on(Emulator::start().await, test, model, tweak, edit_kb).await
    }

    /// A bot on an emulator that may already have served another bot (a restart).
    pub async fn start_on(
        emu: Emulator,
        test: &str,
        model: Option<Arc<SemanticModel>>,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        Harness::build_on(emu, test, model, tweak, edit_kb)
            .await
            .start()
            .await
    }

    /// A bot built (its operators' port already listening) but not yet connected.
    pub async fn build_on(
        emu: Emulator,
        test: &str,
        model: Option<Arc<SemanticModel>>,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Unstarted {
        let dir = knowledge_copy(test);
        edit_kb(&dir);
        let served = Arc::new(Served::load_with(&dir, model).expect("test knowledge loads"));
        let mut config = Config::default();
        let database =
            std::env::temp_dir().join(format!("careerbot-bot-{test}-{}.db", std::process::id()));
        for stale in [database.clone(), database.with_extension("db.key")] {
            let _ = std::fs::remove_file(stale);
        }
        config.database_url = database.to_string_lossy().into_owned();
        config.http_proxy = Some(emu.rest_url());
        config.moderator_role_ids = vec![MOD_ROLE];
        config.cooldown.asks = 1_000;
        config.cooldown.per_seconds = 1;
        tweak(&mut config);
        let bot = Bot::new(config, FAKE_TOKEN, Arc::clone(&served))
            .await
            .expect("bot builds");
        Unstarted {
            emu,
            database,
            served,
            bot,
            dir,
        }
    }

    pub async fn send(&self, payload: Value) -> Reply {
        let id = interaction_id(&payload);
        self.emu
            .dispatch_interaction(payload.clone())
            .await
            .unwrap_or_else(|e| panic!("dispatch {payload}: {e}"));
        self.emu
            .wait_reply(id, T)
            .await
            .unwrap_or_else(|e| panic!("no reply to {payload}: {e}\n{}", self.emu.diagnostics()))
    }

    pub async fn slash(&self, name: &str, options: Value, who: &Who) -> Reply {
        self.send(slash_command(self.emu.application_id(), name, options, who))
            .await
    }

    pub async fn ask(&self, question: &str) -> Reply {
        self.slash(
            "ask",
            json!([string_opt("question", question)]),
            &Who::member(7),
        )
        .await
    }

    /// Stops the bot; fails the test if the emulator noticed anything Discord would refuse.
    pub async fn stop(self) {
        drop(self.stop_keeping_emulator().await);
    }

    /// Stops the bot (as a restart would) and hands back the emulator with its state.
    pub async fn stop_keeping_emulator(self) -> Emulator {
        let problems = self.emu.problems();
        assert!(problems.is_empty(), "emulator problems: {problems:#?}");
        self.shards.shutdown_all().await;
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
        for file in [
            self.database.clone(),
            self.database.with_extension("db.key"),
        ] {
            let _ = std::fs::remove_file(file);
        }
        self.emu
    }
}

pub fn embed(reply: &Reply) -> &Value {
    &reply.message()["embeds"][0]
}

pub fn title(reply: &Reply) -> String {
    embed(reply)["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn description(reply: &Reply) -> String {
    embed(reply)["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every reply must carry allowed_mentions that allow nothing.
pub fn assert_no_pings(reply: &Reply) {
    let am = &reply.message()["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "allowed_mentions: {am}");
    assert_eq!(am["users"], json!([]), "allowed_mentions: {am}");
    assert_eq!(am["roles"], json!([]), "allowed_mentions: {am}");
}

pub fn assert_within_discord_limits(reply: &Reply) {
    let msg = reply.message();
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(chars(&msg["content"]) <= 2000);
    for e in msg["embeds"].as_array().into_iter().flatten() {
        let mut total = chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
        assert!(chars(&e["title"]) <= 256);
        assert!(
            chars(&e["description"]) <= 4096,
            "description {}",
            chars(&e["description"])
        );
        for f in e["fields"].as_array().into_iter().flatten() {
            assert!(chars(&f["name"]) <= 256 && chars(&f["value"]) <= 1024);
            assert!(chars(&f["name"]) > 0 && chars(&f["value"]) > 0);
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        assert!(total <= 6000, "embed total {total}");
    }
}

/// `/ask question` from `user`, dispatched; returns its interaction id.
pub async fn dispatch_ask(h: &Harness, question: &str, user: u64) -> u64 {
    let options = json!([string_opt("question", question)]);
    let payload = slash_command(h.emu.application_id(), "ask", options, &Who::member(user));
    let id = interaction_id(&payload);
    h.emu
        .dispatch_interaction(payload)
        .await
        .unwrap_or_else(|e| panic!("dispatch: {e}"));
    id
}

/// Waits for the emulator's record of an injected failure on interaction `id`'s `route`
/// (`/callback`, or the webhook its followups go to).
pub async fn injected_failure(h: &Harness, id: u64, status: u16, followup: bool) -> Recorded {
    let token = format!("emu-interaction-token-{id}");
    let what = format!("the injected {status} on interaction {id}");
    h.emu
        .wait_request(&what, T, |r| {
            let on_route = if followup {
                r.method == "POST" && r.path.ends_with(&token)
            } else {
                r.path.contains(&format!("/interactions/{id}/")) && r.path.ends_with("/callback")
            };
            on_route && r.status == status && r.injected
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
