//! Structured lookups: skill areas, salary bands and roadmap phases by forgiving names, and
//! autocomplete ranking.
//!
//! Why not the search index: these answer "which row did the user mean?", a name-matching
//! question over a handful of names where a typo or a prefix (`mlop`, `sen`) must still land,
//! and where a miss should come back as the closest names rather than a search result.

use std::fmt;

use crate::knowledge::{KnowledgeBase, Phase, SalaryBand, SkillArea};

/// A name match must score at least this (0..=1) to be taken as what the user meant.
pub const MATCH_THRESHOLD: f64 = 0.8;

/// Nothing matched what the user typed; carries the closest names to offer instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// What was looked for, e.g. "skill area".
    pub what: &'static str,
    pub query: String,
    pub suggestions: Vec<String>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "I don't know a {} called \"{}\".", self.what, self.query)?;
        if !self.suggestions.is_empty() {
            write!(f, " Did you mean: {}?", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for NotFound {}

/// Lowercase, alphanumeric words joined by single spaces: "MLOps & DevOps" -> "mlops devops".
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// How well `query` names `name`, from 0 (not at all) to 1 (exactly). Exact and prefix
/// matches beat substring matches, which beat typo-level similarity.
pub fn name_score(query: &str, name: &str) -> f64 {
    let q = normalize(query);
    let n = normalize(name);
    name_score_normalized(&q, &n)
}

fn name_score_normalized(q: &str, n: &str) -> f64 {
    if q.is_empty() || n.is_empty() {
        return 0.0;
    }
    if q == n {
        return 1.0;
    }
    if n.starts_with(q) {
        return 0.95;
    }
    if n.split(' ').any(|w| w.starts_with(q)) {
        return 0.9;
    }
    // Inside a word, one or two letters say nothing ("x" is in "Experimentation").
    if q.chars().count() >= 3 && n.contains(q) {
        return 0.85;
    }
    // Typo-level similarity, against the whole name and against each of its words.
    let whole = strsim::jaro_winkler(q, n);
    let best_word = n
        .split(' ')
        .filter(|w| w.len() >= 3)
        .map(|w| strsim::jaro_winkler(q, w))
        .fold(0.0, f64::max);
    // Edit similarity only where it can matter: names of about the query's length.
    let (ql, nl) = (q.chars().count(), n.chars().count());
    let edits = if ql.abs_diff(nl) <= 3 {
        1.0 - strsim::osa_distance(q, n) as f64 / ql.max(nl) as f64
    } else {
        0.0
    };
    (whole.max(best_word) * 0.85).max(edits * 0.9)
}

/// Scores `query` against a name and its aliases: the best of them.
fn best_score(query: &str, name: &str, aliases: &[String]) -> f64 {
    let q = normalize(query);
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .map(|n| name_score_normalized(&q, &normalize(n)))
        .fold(0.0, f64::max)
}

/// Picks the row that `query` names, or the closest names as suggestions.
fn pick<'a, T>(
    what: &'static str,
    query: &str,
    rows: &'a [T],
    name: impl Fn(&T) -> &str,
    aliases: impl Fn(&T) -> &[String],
) -> Result<&'a T, NotFound> {
    let mut scored: Vec<(f64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (best_score(query, name(r), aliases(r)), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    match scored.first() {
        Some(&(s, i)) if s >= MATCH_THRESHOLD => Ok(&rows[i]),
        _ => Err(NotFound {
            what,
            query: query.trim().to_string(),
            suggestions: scored
                .iter()
                .take(3)
                .map(|&(_, i)| name(&rows[i]).to_string())
                .collect(),
        }),
    }
}

/// A skill area by name or alias, typo- and prefix-tolerant (`mlop` -> "MLOps & DevOps").
pub fn skill_area<'a>(kb: &'a KnowledgeBase, query: &str) -> Result<&'a SkillArea, NotFound> {
    pick("skill area", query, &kb.skills, |a| &a.name, |a| &a.aliases)
}

