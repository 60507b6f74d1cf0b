//! The engine's unit tests, on small knowledge bases written in the tests.

use super::*;
use crate::knowledge::SourceFile;

pub(crate) fn engine() -> Engine {
    let files = [
        ("k/pay.md", "+++\nid = \"pay\"\ntitle = \"Pay\"\n+++\n## Salary for seniors\nSenior architects earn 40-60 LPA.\n## Salary for freshers\nEntry level pays 10-18 LPA.\n"),
        ("k/skills.md", "+++\nid = \"skills\"\ntitle = \"Skills\"\n+++\n## Databases\nSQL, NoSQL and graph databases.\n## Kubernetes\nContainers with Docker and Kubernetes.\n## Mathematics\nLinear algebra and eigen decomposition.\n"),
        ("k/synonyms.toml", "[[synonym]]\ncanonical = \"salary\"\nvariants = [\"pay\", \"package\", \"ctc\"]\n[[synonym]]\ncanonical = \"kubernetes\"\nvariants = [\"k8s\"]\n"),
    ];
    engine_of(&files)
}

/// A lexical engine over knowledge files given as (path, text).
fn engine_of(files: &[(&str, &str)]) -> Engine {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.to_string(),
            bytes: t.as_bytes().to_vec(),
        })
        .collect();
    Engine::build(KnowledgeBase::from_files(&files).unwrap()).unwrap()
}

/// Decomposed accents, invisible characters and repeated words read as the plain question.
#[test]
fn questions_are_read_the_way_they_look() {
    let e = engine();
    let plain = e.ask("eigen decomposition maths", 1);
    assert!(plain.answered);
    // NFD: "e" + combining acute; the engine must not see "eige" + accent + "n".
    let nfd = e.ask("e\u{301}igen decomposition maths", 1);
    assert_eq!(nfd.hits[0].id, plain.hits[0].id);
    assert_eq!(clean_question("re\u{301}sume\u{301}"), "résumé");
    // A zero-width space inside a word does not split it.
    let zw = e.ask("kuber\u{200b}netes", 1);
    assert!(zw.answered && zw.did_you_mean.is_none(), "{zw:?}");
    assert_eq!(zw.hits[0].id, "skills/kubernetes");
    // Repeated words count once, so they cannot push the real topic past the word limit.
    let repeated = format!("{}salary seniors", "kubernetes ".repeat(40));
    let a = e.ask(&repeated, 3);
    assert!(
        a.terms.iter().any(|t| t.starts_with("salar")),
        "{:?}",
        a.terms
    );
}

#[test]
fn ranks_the_matching_section_first() {
    let e = engine();
    let a = e.ask("senior salary", 3);
    assert!(a.answered);
    assert_eq!(a.hits[0].id, "pay/salary-for-seniors");
    assert!(a.did_you_mean.is_none());
}

#[test]
fn corrects_typos_and_says_so() {
    let e = engine();
    let a = e.ask("salery senoir", 3);
    assert!(a.answered, "{a:?}");
    assert_eq!(a.hits[0].id, "pay/salary-for-seniors");
    assert_eq!(a.did_you_mean.as_deref(), Some("salary senior"));
    // Texting abbreviations of base words read as those words.
    let a = e.ask("entry lvl sal", 3);
    assert_eq!(a.did_you_mean.as_deref(), Some("entry level salary"));
    assert_eq!(a.hits[0].id, "pay/salary-for-freshers");
}

/// The ord of the test base's passage titled `title`.
fn ord_of(e: &Engine, title: &str) -> usize {
    e.knowledge()
        .passages
        .iter()
        .position(|p| p.title == title)
        .expect("the test base has it")
}

/// A comparison is answered only when the passages shown mention both sides, by any of
/// the base's words for them; a side the base has no word for is left alone.
#[test]
fn a_comparison_needs_both_sides_in_its_answer() {
    let e = engine();
    let a = e.ask("docker or kubernetes, which is better?", 3);
    assert!(a.answered, "{a:?}");
    let a = e.ask("k8s vs docker containers", 3);
    assert!(a.answered, "a synonym mentions a side: {a:?}");
    let ord = |title: &str| ord_of(&e, title);
    let (kubernetes, databases) = (ord("Kubernetes"), ord("Databases"));
    let refusal = e
        .comparison_unanswered("docker kubernetes containers vs sql", &[kubernetes], 0.0)
        .expect("refused");
    assert!(!refusal.answered);
    assert!(
        refusal.reason.contains("mentions sql"),
        "{}",
        refusal.reason
    );
    // One side in each of the passages shown is enough.
    let both = [kubernetes, databases];
    assert_eq!(
        e.comparison_unanswered("docker kubernetes containers vs sql", &both, 0.0),
        None
    );
    // A side the base has no word for is left alone.
    assert_eq!(
        e.comparison_unanswered("docker kubernetes vs nomad", &[kubernetes], 0.0),
        None
    );
    // Both sides only as items of one list ("SQL, NoSQL and graph databases"): named,
    // not compared.
    let refusal = e
        .comparison_unanswered("sql or nosql, which one is better?", &both, 0.0)
        .expect("refused");
    assert!(
        refusal.reason.contains("only list them"),
        "{}",
        refusal.reason
    );
}

