//! `cargo bench --bench ask`: latency of `Engine::ask` on the shipped knowledge base, against
//! a raw tantivy term query on the same index (the floor under our pipeline).
//!
//! A plain harness (no criterion) because we want percentiles: each question is asked many
//! times, every call timed, and p50/p99 reported over all calls. `--quick` (used by CI)
//! runs a few rounds just to keep the bench compiling and working; numbers from it mean
//! nothing. Results are recorded in docs/PERFORMANCE.md.

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::report;

use careerbot::knowledge::KnowledgeBase;
use careerbot::search::Engine;
use tantivy::collector::TopDocs;
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick { 3 } else { 2_000 };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = KnowledgeBase::load_dir(&dir).expect("shipped knowledge base loads");
    let engine = Engine::build(kb).expect("index builds");

    let questions: Vec<String> = [include_str!("../tests/eval/held-out.jsonl")]
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["q"].as_str().map(String::from))
        .collect();
    let typos = [
        "salery senoir",
        "mid levle salary",
        "explainabilty captum",
        "recomended cources",
        "probabilty and statistcs",
    ];

    // Warm up.
    for q in &questions {
        black_box(engine.ask(q, 3));
    }

    let time_all = |qs: &[&str]| -> Vec<Duration> {
        let mut samples = Vec::with_capacity(qs.len() * rounds);
        for _ in 0..rounds {
            for q in qs {
                let t = Instant::now();
                black_box(engine.ask(black_box(q), 3));
                samples.push(t.elapsed());
            }
        }
        samples
    };
    let all: Vec<&str> = questions.iter().map(String::as_str).collect();
    let (ask_p50, ask_p99) = report("ask (held-out questions)", time_all(&all));
    report("ask (misspelled)", time_all(&typos));

    let searcher = engine.searcher();
    let fields = engine.fields();
    let term_query = TermQuery::new(
        Term::from_field_text(fields.body, "salari"),
        IndexRecordOption::WithFreqs,
    );
    let collector = TopDocs::with_limit(3).order_by_score();
    let mut raw = Vec::with_capacity(rounds * all.len());
    for _ in 0..rounds * all.len() {
        let t = Instant::now();
        black_box(searcher.search(&term_query, &collector).expect("search"));
        raw.push(t.elapsed());
    }
    let (raw_p50, raw_p99) = report("raw tantivy term query", raw);

    // A fairer floor: tantivy's own (lenient) query parser over the same questions and
    // fields, i.e. plain BM25 with no correction, synonyms or confidence.
    let parser = QueryParser::for_index(
        searcher.index(),
        vec![fields.title, fields.keywords, fields.body],
    );
    let parsed: Vec<_> = all
        .iter()
        .map(|q| parser.parse_query_lenient(q).0)
        .collect();
    let mut bm25 = Vec::with_capacity(rounds * all.len());
    for _ in 0..rounds {
        for (q, query) in all.iter().zip(&parsed) {
            let t = Instant::now();
            // Parsing is part of the work: the parser tokenizes the question like ask does.
            let fresh = parser.parse_query_lenient(black_box(q)).0;
            black_box(searcher.search(&fresh, &collector).expect("search"));
            bm25.push(t.elapsed());
            black_box(query);
        }
    }
    let (bm25_p50, bm25_p99) = report("raw tantivy parsed question", bm25);
    println!(
        "ratio ask/term query:      p50 {:.2}x, p99 {:.2}x",
        ask_p50.as_secs_f64() / raw_p50.as_secs_f64(),
        ask_p99.as_secs_f64() / raw_p99.as_secs_f64()
    );
    println!(
        "ratio ask/parsed question: p50 {:.2}x, p99 {:.2}x",
        ask_p50.as_secs_f64() / bm25_p50.as_secs_f64(),
        ask_p99.as_secs_f64() / bm25_p99.as_secs_f64()
    );
}
