//! Text analysis: the index schema, the analyzers every word goes through (indexing,
//! questions, highlighting), and the word lists that say which words carry no topic.

use std::ops::Range;

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};

const TITLE_BOOST: f32 = 2.0;
const KEYWORDS_BOOST: f32 = 1.5;

pub(super) const ANALYZER: &str = "careerbot";

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

/// Words of chat that say nothing about what is asked: greetings, forms of address, hedges
/// ("hey guys", "okay so", "honestly"), the asker themselves, and words that judge rather
/// than name ("better", "important"). Searched like any word, but never taken for the topic
/// of a question the base does not cover ([`LexicalResult::unknown_words`]).
pub(super) const FILLERS: &[&str] = &[
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
    // The asker themselves, and hedges on a figure ("a name for myself", "approx").
    "myself",
    "yourself",
    "ourselves",
    "themselves",
    "approx",
    "approximately",
    // Words that judge what is asked rather than name it ("kaunsa better hai", "which is
    // more important"): a question asking which of two things is better asks about the
    // two things.
    "better",
    "best",
    "good",
    "important",
    "useful",
    "valuable",
    "right",
    "wrong",
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
    pub(super) fn schema() -> (Schema, Fields) {
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

    pub(super) fn searched(&self) -> [(Field, f32); 3] {
        [
            (self.title, TITLE_BOOST),
            (self.keywords, KEYWORDS_BOOST),
            (self.body, 1.0),
        ]
    }
}

/// Text analysis shared by indexing, question parsing and highlighting.
#[derive(Clone)]
pub(super) struct Analyzers {
    /// Lowercased, ASCII-folded words with offsets, nothing dropped.
    pub(super) surface: TextAnalyzer,
    /// The index analyzer: surface + stopwords removed + English stemming.
    pub(super) index: TextAnalyzer,
    /// Stemming without stopword removal, to stem one known-content word.
    pub(super) stem: TextAnalyzer,
}

impl Analyzers {
    pub(super) fn new() -> Analyzers {
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

    /// Lowercased, folded words of `text` with their byte ranges, nothing dropped.
    pub(super) fn surface_tokens(&mut self, text: &str) -> Vec<(String, Range<usize>)> {
        tokens(&mut self.surface, text)
    }

    /// Index terms of `text` (function words dropped, stemmed) with their byte ranges.
    pub(super) fn index_terms(&mut self, text: &str) -> Vec<(String, Range<usize>)> {
        tokens(&mut self.index, text)
    }

    /// Stem of one lowercase surface word.
    pub(super) fn stem_word(&mut self, word: &str) -> String {
        let mut stream = self.stem.token_stream(word);
        match stream.next() {
            Some(t) => t.text.clone(),
            None => word.to_string(),
        }
    }
}

/// The tokens `analyzer` makes of `text`, with byte ranges.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push((t.text.clone(), t.offset_from..t.offset_to));
    }
    out
}

/// An English function word, or a Hindi one typed in Latin letters (see `hinglish`).
pub(super) fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word) || super::super::hinglish::is_glossary_word(word)
}