/// Where a side is mentioned: its words together (a synonym for its word too), or its
/// distinctive words apart when they are not a kind of the base's subject.
#[test]
fn a_side_is_mentioned_where_its_words_stand_together() {
    let e = engine();
    let ord = |title: &str| ord_of(&e, title);
    let (kubernetes, mathematics) = (ord("Kubernetes"), ord("Mathematics"));
    let text = "Kubernetes.\nContainers with Docker and Kubernetes.";
    let found = e
        .lexical
        .mentions("k8s", &[e.lexical.passage_text(kubernetes, text.into())])
        .expect("a base word");
    let spans: Vec<&str> = found.at.iter().map(|(_, r)| &text[r.clone()]).collect();
    assert_eq!(spans, ["Kubernetes", "Kubernetes"]);
    let math = "Mathematics.\nLinear algebra and eigen decomposition.";
    let found = e
        .lexical
        .mentions(
            "linear algebra",
            &[e.lexical.passage_text(mathematics, math.into())],
        )
        .expect("words");
    assert_eq!(found.at.len(), 1);
    assert!(!found.loosely);
    let found = e
        .lexical
        .mentions(
            "eigen algebra",
            &[e.lexical.passage_text(mathematics, math.into())],
        )
        .expect("words");
    assert!(found.at.is_empty() && found.loosely && found.any());
    let found = e
        .lexical
        .mentions("sql", &[e.lexical.passage_text(kubernetes, text.into())])
        .expect("a base word");
    assert!(!found.any());
    assert_eq!(
        e.lexical
            .mentions("nomad", &[e.lexical.passage_text(kubernetes, text.into())]),
        None,
        "no word for it"
    );
    // A real word the base never uses makes a side no passage mentions; a fragment the
    // model has no word for ("qzx") is left out of it.
    let mut e = e;
    e.lexical = e
        .lexical
        .with_real_words(Arc::new(|w: &str| w == "operator"));
    let found = e.lexical.mentions(
        "kubernetes operator",
        &[e.lexical.passage_text(kubernetes, text.into())],
    );
    assert_eq!(found.map(|f| f.any()), Some(false));
    let found = e.lexical.mentions(
        "kubernetes qzx",
        &[e.lexical.passage_text(kubernetes, text.into())],
    );
    assert_eq!(found.map(|f| f.any()), Some(true));
}

/// A typo keeps its first letter: "balary" is not "salary" (as "calories" is not "salaries");
/// a swap of the first two letters still is a typo.
#[test]
fn corrections_keep_the_first_letter() {
    let e = engine();
    assert_eq!(e.ask("balary", 3).did_you_mean, None);
    assert_eq!(
        e.ask("aslary senoir", 3).did_you_mean.as_deref(),
        Some("salary senior")
    );
}

/// With a dictionary, a long real word is the user's word, not a typo of the base's:
/// "senator" is not "senior", and stays a word the base does not use.
#[test]
fn long_real_words_are_not_corrected() {
    let mut e = engine();
    let a = e.ask("senator salary", 3);
    assert_eq!(a.did_you_mean.as_deref(), Some("senior salary"), "{a:?}");
    let real: lexical::RealWords = Arc::new(|w: &str| matches!(w, "senator" | "sal"));
    e.lexical = e.lexical.with_real_words(real);
    let a = e.ask("senator salary", 3);
    assert_eq!(a.did_you_mean, None, "{a:?}");
    let r = e.lexical.search("senator salary");
    assert_eq!(r.unknown_words, ["senator"]);
    // Shorter than six letters: still read as the base's word, even when it is a real
    // word ("sal" is a name).
    assert_eq!(
        e.ask("entry lvl sal", 3).did_you_mean.as_deref(),
        Some("entry level salary")
    );
    // Written as a name inside a sentence, a real word of any length is a name ("learn
    // Senor" keeps "Senor"); a capitalised word that is no real word is still a typo.
    let real: lexical::RealWords = Arc::new(|w: &str| w == "senor");
    e.lexical = e.lexical.with_real_words(real);
    let r = e.lexical.search("do I learn Senor for salary");
    assert_eq!(r.unknown_names, ["Senor"], "{r:?}");
    let r = e.lexical.search("do I learn Sentor for salary");
    assert!(r.unknown_names.is_empty(), "{r:?}");
    assert_eq!(
        r.did_you_mean.as_deref(),
        Some("do I learn senior for salary")
    );
}

