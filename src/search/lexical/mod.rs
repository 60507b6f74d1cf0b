//! Lexical retrieval: an in-RAM tantivy index over the passages, and the question pipeline
//! that turns free user text into BM25 candidates with a per-word coverage signal.
//!
//! Why queries are built by hand instead of with tantivy's `QueryParser`: user text must never
//! be a syntax error (`title:`, `"`, `AND OR`, `*` are just words here), and we need to know,
//! per question word, whether it was understood, corrected or unknown. That per-word view is
//! what drives the three things a plain BM25 search does not give:
//!
//! - **Typo tolerance**: a word the index has never seen is corrected to the closest surface
//!   word of the knowledge base (optimal string alignment distance, 1 edit for short words,
//!   2 for long ones, ties to the more common word). Because the correction is a real indexed
//!   term, highlighting works on fuzzy matches too (tantivy's `SnippetGenerator` ignores fuzzy
//!   terms, tantivy#2576), and the user gets a "did you mean" question. A short unknown word
//!   with no close word may be a texting abbreviation of one: "sal" (a prefix of "salary"),
//!   "lvl" (the consonants of "level"), "certs"; it stands for the most common base word it
//!   abbreviates, at the same discount as a typo fix.
//! - **Synonyms**: the base's `synonyms.toml` maps words users type (`pay`, `ml`) to words the
//!   base uses (`salary`, `machine learning`); both are searched, the variant's own term too.
//! - **Confidence**: every question word is a *slot* weighted by its rarity (BM25 idf; words
//!   the base does not know weigh as much as the rarest word). A passage's *coverage* is the
//!   share of that weight it matches, corrected words counting at a discount. Ranking is BM25
//!   scaled by coverage. Coverage alone used to decide answer or refuse; now it is one signal
//!   the fusion step ([`super::fuse`]) weighs with the semantic similarity.

mod analysis;
mod build;
mod correct;
mod mention;
mod names;
mod slots;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{IndexReader, Searcher, Term};

use super::pointers::Pointers;

pub use analysis::Fields;
use analysis::{is_stopword, Analyzers, FILLERS};
pub use correct::RealWords;
use correct::VocabWord;
pub use mention::{is_job_word, PassageText, SideMentions};
use names::{describes_the_asker, introduces_the_asker};
use slots::Slot;

/// The share of a question's weight the best passage must cover for a lexical-only answer.
pub const MIN_COVERAGE: f32 = 0.5;
/// Questions are cut to this many content words: enough for any real question, and it keeps
/// a 10,000-character paste from building a 10,000-clause query.
pub const MAX_SLOTS: usize = 24;
/// Corrected words count for this share of their weight in coverage: a typo fix is a guess.
const CORRECTED_WEIGHT: f32 = 0.6;
/// A term in more than this share of passages is too common to search for (see `ask`).
const COMMON_SHARE: f32 = 0.3;
/// Words in at least this share of passages name what the whole base is about ("ML",
/// "architect" in the shipped one): they say the question is in the domain, not what it asks.
pub const IDENTITY_SHARE: f32 = 0.5;
/// How many candidates BM25 hands to the coverage re-ranking.
pub const CANDIDATES: usize = 10;

/// The clauses of a BM25 query, each a term in one field.
type Clauses = Vec<(Occur, Box<dyn Query>)>;

/// The lexical index over one knowledge base generation. Immutable.
pub struct Lexical {
    fields: Fields,
    searcher: Searcher,
    // Keeps the index alive for the searcher's segments.
    _reader: IndexReader,
    ords: Vec<Column<u64>>,
    analyzers: Analyzers,
    /// Index term -> number of passages containing it.
    df: HashMap<String, u32>,
    /// Index terms of each passage, for coverage.
    passage_terms: Vec<HashSet<String>>,
    /// Surface words bucketed by char length, for typo correction.
    vocab_by_len: Vec<Vec<VocabWord>>,
    /// Known surface words (for "is this word known?").
    surface_known: HashSet<String>,
    /// Words the base writes in capitals ("US", "AWS"), as written.
    acronyms: HashSet<String>,
    /// Synonym variants as surface-token sequences -> canonical index terms.
    synonyms: Vec<(Vec<String>, Vec<String>)>,
    max_idf: f32,
    /// Number of passages indexed.
    passages: usize,
    /// Whole words of a dictionary (the model's vocabulary), when there is one: see
    /// [`RealWords`].
    real_words: Option<RealWords>,
    /// Years of experience and numbered sections a question points at.
    pointers: Pointers,
}

/// One passage the lexical search found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalScore {
    /// Passage index in the knowledge base.
    pub ord: usize,
    /// BM25 scaled by coverage (and the stated-experience boost).
    pub score: f32,
    /// Share of the question's weight this passage matches, 0..=1.
    pub coverage: f32,
    /// The same share of what the question asks besides the base's identity words (those in
    /// at least [`IDENTITY_SHARE`] of passages, "ML" and "architect" in the shipped base),
    /// 0..=1; 0 when it asks nothing besides them.
    pub coverage_beyond_identity: f32,
}

