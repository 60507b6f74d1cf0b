//! The real bot through the local Discord emulator when things go wrong or change under it:
//! a dropped gateway (RESUME and replay), heartbeats, HTTP 500 and 429 from Discord, a switch
//! of registration mode, and what the log may say of people's questions.

mod support;

use std::time::Duration;

use careerbot::bot::commands::APOLOGY;
use serde_json::json;
use support::emulator::{Emulator, RouteKind};
use support::harness::*;

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
