//! Two real `careerbot serve` processes, shard 0 and shard 1 of 2, against one local Discord
//! emulator: a `/reload` on shard 0 after an edit, and shard 1 serving the new content by
//! itself within the watch interval; a broken edit logged once and never served; gateway
//! close 4000 and op 7 mid-conversation losing no interaction (the emulator replays what the
//! shards missed when they resume); a callback answered with 500 logged with `status: 500`.
//!
//! The processes log JSON. The test never sleeps to let something happen: it waits for the
//! event (a log entry, a recorded request, a reply), with a timeout that only ever fails it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::emulator::{
    interaction_id, slash_command, string_opt, Emulator, Reply, RouteKind, Who,
};
use support::serve::{guild_on_shard, knowledge_copy, spawn_careerbot, who, work_dir, Processes};

const T: Duration = Duration::from_secs(15);
const MOD_ROLE: u64 = 4_242;
/// The watch interval the processes are configured with.
const WATCH_SECS: u64 = 1;

fn moderator(user: u64, guild: u64) -> Who {
    let mut w = Who::moderator(user, MOD_ROLE);
    w.guild_id = Some(guild);
    w
}

/// A log entry's message (`fields.message` in tracing's JSON format).
fn message(entry: &Value) -> &str {
    entry["fields"]["message"].as_str().unwrap_or_default()
}

/// The index of the first entry at or after `from` whose message is `text`.
fn position(entries: &[Value], from: usize, text: &str) -> Option<usize> {
    entries
        .iter()
        .skip(from)
        .position(|e| message(e) == text)
        .map(|i| i + from)
}

/// Writes a knowledge file as editors do (write, then rename), so the watcher never reads it
/// half written and reports a broken base twice.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write knowledge file");
    std::fs::rename(&tmp, path).expect("rename knowledge file");
}

fn spawn_serve(emu: &Emulator, dir: &Path, shard: u32, work: &Path) -> (Child, PathBuf) {
    let config = format!(
        "http_proxy = \"{}\"\nmoderator_role_ids = [{MOD_ROLE}]\nwatch_interval_secs = {WATCH_SECS}\nlog_format = \"json\"\nshards = \"{shard}\"\ntotal_shards = 2\n[cooldown]\nasks = 1000\nper_seconds = 1\n",
        emu.rest_url()
    );
    spawn_careerbot(dir, work, &format!("shard-{shard}"), &config, &[])
}

async fn send(emu: &Emulator, procs: &Processes, name: &str, options: Value, who: &Who) -> Reply {
    let payload = slash_command(emu.application_id(), name, options, who);
    let id = support::emulator::interaction_id(&payload);
    emu.dispatch_interaction(payload.clone())
        .await
        .unwrap_or_else(|e| panic!("dispatch {payload}: {e}\nlogs: {:#?}", procs.logs()));
    emu.wait_reply(id, T).await.unwrap_or_else(|e| {
        panic!(
            "no reply to {payload}: {e}\n{}\nlogs: {:#?}",
            emu.diagnostics(),
            procs.logs()
        )
    })
}

fn embed_text(r: &Reply) -> String {
    let e = &r.message()["embeds"][0];
    format!(
        "{}\n{}\n{}",
        e["title"].as_str().unwrap_or(""),
        e["description"].as_str().unwrap_or(""),
        e["footer"]["text"].as_str().unwrap_or("")
    )
}

