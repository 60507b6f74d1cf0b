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
    /// The nearest not-covered topic (hybrid engines over a base that lists some): named in
    /// the refusal when the question was refused for it, shown by `--explain` otherwise.
    #[serde(skip)]
    pub nearest_topic: Option<NearTopic>,
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
            nearest_topic: None,
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
        let similarities = semantic.and_then(|index| self.similarities(index, question, &lexical));
        let (ranked, mut decision) = fuse::fuse(
            &lexical,
            similarities.as_ref().map(|s| s.passages.as_slice()),
            self.mode,
        );
        let nearest_topic = similarities
            .as_ref()
            .filter(|_| self.mode == Retrieval::Hybrid)
            .and_then(|s| self.nearest_topic(s, &mut decision));
        if decision.answered && self.mode == Retrieval::Hybrid {
            if let (Some(index), Some(best)) = (semantic, ranked.first()) {
                let check = fuse::may_be_beyond_the_base(best, &lexical)
                    .then(|| beyond::BeyondCheck::of(index, &self.lexical, question, &lexical));
                if let Some(refusal) = check
                    .flatten()
                    .and_then(|c| c.refusal(index, question, &lexical, best))
                {
                    decision = refusal;
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
            // Read with typos fixed, like the comparison: "data scientst salary".
            let corrected = lexical.did_you_mean.as_deref().unwrap_or(question);
            if let Some(refusal) = self.other_job_refusal(corrected, lexical.unknown_share) {
                decision = refusal;
                unstated = None;
            }
            let shown: Vec<usize> = ranked.iter().take(COMPARED_IN).map(|s| s.ord).collect();
            if let Some(refusal) =
                self.comparison_unanswered(corrected, &shown, lexical.unknown_share)
            {
                decision = refusal;
                unstated = None;
            }
        }
        Ranking {
            lexical,
            ranked,
            decision,
            unstated,
            nearest_topic,
        }
    }

    /// The question's similarity to every passage and not-covered topic, `None` when the
    /// model fails on it (it should not: the question is then answered lexically rather
    /// than not at all).
    fn similarities(
        &self,
        index: &SemanticIndex,
        question: &str,
        lexical: &lexical::LexicalResult,
    ) -> Option<semantic::Similarities> {
        let corrected = index.corrected_for_model(question, &lexical.corrections);
        // A Hinglish question is also read in English (typo fixes included).
        let for_model =
            hinglish::in_english(corrected.as_deref().unwrap_or(question)).or(corrected);
        index
            .similarities(question, for_model.as_deref())
            .map_err(|e| tracing::error!(error = %e, "semantic search failed; answering lexically"))
            .ok()
    }

    /// The not-covered topic nearest the question, if the base lists any; an answered
    /// `decision` becomes a refusal naming it when the question is nearer to it than to
    /// every passage (see [`fuse::not_covered`]).
    fn nearest_topic(
        &self,
        similarities: &semantic::Similarities,
        decision: &mut Decision,
    ) -> Option<NearTopic> {
        let (t, &similarity) = similarities
            .topics
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        let topic = self.kb.not_covered.get(t)?;
        let nearest_passage = similarities
            .passages
            .iter()
            .copied()
            .fold(f32::MIN, f32::max);
        let mut refused = false;
        if decision.answered {
            if let Some(refusal) =
                fuse::not_covered(nearest_passage, similarity, topic, decision.unknown_share)
            {
                *decision = refusal;
                refused = true;
            }
        }
        Some(NearTopic {
            name: topic.name.clone(),
            similarity,
            nearest_passage,
            refused,
        })
    }

    /// The refusal of a question about another job's pay than the one the base gives (see
    /// `whose_pay`).
    fn other_job_refusal(&self, question: &str, unknown_share: f32) -> Option<Decision> {
        let job = self.lexical.other_job_paid(question)?;
        Some(Decision {
            answered: false,
            reason: format!(
                "refused: the question asks what {job} roles pay, and the knowledge base's salary figures are for another job"
            ),
            unknown_share,
        })
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
        let passages: Vec<lexical::PassageText> = shown
            .iter()
            .filter_map(|&ord| {
                let p = self.kb.passages.get(ord)?;
                Some(
                    self.lexical
                        .passage_text(ord, format!("{}.\n{}", p.title, p.text)),
                )
            })
            .collect();
        let [first, second] = comparison
            .sides()
            .map(|side| self.lexical.mentions(side, &passages));
        let texts: Vec<&str> = passages.iter().map(|p| p.text.as_str()).collect();
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
            nearest_topic,
        } = ranking;
        let mut answer = Answer::empty(question);
        answer.unstated = unstated;
        answer.nearest_topic = nearest_topic;
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
    nearest_topic: Option<NearTopic>,
}

/// The not-covered topic (`not-covered.toml`) nearest a question, and whether the question
/// was refused for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NearTopic {
    pub name: String,
    pub similarity: f32,
    /// The nearest passage's similarity, which the topic's must exceed.
    pub nearest_passage: f32,
    pub refused: bool,
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
mod tests;
