//! The two files of questions in users' words: `questions.toml`, questions each passage
//! answers, and `not-covered.toml`, topics the base does not answer with questions that
//! ask them. Both feed the model's matching (`search::semantic`); neither states facts.

use std::collections::HashMap;

use super::problems::Problem;
use super::Passage;

/// The optional file of questions each passage answers (see the module docs).
pub const QUESTIONS_FILE: &str = "questions.toml";

/// The optional file of topics the base does not answer (see the module docs).
pub const NOT_COVERED_FILE: &str = "not-covered.toml";

/// One `[[topic]]` of [`NOT_COVERED_FILE`]: something people ask about that the base's
/// owners chose not to answer, and questions that ask it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotCovered {
    /// Shown to users in the refusal: "income tax on a salary".
    pub name: String,
    pub questions: Vec<String>,
    pub source: String,
    pub line: usize,
}

/// One `[[asked]]` entry of [`QUESTIONS_FILE`].
#[derive(Debug, Clone, PartialEq)]
pub struct AskedAs {
    pub passage: String,
    pub questions: Vec<String>,
    pub source: String,
    pub line: usize,
}

/// Gives each passage its questions. An entry naming no passage is a warning at its line,
/// not a refusal: removing or renaming a section should not take the base down because its
/// questions were left behind.
pub(super) fn attach_questions(
    passages: &mut [Passage],
    asked: Vec<AskedAs>,
    warnings: &mut Vec<Problem>,
) {
    for entry in asked {
        match passages.iter_mut().find(|p| p.id == entry.passage) {
            Some(p) => {
                for q in entry.questions {
                    if !p.asked_as.contains(&q) {
                        p.asked_as.push(q);
                    }
                }
            }
            None => warnings.push(Problem::new(
                &entry.source,
                entry.line,
                format!(
                    "no passage has the id {:?}, so these questions are not used (`careerbot check --json` lists the ids)",
                    entry.passage
                ),
            )),
        }
    }
}

/// A question listed both as one a passage answers and as one of a not-covered topic's is a
/// problem at the topic's line: the base's owners cannot mean both, and the refusal would
/// depend on which of the two identical vectors wins a tie.
pub(super) fn asked_elsewhere(topics: &[NotCovered], asked: &[AskedAs]) -> Vec<Problem> {
    let key = |q: &str| {
        q.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    // Each asked question once, by its key: a reload compares hundreds of each.
    let mut answered: HashMap<String, &AskedAs> = HashMap::new();
    for entry in asked {
        for q in &entry.questions {
            answered.entry(key(q)).or_insert(entry);
        }
    }
    let mut problems = Vec::new();
    for topic in topics {
        for q in &topic.questions {
            if let Some(entry) = answered.get(&key(q)) {
                problems.push(Problem::new(
                    &topic.source,
                    topic.line,
                    format!(
                        "{q:?} is also a question passage {:?} answers ({}:{}): list it in one file only",
                        entry.passage, entry.source, entry.line
                    ),
                ));
            }
        }
    }
    problems
}
