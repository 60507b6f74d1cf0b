//! Search engine: an in-RAM tantivy index over the passages, and the question pipeline that
//! turns free user text into a ranked, confidence-checked [`Answer`].
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
//!   terms, tantivy#2576), and the user gets a "did you mean" question.
//! - **Synonyms**: the base's `synonyms.toml` maps words users type (`pay`, `ml`) to words the
//!   base uses (`salary`, `machine learning`); both are searched, the variant's own term too.
//! - **Confidence**: every question word is a *slot* weighted by its rarity (BM25 idf; words
//!   the base does not know weigh as much as the rarest word). A passage's *coverage* is the
//!   share of that weight it matches, corrected words counting at a discount. Ranking is BM25
//!   scaled by coverage, and a question is answered only when the best passage covers at least
//!   [`MIN_COVERAGE`] of it: "pizza dough recipe" shares no rare word with the base, so it is
//!   refused instead of returning whatever passage mentions "recipe".

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, Searcher, TantivyDocument, Term};

use crate::knowledge::{salary_band_passage_id, KnowledgeBase, Passage};

/// The share of a question's weight the best passage must cover to count as an answer.
pub const MIN_COVERAGE: f32 = 0.5;
/// Questions are cut to this many content words: enough for any real question, and it keeps
/// a 10,000-character paste from building a 10,000-clause query.
pub const MAX_SLOTS: usize = 24;
/// Corrected words count for this share of their weight in coverage: a typo fix is a guess.
const CORRECTED_WEIGHT: f32 = 0.6;
/// Synonym terms are searched at this boost relative to the user's own word.
const SYNONYM_BOOST: f32 = 0.8;
const TITLE_BOOST: f32 = 2.0;
const KEYWORDS_BOOST: f32 = 1.5;
/// A term in more than this share of passages is too common to search for (see `ask`).
const COMMON_SHARE: f32 = 0.3;
/// How many candidates BM25 hands to the coverage re-ranking.
const CANDIDATES: usize = 10;

const ANALYZER: &str = "careerbot";

/// Function words of questions and English prose. Not domain words: those carry meaning.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "for",
    "from", "get", "give", "got", "had", "has", "have", "having", "he", "her", "here", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "might", "more",
    "most", "much", "must", "my", "no", "not", "of", "on", "one", "only", "or", "other", "our",
    "out", "over", "please", "s", "she", "should", "so", "some", "such", "tell", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "thing", "things", "this", "those",
    "to", "too", "up", "us", "very", "was", "way", "we", "were", "what", "whats", "when", "where",
    "which", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "d", "ll", "m",
    "re", "t", "ve", "im", "dont", "want", "know", "need", "like", "really", "hi", "hello", "hey",
    "thanks", "thank", "pls", "plz", "expect", "anyone", "someone",
];

/// The passage fields the index searches, plus the fast field mapping hits back to passages.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub title: Field,
    pub keywords: Field,
    pub body: Field,
    pub ord: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            title: b.add_text_field("title", text.clone()),
            keywords: b.add_text_field("keywords", text.clone()),
            body: b.add_text_field("body", text),
            ord: b.add_u64_field("ord", FAST | STORED),
        };
        (b.build(), fields)
    }

    fn searched(&self) -> [(Field, f32); 3] {
        [
            (self.title, TITLE_BOOST),
            (self.keywords, KEYWORDS_BOOST),
            (self.body, 1.0),
        ]
    }
}

/// Errors building the index: tantivy failures, never user input.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// One passage in an answer, in the CLI's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub text: String,
    pub score: f32,
    pub source: String,
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
    /// Index terms the question matched, for highlighting.
    #[serde(skip)]
    pub terms: Vec<String>,
    /// When refused: titles of the passages that came closest (below the confidence
    /// threshold), for "closest topics" in a polite refusal. Not part of the JSON contract.
    #[serde(skip)]
    pub suggestions: Vec<String>,
}

/// One content word of the question and the index terms that stand for it.
#[derive(Debug, Clone)]
struct Slot {
    /// Byte range in the question (for "did you mean").
    span: Range<usize>,
    /// Index terms and their boosts; empty when the word is unknown.
    alternatives: Vec<(String, f32)>,
    /// idf-based weight in coverage.
    weight: f32,
    /// The surface word this slot was corrected to, if it was.
    corrected: Option<String>,
}

