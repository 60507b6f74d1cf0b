//! Two real `careerbot serve` processes, shard 0 and shard 1 of 2, against one local Discord
//! emulator: a `/reload` on shard 0 after an edit, and shard 1 serving the new content by
//! itself within the watch interval; a broken edit logged once and never served; gateway
//! close 4000 and op 7 mid-conversation losing no interaction.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::emulator::{slash_command, string_opt, Emulator, Reply, Who, FAKE_TOKEN, GUILD_ID};

const T: Duration = Duration::from_secs(15);
const MOD_ROLE: u64 = 4_242;
/// The watch interval the processes are configured with.
const WATCH_SECS: u64 = 1;

/// A guild id that Discord routes to `shard` of `total` (`(id >> 22) % total`).
fn guild_on_shard(shard: u64, total: u64) -> u64 {
    let mut g = GUILD_ID;
    while (g >> 22) % total != shard {
        g += 1 << 22;
    }
    g
}

fn who(user: u64, guild: u64) -> Who {
    let mut w = Who::member(user);
    w.guild_id = Some(guild);
    w
}

fn moderator(user: u64, guild: u64) -> Who {
    let mut w = Who::moderator(user, MOD_ROLE);
    w.guild_id = Some(guild);
    w
}

/// Child processes, killed on drop (also when a test fails), with their logs.
struct Processes {
    children: Vec<(Child, PathBuf)>,
}

