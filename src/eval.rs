//! Retrieval evaluation: runs a JSONL question set through the engine and scores it.
//!
//! Each line is `{"q": str, "expect": [regex...], "kind": str}`. A hit satisfies a case when
//! every regex matches its title + text (case-insensitive). Top-1 counts the best hit,
//! recall@3 any of the first three; a case with no regexes is off-topic and must be refused.

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::search::{Engine, Hit};

/// A question set line that could not be used, with its `path:line`.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct EvalError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseLine {
    q: String,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    kind: String,
}

/// One question of the set, compiled.
#[derive(Debug)]
pub struct EvalCase {
    pub line: usize,
    pub question: String,
    pub kind: String,
    pub expect: Vec<Regex>,
}

/// How one case went.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub line: usize,
    pub question: String,
    pub kind: String,
    pub on_topic: bool,
    /// On-topic: best hit satisfied the case. Off-topic: the question was refused.
    pub top1: bool,
    pub recall3: bool,
    pub got: Vec<String>,
}

/// Scores over a whole question set.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub cases: Vec<CaseResult>,
}

impl EvalReport {
    pub fn on_topic(&self) -> usize {
        self.cases.iter().filter(|c| c.on_topic).count()
    }
    pub fn off_topic(&self) -> usize {
        self.cases.len() - self.on_topic()
    }
    pub fn top1_hits(&self) -> usize {
        self.cases.iter().filter(|c| c.on_topic && c.top1).count()
    }
    pub fn recall3_hits(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.on_topic && c.recall3)
            .count()
    }
    pub fn refused(&self) -> usize {
        self.cases.iter().filter(|c| !c.on_topic && c.top1).count()
    }
    pub fn top1(&self) -> f64 {
        ratio(self.top1_hits(), self.on_topic())
    }
    pub fn recall3(&self) -> f64 {
        ratio(self.recall3_hits(), self.on_topic())
    }

    /// The summary lines the CLI prints.
    pub fn summary(&self) -> String {
        format!(
            "questions: {}\ntop-1: {:.2} ({}/{})\nrecall@3: {:.2} ({}/{})\noff-topic refused: {}/{}\n",
            self.cases.len(),
            self.top1(),
            self.top1_hits(),
            self.on_topic(),
            self.recall3(),
            self.recall3_hits(),
            self.on_topic(),
            self.refused(),
            self.off_topic()
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Parses a JSONL question set; every bad line is an error naming `path:line`.
pub fn parse_cases(path: &str, text: &str) -> Result<Vec<EvalCase>, Vec<EvalError>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: String| EvalError {
            path: path.to_string(),
            line,
            message,
        };
        let parsed: CaseLine = match serde_json::from_str(raw) {
            Ok(c) => c,
            Err(e) => {
                errors.push(err(format!("not a question line: {e}")));
                continue;
            }
        };
        let mut expect = Vec::new();
        for pattern in &parsed.expect {
            match RegexBuilder::new(pattern).case_insensitive(true).build() {
                Ok(r) => expect.push(r),
                Err(e) => errors.push(err(format!("bad regex {pattern:?}: {e}"))),
            }
        }
        cases.push(EvalCase {
            line,
            question: parsed.q,
            kind: parsed.kind,
            expect,
        });
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

fn satisfies(hit: &Hit, expect: &[Regex]) -> bool {
    let haystack = format!("{}\n{}", hit.title, hit.text);
    expect.iter().all(|r| r.is_match(&haystack))
}

/// Runs every case through `engine`.
pub fn run(engine: &Engine, cases: &[EvalCase]) -> EvalReport {
    let cases = cases
        .iter()
        .map(|c| {
            let answer = engine.ask(&c.question, 3);
            let on_topic = !c.expect.is_empty();
            let (top1, recall3) = if on_topic {
                (
                    answer.hits.first().is_some_and(|h| satisfies(h, &c.expect)),
                    answer.hits.iter().take(3).any(|h| satisfies(h, &c.expect)),
                )
            } else {
                (!answer.answered, !answer.answered)
            };
            CaseResult {
                line: c.line,
                question: c.question.clone(),
                kind: c.kind.clone(),
                on_topic,
                top1,
                recall3,
                got: answer.hits.iter().map(|h| h.id.clone()).collect(),
            }
        })
        .collect();
    EvalReport { cases }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_name_path_and_line() {
        let text = "{\"q\": \"ok\", \"expect\": [\"a\"]}\n\nnot json\n{\"q\": \"x\", \"expect\": [\"(\"]}\n";
        let errs = parse_cases("set.jsonl", text).unwrap_err();
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("set.jsonl:3:"));
        assert!(shown[1].starts_with("set.jsonl:4:"));
    }
}