/// Text analysis shared by indexing, question parsing and highlighting.
#[derive(Clone)]
struct Analyzers {
    /// Lowercased, ASCII-folded words with offsets, nothing dropped.
    surface: TextAnalyzer,
    /// The index analyzer: surface + stopwords removed + English stemming.
    index: TextAnalyzer,
    /// Stemming without stopword removal, to stem one known-content word.
    stem: TextAnalyzer,
}

impl Analyzers {
    fn new() -> Analyzers {
        let stop = StopWordFilter::remove(STOPWORDS.iter().map(|w| w.to_string()));
        Analyzers {
            surface: TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .build(),
            index: TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .filter(stop)
                .filter(Stemmer::new(Language::English))
                .build(),
            stem: TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }

    fn surface_tokens(&mut self, text: &str) -> Vec<(String, Range<usize>)> {
        let mut out = Vec::new();
        let mut stream = self.surface.token_stream(text);
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from..t.offset_to));
        }
        out
    }

    fn index_terms(&mut self, text: &str) -> Vec<(String, Range<usize>)> {
        let mut out = Vec::new();
        let mut stream = self.index.token_stream(text);
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from..t.offset_to));
        }
        out
    }

    /// Stem of one lowercase surface word.
    fn stem_word(&mut self, word: &str) -> String {
        let mut stream = self.stem.token_stream(word);
        match stream.next() {
            Some(t) => t.text.clone(),
            None => word.to_string(),
        }
    }
}

fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// A known surface word for typo correction.
#[derive(Debug, Clone)]
struct VocabWord {
    word: String,
    /// `word` as chars, for the edit-distance loop.
    chars: Vec<char>,
    /// Which letters occur in `word`, for a cheap pre-check (see [`letter_mask`]).
    mask: u32,
    stem: String,
    df: u32,
}

/// An engine over one knowledge base generation. Immutable: reloading builds a new one.
pub struct Engine {
    kb: KnowledgeBase,
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
    /// Synonym variants as surface-token sequences -> canonical index terms.
    synonyms: Vec<(Vec<String>, Vec<String>)>,
    max_idf: f32,
    /// "4 years", "7+ yrs": experience stated in a question.
    years_pattern: regex::Regex,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("passages", &self.kb.passages.len())
            .field("content_hash", &self.kb.content_hash)
            .finish()
    }
}

impl Engine {
    /// Indexes a validated knowledge base in RAM.
    pub fn build(kb: KnowledgeBase) -> Result<Engine, SearchError> {
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        let mut analyzers = Analyzers::new();
        index
            .tokenizers()
            .register(ANALYZER, analyzers.index.clone());
        // One thread and one commit: a single segment, doc ids in insertion order.
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000)?;
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut passage_terms = Vec::with_capacity(kb.passages.len());
        let mut surface_df: HashMap<String, u32> = HashMap::new();
        for (ord, p) in kb.passages.iter().enumerate() {
            // The document title is context every section shares ("Salaries in India").
            let keywords = format!("{}, {}", p.doc_title, p.keywords.join(", "));
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.title, &p.title);
            doc.add_text(fields.keywords, &keywords);
            doc.add_text(fields.body, &p.text);
            doc.add_u64(fields.ord, ord as u64);
            writer.add_document(doc)?;