fn content_hash_in(help: &Reply) -> String {
    let footer = help.message()["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    footer
        .split("content ")
        .nth(1)
        .map(|s| s.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("no content hash in /help footer {footer:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_converge_and_survive_gateway_faults() {
    let work = work_dir("shards");
    let dir = knowledge_copy(&work);
    let emu = Emulator::start().await;
    let mut procs = Processes::new();
    for shard in 0..2 {
        procs.children.push(spawn_serve(&emu, &dir, shard, &work));
    }
    emu.wait_identifies(2, T)
        .await
        .unwrap_or_else(|e| panic!("both shards identify: {e}\nlogs: {:#?}", procs.logs()));
    let shards: Vec<Value> = emu
        .gateway_payloads()
        .into_iter()
        .filter(|p| p["op"] == 2)
        .map(|p| p["d"]["shard"].clone())
        .collect();
    assert!(
        shards.contains(&json!([0, 2])) && shards.contains(&json!([1, 2])),
        "{shards:?}"
    );
    for _ in 0..2 {
        emu.wait_commands(T)
            .await
            .expect("each process registers its commands");
    }
    let (g0, g1) = (guild_on_shard(0, 2), guild_on_shard(1, 2));

    let question = json!([string_opt("question", "terraform infrastructure as code")]);
    reload_on_one_shard_converges_on_both(&emu, &procs, &dir, &question, g0, g1).await;
    broken_edit_is_reported_once(&emu, &procs, &dir, &question, g1).await;
    gateway_faults_lose_no_interaction(&emu, &procs, g0, g1).await;
    failed_callback_is_logged_with_its_status(&emu, &procs, g0).await;

    for (child, _) in &mut procs.children {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "a process exited"
        );
    }
    let problems = emu.problems();
    assert!(problems.is_empty(), "emulator problems: {problems:#?}");
    drop(procs);
    let _ = std::fs::remove_dir_all(&work);
}

/// A moderator edits the knowledge and runs `/reload` on shard 0; shard 1, not told, notices by
/// itself within the watch interval, and both then serve the same new content.
async fn reload_on_one_shard_converges_on_both(
    emu: &Emulator,
    procs: &Processes,
    dir: &Path,
    question: &Value,
    g0: u64,
    g1: u64,
) {
    // Both serve the same content to begin with.
    let h0 = send(emu, procs, "help", Value::Null, &who(1, g0)).await;
    let h1 = send(emu, procs, "help", Value::Null, &who(2, g1)).await;
    assert_eq!(content_hash_in(&h0), content_hash_in(&h1));
    let before = content_hash_in(&h0);

    // A moderator edits the knowledge and runs /reload on shard 0.
    let r = send(emu, procs, "ask", question.clone(), &who(3, g1)).await;
    // Before the edit the section does not exist (the hybrid engine may still answer from
    // the closest existing section, such as the infrastructure phase).
    assert!(
        !embed_text(&r).contains("Terraform for ML platforms"),
        "{}",
        embed_text(&r)
    );
    write_atomically(
        &dir.join("terraform.md"),
        "+++\nid = \"terraform\"\ntitle = \"Infrastructure as code\"\n+++\n## Terraform for ML platforms\nArchitects describe clusters with Terraform so environments can be rebuilt.\n",
    );
    let edited = Instant::now();
    let r = send(emu, procs, "reload", Value::Null, &moderator(4, g0)).await;
    assert!(
        r.content().contains("now serving generation"),
        "{}",
        r.content()
    );

    // Shard 1 was not told; it must notice by itself within the watch interval: its watcher
    // logs the reload, and the next question it gets is answered from the new base.
    let reloaded = "knowledge files changed: reloaded";
    procs
        .wait_log(1, reloaded, |log| position(log, 0, reloaded))
        .await;
    let converged = edited.elapsed();
    let r = send(emu, procs, "ask", question.clone(), &who(5, g1)).await;
    assert!(
        embed_text(&r).contains("Terraform for ML platforms"),
        "shard 1 reloaded but does not serve the edit: {}",
        embed_text(&r)
    );
    assert!(
        converged < Duration::from_secs(WATCH_SECS * 3 + 2),
        "shard 1 took {converged:?} to notice the edit (watch interval {WATCH_SECS} s)"
    );
    eprintln!("shard 1 served the edit {converged:?} after it was written (watch interval {WATCH_SECS} s)");
    let h0 = send(emu, procs, "help", Value::Null, &who(6, g0)).await;
    let h1 = send(emu, procs, "help", Value::Null, &who(7, g1)).await;
    assert_eq!(
        content_hash_in(&h0),
        content_hash_in(&h1),
        "both shards serve the same content"
    );
    assert_ne!(content_hash_in(&h0), before);
}

/// A broken edit: each process reports it once and keeps serving the last good base. "Once" is
/// proved by waiting until each watcher has looked at the unchanged broken files twice more
/// after its report (its `StillBroken` debug lines), not by sleeping.
async fn broken_edit_is_reported_once(
    emu: &Emulator,
    procs: &Processes,
    dir: &Path,
    question: &Value,
    g1: u64,
) {
    let problem = "/broken.md:1: front matter has no `title`";
    write_atomically(
        &dir.join("broken.md"),
        "+++\nid = \"broken\"\n+++\n## Nothing here\n",
    );
    for i in 0..procs.children.len() {
        procs
            .wait_log(i, "the broken edit's report, then two more looks", |log| {
                // Problems are logged as `path:line: message`, the path absolute.
                let report = log.iter().position(|e| message(e).ends_with(problem))?;
                let looks = log[report..]
                    .iter()
                    .filter(|e| {
                        message(e) == "knowledge check" && e["fields"]["other"] == "StillBroken"
                    })
                    .count();
                (looks >= 2).then_some(())
            })
            .await;
        let reports = procs
            .entries(i)
            .iter()
            .filter(|e| message(e).ends_with(problem))
            .count();
        assert_eq!(
            reports,
            1,
            "a broken edit is logged once, not in a loop:\n{}",
            procs.logs()[i]
        );
    }
    let r = send(emu, procs, "ask", question.clone(), &who(8, g1)).await;
    assert!(
        embed_text(&r).contains("Terraform for ML platforms"),
        "still the last good base: {}",
        embed_text(&r)
    );
    std::fs::remove_file(dir.join("broken.md")).expect("remove broken.md");
}

/// Gateway faults mid-conversation: close 4000 on every shard, then op 7. One interaction per
/// shard is dispatched after each fault and before the shards' RESUMEs are answered (the
/// emulator holds them meanwhile); the emulator replays them on RESUME, and both are answered.
async fn gateway_faults_lose_no_interaction(emu: &Emulator, procs: &Processes, g0: u64, g1: u64) {
    let resumes = emu.resume_count();
    emu.hold_resumes(true);
    emu.close_gateway(4000).await;
    let replies = ask_each(emu, procs, "mlops", [(9, g0), (10, g1)]).await;
    assert!(replies.iter().all(|r| !embed_text(r).trim().is_empty()));
    emu.wait_resumes(resumes + 2, T)
        .await
        .expect("both shards resumed after close 4000");
    assert_each_resume_replayed_an_interaction(emu, resumes);

    let resumes = emu.resume_count();
    emu.hold_resumes(true);
    emu.send_reconnect().await;
    let replies = ask_each(emu, procs, "salary", [(11, g0), (12, g1)]).await;
    for r in &replies {
        assert!(embed_text(r).contains("LPA"), "{}", embed_text(r));
    }
    emu.wait_resumes(resumes + 2, T)
        .await
        .expect("both shards resumed after op 7");
    assert_each_resume_replayed_an_interaction(emu, resumes);
    assert_eq!(emu.identify_count(), 2, "resumed, not re-identified");
}

/// Dispatches `/ask question` from each `(user, guild)`, lets held RESUMEs through, then waits
/// for every reply.
async fn ask_each(
    emu: &Emulator,
    procs: &Processes,
    question: &str,
    askers: [(u64, u64); 2],
) -> Vec<Reply> {
    let mut ids = Vec::new();
    for (user, guild) in askers {
        let options = json!([string_opt("question", question)]);
        let payload = slash_command(emu.application_id(), "ask", options, &who(user, guild));
        ids.push(interaction_id(&payload));
        emu.dispatch_interaction(payload)
            .await
            .unwrap_or_else(|e| panic!("dispatch: {e}"));
    }
    emu.hold_resumes(false);
    let mut replies = Vec::new();
    for id in ids {
        let reply = emu
            .wait_reply(id, T)
            .await
            .unwrap_or_else(|e| panic!("no reply to {id}: {e}\nlogs: {:#?}", procs.logs()));
        replies.push(reply);
    }
    replies
}

fn assert_each_resume_replayed_an_interaction(emu: &Emulator, skip: usize) {
    for replay in emu.replays().into_iter().skip(skip) {
        let kinds: Vec<&str> = replay.replayed.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            kinds,
            ["INTERACTION_CREATE"],
            "the interaction sent while shard session {} was away is replayed on RESUME: {:?}",
            replay.session_id,
            emu.replays()
        );
    }
}

/// A callback answered with 500 (and the apology after it too): the emulator recorded both
/// failed calls, the process logged them with a structured `status` field of 500, and the
/// next interaction is served.
async fn failed_callback_is_logged_with_its_status(emu: &Emulator, procs: &Processes, g0: u64) {
    emu.fail_next_callbacks(500, 2);
    let payload = slash_command(
        emu.application_id(),
        "ask",
        json!([string_opt("question", "books")]),
        &who(13, g0),
    );
    let failed = interaction_id(&payload);
    let callback = format!("/interactions/{failed}/");
    emu.dispatch_interaction(payload).await.expect("dispatch");
    // The apology is the second callback, so once its 500 is recorded both failures are.
    let apology = emu
        .wait_request("the apology's callback, answered 500", T, |r| {
            r.path.contains(&callback)
                && r.status == 500
                && r.injected
                && r.body["data"]["flags"] == 64
        })
        .await
        .expect("the emulator answered the apology's callback with 500");
    let calls: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&callback))
        .collect();
    assert_eq!(calls.len(), 2, "the answer, then the apology: {calls:?}");
    assert!(
        calls.iter().all(|r| r.status == 500 && r.injected),
        "{calls:?}"
    );
    assert!(
        calls[0].body["data"]["embeds"].is_array(),
        "the first call was the answer: {:?}",
        calls[0]
    );
    eprintln!("apology sent: {}", apology.body);
    for text in ["command failed", "could not send the error reply"] {
        let entry = procs
            .wait_log(0, &format!("{text:?} with status 500"), |log| {
                log.iter()
                    .find(|e| message(e) == text && e["fields"]["status"] == 500)
                    .cloned()
            })
            .await;
        eprintln!("logged: {entry}");
    }
    let r = send(
        emu,
        procs,
        "ask",
        json!([string_opt("question", "books to read")]),
        &who(14, g0),
    )
    .await;
    assert!(
        embed_text(&r).to_lowercase().contains("kleppmann"),
        "{}",
        embed_text(&r)
    );
}

