//! The real bot (serenity + poise, `careerbot::bot::Bot`) driven end to end through the local
//! Discord emulator in `tests/support`: real gateway payloads in, recorded REST bodies out.
//! Each test owns its emulator, its runtime and a private copy of the shipped knowledge base.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use careerbot::bot::commands::APOLOGY;
use careerbot::bot::{Bot, Config, Served};
use careerbot::search::SemanticModel;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use support::emulator::{
    autocomplete, focused_opt, integer_opt, interaction_id, slash_command, string_opt, Emulator,
    Recorded, Reply, RouteKind, Who, FAKE_TOKEN,
};

const T: Duration = Duration::from_secs(10);
const MOD_ROLE: u64 = 4_242;

fn bool_opt(name: &str, value: bool) -> Value {
    json!({ "name": name, "type": 5, "value": value })
}

/// A private copy of the shipped knowledge base, so tests can edit and break it.
fn knowledge_copy(test: &str) -> PathBuf {
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

struct Harness {
    emu: Emulator,
    served: Arc<Served>,
    shards: Arc<serenity::ShardManager>,
    task: tokio::task::JoinHandle<()>,
    dir: PathBuf,
    /// The commands the bot registered (the PUT body) and where.
    commands: (String, Value),
}

/// The real model, loaded once for the whole test binary (fetched if missing; never skipped).
fn model() -> Arc<SemanticModel> {
    static MODEL: std::sync::OnceLock<Arc<SemanticModel>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(SemanticModel::load(None).expect("the model loads or is fetched")))
        .clone()
}

impl Harness {
    async fn start(
        test: &str,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        Harness::start_with(test, None, tweak, edit_kb).await
    }

    /// A bot serving the hybrid engine, as `careerbot serve` does by default.
    async fn start_hybrid(test: &str, tweak: impl FnOnce(&mut Config)) -> Harness {
        let model = tokio::task::spawn_blocking(model)
            .await
            .expect("model task");
        Harness::start_with(test, Some(model), tweak, |_| {}).await
    }

    async fn start_with(
        test: &str,
        model: Option<Arc<SemanticModel>>,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        Harness::start_on(Emulator::start().await, test, model, tweak, edit_kb).await
    }

    /// A bot on an emulator that may already have served another bot (a restart).
    async fn start_on(
        emu: Emulator,
        test: &str,
        model: Option<Arc<SemanticModel>>,
        tweak: impl FnOnce(&mut Config),
        edit_kb: impl FnOnce(&Path),
    ) -> Harness {
        let dir = knowledge_copy(test);
        edit_kb(&dir);
        let served = Arc::new(Served::load_with(&dir, model).expect("test knowledge loads"));
        let mut config = Config::default();
        config.http_proxy = Some(emu.rest_url());
        config.moderator_role_ids = vec![MOD_ROLE];
        config.cooldown.asks = 1_000;
        config.cooldown.per_seconds = 1;
        tweak(&mut config);
        let bot = Bot::new(config, FAKE_TOKEN, Arc::clone(&served))
            .await
            .expect("bot builds");
        let shards = bot.shard_manager();
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
            served,
            shards,
            task,
            dir,
            commands,
        }
    }

    async fn send(&self, payload: Value) -> Reply {
        let id = support::emulator::interaction_id(&payload);
        self.emu
            .dispatch_interaction(payload.clone())
            .await
            .unwrap_or_else(|e| panic!("dispatch {payload}: {e}"));
        self.emu
            .wait_reply(id, T)
            .await
            .unwrap_or_else(|e| panic!("no reply to {payload}: {e}\n{}", self.emu.diagnostics()))
    }

    async fn slash(&self, name: &str, options: Value, who: &Who) -> Reply {
        self.send(slash_command(self.emu.application_id(), name, options, who))
            .await
    }

    async fn ask(&self, question: &str) -> Reply {
        self.slash(
            "ask",
            json!([string_opt("question", question)]),
            &Who::member(7),
        )
        .await
    }

    /// Stops the bot; fails the test if the emulator noticed anything Discord would refuse.
    async fn stop(self) {
        drop(self.stop_keeping_emulator().await);
    }

    /// Stops the bot (as a restart would) and hands back the emulator with its state.
    async fn stop_keeping_emulator(self) -> Emulator {
        let problems = self.emu.problems();
        assert!(problems.is_empty(), "emulator problems: {problems:#?}");
        self.shards.shutdown_all().await;
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
        self.emu
    }
}

