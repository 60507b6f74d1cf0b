//! `cargo bench --bench semantic`: what semantic search costs, hybrid next to lexical-only in
//! one run. Model load; first embedding of the shipped base (empty cache); reload with a warm
//! cache; ask p50/p99 on the shipped base and on a synthetic base of 10,000 passages; the
//! process's resident memory. `--quick` (CI) uses 200 synthetic passages and few rounds:
//! its numbers mean nothing; `--passages N` sets the synthetic size. Results are recorded in
//! docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::embed::cache::VectorCache;
use careerbot::knowledge::KnowledgeBase;
use careerbot::search::{Engine, SemanticModel};
use careerbot::synth;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<44} n={:<6} p50={:>9.1}µs p99={:>9.1}µs max={:>9.1}µs",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    );
    p99
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn questions() -> Vec<String> {
    [
        include_str!("../tests/eval/held-out.jsonl"),
        include_str!("../tests/eval/independent-dev.jsonl"),
    ]
    .iter()
    .flat_map(|t| t.lines())
    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    .filter_map(|v| v["q"].as_str().map(String::from))
    .collect()
}

fn time_asks(engine: &Engine, questions: &[String], rounds: usize) -> Vec<Duration> {
    for q in questions {
        black_box(engine.ask(q, 3));
    }
    let mut samples = Vec::with_capacity(questions.len() * rounds);
    for _ in 0..rounds {
        for q in questions {
            let t = Instant::now();
            black_box(engine.ask(black_box(q), 3));
            samples.push(t.elapsed());
        }
    }
    samples
}

fn median_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick { 1 } else { 20 };
    // `--passages N` sets the synthetic base's size.
    let args: Vec<String> = std::env::args().collect();
    let synthetic = args
        .iter()
        .position(|a| a == "--passages")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if quick { 200 } else { 10_000 });
    let shipped_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let shipped = KnowledgeBase::load_dir(&shipped_dir).expect("shipped base loads");
    println!("rss at start: {:.1} MiB", rss_mib());

    let t = Instant::now();
    let disk_model = SemanticModel::load(None).expect("model loads (fetched if missing)");
    println!("model load (cache -> memory): {}", ms(t.elapsed()));
    println!("rss with the model loaded: {:.1} MiB", rss_mib());

    // First embedding: an empty cache, as on a fresh machine.
    let cold = SemanticModel {
        embedder: disk_model.embedder.clone(),
        cache: Arc::new(VectorCache::in_memory(&disk_model.embedder)),
    };
    let t = Instant::now();
    let hybrid = Engine::build_hybrid(shipped.clone(), &cold).expect("hybrid builds");
    let first = t.elapsed();
    let stats = hybrid.embedding_stats().expect("hybrid");
    println!(
        "first embedding of the shipped base ({} passages, {} texts): {}",
        shipped.passages.len(),
        stats.embedded,
        ms(first)
    );

    let reload_dir = |dir: &Path, model: Option<&Arc<SemanticModel>>| {
        median_of(5, || {
            let t = Instant::now();
            let kb = KnowledgeBase::load_dir(dir).expect("loads");
            black_box(Engine::build_with(kb, model).expect("builds"));
            t.elapsed()
        })
    };
    let cold = Arc::new(cold);
    println!(
        "reload, shipped base: lexical-only {}, hybrid with a warm cache {}",
        ms(reload_dir(&shipped_dir, None)),
        ms(reload_dir(&shipped_dir, Some(&cold)))
    );

    let qs = questions();
    let lexical = Engine::build(shipped.clone()).expect("lexical builds");
    report(
        "ask, shipped base, lexical-only",
        time_asks(&lexical, &qs, rounds),
    );
    report("ask, shipped base, hybrid", time_asks(&hybrid, &qs, rounds));
    println!("rss after the shipped base: {:.1} MiB", rss_mib());

    // A synthetic base, embedded through the disk cache (slow the first time only).
    let dir = std::env::temp_dir().join(format!("careerbot-semantic-bench-{synthetic}"));
    let _ = std::fs::remove_dir_all(&dir);
    synth::write_knowledge_dir(&shipped, &shipped_dir, &dir, synthetic, 1).expect("synth");
    let kb = KnowledgeBase::load_dir(&dir).expect("synthetic base loads");
    let n = kb.passages.len();
    let disk_model = Arc::new(disk_model);
    let t = Instant::now();
    let big = Engine::build_hybrid(kb.clone(), &disk_model).expect("builds");
    let stats = big.embedding_stats().expect("hybrid");
    println!(
        "build, {n} passages: {} ({} texts embedded, {} from the cache)",
        ms(t.elapsed()),
        stats.embedded,
        stats.hits
    );
    println!(
        "reload, {n} passages: lexical-only {}, hybrid with a warm cache {}",
        ms(reload_dir(&dir, None)),
        ms(reload_dir(&dir, Some(&disk_model)))
    );
    let big_lexical = Engine::build(kb).expect("builds");
    let big_rounds = if quick { 1 } else { 5 };
    report(
        &format!("ask, {n} passages, lexical-only"),
        time_asks(&big_lexical, &qs, big_rounds),
    );
    report(
        &format!("ask, {n} passages, hybrid"),
        time_asks(&big, &qs, big_rounds),
    );
    println!("rss at the end: {:.1} MiB", rss_mib());
    let _ = std::fs::remove_dir_all(&dir);
}
