//! The two things a short comparison question sets side by side ("airflow or dagster,
//! which is better?", "ML architect vs solutions architect", "the difference between an ML
//! architect and a cloud architect"), so the engine can check that its answer speaks of
//! both.
//!
//! Why: a passage that names only one side cannot compare them. Both retrievals find the
//! passage about the side the base covers, and a sentence-embedding model scores "ML
//! architect vs solutions architect" close to "how an ML architect differs from an ML
//! engineer": the shape is the same. Showing that passage answers another question. When
//! none of the passages an answer shows (the best three) mentions one side, in the words
//! the base uses for it (synonyms and typo fixes included, every distinctive word of the
//! side, at most two: "cloud solutions" is not mentioned by a passage that says "cloud" only),
//! the honest answer is "I don't know". Each side may be in a different passage: "fresher
//! vs senior pay" is answered by one salary band each.
//!
//! On the seven calibration sets (tenth session) this refused three near-domain questions
//! more ("solutions architect vs enterprise architect, which one pays more", "the
//! difference between an ML architect and a cloud solutions architect", twice) and cost
//! no right answer; the sets have few comparisons the base answers ("ml architect vs data
//! scientist"), so the unit tests hold the phrasings it must keep answering.
//!
//! Only sides the base has words for are checked: a side the base knows nothing about
//! ("MLE", an abbreviation with no synonym yet, or a tool it never names) is left to the
//! other rules, so a moderator's synonym is enough to make such a question answered.
//! Words in half the passages or more ("ML", "architect") do not count as mentioning a
//! side: every passage has them. "or" reads as a comparison only when a word that asks to
//! choose ("which", "better", "best", "pick", "choose", "prefer") follows the pair, or the
//! pair is listed after a colon or comma: "should I get a job first or jump straight in" is
//! advice, and "best books for a fresher or student" asks for books. English only.

use std::sync::OnceLock;

use regex::Regex;

/// Words a side of a comparison stops at: the question around the two things compared.
const SIDE_STOPS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "be", "between", "like", "which", "what", "whats",
    "what's", "should", "would", "could", "can", "i", "we", "my", "our", "pick", "choose",
    "prefer", "for", "in", "to", "of", "on", "at", "do", "does", "one", "better", "best", "more",
    "and", "or", "vs", "versus", "than", "it", "this", "that", "with", "from",
];
/// Words skipped where a side opens: articles, and the hedges of a role's name ("a regular
/// ML engineer" is compared as "ML engineer").
const OPENERS: &[&str] = &[
    "a",
    "an",
    "the",
    "regular",
    "normal",
    "typical",
    "traditional",
    "plain",
    "simple",
    "usual",
    "ordinary",
    "just",
    "some",
    "any",
];
/// At most this many words make one side ("solutions architect"): more would take in what
/// the question asks about both ("ML architect vs data scientist skills").
const SIDE_WORDS: usize = 2;

regex_fn!(separator, r"(?i)\s(?:vs\.?|versus|v/s)\s");

regex_fn!(
    between,
    r"(?i)\b(?:difference|differences|diff)\s+(?:b/w|btw|btwn|between)\s+(.+?)\s+(?:and|&|n)\s+(.+)"
);

regex_fn!(choice, r"(?i)\b(?:which|better|best|pick|choose|prefer)\b");

regex_fn!(or_word, r"(?i)\sor\s");

/// The two sides of a comparison question, as the user wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub first: String,
    pub second: String,
}

impl Comparison {
    /// The sides compared, when the question compares two things.
    pub fn of_question(question: &str) -> Option<Comparison> {
        if let Some(c) = between().captures(question) {
            let first = side(c.get(1)?.as_str(), Direction::Forward);
            let second = side(c.get(2)?.as_str(), Direction::Forward);
            return Comparison::of_sides(first, second);
        }
        let cut = separator().find(question).or_else(|| {
            let or = or_word().find(question)?;
            // "airflow or dagster, which ...": the ask to choose comes after the pair; "which
            // is best: AWS, GCP or Azure": the pair comes after a colon or comma. "best books
            // for a fresher or student" asks for books, not for a choice between the two.
            let chooses_after = choice().is_match(&question[or.end()..]);
            let listed = question[..or.start()].contains([':', ',']) && choice().is_match(question);
            (chooses_after || listed).then_some(or)
        })?;
        let first = side(&question[..cut.start()], Direction::Backward);
        let second = side(&question[cut.end()..], Direction::Forward);
        Comparison::of_sides(first, second)
    }

