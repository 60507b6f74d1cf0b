//! Typo fixes and abbreviations: the base word an unknown question word stands for, unless
//! it is a real word the base does not use.

use super::super::typo::{abbreviates, letter_mask, osa_within};
use super::Lexical;

/// Unknown words of this many letters may be abbreviations ("sal", "lvl", "certs"); longer
/// ones are words the base does not use.
const MIN_ABBREVIATION: usize = 3;
const MAX_ABBREVIATION: usize = 5;

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

/// A known surface word for typo correction.
#[derive(Debug, Clone)]
pub(super) struct VocabWord {
    pub(super) word: String,
    /// `word` as chars, for the edit-distance loop.
    pub(super) chars: Vec<char>,
    /// Which letters occur in `word`, for a cheap pre-check (see [`letter_mask`]).
    pub(super) mask: u32,
    pub(super) stem: String,
    pub(super) df: u32,
}

impl VocabWord {
    /// A base word and how many passages use it.
    pub(super) fn new(word: String, stem: String, df: u32) -> VocabWord {
        VocabWord {
            mask: letter_mask(&word),
            chars: word.chars().collect(),
            word,
            stem,
            df,
        }
    }
}

impl Lexical {
    /// The same index, with a dictionary of real words that are never corrected.
    pub fn with_real_words(mut self, real_words: RealWords) -> Lexical {
        self.real_words = Some(real_words);
        self
    }

    /// Whether `word` is a real word (in the model's vocabulary); never without a model.
    pub(super) fn is_real_word(&self, word: &str) -> bool {
        self.real_words.as_ref().is_some_and(|known| known(word))
    }

    /// The known word an unknown one stands for: a typo's closest word, else (when it is
    /// not `written_as_name`) the word it abbreviates. A real word written as a name, inside
    /// a sentence and capitalised ("learn Rust"), is a name of any length, not a slip ("rest").
    pub(super) fn correct(&self, word: &str, written_as_name: bool) -> Option<&VocabWord> {
        if self.surface_known.contains(word) {
            return None;
        }
        let real_bar = if written_as_name {
            1
        } else {
            REAL_WORD_LETTERS
        };
        if word.chars().count() >= real_bar && self.is_real_word(word) {
            return None;
        }
        self.typo_fix(word)
            .or_else(|| (!written_as_name).then(|| self.expansion(word)).flatten())
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
                if !same_start(&chars, &cand.chars) {
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
}

/// Whether a typo of `known` could have produced `typed` at its start: the same first
/// letter, the first two letters swapped ("rachitect"), or the first letter dropped
/// ("rchitect"). People rarely mistype the first
/// letter of a word, and a correction that changes it turns real words the base does not
/// use into ones it does: "calories" into "salaries", "bake" into "take", "tester" into
/// "master", "upskill" into "skill", "vllm" into "llm". On the six calibration sets such
/// corrections outnumbered the first-letter typos that were right.
fn same_start(typed: &[char], known: &[char]) -> bool {
    match (typed, known) {
        ([a, ..], [b, ..]) if a == b => true,
        // The first letter dropped: "rchitect", "xperience".
        ([a, ..], [_, b, ..]) if a == b && typed.len() < known.len() => true,
        ([a, b, ..], [c, d, ..]) => a == d && b == c,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_start;

    fn starts(typed: &str, known: &str) -> bool {
        let chars = |w: &str| w.chars().collect::<Vec<_>>();
        same_start(&chars(typed), &chars(known))
    }

    #[test]
    fn a_typo_keeps_the_first_letter_or_swaps_the_first_two() {
        assert!(starts("salery", "salary"));
        assert!(starts("rachitect", "architect"));
        assert!(starts("rchitect", "architect"));
        assert!(
            !starts("iits", "fits"),
            "a changed first letter is not a dropped one"
        );
        assert!(!starts("calories", "salaries"));
        assert!(!starts("upskill", "skill"));
        assert!(!starts("", "skill"));
        assert!(!starts("a", "b"));
    }
}
