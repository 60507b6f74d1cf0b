//! `cargo bench --bench process`: whole-process figures for the real binary.
//!
//! - start -> first answer: wall time of `careerbot ask QUESTION` (load, validate, index,
//!   answer, print), repeated;
//! - `careerbot serve` against the local Discord emulator (the bot in its own process, the
//!   emulator in this one, both on this 2-core machine): resident memory idle and after
//!   10,000 asks, at the shipped base and at 10,000 synthetic passages; interaction ->
//!   callback latency at a steady 200 interactions/s; and the sustained maximum rate with a
//!   fixed number of interactions in flight.
//!
//! `--quick` (CI) runs each part briefly. Numbers are recorded in docs/PERFORMANCE.md.

#[path = "../tests/support/emulator/mod.rs"]
mod emulator;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::knowledge::KnowledgeBase;
use emulator::{slash_command, string_opt, Emulator, Who, FAKE_TOKEN};
use serde_json::json;
use tokio::sync::Semaphore;

const QUESTIONS: &[&str] = &[
    "how long does it take to become an ML architect",
    "salery senoir",
    "what databases should I know",
    "recipe for butter chicken",
    "mlops tools for model serving",
];

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// VmRSS and VmHWM of a process, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn start_to_answer(knowledge: &Path, runs: usize) {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
            .arg("--knowledge")
            .arg(knowledge)
            .args(["ask", "how long does it take to become an ML architect"])
            .output()
            .expect("run careerbot ask");
        assert!(out.status.success());
        samples.push(t.elapsed());
    }
    println!(
        "start -> first answer (`careerbot ask`, {}): p50={:.1}ms p99={:.1}ms n={runs}",
        knowledge
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?"),
        ms(pct(&mut samples, 0.5)),
        ms(pct(&mut samples, 0.99))
    );
}

struct Serve {
    child: Child,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_serve(emu: &Emulator, knowledge: &Path, work: &Path) -> Serve {
    let config = work.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "http_proxy = \"{}\"\ndatabase_url = {:?}\nwatch_interval_secs = 0\nlog_format = \"json\"\n[cooldown]\nasks = 1000000\nper_seconds = 1\n",
            emu.rest_url(),
            work.join("feedback.db").to_string_lossy()
        ),
    )
    .expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--knowledge")
        .arg(knowledge)
        .args(["serve", "--config"])
        .arg(&config)
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn careerbot serve");
    let serve = Serve { child };
    emu.wait_ready(Duration::from_secs(20))
        .await
        .expect("READY");
    emu.wait_commands(Duration::from_secs(20))
        .await
        .expect("commands");
    serve
}

/// One interaction, dispatched and answered; returns its latency.
async fn one(emu: &Emulator, i: usize) -> Duration {
    let payload = slash_command(
        emu.application_id(),
        "ask",
        // A number makes every question new, so the model runs for each (no cache hits).
        json!([string_opt(
            "question",
            &format!("{} {}", QUESTIONS[i % QUESTIONS.len()], i / QUESTIONS.len())
        )]),
        &Who::member(1_000_000 + i as u64),
    );
    let id = emulator::interaction_id(&payload);
    let t = Instant::now();
    emu.dispatch_interaction(payload).await.expect("dispatch");
    emu.wait_reply(id, Duration::from_secs(30))
        .await
        .expect("reply");
    t.elapsed()
}

/// `n` interactions with at most `in_flight` outstanding; returns latencies and wall time.
async fn closed_loop(
    emu: &Emulator,
    n: usize,
    in_flight: usize,
    offset: usize,
) -> (Vec<Duration>, Duration) {
    let gate = Arc::new(Semaphore::new(in_flight));
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await.expect("semaphore");
        let emu = emu.clone();
        tasks.push(tokio::spawn(async move {
            let d = one(&emu, offset + i).await;
            drop(permit);
            d
        }));
    }
    let mut samples = Vec::with_capacity(n);
    for task in tasks {
        samples.push(task.await.expect("interaction task"));
    }
    (samples, t.elapsed())
}

/// Interactions started at a fixed rate, whatever the replies do (open loop).
async fn steady(emu: &Emulator, per_second: u64, seconds: u64, offset: usize) -> Vec<Duration> {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let n = (per_second * seconds) as usize;
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tick.tick().await;
        let emu = emu.clone();
        tasks.push(tokio::spawn(async move { one(&emu, offset + i).await }));
    }
    let mut samples = Vec::with_capacity(n);
    for task in tasks {
        samples.push(task.await.expect("interaction task"));
    }
    samples
}

async fn serve_figures(label: &str, knowledge: &Path, work: &Path, quick: bool) {
    let emu = Emulator::start().await;
    let serve = spawn_serve(&emu, knowledge, work).await;
    let pid = serve.child.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = rss_mib(pid);
    let asks = if quick { 200 } else { 10_000 };
    let (mut samples, wall) = closed_loop(&emu, asks, 32, 0).await;
    let (after, peak) = rss_mib(pid);
    println!(
        "serve [{label}]: RSS idle {idle:.1} MiB, after {asks} asks {after:.1} MiB (peak {peak:.1} MiB); \
         those asks with 32 in flight: {:.0}/s, p50={:.2}ms p99={:.2}ms",
        asks as f64 / wall.as_secs_f64(),
        ms(pct(&mut samples, 0.5)),
        ms(pct(&mut samples, 0.99))
    );
    if label == "shipped" {
        let secs = if quick { 1 } else { 10 };
        let mut s = steady(&emu, 200, secs, asks).await;
        println!(
            "serve [{label}]: steady 200/s for {secs}s: p50={:.2}ms p99={:.2}ms max={:.2}ms",
            ms(pct(&mut s, 0.5)),
            ms(pct(&mut s, 0.99)),
            ms(*s.last().unwrap_or(&Duration::ZERO))
        );
        for in_flight in [8, 64] {
            let n = if quick { 100 } else { 5_000 };
            let (mut s, wall) = closed_loop(&emu, n, in_flight, asks + 10_000 * in_flight).await;
            println!(
                "serve [{label}]: sustained with {in_flight} in flight: {:.0} interactions/s, p50={:.2}ms p99={:.2}ms",
                n as f64 / wall.as_secs_f64(),
                ms(pct(&mut s, 0.5)),
                ms(pct(&mut s, 0.99))
            );
        }
    }
    drop(serve);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let work = std::env::temp_dir().join(format!("careerbot-process-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    let size = if quick { 200 } else { 10_000 };
    let big = work.join(format!("synth-{size}"));
    let seed = KnowledgeBase::load_dir(&shipped).expect("shipped base");
    careerbot::synth::write_knowledge_dir(&seed, &shipped, &big, size, 1).expect("synthetic base");

    start_to_answer(&shipped, if quick { 3 } else { 30 });
    start_to_answer(&big, if quick { 2 } else { 10 });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        serve_figures("shipped", &shipped, &work, quick).await;
        serve_figures(&format!("{size} synthetic passages"), &big, &work, quick).await;
    });
    let _ = std::fs::remove_dir_all(&work);
}