/// `careerbot serve` configured as in production, without `http_proxy`, so serenity's rate
/// limiter is on and its REST calls go to `https://discord.com`: the process's `HTTPS_PROXY` is
/// the emulator's HTTPS door and `SSL_CERT_FILE` the emulator's test CA. A 429 on the bot's
/// answer is waited out and retried by serenity, and the user gets the answer, not an apology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_process_with_serenitys_rate_limiter_retries_a_429() {
    let work = work_dir("ratelimited");
    let dir = knowledge_copy(&work);
    let ca = work.join("emulator-ca.pem");
    std::fs::write(&ca, support::emulator::TEST_CA_PEM).expect("write the test CA");
    let emu = Emulator::start().await;
    let env = [
        ("HTTPS_PROXY", emu.https_proxy_url()),
        ("SSL_CERT_FILE", ca.display().to_string()),
    ];
    let config =
        "semantic = false\nlog_format = \"json\"\n[cooldown]\nasks = 1000\nper_seconds = 1\n";
    let procs = Processes {
        children: vec![spawn_careerbot(&dir, &work, "ratelimited", config, &env)],
    };
    emu.wait_ready(T)
        .await
        .unwrap_or_else(|e| panic!("READY: {e}\nlogs: {:#?}", procs.logs()));
    emu.wait_commands(T)
        .await
        .unwrap_or_else(|e| panic!("commands over HTTPS: {e}\nlogs: {:#?}", procs.logs()));

    emu.rate_limit_next(RouteKind::Callback, 0.25, 1);
    let question = json!([string_opt("question", "senior salary")]);
    let payload = slash_command(emu.application_id(), "ask", question, &Who::member(1));
    let id = interaction_id(&payload);
    emu.dispatch_interaction(payload).await.expect("dispatch");
    let r = emu
        .wait_reply(id, T)
        .await
        .unwrap_or_else(|e| panic!("no reply: {e}\nlogs: {:#?}", procs.logs()));
    assert!(
        embed_text(&r).contains("40-60"),
        "the answer, not an apology: {r:?}"
    );
    let callbacks: Vec<(u16, bool)> = emu
        .requests()
        .iter()
        .filter(|q| q.path.contains(&format!("/interactions/{id}/")))
        .map(|q| (q.status, q.injected))
        .collect();
    assert_eq!(
        callbacks,
        [(429, true), (204, false)],
        "429, then serenity's retry"
    );
    let problems = emu.problems();
    assert!(problems.is_empty(), "emulator problems: {problems:#?}");
    drop(procs);
    let _ = std::fs::remove_dir_all(&work);
}