/// A salary band by level name or alias (`senior`, `fresher`, `mid levle`).
pub fn salary_band<'a>(kb: &'a KnowledgeBase, query: &str) -> Result<&'a SalaryBand, NotFound> {
    pick(
        "salary level",
        query,
        &kb.salary.bands,
        |b| &b.level,
        |b| &b.aliases,
    )
}

/// The salary band whose experience range holds `years`.
pub fn salary_for_years(kb: &KnowledgeBase, years: u32) -> Option<&SalaryBand> {
    kb.salary.bands.iter().find(|b| b.covers_years(years))
}

/// The band a salary request singles out: by level name when one is given, else by years of
/// experience; `None` asks for the whole table.
pub fn chosen_band<'a>(
    kb: &'a KnowledgeBase,
    level: Option<&str>,
    years: Option<u32>,
) -> Result<Option<&'a SalaryBand>, NotFound> {
    match (level.map(str::trim).filter(|l| !l.is_empty()), years) {
        (Some(l), _) => salary_band(kb, l).map(Some),
        (None, Some(y)) => salary_for_years(kb, y).map(Some).ok_or_else(|| NotFound {
            what: "salary band for years",
            query: y.to_string(),
            suggestions: kb.salary.bands.iter().map(|b| b.level.clone()).collect(),
        }),
        (None, None) => Ok(None),
    }
}

/// The position of `band` in the salary table (for charts that single it out).
pub fn band_index(kb: &KnowledgeBase, band: &SalaryBand) -> Option<usize> {
    kb.salary.bands.iter().position(|b| std::ptr::eq(b, band))
}

/// The position of `phase` in the roadmap (for charts that single it out).
pub fn phase_index(kb: &KnowledgeBase, phase: &Phase) -> Option<usize> {
    kb.phases.phases.iter().position(|p| std::ptr::eq(p, phase))
}

/// A roadmap phase by number (`3`, `phase 3`) or by name (`mlops`, `foundation`).
pub fn phase<'a>(kb: &'a KnowledgeBase, query: &str) -> Result<&'a Phase, NotFound> {
    let q = normalize(query);
    let number = q.strip_prefix("phase").unwrap_or(&q).trim();
    // Read the number from what was typed: normalizing drops the sign of "phase -1".
    let typed = query.trim().to_lowercase();
    let typed = typed.strip_prefix("phase").unwrap_or(&typed).trim();
    let signed = typed.parse::<i64>().ok();
    if let Some(n) = signed.or_else(|| number.parse::<i64>().ok()) {
        if let Some(p) = kb.phases.phases.iter().find(|p| i64::from(p.number) == n) {
            return Ok(p);
        }
        return Err(NotFound {
            what: "phase",
            query: query.trim().to_string(),
            suggestions: kb
                .phases
                .phases
                .iter()
                .map(|p| format!("{} ({})", p.number, p.name))
                .collect(),
        });
    }
    pick(
        "phase",
        query,
        &kb.phases.phases,
        |p| &p.name,
        |p| &p.aliases,
    )
}

/// Autocomplete choices for `partial` among `names`: best first, at most `limit`. An empty
/// `partial` lists names in order. (How many a client shows, and how long a name may be, is
/// the client's rule: the bot applies Discord's.)
pub fn autocomplete<'a>(
    partial: &str,
    names: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    autocomplete_indices(partial, names.iter().copied(), limit)
        .into_iter()
        .map(|i| names[i].to_string())
        .collect()
}

/// Like [`autocomplete`], but returns the indices of the chosen names, for choices whose
/// value differs from their label.
pub fn autocomplete_indices<'a>(
    partial: &str,
    names: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<usize> {
    let q = normalize(partial);
    if q.is_empty() {
        // Nothing typed yet: the first names in their own order, no scoring needed.
        return names
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(i, _)| i)
            .collect();
    }
    let mut scored: Vec<(f64, usize, &str)> = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let s = if q.is_empty() {
                1.0
            } else {
                name_score_normalized(&q, &normalize(n))
            };
            (s, i, n)
        })
        .filter(|(s, _, _)| q.is_empty() || *s >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(limit).map(|(_, i, _)| i).collect()
}

