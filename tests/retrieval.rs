//! Retrieval quality on the shipped base: our own held-out question set (not the dev set in
//! ../shared, which is measured by `careerbot eval` in CI), so regressions in the engine or
//! the base fail the build.

use std::path::PathBuf;

use careerbot::eval;
use careerbot::knowledge::KnowledgeBase;
use careerbot::search::Engine;

fn shipped_engine() -> Engine {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    Engine::build(KnowledgeBase::load_dir(&dir).unwrap()).unwrap()
}

#[test]
fn held_out_questions_meet_the_bar() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval/held-out.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let cases = eval::parse_cases(path, &text).unwrap();
    let report = eval::run(&shipped_engine(), &cases);
    let misses: Vec<_> = report.cases.iter().filter(|c| !c.top1).collect();
    assert!(report.top1() >= 0.9, "{}{misses:#?}", report.summary());
    assert!(report.recall3() >= 0.9, "{}", report.summary());
    assert_eq!(report.refused(), report.off_topic(), "{misses:#?}");
}

#[test]
fn shipped_base_covers_every_part_of_the_guide() {
    let e = shipped_engine();
    let kb = e.knowledge();
    assert_eq!(kb.skills.len(), 7);
    assert_eq!(kb.salary.bands.len(), 4);
    assert_eq!(kb.phases.phases.len(), 5);
    assert_eq!(kb.timeline.steps.len(), 4);
    assert!(kb.synonyms.len() >= 20);
    assert!(kb
        .passages
        .iter()
        .any(|p| p.kind == careerbot::knowledge::PassageKind::Faq));
}

#[test]
fn hostile_questions_in_process_never_panic() {
    let e = shipped_engine();
    let huge = "x".repeat(10_000);
    let words = "salary ".repeat(2_000);
    for q in [
        "\u{0}",
        "\u{0}salary\u{0}",
        huge.as_str(),
        words.as_str(),
        "\u{fffd}\u{fffe}",
        "a\u{301}\u{301}\u{301}",
    ] {
        let a = e.ask(q, 3);
        assert!(a.hits.len() <= 3);
        let json = serde_json::to_string(&a).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    }
    assert!(e.ask("salary", 0).hits.is_empty());
}
