//! The real bot (serenity + poise, `careerbot::bot::Bot`) driven end to end through the local
//! Discord emulator in `tests/support`: real gateway payloads in, recorded REST bodies out.
//! Each test owns its emulator, its runtime and a private copy of the shipped knowledge base.
//! This file: commands, answers, lookups, reloads and Discord's limits; failures, the gateway
//! and registration are in `bot_resilience.rs`.

mod support;

use serde_json::{json, Value};
use support::emulator::{autocomplete, focused_opt, integer_opt, string_opt, Who};
use support::harness::*;

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
        ["ask", "help", "reload", "report", "salary", "skills", "timeline"]
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
    assert_eq!(by_name("report")["default_member_permissions"], "32");
    assert_eq!(
        by_name("report")["contexts"],
        serde_json::json!([0]),
        "guild only"
    );
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