fn embed(reply: &Reply) -> &Value {
    &reply.message()["embeds"][0]
}

fn title(reply: &Reply) -> String {
    embed(reply)["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn description(reply: &Reply) -> String {
    embed(reply)["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every reply must carry allowed_mentions that allow nothing.
fn assert_no_pings(reply: &Reply) {
    let am = &reply.message()["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "allowed_mentions: {am}");
    assert_eq!(am["users"], json!([]), "allowed_mentions: {am}");
    assert_eq!(am["roles"], json!([]), "allowed_mentions: {am}");
}

fn assert_within_discord_limits(reply: &Reply) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_registers_every_command_with_options_and_permissions() {
    let h = Harness::start("register", |_| {}, |_| {}).await;
    let (path, commands) = &h.commands;
    assert!(
        path.ends_with(&format!(
            "/applications/{}/commands",
            h.emu.application_id()
        )),
        "{path}"
    );
    let by_name = |n: &str| {
        commands
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == n))
            .unwrap_or_else(|| panic!("command {n} not registered: {commands}"))
            .clone()
    };
    let mut names: Vec<&str> = commands
        .as_array()
        .expect("commands array")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["ask", "help", "reload", "salary", "skills", "timeline"]
    );

    let ask = by_name("ask");
    assert_eq!(ask["options"][0]["name"], "question");
    assert_eq!(ask["options"][0]["required"], true);
    assert_eq!(ask["options"][0]["max_length"], 300);
    assert_eq!(ask["options"][1]["name"], "private");
    assert_eq!(ask["options"][1]["type"], 5);
    for (cmd, opt) in [
        ("skills", "area"),
        ("salary", "level"),
        ("timeline", "phase"),
    ] {
        let c = by_name(cmd);
        let o = c["options"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == opt))
            .unwrap_or_else(|| panic!("{cmd} has no option {opt}: {c}"));
        assert_eq!(o["autocomplete"], true, "{cmd} {opt}");
    }
    assert_eq!(by_name("salary")["options"][1]["name"], "years");
    // MANAGE_GUILD = 1 << 5 = 32, sent as a string.
    assert_eq!(by_name("reload")["default_member_permissions"], "32");
    assert!(by_name("ask")["default_member_permissions"].is_null());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guild_ids_register_commands_in_the_guild() {
    let guild = support::emulator::GUILD_ID;
    let h = Harness::start("guild", |c| c.guild_ids = vec![guild], |_| {}).await;
    assert!(
        h.commands.0.ends_with(&format!("/guilds/{guild}/commands")),
        "{}",
        h.commands.0
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_cites_the_right_section_even_misspelled() {
    let h = Harness::start("ask", |_| {}, |_| {}).await;
    let r = h
        .ask("How long does it take to become an ML architect?")
        .await;
    assert_eq!(r.kind(), 4, "answered directly: {:?}", r.callback);
    assert!(!r.is_ephemeral());
    assert!(description(&r).contains("3-5 years"), "{}", description(&r));
    let fields = embed(&r)["fields"].to_string();
    assert!(fields.contains("See also"), "{fields}");
    assert_no_pings(&r);

    let r = h.ask("salery for senoir level").await;
    assert!(title(&r).to_lowercase().contains("senior"), "{}", title(&r));
    assert!(
        description(&r).contains("Did you mean"),
        "{}",
        description(&r)
    );
    assert!(description(&r).contains("40-60"), "{}", description(&r));

    let r = h.ask("what tools for experiment tracking").await;
    assert!(
        description(&r).to_lowercase().contains("mlflow"),
        "{}",
        description(&r)
    );

    let r = h
        .slash(
            "ask",
            json!([
                string_opt("question", "do I need a degree"),
                bool_opt("private", true)
            ]),
            &Who::member(8),
        )
        .await;
    assert!(r.is_ephemeral(), "private answers are ephemeral");
    assert!(description(&r).to_lowercase().contains("degree"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hybrid_bot_answers_in_the_users_words_and_says_so_in_help() {
    let h = Harness::start_hybrid("hybrid", |_| {}).await;
    // No word of this is in the salary section; the lexical engine refuses it.
    let r = h.ask("what's the typical paycheck for this job").await;
    assert_eq!(r.kind(), 4, "answered directly: {:?}", r.callback);
    assert!(
        title(&r).to_lowercase().contains("salar"),
        "{}: {}",
        title(&r),
        description(&r)
    );
    assert!(description(&r).contains("LPA"), "{}", description(&r));
    assert_no_pings(&r);
    let r = h.ask("how long do I boil spaghetti").await;
    assert!(
        description(&r).contains("I don't have that in my knowledge base"),
        "{}",
        description(&r)
    );
    let r = h.slash("help", Value::Null, &Who::member(9)).await;
    assert!(
        description(&r).contains("Semantic search is on"),
        "{}",
        description(&r)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_deferred_then_delivered() {
    // defer_after_ms = 0: every answer counts as slow, so the deferral path runs for sure.
    let h = Harness::start("defer", |c| c.defer_after_ms = 0, |_| {}).await;
    let r = h
        .slash(
            "ask",
            json!([
                string_opt("question", "do I need a degree"),
                bool_opt("private", true)
            ]),
            &Who::member(8),
        )
        .await;
    assert_eq!(r.kind(), 5, "deferred: {:?}", r.callback);
    assert!(r.is_ephemeral(), "a private question is deferred privately");
    let followup = r
        .followup
        .as_ref()
        .expect("the answer follows the deferral");
    let text = followup["embeds"][0]["description"].as_str().unwrap_or("");
    assert!(text.to_lowercase().contains("degree"), "{followup}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_topic_ask_is_a_friendly_refusal_with_topics() {
    let h = Harness::start("offtopic", |_| {}, |_| {}).await;
    let r = h.ask("recipe for butter chicken").await;
    assert!(
        description(&r).contains("I don't have that in my knowledge base"),
        "{}",
        description(&r)
    );
    assert!(
        description(&r).contains("Machine Learning Architect")
            || description(&r).contains("ML Architect")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_and_help_happy_paths() {
    let h = Harness::start("lookups", |_| {}, |_| {}).await;
    let who = Who::member(9);

    let r = h.slash("skills", Value::Null, &who).await;
    assert_eq!(title(&r), "Skill areas");
    assert!(description(&r).contains("MLOps"));
    let r = h
        .slash("skills", json!([string_opt("area", "mlop")]), &who)
        .await;
    assert!(title(&r).contains("MLOps"), "{}", title(&r));
    assert!(description(&r).contains("MLflow"), "{}", description(&r));
    let r = h
        .slash("skills", json!([string_opt("area", "cooking")]), &who)
        .await;
    assert!(r.is_ephemeral());
    assert!(r.content().contains("Did you mean"), "{}", r.content());

    let r = h.slash("salary", Value::Null, &who).await;
    assert!(
        description(&r).contains("₹10-18 LPA") && description(&r).contains("₹70 LPA and above")
    );
    let r = h
        .slash("salary", json!([string_opt("level", "senior")]), &who)
        .await;
    assert!(
        description(&r).contains("₹40-60 LPA"),
        "{}",
        description(&r)
    );
    let r = h
        .slash("salary", json!([integer_opt("years", 4)]), &who)
        .await;
    assert!(
        description(&r).contains("₹20-35 LPA"),
        "{}",
        description(&r)
    );

    let r = h.slash("timeline", Value::Null, &who).await;
    assert!(description(&r).contains("Phase 0"));
    assert!(
        embed(&r)["fields"].to_string().contains("Year 4+"),
        "{}",
        embed(&r)
    );
    let r = h
        .slash("timeline", json!([string_opt("phase", "3")]), &who)
        .await;
    assert!(title(&r).starts_with("Phase 3"), "{}", title(&r));

    let r = h.slash("help", Value::Null, &who).await;
    assert!(r.is_ephemeral());
    for c in [
        "/ask",
        "/skills",
        "/salary",
        "/timeline",
        "/reload",
        "/help",
    ] {
        assert!(description(&r).contains(c), "{c}");
    }
    assert!(embed(&r)["footer"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("generation 1"));
    assert!(
        description(&r).contains("Semantic search is off"),
        "a lexical-only bot says so"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skills_autocomplete_returns_ranked_choices() {
    let h = Harness::start("autocomplete", |_| {}, |_| {}).await;
    let app = h.emu.application_id();
    let r = h
        .send(autocomplete(
            app,
            "skills",
            json!([focused_opt("area", "ops")]),
            &Who::member(3),
        ))
        .await;
    assert_eq!(r.kind(), 8, "{:?}", r.callback);
    let choices = r.message()["choices"].as_array().expect("choices").clone();
    assert!(!choices.is_empty() && choices.len() <= 25);
    assert!(
        choices[0]["name"].as_str().unwrap_or("").contains("MLOps"),
        "{choices:?}"
    );
    for c in &choices {
        assert!(c["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.chars().count() <= 100));
    }
    let r = h
        .send(autocomplete(
            app,
            "skills",
            json!([focused_opt("area", "")]),
            &Who::member(3),
        ))
        .await;
    assert_eq!(
        r.message()["choices"].as_array().map_or(0, Vec::len),
        7,
        "all seven areas"
    );
    let r = h
        .send(autocomplete(
            app,
            "timeline",
            json!([focused_opt("phase", "mlops")]),
            &Who::member(3),
        ))
        .await;
    assert_eq!(r.message()["choices"][0]["value"], "2", "{:?}", r.message());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_by_a_non_moderator_is_refused() {
    let h = Harness::start("reload-refused", |_| {}, |_| {}).await;
    let mut who = Who::member(11);
    who.permissions |= support::emulator::MANAGE_GUILD; // Discord let them see it; the role check still refuses
    let r = h.slash("reload", Value::Null, &who).await;
    assert!(r.is_ephemeral());
    assert!(r.content().contains("Only moderators"), "{}", r.content());
    assert_eq!(h.served.current().number, 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_reload_lists_problems_and_keeps_serving() {
    let h = Harness::start("reload-broken", |_| {}, |_| {}).await;
    std::fs::write(
        h.dir.join("salary.toml"),
        "title = \"Pay\"\n[[band]]\nid = \"x\"\nlevel = \"X\"\nmin_lpa = 50\nmax_lpa = 5\n",
    )
    .expect("break salary.toml");
    std::fs::write(
        h.dir.join("extra.md"),
        "+++\nid = \"extra\"\n+++\n## Empty\n",
    )
    .expect("write extra.md");
    let r = h
        .slash("reload", Value::Null, &Who::moderator(12, MOD_ROLE))
        .await;
    assert_eq!(r.kind(), 5, "reload defers first");
    assert!(r.is_ephemeral());
    let text = r.content();
    assert!(
        text.contains("salary.toml:2: band \"X\": min_lpa 50 is greater than max_lpa 5"),
        "{text}"
    );
    assert!(
        text.contains("extra.md:1: front matter has no `title`"),
        "{text}"
    );
    assert!(text.contains("Still serving generation 1"), "{text}");
    assert_eq!(h.served.current().number, 1);

    let r = h.ask("senior salary").await;
    assert!(
        description(&r).contains("40-60"),
        "old generation still answers: {}",
        description(&r)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_reload_makes_a_new_passage_answerable() {
    let h = Harness::start("reload-valid", |_| {}, |_| {}).await;
    let before = h.ask("terraform infrastructure as code").await;
    assert!(
        description(&before).contains("I don't have that"),
        "{}",
        description(&before)
    );
    std::fs::write(
        h.dir.join("terraform.md"),
        "+++\nid = \"terraform\"\ntitle = \"Infrastructure as code\"\n+++\n## Terraform for ML platforms\nArchitects describe clusters and pipelines with Terraform so environments can be rebuilt.\n",
    )
    .expect("write terraform.md");
    let r = h
        .slash("reload", Value::Null, &Who::moderator(13, MOD_ROLE))
        .await;
    assert!(r.content().contains("generation 2"), "{}", r.content());
    assert_eq!(h.served.current().number, 2);
    let r = h.ask("terraform infrastructure as code").await;
    assert_eq!(title(&r), "Terraform for ML platforms");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_in_the_knowledge_base_never_ping() {
    let h = Harness::start(
        "mentions",
        |_| {},
        |dir| {
            std::fs::write(
                dir.join("pings.md"),
                "+++\nid = \"pings\"\ntitle = \"Announcements\"\n+++\n## Zebra announcements\n@everyone @here <@&123> <@456> zebra news for everyone.\n",
            )
            .expect("write pings.md");
        },
    )
    .await;
    let r = h.ask("zebra announcements").await;
    assert!(
        description(&r).contains("@everyone"),
        "the text is shown: {}",
        description(&r)
    );
    assert_no_pings(&r);
    let r = h.slash("help", Value::Null, &Who::member(1)).await;
    assert_no_pings(&r);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_passage_is_cut_to_discord_limits() {
    let h = Harness::start(
        "huge",
        |_| {},
        |dir| {
            let body = "The quokka protocol handles ünïcödé payloads carefully. ".repeat(90);
            assert!(body.chars().count() > 5_000);
            std::fs::write(
                dir.join("huge.md"),
                format!("+++\nid = \"huge\"\ntitle = \"Huge\"\n+++\n## Quokka protocol\n{body}\n"),
            )
            .expect("write huge.md");
        },
    )
    .await;
    let r = h.ask("quokka protocol").await;
    assert_eq!(title(&r), "Quokka protocol");
    assert_within_discord_limits(&r);
    assert!(description(&r).ends_with('…'), "cut with an ellipsis");
    assert!(description(&r).contains("**quokka**") || description(&r).contains("**Quokka**"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_reconnect_resumes_and_answers() {
    let h = Harness::start("reconnect", |_| {}, |_| {}).await;
    let resumes = h.emu.resume_count();
    h.emu.send_reconnect().await;
    h.emu
        .wait_resumes(resumes + 1, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("no RESUME after op 7: {e}\n{}", h.emu.diagnostics()));
    let r = h.ask("mlops").await;
    assert!(!title(&r).is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_hit_is_an_ephemeral_slow_down() {
    let h = Harness::start(
        "cooldown",
        |c| {
            c.cooldown.asks = 2;
            c.cooldown.per_seconds = 60;
        },
        |_| {},
    )
    .await;
    let who = Who::member(21);
    for _ in 0..2 {
        let r = h
            .slash("ask", json!([string_opt("question", "mlops")]), &who)
            .await;
        assert!(!r.is_ephemeral());
    }
    let r = h
        .slash("ask", json!([string_opt("question", "mlops")]), &who)
        .await;
    assert!(r.is_ephemeral());
    assert!(
        r.content().contains("Slow down") && r.content().contains(" s."),
        "{}",
        r.content()
    );
    // Another user is not limited.
    let r = h
        .slash(
            "ask",
            json!([string_opt("question", "mlops")]),
            &Who::member(22),
        )
        .await;
    assert!(!r.is_ephemeral());
    h.stop().await;
}

/// `/ask question` from `user`, dispatched; returns its interaction id.
async fn dispatch_ask(h: &Harness, question: &str, user: u64) -> u64 {
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
async fn injected_failure(h: &Harness, id: u64, status: u16, followup: bool) -> Recorded {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_callback_is_survived() {
    let h = Harness::start("callback-500", |_| {}, |_| {}).await;
    h.emu.fail_next_callbacks(500, 1);
    let id = dispatch_ask(&h, "mlops", 5).await;
    // The emulator answered the bot's answer with 500...
    let failed = injected_failure(&h, id, 500, false).await;
    assert!(
        failed.body["data"]["embeds"][0]["title"].is_string(),
        "the failed call carried the answer: {:?}",
        failed
    );
    // ...the bot apologised privately with a second callback, which was accepted...
    let apology = h
        .emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(apology.content(), APOLOGY);
    assert!(apology.is_ephemeral());
    // ...and it keeps serving.
    let r = h.ask("kubernetes").await;
    assert!(!title(&r).is_empty());
    h.stop().await;
}

/// With `http_proxy` set the bot turns serenity's rate limiter off (it would bypass the proxy),
/// and without it serenity does not retry a 429: the call fails at once. This pins down what the
/// user then gets: the apology, on the callback and on the followup route alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_answer_is_not_retried_and_the_user_gets_an_apology() {
    let h = Harness::start("rate-limited", |c| c.defer_after_ms = 0, |_| {}).await;

    // Deferred answers: the callback (type 5) passes, the followup carrying the answer is 429'd.
    h.emu.rate_limit_next(RouteKind::Followup, 0.2, 1);
    let id = dispatch_ask(&h, "mlops", 6).await;
    let limited = injected_failure(&h, id, 429, true).await;
    assert_eq!(limited.answer["retry_after"], 0.2, "{:?}", limited.answer);
    assert_eq!(limited.answer["global"], false);
    assert!(
        limited.body["embeds"][0]["title"].is_string(),
        "{:?}",
        limited
    );
    let r = h
        .emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.kind(), 5);
    assert_eq!(r.content(), APOLOGY, "{:?}", r.followup);
    let tries = h
        .emu
        .requests()
        .iter()
        .filter(|q| q.path.ends_with(&format!("-{id}")))
        .count();
    assert_eq!(tries, 2, "one 429'd answer, one apology; no retry");

    // The initial callback itself 429'd: the apology is the callback that follows.
    h.emu.rate_limit_next(RouteKind::Callback, 0.2, 1);
    let id = dispatch_ask(&h, "salary", 6).await;
    injected_failure(&h, id, 429, false).await;
    let r = h
        .emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.content(), APOLOGY);
    assert!(r.is_ephemeral());
    h.stop().await;
}

/// HELLO says 1 s, so the real bot heartbeats during the test, each time with the sequence of
/// the last dispatch it received (checked by the emulator, which acks with op 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_heartbeats_with_the_last_sequence_it_received() {
    let h = Harness::start("heartbeat", |_| {}, |_| {}).await;
    h.ask("mlops").await; // READY was seq 1, this interaction seq 2
    let beats = h
        .emu
        .wait_heartbeats("carrying seq 2, the interaction", 2, T, |b| {
            b.seq == Some(2) && b.last_sent == Some(2)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(beats.iter().all(|b| b.ok), "{beats:?}");
    let all = h.emu.heartbeats();
    assert!(
        all.iter().all(|b| b.ok),
        "every heartbeat was right: {all:?}"
    );
    h.stop().await;
}

/// The connection drops (close 4000) and an interaction arrives before the bot is back: the
/// bot RESUMEs with the sequence it had, the emulator replays the missed INTERACTION_CREATE, and
/// the bot answers it. The RESUME is held until the interaction is queued, so it is in the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_missed_while_disconnected_is_replayed_and_answered() {
    let h = Harness::start("replay", |_| {}, |_| {}).await;
    h.ask("mlops").await;
    h.emu.hold_resumes(true);
    h.emu.close_gateway(4000).await;
    let id = dispatch_ask(&h, "senior salary", 8).await;
    h.emu
        .wait_held_resumes(1, T)
        .await
        .unwrap_or_else(|e| panic!("the bot should RESUME after close 4000: {e}"));
    h.emu.hold_resumes(false);
    let replay = h
        .emu
        .wait_resumes(1, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        replay.resumed_from, 2,
        "READY and the first interaction: {replay:?}"
    );
    assert_eq!(
        replay.replayed,
        [(3, "INTERACTION_CREATE".to_string())],
        "{replay:?}"
    );
    let r = h
        .emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(description(&r).contains("40-60"), "{}", description(&r));
    assert_eq!(h.emu.identify_count(), 1, "resumed, not re-identified");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_question_gets_a_polite_private_answer() {
    let h = Harness::start("long", |_| {}, |_| {}).await;
    let r = h.ask(&"why ".repeat(200)).await;
    assert!(r.is_ephemeral());
    assert!(
        r.content().contains("under 300 characters"),
        "{}",
        r.content()
    );
    h.stop().await;
}

/// Switching between per-guild and global registration (or back) leaves no command
/// registered twice: at start the bot removes its commands from where they no longer belong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_registration_mode_leaves_no_command_twice() {
    let guild = support::emulator::GUILD_ID;
    let first = Harness::start("reg-guild", |c| c.guild_ids = vec![guild], |_| {}).await;
    first.emu.set_ready_guilds(vec![guild]);
    let registered =
        |emu: &Emulator, at: Option<u64>| emu.registered_names(at).contains(&"ask".to_string());
    assert!(registered(&first.emu, Some(guild)));
    assert!(!registered(&first.emu, None));
    let emu = first.stop_keeping_emulator().await;

    // Restarted with global registration: the guild's copies are removed.
    let global = Harness::start_on(emu, "reg-global", None, |c| c.guild_ids = vec![], |_| {}).await;
    let guild_path = format!("/guilds/{guild}/commands");
    global
        .emu
        .wait_request("the guild's commands cleared", T, |r| {
            r.method == "PUT" && r.path.ends_with(&guild_path) && r.body == json!([])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", global.emu.diagnostics()));
    assert!(registered(&global.emu, None));
    assert!(!registered(&global.emu, Some(guild)));
    let emu = global.stop_keeping_emulator().await;

    // And back to per-guild: the global copies are removed.
    let back =
        Harness::start_on(emu, "reg-back", None, |c| c.guild_ids = vec![guild], |_| {}).await;
    back.emu
        .wait_request("the global commands cleared", T, |r| {
            r.method == "PUT"
                && r.path.ends_with("/commands")
                && !r.path.contains("/guilds/")
                && r.body == json!([])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", back.emu.diagnostics()));
    assert!(!registered(&back.emu, None));
    assert!(registered(&back.emu, Some(guild)));
    back.stop().await;
}

/// What people ask is theirs: at the default level the log says that a question was
/// answered, never what it was. (The debug sink proves the question passed through.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_are_never_logged_at_info_level() {
    let capture = support::logs::capture();
    let h = Harness::start("privacy", |_| {}, |_| {}).await;
    let question = "how long until I am an architect, asks zebracorn";
    h.ask(question).await;
    h.stop().await;
    let (info, debug) = (capture.info_text(), capture.debug_text());
    assert!(
        debug.contains("zebracorn"),
        "the question reached the debug log: {debug}"
    );
    assert!(
        info.contains("answered="),
        "the ask is logged at info: {info}"
    );
    assert!(!info.contains("zebracorn"), "the question is not: {info}");
}
