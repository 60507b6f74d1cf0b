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

use std::collections::{HashMap, HashSet};
use std::ops::Range;

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

use crate::knowledge::KnowledgeBase;

use super::pointers::Pointers;

use super::typo::{abbreviates, letter_mask, osa_within};
use super::SearchError;

/// The share of a question's weight the best passage must cover for a lexical-only answer.
pub const MIN_COVERAGE: f32 = 0.5;
/// Questions are cut to this many content words: enough for any real question, and it keeps
/// a 10,000-character paste from building a 10,000-clause query.
pub const MAX_SLOTS: usize = 24;
/// Corrected words count for this share of their weight in coverage: a typo fix is a guess.
const CORRECTED_WEIGHT: f32 = 0.6;
/// Unknown words of this many letters may be abbreviations ("sal", "lvl", "certs"); longer
/// ones are words the base does not use.
const MIN_ABBREVIATION: usize = 3;
const MAX_ABBREVIATION: usize = 5;
/// Synonym terms are searched at this boost relative to the user's own word.
const SYNONYM_BOOST: f32 = 0.8;
const TITLE_BOOST: f32 = 2.0;
const KEYWORDS_BOOST: f32 = 1.5;
/// A term in more than this share of passages is too common to search for (see `ask`).
const COMMON_SHARE: f32 = 0.3;
/// Words in at least this share of passages name what the whole base is about ("ML",
/// "architect" in the shipped one): they say the question is in the domain, not what it asks.
pub const IDENTITY_SHARE: f32 = 0.5;
/// How many candidates BM25 hands to the coverage re-ranking.
pub const CANDIDATES: usize = 10;

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

/// Says whether a word is a real word of the language (not a typo). The hybrid engine
/// passes the model's vocabulary ([`Lexical::with_real_words`]); without a model there is
/// none, and every unknown word may be a typo.
pub type RealWords = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A real word at least this long is never read as a typo or an abbreviation of a base word:
/// "consultant" is not "constant", "higher" not "high", "under" not "understand" (an
/// abbreviation), so a question about what the base does not cover keeps the word that
/// says so. Shorter real words still are ("form" may be a slip for "from"); at 6 letters,
/// the calibration sets lost no right answer and two near-domain questions more were
/// refused, at 4 one right answer was lost (docs/QUALITY.md).
const REAL_WORD_LETTERS: usize = 6;

