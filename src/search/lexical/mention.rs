//! Where a passage mentions one side of a comparison ("dagster", "data architect"), by the
//! base's words for it, so `search::compare` can tell a passage that compares two things
//! from one that names only one of them, or only lists both.
//!
//! Why positions and not only the passage's set of words: a side that is a kind of the
//! base's subject ("data architect", "solutions architect") is mentioned only by that
//! phrase. Its other word is in many passages ("data", "solution") and the subject's word is
//! in half of them, so a passage that says "data scientist" and "ML architect" would count
//! as mentioning a data architect. And a passage that lists "Apache Airflow, Prefect and
//! Dagster" names both sides of "airflow or dagster, which is better" without comparing
//! them; telling that needs where each side is.

use std::ops::Range;

use super::slots::Slot;
use super::Lexical;

/// Words that name a job: what a job is called ("data *scientist*", "ML *architect*"). Used
/// to tell a kind of job from a thing ("data scientist" from "data pipelines") and, by
/// `search::whose_pay`, whose pay a question asks. English tech jobs only.
const JOB_WORDS: &[&str] = &[
    "analyst",
    "scientist",
    "engineer",
    "developer",
    "programmer",
    "intern",
    "manager",
    "designer",
    "tester",
    "consultant",
    "researcher",
    "administrator",
    "architect",
];

/// Words that say how senior someone is, not what they do: "senior architect" is a level
/// of the subject's job, not another kind of architect.
const LEVEL_WORDS: &[&str] = &[
    "senior",
    "junior",
    "lead",
    "principal",
    "staff",
    "entry",
    "mid",
    "associate",
    "fresher",
    "experienced",
    "beginner",
    "chief",
    "head",
];

/// Whether `word` (lowercase, singular or plural) names a job.
pub fn is_job_word(word: &str) -> bool {
    let singular = word.strip_suffix('s').unwrap_or(word);
    JOB_WORDS.contains(&singular)
}

/// How the passages given to [`Lexical::mentions`] mention one side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SideMentions {
    /// Each place the side's words stand together, as (index into the passages given,
    /// byte range in that passage's text).
    pub at: Vec<(usize, Range<usize>)>,
    /// Some passage has every distinctive word of the side, only not together in its text
    /// ("fresher vs senior pay": a band says "senior" and "salary" apart; a keyword). Not
    /// for a side that names a kind of the base's subject ("data architect"), which only
    /// the phrase mentions.
    pub loosely: bool,
}

impl SideMentions {
    /// Whether any passage mentions the side at all.
    pub fn any(&self) -> bool {
        self.loosely || !self.at.is_empty()
    }
}

/// A passage's text to look for sides in (title included), analysed once for both sides.
#[derive(Debug, Clone)]
pub struct PassageText {
    /// The passage's ord, for its indexed words.
    pub ord: usize,
    pub text: String,
    /// Index terms of `text` with their byte ranges.
    terms: Vec<(String, Range<usize>)>,
}

impl Lexical {
    /// `text` of passage `ord`, ready for [`Lexical::mentions`].
    pub fn passage_text(&self, ord: usize, text: String) -> PassageText {
        let terms = self.terms_in(&text);
        PassageText { ord, text, terms }
    }

    /// Where `passages` mention `side`: its known words in order next to each other, by the
    /// base's terms for them (synonyms and typo fixes too). `None` when the side has no word
    /// the base uses besides the words in half the passages ("ML architect"), so there is
    /// nothing to look for.
    pub fn mentions(&self, side: &str, passages: &[PassageText]) -> Option<SideMentions> {
        let mut analyzers = self.analyzers.clone();
        let (slots, unknown): (Vec<Slot>, Vec<Slot>) = self
            .slots(&mut analyzers, side)
            .into_iter()
            .partition(|s| !s.alternatives.is_empty());
        let identity = |s: &Slot| s.alternatives.iter().all(|(t, _)| self.is_identity(t));
        let distinctive: Vec<&Slot> = slots.iter().filter(|s| !identity(s)).collect();
        if distinctive.is_empty() {
            return None;
        }
        let word_of = |s: &Slot| side.get(s.span.clone()).unwrap_or_default().to_lowercase();
        // A real word the base never uses ("data analyst"): no passage mentions the side,
        // whatever its other words. Not a fragment or slang the model has no word for ("ml
        // engg"), and without a model no word is known to be real.
        if unknown.iter().any(|s| {
            let word = word_of(s);
            word.chars().all(char::is_alphabetic) && self.is_real_word(&word)
        }) {
            return Some(SideMentions::default());
        }
        // "data scientist", "data architect" name a kind of job, mentioned only by the
        // phrase; "senior architect" is a level of the subject's, "ML architecture" no job.
        let is_job = |s: &Slot| is_job_word(&word_of(s));
        let names_a_kind = slots.iter().any(is_job)
            && distinctive
                .iter()
                .any(|s| !is_job(s) && !LEVEL_WORDS.contains(&word_of(s).as_str()));
        let mut found = SideMentions::default();
        for (index, PassageText { ord, text, terms }) in passages.iter().enumerate() {
            let before = found.at.len();
            for start in 0..terms.len() {
                if let Some(end) = phrase_end(text, terms, start, &slots) {
                    found
                        .at
                        .push((index, terms[start].1.start..terms[end - 1].1.end));
                }
            }
            found.loosely |= found.at.len() == before
                && !names_a_kind
                && self.passage_terms.get(*ord).is_some_and(|words| {
                    distinctive
                        .iter()
                        .all(|s| s.alternatives.iter().any(|(t, _)| words.contains(t)))
                });
        }
        Some(found)
    }
}

/// The end (exclusive) of the side's words (`slots`) standing together from term `start`
/// on, if they do: next to each other in `text`, with nothing but spaces or a hyphen
/// (or "&") between them ("data or a scientist", "data. The architect" are not a phrase). A synonym
/// may stand for several words of the passage ("ml" for "machine learning").
fn phrase_end(
    text: &str,
    terms: &[(String, Range<usize>)],
    start: usize,
    slots: &[Slot],
) -> Option<usize> {
    let has = |slot: &Slot, j: usize| {
        let adjacent = j == start
            || text
                .get(terms[j - 1].1.end..terms.get(j).map_or(0, |t| t.1.start))
                .is_some_and(|gap| {
                    gap.chars()
                        .all(|c| c.is_whitespace() || c == '-' || c == '&')
                });
        adjacent
            && terms
                .get(j)
                .is_some_and(|(term, _)| slot.alternatives.iter().any(|(t, _)| t == term))
    };
    let mut j = start;
    for (k, slot) in slots.iter().enumerate() {
        if !has(slot, j) {
            return None;
        }
        j += 1;
        while has(slot, j) && !slots.get(k + 1).is_some_and(|next| has(next, j)) {
            j += 1;
        }
    }
    (j > start).then_some(j)
}