/// Hinglish function words are neither topics nor unknown words.
#[test]
fn hinglish_grammar_is_not_a_topic() {
    let e = engine();
    let r = e.lexical.search("senior ko kitna salary milta hai yaar");
    assert!(r.unknown_words.is_empty(), "{:?}", r.unknown_words);
    assert_eq!(r.unknown_share, 0.0);
}

/// The words in half the passages or more are the base's identity, left out of the
/// question's rest; a question that is only identity and function words has no rest.
#[test]
fn the_rest_of_a_question_leaves_out_the_identity_words() {
    let files = [(
        "k/a.md",
        "+++\nid = \"a\"\ntitle = \"A\"\n+++\n## ML architect pay\nAn ML architect earns well.\n## ML architect skills\nAn ML architect knows Kubernetes.\n## Books\nRead widely.\n",
    )];
    let e = engine_of(&files);
    let rest = |q: &str| e.lexical.without_identity(q);
    assert_eq!(
        rest("what interview questions do ML architects get?").as_deref(),
        Some("what interview questions do get")
    );
    assert_eq!(
        rest("what is an ML architect?"),
        None,
        "nothing asked beyond it"
    );
    assert_eq!(rest("which books to read"), None, "no identity words");
    let unknown = e
        .lexical
        .search("ML architect interview tips")
        .unknown_words;
    assert_eq!(unknown, ["interview", "tips"]);
}

#[test]
fn synonyms_expand() {
    let e = engine();
    let a = e.ask("what about k8s", 1);
    assert!(a.answered, "{a:?}");
    assert_eq!(a.hits[0].id, "skills/kubernetes");
    let a = e.ask("fresher ctc", 1);
    assert_eq!(a.hits[0].id, "pay/salary-for-freshers", "{a:?}");
}

#[test]
fn off_topic_is_refused() {
    let e = engine();
    for q in [
        "recipe for butter chicken",
        "zzzz xkcd lorem",
        "",
        "???",
        "what is it",
    ] {
        let a = e.ask(q, 3);
        assert!(!a.answered, "{q:?} answered: {a:?}");
        assert!(a.hits.is_empty());
    }
}

/// A question asking for a kind of figure its passage does not state is refused; the
/// same topic without that ask, or a passage that states one, is answered.
#[test]
fn a_figure_the_passage_does_not_state_is_refused() {
    let e = engine_of(&[(
        "k/learn.md",
        "+++\nid = \"learn\"\ntitle = \"Learning\"\n+++\n## Learning Kubernetes\nHow many weeks? Learning Kubernetes containers and Docker takes a few weeks of practice.\n",
    )]);
    let weeks = e.ask("how many weeks learning kubernetes containers", 1);
    assert!(weeks.answered, "{weeks:?}");
    let hours = e.ask(
        "how many hours learning kubernetes containers docker practice",
        1,
    );
    assert!(!hours.answered, "{hours:?}");
    let reason = hours.decision.map(|d| d.reason).unwrap_or_default();
    assert!(reason.contains("a number of hours"), "{reason}");
    assert!(reason.contains("Learning Kubernetes"), "{reason}");
    assert_eq!(
        hours.unstated,
        Some(Unstated {
            asked_for: "a number of hours".into(),
            nearest: "Learning Kubernetes".into(),
        })
    );
    let price = e.ask("fee for learning kubernetes containers docker practice", 1);
    assert!(!price.answered, "{price:?}");
    assert_eq!(
        price.unstated.as_ref().map(|u| u.asked_for.as_str()),
        Some("a price")
    );
    let reason = price.decision.map(|d| d.reason).unwrap_or_default();
    assert!(reason.contains("asks for a price"), "{reason}");
}

#[test]
fn top_zero_is_an_empty_refusal() {
    let a = engine().ask("senior salary", 0);
    assert!(!a.answered && a.hits.is_empty());
}

#[test]
fn highlight_marks_and_cuts_on_char_boundaries() {
    let e = engine();
    let text = "Linear algebra and eigen decomposition.";
    let s = snippet(&e, text, &["eigen".to_string()], 100);
    assert_eq!(s, "Linear algebra and **eigen** decomposition.");
    let long = format!("{} eigen {}", "é".repeat(300), "ü".repeat(300));
    let s = snippet(&e, &long, &["eigen".to_string()], 60);
    assert!(s.contains("**eigen**"), "{s}");
    assert!(s.chars().count() <= 60, "{} chars: {s}", s.chars().count());
    assert!(s.starts_with('…') && s.ends_with('…'));
}
