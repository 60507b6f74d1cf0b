//! Search: turns a question in the user's own words into a ranked, confidence-checked
//! [`Answer`]. The folder reads as the pipeline:
//!
//! 1. [`lexical`]: tantivy BM25 with typo correction and synonyms, and how much of the
//!    question's weight each candidate covers;
//! 2. [`semantic`]: sentence-embedding similarity of the question (and of the question
//!    sentences inside a long message) to every passage;
//! 3. [`fuse`]: one ranking from both signals, and the answer-or-refuse decision;
//!    `beyond` embeds what the in-domain refusal compares, for a short question that uses a
//!    word the base never does; `wanted` then refuses a short question that asks for a kind
//!    of figure (a price, a percentage, a date, a number of hours) its best passage does not
//!    state; `whose_pay` one about the pay of another job than the base's subject;
//!    `compare` one that compares two things when no passage shown names one of them, or
//!    the passages only list both;
//! 4. [`highlight`]: the part of the best passage worth showing, matches in bold.
//!
//! An engine without a model (`--lexical-only`) runs steps 1, 3 and 4 with the lexical
//! decision alone; see `fuse` for both rules.

/// A function returning one regex, compiled on first use (for `wanted` and `compare`, which
/// read a question's shape; the caller's module imports `Regex` and `OnceLock`).
macro_rules! regex_fn {
    ($(#[$doc:meta])* $name:ident, $source:expr) => {
        $(#[$doc])*
        fn $name() -> &'static Regex {
            static P: OnceLock<Regex> = OnceLock::new();
            P.get_or_init(|| Regex::new($source).expect("static pattern"))
        }
    };
}

mod beyond;
mod compare;
pub mod fuse;
pub mod highlight;
mod hinglish;
pub mod lexical;
mod pointers;
pub mod semantic;
mod typo;
mod wanted;
mod whose_pay;

use std::sync::Arc;

use serde::Serialize;

use crate::embed::cache::CacheStats;
use crate::knowledge::{KnowledgeBase, Passage};

pub use fuse::{Decision, Retrieval, Signals};
pub use highlight::{highlight, snippet};
pub use lexical::{Fields, MAX_SLOTS, MIN_COVERAGE};
pub use semantic::{SemanticIndex, SemanticModel};
pub use wanted::Unstated;

/// A comparison is answered when each side is mentioned by one of this many best passages,
/// the ones an answer shows by default ("fresher vs senior pay": one band each).
const COMPARED_IN: usize = 3;

/// Errors building an engine: tantivy or model failures, never user input.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("embedding the passages: {0}")]
    Embed(#[from] crate::embed::EmbedError),
}

/// One passage in an answer, in the CLI's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub text: String,
    pub score: f32,
    pub source: String,
    /// How the score came about (additive key of the JSON contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals: Option<Signals>,
}

impl Hit {
    /// A passage in hit shape, with the given score.
    pub fn from_passage(p: &Passage, score: f32) -> Hit {
        Hit {
            id: p.id.clone(),
            title: p.title.clone(),
            text: p.text.clone(),
            score,
            source: p.source.clone(),
            signals: None,
        }
    }
}

/// The engine's reply to one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub question: String,
    pub answered: bool,
    pub hits: Vec<Hit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    /// Why the question was answered or refused, for `--explain` and moderators.
    #[serde(skip)]
    pub decision: Option<Decision>,
    /// Index terms the question matched, for highlighting.
    #[serde(skip)]
    pub terms: Vec<String>,
    /// When refused: titles of the passages that came close (but not close enough), for
    /// "closest topics" in a polite refusal. Not part of the JSON contract.
    #[serde(skip)]
    pub suggestions: Vec<String>,
    /// When refused because the question asks for a kind of figure the nearest passage
    /// does not state: what it asked for and that passage, so the refusal can say so.
    #[serde(skip)]
    pub unstated: Option<Unstated>,
}

impl Answer {
    fn empty(question: &str) -> Answer {
        Answer {
            question: question.to_string(),
            answered: false,
            hits: Vec::new(),
            did_you_mean: None,
            decision: None,
            terms: Vec::new(),
            suggestions: Vec::new(),
            unstated: None,
        }
    }
}

