//! A question as weighted slots: each content word, with the index terms that stand for it
//! (its own stem, a synonym's, a typo fix's), and its weight in coverage.

use std::collections::HashSet;
use std::ops::Range;

use super::analysis::{is_stopword, Analyzers};
use super::names::written_as_name;
use super::{Lexical, MAX_SLOTS};

/// Synonym terms are searched at this boost relative to the user's own word.
const SYNONYM_BOOST: f32 = 0.8;
/// One content word of the question and the index terms that stand for it.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    /// Byte range in the question (for "did you mean").
    pub(super) span: Range<usize>,
    /// Index terms and their boosts; empty when the word is unknown.
    pub(super) alternatives: Vec<(String, f32)>,
    /// idf-based weight in coverage.
    pub(super) weight: f32,
    /// The surface word this slot was corrected to, if it was.
    pub(super) corrected: Option<String>,
    /// Written as a name ("Google", "US", "H-1B") rather than a plain word.
    pub(super) name: bool,
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

impl Lexical {
    /// Splits a question into weighted slots: synonyms, known words, corrections, unknowns.
    pub(super) fn slots(&self, analyzers: &mut Analyzers, question: &str) -> Vec<Slot> {
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
                slots.push(self.synonym_slot(analyzers, &tokens[i..i + len], canonical));
                i += len;
                continue;
            }
            let (word, span) = &tokens[i];
            i += 1;
            slots.extend(self.word_slot(analyzers, question, word, span));
        }
        slots
    }

    /// The slot of a synonym variant (`tokens`): the base's own stems of its words, then
    /// the canonical terms it stands for.
    fn synonym_slot(
        &self,
        analyzers: &mut Analyzers,
        tokens: &[(String, Range<usize>)],
        canonical: &[String],
    ) -> Slot {
        let span = match (tokens.first(), tokens.last()) {
            (Some(first), Some(last)) => first.1.start..last.1.end,
            _ => 0..0,
        };
        let mut alternatives: Vec<(String, f32)> = Vec::new();
        for (w, _) in tokens {
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
        Slot {
            span,
            alternatives,
            weight,
            corrected: None,
            name: false,
        }
    }

    /// The slot of one word (lowercased `word` at `span`): known, a number, corrected or
    /// unknown; `None` for a function word.
    fn word_slot(
        &self,
        analyzers: &mut Analyzers,
        question: &str,
        word: &str,
        span: &Range<usize>,
    ) -> Option<Slot> {
        let name = written_as_name(question, span);
        let original = question.get(span.clone()).unwrap_or_default();
        // "us" is a function word, "US" a country (unless the base says "US" itself).
        let acronym_stopword = name
            && is_stopword(word)
            && original.chars().all(char::is_uppercase)
            && !self.acronyms.contains(original);
        if (is_stopword(word) && !acronym_stopword) || word.is_empty() {
            return None;
        }
        let slot = |alternatives, weight, corrected, name| Slot {
            span: span.clone(),
            alternatives,
            weight,
            corrected,
            name,
        };
        let stem = analyzers.stem_word(word);
        if self.df.contains_key(&stem) {
            let weight = self.idf(&stem);
            return Some(slot(vec![(stem, 1.0)], weight, None, false));
        }
        if word.chars().all(|c| c.is_ascii_digit()) {
            // An unknown number ("8 years") is a quantity, not a topic: light weight.
            return Some(slot(Vec::new(), 1.0, None, false));
        }
        // A name ("MIT") is not an abbreviation of a base word ("mitigation"), nor a real
        // word written as one ("Rust") a typo.
        if let Some(fix) = self.correct(word, name) {
            let weight = self.idf(&fix.stem);
            return Some(slot(
                vec![(fix.stem.clone(), 1.0)],
                weight,
                Some(fix.word.clone()),
                false,
            ));
        }
        Some(slot(Vec::new(), self.max_idf, None, name))
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
}