            let mut terms = HashSet::new();
            let mut words = HashSet::new();
            for text in [p.title.as_str(), keywords.as_str(), p.text.as_str()] {
                terms.extend(analyzers.index_terms(text).into_iter().map(|(t, _)| t));
                words.extend(
                    analyzers
                        .surface_tokens(text)
                        .into_iter()
                        .map(|(w, _)| w)
                        .filter(|w| !is_stopword(w)),
                );
            }
            for t in &terms {
                *df.entry(t.clone()).or_default() += 1;
            }
            for w in words {
                *surface_df.entry(w).or_default() += 1;
            }
            passage_terms.push(terms);
        }
        writer.commit()?;
        drop(writer);
        let reader = index.reader()?;
        let searcher = reader.searcher();
        let mut ords = Vec::new();
        for seg in searcher.segment_readers() {
            ords.push(seg.fast_fields().u64("ord")?);
        }

        let mut vocab_by_len: Vec<Vec<VocabWord>> = Vec::new();
        let mut surface_known = HashSet::new();
        let mut sorted: Vec<(String, u32)> = surface_df.into_iter().collect();
        sorted.sort();
        for (word, count) in sorted {
            // Digits are never "corrected" into other numbers.
            if word.chars().all(|c| c.is_ascii_digit()) {
                surface_known.insert(word);
                continue;
            }
            let stem = analyzers.stem_word(&word);
            let len = word.chars().count();
            if vocab_by_len.len() <= len {
                vocab_by_len.resize(len + 1, Vec::new());
            }
            vocab_by_len[len].push(VocabWord {
                mask: letter_mask(&word),
                chars: word.chars().collect(),
                word: word.clone(),
                stem,
                df: count,
            });
            surface_known.insert(word);
        }

        let mut synonyms = Vec::new();
        for s in &kb.synonyms {
            let canonical: Vec<String> = analyzers
                .index_terms(&s.canonical)
                .into_iter()
                .map(|(t, _)| t)
                .collect();
            if canonical.is_empty() {
                continue;
            }
            for v in &s.variants {
                let tokens: Vec<String> = analyzers
                    .surface_tokens(v)
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                if !tokens.is_empty() {
                    synonyms.push((tokens, canonical.clone()));
                }
            }
        }
        // Longest variants first, so "machine learning engineer" beats "machine learning".
        synonyms.sort_by_key(|s| std::cmp::Reverse(s.0.len()));

        let n = kb.passages.len() as f32;
        let max_idf = bm25_idf(n, 0.0);
        Ok(Engine {
            kb,
            fields,
            searcher,
            _reader: reader,
            ords,
            analyzers,
            df,
            passage_terms,
            vocab_by_len,
            surface_known,
            synonyms,
            max_idf,
            years_pattern: regex::Regex::new(r"(?i)\b(\d{1,2})\s*\+?\s*(?:years?|yrs?|yoe)\b")
                .expect("static pattern"),
        })
    }

    /// The knowledge base this engine serves.
    pub fn knowledge(&self) -> &KnowledgeBase {
        &self.kb
    }

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
        bm25_idf(self.kb.passages.len() as f32, df)
    }

    /// Answers one question with at most `top` hits, best first.
    pub fn ask(&self, question: &str, top: usize) -> Answer {
        let mut analyzers = self.analyzers.clone();
        let slots = self.slots(&mut analyzers, question);
        let mut answer = Answer {
            question: question.to_string(),
            answered: false,
            hits: Vec::new(),
            did_you_mean: None,
            terms: Vec::new(),
            suggestions: Vec::new(),
        };
        let total_weight: f32 = slots.iter().map(|s| s.weight).sum();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen_terms = HashSet::new();
        // Terms in most passages barely move BM25 but cost the longest posting lists: leave
        // them out of the search (coverage still counts them) unless nothing rarer is asked.
        let common = (self.kb.passages.len() as f32 * COMMON_SHARE) as u32;
        let any_rare = slots
            .iter()
            .flat_map(|s| &s.alternatives)
            .any(|(t, _)| self.df.get(t).is_some_and(|&df| df <= common));
        for slot in &slots {
            for (term, boost) in &slot.alternatives {
                if !seen_terms.insert(term.clone()) {
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
        if clauses.is_empty() || top == 0 || total_weight <= 0.0 {
            return answer;
        }
        let query = BooleanQuery::new(clauses);
        let found = match self
            .searcher
            .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
        {
            Ok(found) => found,
            Err(e) => {
                // An in-RAM index does not fail on reads; if it ever does, say "no answer"
                // rather than take the caller down.
                tracing::error!(error = %e, "search failed");
                return answer;
            }
        };
        let mut ranked: Vec<(f32, f32, usize)> = Vec::new();
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
            let covered: f32 = slots
                .iter()
                .filter(|s| s.alternatives.iter().any(|(t, _)| terms.contains(t)))
                .map(|s| {
                    if s.corrected.is_some() {
                        s.weight * CORRECTED_WEIGHT
                    } else {
                        s.weight
                    }
                })
                .sum();
            let coverage = (covered / total_weight).clamp(0.0, 1.0);
            ranked.push((score * (0.5 + coverage), coverage, ord));
        }
        self.boost_stated_experience(question, &mut ranked);
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let Some(best) = ranked.first() else {
            return answer;
        };
        if best.1 < MIN_COVERAGE {
            answer.suggestions = ranked
                .iter()
                .take(3)
                .map(|&(_, _, ord)| self.kb.passages[ord].title.clone())
                .collect();
            return answer;
        }
        answer.answered = true;
        answer.hits = ranked
            .iter()
            .take(top)
            .map(|&(score, _, ord)| Hit::from_passage(&self.kb.passages[ord], score))
            .collect();
        answer.terms = seen_terms.into_iter().collect();
        answer.terms.sort();
        if slots.iter().any(|s| s.corrected.is_some()) {
            answer.did_you_mean = Some(corrected_question(question, &slots));
        }
        answer
    }

    /// "I have 4 years of experience": when the salary band covering the stated years is
    /// already a candidate, it outranks the other bands, which match the same words.
    fn boost_stated_experience(&self, question: &str, ranked: &mut [(f32, f32, usize)]) {
        let Some(years) = self
            .years_pattern
            .captures(question)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse::<u32>().ok())
        else {
            return;
        };
        let Some(band) = self.kb.salary.bands.iter().find(|b| b.covers_years(years)) else {
            return;
        };
        let id = salary_band_passage_id(band);
        for r in ranked.iter_mut() {
            if self.kb.passages[r.2].id == id {
                r.0 *= 2.0;
            }
        }
    }

    /// Splits a question into weighted slots: synonyms, known words, corrections, unknowns.
    fn slots(&self, analyzers: &mut Analyzers, question: &str) -> Vec<Slot> {
        let tokens = analyzers.surface_tokens(question);
        let mut slots: Vec<Slot> = Vec::new();
        let mut i = 0;
        while i < tokens.len() && slots.len() < MAX_SLOTS {
            // Synonym variants, longest first; may span several tokens ("deep learning").
            if let Some((len, canonical)) = self.synonym_at(&tokens[i..]) {
                let span = tokens[i].1.start..tokens[i + len - 1].1.end;
                let mut alternatives: Vec<(String, f32)> = Vec::new();
                for (w, _) in &tokens[i..i + len] {
                    if is_stopword(w) {
                        continue;
                    }
                    let stem = analyzers.stem_word(w);
                    if self.df.contains_key(&stem) {
                        alternatives.push((stem, 1.0));
                    }
                }
                for c in canonical {
                    if !alternatives.iter().any(|(t, _)| t == c) {
                        alternatives.push((c.clone(), SYNONYM_BOOST));
                    }
                }
                let weight = alternatives
                    .iter()
                    .map(|(t, _)| self.idf(t))
                    .fold(0.0_f32, f32::max);
                let weight = if weight > 0.0 { weight } else { self.max_idf };
                slots.push(Slot {
                    span,
                    alternatives,
                    weight,
                    corrected: None,
                });
                i += len;
                continue;
            }
            let (word, span) = &tokens[i];
            i += 1;
            if is_stopword(word) || word.is_empty() {
                continue;
            }
            let stem = analyzers.stem_word(word);
            if self.df.contains_key(&stem) {
                let weight = self.idf(&stem);
                slots.push(Slot {
                    span: span.clone(),
                    alternatives: vec![(stem, 1.0)],
                    weight,
                    corrected: None,
                });
                continue;
            }
            if word.chars().all(|c| c.is_ascii_digit()) {
                // An unknown number ("8 years") is a quantity, not a topic: light weight.
                slots.push(Slot {
                    span: span.clone(),
                    alternatives: Vec::new(),
                    weight: 1.0,
                    corrected: None,
                });
                continue;
            }
            if let Some(fix) = self.correct(word) {
                let weight = self.idf(&fix.stem);
                slots.push(Slot {
                    span: span.clone(),
                    alternatives: vec![(fix.stem.clone(), 1.0)],
                    weight,
                    corrected: Some(fix.word.clone()),
                });
                continue;
            }
            slots.push(Slot {
                span: span.clone(),
                alternatives: Vec::new(),
                weight: self.max_idf,
                corrected: None,
            });
        }
        // The same word twice ("ml ml ml") counts once.
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        slots.retain(|s| {
            s.alternatives.is_empty()
                || seen.insert(s.alternatives.iter().map(|(t, _)| t.clone()).collect())
        });
        slots
    }

    fn synonym_at<'a>(
        &'a self,
        tokens: &[(String, Range<usize>)],
    ) -> Option<(usize, &'a [String])> {
        self.synonyms.iter().find_map(|(variant, canonical)| {
            let matches = variant.len() <= tokens.len()
                && variant.iter().zip(tokens).all(|(v, (t, _))| v == t);
            matches.then_some((variant.len(), canonical.as_slice()))
        })
    }

    /// The closest known word to an unknown one, if it is close enough to be a typo.
    fn correct(&self, word: &str) -> Option<&VocabWord> {
        if self.surface_known.contains(word) {
            return None;
        }
        let len = word.chars().count();
        if len < 4 {
            return None;
        }
        let max_dist = if len <= 5 { 1 } else { 2 };
        let chars: Vec<char> = word.chars().collect();
        let mask = letter_mask(word);
        let mut best: Option<(usize, &VocabWord)> = None;
        for l in len.saturating_sub(max_dist)..=len + max_dist {
            let Some(bucket) = self.vocab_by_len.get(l) else {
                continue;
            };
            for cand in bucket {
                // Each edit adds or removes at most two letters from the set of letters a
                // word uses, so more differing letters than 2 * max_dist rules a word out
                // without running the distance at all. Most of the vocabulary fails this.
                if (mask ^ cand.mask).count_ones() as usize > 2 * max_dist {
                    continue;
                }
                let Some(d) = osa_within(&chars, &cand.chars, max_dist) else {
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((bd, bw)) => d < bd || (d == bd && cand.df > bw.df),
                };
                if better {
                    best = Some((d, cand));
                }
            }
        }
        best.map(|(_, w)| w)
    }

    /// Index terms of `text` with byte ranges, for highlighting a passage.
    pub fn terms_in(&self, text: &str) -> Vec<(String, Range<usize>)> {
        self.analyzers.clone().index_terms(text)
    }
}