/// An engine over one knowledge base generation. Immutable: reloading builds a new one.
pub struct Engine {
    kb: KnowledgeBase,
    lexical: lexical::Lexical,
    semantic: Option<SemanticIndex>,
    mode: Retrieval,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("passages", &self.kb.passages.len())
            .field("content_hash", &self.kb.content_hash)
            .field("semantic", &self.semantic.is_some())
            .finish()
    }
}

impl Engine {
    /// A lexical-only engine (no model): BM25, typos, synonyms and the coverage rule.
    pub fn build(kb: KnowledgeBase) -> Result<Engine, SearchError> {
        let lexical = lexical::Lexical::build(&kb)?;
        Ok(Engine {
            kb,
            lexical,
            semantic: None,
            mode: Retrieval::Lexical,
        })
    }

    /// A hybrid engine: lexical plus sentence embeddings of every passage (from the model's
    /// cache where the same text was embedded before).
    pub fn build_hybrid(kb: KnowledgeBase, model: &SemanticModel) -> Result<Engine, SearchError> {
        let embedder = model.embedder.clone();
        let lexical = lexical::Lexical::build(&kb)?
            .with_real_words(Arc::new(move |word: &str| embedder.is_whole_word(word)));
        let semantic = SemanticIndex::build(&kb, model)?;
        Ok(Engine {
            kb,
            lexical,
            semantic: Some(semantic),
            mode: Retrieval::Hybrid,
        })
    }

    /// Builds hybrid when a model is given, lexical-only otherwise.
    pub fn build_with(
        kb: KnowledgeBase,
        model: Option<&Arc<SemanticModel>>,
    ) -> Result<Engine, SearchError> {
        match model {
            Some(m) => Engine::build_hybrid(kb, m),
            None => Engine::build(kb),
        }
    }

