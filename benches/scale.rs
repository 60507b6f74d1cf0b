//! `cargo bench --bench scale`: how the engine's costs grow with the knowledge base, from the
//! shipped base to 10,000 synthetic passages (`careerbot::synth`, seed 1).
//!
//! For each size: reload time (load + validate + index + swap, via `Served::reload`), `ask`
//! p50/p99 on ordinary and on misspelled questions, and two tantivy baselines on the same
//! index (a one-term `TermQuery`, and tantivy's own lenient parse of the same question).
//! Plus autocomplete ranking over 10,000 names. `--quick` keeps it compiling in CI with tiny
//! sizes and few rounds. Numbers are recorded in docs/PERFORMANCE.md; `--csv FILE` also
//! writes them as CSV for the plot.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use careerbot::bot::state::{ReloadOutcome, Served};
use careerbot::knowledge::KnowledgeBase;
use careerbot::{lookup, synth};
use tantivy::collector::TopDocs;
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

const QUESTIONS: &[&str] = &[
    "how long does it take to become an ML architect",
    "what databases should I know",
    "ML architect salary in India",
    "mlops tools for model serving and monitoring",
    "do I need a degree",
    "books to read",
    "recipe for butter chicken",
    "what is phase 3 about",
];
const MISSPELLED: &[&str] = &[
    "salery senoir",
    "mid levle salary",
    "explainabilty captum",
    "recomended cources",
    "probabilty and statistcs",
];

fn time_asks(served: &Served, qs: &[&str], rounds: usize) -> Vec<Duration> {
    let generation = served.current();
    let mut out = Vec::with_capacity(qs.len() * rounds);
    for _ in 0..rounds {
        for q in qs {
            let t = Instant::now();
            black_box(generation.engine.ask(black_box(q), 3));
            out.push(t.elapsed());
        }
    }
    out
}

struct Row {
    size: String,
    passages: usize,
    reload_ms: f64,
    ask: (f64, f64),
    typo: (f64, f64),
    term: (f64, f64),
    parsed: (f64, f64),
}

fn measure(label: &str, dir: &Path, rounds: usize) -> Row {
    let served = Served::load(dir).expect("knowledge loads");
    let mut reloads = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        match served.reload() {
            ReloadOutcome::Reloaded { .. } => reloads.push(t.elapsed()),
            ReloadOutcome::Failed { problems, .. } => panic!("reload failed: {problems:?}"),
        }
    }
    let generation = served.current();
    let passages = generation.engine.knowledge().passages.len();
    // Warm up.
    time_asks(&served, QUESTIONS, 3);
    if std::env::var_os("SCALE_DETAIL").is_some() {
        for q in QUESTIONS.iter().chain(MISSPELLED) {
            let mut t = time_asks(&served, &[q], rounds.min(100));
            println!("    {:>8.1}µs  {q}", us(pct(&mut t, 0.5)));
        }
    }
    let mut ask = time_asks(&served, QUESTIONS, rounds);
    let mut typo = time_asks(&served, MISSPELLED, rounds);

    let searcher = generation.engine.searcher();
    let fields = generation.engine.fields();
    let collector = TopDocs::with_limit(3).order_by_score();
    let term = TermQuery::new(
        Term::from_field_text(fields.body, "salari"),
        IndexRecordOption::WithFreqs,
    );
    let mut raw = Vec::new();
    for _ in 0..rounds * QUESTIONS.len() {
        let t = Instant::now();
        black_box(searcher.search(&term, &collector).expect("search"));
        raw.push(t.elapsed());
    }
    let parser = QueryParser::for_index(
        searcher.index(),
        vec![fields.title, fields.keywords, fields.body],
    );
    let mut parsed = Vec::new();
    for _ in 0..rounds {
        for q in QUESTIONS {
            let t = Instant::now();
            let query = parser.parse_query_lenient(black_box(q)).0;
            black_box(searcher.search(&query, &collector).expect("search"));
            parsed.push(t.elapsed());
        }
    }
    let row = Row {
        size: label.to_string(),
        passages,
        reload_ms: pct(&mut reloads, 0.5).as_secs_f64() * 1e3,
        ask: (us(pct(&mut ask, 0.5)), us(pct(&mut ask, 0.99))),
        typo: (us(pct(&mut typo, 0.5)), us(pct(&mut typo, 0.99))),
        term: (us(pct(&mut raw, 0.5)), us(pct(&mut raw, 0.99))),
        parsed: (us(pct(&mut parsed, 0.5)), us(pct(&mut parsed, 0.99))),
    };
    println!(
        "{:<8} passages={:<6} reload p50={:>8.1}ms | ask p50={:>7.1}µs p99={:>7.1}µs | misspelled p50={:>7.1}µs p99={:>7.1}µs | term p50={:>5.1}µs | parsed p50={:>7.1}µs p99={:>7.1}µs | ask/parsed p50 {:.2}x",
        row.size, row.passages, row.reload_ms, row.ask.0, row.ask.1, row.typo.0, row.typo.1, row.term.0, row.parsed.0, row.parsed.1, row.ask.0 / row.parsed.0
    );
    row
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick" || a == "--test");
    let csv = args
        .iter()
        .position(|a| a == "--csv")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let (sizes, rounds): (&[usize], usize) = if quick {
        (&[100], 2)
    } else {
        (&[100, 1_000, 10_000], 300)
    };

    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let seed = KnowledgeBase::load_dir(&shipped).expect("shipped base");
    let mut rows = vec![measure("shipped", &shipped, rounds)];
    let tmp = std::env::temp_dir().join(format!("careerbot-scale-{}", std::process::id()));
    for &n in sizes {
        let dir = tmp.join(n.to_string());
        synth::write_knowledge_dir(&seed, &shipped, &dir, n, 1).expect("write synthetic base");
        rows.push(measure(&n.to_string(), &dir, rounds));
    }

    // Autocomplete ranking over 10,000 names (the /skills choices at scale).
    let names = synth::names(&seed, if quick { 100 } else { 10_000 }, 1);
    let mut samples = Vec::new();
    for _ in 0..if quick { 2 } else { 50 } {
        for partial in ["", "ml", "mlop", "data eng", "kubernetes", "zzzz"] {
            let t = Instant::now();
            black_box(lookup::autocomplete(
                black_box(partial),
                names.iter().map(String::as_str),
                25,
            ));
            samples.push(t.elapsed());
        }
    }
    println!(
        "autocomplete over {} names: p50={:.0}µs p99={:.0}µs",
        names.len(),
        us(pct(&mut samples, 0.5)),
        us(pct(&mut samples, 0.99))
    );

    if let Some(path) = csv {
        let mut out = String::from("size,passages,reload_ms,ask_p50_us,ask_p99_us,typo_p50_us,typo_p99_us,term_p50_us,parsed_p50_us,parsed_p99_us\n");
        for r in &rows {
            out.push_str(&format!(
                "{},{},{:.2},{:.1},{:.1},{:.1},{:.1},{:.2},{:.1},{:.1}\n",
                r.size,
                r.passages,
                r.reload_ms,
                r.ask.0,
                r.ask.1,
                r.typo.0,
                r.typo.1,
                r.term.0,
                r.parsed.0,
                r.parsed.1
            ));
        }
        std::fs::write(&path, out).expect("write csv");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