/// The set of letters in `word` as bits (a-z one bit each; other characters share the
/// remaining six bits, which only makes the pre-check in `correct` more permissive).
fn letter_mask(word: &str) -> u32 {
    word.chars().fold(0u32, |m, c| {
        let bit = if c.is_ascii_lowercase() {
            c as u32 - 'a' as u32
        } else {
            26 + (c as u32 % 6)
        };
        m | (1 << bit)
    })
}

/// Optimal string alignment distance (edits, adjacent transpositions) between `a` and `b`,
/// or `None` as soon as it must exceed `max`. Typo correction runs this against hundreds of
/// words per unknown question word, so it gives up early and allocates nothing for words of
/// up to 63 chars (longer ones are never corrected).
fn osa_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    const W: usize = 64;
    if a.len() >= W || b.len() >= W || a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (mut two_back, mut prev, mut cur) = ([0usize; W], [0usize; W], [0usize; W]);
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        two_back = prev;
        prev = cur;
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

fn bm25_idf(n: f32, df: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// The question with every corrected word replaced by its correction.
fn corrected_question(question: &str, slots: &[Slot]) -> String {
    let mut out = String::with_capacity(question.len());
    let mut last = 0;
    for s in slots {
        if let Some(fix) = &s.corrected {
            if s.span.start >= last && question.is_char_boundary(s.span.start) {
                out.push_str(&question[last..s.span.start]);
                out.push_str(fix);
                last = s.span.end;
            }
        }
    }
    out.push_str(question.get(last..).unwrap_or(""));
    out
}

/// The passage cut to at most `max_chars` characters around the densest run of matched
/// terms, with matches in `**bold**`. Works for corrected (fuzzy) matches too, since the
/// engine's corrections are real index terms.
pub fn snippet(engine: &Engine, text: &str, terms: &[String], max_chars: usize) -> String {
    let matches: Vec<Range<usize>> = engine
        .terms_in(text)
        .into_iter()
        .filter(|(t, _)| terms.iter().any(|q| q == t))
        .map(|(_, r)| r)
        .collect();
    highlight(text, &matches, max_chars)
}

/// Marks `matches` (sorted byte ranges) in `**bold**` within a window of at most `max_chars`
/// characters in total, cutting with "…" on char boundaries. The window starts at the word
/// before the match that leaves the most matches inside it.
pub fn highlight(text: &str, matches: &[Range<usize>], max_chars: usize) -> String {
    let matches: Vec<Range<usize>> = matches
        .iter()
        .filter(|m| {
            m.start < m.end && text.is_char_boundary(m.start) && text.is_char_boundary(m.end)
        })
        .cloned()
        .collect();
    let fits = text.chars().count() + 4 * matches.len() <= max_chars;
    let (start, end) = if fits {
        (0, text.len())
    } else {
        let mut starts = vec![0];
        starts.extend(matches.iter().map(|m| back_to_boundary(text, m.start, 40)));
        let mut best = (0, 0, 0); // (count, start, end)
        for from in starts {
            let (count, to) = window(text, from, &matches, max_chars);
            if count > best.0 || (count == best.0 && best.2 == 0) {
                best = (count, from, to);
            }
        }
        (best.1, best.2)
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for m in &matches {
        if m.start < pos || m.end > end {
            continue;
        }
        out.push_str(&text[pos..m.start]);
        out.push_str("**");
        out.push_str(&text[m.clone()]);
        out.push_str("**");
        pos = m.end;
    }
    out.push_str(&text[pos..end.max(pos)]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// The end byte of a window starting at `from` that fits `max_chars` with two ellipses and
/// four marker characters per match inside it, and how many matches it holds.
fn window(text: &str, from: usize, matches: &[Range<usize>], max_chars: usize) -> (usize, usize) {
    let end_after = |chars: usize| -> usize {
        text[from..]
            .char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| from + i)
    };
    let inside = |to: usize| {
        matches
            .iter()
            .filter(|m| m.start >= from && m.end <= to)
            .count()
    };
    let mut budget = max_chars.saturating_sub(2);
    let mut to = end_after(budget);
    // Markers shrink the window, which can only drop matches: two rounds settle it.
    for _ in 0..2 {
        budget = max_chars.saturating_sub(2 + 4 * inside(to));
        to = end_after(budget);
    }
    (inside(to), to)
}

/// A byte offset up to `max_chars` characters before `at`, at the start of a word or line.
fn back_to_boundary(text: &str, at: usize, max_chars: usize) -> usize {
    let at = at.min(text.len());
    let mut start = at;
    for (i, c) in text[..at].char_indices().rev().take(max_chars) {
        if c == '\n' || c == '.' {
            return i + c.len_utf8();
        }
        start = i;
    }
    if start == 0 || start == at {
        return start;
    }
    // Move forward to just after whitespace so we do not start mid-word.
    match text[start..at]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
    {
        Some((ws, c)) => start + ws + c.len_utf8(),
        None => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::SourceFile;

    fn engine() -> Engine {
        let files = [
            ("k/pay.md", "+++\nid = \"pay\"\ntitle = \"Pay\"\n+++\n## Salary for seniors\nSenior architects earn 40-60 LPA.\n## Salary for freshers\nEntry level pays 10-18 LPA.\n"),
            ("k/skills.md", "+++\nid = \"skills\"\ntitle = \"Skills\"\n+++\n## Databases\nSQL, NoSQL and graph databases.\n## Kubernetes\nContainers with Docker and Kubernetes.\n## Mathematics\nLinear algebra and eigen decomposition.\n"),
            ("k/synonyms.toml", "[[synonym]]\ncanonical = \"salary\"\nvariants = [\"pay\", \"package\", \"ctc\"]\n[[synonym]]\ncanonical = \"kubernetes\"\nvariants = [\"k8s\"]\n"),
        ];
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: p.to_string(),
                bytes: t.as_bytes().to_vec(),
            })
            .collect();
        Engine::build(KnowledgeBase::from_files(&files).unwrap()).unwrap()
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

    #[test]
    fn letter_masks_never_rule_out_a_close_word() {
        let words = [
            "salary", "salery", "senior", "senoir", "levle", "level", "mlops", "mlop", "élan",
            "elan", "k8s", "kos", "databse", "database",
        ];
        for a in words {
            for b in words {
                if strsim::osa_distance(a, b) <= 2 {
                    let diff = (letter_mask(a) ^ letter_mask(b)).count_ones() as usize;
                    assert!(diff <= 2 * strsim::osa_distance(a, b), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn bounded_osa_matches_strsim() {
        let words = [
            "salary",
            "salery",
            "senior",
            "senoir",
            "levle",
            "level",
            "",
            "a",
            "kubernetes",
            "kuberntees",
            "ab",
            "ba",
            "abc",
            "ca",
        ];
        for a in words {
            for b in words {
                let ac: Vec<char> = a.chars().collect();
                let bc: Vec<char> = b.chars().collect();
                let exact = strsim::osa_distance(a, b);
                for max in 0..4 {
                    let want = (exact <= max).then_some(exact);
                    assert_eq!(osa_within(&ac, &bc, max), want, "{a:?} {b:?} max {max}");
                }
            }
        }
    }

    #[test]
    fn corrected_question_keeps_the_rest() {
        let slots = vec![Slot {
            span: 4..10,
            alternatives: vec![],
            weight: 1.0,
            corrected: Some("salary".into()),
        }];
        assert_eq!(corrected_question("mid salery?", &slots), "mid salary?");
    }
}