/// Words of chat that say nothing about what is asked: greetings, forms of address, hedges
/// ("hey guys", "okay so", "honestly"). Searched like any word, but never taken for the topic
/// of a question the base does not cover ([`LexicalResult::unknown_words`]).
const FILLERS: &[&str] = &[
    "guys",
    "folks",
    "dude",
    "bro",
    "bruh",
    "buddy",
    "friends",
    "everyone",
    "everybody",
    "anybody",
    "somebody",
    "okay",
    "ok",
    "yeah",
    "yep",
    "yes",
    "nope",
    "honestly",
    "basically",
    "actually",
    "literally",
    "seriously",
    "kindly",
    "gonna",
    "wanna",
    "gotta",
    "kinda",
    "sorta",
    "lol",
    "lmao",
    "thx",
    "cheers",
    "sir",
    "maam",
    "quick",
    "doubt",
    "query",
    "question",
    "questions",
    "advance",
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
    /// Written as a name ("Google", "US", "H-1B") rather than a plain word.
    name: bool,
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

/// What makes two slots the same word: their search terms, or for a word the base does not
/// know, the word itself.
fn slot_key(question: &str, slot: &Slot) -> Vec<String> {
    if slot.alternatives.is_empty() {
        let word = question.get(slot.span.clone()).unwrap_or_default();
        vec![format!("?{}", word.to_lowercase())]
    } else {
        slot.alternatives.iter().map(|(t, _)| t.clone()).collect()
    }
}

/// An English function word, or a Hindi one typed in Latin letters (see `hinglish`).
fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word) || super::hinglish::is_glossary_word(word)
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
    /// Indexes a validated knowledge base in RAM.
    pub fn build(kb: &KnowledgeBase) -> Result<Lexical, SearchError> {
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
        let mut acronyms = HashSet::new();
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
                acronyms.extend(
                    text.split(|c: char| !c.is_alphanumeric())
                        .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
                        .map(str::to_string),
                );
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
        Ok(Lexical {
            real_words: None,
            passages: kb.passages.len(),
            pointers: Pointers::build(kb),
            fields,
            searcher,
            _reader: reader,
            ords,
            analyzers,
            df,
            passage_terms,
            vocab_by_len,
            surface_known,
            acronyms,
            synonyms,
            max_idf,
        })
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
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen_terms = HashSet::new();
        // Terms in most passages barely move BM25 but cost the longest posting lists: leave
        // them out of the search (coverage still counts them) unless nothing rarer is asked.
        let common = (self.passages as f32 * COMMON_SHARE) as u32;
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
        result.corrections = slots
            .iter()
            .filter_map(|s| Some((s.span.clone(), s.corrected.clone()?)))
            .collect();
        if !result.corrections.is_empty() {
            result.did_you_mean = Some(corrected_question(question, &result.corrections));
        }
        result.terms = seen_terms.into_iter().collect();
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
            });
        }
        result
            .ranked
            .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
        result
    }

    /// Splits a question into weighted slots: synonyms, known words, corrections, unknowns.
    fn slots(&self, analyzers: &mut Analyzers, question: &str) -> Vec<Slot> {
        let tokens = analyzers.surface_tokens(question);
        let mut slots: Vec<Slot> = Vec::new();
        // The same word twice ("ml ml ml") counts once, and never against the slot limit:
        // each new slot is checked against the ones before it as soon as it is made.
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let mut checked = 0;
        let mut i = 0;
        loop {
            if slots.len() > checked {
                if let Some(last) = slots.last() {
                    if !seen.insert(slot_key(question, last)) {
                        slots.pop();
                    }
                }
                checked = slots.len();
            }
            if i >= tokens.len() || slots.len() >= MAX_SLOTS {
                break;
            }
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
                    name: false,
                });
                i += len;
                continue;
            }
            let (word, span) = &tokens[i];
            i += 1;
            let name = written_as_name(question, span);
            let original = question.get(span.clone()).unwrap_or_default();
            // "us" is a function word, "US" a country (unless the base says "US" itself).
            let acronym_stopword = name
                && is_stopword(word)
                && original.chars().all(char::is_uppercase)
                && !self.acronyms.contains(original);
            if (is_stopword(word) && !acronym_stopword) || word.is_empty() {
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
                    name: false,
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
                    name: false,
                });
                continue;
            }
            // A name ("MIT") is not an abbreviation of a base word ("mitigation").
            if let Some(fix) = self.correct(word, !name) {
                let weight = self.idf(&fix.stem);
                slots.push(Slot {
                    span: span.clone(),
                    alternatives: vec![(fix.stem.clone(), 1.0)],
                    weight,
                    corrected: Some(fix.word.clone()),
                    name: false,
                });
                continue;
            }
            slots.push(Slot {
                span: span.clone(),
                alternatives: Vec::new(),
                weight: self.max_idf,
                corrected: None,
                name,
            });
        }
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

    /// `question` without the words in at least [`IDENTITY_SHARE`] of passages; `None` when
    /// it has none, or when only function words and numbers would be left ("what is an ML
    /// architect" asks about the identity itself).
    ///
    /// Asked only for short questions that might be refused (see
    /// [`super::fuse::beyond_the_base`]), not in every search.
    pub fn without_identity(&self, question: &str) -> Option<String> {
        let mut analyzers = self.analyzers.clone();
        let limit = ((self.passages as f32 * IDENTITY_SHARE).ceil() as u32).max(2);
        let mut kept: Vec<&str> = Vec::new();
        let mut dropped = false;
        let mut asks = false;
        for (word, span) in analyzers.surface_tokens(question) {
            let stem = analyzers.stem_word(&word);
            if self.df.get(&stem).is_some_and(|&df| df >= limit) {
                dropped = true;
                continue;
            }
            asks |= !is_stopword(&word) && !word.chars().all(|c| c.is_ascii_digit());
            kept.extend(question.get(span));
        }
        (dropped && asks).then(|| kept.join(" "))
    }

    /// The same index, with a dictionary of real words that are never corrected.
    pub fn with_real_words(mut self, real_words: RealWords) -> Lexical {
        self.real_words = Some(real_words);
        self
    }

    /// The known word an unknown one stands for: a typo's closest word, else (when
    /// `may_abbreviate`) the word it abbreviates.
    fn correct(&self, word: &str, may_abbreviate: bool) -> Option<&VocabWord> {
        if self.surface_known.contains(word) {
            return None;
        }
        if word.chars().count() >= REAL_WORD_LETTERS
            && self.real_words.as_ref().is_some_and(|known| known(word))
        {
            return None;
        }
        self.typo_fix(word)
            .or_else(|| may_abbreviate.then(|| self.expansion(word)).flatten())
    }

    /// The most frequent base word `word` abbreviates ("sal", "lvl", "certs"), if any.
    fn expansion(&self, word: &str) -> Option<&VocabWord> {
        let len = word.chars().count();
        if !(MIN_ABBREVIATION..=MAX_ABBREVIATION).contains(&len) {
            return None;
        }
        self.vocab_by_len
            .iter()
            .skip(len + 2)
            .flatten()
            .filter(|cand| abbreviates(word, &cand.word))
            .max_by(|a, b| a.df.cmp(&b.df).then(b.chars.len().cmp(&a.chars.len())))
    }

    /// The known word `word` is a near miss of, if it is close enough to be a typo.
    fn typo_fix(&self, word: &str) -> Option<&VocabWord> {
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

/// Whether the word at `span` is written as a name: an acronym of letters ("US", "AWS") or
/// a capitalised word of 3+ letters inside a sentence ("Google" in "how does Google hire").
/// Never in a question written mostly in capitals ("HOW MUCH DO THEY MAKE"), never a single
/// letter ("I", the "B" of "B.Tech"), never a token with digits ("12LPA").
fn written_as_name(question: &str, span: &Range<usize>) -> bool {
    let Some(original) = question.get(span.clone()) else {
        return false;
    };
    if !original.chars().all(char::is_alphabetic) {
        return false;
    }
    let letters = original.chars().count();
    let upper = original.chars().filter(|c| c.is_uppercase()).count();
    let question_letters = question.chars().filter(|c| c.is_alphabetic()).count();
    let question_upper = question.chars().filter(|c| c.is_uppercase()).count();
    if question_upper * 2 >= question_letters {
        return false;
    }
    if letters >= 2 && upper == letters {
        return true;
    }
    let starts_upper = original.chars().next().is_some_and(char::is_uppercase);
    let before = question[..span.start].trim_end();
    let sentence_start = before.is_empty() || before.ends_with(['.', '!', '?', ':', '\n']);
    letters >= 3 && starts_upper && !sentence_start
}

/// Whether the word starting at byte `at` follows "I'm", "from", "called"...: the asker
/// saying who they are ("I'm Priya from Pune"), not what they ask about.
fn introduces_the_asker(question: &str, at: usize) -> bool {
    let before = question.get(..at).unwrap_or_default().to_lowercase();
    let previous = before
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .rfind(|w| !w.is_empty())
        .unwrap_or_default();
    matches!(
        previous,
        "i'm" | "i’m" | "im" | "am" | "from" | "called" | "named" | "name's"
    )
}

/// Whether the word starting at byte `at` tells what the asker is or was ("I'm a nurse",
/// "as a teacher", "I've been an accountant"): their background, not the question's topic.
fn describes_the_asker(question: &str, at: usize) -> bool {
    if introduces_the_asker(question, at) {
        return true;
    }
    let before = question.get(..at).unwrap_or_default().to_lowercase();
    let mut words = before
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .rev();
    let mut previous = words.next().unwrap_or_default();
    if matches!(previous, "a" | "an") {
        previous = words.next().unwrap_or_default();
    }
    matches!(
        previous,
        "i'm" | "i’m" | "im" | "am" | "as" | "was" | "been" | "from"
    )
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

    #[test]
    fn names_are_acronyms_or_capitalised_inside_a_sentence() {
        let q = "Salary in the US? How does Google hire for H-1B roles, I wonder";
        let name_at = |word: &str| {
            let start = q.find(word).unwrap();
            written_as_name(q, &(start..start + word.len()))
        };
        assert!(name_at("US") && name_at("Google"));
        assert!(!name_at("1B"), "digits");
        assert!(!name_at("Salary"), "sentence start");
        assert!(!name_at("How"), "after a question mark");
        assert!(!name_at("I"), "one letter");
        assert!(!name_at("hire") && !name_at("roles"));
        assert!(introduces_the_asker("I'm Priya from Pune", 14));
        assert!(introduces_the_asker("I'm Priya from Pune", 4));
        assert!(!introduces_the_asker("how does Google hire", 9));
        assert!(describes_the_asker("I'm a nurse, can I switch?", 6));
        assert!(describes_the_asker("as an accountant, can I switch?", 6));
        assert!(!describes_the_asker("what interview questions", 5));
        let shouting = "HOW MUCH DO THEY PAY IN THE US";
        assert!(
            !written_as_name(shouting, &(4..8)),
            "a question in capitals has no names"
        );
    }
}
