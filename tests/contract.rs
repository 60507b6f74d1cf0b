//! Discord's published contract (tests/contract/discord-openapi.json) enforced by the emulator:
//! a request Discord would refuse gets Discord's 400, the bot logs it and the user still gets
//! the short apology; a route the contract does not have is a 404 and a reported problem.
//! Every other test binary's traffic goes through the same check (see `.ci/run` for totals).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use careerbot::bot::commands::{on_error, BotError, Data, APOLOGY};
use careerbot::bot::registration::StaleCheck;
use careerbot::bot::state::AskLimiter;
use careerbot::bot::{Config, Served};
use poise::serenity_prelude as serenity;
use serde_json::json;
use support::emulator::{slash_command, Emulator, Who};

const T: Duration = Duration::from_secs(10);

/// A command built to break Discord's limits: an embed title of 300 characters (256 allowed).
#[poise::command(slash_command)]
async fn overlong_title(ctx: poise::Context<'_, Data, BotError>) -> Result<(), BotError> {
    let embed = serenity::CreateEmbed::new().title("x".repeat(300));
    ctx.send(poise::CreateReply::default().embed(embed)).await?;
    Ok(())
}

/// The careerbot command set's data and error handling, with the one command above.
async fn start_bot(emu: &Emulator) -> Arc<serenity::ShardManager> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let served = Arc::new(Served::load(&dir).expect("the shipped base loads"));
    let data = Data {
        served,
        config: Config::default(),
        limiter: AskLimiter::new(100, Duration::from_secs(1)),
        stale_check: StaleCheck::default(),
        metrics: Default::default(),
        expected_shards: Default::default(),
        autosharded: false,
        feedback: None,
    };
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![overlong_title()],
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(data)
            })
        })
        .initialize_owners(false)
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(
        emu.http_builder().build(),
        serenity::GatewayIntents::GUILDS,
    )
    .framework(framework)
    .await
    .expect("client builds");
    let shards = Arc::clone(&client.shard_manager);
    tokio::spawn(async move { client.start().await });
    emu.wait_ready(T).await.expect("READY");
    emu.wait_commands(T).await.expect("registration");
    shards
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_discord_would_refuse_gets_its_400_and_the_user_the_apology() {
    let logs = support::logs::capture();
    let emu = Emulator::start().await;
    emu.expect_contract_violations();
    let shards = start_bot(&emu).await;
    let payload = slash_command(
        emu.application_id(),
        "overlong_title",
        json!([]),
        &Who::member(7),
    );
    let id = support::emulator::interaction_id(&payload);
    emu.dispatch_interaction(payload).await.expect("dispatch");
    let reply = emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", emu.diagnostics()));
    assert_eq!(reply.content(), APOLOGY, "the user gets the short apology");
    assert!(reply.is_ephemeral());

    // The refused request, answered as Discord answers it.
    let refused: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.status == 400)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    let answer = &refused[0].answer;
    assert_eq!(answer["code"], 50035, "{answer}");
    assert_eq!(answer["message"], "Invalid Form Body");
    let title_errors = &answer["errors"]["data"]["embeds"]["0"]["title"]["_errors"];
    assert!(
        title_errors[0]["message"].is_string(),
        "the errors tree names the title: {answer}"
    );
    assert!(
        !refused[0].injected,
        "the emulator's contract refused it, not a test fault"
    );
    // Reported as a problem: any other test sending such a request fails.
    let problems = emu.problems();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("400 Invalid Form Body")
            && problems[0].contains("/data/embeds/0/title"),
        "{problems:#?}"
    );
    // Logged, with the status as a field.
    let info = logs.info_text();
    assert!(
        info.lines()
            .any(|l| l.contains("command failed") && l.contains("status=400")),
        "{info}"
    );
    shards.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_outside_the_contract_is_a_404_and_a_problem() {
    let emu = Emulator::start().await;
    emu.expect_contract_violations();
    let http = emu.http_builder().build();
    // The bot never lists its guilds; the pruned contract does not have the route.
    let err = http
        .get_guilds(None, None)
        .await
        .expect_err("not a route of the contract");
    assert!(
        err.to_string().contains("404") || format!("{err:?}").contains("404"),
        "{err:?}"
    );
    let problems = emu.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("/users/@me/guilds")
                && p.contains("not a route in Discord's contract")),
        "{problems:#?}"
    );
    // A route the contract has, with a body it allows, passes.
    http.get_current_user()
        .await
        .expect("GET /users/@me is in the contract");
    assert_eq!(emu.problems().len(), problems.len());
}