/// What the lexical side makes of one question.
#[derive(Debug, Clone, Default)]
pub struct LexicalResult {
    /// Best first, at most [`CANDIDATES`].
    pub ranked: Vec<LexicalScore>,
    /// The question with typos corrected, when any were.
    pub did_you_mean: Option<String>,
    /// Index terms searched, for highlighting.
    pub terms: Vec<String>,
    /// Share of the question's weight carried by words the base does not know at all
    /// (neither indexed, a synonym nor a correctable typo), 0..=1.
    pub unknown_share: f32,
    /// Typo corrections: byte span in the question and the word it was corrected to.
    pub corrections: Vec<(Range<usize>, String)>,
    /// Names in the question ("Google", "US") the base never mentions.
    pub unknown_names: Vec<String>,
    /// Words in the question.
    pub words: usize,
    /// Passages the question points at by a number: the salary band covering the years it
    /// states, the numbered section it names (see [`Pointers`]).
    pub pointed: Vec<usize>,
    /// Lowercased question words the base does not know at all (no index term, synonym or
    /// typo fix), numbers, chat fillers and what the asker says they are ("I'm a nurse") left
    /// out.
    pub unknown_words: Vec<String>,
}

impl Lexical {
    /// The schema handles (for benchmarks comparing against raw tantivy queries).
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// The searcher (for benchmarks comparing against raw tantivy queries).
    pub fn searcher(&self) -> &Searcher {
        &self.searcher
    }

    fn idf(&self, term: &str) -> f32 {
        let df = self.df.get(term).copied().unwrap_or(0) as f32;
        bm25_idf(self.passages as f32, df)
    }

    /// The lexical view of one question: BM25 candidates re-ranked by coverage.
    pub fn search(&self, question: &str) -> LexicalResult {
        let mut analyzers = self.analyzers.clone();
        let slots = self.slots(&mut analyzers, question);
        let mut result = LexicalResult::default();
        let total_weight: f32 = slots.iter().map(|s| s.weight).sum();
        if total_weight <= 0.0 {
            return result;
        }
        self.note_unknowns(question, &slots, total_weight, &mut result);
        let (clauses, searched) = self.query(&slots);
        result.corrections = slots
            .iter()
            .filter_map(|s| Some((s.span.clone(), s.corrected.clone()?)))
            .collect();
        if !result.corrections.is_empty() {
            result.did_you_mean = Some(corrected_question(question, &result.corrections));
        }
        result.terms = searched.into_iter().collect();
        result.terms.sort();
        if clauses.is_empty() {
            return result;
        }
        let query = BooleanQuery::new(clauses);
        let found = match self
            .searcher
            .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
        {
            Ok(found) => found,
            Err(e) => {
                // An in-RAM index does not fail on reads; if it ever does, say "nothing
                // found" rather than take the caller down.
                tracing::error!(error = %e, "search failed");
                return result;
            }
        };
        result.pointed = self.pointers.pointed_at(question);
        let identity: Vec<bool> = slots
            .iter()
            .map(|s| {
                !s.alternatives.is_empty()
                    && s.alternatives.iter().all(|(t, _)| self.is_identity(t))
            })
            .collect();
        for (score, addr) in found {
            let Some(ord) = self
                .ords
                .get(addr.segment_ord as usize)
                .and_then(|c| c.first(addr.doc_id))
            else {
                continue;
            };
            let ord = ord as usize;
            let Some(terms) = self.passage_terms.get(ord) else {
                continue;
            };
            let coverage_beyond_identity = covered_share(terms, &slots, |i| !identity[i]);
            let coverage = covered_share(terms, &slots, |_| true);
            let mut score = score * (0.5 + coverage);
            // "I have 4 years of experience", "phase 0": the band covering the stated years,
            // the section named, outranks the others, which match the same words.
            if result.pointed.contains(&ord) {
                score *= 2.0;
            }
            result.ranked.push(LexicalScore {
                ord,
                score,
                coverage,
                coverage_beyond_identity,
            });
        }
        result
            .ranked
            .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
        result
    }