impl Processes {
    fn logs(&self) -> Vec<String> {
        self.children
            .iter()
            .map(|(_, log)| std::fs::read_to_string(log).unwrap_or_default())
            .collect()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_serve(emu: &Emulator, dir: &Path, shard: u32, work: &Path) -> (Child, PathBuf) {
    let config = work.join(format!("config-{shard}.toml"));
    std::fs::write(
        &config,
        format!(
            "http_proxy = \"{}\"\nmoderator_role_ids = [{MOD_ROLE}]\nwatch_interval_secs = {WATCH_SECS}\nshards = \"{shard}\"\ntotal_shards = 2\n[cooldown]\nasks = 1000\nper_seconds = 1\n",
            emu.rest_url()
        ),
    )
    .expect("write config");
    let log = work.join(format!("shard-{shard}.log"));
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--knowledge")
        .arg(dir)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("RUST_LOG", "careerbot=info,warn")
        .env_remove("CAREERBOT_KNOWLEDGE")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log handle"))
        .stderr(log_file)
        .spawn()
        .expect("spawn careerbot serve");
    (child, log)
}

fn knowledge_copy(work: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let dir = work.join("knowledge");
    std::fs::create_dir_all(&dir).expect("knowledge dir");
    for entry in std::fs::read_dir(&src).expect("read shipped knowledge") {
        let path = entry.expect("dir entry").path();
        if let Some(name) = path.file_name().filter(|_| path.is_file()) {
            std::fs::copy(&path, dir.join(name)).expect("copy knowledge file");
        }
    }
    dir
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
    let work = std::env::temp_dir().join(format!("careerbot-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let dir = knowledge_copy(&work);
    let emu = Emulator::start().await;
    let mut procs = Processes {
        children: Vec::new(),
    };
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

    // Both serve the same content to begin with.
    let h0 = send(&emu, &procs, "help", Value::Null, &who(1, g0)).await;
    let h1 = send(&emu, &procs, "help", Value::Null, &who(2, g1)).await;
    assert_eq!(content_hash_in(&h0), content_hash_in(&h1));
    let before = content_hash_in(&h0);

    // A moderator edits the knowledge and runs /reload on shard 0.
    let question = json!([string_opt("question", "terraform infrastructure as code")]);
    let r = send(&emu, &procs, "ask", question.clone(), &who(3, g1)).await;
    // Before the edit the section does not exist (the hybrid engine may still answer from
    // the closest existing section, such as the infrastructure phase).
    assert!(
        !embed_text(&r).contains("Terraform for ML platforms"),
        "{}",
        embed_text(&r)
    );
    std::fs::write(
        dir.join("terraform.md"),
        "+++\nid = \"terraform\"\ntitle = \"Infrastructure as code\"\n+++\n## Terraform for ML platforms\nArchitects describe clusters with Terraform so environments can be rebuilt.\n",
    )
    .expect("write terraform.md");
    let edited = Instant::now();
    let r = send(&emu, &procs, "reload", Value::Null, &moderator(4, g0)).await;
    assert!(
        r.content().contains("now serving generation"),
        "{}",
        r.content()
    );

    // Shard 1 was not told; it must notice by itself within the watch interval.
    let converged = loop {
        let r = send(&emu, &procs, "ask", question.clone(), &who(5, g1)).await;
        if embed_text(&r).contains("Terraform for ML platforms") {
            break edited.elapsed();
        }
        assert!(
            edited.elapsed() < Duration::from_secs(WATCH_SECS * 3 + 2),
            "shard 1 did not converge: {}\nlogs: {:#?}",
            embed_text(&r),
            procs.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("shard 1 served the edit {converged:?} after it was written (watch interval {WATCH_SECS} s)");
    let h0 = send(&emu, &procs, "help", Value::Null, &who(6, g0)).await;
    let h1 = send(&emu, &procs, "help", Value::Null, &who(7, g1)).await;
    assert_eq!(
        content_hash_in(&h0),
        content_hash_in(&h1),
        "both shards serve the same content"
    );
    assert_ne!(content_hash_in(&h0), before);

    // A broken edit: logged once per process, never served.
    std::fs::write(
        dir.join("broken.md"),
        "+++\nid = \"broken\"\n+++\n## Nothing here\n",
    )
    .expect("write broken.md");
    tokio::time::sleep(Duration::from_secs(WATCH_SECS * 4)).await;
    let r = send(&emu, &procs, "ask", question.clone(), &who(8, g1)).await;
    assert!(
        embed_text(&r).contains("Terraform for ML platforms"),
        "still the last good base"
    );
    for log in procs.logs() {
        let reports = log
            .matches("broken.md:1: front matter has no `title`")
            .count();
        assert_eq!(
            reports, 1,
            "a broken edit is logged once, not in a loop:\n{log}"
        );
    }
    std::fs::remove_file(dir.join("broken.md")).expect("remove broken.md");

    // Gateway faults mid-conversation: close 4000 on every shard, then op 7. Interactions
    // sent right after each are delivered after the resume and answered.
    let resumes = emu.resume_count();
    emu.close_gateway(4000).await;
    for (user, guild) in [(9, g0), (10, g1)] {
        let r = send(
            &emu,
            &procs,
            "ask",
            json!([string_opt("question", "mlops")]),
            &who(user, guild),
        )
        .await;
        assert!(!embed_text(&r).trim().is_empty());
    }
    emu.wait_resumes(resumes + 2, T)
        .await
        .expect("both shards resumed after close 4000");
    let resumes = emu.resume_count();
    emu.send_reconnect().await;
    for (user, guild) in [(11, g0), (12, g1)] {
        let r = send(
            &emu,
            &procs,
            "ask",
            json!([string_opt("question", "salary")]),
            &who(user, guild),
        )
        .await;
        assert!(embed_text(&r).contains("LPA"), "{}", embed_text(&r));
    }
    emu.wait_resumes(resumes + 2, T)
        .await
        .expect("both shards resumed after op 7");
    assert_eq!(emu.identify_count(), 2, "resumed, not re-identified");

    // A callback answered with 500: logged, and the next interaction is served.
    emu.fail_next_callbacks(500, 2);
    let payload = slash_command(
        emu.application_id(),
        "ask",
        json!([string_opt("question", "books")]),
        &who(13, g0),
    );
    emu.dispatch_interaction(payload).await.expect("dispatch");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = send(
        &emu,
        &procs,
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
    for (child, _) in &mut procs.children {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "a process exited"
        );
    }
    let mut log0 = String::new();
    let _ = std::fs::File::open(&procs.children[0].1).and_then(|mut f| f.read_to_string(&mut log0));
    assert!(
        log0.contains("500"),
        "the failed callback is logged:\n{log0}"
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&work);
}
