//! Building the lexical index of one knowledge base generation: the tantivy index, the
//! document frequencies coverage weighs words by, the vocabulary typos are fixed against,
//! and the synonyms.

use std::collections::{HashMap, HashSet};

use tantivy::{Index, TantivyDocument};

use crate::knowledge::KnowledgeBase;

use super::super::pointers::Pointers;
use super::super::SearchError;
use super::analysis::{is_stopword, Analyzers, Fields, ANALYZER};
use super::correct::VocabWord;
use super::{bm25_idf, Lexical};

/// What indexing the passages yields, besides the index itself.
struct Indexed {
    /// Index term -> number of passages containing it.
    df: HashMap<String, u32>,
    /// Index terms of each passage.
    passage_terms: Vec<HashSet<String>>,
    /// Surface word (function words left out) -> number of passages using it.
    surface_df: HashMap<String, u32>,
    /// Words the base writes in capitals.
    acronyms: HashSet<String>,
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
        let indexed = index_passages(kb, &index, fields, &mut analyzers)?;
        let reader = index.reader()?;
        let searcher = reader.searcher();
        let mut ords = Vec::new();
        for seg in searcher.segment_readers() {
            ords.push(seg.fast_fields().u64("ord")?);
        }
        let (vocab_by_len, surface_known) = vocabulary(indexed.surface_df, &mut analyzers);
        let synonyms = synonyms(kb, &mut analyzers);
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
            df: indexed.df,
            passage_terms: indexed.passage_terms,
            vocab_by_len,
            surface_known,
            acronyms: indexed.acronyms,
            synonyms,
            max_idf,
        })
    }
}

/// Adds every passage to `index` (one commit) and counts its terms and words.
fn index_passages(
    kb: &KnowledgeBase,
    index: &Index,
    fields: Fields,
    analyzers: &mut Analyzers,
) -> Result<Indexed, SearchError> {
    // One thread and one commit: a single segment, doc ids in insertion order.
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000)?;
    let mut indexed = Indexed {
        df: HashMap::new(),
        passage_terms: Vec::with_capacity(kb.passages.len()),
        surface_df: HashMap::new(),
        acronyms: HashSet::new(),
    };
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
            indexed.acronyms.extend(
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
            *indexed.df.entry(t.clone()).or_default() += 1;
        }
        for w in words {
            *indexed.surface_df.entry(w).or_default() += 1;
        }
        indexed.passage_terms.push(terms);
    }
    writer.commit()?;
    Ok(indexed)
}

/// The base's words for typo fixes, bucketed by length in chars, and the set of all known
/// surface words (numbers included: they are known, never corrected).
fn vocabulary(
    surface_df: HashMap<String, u32>,
    analyzers: &mut Analyzers,
) -> (Vec<Vec<VocabWord>>, HashSet<String>) {
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
        vocab_by_len[len].push(VocabWord::new(word.clone(), stem, count));
        surface_known.insert(word);
    }
    (vocab_by_len, surface_known)
}

/// Synonym variants as surface-token sequences, each with the canonical index terms it
/// stands for; longest variants first, so "machine learning engineer" beats "machine
/// learning".
fn synonyms(kb: &KnowledgeBase, analyzers: &mut Analyzers) -> Vec<(Vec<String>, Vec<String>)> {
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
    synonyms.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    synonyms
}