/// `s` cut to at most `max` characters, ending in "…" when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{parse_phases, parse_salary, parse_skills};

    fn kb() -> KnowledgeBase {
        let skills = r#"
[[area]]
id = "math"
name = "Mathematics & Statistics"
aliases = ["math", "stats"]
items = ["Linear algebra"]
[[area]]
id = "mlops"
name = "MLOps & DevOps"
aliases = ["mlops", "devops"]
items = ["CI/CD"]
[[area]]
id = "soft"
name = "Soft Skills & Leadership"
items = ["Communication"]
"#;
        let salary = r#"
title = "Pay"
[[band]]
id = "entry"
level = "Entry level"
aliases = ["fresher", "junior"]
years_min = 0
years_max = 2
min_lpa = 10
max_lpa = 18
[[band]]
id = "mid"
level = "Mid level"
years_min = 3
years_max = 6
min_lpa = 20
max_lpa = 35
[[band]]
id = "senior"
level = "Senior level"
years_min = 7
min_lpa = 40
max_lpa = 60
"#;
        let phases = r#"
title = "Phases"
[[phase]]
number = 0
name = "Foundation"
duration = "6-12 months"
focus = "basics"
milestones = "m"
[[phase]]
number = 2
name = "Infrastructure & MLOps"
duration = "6 months"
focus = "ops"
milestones = "m"
"#;
        KnowledgeBase {
            skills: parse_skills("s", skills).unwrap(),
            salary: parse_salary("s", salary).unwrap(),
            phases: parse_phases("p", phases).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn skill_areas_by_prefix_alias_and_typo() {
        let kb = kb();
        assert_eq!(skill_area(&kb, "mlop").unwrap().id, "mlops");
        assert_eq!(skill_area(&kb, "DevOps").unwrap().id, "mlops");
        assert_eq!(skill_area(&kb, "mathematics").unwrap().id, "math");
        assert_eq!(skill_area(&kb, "leadrship").unwrap().id, "soft");
        let miss = skill_area(&kb, "cooking").unwrap_err();
        assert_eq!(miss.suggestions.len(), 3);
        assert!(miss.to_string().contains("\"cooking\""));
    }

    #[test]
    fn salary_by_level_and_years() {
        let kb = kb();
        assert_eq!(salary_band(&kb, "senior").unwrap().id, "senior");
        assert_eq!(salary_band(&kb, "fresher").unwrap().id, "entry");
        assert_eq!(salary_band(&kb, "mid levle").unwrap().id, "mid");
        assert_eq!(salary_for_years(&kb, 4).unwrap().id, "mid");
        assert_eq!(salary_for_years(&kb, 0).unwrap().id, "entry");
        assert_eq!(salary_for_years(&kb, 30).unwrap().id, "senior");
    }

    #[test]
    fn phases_by_number_or_name() {
        let kb = kb();
        assert_eq!(phase(&kb, "2").unwrap().number, 2);
        assert_eq!(phase(&kb, "Phase 0").unwrap().number, 0);
        assert_eq!(phase(&kb, "mlops").unwrap().number, 2);
        assert!(phase(&kb, "7").is_err());
    }

    #[test]
    fn autocomplete_ranks_and_caps() {
        let names: Vec<String> = (0..40).map(|i| format!("Area number {i}")).collect();
        let all = autocomplete("", names.iter().map(String::as_str), 25);
        assert_eq!(all.len(), 25);
        assert_eq!(all[0], "Area number 0");
        let kb = kb();
        let ranked = autocomplete("ops", kb.skills.iter().map(|a| a.name.as_str()), 25);
        assert_eq!(ranked[0], "MLOps & DevOps");
        assert_eq!(
            autocomplete("area", names.iter().map(String::as_str), 3).len(),
            3
        );
    }
}
