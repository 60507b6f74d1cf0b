//! The structured tables (`skills.toml`, `salary.toml`, `phases.toml`, `timeline.toml`,
//! `synonyms.toml`): parsed with serde, every row checked, problems at the row's line.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::problems::*;
use super::*;

pub(super) fn check_row_id(
    problems: &mut Vec<Problem>,
    seen: &mut HashMap<String, usize>,
    path: &str,
    line: usize,
    id: &str,
) {
    if !valid_id(id) {
        problems.push(Problem::new(
            path,
            line,
            format!("id {id:?} must be lowercase letters, digits, '-' or '_'"),
        ));
    } else if let Some(prev) = seen.insert(id.to_string(), line) {
        problems.push(Problem::new(
            path,
            line,
            format!("duplicate id {id:?} (first used at line {prev})"),
        ));
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SkillsFile {
    #[serde(default)]
    area: Vec<Spanned<SkillAreaRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SkillAreaRow {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: String,
    items: Vec<String>,
}

/// Parses `skills.toml`.
pub fn parse_skills(path: &str, text: &str) -> Result<Vec<SkillArea>, Vec<Problem>> {
    let file: SkillsFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    if file.area.is_empty() {
        problems.push(Problem::new(
            path,
            1,
            "no skill areas: add `[[area]]` tables",
        ));
    }
    for row in file.area {
        let line = span_line(text, &row);
        let r = row.into_inner();
        check_row_id(&mut problems, &mut seen, path, line, &r.id);
        require(&mut problems, path, line, "area name", &r.name);
        if r.items.iter().all(|i| i.trim().is_empty()) {
            problems.push(Problem::new(
                path,
                line,
                format!("skill area {:?} has no items", r.name),
            ));
        }
        out.push(SkillArea {
            id: r.id,
            name: r.name.trim().to_string(),
            source: path.to_string(),
            line,
            aliases: r.aliases,
            summary: r.summary.trim().to_string(),
            items: r
                .items
                .into_iter()
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect(),
        });
    }
    ok_if_clean(problems, out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SalaryFile {
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    band: Vec<Spanned<SalaryBandRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SalaryBandRow {
    id: String,
    level: String,
    #[serde(default)]
    aliases: Vec<String>,
    years_min: Option<u32>,
    years_max: Option<u32>,
    min_lpa: f64,
    max_lpa: Option<f64>,
    summary: Option<String>,
}

/// The largest figure a band may give, in LPA (₹100 crore a year): anything above is a typo,
/// and would print as an exponent.
pub const MAX_LPA: f64 = 10_000.0;

/// What is wrong with a band's `min_lpa` and `max_lpa`, as messages for the band's line.
fn lpa_problems(r: &SalaryBandRow) -> Vec<String> {
    let mut out = Vec::new();
    let in_range = |x: f64| x.is_finite() && (0.0..=MAX_LPA).contains(&x);
    if !in_range(r.min_lpa) {
        out.push(format!(
            "min_lpa {} must be a number of lakhs from 0 to {MAX_LPA}",
            r.min_lpa
        ));
    }
    match r.max_lpa {
        Some(max) if !in_range(max) => out.push(format!(
            "max_lpa {max} must be a number of lakhs from 0 to {MAX_LPA} (leave max_lpa out for an open-ended band)"
        )),
        Some(max) if in_range(r.min_lpa) && max < r.min_lpa => out.push(format!(
            "band {:?}: min_lpa {} is greater than max_lpa {max}",
            r.level, r.min_lpa
        )),
        _ => {}
    }
    out
}

/// Parses `salary.toml`.
pub fn parse_salary(path: &str, text: &str) -> Result<SalaryTable, Vec<Problem>> {
    let file: SalaryFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.band.is_empty() {
        problems.push(Problem::new(
            path,
            1,
            "no salary bands: add `[[band]]` tables",
        ));
    }
    let mut bands = Vec::new();
    let mut lines = Vec::new();
    for row in file.band {
        let line = span_line(text, &row);
        let r = row.into_inner();
        check_row_id(&mut problems, &mut seen, path, line, &r.id);
        require(&mut problems, path, line, "band level", &r.level);
        for problem in lpa_problems(&r) {
            problems.push(Problem::new(path, line, problem));
        }
        if let (Some(a), Some(b)) = (r.years_min, r.years_max) {
            if a > b {
                problems.push(Problem::new(
                    path,
                    line,
                    format!(
                        "band {:?}: years_min {a} is greater than years_max {b}",
                        r.level
                    ),
                ));
            }
        }
        lines.push(line);
        bands.push(SalaryBand {
            id: r.id,
            level: r.level.trim().to_string(),
            aliases: r.aliases,
            years_min: r.years_min,
            years_max: r.years_max,
            min_lpa: r.min_lpa,
            max_lpa: r.max_lpa,
            summary: r.summary.filter(|s| !s.trim().is_empty()),
        });
    }
    // Experience ranges must not overlap, or `--years N` would be ambiguous. A band with
    // only `years_max` starts at 0; one with neither is not tied to experience.
    let span = |b: &SalaryBand| match (b.years_min, b.years_max) {
        (None, None) => None,
        (min, max) => Some((min.unwrap_or(0), max.unwrap_or(u32::MAX))),
    };
    for (i, a) in bands.iter().enumerate() {
        for (j, b) in bands.iter().enumerate().skip(i + 1) {
            let (Some((a0, a1)), Some((b0, b1))) = (span(a), span(b)) else {
                continue;
            };
            if a0 <= b1 && b0 <= a1 {
                problems.push(Problem::new(
                    path,
                    lines[j],
                    format!(
                        "band {:?} overlaps the years of experience of band {:?} (line {}): a number of years must fall in one band only",
                        b.level, a.level, lines[i]
                    ),
                ));
            }
        }
    }
    ok_if_clean(
        problems,
        SalaryTable {
            title: file.title.trim().to_string(),
            note: file.note.trim().to_string(),
            bands,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhasesFile {
    title: String,
    #[serde(default)]
    phase: Vec<Spanned<PhaseRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhaseRow {
    number: u32,
    name: String,
    duration: String,
    #[serde(default)]
    focus: String,
    milestones: String,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Parses `phases.toml`.
pub fn parse_phases(path: &str, text: &str) -> Result<PhaseTable, Vec<Problem>> {
    let file: PhasesFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.phase.is_empty() {
        problems.push(Problem::new(path, 1, "no phases: add `[[phase]]` tables"));
    }
    let mut numbers: HashMap<u32, usize> = HashMap::new();
    let mut phases = Vec::new();
    for row in file.phase {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if let Some(prev) = numbers.insert(r.number, line) {
            problems.push(Problem::new(
                path,
                line,
                format!(
                    "phase number {} is used twice (first at line {prev})",
                    r.number
                ),
            ));
        }
        require(&mut problems, path, line, "phase name", &r.name);
        require(&mut problems, path, line, "phase duration", &r.duration);
        phases.push(Phase {
            number: r.number,
            name: r.name.trim().to_string(),
            duration: r.duration.trim().to_string(),
            focus: r.focus.trim().to_string(),
            milestones: r.milestones.trim().to_string(),
            aliases: r.aliases,
        });
    }
    phases.sort_by_key(|p| p.number);
    ok_if_clean(
        problems,
        PhaseTable {
            title: file.title.trim().to_string(),
            phases,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TimelineFile {
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    step: Vec<Spanned<TimelineRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TimelineRow {
    years: String,
    role: String,
    work: String,
}

/// Parses `timeline.toml`.
pub fn parse_timeline(path: &str, text: &str) -> Result<Timeline, Vec<Problem>> {
    let file: TimelineFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.step.is_empty() {
        problems.push(Problem::new(path, 1, "no steps: add `[[step]]` tables"));
    }
    let mut steps = Vec::new();
    for row in file.step {
        let line = span_line(text, &row);
        let r = row.into_inner();
        require(&mut problems, path, line, "step years", &r.years);
        require(&mut problems, path, line, "step role", &r.role);
        require(&mut problems, path, line, "step work", &r.work);
        steps.push(TimelineStep {
            years: r.years.trim().to_string(),
            role: r.role.trim().to_string(),
            work: r.work.trim().to_string(),
        });
    }
    ok_if_clean(
        problems,
        Timeline {
            title: file.title.trim().to_string(),
            note: file.note.trim().to_string(),
            steps,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SynonymsFile {
    #[serde(default)]
    synonym: Vec<Spanned<SynonymRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SynonymRow {
    canonical: String,
    variants: Vec<String>,
}

/// Parses `synonyms.toml`.
pub fn parse_synonyms(path: &str, text: &str) -> Result<Vec<Synonym>, Vec<Problem>> {
    let file: SynonymsFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for row in file.synonym {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if require(&mut problems, path, line, "canonical", &r.canonical) {
            let variants: Vec<String> = r
                .variants
                .iter()
                .map(|v| v.trim().to_lowercase())
                .filter(|v| !v.is_empty())
                .collect();
            if variants.is_empty() {
                problems.push(Problem::new(
                    path,
                    line,
                    format!("synonym {:?} has no variants", r.canonical),
                ));
            }
            out.push(Synonym {
                canonical: r.canonical.trim().to_lowercase(),
                variants,
            });
        }
    }
    ok_if_clean(problems, out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QuestionsFile {
    #[serde(default)]
    asked: Vec<Spanned<AskedRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AskedRow {
    passage: String,
    questions: Vec<String>,
}

/// Longest question kept in `questions.toml`: anything longer is a passage, not a question.
pub const MAX_ASKED_CHARS: usize = 200;

/// Parses `questions.toml` (passage ids are checked once every passage exists).
pub fn parse_questions(path: &str, text: &str) -> Result<Vec<AskedAs>, Vec<Problem>> {
    let file: QuestionsFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for row in file.asked {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if !require(&mut problems, path, line, "passage", &r.passage) {
            continue;
        }
        let questions = checked_questions(&mut problems, path, line, &r.questions);
        if r.questions.is_empty() {
            problems.push(Problem::new(
                path,
                line,
                format!("passage {:?} is given no questions", r.passage),
            ));
        }
        out.push(AskedAs {
            passage: r.passage.trim().to_string(),
            questions,
            source: path.to_string(),
            line,
        });
    }
    ok_if_clean(problems, out)
}

/// The questions of one row, trimmed; an empty or overlong one is a problem at `line`.
fn checked_questions(
    problems: &mut Vec<Problem>,
    path: &str,
    line: usize,
    questions: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for q in questions {
        let q = q.trim();
        if q.is_empty() {
            problems.push(Problem::new(path, line, "a question is empty"));
        } else if q.chars().count() > MAX_ASKED_CHARS {
            problems.push(Problem::new(
                path,
                line,
                format!("a question is over {MAX_ASKED_CHARS} characters: {q:.40}..."),
            ));
        } else {
            out.push(q.to_string());
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotCoveredFile {
    #[serde(default)]
    topic: Vec<Spanned<NotCoveredRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotCoveredRow {
    name: String,
    questions: Vec<String>,
}

/// Longest topic name: it is shown to users inside a refusal ("My knowledge base doesn't
/// cover ...").
pub const MAX_TOPIC_CHARS: usize = 80;

/// Parses `not-covered.toml`: topics the base does not answer, each with questions people
/// ask about it.
pub fn parse_not_covered(path: &str, text: &str) -> Result<Vec<NotCovered>, Vec<Problem>> {
    let file: NotCoveredFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for row in file.topic {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if !require(&mut problems, path, line, "name", &r.name) {
            continue;
        }
        let name = r.name.trim().to_string();
        // Control characters, and whitespace other than a space (U+2028 is a line break).
        if name
            .chars()
            .any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
        {
            problems.push(Problem::new(
                path,
                line,
                "a topic name is one line of plain text (it is shown inside a sentence)",
            ));
        } else if name.chars().all(super::markdown::is_invisible) {
            problems.push(Problem::new(path, line, "name is empty"));
        } else if name.chars().count() > MAX_TOPIC_CHARS {
            problems.push(Problem::new(
                path,
                line,
                format!("a topic name is over {MAX_TOPIC_CHARS} characters: {name:.40}..."),
            ));
        }
        if let Some(prev) = seen.insert(name.to_lowercase(), line) {
            problems.push(Problem::new(
                path,
                line,
                format!("topic {name:?} is already listed at line {prev}"),
            ));
        }
        let questions = checked_questions(&mut problems, path, line, &r.questions);
        if r.questions.is_empty() {
            problems.push(Problem::new(
                path,
                line,
                format!(
                    "topic {name:?} is given no questions (they are how the bot recognises it)"
                ),
            ));
        }
        out.push(NotCovered {
            name,
            questions,
            source: path.to_string(),
            line,
        });
    }
    ok_if_clean(problems, out)
}