    /// The knowledge base this engine serves.
    pub fn knowledge(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// Whether semantic search is on.
    pub fn is_hybrid(&self) -> bool {
        self.semantic.is_some() && self.mode == Retrieval::Hybrid
    }

    /// Which signals this engine ranks and decides with.
    pub fn mode(&self) -> Retrieval {
        if self.semantic.is_some() {
            self.mode
        } else {
            Retrieval::Lexical
        }
    }

    /// The same engine ranking with other signals (for measuring; a lexical-only engine
    /// stays lexical).
    pub fn with_mode(mut self, mode: Retrieval) -> Engine {
        self.mode = mode;
        self
    }

    /// How the passage vectors were obtained (cache hits and newly embedded), when hybrid.
    pub fn embedding_stats(&self) -> Option<CacheStats> {
        self.semantic.as_ref().map(|s| s.stats)
    }

    /// The schema handles (for benchmarks comparing against raw tantivy queries).
    pub fn fields(&self) -> Fields {
        self.lexical.fields()
    }

    /// The searcher (for benchmarks comparing against raw tantivy queries).
    pub fn searcher(&self) -> &tantivy::Searcher {
        self.lexical.searcher()
    }

    /// Index terms of `text` with byte ranges, for highlighting a passage.
    pub fn terms_in(&self, text: &str) -> Vec<(String, std::ops::Range<usize>)> {
        self.lexical.terms_in(text)
    }

    /// Both retrievals and their fusion: every candidate with its signals, and the decision.
    fn rank(&self, question: &str) -> Ranking {
        let question = clean_question(question);
        let question = question.as_str();
        let lexical = self.lexical.search(question);
        let semantic = self
            .semantic
            .as_ref()
            .filter(|_| self.mode != Retrieval::Lexical);
        let similarities = semantic.and_then(|index| {
            let corrected = index.corrected_for_model(question, &lexical.corrections);
            // A Hinglish question is also read in English (typo fixes included).
            let for_model =
                hinglish::in_english(corrected.as_deref().unwrap_or(question)).or(corrected);
            match index.similarities(question, for_model.as_deref()) {
                Ok(s) => Some(s),
                Err(e) => {
                    // The model failed on this text (it should not): fall back to the
                    // lexical answer rather than no answer.
                    tracing::error!(error = %e, "semantic search failed; answering lexically");
                    None
                }
            }
        });
        let (ranked, mut decision) = fuse::fuse(&lexical, similarities.as_deref(), self.mode);
        if decision.answered && self.mode == Retrieval::Hybrid {
            if let (Some(index), Some(best)) = (semantic, ranked.first()) {
                if fuse::may_be_beyond_the_base(best, &lexical) {
                    let check = beyond::BeyondCheck::of(index, &self.lexical, question, &lexical);
                    if let Some(refusal) =
                        check.and_then(|c| c.refusal(index, question, &lexical, best))
                    {
                        decision = refusal;
                    }
                }
            }
        }
        // A figure the nearest passage does not state (`wanted`), a comparison whose answer
        // names one side only (`compare`); not in the semantic-only comparison, which
        // measures the similarity alone.
        let mut unstated = None;
        if decision.answered && self.mode != Retrieval::Semantic && fuse::is_short(&lexical) {
            if let (Some(wanted), Some(best)) =
                (wanted::Wanted::of_question(question), ranked.first())
            {
                let passage = &self.kb.passages[best.ord];
                if !wanted.stated_in(&passage.title) && !wanted.stated_in(&passage.text) {
                    let (refusal, what) =
                        wanted::refusal(wanted, &passage.title, lexical.unknown_share);
                    decision = refusal;
                    unstated = Some(what);
                }
            }
            if let Some(job) = self.lexical.other_job_paid(question) {
                decision = Decision {
                    answered: false,
                    reason: format!(
                        "refused: the question asks about the pay of a {job}, and the knowledge base gives pay only for the job it is about"
                    ),
                    unknown_share: lexical.unknown_share,
                };
            }
            let shown: Vec<usize> = ranked.iter().take(COMPARED_IN).map(|s| s.ord).collect();
            if let Some(refusal) = self.comparison_unanswered(
                lexical.did_you_mean.as_deref().unwrap_or(question),
                &shown,
                lexical.unknown_share,
            ) {
                decision = refusal;
            }
        }
        Ranking {
            lexical,
            ranked,
            decision,
            unstated,
        }
    }

    /// The refusal of a comparison the passages an answer would show (`shown`, best first)
    /// do not answer: none mentions one side, or they only list both (see `compare`).
    fn comparison_unanswered(
        &self,
        corrected: &str,
        shown: &[usize],
        unknown_share: f32,
    ) -> Option<Decision> {
        // Read with typos fixed: "wat is the differnce between ...".
        let comparison = compare::Comparison::of_question(corrected)?;
        let title = &self.kb.passages.get(*shown.first()?)?.title;
        let texts: Vec<String> = shown
            .iter()
            .filter_map(|&ord| self.kb.passages.get(ord))
            .map(|p| format!("{}.\n{}", p.title, p.text))
            .collect();
        let passages: Vec<(usize, &str)> = shown
            .iter()
            .copied()
            .zip(texts.iter().map(String::as_str))
            .collect();
        let [first, second] = comparison
            .sides()
            .map(|side| self.lexical.mentions(side, &passages));
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let why = match comparison.unanswered([first.as_ref(), second.as_ref()], &texts)? {
            compare::Unanswered::Missing(side) => {
                format!("none of the best passages (\"{title}\" first) mentions {side}")
            }
            compare::Unanswered::OnlyListed => format!(
                "the best passages (\"{title}\" first) only list them together, without comparing them"
            ),
        };
        Some(Decision {
            answered: false,
            reason: format!(
                "refused: the question compares {} with {}, and {why}",
                comparison.first, comparison.second
            ),
            unknown_share,
        })
    }

    /// Answers one question with at most `top` hits, best first. `top` 0 is an empty
    /// refusal (the CLI refuses `--top 0` before it gets here).
    pub fn ask(&self, question: &str, top: usize) -> Answer {
        if top == 0 {
            return Answer::empty(question);
        }
        let ranking = self.rank(question);
        self.answer(question, top, ranking).0
    }

    /// The answer from a ranking: hits when answered, near titles as suggestions when not.
    /// The ranking's candidates come back for `--explain`.
    fn answer(&self, question: &str, top: usize, ranking: Ranking) -> (Answer, Vec<Signals>) {
        let Ranking {
            lexical,
            ranked,
            decision,
            unstated,
        } = ranking;
        let mut answer = Answer::empty(question);
        answer.unstated = unstated;
        answer.did_you_mean = lexical.did_you_mean;
        answer.terms = lexical.terms;
        if decision.answered {
            answer.answered = true;
            answer.hits = ranked
                .iter()
                .take(top)
                .map(|s| {
                    let mut hit = Hit::from_passage(&self.kb.passages[s.ord], s.fused);
                    hit.signals = Some(*s);
                    hit
                })
                .collect();
        } else {
            answer.did_you_mean = None;
            answer.suggestions = ranked
                .iter()
                .take(3)
                .filter(|s| fuse::is_near(s))
                .map(|s| self.kb.passages[s.ord].title.clone())
                .collect();
        }
        answer.decision = Some(decision);
        (answer, ranked)
    }

    /// Like [`Engine::ask`], but also every candidate with its signals, answered or not:
    /// for `--explain` on a refusal.
    pub fn explain(&self, question: &str, top: usize) -> (Answer, Vec<(String, Signals)>) {
        if top == 0 {
            return (Answer::empty(question), Vec::new());
        }
        let ranking = self.rank(question);
        let (answer, ranked) = self.answer(question, top, ranking);
        let candidates = ranked
            .into_iter()
            .take(top.max(3))
            .map(|s| (self.kb.passages[s.ord].title.clone(), s))
            .collect();
        (answer, candidates)
    }
}

/// Both retrievals' candidates, fused and decided, for one question.
struct Ranking {
    lexical: lexical::LexicalResult,
    ranked: Vec<Signals>,
    decision: Decision,
    unstated: Option<Unstated>,
}

/// The question as the engine reads it: composed (NFC), so a decomposed "résumé" typed on
/// some keyboards is one word rather than "re" + accent + "sume", and without invisible
/// characters (zero-width space, word joiner, soft hyphen, BOM) that would split a word.
pub fn clean_question(question: &str) -> String {
    use unicode_normalization_alignments::UnicodeNormalization as _;
    question
        .nfc()
        .map(|(c, _)| c)
        .filter(|c| !matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'))
        .collect()
}

#[cfg(test)]
mod tests {
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
            .mentions("k8s", &[(kubernetes, text)])
            .expect("a base word");
        let spans: Vec<&str> = found.at.iter().map(|(_, r)| &text[r.clone()]).collect();
        assert_eq!(spans, ["Kubernetes", "Kubernetes"]);
        let math = "Mathematics.\nLinear algebra and eigen decomposition.";
        let found = e
            .lexical
            .mentions("linear algebra", &[(mathematics, math)])
            .expect("words");
        assert_eq!(found.at.len(), 1);
        assert!(!found.loosely);
        let found = e
            .lexical
            .mentions("eigen algebra", &[(mathematics, math)])
            .expect("words");
        assert!(found.at.is_empty() && found.loosely && found.any());
        let found = e
            .lexical
            .mentions("sql", &[(kubernetes, text)])
            .expect("a base word");
        assert!(!found.any());
        assert_eq!(
            e.lexical.mentions("nomad", &[(kubernetes, text)]),
            None,
            "no word for it"
        );
        // A real word the base never uses makes a side no passage mentions; a fragment the
        // model has no word for ("qzx") is left out of it.
        let mut e = e;
        e.lexical = e
            .lexical
            .with_real_words(Arc::new(|w: &str| w == "operator"));
        let found = e
            .lexical
            .mentions("kubernetes operator", &[(kubernetes, text)]);
        assert_eq!(found.map(|f| f.any()), Some(false));
        let found = e.lexical.mentions("kubernetes qzx", &[(kubernetes, text)]);
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
        // Written as a name inside a sentence, a real word of any length is a name: "learn
        // Senior" would be a slip, "learn Sentor" (no word) still a typo.
        let real: lexical::RealWords = Arc::new(|w: &str| matches!(w, "sql2" | "senor"));
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
}
