//! The in-domain refusal's check by the model: does a short question that uses a word the
//! base never does ("visa", "interview") reach its best passage only through the words
//! every passage shares ("ML architect")? See [`fuse::beyond_the_base`] for the rule; this
//! file embeds what it compares (the question without those words, and without each
//! foreign word) in one extra pass, only for questions that could be refused by it.

use super::fuse::{self, Decision, Signals};
use super::lexical;
use super::semantic::SemanticIndex;

/// The refusal of a question the base answers only in name (see
/// [`fuse::beyond_the_base`]): what it compares, worked out from the words alone, and the
/// decision once the question's best passage is known.
pub(super) struct BeyondCheck {
    /// The real words the question uses that the base does not.
    foreign: Vec<String>,
    /// The question's rest, then the question without each foreign word.
    texts: Vec<String>,
}

impl BeyondCheck {
    /// The check for a short question with a foreign word, or `None` when it cannot refuse.
    pub(super) fn of(
        index: &SemanticIndex,
        words: &lexical::Lexical,
        question: &str,
        lexical: &lexical::LexicalResult,
    ) -> Option<BeyondCheck> {
        if !fuse::is_short(lexical) {
            return None;
        }
        let foreign: Vec<String> = lexical
            .unknown_words
            .iter()
            .filter(|w| w.chars().count() >= fuse::FOREIGN_WORD_LETTERS && index.knows_word(w))
            .cloned()
            .collect();
        if foreign.is_empty() {
            return None;
        }
        let rest = words.without_identity(question)?;
        let texts = std::iter::once(rest)
            .chain(foreign.iter().map(|w| without_word(question, w)))
            .collect();
        Some(BeyondCheck { foreign, texts })
    }

    /// The refusal, if the question's `best` passage answers it only through the base's
    /// identity words.
    pub(super) fn refusal(
        &self,
        index: &SemanticIndex,
        question: &str,
        lexical: &lexical::LexicalResult,
        best: &Signals,
    ) -> Option<Decision> {
        let failed = |e: crate::embed::EmbedError| {
            tracing::error!(error = %e, "semantic check failed; answering");
        };
        // The rest and the variants in one pass.
        index.embed_ahead(&self.texts).map_err(failed).ok()?;
        let (rest, variants) = self.texts.split_first()?;
        let rest_similarity = index.similarity_to(rest, best.ord).map_err(failed).ok()?;
        let foreign: Vec<&str> = self.foreign.iter().map(String::as_str).collect();
        fuse::beyond_the_base(best, rest_similarity, &foreign, lexical)?;
        // Only a word the question's meaning rests on can be its topic: "visa" in "can I get
        // an H-1B visa as an ML architect", not "till" in "how many yrs till I'm an architect".
        let kept = index
            .similarities_between(question, variants)
            .map_err(failed)
            .ok()?;
        let central: Vec<&str> = foreign
            .iter()
            .zip(kept)
            .filter(|(_, kept)| *kept < fuse::CENTRAL_WORD_SIMILARITY)
            .map(|(w, _)| *w)
            .collect();
        fuse::beyond_the_base(best, rest_similarity, &central, lexical)
    }
}

/// `question` without the whitespace-separated tokens that are `word` (ignoring case and
/// the punctuation around it).
fn without_word(question: &str, word: &str) -> String {
    question
        .split_whitespace()
        .filter(|t| {
            !t.trim_matches(|c: char| !c.is_alphanumeric())
                .eq_ignore_ascii_case(word)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_taken_out_with_its_punctuation() {
        assert_eq!(
            without_word("Visa? can I get an H-1B visa, as an architect", "visa"),
            "can I get an H-1B as an architect"
        );
        assert_eq!(without_word("nothing here", "visa"), "nothing here");
    }
}
