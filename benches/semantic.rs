//! `cargo bench --bench semantic`: what semantic search costs, hybrid next to lexical-only in
//! one run. Model load; first embedding of the shipped base (empty cache); reload with a warm
//! cache; ask p50/p99 on the shipped base and on a synthetic base of 10,000 passages; the
//! process's resident memory. `--quick` (CI) uses 200 synthetic passages and few rounds:
//! its numbers mean nothing; `--passages N` sets the synthetic size. Results are recorded in
//! docs/PERFORMANCE.md.
//!
//! "New questions" are timed with the question-vector cache emptied before each round, so
//! every question is embedded: the cost of a question never asked before. "Repeated" is the
//! same questions again, answered from that cache.
//!
//! The synthetic base's passage vectors are random unit vectors put in the cache
//! ([`VectorCache::preload`]): embedding its ~45,000 texts would take twenty minutes, and a
//! search costs the same whatever the vectors hold. Its answers are meaningless; its timings
//! are not.

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::report;

use careerbot::embed::cache::{VectorCache, MAX_VECTORS};
use careerbot::embed::{Embedder, Kernel};
use careerbot::knowledge::KnowledgeBase;
use careerbot::search::semantic::passage_texts;
use careerbot::search::{Engine, SemanticModel};
use careerbot::synth;

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
    time_asks_clearing(engine, questions, rounds, || ())
}

/// Times every question once per round, calling `before_round` first (untimed).
fn time_asks_clearing(
    engine: &Engine,
    questions: &[String],
    rounds: usize,
    before_round: impl Fn(),
) -> Vec<Duration> {
    for q in questions {
        black_box(engine.ask(q, 3));
    }
    let mut samples = Vec::with_capacity(questions.len() * rounds);
    for _ in 0..rounds {
        before_round();
        for q in questions {
            let t = Instant::now();
            black_box(engine.ask(black_box(q), 3));
            samples.push(t.elapsed());
        }
    }
    samples
}

/// Deterministic random unit vectors (xorshift), one per text.
fn random_vectors(texts: Vec<String>, dims: usize) -> Vec<(String, Vec<f32>)> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    texts
        .into_iter()
        .map(|t| {
            let v: Vec<f32> = (0..dims).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            (t, v.into_iter().map(|x| x / norm).collect())
        })
        .collect()
}

fn median_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // As the binary does (see its main).
    careerbot::embed::pin_thread_count();
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
    println!(
        "model load (cache -> memory): {}; multiplies on {}",
        ms(t.elapsed()),
        disk_model.embedder.kernel().name()
    );
    println!("rss with the model loaded: {:.1} MiB", rss_mib());

    // First embedding: an empty cache, as on a fresh machine.
    let cold = SemanticModel::new(
        disk_model.embedder.clone(),
        Arc::new(VectorCache::in_memory(&disk_model.embedder, MAX_VECTORS)),
    );
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
    let new_questions = || cold.queries.clear();
    report(
        "ask, shipped base, hybrid, new questions",
        time_asks_clearing(&hybrid, &qs, rounds, new_questions),
    );
    report(
        "ask, shipped base, hybrid, repeated",
        time_asks(&hybrid, &qs, rounds),
    );
    println!("rss after the shipped base: {:.1} MiB", rss_mib());

    // The same, with the model's multiplies on each slower kernel this CPU runs (same
    // vectors: the passage vectors come from the cache the first embedding filled).
    for kernel in [Kernel::Avx2, Kernel::Candle] {
        if !kernel.runs_here() || kernel == disk_model.embedder.kernel() {
            continue;
        }
        let embedder =
            Embedder::load_with_kernel(disk_model.embedder.dir(), kernel).expect("model loads");
        let other = SemanticModel::new(Arc::new(embedder), cold.cache.clone());
        let engine = Engine::build_hybrid(shipped.clone(), &other).expect("hybrid builds");
        report(
            &format!(
                "ask, shipped base, hybrid, new questions, on {}",
                kernel.name()
            ),
            time_asks_clearing(&engine, &qs, rounds, || other.queries.clear()),
        );
    }

    // A synthetic base with preloaded (random) vectors: see the module docs.
    let dir = std::env::temp_dir().join(format!("careerbot-semantic-bench-{synthetic}"));
    let _ = std::fs::remove_dir_all(&dir);
    synth::write_knowledge_dir(&shipped, &shipped_dir, &dir, synthetic, 1).expect("synth");
    let kb = KnowledgeBase::load_dir(&dir).expect("synthetic base loads");
    let n = kb.passages.len();
    let model = Arc::new(SemanticModel::new(
        disk_model.embedder.clone(),
        Arc::new(VectorCache::in_memory(&disk_model.embedder, MAX_VECTORS)),
    ));
    let texts: Vec<String> = kb.passages.iter().flat_map(passage_texts).collect();
    let vectors = texts.len();
    model
        .cache
        .preload(
            &model.embedder,
            random_vectors(texts, model.embedder.dims()),
        )
        .expect("preloads");
    let t = Instant::now();
    let big = Engine::build_hybrid(kb.clone(), &model).expect("builds");
    let stats = big.embedding_stats().expect("hybrid");
    println!(
        "build, {n} passages, {vectors} vectors preloaded: {} ({} texts embedded)",
        ms(t.elapsed()),
        stats.embedded,
    );
    println!(
        "reload, {n} passages: lexical-only {}, hybrid with a warm cache {}",
        ms(reload_dir(&dir, None)),
        ms(reload_dir(&dir, Some(&model)))
    );
    let big_lexical = Engine::build(kb).expect("builds");
    let big_rounds = if quick { 1 } else { 5 };
    report(
        &format!("ask, {n} passages, lexical-only"),
        time_asks(&big_lexical, &qs, big_rounds),
    );
    report(
        &format!("ask, {n} passages, hybrid, new questions"),
        time_asks_clearing(&big, &qs, big_rounds, || model.queries.clear()),
    );
    println!("rss at the end: {:.1} MiB", rss_mib());
    let _ = std::fs::remove_dir_all(&dir);
}
