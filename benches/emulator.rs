//! `cargo bench --bench emulator`: interaction -> callback latency of the real bot (serenity
//! + poise + engine) through the local Discord emulator from `tests/support`.
//!
//! Sequential `/ask` interactions over loopback: the clock starts before the emulator sends
//! INTERACTION_CREATE on the gateway socket and stops when it has recorded the bot's
//! `POST .../callback`. So each sample is gateway frame -> serenity parse -> poise dispatch ->
//! engine -> render -> HTTP request -> emulator record, i.e. everything but Discord's network.
//! `--quick` (CI) sends a handful to keep this working. Numbers go in docs/PERFORMANCE.md.

#[path = "../tests/support/emulator/mod.rs"]
mod emulator;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::bot::{Bot, Config, Served};
use emulator::{slash_command, string_opt, Emulator, Who, FAKE_TOKEN};
use serde_json::json;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let n = if quick { 20 } else { 2_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n));
}

async fn run(n: usize) {
    let emu = Emulator::start().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let served = Arc::new(Served::load(&dir).expect("shipped knowledge loads"));
    let mut config = Config::default();
    let db = std::env::temp_dir().join(format!(
        "careerbot-bench-emulator-{}.db",
        std::process::id()
    ));
    config.database_url = db.to_string_lossy().into_owned();
    config.http_proxy = Some(emu.rest_url());
    config.cooldown.asks = 1_000_000;
    config.cooldown.per_seconds = 1;
    let bot = Bot::new(config, FAKE_TOKEN, served)
        .await
        .expect("bot builds");
    let shards = bot.shard_manager();
    let task = tokio::spawn(bot.start());
    emu.wait_ready(Duration::from_secs(10))
        .await
        .expect("READY");
    emu.wait_commands(Duration::from_secs(10))
        .await
        .expect("commands");

    let questions = [
        "how long does it take to become an ML architect",
        "salery senoir",
        "what databases should I know",
        "recipe for butter chicken",
        "mlops tools for model serving",
    ];
    let app = emu.application_id();
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        // Distinct users so the per-user cooldown never interferes.
        let who = Who::member(10_000 + i as u64);
        let payload = slash_command(
            app,
            "ask",
            json!([string_opt("question", questions[i % questions.len()])]),
            &who,
        );
        let id = emulator::interaction_id(&payload);
        let started = Instant::now();
        emu.dispatch_interaction(payload).await.expect("dispatch");
        emu.wait_reply(id, Duration::from_secs(10))
            .await
            .expect("reply");
        samples.push(started.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let total: Duration = samples.iter().sum();
    println!(
        "interaction -> callback via emulator: n={} p50={:.0}µs p99={:.0}µs max={:.0}µs mean={:.0}µs",
        samples.len(),
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        total.as_secs_f64() * 1e6 / samples.len() as f64
    );
    shards.shutdown_all().await;
    task.abort();
}
