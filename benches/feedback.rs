//! `cargo bench --bench feedback`: what recording costs an `/ask`. Each question is answered
//! twice per round, side by side in the same loop: once as without feedback, once followed by
//! what the bot adds (building the record and queueing it for a real SQLite writer running on
//! its own thread). Reports p50/p99 of both and of the recording step alone; the target is
//! that recording adds at most 1 ms at p99. `--quick` (CI) only keeps it working.

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use careerbot::bot::feedback::asked_record;
use careerbot::feedback::{store::Location, Recorder, RecorderCounters, Store};
use careerbot::knowledge::KnowledgeBase;
use careerbot::search::Engine;
use support::report;

/// One ask, as without feedback.
fn time_plain(engine: &Engine, q: &str) -> Duration {
    let t = Instant::now();
    black_box(engine.ask(black_box(q), 3));
    t.elapsed()
}

/// One ask followed by what the bot adds: the record built and queued. Returns the whole
/// time and the recording step's.
fn time_recorded(
    engine: &Engine,
    recorder: &Recorder,
    q: &str,
    id: u64,
    hash: &str,
) -> (Duration, Duration) {
    let t = Instant::now();
    let answer = engine.ask(black_box(q), 3);
    let r = Instant::now();
    if let Some(record) = asked_record(id, Some(1), q, &answer, hash, true) {
        recorder.record(record);
    }
    let done = Instant::now();
    black_box(answer);
    (done - t, done - r)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick { 3 } else { 1_000 };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = KnowledgeBase::load_dir(&dir).expect("shipped knowledge base loads");
    let hash = kb.content_hash.clone();
    let engine = Engine::build(kb).expect("index builds");
    let questions: Vec<String> = include_str!("../tests/eval/held-out.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["q"].as_str().map(String::from))
        .collect();

    let work =
        std::env::temp_dir().join(format!("careerbot-bench-feedback-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let location = Location::Sqlite(work.join("feedback.db"));
    let store = runtime
        .block_on(Store::open(&location, true))
        .expect("SQLite store opens");
    let counters = RecorderCounters::detached();
    let recorder = {
        let _entered = runtime.enter();
        Recorder::start(location, Some(store), 1_000_000, counters.clone())
    };

    let (mut plain, mut recorded, mut recording) = (Vec::new(), Vec::new(), Vec::new());
    let mut id = 1_000_000u64;
    for round in 0..rounds {
        for q in &questions {
            // Which of the two goes first alternates by round: the second ask of a question
            // finds the caches warm, and neither side should always get that.
            let recorded_first = round % 2 == 1;
            if !recorded_first {
                plain.push(time_plain(&engine, q));
            }
            id += 1;
            let (total, step) = time_recorded(&engine, &recorder, q, id, &hash);
            recorded.push(total);
            recording.push(step);
            if recorded_first {
                plain.push(time_plain(&engine, q));
            }
        }
    }
    let (_, plain_p99) = report("ask, no recording", plain);
    let (_, recorded_p99) = report("ask + record (SQLite writer running)", recorded);
    report("record step alone", recording);
    println!(
        "added at p99: {:.1}µs (target ≤ 1000µs)",
        (recorded_p99.as_secs_f64() - plain_p99.as_secs_f64()) * 1e6
    );
    let left = runtime.block_on(recorder.flush(Duration::from_secs(60)));
    println!(
        "records written {}, dropped {}, unwritten after flush {left}",
        counters.written.get(),
        counters.dropped.get()
    );
    let _ = std::fs::remove_dir_all(&work);
}