    fn of_sides(first: String, second: String) -> Option<Comparison> {
        (!first.is_empty() && !second.is_empty()).then_some(Comparison { first, second })
    }

    /// The sides, first then second.
    pub fn sides(&self) -> [&str; 2] {
        [&self.first, &self.second]
    }
}

#[derive(Clone, Copy)]
enum Direction {
    /// The words just before the separator, read back from it.
    Backward,
    /// The words just after it.
    Forward,
}

/// The words of one side: at most [`SIDE_WORDS`] next to the separator, up to the first
/// punctuation or word of the question around them ([`SIDE_STOPS`]).
fn side(text: &str, direction: Direction) -> String {
    let mut tokens: Vec<&str> = text.split_whitespace().collect();
    if matches!(direction, Direction::Backward) {
        tokens.reverse();
    }
    let mut words: Vec<&str> = Vec::new();
    for token in tokens {
        let word = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '&');
        let closes = match direction {
            // Punctuation after a word ends a side read forward ("dagster, which").
            Direction::Forward => token.ends_with([',', ':', ';', '?', '!', '.', ')']),
            Direction::Backward => token.ends_with([',', ':', ';', '?', '!', '.', '(']),
        };
        let lower = word.to_lowercase();
        // "between an ML architect and a cloud architect": the article opens the side; "vs
        // a regular ML engineer": the hedge says nothing about what is compared.
        if words.is_empty() && OPENERS.contains(&lower.as_str()) {
            continue;
        }
        if word.is_empty() || SIDE_STOPS.contains(&lower.as_str()) {
            break;
        }
        // Read backward, a word with punctuation after it ends the clause before the side
        // ("AWS, GCP or Azure": the side is "GCP"), unless it is the side's own word.
        if closes && matches!(direction, Direction::Backward) && !words.is_empty() {
            break;
        }
        words.push(word);
        // Read backward, an opening bracket or quote starts the side: "(data scientist vs".
        let opens =
            matches!(direction, Direction::Backward) && token.starts_with(['(', '"', '\'', '[']);
        if closes || opens || words.len() >= SIDE_WORDS {
            break;
        }
    }
    if matches!(direction, Direction::Backward) {
        words.reverse();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(q: &str) -> Option<(String, String)> {
        Comparison::of_question(q).map(|c| (c.first, c.second))
    }

    fn pair(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_string(), b.to_string()))
    }

    #[test]
    fn the_two_sides_are_the_words_beside_the_separator() {
        assert_eq!(
            sides("airflow or dagster, which is better for a small team?"),
            pair("airflow", "dagster")
        );
        assert_eq!(
            sides("ml architect vs solutions architect - whats the difference?"),
            pair("ml architect", "solutions architect")
        );
        assert_eq!(
            sides("What's the difference between an ML architect and a cloud solutions architect?"),
            pair("ML architect", "cloud solutions")
        );
        assert_eq!(
            sides("ML architect vs data scientist skills"),
            pair("ML architect", "data scientist")
        );
        assert_eq!(
            sides("quick question (data scientist vs ML architect)"),
            pair("data scientist", "ML architect")
        );
        assert_eq!(sides("architect vs MLE"), pair("architect", "MLE"));
        assert_eq!(
            sides("Which cloud is best: AWS, GCP or Azure?"),
            pair("GCP", "Azure")
        );
        assert_eq!(sides("W&B vs. neptune"), pair("W&B", "neptune"));
        assert_eq!(
            sides("ml architect vs a regular ml engineer"),
            pair("ml architect", "ml engineer")
        );
    }

    #[test]
    fn or_without_a_choice_is_not_a_comparison() {
        assert_eq!(
            sides("Should I get an ML engineer job first or jump straight into architect roles?"),
            None
        );
        assert_eq!(sides("what does an ML architect do all day"), None);
        assert_eq!(sides("best books for a fresher or student"), None);
        assert_eq!(
            sides("Which skills should a fresher or junior learn first?"),
            None
        );
        // Nothing on one side.
        assert_eq!(sides("vs what?"), None);
    }
}
