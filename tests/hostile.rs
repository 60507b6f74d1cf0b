//! Property tests: arbitrary user text as questions and arbitrary bytes as knowledge files.
//! Nothing may panic; questions always give a well-formed answer (valid JSON from the CLI);
//! every knowledge problem names its `path:line`. Case counts are fixed here so CI's run is
//! bounded and the numbers quoted in docs mean something.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use careerbot::knowledge::{KnowledgeBase, SourceFile};
use careerbot::search::Engine;
use proptest::prelude::*;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        Engine::build(KnowledgeBase::load_dir(&dir).expect("shipped base")).expect("index")
    })
}

fn shipped_files() -> &'static Vec<SourceFile> {
    static FILES: OnceLock<Vec<SourceFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let mut files: Vec<SourceFile> = std::fs::read_dir(&dir)
            .expect("knowledge dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "toml"))
            .filter(|p| !p.ends_with("README.md"))
            .map(|p| SourceFile {
                path: format!(
                    "kb/{}",
                    p.file_name().and_then(|n| n.to_str()).unwrap_or("?")
                ),
                bytes: std::fs::read(&p).expect("read knowledge file"),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    })
}

/// Questions: query syntax, control characters, emoji, RTL marks, and plain words.
fn question() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 :\"()*~^+\\-!{}\\[\\]/\\\\?.,']{0,80}",
        "(AND|OR|NOT|title:|body:|salary|senior|mlops|\\*|~2|\"|\\(|\\)| ){0,30}",
        "[\\x00-\\x1f\\u{202e}\\u{200b}\\u{fffd}\\u{1F916}a-z ]{0,60}",
    ]
}

fn check_answer(q: &str, top: usize) -> Result<(), TestCaseError> {
    let a = engine().ask(q, top);
    prop_assert!(a.hits.len() <= top);
    prop_assert_eq!(a.answered, !a.hits.is_empty());
    let json = serde_json::to_string(&a).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(back["question"].as_str(), Some(q));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn any_question_gets_a_well_formed_answer(q in question(), top in 0usize..6) {
        check_answer(&q, top)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn long_questions_are_answered_too(q in "[a-z \\u{1F916}:\"()]{2000,10000}") {
        check_answer(&q, 3)?;
    }
}

proptest! {
    // Each case spawns the binary: fewer cases, same property end to end.
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn cli_ask_json_is_always_one_valid_object(q in question()) {
        // The OS cannot pass NUL in an argument; everything else goes through as is.
        let q = q.replace('\0', " ");
        let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
            .env_remove("CAREERBOT_KNOWLEDGE")
            .args(["ask", "--json", "--"])
            .arg(if q.is_empty() { " " } else { q.as_str() })
            .output()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(stdout.trim_end().lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| TestCaseError::fail(format!("{e}: {stdout}")))?;
        prop_assert!(v["answered"].is_boolean() && v["hits"].is_array());
    }
}

const NAMES: [&str; 8] = [
    "a.md",
    "faq.md",
    "skills.toml",
    "salary.toml",
    "phases.toml",
    "timeline.toml",
    "synonyms.toml",
    "other.toml",
];

/// Every problem names the file it was given and a line inside it (or just past its end).
fn check_problems(files: &[SourceFile]) -> Result<(), TestCaseError> {
    if let Err(e) = KnowledgeBase::from_files(files) {
        prop_assert!(!e.problems.is_empty());
        for p in &e.problems {
            let file = files.iter().find(|f| f.path == p.path);
            prop_assert!(file.is_some(), "problem names an unknown path: {}", p);
            let lines = file.map_or(0, |f| f.bytes.split(|&b| b == b'\n').count());
            prop_assert!(
                p.line >= 1 && p.line <= lines + 1,
                "line out of range: {} ({lines} lines)",
                p
            );
            let prefix = format!("{}:{}: ", p.path, p.line);
            prop_assert!(p.to_string().starts_with(&prefix), "{}", p);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]
    #[test]
    fn arbitrary_bytes_as_a_knowledge_file(name in 0usize..NAMES.len(), bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        check_problems(&[SourceFile { path: format!("kb/{}", NAMES[name]), bytes }])?;
    }

    #[test]
    fn mutated_shipped_files(
        which in 0usize..64,
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in proptest::collection::vec(any::<u8>(), 0..16),
        keep_tail in any::<bool>(),
    ) {
        let mut files = shipped_files().clone();
        let i = which % files.len();
        let bytes = &mut files[i].bytes;
        let len = bytes.len().max(1);
        let pos = at.index(len).min(bytes.len());
        bytes.splice(pos..pos, insert);
        if !keep_tail {
            let end = cut.index(bytes.len().max(1));
            bytes.truncate(end);
        }
        check_problems(&files)?;
    }
}
