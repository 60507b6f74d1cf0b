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

    /// Share of off-topic cases refused.
    pub fn refused_share(&self) -> f64 {
        ratio(self.refused(), self.off_topic())
    }

    /// The summary lines the CLI prints, then one line per kind (on-topic kinds: top-1 and
    /// recall@3; off-topic kinds: refused).
    pub fn summary(&self) -> String {
        let mut out = format!(
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
        );
        let mut kinds: Vec<&str> = self.cases.iter().map(|c| c.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        if kinds.len() > 1 {
            for kind in kinds {
                let cases: Vec<&CaseResult> =
                    self.cases.iter().filter(|c| c.kind == kind).collect();
                let n = cases.len();
                let top1 = cases.iter().filter(|c| c.top1).count();
                if cases.iter().all(|c| c.on_topic) {
                    let r3 = cases.iter().filter(|c| c.recall3).count();
                    out.push_str(&format!(
                        "  {kind:<14} top-1 {top1}/{n}  recall@3 {r3}/{n}\n"
                    ));
                } else {
                    out.push_str(&format!("  {kind:<14} refused {top1}/{n}\n"));
                }
            }
        }
        out
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
/// What `careerbot report --export-eval` writes in `expect` for the moderator to replace;
/// a set still holding it is refused, so an unfinished case never passes by accident.
pub const EXPECT_PLACEHOLDER: &str = "TODO";

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
        if parsed.expect.iter().any(|p| p == EXPECT_PLACEHOLDER) {
            errors.push(err(format!(
                "fill in \"expect\": regexes the right answer contains, or [] if the question should be refused (replace {EXPECT_PLACEHOLDER:?})"
            )));
            continue;
        }
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
    if errors.is_empty() && cases.is_empty() {
        // A score over no questions would read as a perfect 1.00.
        errors.push(EvalError {
            path: path.to_string(),
            line: 1,
            message: "no questions: write one JSON object per line, like {\"q\": \"...\", \"expect\": [\"...\"]}".into(),
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

/// Several runs over the same cases side by side: the overall scores, then each kind.
pub fn compare_table(runs: &[(&str, EvalReport)]) -> String {
    let mut out = format!("{:<22}", "");
    for (label, _) in runs {
        out.push_str(&format!("{label:>16}"));
    }
    out.push('\n');
    let mut row = |name: &str, cell: &dyn Fn(&EvalReport) -> String| {
        out.push_str(&format!("{name:<22}"));
        for (_, r) in runs {
            out.push_str(&format!("{:>16}", cell(r)));
        }
        out.push('\n');
    };
    row("top-1", &|r| format!("{:.2}", r.top1()));
    row("recall@3", &|r| format!("{:.2}", r.recall3()));
    row("off-topic refused", &|r| {
        format!("{}/{}", r.refused(), r.off_topic())
    });
    let Some((_, first)) = runs.first() else {
        return out;
    };
    let mut kinds: Vec<&str> = first.cases.iter().map(|c| c.kind.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let on_topic = first.cases.iter().any(|c| c.kind == kind && c.on_topic);
        let label = if on_topic {
            format!("  {kind} top-1")
        } else {
            format!("  {kind} refused")
        };
        row(&label, &|r| {
            let cases: Vec<&CaseResult> = r.cases.iter().filter(|c| c.kind == kind).collect();
            format!(
                "{}/{}",
                cases.iter().filter(|c| c.top1).count(),
                cases.len()
            )
        });
    }
    out
}

/// Every case with its ten best candidates' signals and whether each satisfies the case:
/// the raw material for calibrating the fusion thresholds (on the dev half only).
pub fn dump(engine: &Engine, cases: &[EvalCase]) -> Vec<serde_json::Value> {
    cases
        .iter()
        .map(|c| {
            let (answer, candidates) = engine.explain(&c.question, 10);
            let hits: Vec<serde_json::Value> = candidates
                .iter()
                .map(|(title, s)| {
                    let p = &engine.knowledge().passages[s.ord];
                    let hit = Hit::from_passage(p, s.fused);
                    serde_json::json!({
                        "title": title,
                        "ok": !c.expect.is_empty() && satisfies(&hit, &c.expect),
                        "signals": s,
                    })
                })
                .collect();
            serde_json::json!({
                "q": c.question,
                "kind": c.kind,
                "on_topic": !c.expect.is_empty(),
                "answered": answer.answered,
                "unknown_share": answer.decision.as_ref().map(|d| d.unknown_share),
                "reason": answer.decision.as_ref().map(|d| d.reason.as_str()),
                "topic": answer.nearest_topic.as_ref().map(|t| serde_json::json!({
                    "name": t.name,
                    "similarity": t.similarity,
                    "refused": t.refused,
                })),
                "hits": hits,
            })
        })
        .collect()
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