    /// What of the question the base does not know: its share of the weight, the words and
    /// the names.
    fn note_unknowns(
        &self,
        question: &str,
        slots: &[Slot],
        total_weight: f32,
        result: &mut LexicalResult,
    ) {
        let unknown: f32 = slots
            .iter()
            .filter(|s| s.alternatives.is_empty())
            .map(|s| s.weight)
            .sum();
        result.unknown_share = (unknown / total_weight).clamp(0.0, 1.0);
        result.words = question.split_whitespace().count();
        result.unknown_words = slots
            .iter()
            .filter(|s| s.alternatives.is_empty())
            .filter(|s| !describes_the_asker(question, s.span.start))
            .filter_map(|s| question.get(s.span.clone()))
            .map(str::to_lowercase)
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) && !FILLERS.contains(&w.as_str()))
            .collect();
        result.unknown_names = slots
            .iter()
            .filter(|s| s.name && s.alternatives.is_empty())
            .filter(|s| !introduces_the_asker(question, s.span.start))
            .filter_map(|s| question.get(s.span.clone()).map(str::to_string))
            .collect();
    }

    /// The BM25 query of the slots' terms, every field at its boost, and the terms searched.
    /// Built term by term, so no user text is ever query syntax.
    fn query(&self, slots: &[Slot]) -> (Clauses, HashSet<String>) {
        let mut clauses: Clauses = Vec::new();
        let mut searched = HashSet::new();
        // Terms in most passages barely move BM25 but cost the longest posting lists: leave
        // them out of the search (coverage still counts them) unless nothing rarer is asked.
        let common = (self.passages as f32 * COMMON_SHARE) as u32;
        let any_rare = slots
            .iter()
            .flat_map(|s| &s.alternatives)
            .any(|(t, _)| self.df.get(t).is_some_and(|&df| df <= common));
        for slot in slots {
            for (term, boost) in &slot.alternatives {
                if !searched.insert(term.clone()) {
                    continue;
                }
                if any_rare && self.df.get(term).is_some_and(|&df| df > common) {
                    continue;
                }
                for (field, field_boost) in self.fields.searched() {
                    let q = TermQuery::new(
                        Term::from_field_text(field, term),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(q), boost * field_boost)),
                    ));
                }
            }
        }
        (clauses, searched)
    }

    /// Whether index term `term` is an identity word: in at least [`IDENTITY_SHARE`] of
    /// passages (at least two).
    fn is_identity(&self, term: &str) -> bool {
        let limit = ((self.passages as f32 * IDENTITY_SHARE).ceil() as u32).max(2);
        self.df.get(term).is_some_and(|&df| df >= limit)
    }

    /// `question` without the words in at least [`IDENTITY_SHARE`] of passages; `None` when
    /// it has none, or when only function words and numbers would be left ("what is an ML
    /// architect" asks about the identity itself).
    ///
    /// Asked only for short questions that might be refused (see
    /// [`super::fuse::beyond_the_base`]), not in every search.
    pub fn without_identity(&self, question: &str) -> Option<String> {
        let mut analyzers = self.analyzers.clone();
        let mut kept: Vec<&str> = Vec::new();
        let mut dropped = false;
        let mut asks = false;
        for (word, span) in analyzers.surface_tokens(question) {
            let stem = analyzers.stem_word(&word);
            if self.is_identity(&stem) {
                dropped = true;
                continue;
            }
            asks |= !is_stopword(&word) && !word.chars().all(|c| c.is_ascii_digit());
            kept.extend(question.get(span));
        }
        (dropped && asks).then(|| kept.join(" "))
    }

    /// The other job than the one the base's salary table is for whose pay a question asks
    /// about, if it does (see `search::whose_pay`).
    pub fn other_job_paid(&self, question: &str) -> Option<String> {
        let paid = self.pointers.paid_jobs();
        if paid.is_empty() || !self.pointers.asks_pay(question) {
            return None;
        }
        let mut analyzers = self.analyzers.clone();
        super::whose_pay::other_job(
            question,
            |word| {
                paid.iter()
                    .any(|job| job == word.strip_suffix('s').unwrap_or(word))
                    || self.is_identity(&analyzers.stem_word(word))
            },
            |word| self.pointers.is_pay_word(word),
        )
    }

    /// Index terms of `text` with byte ranges, for highlighting a passage.
    pub fn terms_in(&self, text: &str) -> Vec<(String, Range<usize>)> {
        self.analyzers.clone().index_terms(text)
    }
}

/// The share of the weight of the slots `counted` (by index) that a passage with index
/// `terms` matches, corrected words at a discount; 0 when no slot is counted.
fn covered_share(terms: &HashSet<String>, slots: &[Slot], counted: impl Fn(usize) -> bool) -> f32 {
    let (mut covered, mut total) = (0.0f32, 0.0f32);
    for (_, slot) in slots.iter().enumerate().filter(|(i, _)| counted(*i)) {
        total += slot.weight;
        if slot.alternatives.iter().any(|(t, _)| terms.contains(t)) {
            covered += if slot.corrected.is_some() {
                slot.weight * CORRECTED_WEIGHT
            } else {
                slot.weight
            };
        }
    }
    if total > 0.0 {
        (covered / total).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn bm25_idf(n: f32, df: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// The question with each corrected word (byte span, correction) replaced.
pub fn corrected_question(question: &str, corrections: &[(Range<usize>, String)]) -> String {
    let mut out = String::with_capacity(question.len());
    let mut last = 0;
    for (span, fix) in corrections {
        if span.start >= last && question.is_char_boundary(span.start) {
            if let Some(kept) = question.get(last..span.start) {
                out.push_str(kept);
                out.push_str(fix);
                last = span.end;
            }
        }
    }
    out.push_str(question.get(last..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_question_keeps_the_rest() {
        let fixes = vec![(4..10, "salary".to_string())];
        assert_eq!(corrected_question("mid salery?", &fixes), "mid salary?");
    }
}
